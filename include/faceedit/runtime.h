// faceedit — process-wide settings: threads, where models and data live, the Python converters.
#pragma once

#include <filesystem>
#include <string>

namespace faceedit {

// Sets LibTorch's intra-op thread count. n <= 0 means "all cores" (under MPI: the node's cores
// divided among its ranks): Debian's LibTorch otherwise starts with a single thread on small
// machines, which halves throughput on 2 cores. Also keeps OpenBLAS to one thread of its own (see
// runtime.cpp: faster beside LibTorch's threads, and the same results in every process layout).
void set_threads(int n = 0);
int threads();

// CUDA convolutions and matmuls in TF32 (allow = true; Ampere and later GPUs, faster, ~6e-4
// relative error on the tiny32 fixture) or in IEEE fp32 (false: what the CPU and the reference outputs compute; the CLI's
// default). Process-wide, not thread-safe against running work; no effect on the CPU.
void set_cuda_tf32(bool allow);

// Root of models and data: $FACEEDIT_SHARED if set, else ../shared beside the source tree.
std::filesystem::path shared_root();

// Directory for converted models: $FACEEDIT_CACHE, else $XDG_CACHE_HOME/faceedit, else ~/.cache/faceedit.
std::filesystem::path cache_dir();

// Directory holding the Python converters (tools/): $FACEEDIT_TOOLS, else the source tree's tools/.
std::filesystem::path tools_dir();

// Python interpreter with Debian's python3-torch: $FACEEDIT_PYTHON, else /usr/bin/python3 when it
// exists (a pyenv python3 on PATH lacks Debian's packages), else python3.
std::string python_interpreter();

}  // namespace faceedit
