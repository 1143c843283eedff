// Sequential edits against hand-computed values: a generator whose image is its latent (one
// constant channel per coordinate), editors that move one coordinate, judges in closed form.
#include <gtest/gtest.h>

#include "faceedit/error.h"
#include "faceedit/eval/edit_sequence.h"

using namespace faceedit;
using namespace faceedit::models;

namespace {

class ConstantColorGenerator : public Generator {
 public:
  std::string arch() const override { return "constant-color"; }
  int64_t z_dim() const override { return 3; }
  int64_t resolution() const override { return 4; }
  torch::Tensor sample_z(int64_t n, uint64_t) const override { return torch::zeros({n, 3}); }
  torch::Tensor map(const torch::Tensor& z, double, int) const override { return z; }
  torch::Tensor synthesize(const torch::Tensor& z, NoiseMode) const override {
    return z.view({z.size(0), 3, 1, 1}).expand({z.size(0), 3, 4, 4}).contiguous();
  }
  std::vector<torch::Tensor> parameters() const override { return {}; }
  std::unique_ptr<Generator> clone() const override { return std::make_unique<ConstantColorGenerator>(); }
  torch::OrderedDict<std::string, torch::Tensor> named_tensors() const override { return torch::OrderedDict<std::string, torch::Tensor>(); }
  void to(torch::Device, torch::ScalarType) override {}
  torch::Device device() const override { return torch::kCPU; }
  double synthesis_gflop() const override { return 0; }
  nlohmann::json config() const override { return {}; }
};

// Moves coordinate k; flips towards the other sign.
class CoordinateEditor : public edit::Editor {
 public:
  CoordinateEditor(std::string attribute, int64_t k) : attribute_(std::move(attribute)), k_(k) {}
  std::string method() const override { return "coordinate"; }
  std::string attribute() const override { return attribute_; }
  LatentSpace space() const override { return LatentSpace::Z; }
  torch::Tensor edit(const torch::Tensor& z, const torch::Tensor& alpha) const override {
    auto out = z.clone();
    out.select(1, k_).add_(alpha);
    return out;
  }
  torch::Tensor flip_sign(const torch::Tensor& z) const override {
    return torch::where(z.select(1, k_) > 0, torch::full({z.size(0)}, -1.0), torch::full({z.size(0)}, 1.0));
  }
  nlohmann::json describe() const override { return {{"method", "coordinate"}, {"attribute", attribute_}}; }

 private:
  std::string attribute_;
  int64_t k_;
};

class ChannelSignJudge : public AttributeClassifier {
 public:
  std::string name() const override { return "channel-sign"; }
  const std::vector<AttributeColumn>& columns() const override { return cols_; }
  torch::Tensor predict(const torch::Tensor& x) override { return (x.mean({2, 3}) > 0).to(torch::kFloat); }
  void to(torch::Device) override {}

 private:
  std::vector<AttributeColumn> cols_ = {{"male"}, {"smiling"}, {"young"}};
};

class MeanEmbedder : public IdentityEmbedder {
 public:
  std::string name() const override { return "mean"; }
  int64_t dim() const override { return 3; }
  torch::Tensor embed(const torch::Tensor& x) override {
    return torch::nn::functional::normalize(x.mean({2, 3}), torch::nn::functional::NormalizeFuncOptions().dim(1));
  }
  void to(torch::Device) override {}
};

}  // namespace

TEST(EditSequence, JudgesEveryStageAgainstTheOriginals) {
  ConstantColorGenerator g;
  JudgePanel judges;
  judges.attributes = std::make_unique<ChannelSignJudge>();
  judges.identity = std::make_unique<MeanEmbedder>();
  CoordinateEditor smile("smiling", 1), male("male", 0);
  auto z = torch::tensor({{0.5f, -0.5f, 0.5f}, {-0.5f, 0.5f, 0.5f}});
  auto r = eval::evaluate_sequence(g, {{&smile, 1.0, ""}, {&male, 1.0, ""}}, z, judges, {});
  const auto& after = r.json["after"];
  ASSERT_EQ(after.size(), 2u);
  // Step 1 flips smiling only: (0.5,-0.5,0.5) -> (0.5,0.5,0.5), cosine 0.25 / 0.75.
  EXPECT_DOUBLE_EQ(after[0]["target_change_rate"]["smiling"].get<double>(), 1.0);
  EXPECT_FALSE(after[0]["target_change_rate"].contains("male"));
  EXPECT_DOUBLE_EQ(after[0]["attribute_preservation_rate"].get<double>(), 1.0);  // young (male is a later target)
  EXPECT_NEAR(after[0]["identity_preservation"].get<double>(), 1.0 / 3.0, 1e-6);
  // Step 2 flips male as well; smiling stays changed: (-0.5,0.5,0.5) against (0.5,-0.5,0.5).
  EXPECT_DOUBLE_EQ(after[1]["target_change_rate"]["smiling"].get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(after[1]["target_change_rate"]["male"].get<double>(), 1.0);
  EXPECT_NEAR(after[1]["identity_preservation"].get<double>(), -1.0 / 3.0, 1e-6);
  EXPECT_TRUE(after[1]["background_change"].is_null());  // no segmenter: not measured
  EXPECT_EQ(r.grid.cols, 3 * (4 * 32 + 2) + 2);          // original + 2 stages, tiles scaled x32 with padding 2
}

TEST(EditSequence, FlipsRelativeToTheOriginalAttribute) {
  // The second smile step pushes further the same way (the sign comes from the unedited face),
  // so it cannot undo the first.
  ConstantColorGenerator g;
  JudgePanel judges;
  judges.attributes = std::make_unique<ChannelSignJudge>();
  judges.identity = std::make_unique<MeanEmbedder>();
  CoordinateEditor smile("smiling", 1);
  auto z = torch::tensor({{0.5f, -0.5f, 0.5f}});
  auto r = eval::evaluate_sequence(g, {{&smile, 1.0, ""}, {&smile, 1.0, ""}}, z, judges, {});
  EXPECT_DOUBLE_EQ(r.json["after"][1]["target_change_rate"]["smiling"].get<double>(), 1.0);
  EXPECT_THROW(eval::evaluate_sequence(g, {}, z, judges, {}), Error);
  EXPECT_THROW(eval::evaluate_sequence(g, {{&smile, 1.0, "no-such-column"}}, z, judges, {}), Error);
}

TEST(EditSequence, NoAttributeLeftToPreserveGivesNullPreservation) {
  // The steps target all three judged attributes, so none is left to preserve.
  ConstantColorGenerator g;
  JudgePanel judges;
  judges.attributes = std::make_unique<ChannelSignJudge>();
  judges.identity = std::make_unique<MeanEmbedder>();
  CoordinateEditor male("male", 0), smile("smiling", 1), young("young", 2);
  auto z = torch::tensor({{0.5f, -0.5f, 0.5f}});
  auto r = eval::evaluate_sequence(g, {{&male, 1.0, ""}, {&smile, 1.0, ""}, {&young, 1.0, ""}}, z, judges, {});
  const auto& after = r.json["after"];
  ASSERT_EQ(after.size(), 3u);
  for (const auto& a : after) {
    ASSERT_TRUE(a.contains("attribute_preservation_rate"));
    EXPECT_TRUE(a["attribute_preservation_rate"].is_null()) << a.dump();
  }
  // The other metrics are measured as usual: step 1 flips male only, (0.5,-0.5,0.5) -> (-0.5,-0.5,0.5).
  EXPECT_DOUBLE_EQ(after[0]["target_change_rate"]["male"].get<double>(), 1.0);
  EXPECT_NEAR(after[0]["identity_preservation"].get<double>(), 1.0 / 3.0, 1e-6);
  EXPECT_DOUBLE_EQ(after[2]["target_change_rate"]["young"].get<double>(), 1.0);
}
