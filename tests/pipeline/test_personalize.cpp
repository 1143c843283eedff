// Personalization: the masked reconstruction of an unreachable target improves, far latents stay
// put, and the saved weight delta applied onto the base file gives the personalized weights exactly.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "faceedit/error.h"
#include "faceedit/models/generator.h"
#include "faceedit/pipeline/personalize.h"
#include "test_support.h"

using namespace faceedit;

namespace {
std::string file_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}
}  // namespace

TEST(Personalize, ImprovesTheMaskedReconstructionAndTheDeltaRoundTrips) {
  FACEEDIT_REQUIRE_SHARED(src, "models/dcgan-celeba32/generator.pt");
  const std::string model = test::converted("models/dcgan-celeba32/generator.pt");
  const std::string base_bytes = file_bytes(model);
  auto g = models::load_generator(model);
  const int64_t r = g->resolution();
  torch::Tensor pivot = g->sample_z(1, 11), target;
  {
    torch::NoGradGuard no_grad;
    // A face the generator cannot make from the pivot: the pivot's image mixed with another face.
    target = (0.5 * g->generate(pivot, models::LatentSpace::Z) + 0.5 * g->generate(g->sample_z(1, 12), models::LatentSpace::Z))
                 .clamp(-1, 1);
  }
  auto mask = torch::zeros({1, 1, r, r});
  mask.narrow(2, 6, 20).narrow(3, 8, 16).fill_(1.0);
  pipeline::PersonalizeParams p;
  p.steps = 40;
  p.lr = 2e-3;
  const auto res = pipeline::personalize(*g, pivot, models::LatentSpace::Z, target, mask, nullptr, p);
  EXPECT_LT(res.masked_mse_after, 0.5 * res.masked_mse_before) << res.to_json().dump();
  torch::Tensor now;
  {
    torch::NoGradGuard no_grad;
    now = g->generate(pivot, models::LatentSpace::Z);
  }
  EXPECT_NEAR(pipeline::masked_mse(now, target, mask), res.masked_mse_after, 1e-6);
  EXPECT_LT(res.locality_after, res.masked_mse_before);
  EXPECT_GT(res.changed_tensors, 0);

  const auto dir = test::temp_dir();
  const std::string delta = (dir / "me.delta.safetensors").string();
  pipeline::save_weight_delta(delta, res.delta, *g, model);
  {
    io::SafetensorsReader f(delta);
    EXPECT_EQ(static_cast<int64_t>(f.entries().size()), res.changed_tensors);  // changed tensors only
    EXPECT_EQ(f.metadata().at("faceedit.base_model"), model);
  }
  auto reloaded = models::load_generator(model);
  pipeline::apply_weight_delta(*reloaded, delta);
  auto a = g->named_tensors(), b = reloaded->named_tensors();
  ASSERT_EQ(a.size(), b.size());
  for (const auto& kv : a) EXPECT_TRUE(torch::equal(kv.value(), b[kv.key()])) << kv.key();
  EXPECT_EQ(file_bytes(model), base_bytes);  // the base file is untouched

  // A delta for another architecture is refused, naming the file.
  FACEEDIT_REQUIRE_SHARED(pkl, "fixtures/stylegan2-ada/tiny32.pkl");
  auto other = models::load_generator(test::converted("fixtures/stylegan2-ada/tiny32.pkl"));
  EXPECT_NE(test::error_of([&] { pipeline::apply_weight_delta(*other, delta); }).find("me.delta.safetensors"), std::string::npos);
  EXPECT_NE(test::error_of([&] { pipeline::apply_weight_delta(*other, model); }).find("not a faceedit weight delta"), std::string::npos);
}

TEST(Personalize, StyleGAN2WPlusPivotTunesTheSynthesisOnly) {
  FACEEDIT_REQUIRE_SHARED(src, "fixtures/stylegan2-ada/tiny32.pkl");
  auto g = models::load_generator(test::converted("fixtures/stylegan2-ada/tiny32.pkl"));
  const int64_t r = g->resolution();
  torch::Tensor pivot, target;
  {
    torch::NoGradGuard no_grad;
    pivot = g->map(g->sample_z(1, 2), 0.7);
    target = g->generate(g->sample_z(1, 3), models::LatentSpace::Z, 0.7).clamp(-1, 1);
  }
  pipeline::PersonalizeParams p;
  p.steps = 10;
  p.lr = 1e-3;
  p.locality_nearby = p.locality_random = 2;
  const auto res = pipeline::personalize(*g, pivot, models::LatentSpace::WPlus, target, torch::ones({1, 1, r, r}), nullptr, p);
  EXPECT_LT(res.masked_mse_after, res.masked_mse_before);
  for (const auto& [name, d] : res.delta) EXPECT_EQ(name.rfind("mapping.", 0), std::string::npos) << name;  // never reached
  EXPECT_GT(res.changed_tensors, 0);
}
