// Training the learned editors: the loss pieces against closed forms, a transformer learning a
// known linear attribute, checkpoint + resume equal to an uninterrupted run, and the mechanics on
// real generators (StyleGAN2 tiny32 W+, DCGAN through an image classifier).
#include <gtest/gtest.h>

#include <filesystem>

#include "faceedit/error.h"
#include "faceedit/models/dcgan.h"
#include "faceedit/models/stylegan2.h"
#include "faceedit/train/checkpoint.h"
#include "faceedit/train/learned_editor_job.h"
#include "faceedit/train/train_editor.h"
#include "faceedit/edit/editor_factory.h"
#include "faceedit/models/model_files.h"
#include "test_support.h"

using namespace faceedit;
using namespace faceedit::train;
namespace fs = std::filesystem;

namespace {

// Latent classifier with logits k (a.x) for "smiling" and k (b.x) for "male": fc1 gives t and -t
// per attribute, and lrelu(t) - lrelu(-t) = 1.2 t recovers t; a +100 shift keeps fc2's leaky ReLU in
// its linear part, and fc3 takes it off again.
models::LatentClassifier linear_attributes(const torch::Tensor& a, const torch::Tensor& b, double k,
                                           const std::string& space = "z", int64_t num_ws = 0) {
  models::LatentClassifierConfig c;
  c.space = models::parse_latent_space(space);
  c.latent_dim = a.numel() / std::max<int64_t>(1, num_ws);
  c.num_ws = num_ws;
  c.hidden = {4, 2};
  c.columns = {"smiling", "male"};
  models::LatentClassifier lc(c);
  torch::NoGradGuard no_grad;
  auto fa = a.reshape({1, -1}), fb = b.reshape({1, -1});
  lc->fc1->weight.copy_(torch::cat({fa, -fa, fb, -fb}));
  lc->fc1->bias.zero_();
  lc->fc2->weight.copy_(torch::tensor({{1.0f, -1.0f, 0.0f, 0.0f}, {0.0f, 0.0f, 1.0f, -1.0f}}) / 1.2);
  lc->fc2->bias.fill_(100.0);
  lc->fc3->weight.copy_(torch::tensor({{1.0f, 0.0f}, {0.0f, 1.0f}}) * k);
  lc->fc3->bias.fill_(-100.0 * k);
  return lc;
}

LatentSampler gaussian(int64_t dim) {
  return [dim](int64_t n, uint64_t seed) {
    auto gen = at::detail::createCPUGenerator(seed);
    return at::randn({n, dim}, gen);
  };
}

// A Latent Transformer changing `attribute` in `space` (latent_dim: per layer in W+).
edit::LatentTransformerConfig transformer_config(const std::string& attribute, const std::string& space,
                                                 int64_t latent_dim) {
  edit::LatentTransformerConfig cfg;
  cfg.attribute = attribute;
  cfg.space = models::parse_latent_space(space);
  cfg.latent_dim = latent_dim;
  return cfg;
}

// The default training settings cut down to a quick, silent run.
TrainEditorParams short_run(int64_t steps, int64_t batch) {
  auto p = train_editor_default_params();
  p.steps = steps;
  p.batch = batch;
  p.progress = false;
  return p;
}

std::string temp_file(const std::string& name) { return (test::temp_dir() / name).string(); }

double pearson(const std::vector<double>& x, const std::vector<double>& y) {
  double mx = 0, my = 0;
  for (size_t i = 0; i < x.size(); ++i) mx += x[i] / x.size(), my += y[i] / y.size();
  double sxy = 0, sxx = 0, syy = 0;
  for (size_t i = 0; i < x.size(); ++i) sxy += (x[i] - mx) * (y[i] - my), sxx += (x[i] - mx) * (x[i] - mx), syy += (y[i] - my) * (y[i] - my);
  return sxy / std::sqrt(sxx * syy);
}

}  // namespace

TEST(TrainEditor, LossPiecesClosedForm) {
  // Preservation weights: 1 - |Pearson correlation| with the target, 0 for the target itself.
  auto probs = torch::tensor({{0.1f, 0.2f, 0.9f, 0.5f}, {0.4f, 0.1f, 0.7f, 0.5f}, {0.8f, 0.9f, 0.1f, 0.5f}, {0.6f, 0.3f, 0.3f, 0.5f}});
  auto w = preservation_weights(probs, 0);
  std::vector<std::vector<double>> cols(4);
  for (int64_t i = 0; i < 4; ++i)
    for (int64_t k = 0; k < 4; ++k) cols[k].push_back(probs[i][k].item<double>());
  EXPECT_EQ(w[0].item<float>(), 0.0f);
  EXPECT_NEAR(w[1].item<double>(), 1 - std::abs(pearson(cols[0], cols[1])), 1e-6);
  EXPECT_NEAR(w[2].item<double>(), 1 - std::abs(pearson(cols[0], cols[2])), 1e-6);
  EXPECT_EQ(w[3].item<float>(), 0.0f);  // constant column
  EXPECT_THROW(preservation_weights(probs, 4), Error);

  // Preservation: one mean over all N x K weighted squared logit changes (2 x 3 here).
  auto l1 = torch::tensor({{1.0f, 2.0f, 3.0f}, {0.0f, -1.0f, 1.0f}}), l0 = torch::zeros({2, 3});
  auto pw = torch::tensor({0.0f, 0.5f, 1.0f});
  EXPECT_NEAR(transformer_preservation(l1, l0, pw).item<double>(), (0 + 1 + 9 + 0 + 0.25 + 1) / 6.0, 1e-6);

  auto alpha = transformer_alpha(torch::tensor({0.1f, 0.5f, 0.9f}));
  EXPECT_NEAR(alpha[0].item<double>(), 0.9, 1e-6);
  EXPECT_NEAR(alpha[1].item<double>(), 0.5, 1e-6);
  EXPECT_NEAR(alpha[2].item<double>(), -0.9, 1e-6);

  // Class-balanced BCE: three positives and one negative weigh half each.
  auto logits = torch::tensor({0.0f, 1.0f, 2.0f, -1.0f});
  auto labels = torch::tensor({1.0f, 1.0f, 1.0f, 1.0f - 1.0f});
  auto bce = [](double x, double y) { return -(y * std::log(1 / (1 + std::exp(-x))) + (1 - y) * std::log(1 - 1 / (1 + std::exp(-x)))); };
  const double want = 0.5 * (bce(0, 1) + bce(1, 1) + bce(2, 1)) / 3 + 0.5 * bce(-1, 0);
  EXPECT_NEAR(class_balanced_bce(logits, labels).item<double>(), want, 1e-6);
  const double plain = (bce(0, 1) + bce(1, 1)) / 2;
  EXPECT_NEAR(class_balanced_bce(logits.narrow(0, 0, 2), labels.narrow(0, 0, 2)).item<double>(), plain, 1e-6);
}

TEST(TrainEditor, SyntheticClassifierHasTheKnownLinearLogits) {
  auto a = torch::tensor({1.0f, 0.0f, 0.0f}), b = torch::tensor({0.0f, 2.0f, 0.0f});
  auto lc = linear_attributes(a, b, 3.0);
  auto x = torch::tensor({{0.5f, -1.0f, 4.0f}, {-2.0f, 0.25f, 1.0f}});
  auto logits = lc->forward(x);
  EXPECT_NEAR(logits[0][0].item<double>(), 1.5, 1e-3);
  EXPECT_NEAR(logits[0][1].item<double>(), -6.0, 1e-3);
  EXPECT_NEAR(logits[1][0].item<double>(), -6.0, 1e-3);
  EXPECT_NEAR(logits[1][1].item<double>(), 1.5, 1e-3);
}

TEST(TrainEditor, TransformerLearnsAKnownLinearAttribute) {
  // 64 dimensions, as latent spaces have many: moving one coordinate costs little reconstruction.
  const int64_t dim = 64;
  auto a = torch::zeros({dim}), b = torch::zeros({dim});
  a[0] = 1.0;
  b[1] = 1.0;  // orthogonal to a: to be preserved with weight ~1
  auto lc = linear_attributes(a, b, 4.0);
  const auto cfg = transformer_config("smiling", "z", dim);
  auto p = short_run(3000, 64);
  p.checkpoint_every = 0;
  const std::string out = temp_file("synthetic.safetensors");
  auto report = train_latent_transformer(lc, gaussian(dim), cfg, p, out);
  EXPECT_GT(report["preservation_weights"]["male"].get<double>(), 0.9) << report.dump();
  // A linear T cannot flip codes far from the boundary on both sides at alpha = +-1 (w + T(w) and
  // w - T(w) would need opposite slopes), and 10 x MSE prices the long moves: ~0.89 flip here,
  // where an untrained T flips about half.
  EXPECT_GT(report["heldout_latent"]["latent_flip_rate_alpha_1"].get<double>(), 0.8) << report.dump();
  EXPECT_LT(report["heldout_latent"]["latent_mse_alpha_1"].get<double>(), 0.1) << report.dump();
  auto editor = edit::load_latent_transformer(out);
  // The learned edit moves along a (x0) and keeps b's coordinate (x1).
  torch::NoGradGuard no_grad;
  auto x = gaussian(dim)(500, 77);
  auto y = editor->edit(x, editor->flip_sign(x));
  auto flipped = ((y.select(1, 0) > 0) != (x.select(1, 0) > 0)).to(torch::kDouble).mean().item<double>();
  EXPECT_GT(flipped, 0.8);
  EXPECT_LT((y.select(1, 1) - x.select(1, 1)).abs().mean().item<double>(), 0.15);
  EXPECT_FALSE(fs::exists(out + ".ckpt"));
}

TEST(TrainEditor, InterruptedAndResumedEqualsUninterrupted) {
  const int64_t dim = 6;
  auto lc = linear_attributes(torch::randn({dim}), torch::randn({dim}), 2.0);
  const auto cfg = transformer_config("male", "z", dim);
  auto p = short_run(30, 16);
  p.checkpoint_every = 10;
  p.correlation_samples = 256;
  const std::string ref = temp_file("ref.safetensors"), got = temp_file("resumed.safetensors");
  train_latent_transformer(lc, gaussian(dim), cfg, p, ref);
  // A crash at the 16th training batch (after the checkpoint of step 10).
  int calls = 0;
  LatentSampler crashing = [&](int64_t n, uint64_t seed) {
    if (n == p.batch && ++calls == 16) throw std::runtime_error("simulated crash");
    return gaussian(dim)(n, seed);
  };
  EXPECT_THROW(train_latent_transformer(lc, crashing, cfg, p, got), std::runtime_error);
  EXPECT_TRUE(fs::exists(got + ".ckpt/state.json"));
  EXPECT_FALSE(fs::exists(got));
  // Other settings: refused, naming what differs.
  auto q = p;
  q.resume = true;
  q.learning_rate = 0.01;
  auto msg = test::error_of([&] { train_latent_transformer(lc, gaussian(dim), cfg, q, got); });
  EXPECT_NE(msg.find("lr"), std::string::npos) << msg;
  q.learning_rate = p.learning_rate;
  auto report = train_latent_transformer(lc, gaussian(dim), cfg, q, got);
  EXPECT_EQ(report["resumed_from_step"], 10);
  auto a = edit::load_latent_transformer(ref), b = edit::load_latent_transformer(got);
  auto x = torch::randn({7, dim}), s = torch::randn({7});
  EXPECT_TRUE(torch::equal(a->edit(x, s), b->edit(x, s)));
  EXPECT_FALSE(fs::exists(got + ".ckpt"));
}

TEST(TrainEditor, TransformerOnStyleGAN2WPlusLayers) {
  const char* kPkl = "fixtures/stylegan2-ada/tiny32.pkl";
  FACEEDIT_REQUIRE_SHARED(pkl, kPkl);
  auto g = models::StyleGAN2::load(test::converted(kPkl));
  const int64_t num_ws = g->num_ws(), dim = g->w_dim();
  torch::manual_seed(0);
  auto lc = linear_attributes(torch::randn({num_ws * dim}) / std::sqrt(double(num_ws * dim)),
                              torch::randn({num_ws * dim}) / std::sqrt(double(num_ws * dim)), 3.0, "wplus", num_ws);
  auto cfg = transformer_config("smiling", "wplus", dim);
  cfg.num_ws = num_ws;
  cfg.layers = {0, 1, 2, 3};
  auto p = short_run(5, 8);
  p.correlation_samples = 64;
  const std::string out = temp_file("wplus.safetensors");
  auto report = train_latent_transformer(lc, generator_sampler(*g, models::LatentSpace::WPlus), cfg, p, out);
  EXPECT_TRUE(std::isfinite(report["final"]["loss"].get<double>()));
  auto editor = edit::load_latent_transformer(out, {1, 2});
  torch::NoGradGuard no_grad;
  auto ws = g->map(g->sample_z(3, 5));
  auto edited = editor->edit(ws, torch::full({3}, 2.0));
  for (int64_t l = 0; l < num_ws; ++l)
    EXPECT_EQ(torch::equal(edited.select(1, l), ws.select(1, l)), l != 1 && l != 2) << "layer " << l;
  auto images = g->generate(edited, models::LatentSpace::WPlus);
  EXPECT_EQ(images.size(0), 3);
  EXPECT_TRUE(std::isfinite(images.abs().sum().item<double>()));
}

namespace {
// An image "attribute" with a known meaning: bright faces (mean pixel above the batch's typical
// level). Differentiable, so L2M can learn to brighten or darken.
class BrightnessClassifier : public models::AttributeClassifier {
 public:
  std::string name() const override { return "brightness"; }
  const std::vector<models::AttributeColumn>& columns() const override { return cols_; }
  torch::Tensor predict(const torch::Tensor& images) override { return torch::sigmoid(logits(images)); }
  torch::Tensor logits(const torch::Tensor& images) override {
    auto m = images.mean({1, 2, 3});
    auto red = images.select(1, 0).mean({1, 2}) - images.select(1, 2).mean({1, 2});
    return torch::stack({20 * (m - level), 20 * red}, 1);
  }
  void to(torch::Device) override {}
  double level = 0.0;

 private:
  std::vector<models::AttributeColumn> cols_ = {{"bright"}, {"reddish"}};
};
}  // namespace

TEST(TrainEditor, L2MThroughTheDCGANLearnsTheTarget) {
  FACEEDIT_REQUIRE_SHARED(src, "models/dcgan-celeba32/generator.pt");
  auto g = models::DCGAN::load(test::converted("models/dcgan-celeba32/generator.pt"));
  BrightnessClassifier clf;
  {
    torch::NoGradGuard no_grad;
    clf.level = g->generate(g->sample_z(256, 1), models::LatentSpace::Z).mean({1, 2, 3}).median().item<double>();
  }
  edit::L2MConfig cfg;
  cfg.attribute = "bright";
  cfg.latent_dim = g->z_dim();
  cfg.hidden = 64;
  auto p = short_run(60, 16);
  p.checkpoint_every = 0;
  const std::string out = temp_file("l2m.safetensors");
  auto report = train_l2m(*g, clf, cfg, p, out);
  const auto& h = report["history"];
  ASSERT_GE(h.size(), 2u);
  EXPECT_LT(h.back()["classification"].get<double>(), h.front()["classification"].get<double>()) << h.dump();
  auto editor = edit::load_l2m(out);
  auto flip = heldout_flip_rate(*editor, *g, clf, "bright", 64, 4200000000ull);
  EXPECT_GT(flip["target_flip_rate"].get<double>(), 0.5) << flip.dump();
  torch::NoGradGuard no_grad;
  auto z = g->sample_z(4, 9);
  EXPECT_TRUE(torch::equal(editor->edit(z, torch::zeros({4})), z));
}

// `train-editor` as a library call: the transformer's latent classifier made on the way from
// sampled, scored latents (the report says so), the held-out report written into the file; the
// settings no method can take refused by name before any training.
TEST(TrainEditor, LearnedEditorJobMakesItsLatentClassifierAndRefusesBadSettings) {
  FACEEDIT_REQUIRE_SHARED(src, "models/dcgan-celeba32/generator.pt");
  const auto model = test::converted("models/dcgan-celeba32/generator.pt");
  std::shared_ptr<models::Generator> g = models::load_generator(model);
  LearnedEditorJob job;
  job.method = "transformer";
  job.attribute = "smiling";
  job.classifiers = {"celebahq"};
  job.lc_samples = 300;
  job.lc_epochs = 2;
  job.heldout = 16;
  job.train = short_run(5, 16);
  job.train.checkpoint_every = 0;
  const std::string out = temp_file("job_transformer.safetensors");
  const auto report = train_learned_editor(g, model, job, out);
  EXPECT_EQ(report["latent_classifier"]["sampled"].get<int64_t>(), 300) << report.dump();
  EXPECT_EQ(report["model"], model);
  EXPECT_TRUE(report["heldout"].contains("target_flip_rate")) << report.dump();
  edit::EditorSpec spec;
  spec.method = "transformer";
  spec.editor_file = out;
  EXPECT_EQ(edit::open_editor(spec, g)->attribute(), "smiling");
  const auto refused = [&](LearnedEditorJob j, const std::string& o) { return test::error_of([&] { train_learned_editor(g, model, j, o); }); };
  auto j = job;
  j.method = "magic";
  EXPECT_NE(refused(j, out).find("--method magic: unknown learned editor"), std::string::npos);
  EXPECT_NE(refused(job, temp_file("x.pt")).find("give -o FILE.safetensors"), std::string::npos);
  j = job;
  j.layers = "0-3";
  EXPECT_NE(refused(j, out).find("only W+ edits"), std::string::npos);
  j = job;
  j.method = "l2m";
  j.space = models::LatentSpace::WPlus;
  EXPECT_NE(refused(j, out).find("no such latent space"), std::string::npos);  // the DCGAN has z only
  j = job;
  j.attribute = "freckles";
  EXPECT_NE(refused(j, out).find("freckles"), std::string::npos);
}

// The one checkpoint policy (train/checkpoint.h): resume with the same settings, refuse other
// settings naming them, start over when not resuming.
TEST(Checkpoint, ResumesSameSettingsRefusesOthers) {
  const std::string out = temp_file("policy.safetensors");
  torch::manual_seed(0);
  torch::nn::Linear net(3, 2);
  torch::optim::Adam opt(net->parameters(), torch::optim::AdamOptions(1e-2));
  net->forward(torch::randn({4, 3})).sum().backward();
  opt.step();
  const nlohmann::json fp = {{"lr", 0.01}, {"batch", 4}};
  const Checkpoint ckpt(out, fp);
  const auto weight = net->weight.detach().clone();
  ckpt.save([&](const std::string& f) { torch::save(net, f); }, opt, {{"step", 7}});
  {
    torch::NoGradGuard no_grad;
    net->weight.zero_();
  }
  const auto load = [&](const std::string& f) { torch::load(net, f); };
  EXPECT_FALSE(ckpt.resume(false, load, opt).has_value());
  const auto state = ckpt.resume(true, load, opt);
  ASSERT_TRUE(state.has_value());
  EXPECT_EQ(state->at("step"), 7);
  EXPECT_TRUE(torch::equal(net->weight, weight));
  const Checkpoint other(out, {{"lr", 0.02}, {"batch", 4}});
  const auto msg = test::error_of([&] { other.resume(true, load, opt); });
  EXPECT_NE(msg.find("other settings (lr)"), std::string::npos) << msg;
  ckpt.remove();
  EXPECT_FALSE(std::filesystem::exists(ckpt.dir()));
  EXPECT_FALSE(ckpt.resume(true, load, opt).has_value());
}
