#!/usr/bin/env bash
# A before/after sheet of an L2M-GAN editor on celebahq-256-dev photos (faces neither the model nor
# the guide saw): per photo one row, the original, then `photo --flip` for each attribute.
#   scripts/l2mgan_photos.sh EDITOR OUT.jpg [PHOTOS="1 2 3 4 5 6"] [ATTRS="smiling male young eyeglasses mustache"] [STRENGTH=1]
set -euo pipefail
cd "$(dirname "$0")/.."
EDITOR="$1"
OUT="$2"
read -r -a PHOTOS <<<"${3:-1 2 3 4 5 6}"
read -r -a ATTRS <<<"${4:-smiling male young eyeglasses mustache}"
STRENGTH="${5:-1}"
SHARED="${FACEEDIT_SHARED:-../shared}"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
tar -xf "$SHARED/data/celebahq-256-dev.tar" -C "$WORK"
DEV=$(dirname "$(find "$WORK" -name '1.jpg' -print -quit)")
for p in "${PHOTOS[@]}"; do echo "$DEV/$p.jpg"; done >"$WORK/list.txt"
cells=()
for a in "${ATTRS[@]}"; do
  build/faceedit photo --batch "$WORK/list.txt" --method l2m-gan --editor "$EDITOR" --attr "$a" --flip \
    --strength "$STRENGTH" -o "$WORK/$a" >/dev/null
done
# The sheet (Debian's python3-pil, installed by scripts/setup.sh).
/usr/bin/python3 - "$WORK" "$DEV" "$OUT.tmp.jpg" "${PHOTOS[*]}" "${ATTRS[*]}" <<'PY'
import glob, sys
from PIL import Image
work, dev, out, photos, attrs = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4].split(), sys.argv[5].split()
size, gap = 192, 4
sheet = Image.new('RGB', ((1 + len(attrs)) * (size + gap) - gap, len(photos) * (size + gap) - gap), 'white')
for r, p in enumerate(photos):
    cells = [dev + '/' + p + '.jpg'] + [sorted(glob.glob(work + '/' + a + '/' + p + '*.jpg'))[0] for a in attrs]
    for c, f in enumerate(cells):
        sheet.paste(Image.open(f).convert('RGB').resize((size, size), Image.LANCZOS), (c * (size + gap), r * (size + gap)))
sheet.save(out, quality=90)
PY
mv "$OUT.tmp.jpg" "$OUT"
echo "wrote $OUT (rows: photos ${PHOTOS[*]}; columns: original, ${ATTRS[*]} flipped at strength $STRENGTH)"
