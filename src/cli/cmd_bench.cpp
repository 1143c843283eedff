#include <algorithm>
#include <chrono>
#include <iostream>

#include "commands.h"
#include "faceedit/models/model_files.h"

namespace faceedit::cli {

void add_bench_command(CLI::App& app, const GlobalOptions& global) {
  struct Options {
    std::string model;
    int batch = 1, repeat = 5;
    std::string mode = "synth";
  };
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand("bench", "Time synthesis (or an inversion / fine-tuning step) in-process; prints one JSON line");
  cmd->add_option("model", o->model, "model file or known name")->required();
  cmd->add_option("--batch", o->batch, "images per forward pass")->check(CLI::Range(1, 256))->capture_default_str();
  cmd->add_option("--repeat", o->repeat, "timed repetitions (after one warm-up)")->check(CLI::Range(1, 1000))->capture_default_str();
  cmd->add_option("--mode", o->mode,
                  "synth: synthesis without gradients; invert: synthesis forward + backward w.r.t. the W+ codes "
                  "(MSE to a fixed image, const noise); tune: the same backward w.r.t. the synthesis weights")
      ->capture_default_str()->check(CLI::IsMember({"synth", "invert", "tune"}));
  cmd->callback([o, &global] {
    auto g = models::open_generator(o->model, parse_device(global.device));
    const bool synth = o->mode == "synth";
    torch::Tensor codes, target;
    {
      torch::NoGradGuard no_grad;
      codes = g->to_synthesis_codes(g->sample_z(o->batch, 0), models::LatentSpace::Z);
      target = g->synthesize(g->to_synthesis_codes(g->sample_z(o->batch, 1), models::LatentSpace::Z));
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
