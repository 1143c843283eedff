// StyleGAN2 ops against naive loop implementations written from the definitions (float64), and
// the fused inference kernels against the differentiable reference path.
#include <gtest/gtest.h>

#include "faceedit/error.h"
#include "faceedit/nn/ops.h"

using namespace faceedit::nn;
using faceedit::Error;

namespace {

// Zero-insert upsampling by `up`, pad (negative crops), correlate with the 4x4 [1,3,3,1] filter x gain.
torch::Tensor naive_upfirdn2d(const torch::Tensor& x, int up, int px0, int px1, int py0, int py1, double gain) {
  const double f1[4] = {1, 3, 3, 1};
  const int64_t n = x.size(0), c = x.size(1), h = x.size(2) * up, w = x.size(3) * up;
  const int64_t oh = h + py0 + py1 - 3, ow = w + px0 + px1 - 3;
  auto out = torch::zeros({n, c, oh, ow}, torch::kFloat64);
  auto xa = x.accessor<double, 4>();
  auto oa = out.accessor<double, 4>();
  for (int64_t b = 0; b < n; ++b)
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t oy = 0; oy < oh; ++oy)
        for (int64_t ox = 0; ox < ow; ++ox) {
          double s = 0;
          for (int ky = 0; ky < 4; ++ky)
            for (int kx = 0; kx < 4; ++kx) {
              const int64_t uy = oy + ky - py0, ux = ox + kx - px0;  // position in the upsampled image
              if (uy < 0 || ux < 0 || uy >= h || ux >= w || uy % up || ux % up) continue;
              s += xa[b][ch][uy / up][ux / up] * f1[ky] * f1[kx] / 64.0;
            }
          oa[b][ch][oy][ox] = s * gain;
        }
  return out;
}

// FIR [1,3,3,1] on the zero-padded image, sampled at every second position: out[i][j] =
// sum f[a] f[b] xpad[2i + a][2j + b] (NVIDIA's upfirdn2d with down = 2).
torch::Tensor naive_fir_down2(const torch::Tensor& x, int pad) {
  const double f1[4] = {1, 3, 3, 1};
  const int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  const int64_t oh = (h + 2 * pad - 4) / 2 + 1, ow = (w + 2 * pad - 4) / 2 + 1;
  auto out = torch::zeros({n, c, oh, ow}, torch::kFloat64);
  auto xa = x.accessor<double, 4>();
  auto oa = out.accessor<double, 4>();
  for (int64_t b = 0; b < n; ++b)
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t oy = 0; oy < oh; ++oy)
        for (int64_t ox = 0; ox < ow; ++ox) {
          double s = 0;
          for (int ky = 0; ky < 4; ++ky)
            for (int kx = 0; kx < 4; ++kx) {
              const int64_t iy = 2 * oy + ky - pad, ix = 2 * ox + kx - pad;
              if (iy >= 0 && ix >= 0 && iy < h && ix < w) s += xa[b][ch][iy][ix] * f1[ky] * f1[kx] / 64.0;
            }
          oa[b][ch][oy][ox] = s;
        }
  return out;
}

// Plain cross-correlation with zero padding `pad` (torch.nn.functional.conv2d's definition).
torch::Tensor naive_conv2d(const torch::Tensor& x, const torch::Tensor& w, int64_t pad) {
  const int64_t n = x.size(0), ci = x.size(1), h = x.size(2), wd = x.size(3), co = w.size(0), k = w.size(2);
  const int64_t oh = h + 2 * pad - k + 1, ow = wd + 2 * pad - k + 1;
  auto out = torch::zeros({n, co, oh, ow}, torch::kFloat64);
  auto xa = x.accessor<double, 4>();
  auto wa = w.accessor<double, 4>();
  auto oa = out.accessor<double, 4>();
  for (int64_t b = 0; b < n; ++b)
    for (int64_t o = 0; o < co; ++o)
      for (int64_t y = 0; y < oh; ++y)
        for (int64_t xx = 0; xx < ow; ++xx) {
          double s = 0;
          for (int64_t c = 0; c < ci; ++c)
            for (int64_t ky = 0; ky < k; ++ky)
              for (int64_t kx = 0; kx < k; ++kx) {
                const int64_t iy = y + ky - pad, ix = xx + kx - pad;
                if (iy >= 0 && ix >= 0 && iy < h && ix < wd) s += xa[b][c][iy][ix] * wa[o][c][ky][kx];
              }
          oa[b][o][y][xx] = s;
        }
  return out;
}

// Per-sample modulated weights built explicitly, then direct convolution loops.
torch::Tensor naive_modconv(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& styles,
                            bool demodulate, int up) {
  const int64_t n = x.size(0), ci = x.size(1), h = x.size(2), w = x.size(3);
  const int64_t co = weight.size(0), k = weight.size(2);
  std::vector<torch::Tensor> outs;
  for (int64_t b = 0; b < n; ++b) {
    auto wm = weight * styles[b].reshape({1, ci, 1, 1});
    if (demodulate) wm = wm / (wm.square().sum({1, 2, 3}, true) + 1e-8).sqrt();
    auto wa = wm.accessor<double, 4>();
    auto xb = x[b];
    auto xa = xb.accessor<double, 3>();
    if (up == 1) {
      auto o = torch::zeros({1, co, h, w}, torch::kFloat64);
      auto oa = o.accessor<double, 4>();
      for (int64_t oc = 0; oc < co; ++oc)
        for (int64_t y = 0; y < h; ++y)
          for (int64_t xx = 0; xx < w; ++xx) {
            double s = 0;
            for (int64_t c = 0; c < ci; ++c)
              for (int64_t ky = 0; ky < k; ++ky)
                for (int64_t kx = 0; kx < k; ++kx) {
                  const int64_t iy = y + ky - k / 2, ix = xx + kx - k / 2;
                  if (iy >= 0 && ix >= 0 && iy < h && ix < w) s += xa[c][iy][ix] * wa[oc][c][ky][kx];
                }
            oa[0][oc][y][xx] = s;
          }
      outs.push_back(o);
    } else {
      // Transposed conv, stride 2: each input pixel scatters its kernel at (2y + ky, 2x + kx).
      auto t = torch::zeros({1, co, 2 * h + k - 2, 2 * w + k - 2}, torch::kFloat64);
      auto ta = t.accessor<double, 4>();
      for (int64_t oc = 0; oc < co; ++oc)
        for (int64_t c = 0; c < ci; ++c)
          for (int64_t y = 0; y < h; ++y)
            for (int64_t xx = 0; xx < w; ++xx)
              for (int64_t ky = 0; ky < k; ++ky)
                for (int64_t kx = 0; kx < k; ++kx) ta[0][oc][2 * y + ky][2 * xx + kx] += xa[c][y][xx] * wa[oc][c][ky][kx];
      outs.push_back(naive_upfirdn2d(t, 1, 1, 1, 1, 1, 4.0));
    }
  }
  return torch::cat(outs);
}

}  // namespace

TEST(Ops, Upfirdn2dMatchesDefinition) {
  torch::manual_seed(1);
  auto x = torch::randn({2, 3, 5, 6}, torch::kFloat64);
  EXPECT_TRUE(torch::allclose(upfirdn2d(x, 2, 2, 1, 2, 1, 4.0), naive_upfirdn2d(x, 2, 2, 1, 2, 1, 4.0), 1e-10, 1e-12));
  EXPECT_TRUE(torch::allclose(upfirdn2d(x, 1, 1, 1, 1, 1, 4.0), naive_upfirdn2d(x, 1, 1, 1, 1, 1, 4.0), 1e-10, 1e-12));
  EXPECT_TRUE(torch::allclose(upfirdn2d(x, 1, -1, 2, 0, -1, 1.0), naive_upfirdn2d(x, 1, -1, 2, 0, -1, 1.0), 1e-10, 1e-12));
  EXPECT_EQ(upsample2d(x).sizes(), torch::IntArrayRef({2, 3, 10, 12}));
  // Upsampling a constant image keeps it constant away from the borders.
  auto ones = upsample2d(torch::ones({1, 1, 6, 6}, torch::kFloat64));
  EXPECT_NEAR(ones[0][0][5][5].item<double>(), 1.0, 1e-12);
}

// The discriminator's resampling: downsample2d = FIR then every second sample (padding 1);
// conv2d_down2 = conv with padding 2 then FIR-down without padding (k = 3), or FIR-down then a
// 1x1 conv (k = 1), as conv2d_resample does it.
TEST(Ops, DownsamplingMatchesDefinition) {
  torch::manual_seed(4);
  auto x = torch::randn({2, 3, 8, 8}, torch::kFloat64);
  auto down = downsample2d(x);
  ASSERT_EQ(down.sizes(), (std::vector<int64_t>{2, 3, 4, 4}));
  EXPECT_TRUE(torch::allclose(down, naive_fir_down2(x, 1), 1e-10, 1e-12));
  auto w3 = torch::randn({5, 3, 3, 3}, torch::kFloat64);
  auto got3 = conv2d_down2(x, w3);
  ASSERT_EQ(got3.sizes(), (std::vector<int64_t>{2, 5, 4, 4}));
  EXPECT_TRUE(torch::allclose(got3, naive_fir_down2(naive_conv2d(x, w3, 2), 0), 1e-10, 1e-12));
  auto w1 = torch::randn({5, 3, 1, 1}, torch::kFloat64);
  EXPECT_TRUE(torch::allclose(conv2d_down2(x, w1), naive_conv2d(naive_fir_down2(x, 1), w1, 0), 1e-10, 1e-12));
  EXPECT_THROW(conv2d_down2(x, torch::randn({5, 3, 5, 5}, torch::kFloat64)), Error);
}

TEST(Ops, ModulatedConvMatchesDefinition) {
  torch::manual_seed(2);
  for (int up : {1, 2})
    for (bool demod : {true, false}) {
      auto x = torch::randn({2, 4, 5, 5}, torch::kFloat64);
      auto w = torch::randn({3, 4, 3, 3}, torch::kFloat64);
      auto s = torch::randn({2, 4}, torch::kFloat64);
      auto got = modulated_conv2d(x, w, s, demod, up);
      auto want = naive_modconv(x, w, s, demod, up);
      ASSERT_EQ(got.sizes(), want.sizes()) << "up " << up;
      EXPECT_TRUE(torch::allclose(got, want, 1e-9, 1e-11)) << "up " << up << " demod " << demod;
    }
  auto x = torch::randn({2, 4, 5, 5}, torch::kFloat64);
  auto w1 = torch::randn({3, 4, 1, 1}, torch::kFloat64);
  auto s = torch::randn({2, 4}, torch::kFloat64);
  EXPECT_TRUE(torch::allclose(modulated_conv2d(x, w1, s, false, 1), naive_modconv(x, w1, s, false, 1), 1e-9, 1e-11));
}

// bias_act against its definition, element by element.
TEST(Ops, BiasActMatchesDefinition) {
  torch::manual_seed(3);
  for (auto act : {Activation::Linear, Activation::LeakyRelu}) {
    auto x = torch::randn({2, 5, 7, 9}, torch::kFloat64) * 100;
    auto b = torch::randn({5}, torch::kFloat64);
    auto noise = torch::randn({7, 9}, torch::kFloat64);
    auto got = bias_act(x, b, act, std::sqrt(2.0), 256, noise);
    auto xa = x.accessor<double, 4>(), ga = got.accessor<double, 4>();
    auto ba = b.accessor<double, 1>();
    auto na = noise.accessor<double, 2>();
    for (int64_t n = 0; n < 2; ++n)
      for (int64_t c = 0; c < 5; ++c)
        for (int64_t y = 0; y < 7; ++y)
          for (int64_t i = 0; i < 9; ++i) {
            double v = xa[n][c][y][i] + na[y][i] + ba[c];
            if (act == Activation::LeakyRelu && v < 0) v *= 0.2;
            v = std::min(256.0, std::max(-256.0, v * std::sqrt(2.0)));
            ASSERT_NEAR(ga[n][c][y][i], v, 1e-9);
          }
  }
}

TEST(Ops, BiasActIsDifferentiable) {
  auto x = torch::randn({1, 2, 3, 3}, torch::TensorOptions().dtype(torch::kFloat64).requires_grad(true));
  auto b = torch::randn({2}, torch::kFloat64);
  auto y = bias_act(x, b, Activation::LeakyRelu, 2.0, -1).sum();
  auto g = torch::autograd::grad({y}, {x})[0];
  auto pre = (x + b.reshape({1, 2, 1, 1})).detach();
  auto expected = torch::where(pre > 0, torch::full_like(pre, 2.0), torch::full_like(pre, 0.4));
  EXPECT_TRUE(torch::allclose(g, expected));
}

// The fused inference path (channels-last, four-phase transposed conv, one-pass epilogue) against
// the differentiable reference composition, on random data with a fixed seed.
TEST(Ops, FusedModulatedConvMatchesReference) {
  torch::manual_seed(4);
  for (int up : {1, 2})
    for (int64_t n : {1, 3})
      for (int noise_kind : {0, 2, 4})
        for (auto act : {Activation::Linear, Activation::LeakyRelu}) {
          const int64_t ci = 5, co = 7, h = 6, w = 9, k = 3;
          auto x = torch::randn({n, ci, h, w});
          auto weight = torch::randn({co, ci, k, k});
          auto styles = torch::randn({n, ci}) + 1;
          auto bias = torch::randn({co});
          torch::Tensor noise;
          if (noise_kind == 2) noise = torch::randn({h * up, w * up});
          if (noise_kind == 4) noise = torch::randn({n, 1, h * up, w * up});
          const double clamp = act == Activation::LeakyRelu ? 1.5 : -1;
          auto want = modulated_conv_bias_act_reference(x, weight, styles, true, up, bias, act, std::sqrt(2.0), clamp, noise);
          torch::Tensor got;
          {
            torch::NoGradGuard no_grad;
            got = modulated_conv_bias_act_fused(x, weight, styles, true, up, bias, act, std::sqrt(2.0), clamp, noise);
          }
          ASSERT_EQ(got.sizes(), want.sizes());
          EXPECT_LE((got - want).abs().max().item<double>(), 1e-4 * want.abs().max().item<double>())
              << "up " << up << " n " << n << " noise " << noise_kind;
        }
  // 1x1 (toRGB) without demodulation.
  auto x = torch::randn({2, 8, 5, 5});
  auto weight = torch::randn({3, 8, 1, 1});
  auto styles = torch::randn({2, 8});
  auto bias = torch::randn({3});
  auto want = modulated_conv_bias_act_reference(x, weight, styles, false, 1, bias, Activation::Linear, 1.0, 2.0);
  torch::NoGradGuard no_grad;
  auto got = modulated_conv_bias_act_fused(x, weight, styles, false, 1, bias, Activation::Linear, 1.0, 2.0);
  EXPECT_LE((got - want).abs().max().item<double>(), 1e-5 * want.abs().max().item<double>());
}

// Channel counts where the kernels' vector bodies (16 floats) run, with and without a tail.
TEST(Ops, FusedModulatedConvMatchesReferenceAtVectorWidths) {
  torch::manual_seed(6);
  for (int up : {1, 2})
    for (int64_t n : {1, 2})
      for (int64_t co : {32, 37}) {
        const int64_t ci = 48, h = 5, w = 7;
        auto x = torch::randn({n, ci, h, w});
        auto weight = torch::randn({co, ci, 3, 3});
        auto styles = torch::randn({n, ci}) + 1;
        auto bias = torch::randn({co});
        auto noise = torch::randn({h * up, w * up});
        auto want = modulated_conv_bias_act_reference(x, weight, styles, true, up, bias, Activation::LeakyRelu,
                                                      std::sqrt(2.0), 0.8, noise);
        torch::NoGradGuard no_grad;
        auto got = modulated_conv_bias_act_fused(x, weight, styles, true, up, bias, Activation::LeakyRelu, std::sqrt(2.0),
                                                 0.8, noise);
        EXPECT_LE((got - want).abs().max().item<double>(), 1e-4 * want.abs().max().item<double>())
            << "up " << up << " n " << n << " co " << co;
      }
}

TEST(Ops, FusedUpsampleAddMatchesReference) {
  torch::manual_seed(5);
  for (int64_t n : {1, 2}) {
    auto img = torch::randn({n, 3, 5, 7});
    auto y = torch::randn({n, 3, 10, 14}).contiguous(torch::MemoryFormat::ChannelsLast);
    auto want = upsample2d(img) + y;
    torch::NoGradGuard no_grad;
    auto got = upsample2d_add_fused(img, y.clone(torch::MemoryFormat::ChannelsLast));
    EXPECT_LE((got - want).abs().max().item<double>(), 1e-5);
  }
}

// The dispatchers pick the fused path only where it applies: for inputs the kernels do not take they
// fall back to the reference (and the fused entry points refuse). Under autograd the fused path is
// the custom function (tests/nn/test_ops_autograd.cpp).
TEST(Ops, DispatchersFallBackWhereTheFusedPathDoesNotApply) {
  auto x = torch::randn({1, 4, 5, 5});
  auto weight = torch::randn({3, 4, 3, 3});
  auto styles = torch::randn({1, 4});
  auto bias = torch::randn({3});
  EXPECT_FALSE(modulated_conv_bias_act_fusable(x.to(torch::kDouble), weight, styles, 1, bias));
  EXPECT_FALSE(modulated_conv_bias_act_fusable(x, torch::randn({3, 4, 5, 5}), styles, 2, bias));
  EXPECT_THROW(modulated_conv_bias_act_fused(x, weight, styles, true, 1, {}, Activation::Linear, 1.0, -1), Error);
  auto xg = x.clone().requires_grad_(true);
  EXPECT_TRUE(modulated_conv_bias_act_fusable(xg, weight, styles, 1, bias));
  EXPECT_FALSE(modulated_conv_bias_act_fusable(xg.to(torch::kHalf), weight.to(torch::kHalf), styles.to(torch::kHalf), 1,
                                               bias.to(torch::kHalf)));
  auto got = modulated_conv_bias_act(xg, weight, styles, true, 1, bias, Activation::Linear, 1.0, -1);
  EXPECT_TRUE(got.requires_grad());
  EXPECT_FALSE(upsample2d_add_fusable(torch::randn({1, 3, 4, 4}), torch::randn({1, 3, 8, 8})));  // y not channels-last
  torch::NoGradGuard no_grad;
  EXPECT_TRUE(modulated_conv_bias_act_fusable(x, weight, styles, 1, bias));
}
