#include "faceedit/train/checkpoint.h"

#include <fstream>

#include "faceedit/error.h"
#include "faceedit/io/atomic_file.h"
#include "faceedit/io/json_file.h"
#include "faceedit/runtime.h"

namespace faceedit::train {

namespace fs = std::filesystem;

std::string differing_keys(const nlohmann::json& a, const nlohmann::json& b) {
  if (!a.is_object() || !b.is_object()) return "all";
  std::string out;
  for (auto& [k, v] : a.items())
    if (!b.contains(k) || b[k] != v) out += (out.empty() ? "" : ", ") + k;
  for (auto& [k, v] : b.items())
    if (!a.contains(k)) out += (out.empty() ? "" : ", ") + k;
  return out;
}

Checkpoint::Checkpoint(const std::string& out_path, nlohmann::json fingerprint)
    : dir_(out_path + ".ckpt"), fingerprint_(std::move(fingerprint)) {}

namespace {
fs::path optimizer_file(const fs::path& dir, size_t i) {
  return dir / (i == 0 ? std::string("optimizer.pt") : "optimizer-" + std::to_string(i) + ".pt");
}
}  // namespace

std::optional<nlohmann::json> Checkpoint::resume(bool resume, const std::function<void(const std::string&)>& load_model,
                                                 torch::optim::Optimizer& optimizer) const {
  return this->resume(resume, load_model, Optimizers{&optimizer});
}

std::optional<nlohmann::json> Checkpoint::resume(bool resume, const std::function<void(const std::string&)>& load_model,
                                                 const Optimizers& optimizers) const {
  const fs::path state_file = dir_ / "state.json";
  if (!resume || !fs::exists(state_file)) return std::nullopt;
  auto state = io::read_json_file(state_file, "a training state (remove " + dir_.string() + " to start over)");
  if (!state.is_object() || !state.contains("fingerprint"))
    fail(state_file.string(), "is not a training state (remove " + dir_.string() + " to start over)");
  if (state["fingerprint"] != fingerprint_)
    fail(state_file.string(), "was made with other settings (" + differing_keys(state["fingerprint"], fingerprint_) +
                                  "); rerun with those, or remove " + dir_.string() + " to start over");
  load_model(model_file().string());
  for (size_t i = 0; i < optimizers.size(); ++i) torch::load(*optimizers[i], optimizer_file(dir_, i).string());
  state.erase("fingerprint");
  return state;
}

void Checkpoint::save(const std::function<void(const std::string&)>& save_model, torch::optim::Optimizer& optimizer,
                      nlohmann::json state) const {
  save(save_model, Optimizers{&optimizer}, std::move(state));
}

void Checkpoint::save(const std::function<void(const std::string&)>& save_model, const Optimizers& optimizers,
                      nlohmann::json state) const {
  fs::create_directories(dir_);
  save_model(model_file().string());
  for (size_t i = 0; i < optimizers.size(); ++i) {
    io::AtomicFile f(optimizer_file(dir_, i));
    torch::save(*optimizers[i], f.temp_path().string());
    f.commit();
  }
  state["fingerprint"] = fingerprint_;
  const std::string text = state.dump();
  io::write_file_atomic(dir_ / "state.json", text.data(), text.size());
}

void Checkpoint::remove() const {
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

void fail_interrupted(const std::string& command, int64_t done, int64_t steps, int64_t batch, bool checkpoints) {
  fail(command, "interrupted after " + std::to_string(done * batch) + " images (step " + std::to_string(done) + " of " +
                    std::to_string(steps) + ")" +
                    (checkpoints ? "; rerun the same command to continue" : " (no checkpoints: a rerun starts over)"));
}

nlohmann::json training_report(const std::string& method, const nlohmann::json& settings, int64_t steps_done, int64_t batch,
                               double seconds, const nlohmann::json& history, int64_t resumed_from) {
  nlohmann::json report = {{"method", method},
                           {"settings", settings},
                           {"kimg", static_cast<double>(steps_done * batch) / 1000.0},
                           {"steps", steps_done},
                           {"seconds", seconds},
                           {"threads", threads()},
                           {"history", history}};
  if (resumed_from > 0) report["resumed_from_step"] = resumed_from;
  return report;
}

uint64_t step_seed(uint64_t seed, int64_t step) {
  uint64_t z = seed * 0x9E3779B97F4A7C15ull + static_cast<uint64_t>(step) + 0x632BE59BD9B4E019ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return (z ^ (z >> 31)) & 0x7fffffffffffffffull;
}

void set_requires_grad(const std::vector<torch::Tensor>& params, bool on) {
  for (auto t : params) t.requires_grad_(on);
}

}  // namespace faceedit::train
