#!/usr/bin/env bash
# Throughput of a job shared among MPI ranks against one process, in the same run on this machine:
# `faceedit sample` (generation + scoring by the guide) with 1 process on all cores, then with
# 1..R ranks each on cores/R threads (distributed.h), so the cores are never oversubscribed.
# Prints one JSON line per configuration and a summary line.
#   bench/bench_mpi.sh [FACEEDIT] [N] [MODEL] [MAX_RANKS]
set -euo pipefail
F="${1:-build/faceedit}"
N="${2:-4000}"
MODEL="${3:-dcgan-celeba32}"
R="${4:-$(nproc)}"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl_vader_single_copy_mechanism=none
S=(sample --model "$MODEL" --n "$N" --shard-size 100 --batch 50 -q)
"$F" sample --model "$MODEL" --n 100 -q -o "$T/warm" >/dev/null  # converts the model into the cache first
seconds() {  # seconds DIR CMD...
  local dir="$1"
  shift
  local t0 t1
  t0=$(date +%s.%N)
  "$@" -o "$dir" >/dev/null
  t1=$(date +%s.%N)
  awk "BEGIN { print $t1 - $t0 }"
}
base=$(seconds "$T/one" "$F" "${S[@]}")
printf '{"config":"1 process, %d threads","n":%d,"seconds":%.2f,"samples_per_s":%.1f}\n' "$(nproc)" "$N" "$base" "$(awk "BEGIN { print $N / $base }")"
summary="\"one_process_s\":$(printf %.2f "$base")"
for r in $(seq 1 "$R"); do
  s=$(seconds "$T/mpi$r" mpirun --oversubscribe -n "$r" "$F" "${S[@]}")
  cmp -s "$T/one/shard-00000.safetensors" "$T/mpi$r/shard-00000.safetensors" || { echo "shards differ from one process's" >&2; exit 1; }
  printf '{"config":"%d MPI ranks (mpirun binds each to its cores; %d cores each at most)","n":%d,"seconds":%.2f,"samples_per_s":%.1f,"vs_one_process":%.3f}\n' \
    "$r" "$(( $(nproc) / r > 0 ? $(nproc) / r : 1 ))" "$N" "$s" "$(awk "BEGIN { print $N / $s }")" "$(awk "BEGIN { print $base / $s }")"
  summary="$summary,\"ranks_${r}_s\":$(printf %.2f "$s")"
done
echo "{\"model\":\"$MODEL\",\"n\":$N,$summary}"
