#include "faceedit/runtime.h"
#include "faceedit/distributed.h"

#include <torch/torch.h>

#include <dlfcn.h>

#include <cstdlib>
#include <thread>

namespace faceedit {

namespace fs = std::filesystem;

static const char* env(const char* name) {
  const char* v = std::getenv(name);
  return (v && *v) ? v : nullptr;
}

// OpenBLAS keeps its own pool of one thread per core it may run on, beside LibTorch's OpenMP
// workers: that only oversubscribes the cores (measured: sampling 1.56x faster with one BLAS
// thread), and its sums depend on its thread count, which mpirun changes by binding a rank to one
// core: a rank's scores differed from one process's in the 7th digit. One BLAS thread everywhere:
// faster, and the same bits whatever the process layout (distributed.h).
static void single_threaded_blas() {
  using SetThreads = void (*)(int);
  if (auto f = reinterpret_cast<SetThreads>(::dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) f(1);
}

void set_threads(int n) {
  single_threaded_blas();
  // Several MPI ranks on one node share its cores rather than each oversubscribing all of them.
  if (n <= 0) n = cores_per_local_rank();
  if (n <= 0) n = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  torch::set_num_threads(n);
}

int threads() { return torch::get_num_threads(); }

void set_cuda_tf32(bool allow) {
  at::globalContext().setAllowTF32CuDNN(allow);
  at::globalContext().setAllowTF32CuBLAS(allow);
}

fs::path shared_root() {
  if (const char* v = env("FACEEDIT_SHARED")) return fs::path(v);
  return fs::path(FACEEDIT_DEFAULT_SHARED).lexically_normal();
}

fs::path cache_dir() {
  if (const char* v = env("FACEEDIT_CACHE")) return fs::path(v);
  if (const char* v = env("XDG_CACHE_HOME")) return fs::path(v) / "faceedit";
  if (const char* v = env("HOME")) return fs::path(v) / ".cache" / "faceedit";
  return fs::temp_directory_path() / "faceedit-cache";
}

fs::path tools_dir() {
  if (const char* v = env("FACEEDIT_TOOLS")) return fs::path(v);
  return fs::path(FACEEDIT_TOOLS_DIR);
}

std::string python_interpreter() {
  if (const char* v = env("FACEEDIT_PYTHON")) return v;
  if (fs::exists("/usr/bin/python3")) return "/usr/bin/python3";
  return "python3";
}

}  // namespace faceedit
