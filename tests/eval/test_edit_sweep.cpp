// eval::evaluate_sweep against the same metrics computed another way: the DCGAN's images of the
// edited codes judged in one evaluate_edits() call, with judges that are closed forms of the pixels.
#include <gtest/gtest.h>

#include <cmath>

#include "closed_form_judges.h"
#include "faceedit/edit/interfacegan/boundary.h"
#include "faceedit/edit/editor_factory.h"
#include "faceedit/error.h"
#include "faceedit/eval/edit_sweep.h"
#include "faceedit/models/generator.h"
#include "test_support.h"

namespace faceedit {
namespace {

class EditSweep : public ::testing::Test {
 protected:
  void SetUp() override {
    FACEEDIT_REQUIRE_SHARED(src, "models/dcgan-celeba32/generator.pt");
    g = models::load_generator(test::converted("models/dcgan-celeba32/generator.pt"));
    edit::EditorSpec spec;
    spec.method = "interfacegan";
    spec.boundary = (test::temp_dir() / "sweep-smiling.safetensors").string();
    edit::save_boundary(edit::random_boundary(100, models::LatentSpace::Z, "smiling", 11), spec.boundary);
    editor = edit::open_editor(spec, g);
    codes = g->sample_codes(7, 1234, editor->space());
  }
  std::shared_ptr<models::Generator> g;
  std::unique_ptr<edit::Editor> editor;
  torch::Tensor codes;
};

// Every row of the sweep = evaluate_edits(G(codes), G(edit(codes, flip_sign * |alpha|))), computed
// here in one call over all faces (the sweep works in blocks of 3: two whole and one partial).
TEST_F(EditSweep, EachRowEqualsTheJudgesReadingOfTheEditedImagesComputedDirectly) {
  auto judges = test::closed_form_panel();
  eval::SweepParams p;
  p.alphas = {0, -2, 3};  // the magnitude is used: -2 is a flip at strength 2
  p.batch = 3;
  p.grid_rows = 2;
  p.progress = false;
  const auto r = eval::evaluate_sweep(*g, *editor, codes, judges, p);
  ASSERT_TRUE(r.merged);
  EXPECT_EQ(r.json["n"].get<int64_t>(), 7);
  ASSERT_EQ(r.json["metrics"].size(), 3u);
  EXPECT_FALSE(r.grid.empty());

  torch::NoGradGuard no_grad;
  const auto space = editor->space();
  const auto original = g->generate(codes, space);
  const auto sign = editor->flip_sign(codes);
  eval::EditMetricsParams mp;
  mp.target = "smiling";
  for (size_t a = 0; a < p.alphas.size(); ++a) {
    const auto edited = g->generate(editor->edit(codes, sign * std::abs(p.alphas[a])), space);
    const auto expected = eval::evaluate_edits(original, edited, judges, mp);
    const auto& row = r.json["metrics"][a];
    SCOPED_TRACE("alpha " + std::to_string(p.alphas[a]));
    EXPECT_NEAR(row["target_change_rate"].get<double>(), expected.target_change_rate, 1e-9);
    EXPECT_NEAR(row["attribute_preservation_rate"].get<double>(), expected.attribute_preservation_rate, 1e-9);
    EXPECT_NEAR(row["identity_preservation"].get<double>(), expected.identity_preservation, 1e-5);
    EXPECT_NEAR(row["background_change"].get<double>(), expected.background_change, 1e-5);
    for (const auto& [column, delta] : expected.mean_abs_delta_p)
      EXPECT_NEAR(row["mean_abs_delta_p"][column].get<double>(), delta, 1e-5) << column;
  }
  // Strength 0 is the unedited faces: nothing changed, by the definitions of the metrics.
  const auto& zero = r.json["metrics"][0];
  EXPECT_EQ(zero["target_change_rate"].get<double>(), 0.0);
  EXPECT_EQ(zero["attribute_preservation_rate"].get<double>(), 1.0);
  EXPECT_NEAR(zero["identity_preservation"].get<double>(), 1.0, 1e-6);
  EXPECT_NEAR(zero["background_change"].get<double>(), 0.0, 1e-9);
  // A strong edit changes the images the judges see.
  EXPECT_LT(r.json["metrics"][2]["identity_preservation"].get<double>(), 1.0 - 1e-6);
  EXPECT_GT(r.json["metrics"][2]["background_change"].get<double>(), 1e-4);
}

TEST_F(EditSweep, RefusesBadInputWithANamedError) {
  auto judges = test::closed_form_panel();
  eval::SweepParams p;
  p.progress = false;
  p.alphas = {};
  EXPECT_NE(test::error_of([&] { eval::evaluate_sweep(*g, *editor, codes, judges, p); }).find("at least one strength"),
            std::string::npos);
  p.alphas = {1};
  p.batch = 0;
  EXPECT_NE(test::error_of([&] { eval::evaluate_sweep(*g, *editor, codes, judges, p); }).find("batch must be positive"),
            std::string::npos);
  p.batch = 4;
  models::JudgePanel no_attributes;
  no_attributes.identity = std::make_unique<test::ChannelMeanEmbedder>();
  EXPECT_NE(test::error_of([&] { eval::evaluate_sweep(*g, *editor, codes, no_attributes, p); }).find("attribute judge"),
            std::string::npos);
  p.judge_target = "nosuch";
  EXPECT_NE(test::error_of([&] { eval::evaluate_sweep(*g, *editor, codes, judges, p); }), "(no error)");
}

}  // namespace
}  // namespace faceedit
