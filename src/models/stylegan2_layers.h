// Layers the StyleGAN2 generator and discriminator share, as in NVIDIA's networks.py.
#pragma once

#include <torch/torch.h>

#include <cmath>

#include "faceedit/nn/ops.h"

namespace faceedit::models::layers {

inline const double kLreluGain = std::sqrt(2.0);

// FullyConnectedLayer: equalised learning rate (weights stored as randn / lr_multiplier, scaled by
// lr_multiplier / sqrt(in) at run time), bias times lr_multiplier.
struct FullyConnected : torch::nn::Module {
  torch::Tensor weight, bias;
  double weight_gain, bias_gain;
  nn::Activation act;
  FullyConnected(int64_t in, int64_t out, nn::Activation act_, double lr_multiplier, double bias_init)
      : weight_gain(lr_multiplier / std::sqrt(static_cast<double>(in))), bias_gain(lr_multiplier), act(act_) {
    weight = register_parameter("weight", torch::randn({out, in}) / lr_multiplier);
    bias = register_parameter("bias", torch::full({out}, bias_init));
  }
  torch::Tensor forward(const torch::Tensor& x) const {
    auto b = bias_gain != 1.0 ? bias * bias_gain : bias;
    if (act == nn::Activation::Linear) return torch::addmm(b.unsqueeze(0), x, (weight * weight_gain).t());
    return nn::bias_act(x.matmul((weight * weight_gain).t()), b, act, kLreluGain);
  }
};

}  // namespace faceedit::models::layers
