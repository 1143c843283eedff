// faceedit — StyleGAN3's resampling ops, as NVlabs/stylegan3's torch_utils/ops compute them.
//
//   upfirdn2d_filter   zero-insertion upsampling, padding (negative crops), FIR with an arbitrary
//                      separable (1-D) or full (2-D) filter, then keeping every `down`-th sample.
//   filtered_lrelu     bias -> upsample (fu, gain up^2) -> leaky ReLU, gain, clamp -> downsample (fd):
//                      StyleGAN3's alias-free nonlinearity.
//   design_lowpass_filter  the filters SynthesisLayer designs: a Kaiser-windowed sinc (scipy.signal.firwin)
//                      or the radially symmetric jinc of config R.
//
// filtered_lrelu dispatches between two paths with the same arithmetic: the reference composition
// (filtered_lrelu_reference: literally the ops above, as the official `impl='ref'`) and a faster one
// (filtered_lrelu_polyphase: the upsampling as a transposed convolution so the inserted zeros are never
// multiplied, the downsampling as a strided convolution so the discarded samples are never computed).
// ReferenceOpsGuard (nn/ops.h) forces the reference; tests call each path by name.
#pragma once

#include <torch/torch.h>

#include <array>

namespace faceedit::nn {

// Padding as NVIDIA writes it: x0, x1, y0, y1.
using Padding4 = std::array<int64_t, 4>;

// f: undefined (identity), [K] (separable: applied along x, then y) or [K, K]. The filter is
// flipped first (true convolution) and scaled by gain^(f.dim()/2), as upfirdn2d does.
torch::Tensor upfirdn2d_filter(const torch::Tensor& x, const torch::Tensor& f, int64_t up, int64_t down,
                               const Padding4& padding, double gain);

torch::Tensor filtered_lrelu(const torch::Tensor& x, const torch::Tensor& fu, const torch::Tensor& fd,
                             const torch::Tensor& bias, int64_t up, int64_t down, const Padding4& padding,
                             double gain, double slope, double clamp);
torch::Tensor filtered_lrelu_reference(const torch::Tensor& x, const torch::Tensor& fu, const torch::Tensor& fd,
                                       const torch::Tensor& bias, int64_t up, int64_t down, const Padding4& padding,
                                       double gain, double slope, double clamp);
torch::Tensor filtered_lrelu_polyphase(const torch::Tensor& x, const torch::Tensor& fu, const torch::Tensor& fd,
                                       const torch::Tensor& bias, int64_t up, int64_t down, const Padding4& padding,
                                       double gain, double slope, double clamp);

// numtaps == 1: undefined (the identity). Otherwise float32 [numtaps] (radial: [numtaps, numtaps]),
// computed in double: scipy.signal.firwin(numtaps, cutoff, width=width, fs=fs) or, radial, the
// Kaiser-windowed jinc normalised to sum 1.
torch::Tensor design_lowpass_filter(int64_t numtaps, double cutoff, double width, double fs, bool radial = false);

}  // namespace faceedit::nn
