// StyleGAN3's resampling ops: upfirdn2d_filter against naive loops over the definition; the
// polyphase filtered_lrelu against the reference composition (each path called by name); the
// dispatcher's choice; filter design against closed forms.
#include <gtest/gtest.h>

#include "faceedit/nn/filtered_lrelu.h"
#include "faceedit/nn/ops.h"
#include "test_support.h"

using namespace faceedit;

namespace {

// upfirdn2d by its definition: insert zeros, pad/crop, correlate with the flipped filter (i.e.
// convolve), keep every down-th sample. Loops in double.
torch::Tensor naive_upfirdn2d(const torch::Tensor& x, const torch::Tensor& f_in, int64_t up, int64_t down,
                              const nn::Padding4& p, double gain) {
  const int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  auto f2 = f_in.dim() == 1 ? torch::outer(f_in, f_in) : f_in;
  f2 = f2.to(torch::kFloat64) * gain;
  const int64_t k = f2.size(0);
  const int64_t uh = h * up + p[2] + p[3], uw = w * up + p[0] + p[1];
  const int64_t oh = (uh - k) / down + 1, ow = (uw - k) / down + 1;
  auto out = torch::zeros({n, c, oh, ow}, torch::kFloat64);
  const auto x64 = x.to(torch::kFloat64).contiguous();
  auto xa = x64.accessor<double, 4>();
  auto fa = f2.accessor<double, 2>();
  auto oa = out.accessor<double, 4>();
  auto z = [&](int64_t b, int64_t ch, int64_t yy, int64_t xx) -> double {  // padded zero-inserted signal
    const int64_t uy = yy - p[2], ux = xx - p[0];
    if (uy < 0 || ux < 0 || uy >= h * up || ux >= w * up || uy % up || ux % up) return 0.0;
    return xa[b][ch][uy / up][ux / up];
  };
  for (int64_t b = 0; b < n; ++b)
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t oy = 0; oy < oh; ++oy)
        for (int64_t ox = 0; ox < ow; ++ox) {
          double s = 0;
          for (int64_t i = 0; i < k; ++i)
            for (int64_t j = 0; j < k; ++j) s += fa[k - 1 - i][k - 1 - j] * z(b, ch, oy * down + i, ox * down + j);
          oa[b][ch][oy][ox] = s;
        }
  return out;
}

struct Case {
  int64_t up, down;
  nn::Padding4 pad;
  bool radial;
  int64_t size;
};
// StyleGAN3's own shapes (L0 of the 32 px fixture, a critically sampled layer with negative
// padding, config R's radial filters) and odd ones (up 4, down 4, asymmetric padding).
const Case kCases[] = {{2, 2, {11, 10, 11, 10}, false, 12}, {2, 2, {-9, -10, -9, -10}, false, 30},
                       {2, 2, {11, 10, 11, 10}, true, 12},  {4, 2, {5, 7, 3, 2}, false, 9},
                       {2, 4, {1, 0, 2, 3}, true, 21},      {1, 1, {0, 0, 0, 0}, false, 7}};

TEST(FilteredLrelu, Upfirdn2dMatchesNaiveLoops) {
  torch::manual_seed(1);
  for (const auto& cs : kCases) {
    auto x = torch::randn({2, 3, cs.size, cs.size}, torch::kFloat64);
    const int64_t k = 6 * cs.up;
    auto f = cs.radial ? torch::rand({k, k}, torch::kFloat64) : torch::rand({k}, torch::kFloat64);
    auto got = nn::upfirdn2d_filter(x, f, cs.up, cs.down, cs.pad, 3.0);
    auto want = naive_upfirdn2d(x, f, cs.up, cs.down, cs.pad, 3.0);
    ASSERT_EQ(got.sizes(), want.sizes()) << cs.up << " " << cs.down;
    EXPECT_LE((got - want).abs().max().item<double>(), 1e-10) << cs.up << " " << cs.down;
  }
}

TEST(FilteredLrelu, PolyphaseMatchesReference) {
  torch::manual_seed(2);
  for (const auto& cs : kCases) {
    if (cs.up == 1) continue;
    for (auto dtype : {torch::kFloat64, torch::kFloat32}) {
      auto x = torch::randn({2, 5, cs.size, cs.size}, dtype);
      auto b = torch::randn({5}, dtype);
      auto fu = nn::design_lowpass_filter(6 * cs.up, 2.0, 8.0, 16.0 * static_cast<double>(cs.up)).to(dtype);
      auto fd = nn::design_lowpass_filter(6 * cs.down, 2.0, 8.0, 16.0 * static_cast<double>(cs.down), cs.radial).to(dtype);
      auto ref = nn::filtered_lrelu_reference(x, fu, fd, b, cs.up, cs.down, cs.pad, std::sqrt(2.0), 0.2, 0.5);
      auto fast = nn::filtered_lrelu_polyphase(x, fu, fd, b, cs.up, cs.down, cs.pad, std::sqrt(2.0), 0.2, 0.5);
      ASSERT_EQ(ref.sizes(), fast.sizes());
      const double tol = dtype == torch::kFloat64 ? 1e-12 : 2e-6;
      EXPECT_LE(test::relative_max_error(fast, ref), tol) << cs.up << " " << cs.down << " " << dtype;
      EXPECT_GT(ref.abs().max().item<double>(), 0.1);
    }
  }
}

TEST(FilteredLrelu, DispatcherTakesReferenceUnderGuard) {
  torch::manual_seed(3);
  auto x = torch::randn({1, 2, 12, 12});
  auto fu = nn::design_lowpass_filter(12, 2.0, 8.0, 32.0);
  auto fd = nn::design_lowpass_filter(12, 2.0, 8.0, 32.0, true);
  auto b = torch::randn({2});
  const nn::Padding4 pad{11, 10, 11, 10};
  auto fast = nn::filtered_lrelu_polyphase(x, fu, fd, b, 2, 2, pad, 1.4, 0.2, -1);
  auto ref = nn::filtered_lrelu_reference(x, fu, fd, b, 2, 2, pad, 1.4, 0.2, -1);
  EXPECT_TRUE(torch::equal(nn::filtered_lrelu(x, fu, fd, b, 2, 2, pad, 1.4, 0.2, -1), fast));
  nn::ReferenceOpsGuard guard;
  EXPECT_TRUE(torch::equal(nn::filtered_lrelu(x, fu, fd, b, 2, 2, pad, 1.4, 0.2, -1), ref));
}

TEST(FilteredLrelu, FilterDesign) {
  EXPECT_FALSE(nn::design_lowpass_filter(1, 2.0, 4.0, 16.0).defined());  // identity
  auto f = nn::design_lowpass_filter(12, 2.378414230005442, 11.243171539989116, 32.0);
  ASSERT_EQ(f.sizes(), torch::IntArrayRef({12}));
  EXPECT_NEAR(f.sum().item<double>(), 1.0, 1e-6);                                  // unit DC gain
  EXPECT_TRUE(torch::allclose(f, f.flip({0}), 0, 1e-7));                           // linear phase
  auto r = nn::design_lowpass_filter(12, 2.0, 12.0, 32.0, true);
  ASSERT_EQ(r.sizes(), torch::IntArrayRef({12, 12}));
  EXPECT_NEAR(r.sum().item<double>(), 1.0, 1e-6);
  EXPECT_TRUE(torch::allclose(r, r.t(), 0, 1e-7));                                 // radially symmetric
  EXPECT_TRUE(torch::allclose(r, r.flip({0}), 0, 1e-7));
  // The fixtures' pickled filters are compared with these designs in tests/models/test_stylegan3.
}

}  // namespace
