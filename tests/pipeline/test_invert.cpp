// Inversion: images generated from known latents are reconstructed (PSNR well above what a random
// latent gives), the schedule and PSNR helpers are what they claim.
#include <gtest/gtest.h>

#include <cmath>

#include "faceedit/error.h"
#include "faceedit/models/generator.h"
#include "faceedit/pipeline/invert.h"
#include "faceedit/nn/schedule.h"
#include "test_support.h"

using namespace faceedit;

TEST(Invert, ScheduleWarmsUpThenDecaysToZero) {
  EXPECT_NEAR(nn::warmup_cosine_lr(0, 100, 1.0, 10), 0.1, 1e-12);
  EXPECT_NEAR(nn::warmup_cosine_lr(9, 100, 1.0, 10), 1.0, 1e-12);
  EXPECT_NEAR(nn::warmup_cosine_lr(10, 100, 1.0, 10), 1.0, 1e-12);
  EXPECT_NEAR(nn::warmup_cosine_lr(55, 100, 1.0, 10), 0.5, 1e-12);
  EXPECT_NEAR(nn::warmup_cosine_lr(100, 100, 1.0, 10), 0.0, 1e-12);
}

TEST(Invert, PsnrClosedForm) {
  auto a = torch::zeros({1, 3, 4, 4});
  auto b = torch::full({1, 3, 4, 4}, 0.2);  // MSE 0.04, peak-to-peak 2: 10 log10(4 / 0.04) = 20 dB
  EXPECT_NEAR(pipeline::psnr(a, b), 20.0, 1e-5);
}

TEST(Invert, DCGANReconstructsAGeneratedFace) {
  FACEEDIT_REQUIRE_SHARED(src, "models/dcgan-celeba32/generator.pt");
  auto g = models::load_generator(test::converted("models/dcgan-celeba32/generator.pt"));
  torch::Tensor target, baseline;
  {
    torch::NoGradGuard no_grad;
    target = g->generate(g->sample_z(1, 1234), models::LatentSpace::Z);
    baseline = g->generate(g->sample_z(1, 99), models::LatentSpace::Z);  // another face: what chance gives
  }
  pipeline::InversionParams p;
  p.steps = 250;
  p.starts = 4;
  const auto r = pipeline::invert(*g, target.clamp(-1, 1), {}, p);
  const double chance = pipeline::psnr(baseline.clamp(-1, 1), target.clamp(-1, 1));
  EXPECT_GT(r.psnr, 24.0) << "chance level " << chance;
  EXPECT_GT(r.psnr, chance + 10.0);
  EXPECT_LE(r.latent.abs().max().item<float>(), 1.0f);  // z stays in the prior's support
  EXPECT_EQ(r.latent.sizes(), torch::IntArrayRef({1, 100}));
  EXPECT_NEAR(pipeline::psnr(r.reconstruction.clamp(-1, 1), target.clamp(-1, 1)), r.psnr, 1e-6);
}

TEST(Invert, StyleGAN2WPlusFromTheAverageW) {
  FACEEDIT_REQUIRE_SHARED(src, "fixtures/stylegan2-ada/tiny32.pkl");
  auto g = models::load_generator(test::converted("fixtures/stylegan2-ada/tiny32.pkl"));
  torch::Tensor target;
  {
    torch::NoGradGuard no_grad;
    target = g->generate(g->sample_z(1, 5), models::LatentSpace::Z, 0.7).clamp(-1, 1);
  }
  pipeline::InversionParams p;
  p.space = models::LatentSpace::WPlus;
  p.steps = 100;
  p.lr = 0.03;
  EXPECT_EQ(g->inversion_space(), models::LatentSpace::WPlus);
  const auto r = pipeline::invert(*g, target, {}, p);
  torch::Tensor avg;
  {
    torch::NoGradGuard no_grad;
    avg = g->synthesize(g->truncate(g->map(g->sample_z(1, 0)), 0.0));
  }
  const double start = pipeline::psnr(avg.clamp(-1, 1), target.clamp(-1, 1));
  // tiny32 has random weights (a badly conditioned W+): 100 steps gain ~5.5 dB over the average
  // face; the DCGAN test above is the quality bound.
  EXPECT_GT(r.psnr, start + 4.0) << "from " << start;
  EXPECT_EQ(r.latent.sizes(), torch::IntArrayRef({1, g->num_ws(), g->w_dim()}));
}

TEST(Invert, FeatureAndIdentityGuidesAreUsedAndReported) {
  FACEEDIT_REQUIRE_SHARED(src, "models/dcgan-celeba32/generator.pt");
  auto g = models::load_generator(test::converted("models/dcgan-celeba32/generator.pt"));
  torch::manual_seed(0);
  models::FaceClassifierConfig c;
  c.input.height = c.input.width = 32;
  c.widths = {8, 16, 16, 16};
  c.heads.push_back({"male", {}, {}});
  models::FaceClassifier clf(c);
  models::ClassifierFeatureDistance features(clf);
  models::ClassifierEmbedder embedder(clf);
  torch::Tensor target;
  {
    torch::NoGradGuard no_grad;
    target = g->generate(g->sample_z(1, 3), models::LatentSpace::Z).clamp(-1, 1);
    EXPECT_NEAR(features.distance(target, target).item<float>(), 0.0f, 1e-6);
  }
  pipeline::InversionParams p;
  p.steps = 60;
  p.starts = 2;
  const auto r = pipeline::invert(*g, target, {&features, &embedder}, p);
  EXPECT_GT(r.feature_distance, 0.0);
  EXPECT_GT(r.identity_cosine, 0.5);
  EXPECT_LE(r.identity_cosine, 1.0 + 1e-6);
  EXPECT_NE(test::error_of([&] { pipeline::invert(*g, torch::zeros({1, 3, 16, 16}), {}, p); }).find("target must be"),
            std::string::npos);
}
