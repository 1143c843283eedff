// The PFSF walk: Gram-Schmidt against the closed-form projection, steps of the set length orthogonal
// to the preserved gradients, the crossing and strengths, and the Editor behind it.
#include <gtest/gtest.h>

#include "faceedit/edit/pfsf_walk.h"
#include "faceedit/error.h"
#include "faceedit/models/generator.h"
#include "test_support.h"

using namespace faceedit;

namespace {

// A differentiable classifier with known gradients: logits = images . w_k (fixed random w_k) + b_k.
class LinearClassifier : public models::AttributeClassifier {
 public:
  LinearClassifier(int64_t pixels, std::vector<double> bias) : bias_(std::move(bias)) {
    torch::manual_seed(7);
    w_ = torch::randn({pixels, 3}) / std::sqrt(static_cast<double>(pixels)) * 4.0;
    cols_ = {{"smiling", models::ColumnKind::Probability}, {"male", models::ColumnKind::Probability},
             {"young", models::ColumnKind::Probability}};
  }
  std::string name() const override { return "linear"; }
  const std::vector<models::AttributeColumn>& columns() const override { return cols_; }
  torch::Tensor logits(const torch::Tensor& images) override {
    return images.reshape({images.size(0), -1}).matmul(w_.to(images.device())) + torch::tensor(bias_).to(torch::kFloat32);
  }
  torch::Tensor predict(const torch::Tensor& images) override { return torch::sigmoid(logits(images)); }
  void to(torch::Device) override {}

 private:
  torch::Tensor w_;
  std::vector<double> bias_;
  std::vector<models::AttributeColumn> cols_;
};

// A differentiable identity with known gradients: unit-normalised random projections of the pixels.
class LinearEmbedder : public models::IdentityEmbedder {
 public:
  explicit LinearEmbedder(int64_t pixels) {
    torch::manual_seed(8);
    v_ = torch::randn({pixels, 8});
  }
  std::string name() const override { return "linear-identity"; }
  int64_t dim() const override { return 8; }
  torch::Tensor embed(const torch::Tensor& images) override {
    auto e = images.reshape({images.size(0), -1}).matmul(v_.to(images.device()));
    return e / e.norm(2, 1, true);
  }
  void to(torch::Device) override {}

 private:
  torch::Tensor v_;
};

std::shared_ptr<models::Generator> dcgan() {
  const std::string src = test::shared_file("models/dcgan-celeba32/generator.pt");
  if (src.empty()) return nullptr;
  return models::load_generator(test::converted("models/dcgan-celeba32/generator.pt"));
}

torch::Tensor logit_grad(const models::Generator& g, models::AttributeClassifier& clf, const torch::Tensor& z, int64_t col) {
  torch::AutoGradMode on(true);
  auto x = z.detach().clone().requires_grad_(true);
  auto l = clf.logits(g.generate(x, models::LatentSpace::Z)).select(1, col).sum();
  return torch::autograd::grad({l}, {x})[0];
}

}  // namespace

TEST(PfsfWalk, GramSchmidtEqualsTheClosedFormProjection) {
  torch::manual_seed(0);
  const int64_t n = 4, d = 20;
  auto v = torch::randn({n, d}, torch::kFloat64);
  auto a = torch::randn({n, d}, torch::kFloat64), b = torch::randn({n, d}, torch::kFloat64), c = torch::randn({n, d}, torch::kFloat64);
  // A dependent vector and a zero vector must not change the span.
  auto r = edit::project_out(v, {a, b, a + 2 * b, torch::zeros({n, d}, torch::kFloat64), c});
  for (int64_t i = 0; i < n; ++i) {
    auto m = torch::stack({a[i], b[i], c[i]}, 1);  // [d, 3]
    auto closed = v[i] - m.matmul(torch::linalg::solve(m.t().matmul(m), m.t().matmul(v[i]), true));
    EXPECT_LT((r[i] - closed).abs().max().item<double>(), 1e-10);
    EXPECT_LT(r[i].dot(a[i]).abs().item<double>(), 1e-10);
  }
}

TEST(PfsfWalk, StepsHaveTheSetLengthAndAreOrthogonalToPreservedGradients) {
  auto g = dcgan();
  if (!g) { FACEEDIT_SHARED_MISSING("models/dcgan-celeba32"); }
  LinearClassifier clf(3 * 32 * 32, {0.0, 0.0, 0.0});
  const auto pivot = g->sample_z(2, 3);
  for (float dir : {1.0f, -1.0f}) {
    edit::WalkParams p;
    p.attribute = "smiling";
    p.threshold = dir > 0 ? 0.999999 : 1e-6;  // not reached: the whole budget is walked
    p.max_steps = 4;
    p.step_length = 0.2;
    p.clamp_to_prior = false;
    const auto path = edit::pfsf_walk(*g, clf, nullptr, pivot, models::LatentSpace::Z, torch::full({2}, dir), p);
    ASSERT_EQ(path.steps(), 4);
    EXPECT_EQ(path.preserved_columns, (std::vector<std::string>{"male", "young"}));
    for (int64_t k = 0; k < 4; ++k) {
      const auto step = path.latents[k + 1] - path.latents[k];
      for (int64_t i = 0; i < 2; ++i) {
        const auto s = step[i];
        EXPECT_NEAR(s.norm().item<double>(), 0.2, 1e-5);
        for (int64_t col : {1, 2}) {
          const auto gr = logit_grad(*g, clf, path.latents[k].narrow(0, i, 1), col)[0];
          EXPECT_LT(std::abs(s.dot(gr).item<double>()) / (s.norm() * gr.norm()).item<double>(), 1e-3) << k << " " << col;
        }
        const auto gt = logit_grad(*g, clf, path.latents[k].narrow(0, i, 1), 0)[0];
        EXPECT_GT(s.dot(gt).item<double>() * dir, 0.0);  // up for +1, down for -1
      }
    }
    for (int64_t i = 0; i < 2; ++i) EXPECT_GT(dir * (path.probs[4][i] - path.probs[0][i]).item<float>(), 0.0f);
  }
}

// In the DCGAN's box prior, coordinates already on a face of the box stay there, so the clamp never
// shortens a step and steps stay orthogonal to the preserved gradients.
TEST(PfsfWalk, ClampedWalkKeepsSaturatedCoordinatesAndOrthogonality) {
  auto g = dcgan();
  if (!g) { FACEEDIT_SHARED_MISSING("models/dcgan-celeba32"); }
  LinearClassifier clf(3 * 32 * 32, {0.0, 0.0, 0.0});
  auto pivot = g->sample_z(1, 9);
  pivot.narrow(1, 0, 8).fill_(1.0);
  pivot.narrow(1, 8, 8).fill_(-1.0);
  edit::WalkParams p;
  p.attribute = "smiling";
  p.threshold = 0.999999;
  p.max_steps = 3;
  p.step_length = 0.05;
  p.clamp_to_prior = true;
  const auto path = edit::pfsf_walk(*g, clf, nullptr, pivot, models::LatentSpace::Z, torch::ones({1}), p);
  for (int64_t k = 0; k < 3; ++k) {
    const auto s = (path.latents[k + 1] - path.latents[k])[0];
    EXPECT_EQ(s.narrow(0, 0, 16).abs().max().item<float>(), 0.0f) << "a saturated coordinate moved";
    for (int64_t col : {1, 2}) {
      const auto gr = logit_grad(*g, clf, path.latents[k], col)[0];
      EXPECT_LT(std::abs(s.dot(gr).item<double>()) / (s.norm() * gr.norm()).item<double>(), 1e-3) << k << " " << col;
    }
  }
}

// With an identity embedder, steps after the first are also orthogonal to the gradient of the
// identity cosine to the pivot (at the pivot that gradient is zero: the cosine is at its maximum).
TEST(PfsfWalk, StepsAreOrthogonalToTheIdentityGradient) {
  auto g = dcgan();
  if (!g) { FACEEDIT_SHARED_MISSING("models/dcgan-celeba32"); }
  LinearClassifier clf(3 * 32 * 32, {0.0, 0.0, 0.0});
  LinearEmbedder id(3 * 32 * 32);
  const auto pivot = g->sample_z(1, 5);
  edit::WalkParams p;
  p.attribute = "smiling";
  p.preserve = {"male"};
  p.threshold = 0.999999;
  p.max_steps = 4;
  p.step_length = 0.2;
  p.clamp_to_prior = false;
  const auto path = edit::pfsf_walk(*g, clf, &id, pivot, models::LatentSpace::Z, torch::ones({1}), p);
  torch::Tensor e0;
  {
    torch::NoGradGuard no_grad;
    e0 = id.embed(g->generate(pivot, models::LatentSpace::Z));
  }
  double largest_cosine_to_identity_gradient = 0, plain_cosine = 0;
  for (int64_t k = 1; k < 4; ++k) {
    const auto s = (path.latents[k + 1] - path.latents[k])[0];
    torch::AutoGradMode on(true);
    auto x = path.latents[k].detach().clone().requires_grad_(true);
    auto c = (id.embed(g->generate(x, models::LatentSpace::Z)) * e0).sum();
    const auto gid = torch::autograd::grad({c}, {x})[0][0];
    const double cos = std::abs(s.dot(gid).item<double>()) / (s.norm() * gid.norm()).item<double>();
    largest_cosine_to_identity_gradient = std::max(largest_cosine_to_identity_gradient, cos);
    // The same step without the identity projection would not be orthogonal to it.
    const auto gt = logit_grad(*g, clf, path.latents[k], 0)[0], gm = logit_grad(*g, clf, path.latents[k], 1)[0];
    const auto plain = edit::project_out(gt.unsqueeze(0), {gm.unsqueeze(0)})[0];
    plain_cosine = std::max(plain_cosine, std::abs(plain.dot(gid).item<double>()) / (plain.norm() * gid.norm()).item<double>());
  }
  EXPECT_LT(largest_cosine_to_identity_gradient, 1e-3);
  EXPECT_GT(plain_cosine, 1e-2) << "the identity gradient is already orthogonal: the test would not see a missing projection";
}

TEST(PfsfWalk, CrossingAndStrengths) {
  auto g = dcgan();
  if (!g) { FACEEDIT_SHARED_MISSING("models/dcgan-celeba32"); }
  LinearClassifier clf(3 * 32 * 32, {0.0, 0.0, 0.0});
  const auto pivot = g->sample_z(1, 5);
  double p0;
  {
    torch::NoGradGuard no_grad;
    p0 = clf.predict(g->generate(pivot, models::LatentSpace::Z))[0][0].item<double>();
  }
  edit::WalkParams p;
  p.attribute = "smiling";
  p.threshold = std::min(0.97, p0 + 0.15);
  p.max_steps = 80;
  p.step_length = 0.1;
  p.clamp_to_prior = false;
  const auto dir = torch::ones({1});
  const auto path1 = edit::pfsf_walk(*g, clf, nullptr, pivot, models::LatentSpace::Z, dir, p, torch::ones({1}));
  const double c = path1.crossing[0].item<double>();
  ASSERT_GT(c, 0.0) << "threshold " << p.threshold << " from " << p0;
  EXPECT_EQ(path1.steps_walked[0].item<float>(), std::ceil(c));  // stops at the crossing
  const int64_t lo = static_cast<int64_t>(std::floor(c));
  EXPECT_LT(path1.probs[lo][0].item<double>(), p.threshold);
  EXPECT_GE(path1.probs[lo + 1][0].item<double>(), p.threshold);
  EXPECT_TRUE(torch::equal(path1.point(torch::zeros({1})), pivot));
  // Strength 1 lands on the crossing: its probability is the threshold up to the curvature of one step.
  {
    torch::NoGradGuard no_grad;
    const double at1 = clf.predict(g->generate(path1.point(torch::ones({1})), models::LatentSpace::Z))[0][0].item<double>();
    EXPECT_NEAR(at1, p.threshold, 0.02);
  }
  // Strength 2 walks on to twice the crossing.
  const auto path2 = edit::pfsf_walk(*g, clf, nullptr, pivot, models::LatentSpace::Z, dir, p, torch::full({1}, 2.0));
  EXPECT_NEAR(path2.crossing[0].item<double>(), c, 1e-4);
  EXPECT_EQ(path2.steps_walked[0].item<float>(), std::min(80.0, std::ceil(2 * c)));
  const auto half = path2.point(torch::full({1}, 0.5));
  const double t = 0.5 * c;
  const int64_t k = static_cast<int64_t>(std::floor(t));
  const auto expect = path2.latents[k] * (1 - (t - k)) + path2.latents[k + 1] * (t - k);
  EXPECT_LT((half - expect).abs().max().item<float>(), 1e-5);
}

TEST(PfsfWalk, EditorWalksEachSampleBySign) {
  auto gu = dcgan();
  if (!gu) { FACEEDIT_SHARED_MISSING("models/dcgan-celeba32"); }
  std::shared_ptr<const models::Generator> g = gu;
  auto clf = std::make_shared<LinearClassifier>(3 * 32 * 32, std::vector<double>{0.0, 0.0, 0.0});
  edit::PfsfEditorParams ep;
  ep.attribute = "smiling";
  ep.walk.max_steps = 30;
  ep.walk.step_length = 0.1;
  edit::PfsfEditor editor(g, clf, ep);
  EXPECT_EQ(editor.method(), "pfsf");
  EXPECT_EQ(editor.describe()["method"], "pfsf");
  const auto z = g->sample_z(3, 8);
  torch::NoGradGuard no_grad;  // as sweep_images calls it: the walk turns gradients on itself
  const auto out = editor.edit(z, torch::tensor({0.0f, 1.0f, -1.0f}));
  EXPECT_TRUE(torch::equal(out[0], z[0]));
  const auto p_before = clf->predict(g->generate(z, models::LatentSpace::Z)).select(1, 0);
  const auto p_after = clf->predict(g->generate(out, models::LatentSpace::Z)).select(1, 0);
  EXPECT_GT(p_after[1].item<float>(), p_before[1].item<float>());
  EXPECT_LT(p_after[2].item<float>(), p_before[2].item<float>());
  const auto flip = editor.flip_sign(z);
  for (int64_t i = 0; i < 3; ++i) EXPECT_EQ(flip[i].item<float>(), p_before[i].item<float>() >= 0.5f ? -1.0f : 1.0f);
  EXPECT_NE(test::error_of([&] { edit::PfsfEditorParams bad = ep; bad.attribute = "nosuch"; edit::PfsfEditor e(g, clf, bad); })
                .find("nosuch"), std::string::npos);
}
