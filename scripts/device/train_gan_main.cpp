// The trainer for a lent GPU machine (scripts/device/train_gan.sh): train::train_gan on packed
// images, time-boxed, with nothing but LibTorch (no OpenCV, CLI11 or dlib there). G_ema snapshots
// and the final G_ema are written in float16 to OUT_DIR, the files that come back.
//
//   train_gan_main DATA.safetensors OUT_DIR MINUTES [key=value ...]
//   keys: resolution channel_base channel_max w_dim batch seed snapshot_kimg kimg
#include <filesystem>
#include <iostream>
#include <map>

#include "faceedit/error.h"
#include "faceedit/progress.h"
#include "faceedit/runtime.h"
#include "faceedit/train/gan/train_gan.h"

namespace fs = std::filesystem;
using namespace faceedit;

int main(int argc, char** argv) try {
  if (argc < 4) {
    std::cerr << "usage: train_gan_main DATA.safetensors OUT_DIR MINUTES [key=value ...]\n";
    return 2;
  }
  std::map<std::string, double> kv = {{"resolution", 64}, {"channel_base", 8192}, {"channel_max", 256}, {"w_dim", 256},
                                      {"batch", 64},      {"seed", 0},             {"snapshot_kimg", 200}, {"kimg", 100000}};
  for (int i = 4; i < argc; ++i) {
    const std::string a = argv[i];
    const auto eq = a.find('=');
    if (eq == std::string::npos || !kv.count(a.substr(0, eq))) fail(a, "expected key=value with a known key");
    kv[a.substr(0, eq)] = std::stod(a.substr(eq + 1));
  }
  set_threads(0);
  const bool cuda = torch::cuda::is_available();
  set_cuda_tf32(true);  // TF32 matmuls and convolutions: what NVIDIA's trainer allows too
  auto as_int = [&](const char* k) { return static_cast<int64_t>(kv[k]); };
  auto p = train::train_gan_default_params(as_int("resolution"), as_int("channel_base"), as_int("channel_max"), as_int("w_dim"));
  p.batch = as_int("batch");
  p.seed = static_cast<uint64_t>(kv["seed"]);
  p.kimg = kv["kimg"];
  p.snapshot_kimg = kv["snapshot_kimg"];
  p.max_seconds = std::stod(argv[3]) * 60.0;
  p.device = cuda ? torch::Device(torch::kCUDA) : torch::Device(torch::kCPU);
  p.checkpoint_every = 0;  // the machine is handed back afterwards; nothing would resume
  p.data = argv[1];
  const fs::path out = argv[2];
  fs::create_directories(out / "snapshots");
  p.on_snapshot = [&](const models::StyleGAN2& g, double kimg) {
    char name[64];
    std::snprintf(name, sizeof name, "g-ema-kimg%07.1f.safetensors", kimg);
    g.save((out / "snapshots" / name).string(), {{"kimg", kimg}}, /*half=*/true);
  };
  std::cerr << "train_gan_main: " << (cuda ? "CUDA" : "CPU") << ", " << threads() << " threads\n";
  const auto images = train::box_downsample(train::read_packed_images(p.data), p.resolution, p.data);
  const auto work = fs::temp_directory_path() / "faceedit-train-gan";
  fs::create_directories(work);
  const auto report = train::train_gan(p, images, (work / "g.safetensors").string());
  models::StyleGAN2::load((work / "g.safetensors").string())->save((out / "g-ema.safetensors").string(), report, true);
  std::cout << report.dump() << "\n";
  return 0;
} catch (const std::exception& e) {
  std::cerr << "error: " << e.what() << "\n";
  return 1;
}
