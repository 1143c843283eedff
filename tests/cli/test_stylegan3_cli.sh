#!/usr/bin/env bash
# StyleGAN3 through the CLI on the shared fixture (random weights: mechanics, not quality): the pickle
# converted on first use, info, generate with gen_images.py's --translate/--rotate, the conformance
# hook, and InterFaceGAN's sample -> boundary -> edit in W and W+. Exit 77 (skip) without the
# fixture, unless FACEEDIT_REQUIRE_SHARED=1.
set -u
FACEEDIT="$1"
source "$(dirname "$0")/lib.sh"
PKL="$SHARED/fixtures/stylegan3/network-snapshot-sg3t32.pkl"
PKL_R="$SHARED/fixtures/stylegan3/network-snapshot-sg3r32.pkl"
if [ ! -f "$PKL" ]; then
  [ "${FACEEDIT_REQUIRE_SHARED:-}" = 1 ] && { echo "FAILED: $PKL not found and FACEEDIT_REQUIRE_SHARED=1"; exit 1; }
  echo "skip: $PKL not found (set FACEEDIT_SHARED)"; exit 77
fi

if "$FACEEDIT" info "$PKL" >"$T/info.json" 2>"$T/info.err" && grep -q '"arch": "stylegan3"' "$T/info.json" &&
  grep -q '"cfg": "stylegan3-t"' "$T/info.json" && grep -q '"num_ws": 16' "$T/info.json" &&
  "$FACEEDIT" info "$PKL_R" 2>/dev/null | grep -q '"cfg": "stylegan3-r"'
then ok "info: stylegan3 T and R"; else bad "info: $(tail -3 "$T/info.err")"; fi

if "$FACEEDIT" generate --model "$PKL" --seeds 0-3 --truncation 0.7 -o "$T/g.png" --save-tensors "$T/g.safetensors" >/dev/null 2>&1 &&
  "$FACEEDIT" generate --model "$PKL" --seeds 0-3 --truncation 0.7 --translate 0.2,-0.1 --rotate 25 --save-tensors "$T/gt.safetensors" >/dev/null 2>"$T/gt.err" &&
  "$FACEEDIT" generate --model "$PKL" --seeds 0-3 --truncation 0.7 --translate 0,0 --rotate 0 --save-tensors "$T/gi.safetensors" >/dev/null 2>&1
then :; fi
# The three renders differ pairwise (stored random transform, a user transform, the identity).
if [ -f "$T/gt.safetensors" ] && [ -f "$T/gi.safetensors" ] && ! cmp -s "$T/g.safetensors" "$T/gt.safetensors" &&
  ! cmp -s "$T/gt.safetensors" "$T/gi.safetensors"
then ok "generate --translate/--rotate"; else bad "generate --translate/--rotate: $(tail -3 "$T/gt.err" 2>/dev/null)"; fi
"$FACEEDIT" generate --model dcgan-celeba32 --seeds 0 --rotate 10 -o "$T/d.png" >/dev/null 2>"$T/d.err"
if [ $? -ne 0 ] && grep -q "only StyleGAN3" "$T/d.err" && [ ! -f "$T/d.png" ]; then ok "--rotate refused for a non-StyleGAN3 model"
else bad "--rotate on the DCGAN: $(cat "$T/d.err")"; fi
"$FACEEDIT" generate --model "$PKL" --seeds 0 --translate 1 -o "$T/x.png" >/dev/null 2>"$T/x.err"
if [ $? -ne 0 ] && grep -q "translate" "$T/x.err" && [ ! -f "$T/x.png" ]; then ok "--translate 1 refused"; else bad "--translate 1: $(cat "$T/x.err")"; fi

# InterFaceGAN mechanics in W and W+.
if "$FACEEDIT" sample --model "$PKL" --n 200 --classifier celebahq --batch 50 --shard-size 100 -o "$T/samples" >/dev/null 2>"$T/s.err" &&
  "$FACEEDIT" boundary --samples "$T/samples" --attr smiling --space w --ratio 0.2 -o "$T/smiling_w.safetensors" >/dev/null 2>"$T/b.err"
then ok "sample -> boundary (w)"; else bad "sample -> boundary: $(tail -3 "$T/s.err" "$T/b.err")"; fi
for space in w wplus; do
  if "$FACEEDIT" edit --model "$PKL" --seeds 0-1 --boundary "$T/smiling_w.safetensors" --space $space --alpha -2:2:3 \
      -o "$T/edit_$space.png" >/dev/null 2>"$T/e_$space.err" && [ -s "$T/edit_$space.png" ] && [ -s "$T/edit_$space.latents.safetensors" ]
  then ok "edit --space $space"; else bad "edit --space $space: $(tail -3 "$T/e_$space.err")"; fi
done

echo "passed $passed, failed $failed"
[ "$failed" -eq 0 ]
