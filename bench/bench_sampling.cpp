// Throughput of the sampling job's batch routine (edit::generate_and_score: map + synthesize +
// score) for the DCGAN (dcgan-celeba32) and the StyleGAN2 fixture tiny32, scored by a randomly
// initialised supervision classifier of the default size (64x64 input, widths 24-192, 2 heads).
// Counters: `samples_per_s`; `generator_samples_per_s`, the generator alone (map + synthesize, no
// scoring) measured in the same run; `ratio` = samples_per_s / generator_samples_per_s (the share
// of the generator-only speed that survives scoring).
// Needs the shared data (FACEEDIT_SHARED); benchmarks whose model is absent are skipped with a message.
//
//   build/bench/bench_sampling --benchmark_filter=dcgan
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <map>

#include "faceedit/edit/interfacegan/sampling.h"
#include "faceedit/error.h"
#include "faceedit/models/face_classifier.h"
#include "faceedit/models/model_files.h"
#include "faceedit/runtime.h"

namespace {

constexpr int64_t kBatch = 64;

struct Subject {
  std::unique_ptr<faceedit::models::Generator> generator;
  std::string missing;  // why it could not be loaded
};

Subject& subject(const std::string& name) {
  static std::map<std::string, Subject> cache;
  auto it = cache.find(name);
  if (it != cache.end()) return it->second;
  Subject& s = cache[name];
  const std::string rel = name == "dcgan" ? "models/dcgan-celeba32/generator.pt" : "fixtures/stylegan2-ada/tiny32.pkl";
  const auto path = faceedit::shared_root() / rel;
  if (!std::filesystem::exists(path)) {
    s.missing = path.string() + " not found (set FACEEDIT_SHARED): skipped";
    return s;
  }
  try {
    s.generator = faceedit::models::open_generator(path.string());
  } catch (const std::exception& e) {
    s.missing = e.what();
  }
  return s;
}

faceedit::models::FaceClassifier& classifier() {
  static auto clf = [] {
    faceedit::models::FaceClassifierConfig cfg;
    cfg.name = "bench";
    cfg.heads.push_back({"smiling", {}, {}});
    cfg.heads.push_back({"male", {}, {}});
    torch::manual_seed(0);
    return std::make_unique<faceedit::models::FaceClassifier>(cfg);
  }();
  return *clf;
}

double seconds_of(const std::function<void()>& f) {
  const auto t0 = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Generator alone: median of 7 timed batches after a warm-up, once per model and process.
double generator_rate(const std::string& name, const torch::Tensor& z) {
  static std::map<std::string, double> rates;
  auto it = rates.find(name);
  if (it != rates.end()) return it->second;
  auto& g = *subject(name).generator;
  torch::NoGradGuard no_grad;
  auto run = [&] { g.synthesize(g.map(z, 0.7), faceedit::models::NoiseMode::Const); };
  run();
  std::vector<double> t;
  for (int i = 0; i < 7; ++i) t.push_back(seconds_of(run));
  std::sort(t.begin(), t.end());
  return rates[name] = static_cast<double>(z.size(0)) / t[t.size() / 2];
}

void BM_SampleAndScore(benchmark::State& state, const std::string& name) {
  auto& s = subject(name);
  if (!s.generator) {
    state.SkipWithError(s.missing.c_str());
    for (auto _ : state) {
    }
    return;
  }
  auto& g = *s.generator;
  auto& clf = classifier();
  const auto cols = faceedit::edit::probability_columns(clf);
  auto z = g.sample_z(kBatch, 0);
  const double baseline = generator_rate(name, z);
  faceedit::edit::generate_and_score(g, clf, cols, z, 0.7);  // warm-up
  for (auto _ : state) benchmark::DoNotOptimize(faceedit::edit::generate_and_score(g, clf, cols, z, 0.7).scores);
  state.counters["samples_per_s"] =
      benchmark::Counter(static_cast<double>(kBatch * state.iterations()), benchmark::Counter::kIsRate);
  state.counters["generator_samples_per_s"] = baseline;
  state.counters["ratio"] =
      benchmark::Counter(static_cast<double>(kBatch * state.iterations()) / baseline, benchmark::Counter::kIsRate);
}

}  // namespace

BENCHMARK_CAPTURE(BM_SampleAndScore, dcgan, std::string("dcgan"))
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MinTime(2.0);
BENCHMARK_CAPTURE(BM_SampleAndScore, tiny32, std::string("tiny32"))
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MinTime(2.0);
