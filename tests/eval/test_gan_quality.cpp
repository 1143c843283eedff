// KID against its definition (a double loop over pairs) and closed forms.
#include <gtest/gtest.h>

#include "faceedit/eval/gan_quality.h"
#include "test_support.h"

using namespace faceedit;

namespace {

double naive_mmd(const torch::Tensor& x, const torch::Tensor& y) {
  const int64_t m = x.size(0), d = x.size(1);
  auto k = [&](const torch::Tensor& a, int64_t i, const torch::Tensor& b, int64_t j) {
    double dot = 0;
    for (int64_t t = 0; t < d; ++t) dot += a[i][t].item<double>() * b[j][t].item<double>();
    return std::pow(dot / static_cast<double>(d) + 1.0, 3);
  };
  double xx = 0, yy = 0, xy = 0;
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < m; ++j) {
      if (i != j) xx += k(x, i, x, j), yy += k(y, i, y, j);
      xy += k(x, i, y, j);
    }
  const double md = static_cast<double>(m);
  return xx / (md * (md - 1)) + yy / (md * (md - 1)) - 2 * xy / (md * md);
}

}  // namespace

TEST(GanQuality, MmdMatchesDefinition) {
  torch::manual_seed(1);
  auto x = torch::randn({7, 5}, torch::kFloat64), y = torch::randn({7, 5}, torch::kFloat64) + 0.3;
  EXPECT_NEAR(eval::polynomial_mmd(x, y), naive_mmd(x, y), 1e-10);
}

// Constant sets: every kernel value is known, MMD = k(a,a) + k(b,b) - 2 k(a,b).
TEST(GanQuality, MmdOfConstantSetsIsClosedForm) {
  auto a = torch::tensor({1.0, 2.0, 0.0}, torch::kFloat64), b = torch::tensor({0.0, 1.0, -1.0}, torch::kFloat64);
  auto k = [](const torch::Tensor& u, const torch::Tensor& v) { return std::pow(u.dot(v).item<double>() / 3 + 1, 3); };
  const double expected = k(a, a) + k(b, b) - 2 * k(a, b);
  EXPECT_NEAR(eval::polynomial_mmd(a.repeat({6, 1}), b.repeat({6, 1})), expected, 1e-10);
}

TEST(GanQuality, KidSeesShiftsAndNotResamples) {
  torch::manual_seed(2);
  auto a = torch::randn({1500, 16}), b = torch::randn({1500, 16}), shifted = torch::randn({1500, 16}) + 0.25;
  const auto same = eval::kernel_inception_distance(a, b, 20, 500, 0);
  const auto diff = eval::kernel_inception_distance(a, shifted, 20, 500, 0);
  EXPECT_LT(std::abs(same.mean), 3 * same.stddev / std::sqrt(20.0) + 1e-3);  // unbiased: ~0 for one distribution
  EXPECT_GT(diff.mean, 10 * std::max(same.stddev, 1e-4));
  EXPECT_EQ(diff.subset_size, 500);
  EXPECT_NE(test::error_of([&] { eval::kernel_inception_distance(a, torch::randn({10, 3})); }).find("same D"), std::string::npos);
}
