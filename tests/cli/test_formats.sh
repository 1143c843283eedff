#!/usr/bin/env bash
# Other projects' checkpoints through the CLI: `info` by content, generate / encode / edit-latents /
# classify-latents against the fixtures' reference outputs, the refusals, and every editing method
# (InterFaceGAN, transformer, L2M, PFSF walk) run on a rosinality model in W and W+ (issue 30 item 7:
# random weights, so only the mechanics are checked).
# Exit 77 (skipped) without the shared fixtures, unless FACEEDIT_REQUIRE_SHARED=1.
set -u
FACEEDIT="$1"
source "$(dirname "$0")/lib.sh"
FIX="$SHARED/fixtures"
PY=/usr/bin/python3
# close OUT KEY REF REFKEY BOUND [PYTHON-EXPR on a (ours) before comparing]
close() {
  $PY - "$@" <<'PYEOF'
import os, sys; sys.path.insert(0, os.environ.get('FACEEDIT_TOOLS', 'tools'))
from faceedit_tools.safetensors_io import load_file
out, key, ref, refkey, bound = sys.argv[1:6]
a = load_file(out)[0][key]
if len(sys.argv) > 6:
    a = eval(sys.argv[6])
b = load_file(ref)[0][refkey]
assert a.shape == b.shape, (a.shape, b.shape)
err = float((a.double() - b.double()).abs().max() / b.abs().max())
print(f'{refkey}: {err:.2e}')
assert err <= float(bound), err
PYEOF
}

ROS="$FIX/rosinality/rosinality-tiny32.pt"
ROSREF="$FIX/rosinality/rosinality-tiny32-reference.safetensors"
E4E="$FIX/e4e-psp/e4e-tiny32.pt"
LT="$FIX/latent-transformer"
for f in "$ROS" "$E4E" "$LT/tnet_15.pth.tar"; do
  if [ ! -e "$f" ]; then
    echo "shared fixture $f absent"
    [ "${FACEEDIT_REQUIRE_SHARED:-0}" = 1 ] && exit 1
    exit 77
  fi
done

# --- info: the format by content (a misleading name changes nothing) ---
cp "$ROS" "$T/latent_classifier_epoch_20.pth"
if "$FACEEDIT" info "$T/latent_classifier_epoch_20.pth" >"$T/info.json" 2>"$T/info.err" && $PY - "$T/info.json" <<'PYEOF'
import json, sys
r = json.load(open(sys.argv[1]))
c = r['checkpoint']
assert c['format'] == 'rosinality-stylegan2' and c['tensors'] == 64 and c['config']['synthesis']['channels'] == [40, 36, 28, 24], c
assert r['arch'] == 'stylegan2' and r['num_ws'] == 8, r
PYEOF
then ok "info: rosinality by content"; else bad "info rosinality: $(tail -3 "$T/info.err")"; fi
for pair in "$E4E:e4e" "$LT/tnet_15.pth.tar:latent-transformer-tnet" "$LT/latent_classifier_epoch_20.pth:latent-transformer-classifier"; do
  f="${pair%:*}"; want="${pair##*:}"
  if "$FACEEDIT" info "$f" 2>/dev/null | grep -q "\"format\": \"$want\""; then ok "info: $want"; else bad "info: $want"; fi
done

# --- generate against rosinality's own images ---
$PY - "$ROSREF" "$T" <<'PYEOF'
import os, sys; sys.path.insert(0, os.environ.get('FACEEDIT_TOOLS', 'tools'))
from faceedit_tools.safetensors_io import load_file, save_file
r = load_file(sys.argv[1])[0]
save_file({'latents': r['z']}, f'{sys.argv[2]}/z.safetensors')
save_file({'latents': r['wplus']}, f'{sys.argv[2]}/wplus.safetensors')
save_file({'latents': r['mean_latent']}, f'{sys.argv[2]}/mean.safetensors')
PYEOF
"$FACEEDIT" generate --model "$ROS" --latents "$T/z.safetensors" --space z --noise const --save-tensors "$T/img.safetensors" >/dev/null 2>&1 &&
  close "$T/img.safetensors" images "$ROSREF" img 1e-4 && ok "generate rosinality img" || bad "generate rosinality img"
"$FACEEDIT" generate --model "$ROS" --latents "$T/z.safetensors" --space z --truncation 0.7 --truncation-mean "$T/mean.safetensors" \
  --save-tensors "$T/trunc.safetensors" >/dev/null 2>&1 &&
  close "$T/trunc.safetensors" images "$ROSREF" img_trunc 1e-4 && ok "generate --truncation-mean" || bad "generate --truncation-mean"
"$FACEEDIT" generate --model "$ROS" --latents "$T/wplus.safetensors" --space wplus --save-tensors "$T/wp.safetensors" >/dev/null 2>&1 &&
  close "$T/wp.safetensors" images "$ROSREF" img_wplus 1e-4 && ok "generate rosinality wplus" || bad "generate rosinality wplus"
"$FACEEDIT" convert --network D "$ROS" "$T/d.safetensors" >/dev/null 2>&1 && ok "convert --network D" || bad "convert --network D"

# --- e4e: encode, then its decoder as --model ---
$PY - "$FIX/e4e-psp/inputs.safetensors" "$T/x.safetensors" <<'PYEOF'
import os, sys; sys.path.insert(0, os.environ.get('FACEEDIT_TOOLS', 'tools'))
from faceedit_tools.safetensors_io import load_file, save_file
save_file({'images': load_file(sys.argv[1])[0]['x']}, sys.argv[2])
PYEOF
E4EREF="$FIX/e4e-psp/e4e-tiny32-reference.safetensors"
"$FACEEDIT" encode --encoder "$E4E" --images "$T/x.safetensors" -o "$T/codes.safetensors" >/dev/null 2>"$T/enc.err" &&
  close "$T/codes.safetensors" latents "$E4EREF" latents 1e-4 && ok "encode e4e" || bad "encode e4e: $(tail -2 "$T/enc.err")"
"$FACEEDIT" generate --model "$E4E" --latents "$T/codes.safetensors" --space wplus --save-tensors "$T/dec.safetensors" >/dev/null 2>&1 &&
  close "$T/dec.safetensors" images "$E4EREF" images 1e-4 && ok "e4e decoder as --model" || bad "e4e decoder as --model"

# --- the Latent Transformer's files: edit-latents and classify-latents ---
$PY - "$LT/reference.safetensors" "$T/lt_w.safetensors" <<'PYEOF'
import os, sys; sys.path.insert(0, os.environ.get('FACEEDIT_TOOLS', 'tools'))
from faceedit_tools.safetensors_io import load_file, save_file
save_file({'latents': load_file(sys.argv[1])[0]['wplus']}, sys.argv[2])
PYEOF
if "$FACEEDIT" edit-latents --edit "method=transformer,editor=$LT/tnet_15.pth.tar" --latents "$T/lt_w.safetensors" \
    --alpha=-1,0.5,1 -o "$T/lt_e.safetensors" >/dev/null 2>"$T/lt.err" &&
  close "$T/lt_e.safetensors" latents "$LT/reference.safetensors" edit_alpha_m1 1e-5 "a[:, 0]" &&
  close "$T/lt_e.safetensors" latents "$LT/reference.safetensors" edit_alpha_0p5 1e-5 "a[:, 1]" &&
  close "$T/lt_e.safetensors" latents "$LT/reference.safetensors" edit_alpha_1 1e-5 "a[:, 2]"
then ok "edit-latents: official tnet"; else bad "edit-latents: $(tail -2 "$T/lt.err")"; fi
"$FACEEDIT" classify-latents --classifier "$LT/latent_classifier_epoch_20.pth" --latents "$T/lt_w.safetensors" -o "$T/logits.safetensors" >/dev/null 2>&1 &&
  close "$T/logits.safetensors" logits "$LT/reference.safetensors" cls_logits 1e-5 && ok "classify-latents" || bad "classify-latents"

# --- refusals: named file and tensor, nothing written ---
head -c 30000 "$ROS" >"$T/cut.pt"
refuse "truncated checkpoint" "cut.pt" "$T/cut_img" -- "$FACEEDIT" generate --model "$T/cut.pt" --seeds 0 --save-tensors "$T/cut_img.safetensors"
refuse "pfsf without a model" "give --model" "$T/pf" -- "$FACEEDIT" edit-latents --edit method=pfsf,attr=smiling --latents "$T/lt_w.safetensors" --alpha 1 -o "$T/pf.safetensors"
refuse "encoder of a rosinality file" "no E\|holds G_ema, G and D" "$T/bad_codes" -- "$FACEEDIT" encode --encoder "$ROS" --images "$T/x.safetensors" -o "$T/bad_codes.safetensors"
refuse "bad truncation mean" "not one W code" "$T/bad_t" -- "$FACEEDIT" generate --model "$ROS" --seeds 0 --truncation-mean "$T/wplus.safetensors" --save-tensors "$T/bad_t.safetensors"

# --- item 7: every editing method on the rosinality model, W and W+ (mechanics: random weights) ---
if "$FACEEDIT" sample --model "$ROS" --n 48 --classifier celebahq --batch 16 --shard-size 16 -o "$T/s" >/dev/null 2>"$T/s.err" &&
  "$FACEEDIT" boundary --samples "$T/s" --attr smiling --space w --ratio 0.25 --split 0.5 -o "$T/b.safetensors" >/dev/null 2>"$T/b.err"
then ok "rosinality: sample + boundary"; else bad "rosinality: sample/boundary: $(tail -2 "$T/s.err" "$T/b.err")"; fi
for space in w wplus; do
  "$FACEEDIT" edit --model "$ROS" --seeds 0-1 --boundary "$T/b.safetensors" --space $space --alpha=-2,2 -o "$T/ig_$space.png" >/dev/null 2>&1 &&
    [ -s "$T/ig_$space.png" ] && ok "rosinality: interfacegan $space" || bad "rosinality: interfacegan $space"
done
for space in w wplus; do
  lc=(--samples "$T/s"); [ $space = wplus ] && lc=(--lc-samples 100)  # sample directories hold z and w codes
  if "$FACEEDIT" train-editor --method transformer --model "$ROS" --attr smiling "${lc[@]}" --classifier celebahq --space $space \
      --lc-epochs 1 --steps 4 --batch 8 --heldout 4 -o "$T/tr_$space.safetensors" >/dev/null 2>"$T/tr.err" &&
    "$FACEEDIT" edit --model "$ROS" --method transformer --editor "$T/tr_$space.safetensors" --seeds 0-1 --alpha=-1,1 -o "$T/tr_$space.png" >/dev/null 2>&1
  then ok "rosinality: transformer $space"; else bad "rosinality: transformer $space: $(tail -2 "$T/tr.err")"; fi
done
if "$FACEEDIT" train-editor --method l2m --model "$ROS" --attr smiling --classifier celebahq --space w --steps 3 --batch 4 --heldout 4 \
    -o "$T/l2m.safetensors" >/dev/null 2>"$T/l2m.err" &&
  "$FACEEDIT" edit --model "$ROS" --method l2m --editor "$T/l2m.safetensors" --seeds 0-1 --alpha=-1,1 -o "$T/l2m.png" >/dev/null 2>&1
then ok "rosinality: l2m w"; else bad "rosinality: l2m: $(tail -2 "$T/l2m.err")"; fi
for space in w wplus; do
  "$FACEEDIT" edit --model "$ROS" --method pfsf --attr smiling --space $space --walk-steps 2 --seeds 0 --alpha 1 -o "$T/pf_$space.png" >/dev/null 2>"$T/pf.err" &&
    [ -s "$T/pf_$space.png" ] && ok "rosinality: pfsf walk $space" || bad "rosinality: pfsf $space: $(tail -2 "$T/pf.err")"
done

echo "test_formats.sh: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
