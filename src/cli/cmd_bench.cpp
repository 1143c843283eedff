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
  };
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand("bench", "Time synthesis in-process; prints one JSON line");
  cmd->add_option("model", o->model, "model file or known name")->required();
  cmd->add_option("--batch", o->batch, "images per forward pass")->check(CLI::Range(1, 256))->capture_default_str();
  cmd->add_option("--repeat", o->repeat, "timed repetitions (after one warm-up)")->check(CLI::Range(1, 1000))->capture_default_str();
  cmd->callback([o, &global] {
    auto g = models::open_generator(o->model, parse_device(global.device));
    torch::NoGradGuard no_grad;
    auto codes = g->to_synthesis_codes(g->sample_z(o->batch, 0), models::LatentSpace::Z);
    auto sync = [&] {
      if (g->device().is_cuda()) torch::cuda::synchronize();
    };
    g->synthesize(codes);  // warm-up: allocations, kernel selection
    sync();
    std::vector<double> ms;
    for (int i = 0; i < o->repeat; ++i) {
      const auto t0 = std::chrono::steady_clock::now();
      g->synthesize(codes);
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
                          {"synthesis_ms_median", median},
                          {"synthesis_ms_min", ms.front()},
                          {"gflop_per_image", gflop},
                          {"gflop_per_s", gflop * o->batch / (median / 1000.0)}};
    std::cout << out.dump() << "\n";
  });
}

}  // namespace faceedit::cli
