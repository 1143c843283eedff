#include "faceedit/nn/ops.h"

#include <cmath>

namespace faceedit::nn {

namespace F = torch::nn::functional;

namespace {

[[maybe_unused]] bool needs_autograd(std::initializer_list<const torch::Tensor*> ts) {
  if (!torch::GradMode::is_enabled()) return false;
  for (const auto* t : ts)
    if (t->defined() && t->requires_grad()) return true;
  return false;
}

}  // namespace

torch::Tensor bias_act_reference(const torch::Tensor& x_in, const torch::Tensor& b, Activation act, double gain,
                                 double clamp, const torch::Tensor& noise) {
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

torch::Tensor bias_act(const torch::Tensor& x, const torch::Tensor& b, Activation act, double gain, double clamp,
                       const torch::Tensor& noise) {
  return bias_act_reference(x, b, act, gain, clamp, noise);
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

torch::Tensor modulated_conv2d(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& styles,
                               bool demodulate, int up) {
  const int64_t n = x.size(0), in_ch = x.size(1);
  const int64_t out_ch = weight.size(0), k = weight.size(2);
  TORCH_CHECK(weight.size(1) == in_ch, "modulated_conv2d: weight expects ", weight.size(1), " input channels, got ", in_ch);
  auto w = weight.unsqueeze(0) * styles.reshape({n, 1, in_ch, 1, 1});  // [N,O,I,k,k]
  if (demodulate) w = w * (w.square().sum({2, 3, 4}) + 1e-8).rsqrt().reshape({n, out_ch, 1, 1, 1});
  auto xg = x.reshape({1, n * in_ch, x.size(2), x.size(3)});
  torch::Tensor y;
  if (up == 1) {
    y = F::conv2d(xg, w.reshape({n * out_ch, in_ch, k, k}), F::Conv2dFuncOptions().padding(k / 2).groups(n));
  } else {
    // Transposed conv wants [groups*in, out, k, k]; then the FIR filter removes the aliasing.
    auto wt = w.transpose(1, 2).reshape({n * in_ch, out_ch, k, k});
    y = F::conv_transpose2d(xg, wt, F::ConvTranspose2dFuncOptions().stride(2).groups(n));
    // conv2d_resample's padding for up=2 and a 4-tap filter (1 on each side for k=3).
    const int pad = static_cast<int>(k) / 2;
    const int p = pad + (4 + 2 - 1) / 2 - (static_cast<int>(k) - 1);
    const int p1 = pad + (4 - 2) / 2 - (static_cast<int>(k) - 2);
    y = upfirdn2d(y, 1, p, p1, p, p1, 4.0);
  }
  return y.reshape({n, out_ch, y.size(2), y.size(3)});
}

torch::Tensor normalize_2nd_moment(const torch::Tensor& x) {
  return x * (x.square().mean(1, true) + 1e-8).rsqrt();
}

}  // namespace faceedit::nn
