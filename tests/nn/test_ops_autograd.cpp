// The fused paths under autograd (src/nn/fused_autograd.cpp) against the reference composition's
// autograd, in float64 with a tight bound and in float32, and against central differences; each
// path called explicitly (modulated_conv_bias_act_fused / _reference), or selected by
// ReferenceOpsGuard for a whole generator.
#include <gtest/gtest.h>

#include "faceedit/models/stylegan2.h"
#include "faceedit/nn/ops.h"
#include "test_support.h"

using namespace faceedit::nn;

namespace {

struct Layer {
  torch::Tensor x, weight, styles, bias, noise;
  bool demodulate;
  int up;
  Activation act;
  double gain, clamp;
  std::vector<torch::Tensor> inputs() const {
    std::vector<torch::Tensor> v{x, weight, styles, bias};
    if (noise.defined()) v.push_back(noise);
    return v;
  }
};

// A random layer; `wanted` says which inputs require grad (x, weight, styles, bias, noise).
Layer random_layer(torch::ScalarType type, int up, int64_t n, int noise_kind, Activation act, bool demodulate,
                   int64_t k, std::array<bool, 5> wanted) {
  const int64_t ci = 5, co = 6, h = 5, w = 7;
  auto o = torch::TensorOptions().dtype(type);
  Layer l;
  l.x = torch::randn({n, ci, h, w}, o).requires_grad_(wanted[0]);
  l.weight = torch::randn({co, ci, k, k}, o).requires_grad_(wanted[1]);
  l.styles = (torch::randn({n, ci}, o) + 1).requires_grad_(wanted[2]);
  l.bias = torch::randn({co}, o).requires_grad_(wanted[3]);
  if (noise_kind == 2) l.noise = torch::randn({h * up, w * up}, o).requires_grad_(wanted[4]);
  if (noise_kind == 4) l.noise = torch::randn({n, 1, h * up, w * up}, o).requires_grad_(wanted[4]);
  l.demodulate = demodulate;
  l.up = up;
  l.act = act;
  l.gain = act == Activation::LeakyRelu ? std::sqrt(2.0) : 1.0;
  // A clamp some outputs reach (the gradient is 0 there on both paths).
  l.clamp = act == Activation::LeakyRelu ? 2.0 : -1.0;
  return l;
}

torch::Tensor run(const Layer& l, bool fused) {
  auto f = fused ? modulated_conv_bias_act_fused : modulated_conv_bias_act_reference;
  return f(l.x, l.weight, l.styles, l.demodulate, l.up, l.bias, l.act, l.gain, l.clamp, l.noise, torch::kFloat32);
}

// Gradients of sum(out * probe) w.r.t. the inputs that require grad (others: undefined).
std::vector<torch::Tensor> grads(const Layer& l, bool fused, const torch::Tensor& probe) {
  std::vector<torch::Tensor> wanted, all = l.inputs();
  for (auto& t : all)
    if (t.requires_grad()) wanted.push_back(t);
  auto g = torch::autograd::grad({(run(l, fused) * probe).sum()}, wanted);
  std::vector<torch::Tensor> out;
  size_t j = 0;
  for (auto& t : all) out.push_back(t.requires_grad() ? g[j++] : torch::Tensor());
  return out;
}

double rel_err(const torch::Tensor& got, const torch::Tensor& want) {
  return (got - want).abs().max().item<double>() / std::max(want.abs().max().item<double>(), 1e-30);
}

const char* kNames[] = {"x", "weight", "styles", "bias", "noise"};

// Every combination the synthesis network uses, and both backward regimes: weights wanted
// (fine-tuning: the weight-gradient route) and weights fixed (inversion: the input-gradient route).
void expect_fused_backward_matches_reference(torch::ScalarType type, double tol) {
  torch::manual_seed(11);
  int cases = 0;
  for (int up : {1, 2})
    for (int64_t n : {1, 2})
      for (int noise_kind : {0, 2, 4})
        for (auto act : {Activation::Linear, Activation::LeakyRelu})
          for (bool demodulate : {true, false})
            for (bool tune : {true, false}) {
              const int64_t k = up == 2 ? 3 : (act == Activation::Linear && !demodulate ? 1 : 3);
              auto l = random_layer(type, up, n, noise_kind, act, demodulate, k, {true, tune, true, true, true});
              auto probe = torch::randn_like(run(l, false));
              auto want = grads(l, false, probe), got = grads(l, true, probe);
              for (size_t i = 0; i < want.size(); ++i) {
                ASSERT_EQ(got[i].defined(), want[i].defined()) << kNames[i];
                if (!want[i].defined()) continue;
                ASSERT_EQ(got[i].sizes(), want[i].sizes()) << kNames[i];
                EXPECT_LE(rel_err(got[i], want[i]), tol)
                    << kNames[i] << ": up " << up << " n " << n << " noise " << noise_kind << " lrelu "
                    << (act == Activation::LeakyRelu) << " demod " << demodulate << " tune " << tune;
              }
              ++cases;
            }
  EXPECT_EQ(cases, 96);
}

}  // namespace

TEST(OpsAutograd, FusedBackwardMatchesReferenceInFloat64) {
  expect_fused_backward_matches_reference(torch::kFloat64, 1e-11);
}

TEST(OpsAutograd, FusedBackwardMatchesReferenceInFloat32) {
  expect_fused_backward_matches_reference(torch::kFloat32, 2e-5);
}

// Directional derivatives of sum(out * probe) along random directions of each input, by central
// differences in float64, against the fused backward.
TEST(OpsAutograd, FusedBackwardMatchesFiniteDifferences) {
  torch::manual_seed(12);
  for (int up : {1, 2})
    for (bool tune : {true, false}) {
      auto l = random_layer(torch::kFloat64, up, 2, 2, Activation::LeakyRelu, true, 3, {true, tune, true, true, true});
      l.clamp = 1e6;  // no clamp kink within a difference step
      auto probe = torch::randn_like(run(l, false));
      auto g = grads(l, true, probe);
      for (size_t i = 0; i < g.size(); ++i) {
        if (!g[i].defined()) continue;
        auto inputs = l.inputs();
        auto dir = torch::randn_like(inputs[i]);
        const double eps = 1e-6;
        auto loss_at = [&](double t) {
          torch::NoGradGuard no_grad;
          Layer m = l;
          std::vector<torch::Tensor*> slots{&m.x, &m.weight, &m.styles, &m.bias, &m.noise};
          *slots[i] = inputs[i].detach() + t * dir;
          return (run(m, false) * probe).sum().item<double>();  // the forward both paths share in float64
        };
        const double fd = (loss_at(eps) - loss_at(-eps)) / (2 * eps);
        const double ad = (g[i] * dir).sum().item<double>();
        EXPECT_NEAR(ad, fd, 1e-6 * std::max(1.0, std::abs(fd))) << kNames[i] << " up " << up << " tune " << tune;
      }
    }
}

TEST(OpsAutograd, FusedUpsampleAddBackwardMatchesReference) {
  torch::manual_seed(13);
  for (auto type : {torch::kFloat64, torch::kFloat32})
    for (int64_t n : {1, 2}) {
      auto img = torch::randn({n, 3, 5, 7}, type).requires_grad_(true);
      auto y = torch::randn({n, 3, 10, 14}, type).requires_grad_(true);
      auto probe = torch::randn({n, 3, 10, 14}, type);
      auto want = torch::autograd::grad({((upsample2d(img) + y) * probe).sum()}, {img, y});
      const auto y_before = y.detach().clone();
      auto out = upsample2d_add_fused(img, y);
      EXPECT_LE(rel_err(out, upsample2d(img) + y), type == torch::kFloat64 ? 1e-14 : 1e-6);
      auto got = torch::autograd::grad({(out * probe).sum()}, {img, y});
      const double tol = type == torch::kFloat64 ? 1e-14 : 1e-6;
      EXPECT_LE(rel_err(got[0], want[0]), tol) << "img, n " << n;
      EXPECT_LE(rel_err(got[1], want[1]), tol) << "y, n " << n;
      EXPECT_TRUE(torch::equal(y.detach(), y_before));  // y was not written in place
    }
}

// The dispatcher takes the custom function under autograd, and the composition under the guard.
TEST(OpsAutograd, DispatcherAndGuardSelectThePath) {
  auto l = random_layer(torch::kFloat32, 2, 1, 2, Activation::LeakyRelu, true, 3, {true, false, true, false, false});
  auto node_name = [&] {
    return modulated_conv_bias_act(l.x, l.weight, l.styles, l.demodulate, l.up, l.bias, l.act, l.gain, l.clamp, l.noise)
        .grad_fn()
        ->name();
  };
  EXPECT_NE(node_name().find("ModulatedConvBiasAct"), std::string::npos) << node_name();
  {
    ReferenceOpsGuard reference;
    EXPECT_TRUE(reference_ops_forced());
    EXPECT_EQ(node_name().find("ModulatedConvBiasAct"), std::string::npos) << node_name();
  }
  EXPECT_FALSE(reference_ops_forced());
}

// A whole generator: an inversion step (gradient w.r.t. W+) and a fine-tuning step (w.r.t. every
// synthesis weight) on the fused paths against the reference composition, float64 and float32.
TEST(OpsAutograd, GeneratorGradientsMatchTheReferenceComposition) {
  const auto c = faceedit::test::small_stylegan2_config();
  for (auto type : {torch::kFloat64, torch::kFloat32}) {
    faceedit::models::StyleGAN2 g(c, 3);
    for (auto& t : g.named_tensors()) {
      torch::NoGradGuard no_grad;
      if (t.key().find("noise_strength") != std::string::npos) t.value().fill_(0.3);
    }
    g.to(torch::kCPU, type);
    torch::Tensor ws, target;
    {
      torch::NoGradGuard no_grad;
      ws = g.map(g.sample_z(2, 1).to(type));
      target = g.synthesize(g.map(g.sample_z(2, 2).to(type)));
    }
    ws.requires_grad_(true);
    std::vector<torch::Tensor> weights;
    for (auto& t : g.parameters()) weights.push_back(t);
    auto step = [&](bool reference, bool tune) {
      std::unique_ptr<ReferenceOpsGuard> guard;
      if (reference) guard = std::make_unique<ReferenceOpsGuard>();
      auto loss = (g.synthesize(ws, faceedit::models::NoiseMode::Const) - target).square().mean();
      return torch::autograd::grad({loss}, tune ? weights : std::vector<torch::Tensor>{ws}, {}, c10::nullopt, false,
                                   /*allow_unused=*/true);
    };
    const double tol = type == torch::kFloat64 ? 1e-10 : 1e-4;
    for (bool tune : {false, true}) {
      auto want = step(true, tune), got = step(false, tune);
      for (size_t i = 0; i < want.size(); ++i) {
        ASSERT_EQ(got[i].defined(), want[i].defined());
        if (want[i].defined()) EXPECT_LE(rel_err(got[i], want[i]), tol) << "tensor " << i << " tune " << tune;
      }
    }
  }
}

// A gradient penalty differentiates a gradient (create_graph): the custom function's backward is
// then the composition's, so second derivatives match the reference path.
TEST(OpsAutograd, SecondDerivativesMatchTheReference) {
  torch::manual_seed(14);
  for (int up : {1, 2}) {
    auto l = random_layer(torch::kFloat64, up, 2, 2, Activation::LeakyRelu, true, 3, {true, true, true, true, true});
    auto probe = torch::randn_like(run(l, false));
    auto penalty_grads = [&](bool fused) {
      auto g = torch::autograd::grad({(run(l, fused) * probe).sum()}, {l.x}, {}, true, true)[0];
      return torch::autograd::grad({g.square().sum()}, {l.weight, l.styles}, {}, c10::nullopt, false, true);
    };
    auto want = penalty_grads(false), got = penalty_grads(true);
    for (size_t i = 0; i < want.size(); ++i) {
      ASSERT_TRUE(got[i].defined()) << i;
      EXPECT_LE(rel_err(got[i], want[i]), 1e-11) << "input " << i << " up " << up;
    }
  }
}

TEST(OpsAutograd, UpsampleAddSecondDerivativesMatchTheReference) {
  torch::manual_seed(15);
  auto img = torch::randn({2, 3, 4, 5}, torch::kFloat64).requires_grad_(true);
  auto y = torch::randn({2, 3, 8, 10}, torch::kFloat64).requires_grad_(true);
  auto scale = torch::randn({2, 3, 8, 10}, torch::kFloat64).requires_grad_(true);
  auto penalty_grad = [&](bool fused) {
    auto out = fused ? upsample2d_add_fused(img, y) : upsample2d(img) + y;
    // The outer gradient depends on `scale`, so the penalty's derivative w.r.t. it runs through
    // the adjoint's own backward.
    auto g = torch::autograd::grad({(out.square() * scale).sum()}, {img}, {}, true, true)[0];
    return torch::autograd::grad({g.square().sum()}, {scale})[0];
  };
  EXPECT_LE(rel_err(penalty_grad(true), penalty_grad(false)), 1e-12);
}
