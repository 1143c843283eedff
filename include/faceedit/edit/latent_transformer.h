// faceedit — Latent Transformer editing (Yao et al., ICCV 2021): a learned linear map per attribute.
//
// For one attribute a linear map T (a Linear(dim, dim) with bias) gives the edit direction of each
// code: w' = w + alpha * T(w). Z and W codes have one map; W+ codes have one map per edited layer
// (the others are copied untouched, bit for bit). Unlike InterFaceGAN's fixed normal, the
// direction depends on the code, so a face that is already smiling can be moved differently from
// one that is not.
//
// The editor file also holds the frozen latent classifier it was trained with
// (models/latent_classifier.h): flip_sign() reads its probability of the attribute (p > 0.5: -1).
// Strength: training draws alpha = 1 - p (p <= 0.5) or -p (p > 0.5), so alpha = +-1 is "the whole
// way" to the other side; larger strengths extrapolate.
//
//   auto editor = faceedit::edit::load_latent_transformer("transformer_smiling.safetensors");
//   auto edited = editor->edit(z, editor->flip_sign(z));          // flip every face's smile
//   auto coarse = faceedit::edit::load_latent_transformer(path, /*layers=*/{0, 1, 2, 3});
//
// train/train_editor.h trains one (`faceedit train-editor --method transformer`).
//
// Thread-safety: the editor is immutable after construction; edit() and flip_sign() may run
// concurrently. LatentTransformerNet during training is not for concurrent use.
#pragma once

#include <torch/torch.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "faceedit/edit/editor.h"
#include "faceedit/models/latent_classifier.h"

namespace faceedit::edit {

struct LatentTransformerConfig {
  std::string attribute;
  models::LatentSpace space = models::LatentSpace::Z;
  int64_t latent_dim = 0;       // z_dim or w_dim
  int64_t num_ws = 0;           // W+ codes per latent (space WPlus); 0 otherwise
  std::vector<int64_t> layers;  // wplus: the edited layers, sorted (one map each); empty: all
  nlohmann::json to_json() const;
  static LatentTransformerConfig from_json(const nlohmann::json& j, const std::string& what_for_errors);
  // The layers that have a map: `layers`, or 0..num_ws-1 when empty; {0} for Z and W.
  std::vector<int64_t> mapped_layers() const;
};

// The maps T: "maps.<i>" is the Linear of mapped_layers()[i].
class LatentTransformerNetImpl : public torch::nn::Module {
 public:
  explicit LatentTransformerNetImpl(LatentTransformerConfig config);
  // T(w) for the mapped layers; zero for the others (W+). Same shape as latents.
  torch::Tensor direction(const torch::Tensor& latents);
  // w + alpha * T(w) on the mapped layers (or the subset `only`, when not empty); the other layers
  // are the input's own values. alpha: [N].
  torch::Tensor forward(const torch::Tensor& latents, const torch::Tensor& alpha, const std::vector<int64_t>& only = {});
  const LatentTransformerConfig& config() const { return config_; }
  torch::nn::ModuleList maps{nullptr};

 private:
  void check_shape(const torch::Tensor& latents) const;
  LatentTransformerConfig config_;
};
TORCH_MODULE(LatentTransformerNet);

class LatentTransformerEditor : public Editor {
 public:
  // `classifier` must be of the same space and dimension and have the attribute's column.
  // `layers`: W+ layers edited now, a subset of the trained ones (empty: all trained ones).
  LatentTransformerEditor(LatentTransformerNet net, models::LatentClassifier classifier,
                          std::vector<int64_t> layers = {}, std::string source = "");
  std::string method() const override { return "transformer"; }
  std::string attribute() const override { return net_->config().attribute; }
  models::LatentSpace space() const override { return net_->config().space; }
  torch::Tensor edit(const torch::Tensor& latents, const torch::Tensor& alpha) const override;
  torch::Tensor flip_sign(const torch::Tensor& latents) const override;
  nlohmann::json describe() const override;
  // The latent classifier's probability of the attribute, [N].
  torch::Tensor probability(const torch::Tensor& latents) const;
  const LatentTransformerNet& net() const { return net_; }
  const models::LatentClassifier& classifier() const { return classifier_; }
  // Moves both networks (to the generator's device: latents and networks must share one).
  void to(torch::Device device) override;
  // Writes net + classifier (arch "latent-transformer"); atomic.
  void save(const std::string& path, const nlohmann::json& training_report = {}) const override;

 private:
  LatentTransformerNet net_;
  models::LatentClassifier classifier_;
  std::vector<int64_t> layers_;
  int64_t column_;
  std::string source_;
};

// Loads a file written by save(): the config and both networks' tensors must match exactly.
// Errors name the file (missing, not a latent transformer, wrong shapes, unknown layers).
std::unique_ptr<LatentTransformerEditor> load_latent_transformer(const std::string& path, std::vector<int64_t> layers = {});

}  // namespace faceedit::edit
