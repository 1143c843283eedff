// faceedit — GAN inversion: the latent whose image reconstructs an aligned face crop.
//
// Minimises  mse_weight * MSE(G(x), target) + feature_weight * D_feat(G(x), target)
//          + identity_weight * (1 - cos(E(G(x)), E(target)))
// over the latent x with Adam (linear lr warm-up, then cosine decay to 0). D_feat is a
// models::FeatureDistance (our classifier's activations, or a user's LPIPS-like TorchScript), E an
// identity embedder that is NOT the metrics judge (photo uses models::ClassifierEmbedder on our
// celebahq guide classifier; faceres-descriptor stays an independent measure).
//
// Spaces: Z (the DCGAN's only space; z is clamped to the prior's support [-1, 1] after every step
// for the DCGAN), W or W+ for StyleGAN2, starting from the average W (truncate(., psi = 0)).
// `starts` random Z starts are optimised together as one batch and the best is kept; W/W+ start
// from the average only. Noise: synthesis runs with NoiseMode::Const (StyleGAN2's fixed noise
// buffers). The Generator interface does not expose per-image noise maps, so they are not optimised
// and need no noise regulariser.
//
//   auto target = pipeline::generator_target(face.crop, *g);                 // [1, 3, R, R]
//   auto inv = pipeline::invert(*g, target, {&perceptual, &embedder}, {});
//   std::cout << inv.psnr << "\n";                                            // dB, peak = 2 (range [-1, 1])
//
// Thread-safety: invert() only reads the generator; guides run forward passes (see face_analysis.h).
#pragma once

#include <opencv2/core.hpp>
#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include "faceedit/models/classifier_features.h"
#include "faceedit/models/encoder.h"
#include "faceedit/models/generator.h"
#include "faceedit/progress.h"

namespace faceedit::pipeline {

struct InversionGuides {
  models::FeatureDistance* features = nullptr;   // optional feature loss
  models::IdentityEmbedder* identity = nullptr;  // optional identity loss
};

struct InversionParams {
  models::LatentSpace space = models::LatentSpace::Z;  // Generator::inversion_space() picks per model
  int steps = 300;
  int starts = 4;        // Z: random starts optimised in parallel; W/W+: 1 (from the average W)
  double lr = 0.05;
  int warmup = 25;       // steps of linear lr warm-up
  double mse_weight = 1.0, feature_weight = 0.3, identity_weight = 0.1;
  models::NoiseMode noise = models::NoiseMode::Const;
  uint64_t seed = 0;     // random starts
  torch::Tensor init;    // [1, ...] in `space`: start here instead (one start; e.g. the previous video frame's
                         // latent, or an encoder's code); with init, steps = 0 returns it as the inversion
  bool progress = false; // progress lines on stderr
  ProgressCallback on_progress;  // each step as numbers (progress.h), with or without the lines
};

struct InversionResult {
  torch::Tensor latent;          // [1, ...] in the space inverted
  torch::Tensor reconstruction;  // [1, 3, R, R] = generate(latent)
  double psnr = 0;               // dB against the target, pixel range [-1, 1] (peak-to-peak 2)
  double feature_distance = 0;   // guides.features' distance (0 without one)
  double identity_cosine = 0;    // cosine of guides.identity's embeddings (1 without one)
  double loss = 0;
  int best_start = 0;
  double seconds = 0;
  nlohmann::json to_json() const;  // everything but the tensors
};


// target: [1, 3, R, R] in [-1, 1] at the generator's resolution.
InversionResult invert(const models::Generator& g, const torch::Tensor& target, const InversionGuides& guides,
                       const InversionParams& params);

// An encoder's code for target as an inversion start in `space` (W from a W+ encoder: the mean of
// its codes). Throws faceedit::Error naming `what` when the encoder is not for g or cannot give `space`.
torch::Tensor encoder_start(const models::Encoder& encoder, const models::Generator& g, const torch::Tensor& target,
                            models::LatentSpace space, const std::string& what);

// An 8-bit BGR crop -> [1, 3, R, R] in [-1, 1] at the generator's resolution (anti-aliased).
torch::Tensor generator_target(const cv::Mat& crop, const models::Generator& g);

// PSNR in dB of images in [-1, 1] (peak-to-peak 2), over the whole batch.
double psnr(const torch::Tensor& a, const torch::Tensor& b);


}  // namespace faceedit::pipeline
