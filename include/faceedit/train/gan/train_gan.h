// faceedit — training our own StyleGAN2 (`faceedit train-gan`), as NVIDIA's stylegan2-ada-pytorch
// trains one on a small dataset (training/loss.py StyleGAN2Loss and training_loop.py):
//   - G: faceedit's StyleGAN2 (models/stylegan2.h); D: the resnet discriminator with minibatch
//     standard deviation (models/stylegan2_discriminator.h); Adam (betas 0, 0.99; eps 1e-8).
//   - Non-saturating logistic loss: G minimises softplus(-D(G(z))), D softplus(D(G(z))) + softplus(-D(x)).
//   - Lazy R1 on the reals every r1_interval steps: (gamma / 2) |grad_x D(x)|^2 x r1_interval.
//   - Lazy path-length regularisation every pl_interval steps on half a batch (optional: pl_weight 0
//     turns it off): (|J_w^T y| - a)^2 with y ~ N(0, 1/(H W)) and a the running mean (decay 0.01).
//   - With lazy regularisation, each optimiser's lr and betas are scaled by interval / (interval + 1).
//   - Style mixing (probability 0.9 by default), the running W average (beta 0.995), mirror flips.
//   - DiffAugment (train/gan_augment.h) on everything D sees, reals and fakes, R1 through it.
//   - G_ema: beta = 0.5^(batch / ema_nimg), ema_nimg = ema_kimg * 1000, ramped up as
//     min(ema_nimg, images_seen * ema_rampup).
//   - CUDA: TF32 matmuls and convolutions when the process allows them (set_cuda_tf32).
// Step i's randomness (batch, latents, noise, augmentation) comes from torch's global generator
// seeded with (seed, i), so a run resumed from a checkpoint continues bit for bit as an
// uninterrupted one would (same threads, same device).
//
// Files: out_path gets G_ema as a faceedit StyleGAN2 file (every command loads it), the training
// report in its metadata. out_path + ".ckpt/" holds G, D, G_ema, both optimisers and the state,
// written every checkpoint_every steps and when stopped (request_stop()); it is kept after the end
// so that a rerun with a larger `kimg` continues the same run (the fingerprint leaves kimg out).
//
// Thread-safety: one training per process (torch's global RNG).
#pragma once

#include <torch/torch.h>

#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "faceedit/models/stylegan2.h"
#include "faceedit/models/stylegan2_discriminator.h"

namespace faceedit::train {

struct TrainGanParams {
  // Training images: a CelebA-HQ archive (e.g. shared data/celebahq-64.tar: all its faces) or a
  // .safetensors file holding "images", uint8 [N, C, H, W]. Box-downsampled to the resolution.
  std::string data;
  int64_t resolution = 32;
  models::StyleGAN2Config generator;                  // img_resolution is set from `resolution`
  models::StyleGAN2DiscriminatorConfig discriminator;  // likewise
  // Start from trained networks instead of random weights (faceedit files of the configs above;
  // empty: random): G from init_generator, G_ema from init_generator_ema (else init_generator), D
  // from init_discriminator. As NVIDIA's --resume does, the run then counts images from 0.
  std::string init_generator, init_generator_ema, init_discriminator;
  int64_t batch = 32;
  double kimg = 100;  // thousands of real images shown to D
  double g_lr = 0.0025, d_lr = 0.0025;
  double r1_gamma = -1;  // < 0: NVIDIA's auto config, 0.0002 * resolution^2 / batch
  int64_t r1_interval = 16;
  double pl_weight = 2;
  int64_t pl_interval = 4;
  double style_mixing = 0.9;
  std::string augment = "color,translation,cutout";  // AugmentPolicy::parse
  double ema_kimg = -1;  // < 0: batch * 10 / 32 (auto)
  double ema_rampup = 0.05;
  bool mirror = true;
  uint64_t seed = 0;
  int64_t checkpoint_every = 500;  // steps; 0: none
  // > 0: end early once this much training time has passed (a lent GPU's budget), writing the
  // output as at the end; a rerun with the same settings continues from the checkpoint.
  double max_seconds = 0;
  bool resume = true;
  bool progress = true;
  torch::Device device = torch::kCPU;
  // Called every snapshot_kimg (and at the end) with G_ema and the thousands of images seen so far.
  double snapshot_kimg = 10;
  std::function<void(const models::StyleGAN2& g_ema, double kimg)> on_snapshot;
};

// NVIDIA's 'auto' config scaled down by `channel_base` (their default: 16384 below 512 px), mapping
// of 2 layers, conv_clamp 256, z = w = w_dim.
TrainGanParams train_gan_default_params(int64_t resolution, int64_t channel_base = 16384, int64_t channel_max = 512,
                                        int64_t w_dim = 512);

// Loads the training images as uint8 [N, C, resolution, resolution] (see TrainGanParams::data).
torch::Tensor load_gan_images(const std::string& spec, int64_t resolution);
// Its parts: a .safetensors file's uint8 "images" (checked), and the box filter to `resolution`
// (a divisor of the images' square size; errors name `what`).
torch::Tensor read_packed_images(const std::string& path);
torch::Tensor box_downsample(const torch::Tensor& uint8_images, int64_t resolution, const std::string& what);

// Trains; writes out_path; returns the training report (also in out_path's metadata).
nlohmann::json train_gan(const TrainGanParams& params, const torch::Tensor& images, const std::string& out_path);

// R1 penalty per image: |d sum(D(aug(x))) / dx|^2 over the pixels of each image, differentiable
// (create_graph), as the trainer uses it; `augment` may be empty (identity).
torch::Tensor r1_penalty(const models::StyleGAN2Discriminator& d, const torch::Tensor& reals,
                         const std::function<torch::Tensor(const torch::Tensor&)>& augment = {});

}  // namespace faceedit::train
