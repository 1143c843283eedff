// The benchmarks' shared main: LibTorch on every core (Debian's build starts with one thread on
// small machines, see faceedit/runtime.h), then Google Benchmark as usual.
#include <benchmark/benchmark.h>

#include "faceedit/runtime.h"

int main(int argc, char** argv) {
  faceedit::set_threads(0);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
