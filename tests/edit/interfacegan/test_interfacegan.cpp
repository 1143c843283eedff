#include <gtest/gtest.h>

#include "faceedit/edit/interfacegan/interfacegan.h"
#include "faceedit/error.h"
#include "test_support.h"

using namespace faceedit;
using namespace faceedit::edit;

TEST(Editor, ParsesStrengthsAndLayers) {
  EXPECT_EQ(parse_alphas("-3:3:7"), (std::vector<double>{-3, -2, -1, 0, 1, 2, 3}));
  EXPECT_EQ(parse_alphas("0.5,2"), (std::vector<double>{0.5, 2}));
  EXPECT_EQ(parse_alphas("1.5"), (std::vector<double>{1.5}));
  EXPECT_THROW(parse_alphas("1:2"), Error);
  EXPECT_THROW(parse_alphas("a,b"), Error);
  EXPECT_THROW(parse_alphas("0:1:1000"), Error);
  EXPECT_THROW(parse_alphas("1e9"), Error);
  EXPECT_EQ(parse_layers("0-3,6", 8), (std::vector<int64_t>{0, 1, 2, 3, 6}));
  EXPECT_THROW(parse_layers("0-8", 8), Error);
  EXPECT_THROW(parse_layers("3-1", 8), Error);
  EXPECT_THROW(parse_layers("x", 8), Error);
}

TEST(InterFaceGAN, RelativeAndAbsoluteDistancesClosedForm) {
  auto n = torch::tensor({3.0f, 4.0f});  // normalised to (0.6, 0.8); offset scales with it
  InterFaceGANEditor editor({"smiling", n, 5.0, models::LatentSpace::Z});
  auto x = torch::tensor({{1.0f, 1.0f}, {-2.0f, 0.0f}});
  // d = x.n/|n| + 5/|n| = (0.6 + 0.8 + 1, -1.2 + 1) = (2.4, -0.2)
  auto d = editor.signed_distance(x);
  EXPECT_NEAR(d[0].item<double>(), 2.4, 1e-6);
  EXPECT_NEAR(d[1].item<double>(), -0.2, 1e-6);
  EXPECT_EQ(editor.flip_sign(x)[0].item<float>(), -1.0f);
  EXPECT_EQ(editor.flip_sign(x)[1].item<float>(), 1.0f);
  auto rel = editor.edit(x, torch::tensor({2.0f, -1.0f}));
  EXPECT_LT((rel - torch::tensor({{1.0f + 1.2f, 1.0f + 1.6f}, {-2.0f - 0.6f, -0.8f}})).abs().max().item<double>(), 1e-6);
  InterFaceGANEditor absolute({"smiling", n, 5.0, models::LatentSpace::Z, 0, {}, DistanceMode::Absolute});
  auto moved = absolute.edit(x, torch::tensor({-1.0f, 3.0f}));
  auto d2 = absolute.signed_distance(moved);
  EXPECT_NEAR(d2[0].item<double>(), -1.0, 1e-5);
  EXPECT_NEAR(d2[1].item<double>(), 3.0, 1e-5);
  // Moving along the normal leaves the orthogonal component alone.
  auto ortho = torch::tensor({-0.8f, 0.6f});
  EXPECT_LT(((moved - x).matmul(ortho)).abs().max().item<double>(), 1e-6);
}

TEST(InterFaceGAN, WPlusLayersAndDimensionChecks) {
  auto n = torch::randn({16});
  InterFaceGANEditor editor({"young", n, 0.0, models::LatentSpace::WPlus, 6, {1, 2}});
  auto x = torch::randn({3, 6, 16});
  auto y = editor.edit(x, torch::full({3}, 2.0));
  auto changed = (y - x).abs().sum(std::vector<int64_t>{0, 2});
  for (int64_t l = 0; l < 6; ++l) EXPECT_EQ(changed[l].item<double>() > 0.0, l == 1 || l == 2) << l;
  EXPECT_NEAR((y - x).select(1, 1).norm(2, 1).mean().item<double>(), 2.0, 1e-5);
  EXPECT_THROW(editor.edit(torch::randn({3, 6, 8}), torch::zeros({3})), Error);   // boundary of another model
  EXPECT_THROW(editor.edit(x, torch::zeros({2})), Error);
  EXPECT_THROW(InterFaceGANEditor({"young", n, 0.0, models::LatentSpace::WPlus, 6, {7}}), Error);
  EXPECT_THROW(InterFaceGANEditor({"young", n, 0.0, models::LatentSpace::Z, 0, {1}}), Error);
  EXPECT_THROW(InterFaceGANEditor({"young", torch::zeros({16}), 0.0, models::LatentSpace::Z}), Error);
  try {
    InterFaceGANEditor z512({"smiling", torch::randn({512}), 0.0, models::LatentSpace::Z, 0, {}, DistanceMode::Relative, "b.npy"});
    z512.edit(torch::randn({2, 100}), torch::zeros({2}));
    FAIL() << "dimension mismatch accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("b.npy"), std::string::npos) << e.what();
  }
}
