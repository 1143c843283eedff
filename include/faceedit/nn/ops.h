// faceedit — the StyleGAN2 primitive ops, as in NVIDIA's torch_utils/ops.
//
// Each op has one entry point built from LibTorch ops (differentiable). The two hot ones,
// modulated_conv_bias_act and upsample2d_add, take fused paths on the CPU: without autograd, fused
// inference kernels; under autograd (inversion, fine-tuning, walks), custom autograd functions whose
// forward is the same fused path and whose backward runs fused adjoint kernels. tests/nn compares each
// fused path against the reference composition (*_reference, or ReferenceOpsGuard) forward and
// backward, the backward also against finite differences, and the primitives against naive loops.
#pragma once

#include <torch/torch.h>

namespace faceedit::nn {

enum class Activation { Linear, LeakyRelu };

// While one is alive, the dispatchers below take the reference composition on this thread: what
// benchmarks time the fused paths against in the same run (and how a user rules the kernels out).
class ReferenceOpsGuard {
 public:
  ReferenceOpsGuard();
  ~ReferenceOpsGuard();
  ReferenceOpsGuard(const ReferenceOpsGuard&) = delete;
  ReferenceOpsGuard& operator=(const ReferenceOpsGuard&) = delete;
};
bool reference_ops_forced();

// x + noise + b (b along dim 1, noise broadcast), activation (leaky ReLU slope 0.2), times gain,
// clamped to [-clamp, clamp] when clamp >= 0. noise may be undefined.
torch::Tensor bias_act(const torch::Tensor& x, const torch::Tensor& b, Activation act, double gain = 1.0,
                       double clamp = -1.0, const torch::Tensor& noise = {});

// The FIR filter StyleGAN2 resamples with: outer([1,3,3,1]) normalised to sum 1, 4x4.
torch::Tensor resample_filter(const torch::TensorOptions& options = {});

// upfirdn2d for the 4x4 filter above (symmetric, so flipping is moot): zero-insertion upsampling
// by `up`, padding (x0, x1, y0, y1; negative crops), 2-D FIR with gain, no downsampling.
torch::Tensor upfirdn2d(const torch::Tensor& x, int up, int pad_x0, int pad_x1, int pad_y0, int pad_y1, double gain);

// 2x upsampling of images (the skip toRGB path): upfirdn2d(x, f, up=2, padding [2,1,2,1], gain=4).
torch::Tensor upsample2d(const torch::Tensor& x);

// NVIDIA's downsample2d: the FIR filter with padding 1 on each side, then every second sample
// (H x W -> H/2 x W/2). The discriminator's skip path and lowpass.
torch::Tensor downsample2d(const torch::Tensor& x);

// conv2d_resample(x, w, f, down=2, padding=k/2) as the discriminator runs it, for k = 1 or 3
// (w already scaled by its weight gain): k = 1 downsamples first, then convolves; k = 3 pads by 2,
// convolves, then filters and keeps every second sample. Differentiable (LibTorch ops).
torch::Tensor conv2d_down2(const torch::Tensor& x, const torch::Tensor& w);

// upsample2d(img) + y; without autograd it adds into y in place (y must not be used elsewhere).
// The dispatcher: upsample2d_add_fused when upsample2d_add_fusable (CPU; float32, or float64 under
// autograd; y channels-last without autograd), else the composition.
torch::Tensor upsample2d_add(const torch::Tensor& img, const torch::Tensor& y);
bool upsample2d_add_fusable(const torch::Tensor& img, const torch::Tensor& y);
// The fused kernel itself (tests call it directly); throws faceedit::Error when not fusable.
torch::Tensor upsample2d_add_fused(const torch::Tensor& img, const torch::Tensor& y);

// Modulated convolution (StyleGAN2, fused per-sample weights as in the official inference path):
// x [N,I,H,W], weight [O,I,k,k], styles [N,I]. With demodulate, each output filter is normalised.
// up = 2 runs a stride-2 transposed convolution followed by the FIR filter (output 2H x 2W);
// up = 1 a 'same' convolution. Noise is not added here (see bias_act).
// compute: kBFloat16 or kHalf convolve x and the modulated weights in that type and widen the result
// back (modulation, demodulation and the FIR stay in x's type); anything else: x's own type.
torch::Tensor modulated_conv2d(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& styles,
                               bool demodulate, int up, torch::ScalarType compute = torch::kFloat32);

// One synthesis layer's arithmetic: modulated_conv2d -> bias_act (noise, bias, activation, gain,
// clamp). On the CPU (float32; float64 under autograd) it runs the fast path, with or without autograd
// (under autograd, a custom function: see src/nn/fused_autograd.cpp for its backward):
// channels-last convolutions; for up = 2 the stride-2 transposed convolution is split into its four
// output phases (2x2, 2x1, 1x2 and 1x1 sub-kernels at the input resolution: no multiply by the
// inserted zeros), and one fused kernel interleaves the phases, applies the FIR filter, noise, bias,
// activation, gain and clamp in a single pass. noise: [H,W], [N,1,H,W] or undefined.
// compute: the convolutions' arithmetic without autograd (see modulated_conv2d; the fused path takes
// kFloat32 and kBFloat16, oneDNN's bf16 convolutions). Under autograd it is ignored: gradients are fp32.
torch::Tensor modulated_conv_bias_act(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& styles,
                                      bool demodulate, int up, const torch::Tensor& bias, Activation act, double gain,
                                      double clamp, const torch::Tensor& noise = {},
                                      torch::ScalarType compute = torch::kFloat32);
// The two paths the dispatcher above chooses between, callable directly (tests compare them with no
// dispatcher in between): the fused one throws faceedit::Error unless fusable. Under autograd the
// fused one is the custom function (float64 runs its forward as the composition, its backward fused).
bool modulated_conv_bias_act_fusable(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& styles, int up,
                                     const torch::Tensor& bias, const torch::Tensor& noise = {});
torch::Tensor modulated_conv_bias_act_fused(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& styles,
                                            bool demodulate, int up, const torch::Tensor& bias, Activation act, double gain,
                                            double clamp, const torch::Tensor& noise = {},
                                            torch::ScalarType compute = torch::kFloat32);
torch::Tensor modulated_conv_bias_act_reference(const torch::Tensor& x, const torch::Tensor& weight,
                                                const torch::Tensor& styles, bool demodulate, int up,
                                                const torch::Tensor& bias, Activation act, double gain, double clamp,
                                                const torch::Tensor& noise = {},
                                                torch::ScalarType compute = torch::kFloat32);

// x * rsqrt(mean(x^2, dim 1) + 1e-8): the mapping network's input normalisation.
torch::Tensor normalize_2nd_moment(const torch::Tensor& x);

}  // namespace faceedit::nn
