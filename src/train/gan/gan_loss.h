// faceedit — train-gan's networks and loss phases, as stylegan2-ada-pytorch's training/loss.py
// (StyleGAN2Loss) keeps them apart from the loop (training_loop.py, here train_gan.cpp): each phase
// computes its loss on the networks' current weights; the loop sets which weights take gradients,
// runs backward and steps the optimisers. Internal to train/.
#pragma once

#include <torch/torch.h>

#include <functional>
#include <memory>
#include <string>

#include "faceedit/io/safetensors.h"
#include "faceedit/models/stylegan2.h"
#include "faceedit/models/stylegan2_discriminator.h"

namespace faceedit::train {

// G, G_ema and D with the running statistics training keeps beside them.
struct GanNetworks {
  std::unique_ptr<models::StyleGAN2> g, g_ema;
  std::unique_ptr<models::StyleGAN2Discriminator> d;
  torch::Tensor pl_mean;  // running mean of path lengths (a scalar)
  torch::Tensor w_avg;    // G's mapping.w_avg (a view into G)

  // Tensors saved in a checkpoint, prefixed "G.", "D.", "G_ema.", and "pl_mean".
  io::NamedTensors tensors() const;
  void load(const std::string& checkpoint_file);
};

struct GanLossSettings {
  int64_t z_dim = 0, resolution = 0;
  double style_mixing = 0.9;
  double pl_weight = 2, r1_gamma = 0;
  int64_t pl_interval = 4, r1_interval = 16;  // lazy regularisation: the weights are scaled by them
};

class StyleGAN2Loss {
 public:
  // `augment` is applied to everything D sees (identity when there is no augmentation); it draws
  // its own randomness from torch's global generator, as everything here does.
  using Augment = std::function<torch::Tensor(const torch::Tensor&)>;
  StyleGAN2Loss(GanNetworks& gan, GanLossSettings s, Augment augment);

  // Gmain: non-saturating loss softplus(-D(G(z))) over `batch` fakes.
  torch::Tensor g_main(int64_t batch);
  // Greg: path-length penalty on `batch` fakes, weighted (pl_weight x pl_interval); updates pl_mean.
  torch::Tensor g_reg(int64_t batch);
  // Dmain: softplus(D(G(z))) on `batch` fakes (no graph into G) + softplus(-D(x)) on the reals.
  torch::Tensor d_main(const torch::Tensor& reals, int64_t batch);
  // Dreg: R1 on the reals through the augmentation. Returns (the weighted loss, the mean penalty).
  std::pair<torch::Tensor, torch::Tensor> d_reg(const torch::Tensor& reals);

 private:
  torch::Tensor fakes(int64_t n);  // G(z) with style mixing, random noise
  GanNetworks& gan_;
  GanLossSettings s_;
  Augment augment_;
};

}  // namespace faceedit::train
