// The steps of the editing loops on FFHQ config-f (random weights, fp32, batch 1, const noise):
//   invert: synthesis forward + backward w.r.t. the W+ codes, MSE to a fixed image;
//   tune:   the same with the backward w.r.t. every synthesis weight (personalization).
// Each iteration times the fused path (custom autograd functions) and the plain LibTorch
// composition (ReferenceOpsGuard) back to back, so both see the same machine; the counter `ratio`
// is the median of fused / composition over the pairs. `faceedit bench --mode invert|tune` times
// the same step in the CLI, and tools/bench_official.py NVIDIA's networks.
//
//   build/bench/bench_editing_step --benchmark_filter='EditStep/tune:0/res:256'   (tune:0 = invert)
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <map>

#include "faceedit/models/stylegan2.h"
#include "faceedit/nn/ops.h"

using faceedit::models::NoiseMode;
using faceedit::models::StyleGAN2;
using faceedit::models::StyleGAN2Config;

namespace {

StyleGAN2& ffhq_config_f(int64_t resolution) {
  static std::map<int64_t, std::unique_ptr<StyleGAN2>> models;
  auto& m = models[resolution];
  if (!m) {
    StyleGAN2Config c;  // the defaults are FFHQ config-f
    c.img_resolution = resolution;
    c.conv_clamp = 256;
    m = std::make_unique<StyleGAN2>(c, 0);
  }
  return *m;
}

double seconds_of(const std::function<void()>& f) {
  const auto t0 = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// state.range(0): 0 = invert, 1 = tune; range(1): the resolution.
void BM_EditStep(benchmark::State& state) {
  const bool tune = state.range(0) == 1;
  auto& g = ffhq_config_f(state.range(1));
  torch::Tensor ws, target;
  {
    torch::NoGradGuard no_grad;
    ws = g.map(g.sample_z(1, 0), 0.7);
    target = g.synthesize(g.map(g.sample_z(1, 1), 0.7));
  }
  ws.requires_grad_(true);
  const auto weights = g.parameters();
  auto step = [&] {
    auto loss = (g.synthesize(ws, NoiseMode::Const) - target).square().mean();
    benchmark::DoNotOptimize(torch::autograd::grad({loss}, tune ? weights : std::vector<torch::Tensor>{ws}, {},
                                                   c10::nullopt, false, /*allow_unused=*/true));
  };
  auto reference_step = [&] {
    faceedit::nn::ReferenceOpsGuard reference;
    step();
  };
  step();  // warm-up: allocations, oneDNN's kernel choices
  reference_step();
  std::vector<double> ratios, reference_ms;
  for (auto _ : state) {
    const double t = seconds_of(step);
    state.SetIterationTime(t);
    const double r = seconds_of(reference_step);
    ratios.push_back(t / r);
    reference_ms.push_back(r * 1000);
  }
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  state.counters["reference_ms"] = median(reference_ms);
  state.counters["ratio"] = median(ratios);
}

}  // namespace

BENCHMARK(BM_EditStep)
    ->ArgNames({"tune", "res"})
    ->Args({0, 256})
    ->Args({1, 256})
    ->Args({0, 1024})
    ->Args({1, 1024})
    ->Unit(benchmark::kMillisecond)
    ->UseManualTime()
    ->Iterations(3);
