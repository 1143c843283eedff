// BM_PhotoFirstVsCachedEdit: a photo edited twice: the first edit_photo() aligns, inverts (and
// personalizes), the second finds all of that in the cache and only edits, synthesizes and fuses
// (at the photo's 1024 x 1024). One benchmark run times both, so the ratio compares them on the same
// machine at the same moment. Counters: `first_s`, `second_s` (seconds per call), `speedup`.
// DCGAN, InterFaceGAN edit with a random direction, 300 inversion steps x 4 starts (the CLI's
// defaults), no identity judge (its model load is the same in both runs).
//
// BM_PhotoPfsfStages/model/ops: one PFSF smile edit of a photo, each stage's seconds as a counter
// (align, inversion, personalization, edit = the walk, fusion, metrics), on the fused kernels
// (ops:0) and on the plain composition (ops:1, ReferenceOpsGuard). model:0 is the DCGAN with the
// CLI's defaults; model:1 FFHQ config-f 256 with random weights (timing only) with 30 inversion steps
// x 1 start and 10 personalization steps (`*_per_step_s` counters scale to any step count).
//
//   build/bench/bench_photo --benchmark_filter=Pfsf
#include <benchmark/benchmark.h>

#include <chrono>
#include <map>
#include <filesystem>
#include <unistd.h>

#include "faceedit/edit/interfacegan/boundary.h"
#include "faceedit/io/image.h"
#include "faceedit/models/model_files.h"
#include "faceedit/models/stylegan2.h"
#include "faceedit/nn/ops.h"
#include "faceedit/pipeline/photo.h"
#include "faceedit/runtime.h"

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

void BM_PhotoFirstVsCachedEdit(benchmark::State& state) {
  const auto photo_path = faceedit::shared_root() / "data/celebahq-photos/000157.jpg";
  if (!fs::exists(photo_path) || !fs::exists(faceedit::shared_root() / "models/dcgan-celeba32/generator.pt")) {
    state.SkipWithError("shared data not found (set FACEEDIT_SHARED)");
    return;
  }
  const cv::Mat photo = faceedit::io::read_image(photo_path.string());
  const fs::path dir = fs::temp_directory_path() / ("faceedit-bench-photo-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  faceedit::edit::save_boundary(faceedit::edit::random_boundary(100, faceedit::models::LatentSpace::Z, "smiling", 0), (dir / "b.safetensors").string());
  faceedit::pipeline::PhotoEdit e;
  e.editor.method = "interfacegan";
  e.editor.boundary = (dir / "b.safetensors").string();
  e.strength = 2;
  faceedit::pipeline::PhotoParams params;
  params.identity_judge = "none";
  double first = 0, second = 0;
  int64_t runs = 0;
  for (auto _ : state) {
    params.cache_dir = dir / ("cache-" + std::to_string(runs));
    for (int pass = 0; pass < 2; ++pass) {
      const auto t0 = Clock::now();
      auto g = faceedit::models::open_generator("dcgan-celeba32");  // as a new process would
      auto r = faceedit::pipeline::edit_photo(photo, photo_path.string(), std::move(g), "dcgan-celeba32", {e}, params);
      benchmark::DoNotOptimize(r.photo.data);
      (pass == 0 ? first : second) += std::chrono::duration<double>(Clock::now() - t0).count();
    }
    ++runs;
  }
  fs::remove_all(dir);
  state.counters["first_s"] = first / runs;
  state.counters["second_s"] = second / runs;
  state.counters["speedup"] = first / second;
}
BENCHMARK(BM_PhotoFirstVsCachedEdit)->Iterations(1)->Unit(benchmark::kSecond);

void BM_PhotoPfsfStages(benchmark::State& state) {
  const bool config_f = state.range(0) == 1, reference = state.range(1) == 1;
  const auto photo_path = faceedit::shared_root() / "data/celebahq-photos/000157.jpg";
  if (!fs::exists(photo_path)) {
    state.SkipWithError("shared data not found (set FACEEDIT_SHARED)");
    return;
  }
  const cv::Mat photo = faceedit::io::read_image(photo_path.string());
  faceedit::pipeline::PhotoEdit e;
  e.editor.method = "pfsf";
  e.editor.attribute = "smiling";
  faceedit::pipeline::PhotoParams params;
  params.identity_judge = "none";
  params.personalize = faceedit::pipeline::Personalize::Always;
  if (config_f) {
    params.inversion_steps = 30;
    params.starts = 1;
    params.personalize_steps = 10;
  }
  std::map<std::string, double> seconds;
  for (auto _ : state) {
    std::shared_ptr<faceedit::models::Generator> g;
    if (config_f) {
      faceedit::models::StyleGAN2Config c;  // FFHQ config-f at 256, random weights
      c.img_resolution = 256;
      c.conv_clamp = 256;
      g = std::make_shared<faceedit::models::StyleGAN2>(c, 0);
    } else {
      g = faceedit::models::open_generator("dcgan-celeba32");
    }
    std::unique_ptr<faceedit::nn::ReferenceOpsGuard> guard;
    if (reference) guard = std::make_unique<faceedit::nn::ReferenceOpsGuard>();
    const auto t0 = Clock::now();
    auto r = faceedit::pipeline::edit_photo(photo, photo_path.string(), g, config_f ? "config-f-256" : "dcgan-celeba32",
                                            {e}, params, [&](const faceedit::pipeline::PhotoStage& s) {
                                              seconds[s.name] += s.seconds;
                                            });
    seconds["total"] += std::chrono::duration<double>(Clock::now() - t0).count();
    benchmark::DoNotOptimize(r.photo.data);
  }
  for (const auto& [name, s] : seconds) state.counters[name + "_s"] = s / static_cast<double>(state.iterations());
  state.counters["inversion_per_step_s"] =
      seconds["inversion"] / static_cast<double>(state.iterations() * params.inversion_steps * params.starts);
  state.counters["personalization_per_step_s"] =
      seconds["personalization"] / static_cast<double>(state.iterations() * params.personalize_steps);
}
BENCHMARK(BM_PhotoPfsfStages)
    ->ArgNames({"model", "ops"})
    ->Args({0, 0})
    ->Args({0, 1})
    ->Args({1, 0})
    ->Args({1, 1})
    ->Iterations(1)
    ->Unit(benchmark::kSecond);

}  // namespace
