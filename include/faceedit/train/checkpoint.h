// faceedit — one checkpoint/resume policy for every trainer (classifier, latent transformer, L2M).
//
// OUT.ckpt/ beside the output file holds model.safetensors, optimizer.pt and state.json; state.json
// is written last (each file atomically), so a checkpoint counts only once it is whole, and a kill
// at any moment leaves either the previous checkpoint or the new one. The policy:
//   - resume requested and a checkpoint of the same settings (fingerprint) exists: continue from it;
//   - resume requested and the checkpoint was made with other settings: faceedit::Error naming the
//     differing settings (rerun with those, or remove OUT.ckpt/ to start over);
//   - resume not requested: start over (an old checkpoint is overwritten at the first save);
//   - the output written: the checkpoint directory is removed.
// train-classifier always resumes; train-editor when given --resume (its runs are short).
#pragma once

#include <torch/torch.h>

#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace faceedit::train {

// Several optimizers (a GAN's G and D): saved as optimizer.pt, optimizer-1.pt, ... in this order.
using Optimizers = std::vector<torch::optim::Optimizer*>;

class Checkpoint {
 public:
  Checkpoint(const std::string& out_path, nlohmann::json fingerprint);
  const std::filesystem::path& dir() const { return dir_; }
  std::filesystem::path model_file() const { return dir_ / "model.safetensors"; }
  // The saved state (what save() stored besides the fingerprint) when resuming, after
  // load_model(model_file()) and the optimizer's state were restored; nullopt when there is nothing
  // to resume (or resume is false).
  std::optional<nlohmann::json> resume(bool resume, const std::function<void(const std::string& model_file)>& load_model,
                                       torch::optim::Optimizer& optimizer) const;
  std::optional<nlohmann::json> resume(bool resume, const std::function<void(const std::string& model_file)>& load_model,
                                       const Optimizers& optimizers) const;
  // save_model(path) writes the model atomically; then the optimizer, then state.json.
  void save(const std::function<void(const std::string& model_file)>& save_model, torch::optim::Optimizer& optimizer,
            nlohmann::json state) const;
  void save(const std::function<void(const std::string& model_file)>& save_model, const Optimizers& optimizers,
            nlohmann::json state) const;
  void remove() const;

 private:
  std::filesystem::path dir_;
  nlohmann::json fingerprint_;
};

// The keys whose values differ between two JSON objects (or that only one has), comma-separated.
std::string differing_keys(const nlohmann::json& a, const nlohmann::json& b);

// The Error of a training stopped by a signal after step `done` of `steps` (batches of `batch`
// images): how far it got and whether a rerun continues (checkpoints) or starts over.
[[noreturn]] void fail_interrupted(const std::string& command, int64_t done, int64_t steps, int64_t batch, bool checkpoints);

// What a trainer writes into its output file: the method, its settings, images seen (kimg), steps
// done, seconds, threads, the loss history and, when it resumed, the step it resumed from.
nlohmann::json training_report(const std::string& method, const nlohmann::json& settings, int64_t steps_done, int64_t batch,
                               double seconds, const nlohmann::json& history, int64_t resumed_from);

// Step `step`'s seed: SplitMix64 of (seed, step), so the steps of a trainer draw independent
// streams and a resumed run draws what the uninterrupted one would have.
uint64_t step_seed(uint64_t seed, int64_t step);
// Turns gradients of `params` on or off (the phases of a GAN step train one network at a time).
void set_requires_grad(const std::vector<torch::Tensor>& params, bool on);

}  // namespace faceedit::train
