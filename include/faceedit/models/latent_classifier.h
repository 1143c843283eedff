// faceedit — LatentClassifier: attributes predicted straight from latent codes (Latent Transformer,
// Yao et al. 2021): three fully connected layers on a flattened code (Z, W, or W+ [num_ws, w_dim]).
//
// It is trained (train/train_latent_classifier.h) on (latent, scores) pairs: latents sampled from a
// generator, scores from an image classifier judging the generated images. Editors that learn in
// latent space (Latent Transformer) use it as their differentiable, image-free guide.
//
//   auto lc = faceedit::models::load_latent_classifier("smile-lc.safetensors");
//   auto p = lc->predict(ws);      // [N, K] probabilities, columns lc->columns()
//
// Thread-safety: forward passes are safe concurrently while nobody changes the weights.
#pragma once

#include <torch/torch.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "faceedit/models/latent_space.h"

namespace faceedit::models {

struct LatentClassifierConfig {
  LatentSpace space = LatentSpace::Z;
  int64_t latent_dim = 0;           // z_dim or w_dim
  int64_t num_ws = 0;               // W+ codes per latent (space WPlus); 0 otherwise
  std::vector<int64_t> hidden = {512, 256};
  std::vector<std::string> columns;  // attribute names, one logit each
  nlohmann::json to_json() const;
  static LatentClassifierConfig from_json(const nlohmann::json& j, const std::string& what_for_errors);
  int64_t input_features() const { return latent_dim * std::max<int64_t>(1, num_ws); }
};

class LatentClassifierImpl : public torch::nn::Module {
 public:
  explicit LatentClassifierImpl(LatentClassifierConfig config);
  // [N, latent_dim] or [N, num_ws, latent_dim] -> logits [N, K]; errors name the expected shape.
  torch::Tensor forward(const torch::Tensor& latents);
  torch::Tensor predict(const torch::Tensor& latents) { return torch::sigmoid(forward(latents)); }
  int64_t column(const std::string& name) const;  // throws listing the columns when absent
  const LatentClassifierConfig& config() const { return config_; }
  void save(const std::string& path, const nlohmann::json& training_report = {}) const;

  torch::nn::Linear fc1{nullptr}, fc2{nullptr}, fc3{nullptr};

 private:
  LatentClassifierConfig config_;
};
TORCH_MODULE(LatentClassifier);

LatentClassifier load_latent_classifier(const std::string& path);

}  // namespace faceedit::models
