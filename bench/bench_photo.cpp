// A photo edited twice: the first edit_photo() aligns, inverts (and personalises), the second finds
// all of that in the cache and only edits, synthesizes and fuses (at the photo's 1024 x 1024). One
// benchmark run times both, so the ratio compares them on the same machine at the same moment.
// Counters: `first_s`, `second_s` (seconds per call), `speedup` = first_s / second_s.
// DCGAN, InterFaceGAN edit with a random direction, 300 inversion steps x 4 starts (the CLI's
// defaults), no identity judge (its model load is the same in both runs).
//
//   build/bench/bench_photo
#include <benchmark/benchmark.h>

#include <chrono>
#include <filesystem>
#include <unistd.h>

#include "faceedit/edit/boundary.h"
#include "faceedit/io/image.h"
#include "faceedit/models/model_files.h"
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
  faceedit::edit::save_boundary(faceedit::edit::random_boundary(100, "z", "smiling", 0), (dir / "b.safetensors").string());
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

}  // namespace
