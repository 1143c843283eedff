// faceedit — bit-exact numpy.random.RandomState (MT19937, legacy Gaussian), so that a seed gives the
// same latent as the Python tools do (NVIDIA's generate.py: RandomState(seed).randn(1, z_dim)).
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <random>

namespace faceedit::models {

class NumpyRandomState {
 public:
  explicit NumpyRandomState(uint32_t seed) : mt_(seed) {}
  double random_sample();  // [0, 1), 53-bit
  double gauss();          // standard normal, numpy's legacy polar method

 private:
  std::mt19937 mt_;  // same init_genrand seeding as numpy's legacy seeding of an integer
  bool has_gauss_ = false;
  double gauss_ = 0.0;
};

// numpy.random.RandomState(seed).randn(n, d) as float32.
torch::Tensor numpy_randn(int64_t n, int64_t d, uint32_t seed);
// numpy.random.RandomState(seed).uniform(low, high, (n, d)) as float32.
torch::Tensor numpy_uniform(int64_t n, int64_t d, uint32_t seed, double low, double high);

}  // namespace faceedit::models
