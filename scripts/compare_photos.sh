#!/usr/bin/env bash
# Real photos: PFSF against InterFaceGAN and the learned editors on the CelebA-HQ photos in
# $FACEEDIT_SHARED/data/celebahq-photos, with the CelebA DCGAN. Each photo is edited towards the
# other side of its attribute (`photo --flip`), judged on its FFHQ crop before and after
# (`evaluate-images --align`), with the mean time per stage.
#
#   scripts/compare_photos.sh COMPARE_DIR [ATTR]     (COMPARE_DIR from scripts/compare.sh: boundaries, editors)
#
# Settings (environment): PHOTO_DIR (default $FACEEDIT_SHARED/data/celebahq-photos; e.g. a directory of
# celebahq-256-dev's JPEGs: `tar -xf celebahq-256-dev.tar -C DIR`), PHOTOS (default 40), METHODS
# (default "interfacegan transformer l2m pfsf": the first method's inversion is cached for the others),
# PHOTO_ARGS (extra `photo` options, e.g. "--inversion-steps 150 --starts 2"). Finished photos are
# skipped, so an interrupted run continues.
set -euo pipefail
cd "$(dirname "$0")/.."
DIR="${1:?usage: scripts/compare_photos.sh COMPARE_DIR [ATTR]}"
ATTR="${2:-smiling}"
PHOTOS="${PHOTOS:-40}"
METHODS="${METHODS:-interfacegan transformer l2m pfsf}"
SHARED="${FACEEDIT_SHARED:-../shared}"
PHOTO_DIR="${PHOTO_DIR:-$SHARED/data/celebahq-photos}"
F=build/faceedit
OUT="$DIR/photos_$ATTR"
mkdir -p "$OUT"
mapfile -t inputs < <(find "$PHOTO_DIR" -name '*.jpg' | sort -V | head -n "$PHOTOS")

method_args() {
  case "$1" in
    pfsf) echo "--method pfsf" ;;
    interfacegan) echo "--method interfacegan --boundary $DIR/ifg_$ATTR.safetensors --strength 2" ;;
    transformer) echo "--method transformer --editor $DIR/transformer_$ATTR.safetensors" ;;
    l2m) echo "--method l2m --editor $DIR/l2m_$ATTR.safetensors" ;;
  esac
}

for m in $METHODS; do
  mkdir -p "$OUT/$m"
  originals=() edited=()
  for photo in "${inputs[@]}"; do
    id=$(basename "$photo" .jpg)
    if [ ! -s "$OUT/$m/$id.jpg" ]; then
      echo "compare_photos: $m $id" >&2
      # shellcheck disable=SC2046,SC2086
      if ! $F photo "$photo" --attr "$ATTR" --flip $(method_args "$m") ${PHOTO_ARGS:-} \
          -o "$OUT/$m/$id.jpg" >"$OUT/$m/$id.jsonl" 2>"$OUT/$m/$id.err"; then
        echo "compare_photos: $m $id failed: $(tail -1 "$OUT/$m/$id.err")" >&2
        continue
      fi
    fi
    originals+=("$photo")
    edited+=("$OUT/$m/$id.jpg")
  done
  [ ${#originals[@]} -gt 0 ] || continue
  for id in "${edited[@]}"; do tail -n 1 "${id%.jpg}.jsonl"; done >"$OUT/$m/summaries.jsonl"
  $F evaluate-images --align --attr "$ATTR" --label "$m (photos)" --original "${originals[@]}" --edited "${edited[@]}" \
    --timings "$OUT/$m/summaries.jsonl" -o "$OUT/eval_photos_$m.json" >/dev/null
done
echo "compare_photos: results in $OUT/eval_photos_*.json (add them to \`faceedit report\`)" >&2
