#!/usr/bin/env bash
# Jobs shared among processes (distributed.h): sample, evaluate and photo --batch run by 2 MPI ranks
# on localhost and by --shard K/N tasks, compared byte for byte with one process; a rank killed with
# kill -9 mid-run, then the same command again: still byte-identical. Exit 77 (skipped) without mpirun.
set -u
FACEEDIT="$(realpath "$1")"
SHARED="${FACEEDIT_SHARED:-$(cd "$(dirname "$0")/../.." && pwd)/../shared}"
command -v mpirun >/dev/null || { echo "no mpirun (apt-get install openmpi-bin libopenmpi-dev): skipped"; exit 77; }
"$FACEEDIT" sample --help | grep -q -- "--shard" || { echo "faceedit lacks --shard"; exit 1; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
# Converted models and judges are reused from the suite's cache when there is one.
export FACEEDIT_CACHE="${FACEEDIT_CACHE:-$T/cache}"
# Root in CI containers; 2 ranks on however many cores; no shared-memory single-copy (ptrace is
# often forbidden in containers). Each rank gets the cores divided among the ranks (distributed.h).
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl_vader_single_copy_mechanism=none
MPI=(mpirun --oversubscribe -n 2)
passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok: $1"; }
bad() { failed=$((failed + 1)); echo "FAILED: $1"; }
# same NAME A B: the two directories (or files) hold the same names with the same bytes.
same() {
  if diff -r -x ".shard-*.lock" "$2" "$3" >"$T/diff" 2>&1; then ok "$1"; else bad "$1: $(head -c 600 "$T/diff")"; fi
}
run() {  # run LOG CMD...: stdout+stderr to LOG; non-zero exit is a failure named by LOG
  local log="$1"
  shift
  if ! "$@" >"$T/$log.log" 2>&1; then bad "$log: failed: $(tail -c 800 "$T/$log.log")"; return 1; fi
}

# --- sample: 1 process, 2 ranks, 3 array tasks + a merging run ---
S=(sample --model dcgan-celeba32 --n 240 --shard-size 40 --batch 20 -q)
run s_single "$FACEEDIT" "${S[@]}" -o "$T/s1"
run s_mpi "${MPI[@]}" "$FACEEDIT" "${S[@]}" -o "$T/s2" && same "sample: 2 MPI ranks == 1 process" "$T/s1" "$T/s2"
if [ "$(ls "$T/s2"/shard-*.safetensors | wc -l)" = 6 ] && grep -q '"processes":2' "$T/s_mpi.log"; then ok "sample: the ranks shared 6 shards"
else bad "sample: shards or summary: $(tail -c 300 "$T/s_mpi.log")"; fi
for k in 0 1 2; do run "s_shard$k" "$FACEEDIT" "${S[@]}" --shard "$k/3" -o "$T/s3"; done
run s_merge "$FACEEDIT" "${S[@]}" -o "$T/s3" && grep -q '"shards_written":0' "$T/s_merge.log" &&
  same "sample: --shard 0/3 1/3 2/3 == 1 process" "$T/s1" "$T/s3" || bad "sample: the merging run recomputed shards"
mkdir -p "$T/s_busy"
(flock -x "$T/s_busy" sleep 5) &
sleep 0.5
if "${MPI[@]}" "$FACEEDIT" "${S[@]}" -o "$T/s_busy" >"$T/busy.log" 2>&1; then bad "sample: a second job in a held directory ran"
elif grep -q "another \`faceedit sample\` is writing" "$T/busy.log"; then ok "sample: a second job in the directory is refused (all ranks stop)"
else bad "sample: refusal message: $(tail -c 400 "$T/busy.log")"; fi
wait

# kill -9 one rank mid-run: the job stops; the same command again (even with 1 process) resumes.
SK=(sample --model dcgan-celeba32 --n 1200 --shard-size 40 --batch 20 -q)
run sk_single "$FACEEDIT" "${SK[@]}" -o "$T/sk1"
"${MPI[@]}" "$FACEEDIT" "${SK[@]}" -o "$T/sk2" >"$T/sk_killed.log" 2>&1 &
mpi_pid=$!
for _ in $(seq 1 600); do
  [ "$(ls "$T/sk2"/shard-*.safetensors 2>/dev/null | wc -l)" -ge 4 ] && break
  sleep 0.1
done
victim=$(pgrep -f -- "-o $T/sk2" | while read -r p; do [ "$(cat /proc/$p/comm 2>/dev/null)" = faceedit ] && echo "$p"; done | tail -1)
if [ -n "$victim" ]; then kill -9 "$victim"; fi
wait $mpi_pid 2>/dev/null
n_before=$(ls "$T/sk2"/shard-*.safetensors 2>/dev/null | wc -l)
if [ -n "$victim" ] && [ "$n_before" -lt 30 ]; then ok "sample: a rank killed after $n_before of 30 shards"
else bad "sample: could not kill a rank mid-run (victim '$victim', $n_before shards)"; fi
run sk_resume "${MPI[@]}" "$FACEEDIT" "${SK[@]}" -o "$T/sk2" &&
  same "sample: killed + resumed with 2 ranks == 1 process" "$T/sk1" "$T/sk2"

# --- evaluate: InterFaceGAN on a boundary from the samples above (each run in its own directory,
# so the JSON's relative grid path is the same) ---
run boundary "$FACEEDIT" boundary --samples "$T/sk1" --attr smiling --ratio 0.1 -o "$T/b.safetensors" || true
E=(evaluate --boundary "$T/b.safetensors" --n 20 --batch 6 --alpha 0,2)
mkdir -p "$T/e1" "$T/e2" "$T/e3" "$T/e4"
# Judging a block sums over many pixels, split among LibTorch's threads: runs compared across
# process layouts give each process the same threads (here 1, as each of 2 ranks has on 2 cores).
mkdir -p "$T/e0"
cd "$T/e0"; run e_single_t1 "$FACEEDIT" --threads 1 "${E[@]}" -o eval.json
cd "$T/e2"; run e_mpi "${MPI[@]}" "$FACEEDIT" --threads 1 "${E[@]}" -o eval.json && same "evaluate: 2 MPI ranks == 1 process (JSON and grid)" "$T/e0" "$T/e2"
cd "$T/e1"; run e_single "$FACEEDIT" "${E[@]}" -o eval.json
cd "$T/e3"; run e_shard0 "$FACEEDIT" "${E[@]}" --shard 0/2 -o eval.json
if [ ! -e "$T/e3/eval.json" ] && [ -d "$T/e3/eval.json.work" ]; then ok "evaluate: a task leaves its blocks, no result"
else bad "evaluate: --shard 0/2 wrote a result or no blocks"; fi
cd "$T/e3"; run e_shard1 "$FACEEDIT" "${E[@]}" --shard 1/2 -o eval.json
cd "$T/e3"; run e_merge "$FACEEDIT" "${E[@]}" -o eval.json && same "evaluate: --shard 0/2 1/2 + merge == 1 process" "$T/e1" "$T/e3"
cd "$T/e4"; run e_other "$FACEEDIT" "${E[@]}" --shard 0/2 -o eval.json
cd "$T/e4"
if "$FACEEDIT" evaluate --boundary "$T/b.safetensors" --n 20 --batch 6 --alpha 0,3 -o eval.json >"$T/e_mismatch.log" 2>&1; then
  bad "evaluate: blocks of another job were mixed in"
elif grep -q "another evaluation" "$T/e_mismatch.log"; then ok "evaluate: another job's blocks are refused"
else bad "evaluate: mismatch message: $(tail -c 300 "$T/e_mismatch.log")"; fi
cd "$T"

# --- photo --batch: 3 photos, a short inversion, no cache ---
P="$SHARED/data/celebahq-photos"
if [ -d "$P" ]; then
  mkdir -p "$T/photos"
  for f in $(ls "$P"/*.jpg | sort | head -3); do cp "$f" "$T/photos/"; done
  printf 'not a photo' >"$T/photos/zz_broken.jpg"
  B=(photo --batch "$T/photos" --method interfacegan --boundary "$T/b.safetensors" --strength 2 --inversion-steps 15 --starts 1 --cache none --crop 128)
  # An inversion's long sums are split among LibTorch's threads, so a photo's bits depend on the
  # threads of the process that edits it: the single run gets the 1 thread each rank has here.
  run p_single "$FACEEDIT" --threads 1 "${B[@]}" -o "$T/p1"
  run p_mpi "${MPI[@]}" "$FACEEDIT" --threads 1 "${B[@]}" -o "$T/p2" && same "photo --batch: 2 MPI ranks == 1 process" "$T/p1" "$T/p2"
  if /usr/bin/python3 -c "
import json, sys; b = json.load(open('$T/p1/batch.json'))
assert b['edited'] == 3 and b['failed'] == 1, b
assert [p['photo'].split('/')[-1] for p in b['photos']] == sorted(p['photo'].split('/')[-1] for p in b['photos'])
assert 'error' in b['photos'][3] and 'zz_broken' in b['photos'][3]['error']"; then ok "photo --batch: records in input order; the broken photo listed, not fatal"
  else bad "photo --batch: batch.json"; fi
  rm "$T/p2/$(ls "$T/p1" | grep -v json | head -1 | sed 's/\.jpg$//').json" "$T/p2/batch.json"
  run p_resume "${MPI[@]}" "$FACEEDIT" --threads 1 "${B[@]}" -o "$T/p2" && grep -q '"skipped"' "$T/p_resume.log" &&
    same "photo --batch: rerun edits only what is missing, same bytes" "$T/p1" "$T/p2" || bad "photo --batch: resume skipped nothing"
else
  echo "no $P: photo --batch not checked"
fi

echo "passed: $passed, failed: $failed"
[ "$failed" -eq 0 ]
