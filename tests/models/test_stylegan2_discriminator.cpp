// StyleGAN2's discriminator against the official stylegan2-ada-pytorch logits (shared fixture),
// its gradient against finite differences, saving and the refusals.
#include <gtest/gtest.h>

#include "faceedit/error.h"
#include "faceedit/io/safetensors.h"
#include "faceedit/models/stylegan2_discriminator.h"
#include "test_support.h"

using namespace faceedit;
using models::StyleGAN2Discriminator;

namespace {

const char* kPkl = "fixtures/stylegan2-ada/tiny32.pkl";
const char* kReference = "fixtures/stylegan2-ada/tiny32-reference.safetensors";

models::StyleGAN2DiscriminatorConfig tiny_config() {
  models::StyleGAN2DiscriminatorConfig c;
  c.img_resolution = 16;
  c.channel_base = 32;
  c.channel_max = 8;
  c.conv_clamp = 256;
  c.mbstd_group_size = 2;
  return c;
}

}  // namespace

TEST(StyleGAN2Discriminator, ReproducesOfficialLogits) {
  FACEEDIT_REQUIRE_SHARED(ref_path, kReference);
  FACEEDIT_REQUIRE_SHARED(pkl, kPkl);
  auto d = StyleGAN2Discriminator::load(test::converted(kPkl, "D"));
  EXPECT_EQ(d->config().img_resolution, 32);
  EXPECT_EQ(d->config().conv_clamp, 256);
  EXPECT_EQ(d->config().mbstd_group_size, 4);
  io::SafetensorsReader ref(ref_path);
  torch::NoGradGuard no_grad;
  const auto expected = ref.load("d_logits_of_img_psi1_const");
  const auto got = d->forward(ref.load("img_psi1_const"));
  ASSERT_EQ(got.sizes(), expected.sizes());
  const double err = test::relative_max_error(got, expected);
  std::cout << "D logits: max|err|/max|ref| = " << err << "\n";
  EXPECT_LE(err, 1e-4);
  // The logits depend on the batch through the minibatch stddev: a different group changes them.
  auto images = ref.load("img_psi1_const");
  auto swapped = torch::cat({images.narrow(0, 0, 2), images.narrow(0, 0, 2)});
  EXPECT_GT((d->forward(swapped).narrow(0, 0, 2) - got.narrow(0, 0, 2)).abs().max().item<double>(), 1e-5);
}

TEST(StyleGAN2Discriminator, GradientMatchesFiniteDifferences) {
  StyleGAN2Discriminator d(tiny_config(), 3);
  for (auto& t : d.named_tensors()) {
    torch::NoGradGuard no_grad;
    if (t.key().find("bias") != std::string::npos) t.value().normal_(0, 0.3);  // every parameter matters
  }
  for (auto& p : d.parameters()) p.set_data(p.data().to(torch::kFloat64));
  auto x = torch::randn({4, 3, 16, 16}, torch::kFloat64).requires_grad_(true);
  auto y = d.forward(x).square().sum();
  auto grad = torch::autograd::grad({y}, {x})[0];
  const double eps = 1e-6;
  torch::NoGradGuard no_grad;
  for (int64_t idx : {0, 77, 300, 1023, 3071}) {
    auto xp = x.detach().clone(), xm = x.detach().clone();
    xp.view(-1)[idx] += eps;
    xm.view(-1)[idx] -= eps;
    const double fd = (d.forward(xp).square().sum() - d.forward(xm).square().sum()).item<double>() / (2 * eps);
    const double an = grad.view(-1)[idx].item<double>();
    EXPECT_NEAR(an, fd, 1e-6 * std::max(1.0, std::abs(fd))) << "element " << idx;
  }
}

TEST(StyleGAN2Discriminator, SaveLoadRoundTrip) {
  StyleGAN2Discriminator d(tiny_config(), 5);
  const auto path = (test::temp_dir() / "d.safetensors").string();
  d.save(path, {{"steps", 3}});
  auto back = StyleGAN2Discriminator::load(path);
  EXPECT_EQ(back->config().to_json(), d.config().to_json());
  torch::NoGradGuard no_grad;
  auto x = torch::randn({4, 3, 16, 16});
  EXPECT_TRUE(torch::equal(back->forward(x), d.forward(x)));
}

TEST(StyleGAN2Discriminator, Refusals) {
  StyleGAN2Discriminator d(tiny_config(), 5);
  torch::NoGradGuard no_grad;
  EXPECT_NE(test::error_of([&] { d.forward(torch::randn({3, 3, 16, 16})); }).find("multiple of the minibatch-stddev"),
            std::string::npos);
  EXPECT_NE(test::error_of([&] { d.forward(torch::randn({2, 3, 32, 32})); }).find("expects images"), std::string::npos);
  auto bad = tiny_config();
  bad.img_resolution = 12;
  EXPECT_NE(test::error_of([&] { StyleGAN2Discriminator(bad, 0); }).find("power of two"), std::string::npos);
  // A generator file is not a discriminator.
  FACEEDIT_REQUIRE_SHARED(pkl, kPkl);
  EXPECT_NE(test::error_of([&] { StyleGAN2Discriminator::load(test::converted(kPkl)); }).find("discriminator"),
            std::string::npos);
}

// A StyleGAN3 snapshot's D is networks_stylegan2.Discriminator (its pickle embeds that source):
// the same converter and network, checked against the logits NVIDIA's code gave for both configs.
TEST(StyleGAN2Discriminator, ReproducesOfficialLogitsOfStyleGAN3Snapshots) {
  for (const std::string cfg : {"t", "r"}) {
    const std::string pkl_rel = "fixtures/stylegan3/network-snapshot-sg3" + cfg + "32.pkl";
    FACEEDIT_REQUIRE_SHARED(ref_path, "fixtures/stylegan3/sg3" + cfg + "32-reference.safetensors");
    FACEEDIT_REQUIRE_SHARED(pkl, pkl_rel);
    auto d = StyleGAN2Discriminator::load(test::converted(pkl_rel, "D"));
    EXPECT_EQ(d->config().img_resolution, 32) << cfg;
    EXPECT_EQ(d->config().mbstd_group_size, 4) << cfg;
    io::SafetensorsReader ref(ref_path);
    torch::NoGradGuard no_grad;
    const auto expected = ref.load("d_logits_of_img_psi1_const");
    const auto got = d->forward(ref.load("img_psi1_const"));
    ASSERT_EQ(got.sizes(), expected.sizes()) << cfg;
    const double err = test::relative_max_error(got, expected);
    std::cout << "SG3-" << cfg << " D logits: max|err|/max|ref| = " << err << "\n";
    EXPECT_LE(err, 1e-4) << cfg;
  }
}
