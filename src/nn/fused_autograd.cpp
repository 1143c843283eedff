// The fused paths under autograd: custom functions whose backward passes run the adjoint kernels of
// fused_kernels.h and oneDNN's convolution gradients, instead of differentiating the reference
// composition op by op (zero insertion, depthwise FIR convolutions, five elementwise passes).
//
// Gradients of one modulated layer, per sample, with W' = W s (styles along the input channels),
// d[o] = (sum_{i,t} W'[o,i,t]^2 + 1e-8)^(-1/2) and Wm = W' d (d = 1 without demodulation):
//   g_z   from the epilogue's output (bias, noise, activation, gain, clamp): one kernel pass, which
//         also sums g_bias, g_noise and, when needed, sum_p g_z y (y: the convolution's output);
//   weights wanted (fine-tuning): the convolution's input and weight gradients with Wm give g_x and
//         g_Wm; then g_W' = d g_Wm - d^3 (sum g_Wm W') W', g_W = s g_W', g_s = sum_{o,t} W g_W';
//   weights fixed (inversion, walks): one input-gradient convolution of g_z d with W gives g_u,
//         and g_x = s g_u, g_s[i] = sum_p x g_u - s[i] sum_o g_d[o] d[o]^3 sum_t W[o,i,t]^2 with
//         g_d[o] = sum_p g_z y / d[o]: the weight-gradient convolution is not needed at all.
// The up-sampling layer's backward starts from the FIR's adjoint: the gradient of the transposed
// convolution's output (see convolution_grads for how its input and weight gradients are taken).
#include <ATen/ops/convolution_backward.h>
#include <torch/torch.h>

#include <array>

#include "faceedit/error.h"
#include "fused_kernels.h"
#include "fused_ops.h"

namespace faceedit::nn::detail {

namespace {

using torch::Tensor;
using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

constexpr auto kChannelsLast = torch::MemoryFormat::ChannelsLast;

template <typename T>
const T* ptr(const Tensor& t) {
  return t.defined() ? t.data_ptr<T>() : nullptr;
}
template <typename T>
T* mut(const Tensor& t) {
  return t.defined() ? t.data_ptr<T>() : nullptr;
}

// The epilogue's backward for one sample (float or double); the sums are added into their tensors.
struct EpilogueBackward {
  Tensor out, g_out, g_z, bias, noise, scale;  // noise [H,W] or undefined, scale [O] or undefined
  bool lrelu;
  double gain, clamp;
  Tensor bias_sum, noise_sum, conv_sum;  // [O], [H,W], [O] or undefined
  template <typename T>
  void run() const {
    kernels::EpilogueGrad<T> e;
    e.bias = ptr<T>(bias);
    e.noise = ptr<T>(noise);
    e.scale = ptr<T>(scale);
    e.lrelu = lrelu;
    e.gain = static_cast<T>(gain);
    e.clamp = static_cast<T>(clamp);
    kernels::EpilogueSums<T> sums{mut<T>(bias_sum), mut<T>(noise_sum), mut<T>(conv_sum)};
    kernels::epilogue_backward_nhwc<T>(ptr<T>(out), ptr<T>(g_out), mut<T>(g_z), out.size(2), out.size(3),
                                       out.size(1), e, sums);
  }
  void operator()() const { out.scalar_type() == torch::kDouble ? run<double>() : run<float>(); }
};

// g_u *= s along the channels (in place) and dot += sum over pixels of x g_u; x, g_u [1,C,H,W]
// channels-last.
void scale_channels_and_dot(const Tensor& x, Tensor& g_u, const Tensor& s, Tensor& dot) {
  g_u = g_u.contiguous(kChannelsLast);
  const auto sc = s.contiguous();
  const int64_t pixels = x.size(2) * x.size(3), c = x.size(1);
  if (x.scalar_type() == torch::kDouble)
    kernels::scale_channels_and_dot<double>(ptr<double>(x), ptr<double>(g_u), ptr<double>(sc), mut<double>(g_u),
                                            mut<double>(dot), pixels, c);
  else
    kernels::scale_channels_and_dot<float>(ptr<float>(x), ptr<float>(g_u), ptr<float>(sc), mut<float>(g_u),
                                           mut<float>(dot), pixels, c);
}

// The FIR adjoint of g [N,C,2H,2W] (channels-last): the transposed convolution's output gradient,
// [N,C,2H+1,2W+1].
Tensor fir_adjoint(const Tensor& g, int64_t h, int64_t w) {
  const int64_t n = g.size(0), c = g.size(1);
  auto out = torch::empty({n, c, 2 * h + 1, 2 * w + 1}, g.options().memory_format(kChannelsLast));
  for (int64_t i = 0; i < n; ++i) {
    if (g.scalar_type() == torch::kDouble)
      kernels::fir_adjoint_nhwc<double>(ptr<double>(g[i]), mut<double>(out[i]), h, w, c);
    else
      kernels::fir_adjoint_nhwc<float>(ptr<float>(g[i]), mut<float>(out[i]), h, w, c);
  }
  return out;
}

// Sub-kernel rows (or columns) of the up-convolution's phases: phase 0 takes taps {2, 0}, phase 1 {1}.
const std::array<std::vector<int64_t>, 2> kPhaseTaps = {std::vector<int64_t>{2, 0}, std::vector<int64_t>{1}};

// Input and (optionally) kernel gradients of the layer's convolution with kernel m [O,I,k,k] for its
// output gradient g_z. Returns {g_x, g_m}.
//   up = 1: g_x is the 'same' convolution of g_z with m transposed and flipped (oneDNN runs that
//           forward convolution ~30% faster than its own input-gradient routine), g_m oneDNN's
//           weight gradient;
//   up = 2: g_yt = the FIR's adjoint; g_x is one stride-2 convolution of g_yt with m transposed (3x
//           faster here than the four phases' input gradients); g_m the four phases' weight
//           gradients, each phase's g_yt rows and columns of its parity.
std::pair<Tensor, Tensor> convolution_grads(const Tensor& g_z, const Tensor& x, const Tensor& m, int up,
                                            bool want_x, bool want_m) {
  const int64_t k = m.size(2);
  Tensor g_x, g_m;
  if (up == 1) {
    if (want_x)
      g_x = torch::conv2d(g_z, m.transpose(0, 1).flip({2, 3}).contiguous(kChannelsLast), {}, 1, k / 2);
    if (want_m)
      g_m = std::get<1>(at::convolution_backward(g_z, x, m.contiguous(kChannelsLast), c10::nullopt, {1, 1},
                                                 {k / 2, k / 2}, {1, 1}, false, {0, 0}, 1, {false, true, false}));
    return {g_x, g_m};
  }
  const auto g_yt = fir_adjoint(g_z, x.size(2), x.size(3));
  if (want_x) g_x = torch::conv2d(g_yt, m.transpose(0, 1).contiguous(kChannelsLast), {}, 2);
  if (!want_m) return {g_x, g_m};
  g_m = torch::zeros_like(m);
  auto idx = [](const std::vector<int64_t>& v) { return torch::tensor(v, torch::kLong); };
  for (int a = 0; a < 2; ++a)
    for (int b = 0; b < 2; ++b) {
      const auto& rows = kPhaseTaps[a];
      const auto& cols = kPhaseTaps[b];
      auto sub = m.index_select(2, idx(rows)).index_select(3, idx(cols)).contiguous(kChannelsLast);
      auto g_phase = g_yt.slice(2, a, c10::nullopt, 2).slice(3, b, c10::nullopt, 2).contiguous(kChannelsLast);
      const int64_t pad_y = a == 0 ? 1 : 0, pad_x = b == 0 ? 1 : 0;
      auto g_sub = std::get<1>(at::convolution_backward(g_phase, x, sub, c10::nullopt, {1, 1}, {pad_y, pad_x}, {1, 1},
                                                        false, {0, 0}, 1, {false, true, false}));
      for (size_t r = 0; r < rows.size(); ++r)  // every tap belongs to exactly one phase
        for (size_t c = 0; c < cols.size(); ++c)
          g_m.select(2, rows[r]).select(2, cols[c]).copy_(g_sub.select(2, static_cast<int64_t>(r)).select(2, static_cast<int64_t>(c)));
    }
  return {g_x, g_m};
}

struct ModulatedConvBiasAct : torch::autograd::Function<ModulatedConvBiasAct> {
  // The backward as a differentiable graph (the path-length penalty differentiates a gradient): the
  // reference composition on the saved inputs, differentiated with create_graph. The kernels below
  // write plain memory and would cut that graph.
  static variable_list composition_backward(AutogradContext* ctx, const std::array<Tensor, 5>& in,
                                            const Tensor& g_out) {
    const auto act = ctx->saved_data["lrelu"].toBool() ? Activation::LeakyRelu : Activation::Linear;
    const auto out = modulated_conv_bias_act_reference(
        in[0], in[1], in[2], ctx->saved_data["demodulate"].toBool(), static_cast<int>(ctx->saved_data["up"].toInt()),
        in[3], act, ctx->saved_data["gain"].toDouble(), ctx->saved_data["clamp"].toDouble(), in[4]);
    std::vector<Tensor> wanted;
    std::vector<size_t> slots;
    for (size_t i = 0; i < in.size(); ++i)
      if (in[i].defined() && ctx->needs_input_grad(i)) {
        wanted.push_back(in[i]);
        slots.push_back(i);
      }
    variable_list result(10);
    if (wanted.empty()) return result;
    const auto g = torch::autograd::grad({out}, wanted, {g_out}, /*retain_graph=*/true, /*create_graph=*/true,
                                         /*allow_unused=*/true);
    for (size_t j = 0; j < slots.size(); ++j) result[slots[j]] = g[j];
    return result;
  }

  static Tensor forward(AutogradContext* ctx, const Tensor& x_in, const Tensor& weight, const Tensor& styles,
                        const Tensor& bias, const Tensor& noise_or_empty, bool demodulate, int64_t up, bool lrelu, double gain,
                        double clamp) {
    const auto x = x_in.contiguous(kChannelsLast);
    const auto noise = noise_or_empty.numel() > 0 ? noise_or_empty : Tensor();
    const auto act = lrelu ? Activation::LeakyRelu : Activation::Linear;
    const int up_i = static_cast<int>(up);
    Tensor out = x.scalar_type() == torch::kFloat
                     ? modulated_conv_bias_act_fast(x, weight, styles, demodulate, up_i, bias, act, gain, clamp, noise)
                     : modulated_conv_bias_act_reference(x, weight, styles, demodulate, up_i, bias, act, gain, clamp,
                                                         noise)
                           .contiguous(kChannelsLast);
    // The inputs themselves (a copy made here would have no graph for composition_backward).
    ctx->save_for_backward({x_in, weight, styles, bias, noise_or_empty, out});
    ctx->saved_data["demodulate"] = demodulate;
    ctx->saved_data["up"] = up;
    ctx->saved_data["lrelu"] = lrelu;
    ctx->saved_data["gain"] = gain;
    ctx->saved_data["clamp"] = clamp;
    return out;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const Tensor &out = saved[5];
    const Tensor noise_in = saved[4].numel() > 0 ? saved[4] : Tensor();
    const auto g_out = grads[0].contiguous(kChannelsLast);
    if (torch::GradMode::is_enabled())  // create_graph (a gradient penalty): differentiate the composition
      return composition_backward(ctx, {saved[0], saved[1], saved[2], saved[3], noise_in}, g_out);
    const Tensor x = saved[0].contiguous(kChannelsLast), weight = saved[1].contiguous(),
                 styles = saved[2].contiguous(), bias = saved[3].contiguous(),
                 noise = noise_in.defined() ? noise_in.contiguous() : noise_in;
    const bool demodulate = ctx->saved_data["demodulate"].toBool();
    const int up = static_cast<int>(ctx->saved_data["up"].toInt());
    const bool need_x = ctx->needs_input_grad(0), need_w = ctx->needs_input_grad(1), need_s = ctx->needs_input_grad(2),
               need_b = ctx->needs_input_grad(3), need_n = noise.defined() && ctx->needs_input_grad(4);
    const int64_t n = x.size(0), out_ch = weight.size(0);
    const auto opts = x.options();

    Tensor g_x = need_x && n > 1 ? torch::empty_like(x, kChannelsLast) : Tensor();  // n = 1: the result itself
    Tensor g_w = need_w ? torch::zeros_like(weight) : Tensor();
    Tensor g_s = need_s ? torch::empty_like(styles) : Tensor();
    Tensor g_b = torch::zeros({out_ch}, opts);
    Tensor g_n = need_n ? torch::zeros_like(noise) : Tensor();
    // Weights wanted: the weight gradient comes anyway, so g_s follows from it (see the top).
    const bool via_weight_grad = need_w;
    const bool need_conv = need_x || need_s || need_w;
    for (int64_t i = 0; i < n; ++i) {
      const auto s = styles[i];
      const auto s4 = s.reshape({1, -1, 1, 1});
      Tensor d4;
      if (demodulate) d4 = (weight.square() * s4.square()).sum({1, 2, 3}, true).add(1e-8).rsqrt();  // [O,1,1,1]
      const auto xi = x.narrow(0, i, 1);
      EpilogueBackward eb;
      eb.out = out.narrow(0, i, 1);
      eb.g_out = g_out.narrow(0, i, 1);
      eb.g_z = torch::empty_like(eb.out, kChannelsLast);
      eb.bias = bias;
      if (noise.defined()) eb.noise = noise.dim() == 2 ? noise : noise[i][0];
      if (!via_weight_grad && demodulate && need_conv) eb.scale = d4.reshape({-1}).contiguous();
      eb.lrelu = ctx->saved_data["lrelu"].toBool();
      eb.gain = ctx->saved_data["gain"].toDouble();
      eb.clamp = ctx->saved_data["clamp"].toDouble();
      eb.bias_sum = g_b;
      if (need_n) eb.noise_sum = noise.dim() == 2 ? g_n : g_n[i][0];  // the kernel adds into it
      if (!via_weight_grad && demodulate && need_s) eb.conv_sum = torch::zeros({out_ch}, opts);
      eb();
      if (!need_conv) continue;

      if (via_weight_grad) {
        const auto w_mod = weight * s4;  // W'
        const auto m = demodulate ? w_mod * d4 : w_mod;
        auto [gx, gm] = convolution_grads(eb.g_z, xi, m, up, need_x, true);
        if (need_x) n == 1 ? void(g_x = gx) : void(g_x.narrow(0, i, 1).copy_(gx));
        Tensor g_wmod = gm;
        if (demodulate) {
          const auto g_d = (gm * w_mod).sum({1, 2, 3}, true);
          g_wmod = gm * d4 - g_d * d4.pow(3) * w_mod;
        }
        g_w.add_(g_wmod * s4);
        if (need_s) g_s[i].copy_((g_wmod * weight).sum({0, 2, 3}));
        continue;
      }
      // g_z already carries d (the kernel's scale), so the plain weight serves every sample.
      auto [g_u, unused] = convolution_grads(eb.g_z, xi, weight, up, true, false);
      // One pass: g_x = g_u s (in place) and gs = sum_p x g_u.
      auto gs = torch::zeros({x.size(1)}, opts);
      scale_channels_and_dot(xi, g_u, s, gs);
      if (need_x) n == 1 ? void(g_x = g_u) : void(g_x.narrow(0, i, 1).copy_(g_u));
      if (need_s) {
        if (demodulate) {
          const auto d = d4.reshape({-1});
          const auto g_d_d3 = eb.conv_sum / d * d.pow(3);  // g_d[o] d[o]^3
          gs -= s * (g_d_d3.reshape({-1, 1}) * weight.square().sum({2, 3})).sum(0);
        }
        g_s[i].copy_(gs);
      }
    }
    return {g_x, g_w, g_s, need_b ? g_b : Tensor(), g_n, Tensor(), Tensor(), Tensor(), Tensor(), Tensor()};
  }
};

struct Upsample2dAdd : torch::autograd::Function<Upsample2dAdd> {
  static Tensor forward(AutogradContext* ctx, const Tensor& img, const Tensor& y) {
    ctx->saved_data["h"] = img.size(2);
    ctx->saved_data["w"] = img.size(3);
    if (img.scalar_type() != torch::kFloat) return (upsample2d(img) + y).contiguous(kChannelsLast);
    auto out = y.clone(kChannelsLast);
    return upsample2d_add_fused(img, out);
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto g = grads[0].contiguous(kChannelsLast);
    const int64_t h = ctx->saved_data["h"].toInt(), w = ctx->saved_data["w"].toInt(), n = g.size(0), c = g.size(1);
    Tensor g_img;
    if (ctx->needs_input_grad(0) && torch::GradMode::is_enabled()) {
      // create_graph: the adjoint as differentiable ops (the op is linear, so any point will do).
      auto at = torch::zeros({n, c, h, w}, g.options()).requires_grad_(true);
      g_img = torch::autograd::grad({upsample2d(at)}, {at}, {g}, true, true)[0];
    } else if (ctx->needs_input_grad(0)) {
      // The image upsampling's adjoint: the FIR adjoint's odd rows and columns.
      g_img = fir_adjoint(g, h, w).slice(2, 1, c10::nullopt, 2).slice(3, 1, c10::nullopt, 2);
    }
    return {g_img, ctx->needs_input_grad(1) ? g : Tensor()};
  }
};

}  // namespace

Tensor modulated_conv_bias_act_autograd(const Tensor& x, const Tensor& weight, const Tensor& styles, bool demodulate,
                                        int up, const Tensor& bias, Activation act, double gain, double clamp,
                                        const Tensor& noise) {
  // A custom function's inputs must all be defined: no noise travels as an empty tensor.
  const auto noise_or_empty = noise.defined() ? noise : torch::empty({0}, x.options());
  return ModulatedConvBiasAct::apply(x, weight, styles, bias, noise_or_empty, demodulate, static_cast<int64_t>(up),
                                     act == Activation::LeakyRelu, gain, clamp);
}

Tensor upsample2d_add_autograd(const Tensor& img, const Tensor& y) { return Upsample2dAdd::apply(img, y); }

}  // namespace faceedit::nn::detail
