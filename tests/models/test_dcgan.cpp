// The converted DCGAN against the PyTorch forward of its original state_dict (an independent
// torch.nn implementation in tests/models/dcgan_torch_reference.py, run with Debian's python3-torch).
#include <gtest/gtest.h>

#include "faceedit/io/safetensors.h"
#include "faceedit/models/dcgan.h"
#include "faceedit/runtime.h"
#include "test_support.h"

using namespace faceedit;

namespace {
const char* kGenerator = "models/dcgan-celeba32/generator.pt";
}

TEST(DCGAN, MatchesPyTorchForwardOfTheOriginalStateDict) {
  FACEEDIT_REQUIRE_SHARED(pt, kGenerator);
  auto g = models::DCGAN::load(test::converted(kGenerator));
  torch::NoGradGuard no_grad;
  auto z = g->sample_z(16, 123);
  const auto dir = test::temp_dir();
  const std::string in = (dir / "dcgan_z.safetensors").string(), out = (dir / "dcgan_ref.safetensors").string();
  io::write_safetensors(in, {{"latents", z}});
  const std::string script = std::string(FACEEDIT_SOURCE_DIR) + "/tests/models/dcgan_torch_reference.py";
  ASSERT_EQ(test::run_command(python_interpreter() + " " + script + " " + in + " " + out + " " + pt), 0);
  auto expected = io::SafetensorsReader(out).load("images");
  auto images = g->synthesize(z);
  ASSERT_EQ(images.sizes(), expected.sizes());
  const double err = (images - expected).abs().max().item<double>();
  std::cout << "DCGAN max |err| = " << err << "\n";
  EXPECT_LE(err, 1e-5);
  // The pretrained model really draws faces: outputs span the tanh range and differ per latent.
  EXPECT_GT(images.max().item<double>(), 0.5);
  EXPECT_LT(images.min().item<double>(), -0.5);
  EXPECT_GT((images[0] - images[1]).abs().mean().item<double>(), 0.05);
}

TEST(DCGAN, LatentsAreUniformInMinusOneOne) {
  models::DCGAN g;
  auto z = g.sample_z(1000, 0);
  EXPECT_EQ(z.sizes(), torch::IntArrayRef({1000, 100}));
  EXPECT_GE(z.min().item<double>(), -1.0);
  EXPECT_LT(z.max().item<double>(), 1.0);
  EXPECT_NEAR(z.mean().item<double>(), 0.0, 0.01);
  EXPECT_NEAR(z.var().item<double>(), 1.0 / 3.0, 0.01);  // variance of U(-1, 1)
  EXPECT_FALSE(g.has_space(models::LatentSpace::W));
}
