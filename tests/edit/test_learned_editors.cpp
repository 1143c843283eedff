// Latent Transformer and L2M editors: closed-form edits, exact identity at strength 0, W+ layer
// restriction, save/load, and the errors of bad files.
#include <gtest/gtest.h>

#include "faceedit/edit/l2m.h"
#include "faceedit/edit/latent_transformer.h"
#include "faceedit/error.h"
#include "faceedit/io/safetensors.h"
#include "test_support.h"

using namespace faceedit;
using namespace faceedit::edit;

namespace {

LatentTransformerConfig transformer_config(const std::string& space, int64_t dim, int64_t num_ws = 0,
                                           std::vector<int64_t> layers = {}) {
  LatentTransformerConfig c;
  c.attribute = "smiling";
  c.space = models::parse_latent_space(space);
  c.latent_dim = dim;
  c.num_ws = num_ws;
  c.layers = std::move(layers);
  return c;
}

// A latent classifier whose "smiling" logit has the sign of v.x (hidden widths 1: leaky ReLU is monotonic).
models::LatentClassifier linear_classifier(const torch::Tensor& v, const std::string& space = "z", int64_t num_ws = 0) {
  models::LatentClassifierConfig c;
  c.space = models::parse_latent_space(space);
  c.latent_dim = v.numel() / std::max<int64_t>(1, num_ws);
  c.num_ws = num_ws;
  c.hidden = {1, 1};
  c.columns = {"smiling"};
  models::LatentClassifier lc(c);
  torch::NoGradGuard no_grad;
  lc->fc1->weight.copy_(v.reshape({1, -1}));
  lc->fc1->bias.zero_();
  lc->fc2->weight.fill_(1.0);
  lc->fc2->bias.zero_();
  lc->fc3->weight.fill_(1.0);
  lc->fc3->bias.zero_();
  return lc;
}

}  // namespace

TEST(LatentTransformer, StrengthZeroIsIdentityAndEditIsClosedForm) {
  torch::manual_seed(1);
  LatentTransformerNet net(transformer_config("z", 3));
  auto map = net->maps->ptr<torch::nn::LinearImpl>(0);
  {
    torch::NoGradGuard no_grad;
    map->weight.copy_(torch::tensor({{1.0f, 0.0f, 0.0f}, {0.0f, 2.0f, 0.0f}, {1.0f, 1.0f, 1.0f}}));
    map->bias.copy_(torch::tensor({0.5f, 0.0f, -1.0f}));
  }
  LatentTransformerEditor editor(net, linear_classifier(torch::tensor({1.0f, 0.0f, 0.0f})));
  auto w = torch::tensor({{1.0f, 2.0f, 3.0f}, {-1.0f, 0.0f, 1.0f}});
  EXPECT_TRUE(torch::equal(editor.edit(w, torch::zeros({2})), w));
  // T(w) = (1.5, 4, 5) and (-0.5, 0, -1).
  auto got = editor.edit(w, torch::tensor({2.0f, -1.0f}));
  auto want = torch::tensor({{1.0f + 3.0f, 2.0f + 8.0f, 3.0f + 10.0f}, {-1.0f + 0.5f, 0.0f, 1.0f + 1.0f}});
  EXPECT_LT((got - want).abs().max().item<double>(), 1e-6);
  // flip_sign from the classifier: p > 0.5 (x0 > 0) -> -1.
  auto s = editor.flip_sign(w);
  EXPECT_EQ(s[0].item<float>(), -1.0f);
  EXPECT_EQ(s[1].item<float>(), 1.0f);
  EXPECT_EQ(editor.method(), "transformer");
  EXPECT_THROW(editor.edit(torch::zeros({2, 4}), torch::zeros({2})), Error);
  EXPECT_THROW(editor.edit(w, torch::zeros({3})), Error);
}

TEST(LatentTransformer, WPlusLayersUnlistedAreBitIdentical) {
  torch::manual_seed(2);
  LatentTransformerNet net(transformer_config("wplus", 6, 5, {3, 1}));
  EXPECT_EQ(net->config().mapped_layers(), (std::vector<int64_t>{1, 3}));
  EXPECT_EQ(net->maps->size(), 2u);
  auto lc = linear_classifier(torch::randn({5 * 6}), "wplus", 5);
  auto w = torch::randn({4, 5, 6});
  LatentTransformerEditor all(net, lc);
  auto y = all.edit(w, torch::full({4}, 1.5));
  for (int64_t l = 0; l < 5; ++l) {
    const bool same = torch::equal(y.select(1, l), w.select(1, l));
    EXPECT_EQ(same, l != 1 && l != 3) << "layer " << l;
  }
  // Layer l of the edit is w_l + alpha T_l(w_l) with that layer's own map.
  auto t3 = net->maps->ptr<torch::nn::LinearImpl>(1)->forward(w.select(1, 3));
  EXPECT_LT((y.select(1, 3) - (w.select(1, 3) + 1.5 * t3)).abs().max().item<double>(), 1e-5);
  LatentTransformerEditor only3(net, lc, {3});
  auto y3 = only3.edit(w, torch::full({4}, 1.5));
  EXPECT_TRUE(torch::equal(y3.select(1, 1), w.select(1, 1)));
  EXPECT_TRUE(torch::equal(y3.select(1, 3), y.select(1, 3)));
  EXPECT_NE(test::error_of([&] { LatentTransformerEditor(net, lc, {2}); }).find("no trained map"), std::string::npos);
  EXPECT_THROW(LatentTransformerNet(transformer_config("wplus", 6, 5, {5})), Error);
  EXPECT_THROW(LatentTransformerNet(transformer_config("z", 6, 0, {1})), Error);
  // A classifier of another space is refused.
  EXPECT_THROW(LatentTransformerEditor(net, linear_classifier(torch::randn({6}))), Error);
}

TEST(LatentTransformer, SaveLoadRoundTripAndBadFiles) {
  torch::manual_seed(3);
  LatentTransformerNet net(transformer_config("wplus", 4, 3, {0, 2}));
  LatentTransformerEditor editor(net, linear_classifier(torch::randn({12}), "wplus", 3));
  const auto dir = test::temp_dir();
  const std::string path = (dir / "t.safetensors").string();
  editor.save(path, {{"note", "test"}});
  auto back = load_latent_transformer(path);
  auto w = torch::randn({5, 3, 4});
  auto a = torch::randn({5});
  EXPECT_TRUE(torch::equal(back->edit(w, a), editor.edit(w, a)));
  EXPECT_TRUE(torch::equal(back->flip_sign(w), editor.flip_sign(w)));
  EXPECT_EQ(back->describe()["trained_layers"], (std::vector<int64_t>{0, 2}));
  EXPECT_TRUE(torch::equal(load_latent_transformer(path, {2})->edit(w, a).select(1, 0), w.select(1, 0)));

  const std::string missing = (dir / "none.safetensors").string();
  EXPECT_NE(test::error_of([&] { load_latent_transformer(missing); }).find(missing), std::string::npos);
  // An L2M file is not a latent transformer.
  L2MConfig lc;
  lc.attribute = "smiling";
  lc.latent_dim = 4;
  const std::string l2m_path = (dir / "l.safetensors").string();
  L2MEditor(L2MNet(lc)).save(l2m_path);
  auto msg = test::error_of([&] { load_latent_transformer(l2m_path); });
  EXPECT_NE(msg.find(l2m_path), std::string::npos) << msg;
  EXPECT_NE(msg.find("not a faceedit latent transformer"), std::string::npos) << msg;
  // Right metadata, wrong tensor shape.
  io::SafetensorsReader good(path);
  io::NamedTensors tensors;
  for (const auto& e : good.entries()) tensors.emplace_back(e.name, good.load(e.name));
  for (auto& [name, t] : tensors)
    if (name == "transformer.maps.0.weight") t = torch::zeros({5, 4});
  const std::string bad = (dir / "bad.safetensors").string();
  io::write_safetensors(bad, tensors, good.metadata());
  msg = test::error_of([&] { load_latent_transformer(bad); });
  EXPECT_NE(msg.find(bad), std::string::npos) << msg;
  EXPECT_NE(msg.find("transformer.maps.0.weight"), std::string::npos) << msg;
}

TEST(L2M, DegreeZeroIsExactAndEditIsFactorised) {
  torch::manual_seed(4);
  L2MConfig c;
  c.attribute = "male";
  c.latent_dim = 10;
  c.hidden = 16;
  L2MNet net(c);
  L2MEditor editor(net);
  auto z = torch::randn({6, 10}) * 3;
  auto d = torch::tensor({0.0f, 1.0f, -1.0f, 0.0f, 2.5f, -0.5f});
  auto y = editor.edit(z, d);
  EXPECT_TRUE(torch::equal(editor.edit(z, torch::zeros({6})), z));
  EXPECT_TRUE(torch::equal(y[0], z[0]));
  EXPECT_TRUE(torch::equal(y[3], z[3]));
  // z' = u + r' with r' = r + |d| D(r, sign d), u = z - r.
  torch::NoGradGuard no_grad;
  auto parts = net->factorise(z);
  EXPECT_LT((parts.relevant + parts.rest - z).abs().max().item<double>(), 1e-5);
  auto sign = torch::tensor({1.0f, 1.0f, -1.0f, 1.0f, 1.0f, -1.0f});
  auto want = parts.rest + parts.relevant + d.abs().view({-1, 1}) * net->transform_delta(parts.relevant, sign);
  EXPECT_LT((y - want).abs().narrow(0, 1, 5).max().item<double>(), 1e-4);
  // Direction matters: +1 and -1 give different edits.
  EXPECT_FALSE(torch::allclose(editor.edit(z, torch::ones({6})), editor.edit(z, -torch::ones({6}))));
  // flip_sign reads the head on r.
  auto logit = net->attribute_logit(z);
  auto s = editor.flip_sign(z);
  for (int64_t i = 0; i < 6; ++i) EXPECT_EQ(s[i].item<float>(), logit[i].item<float>() > 0 ? -1.0f : 1.0f);
  EXPECT_THROW(editor.edit(torch::zeros({2, 3}), torch::zeros({2})), Error);
}

TEST(L2M, OrthogonalityLossClosedForm) {
  auto r = torch::tensor({{1.0f, 0.0f}, {1.0f, 0.0f}, {2.0f, 2.0f}, {0.0f, 0.0f}});
  auto u = torch::tensor({{0.0f, 3.0f}, {1.0f, 1.0f}, {-1.0f, -1.0f}, {1.0f, 0.0f}});
  // cos^2: 0, 1/2, 1, 0 (a zero vector counts as orthogonal) -> mean 0.375.
  EXPECT_NEAR(orthogonality_loss(r, u).item<double>(), 0.375, 1e-6);
  auto g = torch::randn({8, 5}, torch::requires_grad());
  auto loss = orthogonality_loss(g, torch::randn({8, 5}));
  loss.backward();
  EXPECT_TRUE(g.grad().defined() && std::isfinite(g.grad().abs().sum().item<double>()));
}

TEST(L2M, SaveLoadRoundTripAndBadFiles) {
  torch::manual_seed(5);
  L2MConfig c;
  c.attribute = "young";
  c.space = models::LatentSpace::W;
  c.latent_dim = 8;
  c.hidden = 12;
  L2MEditor editor{L2MNet(c)};
  const auto dir = test::temp_dir();
  const std::string path = (dir / "l2m.safetensors").string();
  editor.save(path);
  auto back = load_l2m(path);
  auto z = torch::randn({4, 8});
  auto d = torch::tensor({1.0f, -1.0f, 0.5f, 0.0f});
  EXPECT_TRUE(torch::equal(back->edit(z, d), editor.edit(z, d)));
  EXPECT_EQ(back->space(), models::LatentSpace::W);
  EXPECT_EQ(back->attribute(), "young");
  c.space = models::LatentSpace::WPlus;
  EXPECT_THROW(L2MNet{c}, Error);
  const std::string missing = (dir / "missing.safetensors").string();
  EXPECT_NE(test::error_of([&] { load_l2m(missing); }).find(missing), std::string::npos);
  torch::manual_seed(6);
  LatentTransformerNet tn(transformer_config("z", 8));
  const std::string tpath = (dir / "t.safetensors").string();
  LatentTransformerEditor(tn, linear_classifier(torch::randn({8}))).save(tpath);
  auto msg = test::error_of([&] { load_l2m(tpath); });
  EXPECT_NE(msg.find(tpath), std::string::npos) << msg;
  EXPECT_NE(msg.find("not a faceedit l2m editor"), std::string::npos) << msg;
}
