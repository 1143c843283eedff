#!/bin/bash
# How many labelled photos `fit-attribute` needs (issue 31 item 5; docs/fit.md): for ATTRS treated
# as unknown to the guide, learn each from N photos per side of celebahq-256-dev (labels from its
# attributes.txt; the first N of each side by image id) into a copy of PACK, and judge the target
# change at strength 1 with celebahq-judge on 200 held-out faces, beside the pack's own
# (guide-trained) InterFaceGAN editor.
#   scripts/measure_fit_attribute.sh PACK WORKDIR [STEPS] [STARTS]
# SCORER=head (default: a head on the guide's features) or latents (the photos inverted with STEPS
# and STARTS). WORKDIR gets the extracted photos, the latents cache (shared by every run), the packs
# and results.tsv. Photos whose face is not found are dropped (the next by id takes their place).
set -euo pipefail
PACK=$(realpath "$1"); WORK=$(realpath -m "$2"); STEPS=${3:-300}; STARTS=${4:-4}
FE=${FE:-build/faceedit}
ATTRS=${ATTRS:-"bangs blond_hair"}; COUNTS=${COUNTS:-"10 25 50 100"}; SCORER=${SCORER:-head}
TAR=${FACEEDIT_SHARED:-../shared}/data/celebahq-256-dev.tar
mkdir -p "$WORK"
[ -d "$WORK/celebahq-256-dev" ] || tar xf "$TAR" -C "$WORK"
# Candidate lists per attribute and side (ids ascending).
/usr/bin/python3 - "$WORK" $ATTRS <<'PY'
import os, sys
work, attrs = sys.argv[1], sys.argv[2:]
lines = open(f"{work}/celebahq-256-dev/attributes.txt").read().split("\n")
names = [n.lower() for n in lines[1].split()]
rows = sorted((l.split() for l in lines[2:] if l.strip()), key=lambda r: int(r[0].split(".")[0]))
for a in attrs:
    c = names.index(a)
    for side, v in (("pos", "1"), ("neg", "-1")):
        with open(f"{work}/{a}.{side}.txt", "w") as f:
            f.writelines(f"{work}/celebahq-256-dev/{r[0]}\n" for r in rows if r[1 + c] == v)
PY
touch "$WORK/rejected.txt"
select_photos() {  # attr side n dir: the first n candidates not rejected
  rm -rf "$4"; mkdir -p "$4"
  # awk reads its whole input (head would stop early and fail the pipe under pipefail)
  grep -vxF -f "$WORK/rejected.txt" "$WORK/$1.$2.txt" | awk -v n="$3" 'NR <= n' | while read -r f; do
    ln -s "$f" "$4/$(printf %04d "$(basename "$f" .jpg)").jpg"; done
}
judge() {  # pack attr -> target change at strength 1
  "$FE" evaluate --pack "$1" --attr "$2" --method interfacegan --n 200 --alpha 1 --judge celebahq-judge -o "$WORK/ev.json" >/dev/null
  /usr/bin/python3 -c "import json; print(json.load(open('$WORK/ev.json'))['metrics'][0]['target_change_rate'])"
}
[ -f "$WORK/results.tsv" ] || printf "attribute\tscorer\tphotos_per_side\ttarget_change_at_1\tscale\tphotos_held_out_accuracy\tcos_with_guide_boundary\tseconds\n" > "$WORK/results.tsv"
for a in $ATTRS; do
  printf "%s\tguide\t-\t%s\n" "$a" "$(judge "$PACK" "$a")" >> "$WORK/results.tsv"
  for n in $COUNTS; do
    P="$WORK/packs/$a-$n"; rm -rf "$P"; mkdir -p "$P"
    cp "$PACK/pack.json" "$P/"
    for d in "$PACK"/*/; do ln -s "$d" "$P/$(basename "$d")"; done
    rm -f "$P/fit-attribute"
    while true; do
      select_photos "$a" pos "$n" "$WORK/photos/$a-$n/pos"; select_photos "$a" neg "$n" "$WORK/photos/$a-$n/neg"
      if out=$("$FE" fit-attribute --pack "$P" --name "$a" --replace --positive "$WORK/photos/$a-$n/pos" \
                 --negative "$WORK/photos/$a-$n/neg" --scorer "$SCORER" --inversion-steps "$STEPS" --starts "$STARTS" \
                 --latents-cache "$WORK/latents" -q 2>"$WORK/err.txt"); then break; fi
      bad=$(grep -o "[^ ]*\.jpg: [0-9a-z ]*fac[e]*s* found" "$WORK/err.txt" | head -1 | sed 's/: .*//') || true
      [ -n "$bad" ] || { cat "$WORK/err.txt"; exit 1; }
      echo "no single face: $bad (dropped)" >&2
      readlink -f "$bad" >> "$WORK/rejected.txt"
    done
    stats=$(/usr/bin/python3 - "$out" "$P" "$PACK" "$a" <<'PY'
import json, struct, sys
import numpy as np
out, learned_pack, guide_pack, attr = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
def normal(path):  # a boundary .safetensors: tensor "normal" [1, dim] float32
    raw = open(path, "rb").read(); n = struct.unpack("<Q", raw[:8])[0]; h = json.loads(raw[8:8 + n])
    a, b = h["normal"]["data_offsets"]; return np.frombuffer(raw[8 + n + a:8 + n + b], dtype=np.float32)
def file_of(pack):
    j = json.load(open(f"{pack}/pack.json"))
    return [f"{pack}/{e['file']}" for e in j["editors"] if e["attribute"] == attr and e["method"] == "interfacegan"][0]
cos = float(normal(file_of(learned_pack)) @ normal(file_of(guide_pack)))
s = out['scorer']; acc = (s.get('head') or s.get('svm'))['held_out_accuracy_at_split_0.7']
print(f"{out['calibration']['scale']:.3f}\t{acc:.3f}\t{cos:.3f}\t{out['seconds']:.0f}")
PY
)
    printf "%s\t%s\t%s\t%s\t%s\n" "$a" "$SCORER" "$n" "$(judge "$P" "$a")" "$stats" >> "$WORK/results.tsv"
    tail -1 "$WORK/results.tsv"
  done
done
