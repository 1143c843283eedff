#!/usr/bin/env bash
# celebahq-256-dev photos (faces neither of our classifiers saw) edited with `photo --flip` by every
# method and judged with `evaluate-images --align`: the photo half of scripts/compare.sh's report.
# Resumable and incremental: each round adds STEP photos to every method (`photo --batch` keeps the
# photos it finished; the methods share each photo's inversion through the photo cache), so the
# methods always have equal counts and an interrupted run loses at most one photo per method.
#   scripts/dev_photos.sh [OUT=out/dev_photos] [N=100] [ATTR=smiling] [STEP=10]
# Needs the editors of scripts/compare.sh in $COMPARE (default out/compare): ifg_ATTR,
# transformer_ATTR, l2m_ATTR (.safetensors); METHODS="... l2mgan" adds L2M-GAN (L2MGAN=FILE, default the shipped model). Writes OUT/eval_METHOD.json (+ .png) and OUT/report.html.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${1:-out/dev_photos}"
N="${2:-100}"
A="${3:-smiling}"
STEP="${4:-10}"
C="${COMPARE:-out/compare}"
F=build/faceedit
SHARED="${FACEEDIT_SHARED:-../shared}"
PY=/usr/bin/python3
mkdir -p "$OUT"
if [ ! -d "$OUT/dev" ]; then
  mkdir -p "$OUT/dev.tmp"
  tar -xf "$SHARED/data/celebahq-256-dev.tar" -C "$OUT/dev.tmp"
  mv "$OUT/dev.tmp" "$OUT/dev"
fi
DEV=$(dirname "$(find "$OUT/dev" -name '1.jpg' -print -quit)")
args_for() {
  case "$1" in
    interfacegan) echo "--method interfacegan --boundary $C/ifg_$A.safetensors --strength 2" ;;
    transformer) echo "--method transformer --editor $C/transformer_$A.safetensors" ;;
    l2m) echo "--method l2m --editor $C/l2m_$A.safetensors" ;;
    pfsf) echo "--method pfsf" ;;
    l2mgan) echo "--method l2m-gan --editor ${L2MGAN:-models/l2mgan-celebahq64.safetensors}" ;;
  esac
}
read -r -a METHODS <<<"${METHODS:-interfacegan transformer l2m pfsf}"  # METHODS="l2mgan" L2MGAN=FILE: the end-to-end editor
for ((n = STEP; n <= N; n += STEP)); do
  find "$DEV" -name '*.jpg' | sort -V | sed -n "1,${n}p" | sed "s|^\([^/]\)|$PWD/\1|" >"$OUT/list.txt"
  for m in "${METHODS[@]}"; do
    # shellcheck disable=SC2046
    nice -n 5 $F photo --batch "$OUT/list.txt" --flip --attr "$A" $(args_for "$m") -o "$OUT/$m" >>"$OUT/$m.log" 2>>"$OUT/$m.err"
  done
  echo "$(date +%T) $n photos done by every method" | tee -a "$OUT/progress.txt"
done
for m in "${METHODS[@]}"; do
  # The photos the method edited (a face not found is recorded in batch.json and left out).
  mapfile -t pairs < <($PY -c "
import json, sys
b = json.load(open('$OUT/$m/batch.json'))
for r in b['photos']:
    if 'error' not in r: print(r['photo']); print('$OUT/$m/' + r['output'])")
  originals=() edited=()
  for ((i = 0; i < ${#pairs[@]}; i += 2)); do originals+=("${pairs[i]}"); edited+=("${pairs[i + 1]}"); done
  $F evaluate-images --original "${originals[@]}" --edited "${edited[@]}" --attr "$A" --align \
    --label "$m (dev photos)" -o "$OUT/eval_$m.json" >/dev/null
done
$F report "$OUT"/eval_*.json --title "faceedit: $A on celebahq-256-dev photos" -o "$OUT/report.html"
