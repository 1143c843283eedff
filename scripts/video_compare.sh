#!/usr/bin/env bash
# Video editing measured like STIT on a real clip (default: ../shared/data/videos/FP006911MD02.mp4):
# the default pipeline for smiling and eyeglasses (PFSF walks decided on the first face), then one
# setting changed at a time: raw landmarks, cold (independent) inversions, fewer warm steps, one
# personalised generator, a walk per frame. Each run writes OUT/NAME.mp4, .side-by-side.mp4 and
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
run smiling_24_personalised "${SMILE[@]}" --max-frames 24 --personalize-frames 8
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
