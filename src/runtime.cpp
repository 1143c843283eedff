#include "faceedit/runtime.h"

#include <torch/torch.h>

#include <cstdlib>
#include <thread>

namespace faceedit {

namespace fs = std::filesystem;

static const char* env(const char* name) {
  const char* v = std::getenv(name);
  return (v && *v) ? v : nullptr;
}

void set_threads(int n) {
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
