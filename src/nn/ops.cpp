#include "faceedit/nn/ops.h"

#include <cmath>

#include "fused_kernels.h"
#include "fused_ops.h"
#include "faceedit/error.h"

namespace faceedit::nn {

namespace F = torch::nn::functional;

namespace {

bool needs_autograd(std::initializer_list<const torch::Tensor*> ts) {
  if (!torch::GradMode::is_enabled()) return false;
  for (const auto* t : ts)
    if (t->defined() && t->requires_grad()) return true;
  return false;
}

// All tensors defined ones of `type`.
bool all_of_type(std::initializer_list<const torch::Tensor*> ts, torch::ScalarType type) {
  for (const auto* t : ts)
    if (t->defined() && t->scalar_type() != type) return false;
  return true;
}

// The fused paths take float32; under autograd also float64 (gradient checks of the backward kernels).
bool fused_dtype(std::initializer_list<const torch::Tensor*> ts, bool autograd) {
  return all_of_type(ts, torch::kFloat32) || (autograd && all_of_type(ts, torch::kFloat64));
}

thread_local int reference_ops_depth = 0;

}  // namespace

ReferenceOpsGuard::ReferenceOpsGuard() { ++reference_ops_depth; }
ReferenceOpsGuard::~ReferenceOpsGuard() { --reference_ops_depth; }
bool reference_ops_forced() { return reference_ops_depth > 0; }

torch::Tensor bias_act(const torch::Tensor& x_in, const torch::Tensor& b, Activation act, double gain, double clamp,
                       const torch::Tensor& noise) {
  torch::Tensor x = x_in;
  if (noise.defined()) x = x + noise;
  if (b.defined()) {
    std::vector<int64_t> shape(x.dim(), 1);
    shape[1] = -1;
    x = x + b.reshape(shape);
  }
  if (act == Activation::LeakyRelu) x = F::leaky_relu(x, F::LeakyReLUFuncOptions().negative_slope(0.2));
  if (gain != 1.0) x = x * gain;
  if (clamp >= 0) x = x.clamp(-clamp, clamp);
  return x;
}

torch::Tensor resample_filter(const torch::TensorOptions& options) {
  auto f1 = torch::tensor({1.0, 3.0, 3.0, 1.0}, options);
  auto f = torch::outer(f1, f1);
  return f / f.sum();
}

torch::Tensor upfirdn2d(const torch::Tensor& x_in, int up, int px0, int px1, int py0, int py1, double gain) {
  const int64_t n = x_in.size(0), c = x_in.size(1), h = x_in.size(2), w = x_in.size(3);
  torch::Tensor x = x_in;
  if (up > 1) {
    // Zero insertion: [N,C,H,1,W,1] padded to [N,C,H,up,W,up].
    x = x.reshape({n, c, h, 1, w, 1});
    x = F::pad(x, F::PadFuncOptions({0, up - 1, 0, 0, 0, up - 1}));
    x = x.reshape({n, c, h * up, w * up});
  }
  x = F::pad(x, F::PadFuncOptions({std::max(px0, 0), std::max(px1, 0), std::max(py0, 0), std::max(py1, 0)}));
  x = x.slice(2, std::max(-py0, 0), x.size(2) - std::max(-py1, 0)).slice(3, std::max(-px0, 0), x.size(3) - std::max(-px1, 0));
  auto f = resample_filter(x.options().requires_grad(false)) * gain;  // gain ** (f.ndim / 2) with a 2-D filter = gain
  f = f.flip({0, 1}).reshape({1, 1, 4, 4}).repeat({c, 1, 1, 1});
  return F::conv2d(x, f, F::Conv2dFuncOptions().groups(c));
}

torch::Tensor upsample2d(const torch::Tensor& x) { return upfirdn2d(x, 2, 2, 1, 2, 1, 4.0); }

namespace {
torch::Tensor every_second(const torch::Tensor& x) {
  return x.slice(2, 0, x.size(2), 2).slice(3, 0, x.size(3), 2);
}
}  // namespace

torch::Tensor downsample2d(const torch::Tensor& x) { return every_second(upfirdn2d(x, 1, 1, 1, 1, 1, 1.0)); }

torch::Tensor conv2d_down2(const torch::Tensor& x, const torch::Tensor& w) {
  const int64_t k = w.size(2);
  if (k == 1) return F::conv2d(downsample2d(x), w);
  if (k != 3 || w.size(3) != 3) fail("conv2d_down2", "supports 1x1 and 3x3 kernels, got " + std::to_string(k));
  // conv2d_resample's padding for down = 2 and a 4-tap filter: k/2 + 1 on each side, all before the conv.
  auto y = F::conv2d(F::pad(x, F::PadFuncOptions({2, 2, 2, 2})), w);
  return every_second(upfirdn2d(y, 1, 0, 0, 0, 0, 1.0));
}

bool upsample2d_add_fusable(const torch::Tensor& img, const torch::Tensor& y) {
  const bool autograd = needs_autograd({&img, &y});
  // Without autograd the kernel adds into y in place, so y must already be channels-last.
  return y.device().is_cpu() && img.device().is_cpu() && fused_dtype({&img, &y}, autograd) &&
         (autograd || (img.scalar_type() == torch::kFloat32 && y.is_contiguous(torch::MemoryFormat::ChannelsLast))) &&
         img.dim() == 4 && y.dim() == 4 && y.size(0) == img.size(0) && y.size(1) == img.size(1) &&
         y.size(2) == 2 * img.size(2) && y.size(3) == 2 * img.size(3);
}

torch::Tensor upsample2d_add_fused(const torch::Tensor& img_in, const torch::Tensor& y) {
  if (!upsample2d_add_fusable(img_in, y))
    fail("upsample2d_add_fused", "needs CPU float32 (float64 under autograd), y at twice img's size, channels-last without autograd");
  if (needs_autograd({&img_in, &y})) return detail::upsample2d_add_autograd(img_in, y);
  const auto img = img_in.contiguous(torch::MemoryFormat::ChannelsLast);
  const int64_t n = img.size(0), c = img.size(1), h = img.size(2), w = img.size(3);
  for (int64_t i = 0; i < n; ++i)
    kernels::upsample2d_add_nhwc(img[i].data_ptr<float>(), y[i].data_ptr<float>(), h, w, c);
  return y;
}

torch::Tensor upsample2d_add(const torch::Tensor& img, const torch::Tensor& y) {
  return !reference_ops_forced() && upsample2d_add_fusable(img, y) ? upsample2d_add_fused(img, y)
                                                                   : upsample2d(img) + y;
}

namespace {

// Per-sample modulated (and demodulated) weights [N, O, I, k, k], as in the reference.
torch::Tensor modulated_weights(const torch::Tensor& weight, const torch::Tensor& styles, bool demodulate) {
  const int64_t n = styles.size(0);
  auto w = weight.unsqueeze(0) * styles.reshape({n, 1, -1, 1, 1});
  if (demodulate) w = w * (w.square().sum({2, 3, 4}) + 1e-8).rsqrt().reshape({n, -1, 1, 1, 1});
  return w;
}

}  // namespace

torch::Tensor modulated_conv2d(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& styles,
                               bool demodulate, int up, torch::ScalarType compute) {
  const int64_t n = x.size(0), in_ch = x.size(1);
  const int64_t out_ch = weight.size(0), k = weight.size(2);
  TORCH_CHECK(weight.size(1) == in_ch, "modulated_conv2d: weight expects ", weight.size(1), " input channels, got ", in_ch);
  const bool narrow = compute != x.scalar_type() && (compute == torch::kBFloat16 || compute == torch::kHalf);
  auto w = modulated_weights(weight, styles, demodulate);  // [N,O,I,k,k]
  auto xg = x.reshape({1, n * in_ch, x.size(2), x.size(3)});
  if (narrow) {
    w = w.to(compute);
    xg = xg.to(compute);
  }
  torch::Tensor y;
  if (up == 1) {
    y = F::conv2d(xg, w.reshape({n * out_ch, in_ch, k, k}), F::Conv2dFuncOptions().padding(k / 2).groups(n));
    if (narrow) y = y.to(x.scalar_type());
  } else {
    if (narrow) {
      // The same transposed convolution as zero insertion + a full convolution with the flipped
      // kernel: LibTorch 1.13's CPU conv_transpose2d mistakes bf16 operands for a plain convolution.
      auto xz = torch::zeros({1, n * in_ch, 2 * x.size(2) - 1, 2 * x.size(3) - 1}, xg.options());
      xz.slice(2, 0, c10::nullopt, 2).slice(3, 0, c10::nullopt, 2).copy_(xg);
      y = F::conv2d(F::pad(xz, F::PadFuncOptions({k - 1, k - 1, k - 1, k - 1})),
                    w.flip({3, 4}).reshape({n * out_ch, in_ch, k, k}), F::Conv2dFuncOptions().groups(n));
      y = y.to(x.scalar_type());
    } else {
      // Transposed conv wants [groups*in, out, k, k]; then the FIR filter removes the aliasing.
      auto wt = w.transpose(1, 2).reshape({n * in_ch, out_ch, k, k});
      y = F::conv_transpose2d(xg, wt, F::ConvTranspose2dFuncOptions().stride(2).groups(n));
    }
    // conv2d_resample's padding for up=2 and a 4-tap filter (1 on each side for k=3).
    const int pad = static_cast<int>(k) / 2;
    const int p = pad + (4 + 2 - 1) / 2 - (static_cast<int>(k) - 1);
    const int p1 = pad + (4 - 2) / 2 - (static_cast<int>(k) - 2);
    y = upfirdn2d(y, 1, p, p1, p, p1, 4.0);
  }
  return y.reshape({n, out_ch, y.size(2), y.size(3)});
}

torch::Tensor modulated_conv_bias_act_reference(const torch::Tensor& x, const torch::Tensor& weight,
                                                const torch::Tensor& styles, bool demodulate, int up,
                                                const torch::Tensor& bias, Activation act, double gain, double clamp,
                                                const torch::Tensor& noise, torch::ScalarType compute) {
  return bias_act(modulated_conv2d(x, weight, styles, demodulate, up, compute), bias, act, gain, clamp, noise);
}

namespace {

torch::Tensor channels_last(const torch::Tensor& t) { return t.contiguous(torch::MemoryFormat::ChannelsLast); }

// Per-sample modulated weights for the channels-last convolutions, written by one kernel pass:
// the whole kernel for up = 1, or the four phase sub-kernels of the stride-2 transposed convolution
// for up = 2 (phase a = 0 takes taps {2, 0} along its axis, a = 1 tap {1}). Each tensor is a
// channels-last view [O, I, kh, kw] of [O, kh, kw, I] memory.
std::vector<torch::Tensor> modulated_kernels(const torch::Tensor& weight, const float* styles, bool demodulate,
                                             int up) {
  const int64_t out_ch = weight.size(0), in_ch = weight.size(1), k = weight.size(2), taps = k * k;
  const float* w = weight.data_ptr<float>();
  std::vector<float> d;
  if (demodulate) {
    d.resize(static_cast<size_t>(out_ch));
    kernels::demodulation(w, styles, out_ch, in_ch, taps, d.data());
  }
  auto ohwi = [&](int64_t kh, int64_t kw) {
    return torch::empty({out_ch, kh, kw, in_ch}, weight.options());
  };
  std::vector<torch::Tensor> result;
  std::vector<kernels::TapDestination> to(static_cast<size_t>(taps));
  if (up == 1) {
    result.push_back(ohwi(k, k));
    for (int64_t t = 0; t < taps; ++t) to[t] = {result[0].data_ptr<float>(), taps, t};
  } else {
    // Position of tap ky (or kx) inside its phase's sub-kernel: even phase rows {2, 0}, odd {1}.
    auto phase_of = [](int64_t tap) { return tap == 1 ? 1 : 0; };
    auto slot_of = [](int64_t tap) { return tap == 0 ? int64_t{1} : int64_t{0}; };
    auto extent = [](int phase) { return phase == 0 ? int64_t{2} : int64_t{1}; };
    for (int a = 0; a < 2; ++a)
      for (int b = 0; b < 2; ++b) result.push_back(ohwi(extent(a), extent(b)));
    for (int64_t ky = 0; ky < k; ++ky)
      for (int64_t kx = 0; kx < k; ++kx) {
        const int a = phase_of(ky), b = phase_of(kx);
        to[ky * k + kx] = {result[a * 2 + b].data_ptr<float>(), extent(a) * extent(b),
                           slot_of(ky) * extent(b) + slot_of(kx)};
      }
  }
  kernels::modulate_weight(w, styles, demodulate ? d.data() : nullptr, out_ch, in_ch, taps, to.data());
  for (auto& t : result) t = t.permute({0, 3, 1, 2});
  return result;
}

}  // namespace

torch::Tensor detail::modulated_conv_bias_act_fast(const torch::Tensor& x_in, const torch::Tensor& weight_in,
                                           const torch::Tensor& styles_in, bool demodulate, int up,
                                           const torch::Tensor& bias, Activation act, double gain, double clamp,
                                           const torch::Tensor& noise, torch::ScalarType compute) {
  const int64_t n = x_in.size(0), h = x_in.size(2), w = x_in.size(3), out_ch = weight_in.size(0),
                k = weight_in.size(2);
  const auto x = channels_last(x_in);
  // bf16: oneDNN convolves bf16 operands (avx512_bf16 where the CPU has it), the kernels around the
  // convolutions read and write fp32.
  const bool bf16 = compute == torch::kBFloat16;
  const auto x_conv = bf16 ? x.to(torch::kBFloat16) : x;
  auto convolve = [&](const torch::Tensor& xi, const torch::Tensor& kernel, at::IntArrayRef padding) {
    auto y = torch::conv2d(xi, bf16 ? kernel.to(torch::kBFloat16) : kernel, {}, 1, padding);
    return channels_last(bf16 ? y.to(torch::kFloat32) : y);
  };
  const auto weight = weight_in.contiguous();
  const auto styles = styles_in.contiguous();
  const auto bias_c = bias.contiguous();
  auto noise_c = noise.defined() ? noise.contiguous() : noise;
  kernels::Epilogue e;
  e.bias = bias_c.data_ptr<float>();
  e.lrelu = act == Activation::LeakyRelu;
  e.gain = static_cast<float>(gain);
  e.clamp = static_cast<float>(clamp);
  const int64_t oh = h * up, ow = w * up;
  auto noise_of = [&](int64_t i) -> const float* {
    if (!noise_c.defined()) return nullptr;
    return noise_c.dim() == 2 ? noise_c.data_ptr<float>() : noise_c[i].data_ptr<float>();
  };
  // Each sample's result goes straight into the batch output: sample i of a channels-last batch is
  // contiguous. With one sample, a 'same' convolution's epilogue runs in place on its output.
  torch::Tensor out;
  for (int64_t i = 0; i < n; ++i) {
    const auto xi = x_conv.narrow(0, i, 1);
    const auto wk = modulated_kernels(weight, styles.data_ptr<float>() + i * styles.size(1), demodulate, up);
    e.noise = noise_of(i);
    if (up == 1) {
      auto y = convolve(xi, wk[0], {k / 2, k / 2});
      if (n == 1) out = y;
      if (!out.defined())
        out = torch::empty({n, out_ch, oh, ow}, y.options().memory_format(torch::MemoryFormat::ChannelsLast));
      kernels::bias_act_nhwc(y.data_ptr<float>(), out[i].data_ptr<float>(), oh, ow, out_ch, e);
      continue;
    }
    auto phase = [&](const torch::Tensor& sub, int64_t pad_y, int64_t pad_x) {
      return convolve(xi, sub, {pad_y, pad_x});
    };
    auto p00 = phase(wk[0], 1, 1), p01 = phase(wk[1], 1, 0), p10 = phase(wk[2], 0, 1), p11 = phase(wk[3], 0, 0);
    if (!out.defined())
      out = torch::empty({n, out_ch, oh, ow}, x.options().memory_format(torch::MemoryFormat::ChannelsLast));
    kernels::upfir_phases_nhwc(p00.data_ptr<float>(), p01.data_ptr<float>(), p10.data_ptr<float>(),
                               p11.data_ptr<float>(), out[i].data_ptr<float>(), h, w, out_ch, e);
  }
  return out;
}

bool modulated_conv_bias_act_fusable(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& styles, int up,
                                     const torch::Tensor& bias, const torch::Tensor& noise) {
  const bool autograd = needs_autograd({&x, &weight, &styles, &bias, &noise});
  return x.device().is_cpu() && weight.device().is_cpu() && styles.device().is_cpu() && bias.defined() &&
         fused_dtype({&x, &weight, &styles, &bias, &noise}, autograd) && x.dim() == 4 && weight.dim() == 4 &&
         weight.size(2) == weight.size(3) && (up == 1 || up == 2) && (up == 1 || weight.size(2) == 3) &&
         (!noise.defined() || noise.dim() == 2 || noise.dim() == 4);
}

torch::Tensor modulated_conv_bias_act_fused(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& styles,
                                            bool demodulate, int up, const torch::Tensor& bias, Activation act, double gain,
                                            double clamp, const torch::Tensor& noise, torch::ScalarType compute) {
  if (!modulated_conv_bias_act_fusable(x, weight, styles, up, bias, noise))
    fail("modulated_conv_bias_act_fused",
         "needs CPU float32 tensors (float64 under autograd), a bias, square kernels (3x3 for up = 2)");
  if (needs_autograd({&x, &weight, &styles, &bias, &noise}))
    return detail::modulated_conv_bias_act_autograd(x, weight, styles, demodulate, up, bias, act, gain, clamp, noise);
  if (compute == torch::kHalf) fail("modulated_conv_bias_act_fused", "computes in float32 or bfloat16, not float16");
  return detail::modulated_conv_bias_act_fast(x, weight, styles, demodulate, up, bias, act, gain, clamp, noise,
                                              compute);
}

torch::Tensor modulated_conv_bias_act(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& styles,
                                      bool demodulate, int up, const torch::Tensor& bias, Activation act, double gain,
                                      double clamp, const torch::Tensor& noise, torch::ScalarType compute) {
  if (needs_autograd({&x, &weight, &styles, &bias, &noise})) compute = torch::kFloat32;  // gradients: no narrowing
  if (reference_ops_forced() || !modulated_conv_bias_act_fusable(x, weight, styles, up, bias, noise) ||
      compute == torch::kHalf)
    return modulated_conv_bias_act_reference(x, weight, styles, demodulate, up, bias, act, gain, clamp, noise, compute);
  return modulated_conv_bias_act_fused(x, weight, styles, demodulate, up, bias, act, gain, clamp, noise, compute);
}

torch::Tensor normalize_2nd_moment(const torch::Tensor& x) {
  return x * (x.square().mean(1, true) + 1e-8).rsqrt();
}

}  // namespace faceedit::nn
