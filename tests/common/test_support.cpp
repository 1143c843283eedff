#include "test_support.h"

#include "faceedit/faceedit.h"  // the umbrella header compiles on its own

#include <unistd.h>

#include <cstdlib>
#include <map>

#include "faceedit/error.h"
#include "faceedit/models/model_files.h"
#include "faceedit/runtime.h"

namespace faceedit::test {

namespace fs = std::filesystem;

std::string shared_file(const std::string& relative) {
  const fs::path p = shared_root() / relative;
  return fs::exists(p) ? p.string() : std::string();
}

bool shared_required() {
  const char* v = std::getenv("FACEEDIT_REQUIRE_SHARED");
  return v != nullptr && std::string(v) == "1";
}

namespace {
struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() / ("faceedit-test-" + std::to_string(::getpid()));
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};
}  // namespace

fs::path temp_dir() {
  static TempDir dir;
  return dir.path;
}

std::string converted(const std::string& relative_source, const std::string& network) {
  static std::map<std::string, std::string> cache;
  const std::string key = relative_source + "#" + network;
  auto it = cache.find(key);
  if (it != cache.end()) return it->second;
  const std::string source = shared_file(relative_source);
  if (source.empty()) return "";
  const fs::path out = temp_dir() / (fs::path(source).stem().string() + "-" + network + ".safetensors");
  models::convert_checkpoint(source, out.string(), network);
  return cache[key] = out.string();
}

models::StyleGAN2Config small_stylegan2_config() {
  models::StyleGAN2Config c;
  c.z_dim = 8;
  c.w_dim = 8;
  c.img_resolution = 16;
  c.mapping_layers = 2;
  c.channel_base = 64;
  c.channel_max = 8;
  c.conv_clamp = 256;
  return c;
}

double relative_max_error(const torch::Tensor& a, const torch::Tensor& b) {
  const double scale = b.abs().max().item<double>();
  return (a.to(torch::kFloat64) - b.to(torch::kFloat64)).abs().max().item<double>() / std::max(scale, 1e-30);
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

int run_command(const std::string& command) {
  const int status = std::system(command.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

const face::FaceDetector& face_detector() {
  static const face::FaceDetector d;
  return d;
}

}  // namespace faceedit::test
