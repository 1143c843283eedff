#!/usr/bin/env bash
# The main job: sets up faceedit, then generates faces with the default model (the pretrained
# CelebA DCGAN) into out/demo/. Models are looked up under $FACEEDIT_SHARED (default ../shared).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
mkdir -p out/demo
build/faceedit info dcgan-celeba32
build/faceedit generate --model dcgan-celeba32 --seeds 0-63 --cols 16 -o out/demo/faces.png
echo "demo: open out/demo/faces.png (64 faces; their latents are in out/demo/faces.latents.safetensors)"
