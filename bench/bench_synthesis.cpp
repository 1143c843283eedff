// StyleGAN2 synthesis throughput (FFHQ config-f architecture, random weights, fp32, CPU) against
// the throughput of one plain 512->512 3x3 convolution at 64x64 measured in the same run.
// The counter `ratio` = (synthesis GFLOP/s) / (that convolution's GFLOP/s): how close the whole
// network gets to the machine's best-case convolution speed. The convolution is timed between the
// synthesis iterations, so both see the same machine (shared CPUs drift by 30% within minutes).
// Also reports peak RSS.
//
//   build/bench/bench_synthesis --benchmark_filter='Synthesis/1024/1'
#include <benchmark/benchmark.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <map>

#include "faceedit/models/stylegan2.h"

using faceedit::models::StyleGAN2;
using faceedit::models::StyleGAN2Config;

namespace {

constexpr double kConvGflop = 2.0 * 9 * 512 * 512 * 64 * 64 / 1e9;

torch::Tensor conv_input() { return torch::randn({1, 512, 64, 64}); }
torch::Tensor conv_weight() { return torch::randn({512, 512, 3, 3}); }

double seconds_of(const std::function<void()>& f) {
  const auto t0 = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

double peak_rss_mb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss / 1024.0;
}

StyleGAN2& ffhq_config_f(int64_t resolution) {
  static std::map<int64_t, std::unique_ptr<StyleGAN2>> models;
  auto& m = models[resolution];
  if (!m) {
    StyleGAN2Config c;  // defaults are FFHQ config-f: z/w 512, mapping 8, channel_base 32768, max 512
    c.img_resolution = resolution;
    c.conv_clamp = 256;
    m = std::make_unique<StyleGAN2>(c, 0);
  }
  return *m;
}

void BM_Conv512(benchmark::State& state) {
  torch::NoGradGuard no_grad;
  auto x = conv_input(), w = conv_weight();
  for (auto _ : state) benchmark::DoNotOptimize(torch::conv2d(x, w, {}, 1, 1));
  state.counters["GFLOP/s"] = benchmark::Counter(kConvGflop * state.iterations(), benchmark::Counter::kIsRate);
}

void BM_Synthesis(benchmark::State& state) {
  const int64_t res = state.range(0), batch = state.range(1);
  auto& g = ffhq_config_f(res);
  torch::NoGradGuard no_grad;
  auto ws = g.map(g.sample_z(batch, 0), 0.7);
  auto cx = conv_input(), cw = conv_weight();
  auto conv = [&] { torch::conv2d(cx, cw, {}, 1, 1); };
  g.synthesize(ws);  // warm-up
  conv();
  const double gflop = g.synthesis_gflop() * batch;
  // Each iteration pairs one synthesis with the fastest of three convolutions right after it (the
  // convolution's best case, warm); the reported ratio is the median of those pairs, so a slow spell
  // on a shared CPU hits both sides.
  double synthesis_s = 0;
  std::vector<double> ratios, conv_rates;
  for (auto _ : state) {
    const double t = seconds_of([&] { benchmark::DoNotOptimize(g.synthesize(ws)); });
    state.SetIterationTime(t);
    synthesis_s += t;
    std::vector<double> c;
    for (int i = 0; i < 3; ++i) c.push_back(seconds_of(conv));
    std::sort(c.begin(), c.end());
    conv_rates.push_back(kConvGflop / c[0]);
    ratios.push_back((gflop / t) / conv_rates.back());
  }
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  const double synthesis_gflops = gflop * static_cast<double>(state.iterations()) / synthesis_s;
  state.counters["gflop_per_image"] = g.synthesis_gflop();
  state.counters["GFLOP/s"] = synthesis_gflops;
  state.counters["conv_GFLOP/s"] = median(conv_rates);
  state.counters["peak_rss_MB"] = peak_rss_mb();
  state.counters["ratio"] = median(ratios);
}

}  // namespace

BENCHMARK(BM_Conv512)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_Synthesis)
    ->Args({256, 1})
    ->Args({256, 4})
    ->Args({1024, 1})
    ->Args({1024, 4})
    ->Unit(benchmark::kMillisecond)
    ->UseManualTime()
    ->MinTime(4.0);
