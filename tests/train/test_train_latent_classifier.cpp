#include <gtest/gtest.h>

#include "faceedit/error.h"
#include "faceedit/models/face_classifier.h"
#include "faceedit/models/latent_classifier.h"
#include "faceedit/models/model_files.h"
#include "faceedit/train/train_latent_classifier.h"
#include "test_support.h"

using namespace faceedit;

TEST(LatentClassifier, LearnsKnownDecisionRules) {
  // Column a: a linear rule (InterFaceGAN's assumption); column b: an XOR-like rule a linear model
  // cannot fit but three layers can.
  torch::manual_seed(0);
  const int64_t n = 6000, d = 16;
  auto x = torch::randn({n, d});
  auto v = torch::randn({d});
  v = v / v.norm();
  auto a = torch::sigmoid(4.0 * x.matmul(v));
  auto b = torch::sigmoid(4.0 * x.select(1, 0) * x.select(1, 1));
  train::LatentScores data{models::LatentSpace::Z, x, torch::stack({a, b}, 1), {"linear", "xor"}};
  auto p = train::train_latent_classifier_default_params();
  p.epochs = 25;
  p.hidden = {128, 64};
  p.progress = false;
  const std::string out = (test::temp_dir() / "lc.safetensors").string();
  auto report = train::train_latent_classifier(data, p, out);
  EXPECT_GE(report["heldout_metrics"]["linear"]["label_agreement"].get<double>(), 0.95) << report.dump();
  EXPECT_GE(report["heldout_metrics"]["xor"]["label_agreement"].get<double>(), 0.85) << report.dump();
  auto lc = models::load_latent_classifier(out);
  EXPECT_EQ(lc->column("xor"), 1);
  EXPECT_THROW(lc->column("smiling"), Error);
  EXPECT_THROW(lc->forward(torch::zeros({2, 8})), Error);
  EXPECT_THROW(lc->forward(torch::zeros({2, 3, 16})), Error);
  // Differentiable w.r.t. the latent (editors back-propagate through it).
  auto z = torch::zeros({1, d}).requires_grad_(true);
  lc->forward(z).select(1, 0).sum().backward();
  EXPECT_GT(z.grad().abs().sum().item<double>(), 0.0);
}

TEST(LatentClassifier, SampleAndScoreMatchesDirectScoring) {
  FACEEDIT_REQUIRE_SHARED(src, "fixtures/stylegan2-ada/tiny32.pkl");
  auto g = models::load_generator(test::converted("fixtures/stylegan2-ada/tiny32.pkl"));
  models::FaceClassifierConfig cfg;
  cfg.input.height = cfg.input.width = 32;
  cfg.widths = {8};
  cfg.heads.push_back({"smiling", {}, {}});
  cfg.heads.push_back({"age", {"a", "b"}, {{"young", {0}}}});
  torch::manual_seed(3);
  models::FaceClassifier clf(cfg);
  train::SampleScoresParams p;
  p.n = 10;
  p.batch = 4;
  p.space = models::LatentSpace::WPlus;
  p.truncation = 0.7;
  p.progress = false;
  auto data = train::sample_and_score(*g, clf, p);
  EXPECT_EQ(data.latents.sizes(), (std::vector<int64_t>{10, g->num_ws(), g->w_dim()}));
  EXPECT_EQ(data.columns, (std::vector<std::string>{"smiling", "age_a", "age_b", "young"}));
  torch::NoGradGuard no_grad;
  auto expected_latents = g->map(g->sample_z(10, 0), 0.7);
  // Relative: the mapping's matmuls run in batches of 4 here and of 10 there, and BLAS sums those in
  // different orders (seen: 1.7e-6 absolute); a wrong seed or truncation differs by O(1).
  EXPECT_LT(test::relative_max_error(data.latents, expected_latents), 1e-5);
  auto direct = clf.predict(g->synthesize(expected_latents));
  EXPECT_LT((data.scores - direct).abs().max().item<double>(), 1e-5);
  EXPECT_THROW(models::parse_latent_space("bogus"), Error);  // a space is a type now: only a name can be wrong
}
