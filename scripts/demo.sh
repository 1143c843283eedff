#!/usr/bin/env bash
# The main job: sets up faceedit, then edits faces with the default model (the pretrained CelebA
# DCGAN) by InterFaceGAN, end to end, into out/demo/:
#   1. trains our smile classifier on SMILEsmileD (once; cached in $FACEEDIT_CACHE/classifiers),
#   2. samples 20,000 faces and scores them, 3. trains the smile boundary (liblinear SVM),
#   4. edits 8 faces at 7 strengths (smile_sweep.png), 5. evaluates 200 held-out faces with the
#   pretrained judges and writes report.html, 6. edits a real CelebA-HQ photo with PFSF (invert,
#   personalise, walk, fuse) and with the InterFaceGAN boundary: photo_pfsf.jpg, photo_interfacegan.jpg
#   and their before/after strips.
# Models and data are looked up under $FACEEDIT_SHARED (default ../shared).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
mkdir -p out/demo
F=build/faceedit
CACHE="${FACEEDIT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/faceedit}"
SMILES="$CACHE/classifiers/smiles.safetensors"
if [ ! -f "$SMILES" ]; then
  echo "demo: training the smile classifier (about 5 minutes on 2 cores; once)"
  mkdir -p "$(dirname "$SMILES")"
  $F train-classifier --data smiles -o "$SMILES" >out/demo/smiles-classifier.json
fi
$F generate --model dcgan-celeba32 --seeds 0-63 --cols 16 -o out/demo/faces.png
$F sample --model dcgan-celeba32 --classifier smiles --n 20000 -o out/demo/samples >out/demo/samples.json
$F boundary --samples out/demo/samples --attr smiling --space z -o out/demo/smiling.safetensors >out/demo/boundary.json
$F edit --model dcgan-celeba32 --seeds 0-7 --boundary out/demo/smiling.safetensors --alpha -3:3:7 -o out/demo/smile_sweep.png >/dev/null
$F evaluate --model dcgan-celeba32 --boundary out/demo/smiling.safetensors --n 200 --alpha 0:3:4 -o out/demo/eval_smiling.json >/dev/null
$F report out/demo/eval_smiling.json --title "faceedit demo: InterFaceGAN smile on the CelebA DCGAN" -o out/demo/report.html
PHOTO="${FACEEDIT_SHARED:-../shared}/data/celebahq-photos/000004.jpg"
$F photo "$PHOTO" --attr smiling --flip --classifier smiles --keep-intermediates out/demo/photo_pfsf -o out/demo/photo_pfsf.jpg >out/demo/photo_pfsf.jsonl
$F photo "$PHOTO" --attr smiling --flip --method interfacegan --boundary out/demo/smiling.safetensors --strength 2 \
  --keep-intermediates out/demo/photo_interfacegan -o out/demo/photo_interfacegan.jpg >out/demo/photo_interfacegan.jsonl
echo "demo: photo edits in out/demo/photo_*.jpg (before/after strips: out/demo/photo_*/before_after.jpg)"
echo "demo: open out/demo/smile_sweep.png (rows: faces; columns: less -> more smile) and out/demo/report.html"
