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

// Faces judged in parts (blocks of a sweep, possibly by several processes) reduce to the same bits
// as the faces judged together; and the reduction does not depend on LibTorch's thread count.
TEST(EditMetrics, PartsReduceToTheSameBitsAsTheWhole) {
  torch::manual_seed(7);
  const int64_t n = 37;
  auto judgments = [&](int64_t first, int64_t count, bool with_background) {
    torch::manual_seed(100);  // the same faces however they are cut
    auto images = torch::rand({n, 3, 16, 16}) * 2 - 1;
    auto probs = torch::rand({n, 4});
    auto emb = torch::nn::functional::normalize(torch::randn({n, 8}), torch::nn::functional::NormalizeFuncOptions().dim(1));
    auto bg = torch::rand({n, 1, 16, 16});
    eval::Judgments j{images.narrow(0, first, count), probs.narrow(0, first, count), emb.narrow(0, first, count), {}};
    if (with_background) j.background = bg.narrow(0, first, count);
    return j;
  };
  auto edited = [&](int64_t first, int64_t count) {
    auto j = judgments(first, count, false);
    j.images = (j.images * 0.7 + 0.1).clamp(-1, 1);
    j.probs = (1 - j.probs);
    j.embeddings = torch::nn::functional::normalize(j.embeddings + 0.3, torch::nn::functional::NormalizeFuncOptions().dim(1));
    return j;
  };
  const std::vector<AttributeColumn> cols = {{"male"}, {"smiling"}, {"young"}, {"happy"}};
  eval::EditMetricsParams p{"smiling"};
  const auto whole = eval::reduce_comparison(eval::compare_faces(judgments(0, n, true), edited(0, n)), cols, p).to_json();
  std::vector<eval::FaceComparison> parts;
  for (auto [first, count] : std::vector<std::pair<int64_t, int64_t>>{{0, 5}, {5, 20}, {25, 12}})
    parts.push_back(eval::compare_faces(judgments(first, count, true), edited(first, count)));
  const int threads = torch::get_num_threads();
  torch::set_num_threads(1);
  const auto merged = eval::reduce_comparison(eval::concat_comparisons(parts), cols, p).to_json();
  torch::set_num_threads(threads);
  EXPECT_EQ(whole.dump(), merged.dump());  // every digit of every number
  EXPECT_GT(whole["background_change"].get<double>(), 0.0);
  // And the reduction is what the metrics say: identity is the mean cosine, computed directly here.
  auto o = judgments(0, n, true);
  auto e = edited(0, n);
  EXPECT_NEAR(whole["identity_preservation"].get<double>(), (o.embeddings * e.embeddings).sum(1).mean().item<double>(), 1e-6);
}
