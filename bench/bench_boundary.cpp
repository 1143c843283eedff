// InterFaceGAN boundary training time (liblinear SVM on the chosen 2% + 2%) for 100,000 samples,
// against the time to merely sort the scores and gather the chosen rows (the baseline in this run).
#include <benchmark/benchmark.h>

#include "faceedit/edit/interfacegan/boundary.h"

namespace {

struct SyntheticSamples {
  torch::Tensor latents, scores, normal;
  explicit SyntheticSamples(int64_t dim) {
    torch::manual_seed(0);
    latents = torch::randn({100000, dim});
    auto n = torch::randn({dim});
    normal = n / n.norm();
    scores = torch::sigmoid(2.0 * latents.matmul(n / n.norm()) + 0.3 * torch::randn({100000}));
  }
};

void BM_SortAndGather(benchmark::State& state) {
  SyntheticSamples s(state.range(0));
  for (auto _ : state) {
    auto order = s.scores.argsort(0, /*descending=*/true);
    auto chosen = torch::cat({order.narrow(0, 0, 2000), order.narrow(0, 98000, 2000)});
    benchmark::DoNotOptimize(s.latents.index_select(0, chosen));
  }
}

void BM_TrainBoundary(benchmark::State& state) {
  SyntheticSamples s(state.range(0));
  faceedit::edit::Boundary b;
  for (auto _ : state) benchmark::DoNotOptimize(b = faceedit::edit::train_boundary(s.latents, s.scores, {}));
  state.counters["cosine"] = torch::dot(b.normal.flatten(), s.normal).item<double>();  // with the true normal
}

}  // namespace

BENCHMARK(BM_SortAndGather)->Arg(100)->Arg(512)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_TrainBoundary)->Arg(100)->Arg(512)->Unit(benchmark::kMillisecond);
