// The samples reader (edit/sampling.h): a fuzzed manifest.json beside a valid shard, read as boundary
// training reads it (load_samples, then read_boundary_samples).
#include <unistd.h>

#include <filesystem>
#include <string>

#include "faceedit/edit/interfacegan/sampling.h"
#include "faceedit/error.h"
#include "faceedit/io/safetensors.h"
#include "fuzz_support.h"

namespace {

// One shard of 4 samples (z_dim 3, 2 score columns), written once per process.
const std::string& samples_dir() {
  static std::string dir;
  if (dir.empty()) {
    dir = (access("/dev/shm", W_OK) == 0 ? std::string("/dev/shm") : std::string("/tmp")) + "/faceedit-fuzz-samples-" + std::to_string(getpid());
    std::filesystem::create_directories(dir);
    faceedit::io::write_safetensors(dir + "/shard-00000.safetensors",
                                    {{"z", torch::arange(12, torch::kFloat32).view({4, 3})}, {"scores", torch::rand({4, 2})}},
                                    {{"faceedit.first_index", "0"}, {"faceedit.format", "faceedit.samples/1"}});
  }
  return dir;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string& dir = samples_dir();
  FILE* f = std::fopen((dir + "/manifest.json").c_str(), "wb");
  if (!f) return 0;
  if (size) std::fwrite(data, 1, size, f);
  std::fclose(f);
  try {
    (void)faceedit::edit::read_boundary_samples(dir, std::nullopt);
  } catch (const faceedit::Error&) {
  }
  return 0;
}
