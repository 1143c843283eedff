// The metrics against hand-computed values, with judges whose outputs are known in closed form.
#include <gtest/gtest.h>

#include "faceedit/error.h"
#include "faceedit/eval/edit_metrics.h"
#include "test_support.h"

using namespace faceedit;
using namespace faceedit::models;

namespace {

// Column c is 1 when the mean of channel c is positive, else 0 ("happy" is not a CelebA name).
class ChannelSignJudge : public AttributeClassifier {
 public:
  std::string name() const override { return "channel-sign"; }
  const std::vector<AttributeColumn>& columns() const override { return cols_; }
  torch::Tensor predict(const torch::Tensor& x) override {
    auto m = x.mean({2, 3});
    return torch::cat({(m > 0).to(torch::kFloat), torch::full({x.size(0), 1}, 0.5)}, 1);
  }
  void to(torch::Device) override {}

 private:
  std::vector<AttributeColumn> cols_ = {{"male"}, {"smiling"}, {"young"}, {"happy"}};
};

// Embedding: the per-channel means (unit-normalised).
class MeanEmbedder : public IdentityEmbedder {
 public:
  std::string name() const override { return "mean"; }
  int64_t dim() const override { return 3; }
  torch::Tensor embed(const torch::Tensor& x) override {
    return torch::nn::functional::normalize(x.mean({2, 3}), torch::nn::functional::NormalizeFuncOptions().dim(1));
  }
  void to(torch::Device) override {}
};

// Portrait = left half of the image.
class LeftHalfSegmenter : public PortraitSegmenter {
 public:
  std::string name() const override { return "left"; }
  torch::Tensor segment(const torch::Tensor& x) override {
    auto m = torch::zeros({x.size(0), 1, x.size(2), x.size(3)});
    m.narrow(3, 0, x.size(3) / 2).fill_(1.0);
    return m;
  }
  void to(torch::Device) override {}
};

JudgePanel fake_panel() {
  JudgePanel p;
  p.attributes = std::make_unique<ChannelSignJudge>();
  p.identity = std::make_unique<MeanEmbedder>();
  p.segmenter = std::make_unique<LeftHalfSegmenter>();
  return p;
}

torch::Tensor constant_image(float r, float g, float b) {
  auto x = torch::empty({1, 3, 8, 8});
  x.select(1, 0).fill_(r);
  x.select(1, 1).fill_(g);
  x.select(1, 2).fill_(b);
  return x;
}

}  // namespace

TEST(EditMetrics, MatchHandComputedValues) {
  auto panel = fake_panel();
  // Face 0: smiling flips 0 -> 1, young flips too. Face 1: smiling stays 1 (not flipped), male kept.
  auto orig = torch::cat({constant_image(0.5, -0.5, 0.5), constant_image(-0.5, 0.5, 0.5)});
  auto edited = torch::cat({constant_image(0.5, 0.5, -0.5), constant_image(-0.5, 0.5, 0.5)});
  // Face 1's right half (background) changes by 0.4 in every channel: 0.2 in [0, 1] units.
  edited[1].narrow(2, 4, 4).add_(0.4);
  auto m = eval::evaluate_edits(orig, edited, panel, {"smiling"});
  EXPECT_EQ(m.n, 2);
  EXPECT_DOUBLE_EQ(m.target_change_rate, 0.5);
  EXPECT_EQ(m.preserved_attributes, (std::vector<std::string>{"male", "young"}));  // "happy" is no CelebA name
  EXPECT_DOUBLE_EQ(m.attribute_preservation_rate, 3.0 / 4.0);  // young of face 0 changed
  EXPECT_DOUBLE_EQ(m.preservation_by_attribute.at("young"), 0.5);
  EXPECT_DOUBLE_EQ(m.mean_abs_delta_p.at("smiling"), 0.5);
  // Cosines: face 0 (1,-1,1)·(1,1,-1)/3 = -1/3; face 1 unchanged mean on the left, but its right
  // half moved: mean = (-0.3, 0.7, 0.7).
  const double c1 = (-0.5 * -0.3 + 0.5 * 0.7 + 0.5 * 0.7) / (std::sqrt(0.75) * std::sqrt(0.09 + 0.49 + 0.49));
  EXPECT_NEAR(m.identity_preservation, (-1.0 / 3.0 + c1) / 2, 1e-6);
  // Background: half of face 1's background moved by 0.2, face 0's background is unchanged except
  // channels 1 and 2 (|1| each in [-1, 1], 0.5 in [0, 1] units, 2 of 3 channels) everywhere.
  const double face0 = 2.0 / 3.0 * 0.5, face1 = 0.2;
  EXPECT_NEAR(m.background_change, (face0 + face1) / 2, 1e-6);
  auto raise = eval::evaluate_edits(orig, edited, panel, {"smiling", +1});
  EXPECT_DOUBLE_EQ(raise.target_change_rate, 1.0);
  auto j = m.to_json();
  EXPECT_EQ(j["target"], "smiling");
}

TEST(EditMetrics, RefusesBadInput) {
  auto panel = fake_panel();
  auto a = torch::zeros({2, 3, 8, 8});
  EXPECT_THROW(eval::evaluate_edits(a, torch::zeros({2, 3, 4, 4}), panel, {"smiling"}), Error);
  EXPECT_THROW(eval::evaluate_edits(a, a, panel, {"bald"}), Error);
  EXPECT_THROW(eval::evaluate_edits(a, a, panel, {"smiling", 2}), Error);
  EXPECT_THROW(eval::evaluate_edits(a, a, panel, {"smiling", 0, 0.5, {"nonexistent"}}), Error);
}

TEST(EditMetrics, PreservationCanBeLeftUnmeasured) {
  auto panel = fake_panel();
  auto orig = constant_image(0.5, -0.5, 0.5), edited = constant_image(0.5, 0.5, -0.5);
  eval::EditMetricsParams p;
  p.target = "smiling";
  p.measure_preservation = false;
  auto m = eval::evaluate_edits(orig, edited, panel, p);
  EXPECT_TRUE(std::isnan(m.attribute_preservation_rate));
  EXPECT_TRUE(m.preserved_attributes.empty());
  EXPECT_TRUE(m.to_json()["attribute_preservation_rate"].is_null());
  EXPECT_DOUBLE_EQ(m.target_change_rate, 1.0);  // the rest is measured as usual
  p.preserve = {"male"};                        // contradictory: refused
  EXPECT_THROW(eval::evaluate_edits(orig, edited, panel, p), Error);
}
