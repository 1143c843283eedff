// eval::evaluate_inversions on faces the DCGAN drew itself (framed as the DCGAN frames CelebA-HQ
// faces, so close to but not exactly its images): more steps reconstruct better, the encoder's row
// at 0 steps is its code's reconstruction computed directly, and bad input is refused by name.
#include <gtest/gtest.h>

#include "faceedit/error.h"
#include "faceedit/eval/inversion_eval.h"
#include "faceedit/models/encoder.h"
#include "faceedit/train/train_encoder.h"
#include "test_support.h"

namespace faceedit {
namespace {

class InversionEval : public ::testing::Test {
 protected:
  void SetUp() override {
    FACEEDIT_REQUIRE_SHARED(src, "models/dcgan-celeba32/generator.pt");
    g = models::load_generator(test::converted("models/dcgan-celeba32/generator.pt"));
    torch::NoGradGuard no_grad;
    const auto z = g->sample_codes(3, 77, models::LatentSpace::Z);
    faces = ((g->generate(z, models::LatentSpace::Z).clamp(-1, 1) + 1) * 127.5).round().to(torch::kUInt8);
  }
  std::shared_ptr<models::Generator> g;
  torch::Tensor faces;  // uint8 [3, 3, 32, 32]
};

nlohmann::json row_of(const nlohmann::json& r, const std::string& start, int steps) {
  for (const auto& row : r["rows"])
    if (row["start"] == start && row["steps"] == steps) return row;
  ADD_FAILURE() << "no row " << start << " " << steps << " in " << r.dump();
  return {{"psnr_db", 0.0}, {"identity_cosine", 0.0}};
}

TEST_F(InversionEval, MoreStepsReconstructBetterAndZeroStepsIsTheEncodersCode) {
  const models::Encoder encoder(models::EncoderConfig::for_generator(*g), torch::zeros({100}), 5);
  eval::InversionEvalParams p;
  p.steps = {0, 5, 80};
  p.starts = 1;
  p.progress = false;
  const auto r = eval::evaluate_inversions(*g, faces, {}, &encoder, p);
  EXPECT_EQ(r["faces"].get<int64_t>(), 3);
  ASSERT_EQ(r["rows"].size(), 5u) << "encoder 0, then prior and encoder at 5 and 80: " << r.dump();

  // Without an identity guide the identity cosine is 1 by definition (invert.h).
  for (const auto& row : r["rows"]) EXPECT_EQ(row["identity_cosine"].get<double>(), 1.0);
  // The generator's own faces: 80 Adam steps beat 5, from either start.
  EXPECT_GT(row_of(r, "prior", 80)["psnr_db"].get<double>(), row_of(r, "prior", 5)["psnr_db"].get<double>() + 1.0);
  EXPECT_GT(row_of(r, "encoder", 80)["psnr_db"].get<double>(), row_of(r, "encoder", 0)["psnr_db"].get<double>() + 1.0);

  // Steps 0 from the encoder = the mean PSNR of G(encode(face)) against the framed face, here by hand.
  torch::NoGradGuard no_grad;
  double sum = 0;
  for (int64_t i = 0; i < faces.size(0); ++i) {
    const auto target = train::frame_for_generator(faces.narrow(0, i, 1), *g);
    const auto rec = g->generate(encoder.encode(target), models::LatentSpace::Z);
    const double mse = (rec - target).pow(2).mean().item<double>();
    sum += 10.0 * std::log10(4.0 / mse);  // peak-to-peak 2 in [-1, 1]
  }
  EXPECT_NEAR(row_of(r, "encoder", 0)["psnr_db"].get<double>(), sum / 3.0, 1e-3);
}

TEST_F(InversionEval, RefusesBadInputWithANamedError) {
  eval::InversionEvalParams p;
  p.steps = {2};
  p.starts = 1;
  p.progress = false;
  const auto error = [&](const torch::Tensor& f, const eval::InversionEvalParams& q) {
    return test::error_of([&] { eval::evaluate_inversions(*g, f, {}, nullptr, q); });
  };
  EXPECT_NE(error(faces.to(torch::kFloat), p).find("uint8 [N, 3, H, W]"), std::string::npos);
  EXPECT_NE(error(faces[0], p).find("uint8 [N, 3, H, W]"), std::string::npos);
  EXPECT_NE(error(faces.narrow(1, 0, 1), p).find("uint8 [N, 3, H, W]"), std::string::npos) << "grey faces";
  EXPECT_NE(error(faces.narrow(0, 0, 0), p).find("uint8 [N, 3, H, W]"), std::string::npos) << "no faces";
  auto q = p;
  q.steps = {};
  EXPECT_NE(error(faces, q).find("at least one step count"), std::string::npos);
  q.steps = {0};
  EXPECT_NE(error(faces, q).find("steps 0 needs an encoder"), std::string::npos);
  q.steps = {-1};
  EXPECT_NE(error(faces, q).find(">= 0"), std::string::npos);
  q = p;
  q.starts = 0;
  EXPECT_NE(error(faces, q).find("starts >= 1"), std::string::npos);
}

}  // namespace
}  // namespace faceedit
