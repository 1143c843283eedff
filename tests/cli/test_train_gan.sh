#!/usr/bin/env bash
# faceedit train-gan from the command line: a run killed with kill -9 after a checkpoint, then the
# same command again, ends with the same G_ema tensors as an uninterrupted run; snapshots and the
# output load as a generator; evaluate-gan runs on them; bad input is refused with a clear error.
# Exit 77 (skipped) without the shared CelebA-HQ archive.
set -u
FACEEDIT="$(realpath "$1")"
SHARED="${FACEEDIT_SHARED:-$(cd "$(dirname "$0")/../.." && pwd)/../shared}"
DATA="$SHARED/data/celebahq-64.tar"
[ -f "$DATA" ] || { [ "${FACEEDIT_REQUIRE_SHARED:-}" = 1 ] && { echo "no $DATA (FACEEDIT_REQUIRE_SHARED=1)"; exit 1; }; echo "no $DATA: skipped"; exit 77; }
T=$(mktemp -d)
trap 'kill -9 $(jobs -p) 2>/dev/null; rm -rf "$T"' EXIT
export FACEEDIT_CACHE="${FACEEDIT_CACHE:-$T/cache}"
passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok: $1"; }
bad() { failed=$((failed + 1)); echo "FAILED: $1"; }
# same_tensors A B: every tensor of two safetensors files equal, bit for bit.
same_tensors() {
  /usr/bin/python3 - "$1" "$2" <<'PY'
import os, sys
sys.path.insert(0, os.environ['FACEEDIT_TOOLS'])
from faceedit_tools.safetensors_io import load_file
import torch
a, _ = load_file(sys.argv[1]); b, _ = load_file(sys.argv[2])
sys.exit(0 if a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a) else 1)
PY
}
export FACEEDIT_TOOLS="${FACEEDIT_TOOLS:-$(cd "$(dirname "$0")/../.." && pwd)/tools}"

G=(--threads 2 train-gan --data "$DATA" --resolution 16 --channel-base 512 --channel-max 64 --w-dim 32 --batch 8
   --kimg 0.8 --snapshot-kimg 0.4 --checkpoint-every 10 --grid 16)
"$FACEEDIT" "${G[@]}" -o "$T/whole.safetensors" >"$T/whole.log" 2>&1 || bad "uninterrupted run: $(tail -c 600 "$T/whole.log")"

# kill -9 once a checkpoint after step 20 is on disk, then the same command again.
"$FACEEDIT" "${G[@]}" -o "$T/killed.safetensors" >"$T/killed1.log" 2>&1 &
pid=$!
for _ in $(seq 600); do
  step=$(sed -n 's/.*"step":\([0-9]*\).*/\1/p' "$T/killed.safetensors.ckpt/state.json" 2>/dev/null)
  [ -n "$step" ] && [ "$step" -ge 20 ] && break
  kill -0 $pid 2>/dev/null || break
  sleep 0.1
done
if kill -9 $pid 2>/dev/null; then
  wait $pid 2>/dev/null
  [ -f "$T/killed.safetensors" ] && bad "a killed run left its output" || ok "killed with kill -9 after step $step of 100"
  "$FACEEDIT" "${G[@]}" -o "$T/killed.safetensors" >"$T/killed2.log" 2>&1 || bad "rerun: $(tail -c 600 "$T/killed2.log")"
  grep -q "resuming from" "$T/killed2.log" && ok "the rerun resumed" || bad "the rerun did not resume: $(head -c 400 "$T/killed2.log")"
  same_tensors "$T/whole.safetensors" "$T/killed.safetensors" && ok "killed + resumed == uninterrupted (every G_ema tensor)" ||
    bad "killed + resumed differs from the uninterrupted run"
else
  bad "the run ended before it could be killed (step ${step:-none}): $(tail -c 300 "$T/killed1.log")"
fi

# Longer kimg continues the same run; snapshots exist and load.
ls "$T/whole.safetensors.snapshots/"grid-kimg*.png >/dev/null 2>&1 && ok "snapshot grids written" || bad "no snapshot grids"
"$FACEEDIT" generate --model "$T/whole.safetensors" --seeds 0-3 -o "$T/gen.png" >"$T/gen.log" 2>&1 && ok "the output loads as a generator" ||
  bad "generate on the output: $(tail -c 400 "$T/gen.log")"
"$FACEEDIT" evaluate-gan "$T/whole.safetensors.snapshots/"g-ema-kimg00000.4.safetensors "$T/whole.safetensors" --samples 40 \
  --detect-samples 10 -o "$T/eval.json" >"$T/eval.log" 2>&1 && [ -s "$T/eval.html" ] && grep -q '"kimg": 0.8' "$T/eval.json" &&
  ok "evaluate-gan reports KID per snapshot" || bad "evaluate-gan: $(tail -c 600 "$T/eval.log")"

# Fine-tuning an official snapshot (NVIDIA's --resume): G, G_ema and D from the pickle, its resolution.
"$FACEEDIT" train-gan --init stylegan2-tiny32 --data "$DATA" --batch 4 --kimg 0.016 --snapshot-kimg 1 \
  -o "$T/tuned.safetensors" >"$T/tuned.log" 2>&1 && grep -q "starting from .*tiny32.*-G.safetensors and .*-D.safetensors" "$T/tuned.log" &&
  grep -q "at 32 px" "$T/tuned.log" && ok "--init an official pickle: its G and D, at its 32 px" ||
  bad "--init stylegan2-tiny32: $(tail -c 600 "$T/tuned.log")"

# Refusals: clear errors, non-zero exits, no output.
expect_error() {  # NAME NEEDLE CMD...
  local name="$1" needle="$2"
  shift 2
  if "$@" >"$T/err.log" 2>&1; then bad "$name: succeeded"; elif grep -q -- "$needle" "$T/err.log"; then ok "$name refused"
  else bad "$name: message lacks '$needle': $(tail -c 300 "$T/err.log")"; fi
}
expect_error "another setting on a checkpoint" "r1_gamma" "$FACEEDIT" "${G[@]}" --gamma 1 -o "$T/whole.safetensors"
echo "not a tar" >"$T/bad.tar"
expect_error "a corrupt archive" "bad.tar" "$FACEEDIT" train-gan --data "$T/bad.tar" --kimg 0.1 -o "$T/x.safetensors"
expect_error "a resolution above the data's" "cannot be box-downsampled" "$FACEEDIT" train-gan --data "$DATA" --resolution 128 \
  --kimg 0.1 -o "$T/x.safetensors"
expect_error "an unknown augmentation" "unknown operation 'blur'" "$FACEEDIT" train-gan --data "$DATA" --augment color,blur \
  --kimg 0.1 -o "$T/x.safetensors"
expect_error "--resolution against --init's" "generates 32 px" "$FACEEDIT" train-gan --init stylegan2-tiny32 --resolution 16 \
  --data "$DATA" --kimg 0.1 -o "$T/x.safetensors"
expect_error "--init a DCGAN" "network pickle" "$FACEEDIT" train-gan --init dcgan-celeba32 --data "$DATA" --kimg 0.1 -o "$T/x.safetensors"
[ -e "$T/x.safetensors" ] && bad "a refused run wrote its output"

echo "test_train_gan: $passed passed, $failed failed"
[ "$failed" = 0 ]
