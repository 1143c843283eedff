# Sourced by the device scripts (tests/device/cuda_check.sh, scripts/device/train_gan.sh): builds
# faceedit sources into one executable against the LibTorch inside a machine's Python torch, for GPU
# machines that have a CUDA build of torch but none of the Debian packages the full build needs.
# TORCH_INCLUDES / TORCH_LIB override where LibTorch's headers and libraries are; CXX_STD the
# language standard (c++17; LibTorch 2.13 and later need c++20).
#
#   python_torch_build PYTHON BUILD_DIR BINARY EXTRA_FLAGS_ARRAY_NAME SOURCES...
python_torch_build() {
  local python=$1 build=$2 binary=$3
  local -n extra_flags=$4
  shift 4
  local torch_dir abi includes lib d l
  torch_dir=$("$python" -c 'import os, torch; print(os.path.dirname(torch.__file__))')
  abi=$("$python" -c 'import torch; print(int(torch._C._GLIBCXX_USE_CXX11_ABI))')
  includes=${TORCH_INCLUDES:-"$torch_dir/include $torch_dir/include/torch/csrc/api/include"}
  lib=${TORCH_LIB:-$torch_dir/lib}
  mkdir -p "$build"
  local flags=(-std="${CXX_STD:-c++17}" -O2 -fopenmp -D_GLIBCXX_USE_CXX11_ABI="$abi" -Iinclude "${extra_flags[@]}")
  for d in $includes; do flags+=(-isystem "$d"); done
  echo "$(basename "$binary"): compiling $# files against $lib"
  printf '%s\n' "$@" |
    xargs -P "$(nproc)" -I{} sh -c 'g++ "$@" -c {} -o '"$build"'/$(echo {} | tr / _).o' _ "${flags[@]}"
  local cuda_libs=()
  for l in torch_cuda c10_cuda; do [ -e "$lib/lib$l.so" ] && cuda_libs+=(-l"$l"); done
  # libstdc++ ahead of LibTorch: pip's libtorch.so exports its own copy of std::filesystem, whose
  # remove_all jumped to address 0 at exit when it served our calls (torch 2.11, seen in cuda-gdb).
  g++ "$build"/*.o -o "$build/$binary" -fopenmp -L"$lib" -Wl,-rpath,"$lib" \
    -Wl,--no-as-needed -lstdc++ "${cuda_libs[@]}" -Wl,--as-needed -ltorch -ltorch_cpu -lc10 -lpthread
}
