#!/usr/bin/env bash
# Fuzzes every parser with libFuzzer + AddressSanitizer + UndefinedBehaviorSanitizer (clang).
#
#   scripts/fuzz.sh [RUNS] [HARNESS...]     (default: 1000000 executions each, every harness)
#
# Builds the harnesses into build-fuzz/ (the whole library instrumented: ~30 min on 2 cores the first
# time), runs each from its committed seed corpus (fuzz/corpus/NAME) with new finds kept in
# build-fuzz/corpus/NAME, and prints executions, coverage and findings per harness. A crash or a
# sanitizer report stops that harness and leaves the input as build-fuzz/crash-* (replay it with
# build-fuzz/fuzz/fuzz_NAME FILE). Also: tools/fuzz_unpickler.py (hostile pickles, Python).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
RUNS="${1:-1000000}"
shift || true
HARNESSES=("$@")
[ ${#HARNESSES[@]} -gt 0 ] || HARNESSES=(safetensors npy tar image editor_spec configs samples http)
command -v clang++ >/dev/null || { echo "fuzz: needs clang (apt-get install clang libomp-dev)" >&2; exit 1; }
B=build-fuzz
[ -f $B/build.ninja ] || CC=clang CXX=clang++ cmake -S . -B $B -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFACEEDIT_FUZZ=ON
cmake --build $B -j"$(nproc)" --target $(printf 'fuzz_%s ' "${HARNESSES[@]}")
export ASAN_OPTIONS="detect_leaks=1:allocator_may_return_null=1" UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
status=0
for h in "${HARNESSES[@]}"; do
  mkdir -p $B/corpus/$h $B/logs
  log=$B/logs/$h.log
  if (cd $B && ./fuzz/fuzz_$h -runs="$RUNS" -rss_limit_mb=4096 -max_len=65536 -timeout=20 -print_final_stats=1 \
        corpus/$h "$ROOT/fuzz/corpus/$h" >"logs/$h.log" 2>&1); then result=ok; else result="FINDING (see $log)"; status=1; fi
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*' || echo "?")
  ft=$(grep -o 'ft: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*' || echo "?")
  echo "fuzz: $h: $execs executions, coverage $cov edges, $ft features, corpus $(ls $B/corpus/$h | wc -l) new inputs: $result"
done
exit $status
