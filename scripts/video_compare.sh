#!/usr/bin/env bash
# Video editing measured like STIT on a real clip (default: ../shared/data/videos/FP006911MD02.mp4):
# the default pipeline for smiling and eyeglasses (PFSF walks decided on the first face), then one
# setting changed at a time: raw landmarks, cold (independent) inversions, fewer warm steps, one
# personalized generator, a walk per frame. Each run writes OUT/NAME.mp4, .side-by-side.mp4 and
# .json (per frame + summary); the table goes to OUT/table.md. Runs resume from the work directory.
#
#   scripts/video_compare.sh OUT_DIR [VIDEO]
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${1:?usage: scripts/video_compare.sh OUT_DIR [VIDEO]}"
VIDEO="${2:-${FACEEDIT_SHARED:-../shared}/data/videos/FP006911MD02.mp4}"
F=build/faceedit
mkdir -p "$OUT"
SMILE=(--method pfsf --attr smiling --threshold 0.9)
GLASSES=(--method pfsf --attr eyeglasses --threshold 0.5)
run() {  # NAME ARGS...
  local name=$1; shift
  [ -s "$OUT/$name.json" ] || { echo "video_compare: $name" >&2; $F video "$VIDEO" "$@" -o "$OUT/$name.mp4" >"$OUT/$name.out" 2>"$OUT/$name.err"; }
}
run smiling "${SMILE[@]}"
run eyeglasses "${GLASSES[@]}"
run smiling_24_raw_landmarks "${SMILE[@]}" --max-frames 24 --no-flow --landmark-sigma 0 --quad-sigma 0
run smiling_24_personalized "${SMILE[@]}" --max-frames 24 --personalize-frames 8
run smiling_24_warm40 "${SMILE[@]}" --max-frames 24
run smiling_24_warm10 "${SMILE[@]}" --max-frames 24 --warm-steps 10
run smiling_24_walk_each "${SMILE[@]}" --max-frames 24 --walk each
run smiling_6_cold "${SMILE[@]}" --max-frames 6 --cold
run smiling_6_warm40 "${SMILE[@]}" --max-frames 6
/usr/bin/python3 - "$OUT" <<'PY'
import json, sys, glob, os
out = sys.argv[1]
rows = ["| run | frames | TL-ID | TG-ID | flicker ratio | judged target | guide p before→after | identity to source | PSNR (dB) | s/frame inversion | background beyond codec (/255) | codec noise (/255) | s/frame total |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
for path in sorted(glob.glob(os.path.join(out, "*.json"))):
    d = json.load(open(path)); s = d["summary"]
    if "tl_id" not in s: continue
    attr = s["edits"][0]["attribute"]
    faces = [f for f in d["per_frame"] if f.get("face")]
    g0 = sum(f["guide"][attr][0] for f in faces) / len(faces); g1 = sum(f["guide"][attr][1] for f in faces) / len(faces)
    ids = sum(f["identity_to_source"] for f in faces) / len(faces)
    inv = s["inversion"]; per = inv["seconds_per_warm_frame"] if inv["warm_frames"] else inv["seconds_per_cold_frame"]
    rows.append(f"| {os.path.basename(path)[:-5]} | {s['frames']} | {s['tl_id']:.4f} | {s['tg_id']:.4f} | {s['flicker_ratio']:.3f} | {s['target_change']:.2f} "
                f"| {g0:.2f}→{g1:.2f} | {ids:.3f} | {inv['mean_psnr']:.2f} | {per:.1f} | {255*s['background_beyond_codec']:.4f} | {255*s['codec_mean_abs']:.3f} | {s['seconds']['per_frame']:.2f} |")
open(os.path.join(out, "table.md"), "w").write("\n".join(rows) + "\n")
print("\n".join(rows))
PY
# Stills: frames 0, 60 and 119 of the side-by-side videos (face region: original | edited), one row each.
for name in smiling eyeglasses; do
  [ -s "$OUT/$name.side-by-side.mp4" ] || continue
  for t in 0 60 119; do
    ffmpeg -v error -y -i "$OUT/$name.side-by-side.mp4" -vf "select=eq(n\,$t)" -vframes 1 "$OUT/still_${name}_$t.png" || true
  done
done
/usr/bin/python3 - "$OUT" <<'PY'
import glob, os, sys
from PIL import Image
out = sys.argv[1]; rows = []
for path in sorted(glob.glob(os.path.join(out, "still_*.png"))):
    im = Image.open(path); w, h = im.size; half = w // 2
    box = lambda x0: (x0 + half // 2 - h // 4, 0, x0 + half // 2 + h // 4, h // 2)  # the upper middle: the face
    row = Image.new("RGB", (h, h // 2)); row.paste(im.crop(box(0)), (0, 0)); row.paste(im.crop(box(half)), (h // 2, 0))
    rows.append(row.resize((512, 256)))
if rows:
    sheet = Image.new("RGB", (512, 256 * len(rows)))
    for i, r in enumerate(rows): sheet.paste(r, (0, 256 * i))
    sheet.save(os.path.join(out, "stills.jpg"), quality=90)
    print("video_compare: stills in", os.path.join(out, "stills.jpg"))
PY
