// Internal: the fused paths of the ops in faceedit/nn/ops.h, without and with autograd.
#pragma once

#include <torch/torch.h>

#include "faceedit/nn/ops.h"

namespace faceedit::nn::detail {

// Inference (no autograd): channels-last, the four-phase up-convolution and the one-pass epilogue.
// CPU float32 only (compute kBFloat16: bf16 convolutions); the output is channels-last, float32.
torch::Tensor modulated_conv_bias_act_fast(const torch::Tensor& x, const torch::Tensor& weight,
                                           const torch::Tensor& styles, bool demodulate, int up,
                                           const torch::Tensor& bias, Activation act, double gain, double clamp,
                                           const torch::Tensor& noise, torch::ScalarType compute = torch::kFloat32);

// Under autograd: a custom function whose forward is the one above (float32; float64, for gradient
// checks, runs the reference composition forward) and whose backward runs the fused adjoint kernels
// and oneDNN's convolution gradients (fused_autograd.cpp).
torch::Tensor modulated_conv_bias_act_autograd(const torch::Tensor& x, const torch::Tensor& weight,
                                               const torch::Tensor& styles, bool demodulate, int up,
                                               const torch::Tensor& bias, Activation act, double gain, double clamp,
                                               const torch::Tensor& noise);

// upsample2d(img) + y under autograd: the fused FIR forward (into a copy of y) and its adjoint.
torch::Tensor upsample2d_add_autograd(const torch::Tensor& img, const torch::Tensor& y);

}  // namespace faceedit::nn::detail
