#include <algorithm>
#include <chrono>
#include <iostream>

#include "commands.h"
#include "faceedit/edit/interfacegan/sampling.h"
#include "faceedit/error.h"
#include "faceedit/models/judges.h"
#include "faceedit/models/model_files.h"
#include "faceedit/models/stylegan2.h"
#include "faceedit/models/stylegan3.h"
#include "faceedit/nn/ops.h"

namespace faceedit::cli {

namespace {

// "config-f-RES": NVIDIA's FFHQ config-f architecture at RES with random weights (speed does not
// depend on the weights, and no 1024 checkpoint is needed to time one); anything else is a model.
std::unique_ptr<models::Generator> bench_generator(const std::string& spec, torch::Device device) {
  const std::string prefix = "config-f-";
  // "sg3-t-RES" / "sg3-r-RES": StyleGAN3 configs T and R (train.py's presets) with random weights.
  if (spec.size() > 7 && spec.rfind("sg3-", 0) == 0 && spec[5] == '-') {
    int64_t res = 0;
    try {
      size_t used = 0;
      res = std::stoll(spec.substr(6), &used);
      if (used != spec.size() - 6) throw std::invalid_argument(spec);
    } catch (const std::exception&) {
      fail(spec, "expected sg3-t-RES or sg3-r-RES, e.g. sg3-t-256");
    }
    auto g = std::make_unique<models::StyleGAN3>(models::StyleGAN3Config::preset(spec[4], res), 0);
    g->to(device);
    return g;
  }
  if (spec.rfind(prefix, 0) != 0) return models::open_generator(spec, device);
  models::StyleGAN2Config c;  // the defaults are config-f: z/w 512, 8 mapping layers, channels 32768/512
  try {
    size_t used = 0;
    c.img_resolution = std::stoll(spec.substr(prefix.size()), &used);
    if (used != spec.size() - prefix.size()) throw std::invalid_argument(spec);
  } catch (const std::exception&) {
    fail(spec, "expected config-f-RES with RES a power of two, e.g. config-f-256");
  }
  c.conv_clamp = 256;
  c.validate(spec);
  auto g = std::make_unique<models::StyleGAN2>(c, 0);
  g->to(device);
  g->set_precision(models::default_precision());
  return g;
}

double median_of(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Sampling's unit of work (edit/sampling.h: map, synthesise, score with the guide) on full images
// against the early exit at synthesis_size, alternated in the same run so the ratio is fair.
nlohmann::json bench_scoring(const models::Generator& g, int batch, int repeat, int64_t synthesis_size) {
  auto guide = models::open_classifier(models::kDefaultGuide);
  guide->to(g.device());
  const auto columns = edit::probability_columns(*guide);
  const auto z = g.sample_z(batch, 0);
  auto time_ms = [&](int64_t size) {
    const auto t0 = std::chrono::steady_clock::now();
    edit::generate_and_score(g, *guide, columns, z, 1.0, size);
    if (g.device().is_cuda()) torch::cuda::synchronize();
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  };
  time_ms(0), time_ms(synthesis_size);  // warm-up
  std::vector<double> full, early;
  for (int i = 0; i < repeat; ++i) full.push_back(time_ms(0)), early.push_back(time_ms(synthesis_size));
  const double f = median_of(full), e = median_of(early);
  return {{"full_ms_median", f},
          {"early_ms_median", e},
          {"synthesis_resolution", g.preview_resolution(synthesis_size)},
          {"speedup", f / e},
          {"samples_per_s_full", batch * 1000.0 / f},
          {"samples_per_s_early", batch * 1000.0 / e}};
}

}  // namespace

void add_bench_command(CLI::App& app, const GlobalOptions& global) {
  struct Options {
    std::string model;
    int batch = 1, repeat = 5;
    int64_t synthesis_size = 64;
    std::string mode = "synth";
  };
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand("bench", "Time synthesis (or an inversion / fine-tuning step) in-process; prints one JSON line");
  cmd->add_option("model", o->model, "model file, known name, config-f-RES (FFHQ config-f at RES, random weights) or sg3-t-RES / sg3-r-RES (StyleGAN3, random weights)")->required();
  cmd->add_option("--batch", o->batch, "images per forward pass")->check(CLI::Range(1, 256))->capture_default_str();
  cmd->add_option("--repeat", o->repeat, "timed repetitions (after one warm-up)")->check(CLI::Range(1, 1000))->capture_default_str();
  cmd->add_option("--mode", o->mode,
                  "synth: synthesis without gradients; invert: synthesis forward + backward w.r.t. the W+ codes "
                  "(MSE to a fixed image, const noise); tune: the same backward w.r.t. the synthesis weights; score: "
                  "see --synthesis-size")
      ->capture_default_str()->check(CLI::IsMember({"synth", "invert", "tune", "score"}));
  cmd->add_option("--synthesis-size", o->synthesis_size,
                  "score mode: sampling's step (map, synthesise, guide scores) on full images against the early exit "
                  "at the first resolution >= this, alternated in one run")
      ->capture_default_str()->check(CLI::Range(int64_t{1}, int64_t{4096}));
  cmd->callback([o, &global] {
    auto g = bench_generator(o->model, parse_device(global.device));
    if (o->mode == "score") {
      torch::NoGradGuard no_grad;
      auto out = bench_scoring(*g, o->batch, o->repeat, o->synthesis_size);
      out["model"] = o->model, out["arch"] = g->arch(), out["mode"] = "score", out["batch"] = o->batch;
      out["resolution"] = g->resolution(), out["threads"] = torch::get_num_threads(), out["device"] = g->device().str();
      std::cout << out.dump() << "\n";
      return;
    }
    const bool synth = o->mode == "synth";
    torch::Tensor codes, target;
    {
      torch::NoGradGuard no_grad;
      codes = g->to_synthesis_codes(g->sample_z(o->batch, 0), models::LatentSpace::Z);
      target = g->generate(g->sample_z(o->batch, 1), models::LatentSpace::Z);
    }
    std::vector<torch::Tensor> weights;
    if (o->mode == "tune")
      for (auto& t : g->parameters()) weights.push_back(t.requires_grad_(true));
    if (o->mode == "invert") codes.requires_grad_(true);
    // One timed unit: a synthesis (synth), or a loss, its backward and nothing else (invert, tune).
    auto step = [&] {
      if (synth) {
        torch::NoGradGuard no_grad;
        g->synthesize(codes);
        return;
      }
      auto loss = (g->synthesize(codes, models::NoiseMode::Const) - target).square().mean();
      // allow_unused: tune differentiates every parameter, and the mapping's take no part here.
      torch::autograd::grad({loss}, o->mode == "invert" ? std::vector<torch::Tensor>{codes} : weights, {}, c10::nullopt,
                            false, /*allow_unused=*/true);
    };
    auto sync = [&] {
      if (g->device().is_cuda()) torch::cuda::synchronize();
    };
    step();  // warm-up: allocations, kernel selection
    sync();
    std::vector<double> ms;
    for (int i = 0; i < o->repeat; ++i) {
      const auto t0 = std::chrono::steady_clock::now();
      step();
      sync();
      ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    }
    std::sort(ms.begin(), ms.end());
    const double median = ms[ms.size() / 2];
    const double gflop = g->synthesis_gflop();
    nlohmann::json out = {{"model", o->model},
                          {"arch", g->arch()},
                          {"device", g->device().str()},
                          {"threads", torch::get_num_threads()},
                          {"batch", o->batch},
                          {"resolution", g->resolution()},
                          {"repeat", o->repeat},
                          {"mode", o->mode},
                          {"ops", nn::reference_ops_forced() ? "reference" : "fused"},
                          {"precision", models::to_string(g->precision())},
                          {"step_ms_median", median},
                          {"step_ms_min", ms.front()},
                          {"gflop_per_image", gflop}};
    if (synth) {  // the names earlier versions printed, kept for scripts that read them
      out["synthesis_ms_median"] = median;
      out["synthesis_ms_min"] = ms.front();
      out["gflop_per_s"] = gflop * o->batch / (median / 1000.0);
    }
    std::cout << out.dump() << "\n";
  });
}

}  // namespace faceedit::cli
