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
# TORCH_INCLUDES / TORCH_LIB override where LibTorch's headers and libraries are; CXX_STD the
# language standard (c++17; LibTorch 2.13 and later need c++20).
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
torch_dir=$("$python" -c 'import os, torch; print(os.path.dirname(torch.__file__))')
abi=$("$python" -c 'import torch; print(int(torch._C._GLIBCXX_USE_CXX11_ABI))')
includes=${TORCH_INCLUDES:-"$torch_dir/include $torch_dir/include/torch/csrc/api/include"}
lib=${TORCH_LIB:-$torch_dir/lib}
build=build-device
mkdir -p "$build"

flags=(-std="${CXX_STD:-c++17}" -O2 -fopenmp -D_GLIBCXX_USE_CXX11_ABI="$abi" -Iinclude -Itests/common -I"$deps/include"
       -I"$deps/googletest/include" -I"$deps/googletest"
       -DFACEEDIT_TOOLS_DIR="\"$PWD/tools\"" -DFACEEDIT_DEFAULT_SHARED="\"$deps/shared\"")
for d in $includes; do flags+=(-isystem "$d"); done
sources=(src/error.cpp src/runtime.cpp src/io/safetensors.cpp src/io/atomic_file.cpp src/nn/ops.cpp
         src/nn/fused_kernels.cpp src/models/generator.cpp src/models/numpy_random.cpp src/models/stylegan2.cpp
         src/models/dcgan.cpp src/models/weights.cpp src/models/model_files.cpp
         tests/common/test_support.cpp tests/models/test_stylegan2.cpp
         "$deps/googletest/src/gtest-all.cc" "$deps/googletest/src/gtest_main.cc")
echo "cuda_check: compiling ${#sources[@]} files against $lib"
printf '%s\n' "${sources[@]}" |
  xargs -P "$(nproc)" -I{} sh -c 'g++ "$@" -c {} -o '"$build"'/$(echo {} | tr / _).o' _ "${flags[@]}"

cuda_libs=()
for l in torch_cuda c10_cuda; do [ -e "$lib/lib$l.so" ] && cuda_libs+=(-l"$l"); done
# libstdc++ ahead of LibTorch: pip's libtorch.so exports its own copy of std::filesystem, whose
# remove_all jumped to address 0 at exit when it served our calls (torch 2.11, seen in cuda-gdb).
g++ "$build"/*.o -o "$build/test_stylegan2" -fopenmp -L"$lib" -Wl,-rpath,"$lib" \
  -Wl,--no-as-needed -lstdc++ "${cuda_libs[@]}" -Wl,--as-needed -ltorch -ltorch_cpu -lc10 -lpthread
FACEEDIT_SHARED="$deps/shared" FACEEDIT_PYTHON="$python" FACEEDIT_TOOLS="$PWD/tools" "$build/test_stylegan2"
