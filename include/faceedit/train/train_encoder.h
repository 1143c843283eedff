// faceedit — training an image -> latent encoder (models/encoder.h) for one generator.
//
//   auto g = models::open_generator("dcgan-celeba32");
//   auto guide = pipeline::open_inversion_guide({}, torch::kCPU);
//   auto report = train::train_encoder(*g, guide.features.get(), {}, "dcgan-encoder.safetensors");
//
// Each step trains on two kinds of faces:
//   generated pairs: latents drawn from the generator's prior (truncated), their images; the loss is
//     the MSE between the encoded and the true latent (latent_weight);
//   real faces (celebahq's 64-px faces, framed as the generator's faces are): the encoded latent's
//     image against the face, MSE + feature_weight * the guide's feature distance; the gradient runs
//     through the (fixed) generator.
// Adam with linear warm-up and cosine decay; a checkpoint every checkpoint_every steps beside the
// output (train/checkpoint.h: rerunning the same command resumes, bit for bit the same run); Ctrl-C
// stops at a step boundary. The report holds the loss history and the held-out reconstruction
// (PSNR, feature distance) of encoder-only inversions of eval_n celebahq-dev faces.
#pragma once

#include <torch/torch.h>

#include <nlohmann/json.hpp>
#include <string>

#include "faceedit/models/classifier_features.h"
#include "faceedit/models/generator.h"

namespace faceedit::train {

struct TrainEncoderParams {
  int steps = 3000;
  int64_t batch = 32;          // faces per step
  double real_fraction = 0.5;  // of them real, the rest generated pairs
  double learning_rate = 1e-3;
  int warmup = 100;
  double latent_weight = 1.0, mse_weight = 1.0, feature_weight = 0.3;
  double truncation = 1.0;     // the generated pairs' latents (StyleGAN2)
  std::string reals = "celebahq";     // labelled set (face_datasets.h) of the real faces
  int64_t real_limit = 0;             // > 0: a seed-fixed subset of that many
  std::string eval_set = "celebahq-dev";
  int64_t eval_n = 200;
  uint64_t seed = 0;
  int checkpoint_every = 200;
  int stop_after_step = 0;  // > 0: checkpoint after this step, then end with an Error saying how to resume
                            // (time-sliced jobs; not part of the run's settings)
  bool progress = true;
};

nlohmann::json train_encoder(const models::Generator& g, models::FeatureDistance* features,
                             const TrainEncoderParams& params, const std::string& out_path);

// Faces aligned as CelebA-HQ's (uint8 [N, 3, H, W]) -> [-1, 1] at g's resolution, cropped to g's
// face_framing() (the crop the photo pipeline inverts).
torch::Tensor frame_for_generator(const torch::Tensor& uint8_images, const models::Generator& g);

}  // namespace faceedit::train
