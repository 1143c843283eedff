// Seeds must give numpy.random.RandomState's numbers (NVIDIA's generate.py draws latents that way).
// Expected values are numpy's documented outputs for seed 0, and, where python3-numpy is
// installed, numpy itself.
#include <gtest/gtest.h>

#include <cstdio>
#include <memory>

#include "faceedit/models/numpy_random.h"
#include "faceedit/runtime.h"

using namespace faceedit::models;

TEST(NumpyRandom, KnownValuesForSeedZero) {
  auto n = numpy_randn(1, 4, 0);
  const double expected_n[] = {1.764052345967664, 0.4001572083672233, 0.9787379841057392, 2.240893199201458};
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(n[0][i].item<double>(), expected_n[i], 1e-6);
  auto u = numpy_uniform(1, 3, 0, 0.0, 1.0);
  const double expected_u[] = {0.5488135039273248, 0.7151893663724195, 0.6027633760716439};
  for (int i = 0; i < 3; ++i) EXPECT_NEAR(u[0][i].item<double>(), expected_u[i], 1e-7);
}

TEST(NumpyRandom, MatchesNumpyItself) {
  const std::string cmd = faceedit::python_interpreter() +
                          " -c \"import numpy as np; print(' '.join(repr(float(v)) for v in "
                          "np.random.RandomState(4242).randn(3, 5).ravel()))\" 2>/dev/null";
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(cmd.c_str(), "r"), pclose);
  ASSERT_TRUE(pipe);
  std::vector<double> values;
  double v;
  while (fscanf(pipe.get(), "%lf", &v) == 1) values.push_back(v);
  if (values.empty()) GTEST_SKIP() << "python3-numpy not available";
  ASSERT_EQ(values.size(), 15u);
  auto ours = numpy_randn(3, 5, 4242).view(-1);
  for (int i = 0; i < 15; ++i) EXPECT_NEAR(ours[i].item<double>(), values[i], 1e-6);
}
