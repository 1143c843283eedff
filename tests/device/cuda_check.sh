#!/usr/bin/env bash
# The StyleGAN2 tests on a GPU (tests/models/test_stylegan2.cpp: the official tiny32 outputs and
# autograd vs finite differences, on CUDA), for a machine that has a CUDA build of Python's torch but
# none of the Debian packages the full build needs. CI has no GPU: there these tests skip.
#
#   tests/device/cuda_check.sh pack DIR   # on a Debian dev machine: GoogleTest sources, nlohmann
#                                         # headers and the shared tiny32 fixture into DIR
#   tests/device/cuda_check.sh run DIR    # on the GPU machine: build test_stylegan2 against the
#                                         # LibTorch inside Python's torch, then run it
#
# TORCH_INCLUDES / TORCH_LIB / CXX_STD: see tests/device/python_torch_build.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
mode=${1:?usage: cuda_check.sh pack|run DIR}
deps=$(realpath -m "${2:?usage: cuda_check.sh pack|run DIR}")

if [ "$mode" = pack ]; then
  shared=${FACEEDIT_SHARED:-../shared}
  mkdir -p "$deps/include" "$deps/shared/fixtures/stylegan2-ada"
  cp -r /usr/include/nlohmann "$deps/include/"
  cp -r /usr/src/googletest/googletest "$deps/googletest"
  cp "$shared"/fixtures/stylegan2-ada/tiny32{.pkl,-reference.safetensors} "$deps/shared/fixtures/stylegan2-ada/"
  du -sh "$deps"
  exit 0
fi

python=${FACEEDIT_PYTHON:-python3}
extra=(-Itests/common -I"$deps/include" -I"$deps/googletest/include" -I"$deps/googletest"
       -DFACEEDIT_TOOLS_DIR="\"$PWD/tools\"" -DFACEEDIT_DEFAULT_SHARED="\"$deps/shared\"")
build=build-device
. tests/device/python_torch_build.sh
python_torch_build "$python" "$build" test_stylegan2 extra \
  src/core/error.cpp src/core/runtime.cpp src/io/safetensors.cpp src/io/atomic_file.cpp src/nn/ops.cpp \
  src/nn/fused_kernels.cpp src/models/generator.cpp src/models/numpy_random.cpp src/models/stylegan2.cpp \
  src/models/dcgan.cpp src/models/weights.cpp src/models/model_files.cpp \
  tests/common/test_support.cpp tests/models/test_stylegan2.cpp \
  "$deps/googletest/src/gtest-all.cc" "$deps/googletest/src/gtest_main.cc"
FACEEDIT_SHARED="$deps/shared" FACEEDIT_PYTHON="$python" FACEEDIT_TOOLS="$PWD/tools" "$build/test_stylegan2"
