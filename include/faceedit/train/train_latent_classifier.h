// faceedit — training a LatentClassifier (models/latent_classifier.h) from sampled latents.
//
//   auto data = sample_and_score(*generator, *classifier, {.n = 20000, .space = models::LatentSpace::W});
//   auto report = train_latent_classifier(data, train_latent_classifier_default_params(), "lc.safetensors");
//
// Targets are the image classifier's probabilities (soft labels, BCE); only its probability
// columns are learned. The held-out report gives per-attribute label agreement (both sides of 0.5)
// and the correlation of predicted and target probabilities.
#pragma once

#include <torch/torch.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "faceedit/models/face_analysis.h"
#include "faceedit/models/generator.h"

namespace faceedit::train {

struct LatentScores {
  models::LatentSpace space = models::LatentSpace::Z;
  torch::Tensor latents;             // [N, dim] or [N, num_ws, dim]
  torch::Tensor scores;              // [N, K] probabilities
  std::vector<std::string> columns;  // K names
};

struct SampleScoresParams {
  int64_t n = 20000;
  uint64_t seed = 0;
  models::LatentSpace space = models::LatentSpace::Z;
  double truncation = 1.0;
  int64_t batch = 64;
  bool progress = true;
};

// Samples n latents (seeded), generates their images and scores them with `classifier`
// (its probability columns).
LatentScores sample_and_score(const models::Generator& generator, models::AttributeClassifier& classifier,
                              const SampleScoresParams& params);

struct TrainLatentClassifierParams {
  int epochs = 30;
  int64_t batch = 256;
  double learning_rate = 1e-3;
  double holdout = 0.1;
  uint64_t seed = 0;
  std::vector<int64_t> hidden = {512, 256};
  bool progress = true;
};
TrainLatentClassifierParams train_latent_classifier_default_params();

nlohmann::json train_latent_classifier(const LatentScores& data, const TrainLatentClassifierParams& params,
                                       const std::string& out_path);

}  // namespace faceedit::train
