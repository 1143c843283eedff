// faceedit — a personalized generator field (PTI-like): fine-tune the generator's parameters so the
// pivot latent reproduces one face exactly, while the generator stays itself around it.
//
// Loss per step (Adam, warm-up + cosine decay as inversion):
//   masked reconstruction   sum(mask * (G(pivot) - target)^2) / sum(mask)   (+ feature_weight *
//                           the feature distance of the mask-composited images, when given)
//   locality                locality_weight * MSE(G(anchor), G0(anchor)) over fixed anchors: the
//                           pivot plus small Gaussian noise (locality_sigma) and random prior samples,
//                           G0 being the generator before fine-tuning (its outputs are computed once)
// mask: the portrait mask at the generator's resolution (fuse.h portrait_mask(), resized), so the
// background the photo keeps anyway costs nothing.
//
// The result is a weight delta: the changed tensors of named_tensors() as differences from the base
// (safetensors, __metadata__ "faceedit.format" = "faceedit.weight_delta/1", "faceedit.arch",
// "faceedit.base_model" and the base's "faceedit.config"). After fine-tuning, the generator's
// parameters are rewritten as base + delta (a rounding of at most one ulp), so applying the saved
// delta onto the base file reproduces the personalized generator bit for bit. The base file is never
// written.
//
//   auto r = pipeline::personalize(*g, inv.latent, space, target, mask, &perceptual, {});
//   pipeline::save_weight_delta("me.delta.safetensors", r.delta, *g, "dcgan-celeba32");
//   auto base = models::open_generator("dcgan-celeba32");
//   pipeline::apply_weight_delta(*base, "me.delta.safetensors");   // == the personalized g
//
// Thread-safety: personalize() and apply_weight_delta() modify the generator; nothing else may use
// it meanwhile.
#pragma once

#include <torch/torch.h>

#include <nlohmann/json.hpp>
#include <string>

#include "faceedit/io/safetensors.h"
#include "faceedit/models/classifier_features.h"
#include "faceedit/models/generator.h"
#include "faceedit/progress.h"

namespace faceedit::pipeline {

struct PersonalizeParams {
  int steps = 80;
  double lr = 1e-3;
  int warmup = 8;
  double feature_weight = 0.3;
  double locality_weight = 1.0;
  int locality_nearby = 4;        // anchors pivot + locality_sigma * N(0, 1) per coordinate
  double locality_sigma = 0.1;
  int locality_random = 4;        // anchors drawn from the prior (mapped into the pivot's space)
  models::NoiseMode noise = models::NoiseMode::Const;
  uint64_t seed = 0;
  bool progress = false;
  ProgressCallback on_progress;  // each step as numbers (progress.h), with or without the lines
};

struct PersonalizeResult {
  double masked_mse_before = 0, masked_mse_after = 0;  // the masked reconstruction term
  double locality_after = 0;                           // MSE on the anchors against the base (0 before)
  int64_t changed_tensors = 0, changed_values = 0;
  double seconds = 0;
  io::NamedTensors delta;  // name -> (personalized - base), changed tensors only, CPU float32
  nlohmann::json to_json() const;  // everything but the tensors
};

// pivot: [K, ...] in `space`; target: [K, 3, R, R]; mask: [K, 1, R, R] in [0, 1] (K = 1 for a photo;
// a video's keyframes fine-tune one generator together).
PersonalizeResult personalize(models::Generator& g, const torch::Tensor& pivot, models::LatentSpace space,
                              const torch::Tensor& target, const torch::Tensor& mask,
                              models::FeatureDistance* features, const PersonalizeParams& params);

// Masked MSE as personalize() measures it.
double masked_mse(const torch::Tensor& images, const torch::Tensor& target, const torch::Tensor& mask);

// Writes the delta atomically; `base_model` names the base (a path or known name).
void save_weight_delta(const std::string& path, const io::NamedTensors& delta, const models::Generator& base,
                       const std::string& base_model);
// Adds a delta file onto a generator of the same architecture and config; errors name the file.
void apply_weight_delta(models::Generator& g, const std::string& path);
// Adds sign * delta (personalize()'s result.delta) onto g; sign -1 takes it off again. Errors name `what`.
void add_weight_delta(models::Generator& g, const io::NamedTensors& delta, double sign, const std::string& what = "weight delta");

}  // namespace faceedit::pipeline
