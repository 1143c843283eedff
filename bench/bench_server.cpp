// faceedit serve's slider latency: a preview request (latent edit, synthesis, blend, JPEG) over
// loopback HTTP on one ready photo, p50 and p95 of 40 requests, for the DCGAN and for a StyleGAN2
// config-f 256 with random weights (what a 256 px FFHQ model costs). Baseline in the same run: one
// bare synthesis of the same generator; `overhead` = p50 / synthesis (HTTP, edit, blend and JPEG on top).
//
//   build/bench/bench_server
#include <benchmark/benchmark.h>
#include <httplib.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "faceedit/edit/interfacegan/boundary.h"
#include "faceedit/models/model_files.h"
#include "faceedit/models/stylegan2.h"
#include "faceedit/runtime.h"
#include "server/editor_server.h"

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

std::shared_ptr<faceedit::models::Generator> generator(int which) {
  if (which == 0) return faceedit::models::open_generator("dcgan-celeba32");
  faceedit::models::StyleGAN2Config c;  // FFHQ config-f, 256 px
  c.img_resolution = 256;
  c.conv_clamp = 256;
  return std::make_shared<faceedit::models::StyleGAN2>(c, 0);
}

void BM_Preview(benchmark::State& state) {
  const auto photo = faceedit::shared_root() / "data/celebahq-photos/000157.jpg";
  if (!fs::exists(photo)) {
    state.SkipWithError("shared data not found (set FACEEDIT_SHARED)");
    return;
  }
  auto g = generator(static_cast<int>(state.range(0)));
  const bool dcgan = state.range(0) == 0;
  const fs::path dir = fs::temp_directory_path() / ("faceedit-bench-server-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  faceedit::edit::save_boundary(faceedit::edit::random_boundary(dcgan ? 100 : 512, dcgan ? faceedit::models::LatentSpace::Z : faceedit::models::LatentSpace::W, "smiling", 0),
                                (dir / "b.safetensors").string());
  faceedit::server::ServerOptions o;
  o.port = 0;
  o.model_name = dcgan ? "dcgan-celeba32" : "stylegan2-config-f-256-random";
  o.photo.inversion_steps = 5;  // the preview's cost does not depend on the inversion's quality
  o.photo.starts = 1;
  faceedit::edit::EditorSpec spec;
  spec.boundary = (dir / "b.safetensors").string();
  o.editors = {spec};
  faceedit::server::EditorServer server(g, o);
  const int port = server.bind();
  std::thread serving([&] { server.serve(); });
  httplib::Client client("127.0.0.1", port);
  client.set_read_timeout(600);
  std::ifstream in(photo, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), {});
  auto up = client.Post("/api/photos", httplib::MultipartFormDataItems{{"photo", bytes, "p.jpg", "image/jpeg"}});
  const std::string id = nlohmann::json::parse(up->body)["id"];
  while (nlohmann::json::parse(client.Get("/api/photos/" + id)->body)["state"] != "ready")
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  std::vector<double> latencies, synthesis;
  for (auto _ : state) {
    for (int k = 0; k < 40; ++k) {
      const auto t0 = Clock::now();
      const double s = -3.0 + 6.0 * (k % 13) / 12.0;
      auto r = client.Post("/api/photos/" + id + "/preview", nlohmann::json{{"edits", {{{"attribute", "smiling"}, {"strength", s}}}}}.dump(),
                           "application/json");
      if (!r || r->status != 200) state.SkipWithError("a preview failed");
      latencies.push_back(seconds_since(t0));
      if (k % 8 == 0) {  // the baseline, interleaved so both see the same machine
        torch::NoGradGuard no_grad;
        const auto t1 = Clock::now();
        benchmark::DoNotOptimize(g->generate(g->sample_z(1, k), dcgan ? faceedit::models::LatentSpace::Z : faceedit::models::LatentSpace::W));
        synthesis.push_back(seconds_since(t1));
      }
    }
  }
  std::sort(latencies.begin(), latencies.end());
  std::sort(synthesis.begin(), synthesis.end());
  const double p50 = latencies[latencies.size() / 2], p95 = latencies[latencies.size() * 95 / 100];
  state.counters["p50_s"] = p50;
  state.counters["p95_s"] = p95;
  state.counters["synthesis_s"] = synthesis[synthesis.size() / 2];
  state.counters["overhead"] = p50 / synthesis[synthesis.size() / 2];
  server.stop();
  serving.join();
  fs::remove_all(dir);
}

}  // namespace

// 0: the DCGAN (32 px, crops 256), 1: StyleGAN2 config-f 256, random weights.
BENCHMARK(BM_Preview)->Arg(0)->Arg(1)->Iterations(1)->Unit(benchmark::kMillisecond);
