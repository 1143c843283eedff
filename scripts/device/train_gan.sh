#!/usr/bin/env bash
# Train our StyleGAN2 on a lent GPU machine (issue 19), which has a CUDA build of Python's torch but
# none of the Debian packages the full build needs, and nothing but what is carried (64 MiB):
#
#   scripts/device/train_gan.sh pack DIR        # here: CelebA-HQ JPEGs (the first 50 MiB of them),
#                                               # nlohmann headers -> DIR (an ignored path to carry)
#   scripts/device/train_gan.sh build DIR       # there: decode the JPEGs (PIL, cv2 or torchvision),
#                                               # build the trainer against Python's LibTorch (~3 min)
#   scripts/device/train_gan.sh train DIR MIN   # there: train for MIN minutes; G_ema and its
#                                               # snapshots go to $OUT (fp16)
#   scripts/device/train_gan.sh run DIR MIN     # build + train in one call
#
# A device command may run 10 minutes: call build, then train (MIN <= 8) at once after it, so the
# machine is still warm and keeps build-device-gan/. Then here: `faceedit evaluate-gan
# $files_at/g-ema.safetensors dcgan-celeba32` and the grids (`faceedit generate --model ...`).
# TRAIN_ARGS adds key=value settings of scripts/device/train_gan_main.cpp (resolution=64 ...);
# TORCH_INCLUDES / TORCH_LIB / CXX_STD: see tests/device/python_torch_build.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
usage="usage: train_gan.sh pack|build DIR | train|run DIR MINUTES"
mode=${1:?$usage}
deps=$(realpath -m "${2:?$usage}")

if [ "$mode" = pack ]; then
  shared=${FACEEDIT_SHARED:-../shared}
  mkdir -p "$deps/include"
  cp -r /usr/include/nlohmann "$deps/include/"
  # The archive is 70 MB; members in id order until 50 MiB, so the carry (with the tree) stays under 64 MiB.
  /usr/bin/python3 - "$shared/data/celebahq-64.tar" "$deps/faces.tar" <<'PY'
import sys, tarfile
src, dst = sys.argv[1], sys.argv[2]
budget, used, n = 50 << 20, 0, 0
with tarfile.open(src) as t, tarfile.open(dst + '.tmp', 'w') as out:
    members = sorted((m for m in t.getmembers() if m.isfile() and m.name.endswith('.jpg')),
                     key=lambda m: int(m.name.rsplit('/', 1)[-1][:-4]))
    for m in members:
        cost = 512 + (m.size + 511) // 512 * 512
        if used + cost > budget:
            break
        out.addfile(m, t.extractfile(m))
        used += cost
        n += 1
import os
os.replace(dst + '.tmp', dst)
print(f'packed {n} of {len(members)} faces, {used / 2**20:.1f} MiB')
PY
  du -sh "$deps"
  exit 0
fi

case "$mode" in build | train | run) ;; *) echo "$usage" >&2; exit 2 ;; esac
python=${FACEEDIT_PYTHON:-python3}
build=build-device-gan
mkdir -p "$build"
if [ "$mode" != train ]; then

# 1. JPEGs -> uint8 [N, 3, 64, 64] in a safetensors file, with whichever decoder the machine has.
"$python" - "$deps/faces.tar" "$build/faces.safetensors" <<'PY'
import io, json, struct, sys, tarfile
import numpy as np
def decoder():
    try:
        from PIL import Image
        return lambda b: np.asarray(Image.open(io.BytesIO(b)).convert('RGB'))
    except ImportError:
        pass
    try:
        import cv2
        return lambda b: cv2.cvtColor(cv2.imdecode(np.frombuffer(b, np.uint8), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    except ImportError:
        pass
    import torch, torchvision.io as tio
    return lambda b: tio.decode_jpeg(torch.frombuffer(bytearray(b), dtype=torch.uint8)).permute(1, 2, 0).numpy()
decode = decoder()
with tarfile.open(sys.argv[1]) as t:
    faces = [decode(t.extractfile(m).read()) for m in t.getmembers() if m.isfile()]
x = np.ascontiguousarray(np.stack(faces).transpose(0, 3, 1, 2))
header = json.dumps({'images': {'dtype': 'U8', 'shape': list(x.shape), 'data_offsets': [0, x.nbytes]}}).encode()
header += b' ' * (-len(header) % 8)
with open(sys.argv[2], 'wb') as f:
    f.write(struct.pack('<Q', len(header)) + header)
    f.write(x.tobytes())
print(f'decoded {x.shape[0]} faces {x.shape[2]}x{x.shape[3]}')
PY

# 2. The trainer against the LibTorch inside Python's torch.
extra=(-I"$deps/include" -DFACEEDIT_TOOLS_DIR="\"$PWD/tools\"" -DFACEEDIT_DEFAULT_SHARED="\"$deps\"")
. tests/device/python_torch_build.sh
python_torch_build "$python" "$build" train_gan_main extra \
  src/core/error.cpp src/core/runtime.cpp src/core/distributed.cpp src/core/progress.cpp src/io/safetensors.cpp src/io/atomic_file.cpp \
  src/io/json_checks.cpp src/io/json_file.cpp src/nn/ops.cpp src/nn/fused_kernels.cpp src/nn/filtered_lrelu.cpp src/models/generator.cpp \
  src/models/numpy_random.cpp src/models/stylegan2.cpp src/models/stylegan3.cpp src/models/stylegan2_discriminator.cpp src/models/dcgan.cpp \
  src/models/weights.cpp src/models/model_files.cpp src/train/checkpoint.cpp src/train/gan/gan_augment.cpp \
  src/train/gan/gan_loss.cpp src/train/gan/train_gan.cpp scripts/device/train_gan_main.cpp

fi
[ "$mode" = build ] && exit 0

# 3. Train, time-boxed; progress to $OUT/train.log as well.
minutes=${3:?$usage}
out=${OUT:-$deps/out}
mkdir -p "$out"
[ -x "$build/train_gan_main" ] || { echo "no $build/train_gan_main: run 'train_gan.sh build DIR' first" >&2; exit 1; }
# shellcheck disable=SC2086
"$build/train_gan_main" "$build/faces.safetensors" "$out" "$minutes" ${TRAIN_ARGS:-} 2>&1 | tee "$out/train.log"
ls -la "$out" "$out/snapshots"
