#include "faceedit/models/numpy_random.h"

#include <cmath>

namespace faceedit::models {

double NumpyRandomState::random_sample() {
  const uint32_t a = mt_() >> 5, b = mt_() >> 6;
  return (a * 67108864.0 + b) / 9007199254740992.0;
}

double NumpyRandomState::gauss() {
  if (has_gauss_) {
    has_gauss_ = false;
    return gauss_;
  }
  double x1, x2, r2;
  do {
    x1 = 2.0 * random_sample() - 1.0;
    x2 = 2.0 * random_sample() - 1.0;
    r2 = x1 * x1 + x2 * x2;
  } while (r2 >= 1.0 || r2 == 0.0);
  const double f = std::sqrt(-2.0 * std::log(r2) / r2);
  gauss_ = f * x1;
  has_gauss_ = true;
  return f * x2;
}

torch::Tensor numpy_randn(int64_t n, int64_t d, uint32_t seed) {
  NumpyRandomState rng(seed);
  auto out = torch::empty({n, d}, torch::kFloat64);
  double* p = out.data_ptr<double>();
  for (int64_t i = 0; i < n * d; ++i) p[i] = rng.gauss();
  return out.to(torch::kFloat32);
}

torch::Tensor numpy_uniform(int64_t n, int64_t d, uint32_t seed, double low, double high) {
  NumpyRandomState rng(seed);
  auto out = torch::empty({n, d}, torch::kFloat64);
  double* p = out.data_ptr<double>();
  for (int64_t i = 0; i < n * d; ++i) p[i] = low + (high - low) * rng.random_sample();
  return out.to(torch::kFloat32);
}

}  // namespace faceedit::models
