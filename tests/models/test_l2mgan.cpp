// L2M-GAN (models/l2mgan.h, train/train_l2mgan.h) against definitions: the factorisation and the
// orthogonality loss by closed form, the edited style's two ends, gradients of the training losses
// against central finite differences in double precision, files and refusals; and the trainer: a
// tiny config trains a few steps, and a run stopped after its checkpoint and continued equals an
// uninterrupted one bit for bit.
#include <gtest/gtest.h>

#include <filesystem>
#include <functional>

#include "faceedit/error.h"
#include "faceedit/io/safetensors.h"
#include "faceedit/models/judges.h"
#include "faceedit/models/l2mgan.h"
#include "faceedit/train/train_l2mgan.h"
#include "test_support.h"

using namespace faceedit;
using models::L2MGan;
using models::L2MGanConfig;

namespace {

L2MGanConfig tiny_config() {
  L2MGanConfig c;
  c.resolution = 16;
  c.width = 4, c.max_width = 8, c.downs = 2, c.bottleneck = 1;
  c.style_width = 4, c.style_max_width = 8, c.style_dim = 6;
  c.attributes = {"smiling", "male"};
  return c;
}

// 12 random 16-px faces with random smiling / male labels (seeded).
train::LabelledFaces synthetic_faces(uint64_t seed) {
  torch::manual_seed(seed);
  train::LabelledFaces faces;
  faces.name = "synthetic";
  faces.images = torch::randint(0, 256, {12, 3, 16, 16}, torch::kInt64).to(torch::kUInt8);
  faces.labels["smiling"] = torch::randint(0, 2, {12}, torch::kInt64);
  faces.labels["male"] = torch::randint(0, 2, {12}, torch::kInt64);
  return faces;
}

void expect_same_tensors(const std::string& straight, const std::string& resumed) {
  io::SafetensorsReader a(straight), b(resumed);
  ASSERT_EQ(a.entries().size(), b.entries().size());
  for (const auto& e : a.entries()) EXPECT_TRUE(torch::equal(a.load(e.name), b.load(e.name))) << e.name;
}

// d loss / d p (already in p.grad()) at three entries against central differences, double precision.
void expect_gradient_matches(const std::function<torch::Tensor()>& loss_fn, const std::string& name, torch::Tensor p) {
  ASSERT_TRUE(p.defined()) << name;
  const double h = 1e-6;
  auto flat = p.view(-1);
  auto grad = p.grad().view(-1);
  for (int64_t k : {int64_t{0}, flat.size(0) / 2, flat.size(0) - 1}) {
    torch::NoGradGuard no_grad;
    const double v = flat[k].item<double>();
    flat[k].fill_(v + h);
    const double up = loss_fn().item<double>();
    flat[k].fill_(v - h);
    const double down = loss_fn().item<double>();
    flat[k].fill_(v);
    const double numeric = (up - down) / (2 * h);
    EXPECT_NEAR(grad[k].item<double>(), numeric, 1e-5 * std::max(1.0, std::abs(numeric))) << name << "[" << k << "]";
  }
}

torch::Tensor rows(std::initializer_list<std::initializer_list<double>> values) {
  std::vector<torch::Tensor> out;
  for (const auto& r : values) out.push_back(torch::tensor(std::vector<double>(r), torch::kFloat64));
  return torch::stack(out);
}

}  // namespace

TEST(L2MGan, OrthogonalityLossIsTheMeanSquaredCosine) {
  // cos^2 by hand: orthogonal 0, parallel 1, 45 degrees 0.5, opposite 1.
  auto s1 = rows({{1, 0, 0}, {2, 0, 0}, {1, 1, 0}, {0, 3, 0}});
  auto s2 = rows({{0, 5, 0}, {3, 0, 0}, {1, 0, 0}, {0, -1, 0}});
  EXPECT_NEAR(models::l2m_orthogonality_loss(s1, s2, 0).item<double>(), (0 + 1 + 0.5 + 1) / 4.0, 1e-12);
  // Random rows against the formula written with loops.
  auto a = torch::randn({5, 7}, torch::kFloat64), b = torch::randn({5, 7}, torch::kFloat64);
  double expected = 0;
  for (int64_t i = 0; i < 5; ++i) {
    double dot = 0, na = 0, nb = 0;
    for (int64_t k = 0; k < 7; ++k) {
      const double x = a[i][k].item<double>(), y = b[i][k].item<double>();
      dot += x * y, na += x * x, nb += y * y;
    }
    expected += dot * dot / (na * nb) / 5.0;
  }
  EXPECT_NEAR(models::l2m_orthogonality_loss(a, b, 0).item<double>(), expected, 1e-12);
  // A zero part stays finite.
  EXPECT_EQ(models::l2m_orthogonality_loss(torch::zeros({2, 3}, torch::kFloat64), b.narrow(1, 0, 3).narrow(0, 0, 2)).item<double>(), 0.0);
}

TEST(L2MGan, FactorisationAndEditedStyle) {
  L2MGan m(tiny_config(), 3);
  m.to(torch::kFloat64);
  torch::NoGradGuard no_grad;
  auto s = torch::randn({4, 6}, torch::kFloat64);
  auto attribute = torch::tensor({0, 1, 1, 0}, torch::kInt64), target = torch::tensor({1, 0, 1, 0}, torch::kInt64);
  auto st = m.style->factorise(s, attribute);
  EXPECT_TRUE(torch::equal(st.s, s));
  EXPECT_LT((st.s1 + st.s2 - s).abs().max().item<double>(), 1e-15);  // s2 = s - s1
  // s1 of each row is T1 of that row's attribute; T2 of its (attribute, target).
  auto t2 = m.style->transform(st.s2, attribute, target);
  for (int64_t i = 0; i < 4; ++i) {
    const int64_t a = attribute[i].item<int64_t>(), v = target[i].item<int64_t>();
    auto t1_row = m.style->t1[a]->as<torch::nn::SequentialImpl>()->forward(s.narrow(0, i, 1));
    EXPECT_LT((t1_row[0] - st.s1[i]).abs().max().item<double>(), 1e-14) << i;
    auto t2_row = m.style->t2[2 * a + v]->as<torch::nn::SequentialImpl>()->forward(st.s2.narrow(0, i, 1));
    EXPECT_LT((t2_row[0] - t2[i]).abs().max().item<double>(), 1e-14) << i;
  }
  // s(t) = s + t (T2(s2) - s2): t = 0 is s, t = 1 is s1 + T2(s2) (the paper's edit), linear between.
  auto at = [&](double t) { return m.edited_style(s, attribute, target, torch::full({4}, t, torch::kFloat64)); };
  EXPECT_TRUE(torch::equal(at(0), s));
  EXPECT_LT((at(1) - (st.s1 + t2)).abs().max().item<double>(), 1e-14);
  EXPECT_LT((at(0.25) - (0.75 * s + 0.25 * (st.s1 + t2))).abs().max().item<double>(), 1e-14);
}

TEST(L2MGan, EditAtStrengthZeroIsTheReconstruction) {
  L2MGan m(tiny_config(), 1);
  torch::NoGradGuard no_grad;
  auto x = torch::rand({2, 3, 16, 16}) * 2 - 1;
  auto [rec, same] = m.edit(x, "Smile", 0.0);  // aliases apply
  EXPECT_TRUE(torch::equal(rec, same));
  auto [rec2, edited] = m.edit(x, "male", -1.0);  // decoded beside the edit: a batch of 4, not 2
  EXPECT_LT((rec - rec2).abs().max().item<double>(), 1e-5);
  EXPECT_GT((edited - rec).abs().max().item<double>(), 0.0);
  EXPECT_EQ(rec.sizes(), x.sizes());
}

// d/dtheta of the generator's losses (an edit through T1/T2, the decoder, orthogonality and the
// preservation term) against central differences, double precision.
TEST(L2MGan, LossGradientsMatchFiniteDifferences) {
  L2MGan m(tiny_config(), 5);
  m.to(torch::kFloat64);
  auto x = torch::rand({2, 3, 16, 16}, torch::kFloat64) * 2 - 1;
  auto weights = torch::randn({2, 3, 16, 16}, torch::kFloat64);
  auto attribute = torch::tensor({1, 0}, torch::kInt64), target = torch::tensor({0, 1}, torch::kInt64);
  auto loss_fn = [&] {
    auto content = m.generator->encode(x);
    auto s = m.style->forward(x);
    models::L2MStyles st;
    auto s_edit = m.edited_style(s, attribute, target, torch::ones({2}, torch::kFloat64), &st);
    auto fake = m.generator->decode(content, s_edit), rec = m.generator->decode(content, s);
    return (fake * weights).sum() + models::l2m_orthogonality_loss(st.s1, st.s2) +
           train::l2mgan_preservation_loss(fake, rec, 4) * 3.0;
  };
  auto params = m.named_parameters();
  std::vector<std::pair<std::string, torch::Tensor>> probes = {
      {"style.t1.1.0.weight", params["style.t1.1.0.weight"]}, {"style.t2.1.4.bias", params["style.t2.1.4.bias"]},
      {"generator.decoder.0.norm1.fc.weight", params["generator.decoder.0.norm1.fc.weight"]},
      {"generator.encoder.0.conv1.weight", params["generator.encoder.0.conv1.weight"]}};
  m.zero_grad();
  loss_fn().backward();
  for (auto& [name, p] : probes) expect_gradient_matches(loss_fn, name, p);
}

TEST(L2MGan, FilesAndRefusals) {
  const auto dir = test::temp_dir();
  const auto path = (dir / "l2mgan.safetensors").string();
  L2MGan m(tiny_config(), 2);
  m.save(path, {{"note", "test"}}, /*half=*/false);
  auto back = L2MGan::load(path);
  EXPECT_EQ(back->config().to_json(), m.config().to_json());
  auto a = m.named_parameters(), b = back->named_parameters();
  for (const auto& t : a) EXPECT_TRUE(torch::equal(t.value(), b[t.key()])) << t.key();
  // Another architecture's file: an Error naming the file.
  const auto guide = models::trained_classifier_path("celebahq").string();
  EXPECT_NE(test::error_of([&] { L2MGan::load(guide); }).find(guide), std::string::npos);
  // An attribute it was not trained for: the error lists the ones it has.
  const auto err = test::error_of([&] { m.attribute_index("eyeglasses"); });
  EXPECT_NE(err.find("smiling, male"), std::string::npos) << err;
  // Images of another size.
  EXPECT_NE(test::error_of([&] { m.edit(torch::zeros({1, 3, 32, 32}), "smiling", 1.0); }).find("16 px"), std::string::npos);
  // Bad configs.
  auto c = tiny_config();
  c.downs = 4;
  EXPECT_NE(test::error_of([&] { c.validate("cfg"); }).find("downs"), std::string::npos);
  c = tiny_config();
  c.attributes = {"smiling", "smiling"};
  EXPECT_NE(test::error_of([&] { c.validate("cfg"); }).find("twice"), std::string::npos);
}

TEST(TrainL2MGan, TrainsAndResumesBitForBit) {
  const auto faces = synthetic_faces(0);
  train::TrainL2MGanParams p;
  p.model = tiny_config();
  p.batch = 4;
  p.kimg = 0.024;  // 6 steps
  p.r1_interval = 2;
  p.lambda_cyc = 1;  // every term runs
  p.checkpoint_every = 0;
  p.progress = false;
  int snapshots = 0;
  p.snapshot_kimg = 0.012;
  p.on_snapshot = [&](L2MGan& ema, double) {
    ++snapshots;
    auto sheet = train::l2mgan_sheet(ema, torch::zeros({2, 3, 16, 16}), torch::tensor({{1, 0}, {0, 1}}, torch::kInt64));
    EXPECT_EQ(sheet.sizes(), (std::vector<int64_t>{2 * 4, 3, 16, 16}));
  };
  const auto dir = test::temp_dir();
  const auto straight = (dir / "straight.safetensors").string(), resumed = (dir / "resumed.safetensors").string();
  const auto report = train::train_l2mgan(p, faces, straight);
  EXPECT_EQ(report["steps"].get<int64_t>(), 6);
  EXPECT_EQ(snapshots, 2);
  for (const auto& row : report["history"])
    for (const char* k : {"adv", "cls", "keep", "rec", "pres", "orth", "sty", "cyc", "D"})
      EXPECT_TRUE(row.contains(k) && std::isfinite(row[k].get<double>())) << k;

  auto stopped = p;
  stopped.on_snapshot = nullptr;
  stopped.checkpoint_every = 2;
  stopped.stop_after_step = 3;
  EXPECT_NE(test::error_of([&] { train::train_l2mgan(stopped, faces, resumed); }).find("after 12 images (step 3 of 6)"),
            std::string::npos);
  EXPECT_TRUE(std::filesystem::exists(resumed + ".ckpt/state.json"));
  stopped.stop_after_step = 0;
  train::train_l2mgan(stopped, faces, resumed);
  expect_same_tensors(straight, resumed);
  // The other settings refuse the checkpoint, naming what differs.
  auto other = stopped;
  other.lambda_cls = 2;
  other.kimg = 0.048;
  EXPECT_NE(test::error_of([&] { train::train_l2mgan(other, faces, resumed); }).find("lambda"), std::string::npos);
  // Faces of another size or without a label.
  auto small = faces;
  small.images = faces.images.narrow(2, 0, 8).narrow(3, 0, 8);
  EXPECT_NE(test::error_of([&] { train::train_l2mgan(p, small, straight); }).find("16 px"), std::string::npos);
  auto unlabelled = faces;
  unlabelled.labels.erase("male");
  EXPECT_NE(test::error_of([&] { train::train_l2mgan(p, unlabelled, straight); }).find("'male'"), std::string::npos);
}

// The "labelled" form (Fader Networks' recipe on the same networks): the attributes' codes are the
// last coordinates of s, by closed form.
namespace {
L2MGanConfig tiny_labelled() {
  auto c = tiny_config();
  c.relevant = "labelled";
  return c;
}
}  // namespace

TEST(L2MGan, LabelledFormFactorisesByCoordinates) {
  L2MGan m(tiny_labelled(), 4);
  m.to(torch::kFloat64);
  torch::NoGradGuard no_grad;
  EXPECT_TRUE(m.style->t1->is_empty() && m.style->t2->is_empty());  // no MLPs to train or store
  auto x = torch::rand({3, 3, 16, 16}, torch::kFloat64) * 2 - 1;
  auto raw = m.style->raw(x), s = m.style->forward(x);
  // style_dim 6, 2 attributes: coordinates 4 and 5 are codes 2 sigmoid(l) - 1, the rest untouched.
  EXPECT_TRUE(torch::equal(s.narrow(1, 0, 4), raw.narrow(1, 0, 4)));
  EXPECT_LT((s.narrow(1, 4, 2) - (2 / (1 + torch::exp(-raw.narrow(1, 4, 2))) - 1)).abs().max().item<double>(), 1e-15);
  auto attribute = torch::tensor({0, 1, 0}, torch::kInt64), target = torch::tensor({1, 0, 0}, torch::kInt64);
  auto st = m.style->factorise(s, attribute);
  for (int64_t i = 0; i < 3; ++i) {
    const int64_t col = 4 + attribute[i].item<int64_t>();
    for (int64_t k = 0; k < 6; ++k) {
      EXPECT_EQ(st.s2[i][k].item<double>(), k == col ? s[i][k].item<double>() : 0.0) << i << "," << k;
      EXPECT_EQ(st.s1[i][k].item<double>(), k == col ? 0.0 : s[i][k].item<double>()) << i << "," << k;
    }
  }
  EXPECT_EQ(models::l2m_orthogonality_loss(st.s1, st.s2).item<double>(), 0.0);  // orthogonal by construction
  // T2 sets the coordinate to the domain's code 2v - 1; s(t) moves the code from its value towards it.
  auto t2 = m.style->transform(st.s2, attribute, target);
  EXPECT_EQ(t2[0][4].item<double>(), 1.0);
  EXPECT_EQ(t2[1][5].item<double>(), -1.0);
  EXPECT_EQ(t2[2][4].item<double>(), -1.0);
  EXPECT_EQ(t2.abs().sum().item<double>(), 3.0);
  auto half = m.edited_style(s, attribute, target, torch::full({3}, 0.5, torch::kFloat64));
  auto full = m.edited_style(s, attribute, target, torch::ones({3}, torch::kFloat64));
  for (int64_t i = 0; i < 3; ++i) {
    const int64_t col = 4 + attribute[i].item<int64_t>();
    const double code = s[i][col].item<double>(), goal = 2.0 * target[i].item<int64_t>() - 1;
    EXPECT_NEAR(full[i][col].item<double>(), goal, 1e-15);
    EXPECT_NEAR(half[i][col].item<double>(), 0.5 * (code + goal), 1e-15);
    EXPECT_TRUE(torch::equal(full[i] * (1 - st.s2[i].ne(0).to(torch::kFloat64)), st.s1[i]));  // the rest untouched
  }
  // with_codes replaces exactly the codes.
  auto codes = torch::tensor({{1.0, -1.0}, {0.0, 0.5}, {-1.0, 1.0}}, torch::kFloat64);
  auto w = m.style->with_codes(raw, codes);
  EXPECT_TRUE(torch::equal(w.narrow(1, 4, 2), codes) && torch::equal(w.narrow(1, 0, 4), raw.narrow(1, 0, 4)));
  // The learned form has no codes to set.
  L2MGan learned(tiny_config(), 4);
  EXPECT_NE(test::error_of([&] { learned.style->with_codes(raw.to(torch::kFloat32), codes); }).find("labelled"), std::string::npos);
}

// The labelled trainer's generator terms (reconstruction from the labels' codes, the head's BCE)
// differentiate as central differences say, through with_codes and the sigmoid codes.
TEST(L2MGan, LabelledLossGradientsMatchFiniteDifferences) {
  L2MGan m(tiny_labelled(), 6);
  m.to(torch::kFloat64);
  auto x = torch::rand({2, 3, 16, 16}, torch::kFloat64) * 2 - 1;
  auto weights = torch::randn({2, 3, 16, 16}, torch::kFloat64);
  auto y = torch::tensor({{1.0, 0.0}, {0.0, 1.0}}, torch::kFloat64);
  auto loss_fn = [&] {
    auto raw = m.style->raw(x);
    auto rec = m.generator->decode(m.generator->encode(x), m.style->with_codes(raw, 2 * y - 1));
    auto edit = m.generator->decode(m.generator->encode(x), m.style->forward(x));
    return (rec * weights).sum() + (edit * weights).mean() +
           torch::nn::functional::binary_cross_entropy_with_logits(raw.narrow(1, 4, 2), y);
  };
  auto params = m.named_parameters();
  m.zero_grad();
  loss_fn().backward();
  for (const char* name : {"style.head.weight", "style.head.bias", "generator.decoder.1.norm2.fc.weight"})
    expect_gradient_matches(loss_fn, name, params[name]);
}

TEST(L2MGan, LabelledFilesAndRefusals) {
  const auto dir = test::temp_dir();
  const auto path = (dir / "labelled.safetensors").string();
  L2MGan m(tiny_labelled(), 2);
  m.save(path);
  auto back = L2MGan::load(path);
  EXPECT_EQ(back->config().relevant, "labelled");
  for (const auto& t : m.named_parameters()) EXPECT_TRUE(torch::equal(t.value(), back->named_parameters()[t.key()])) << t.key();
  // A config written before the labelled form is the learned one.
  auto j = tiny_config().to_json();
  j.erase("relevant");
  EXPECT_EQ(L2MGanConfig::from_json(j, "old").relevant, "learned");
  auto c = tiny_labelled();
  c.relevant = "mixed";
  EXPECT_NE(test::error_of([&] { c.validate("cfg"); }).find("'mixed'"), std::string::npos);
  c = tiny_labelled();
  c.style_dim = 2;  // no room beside two codes
  EXPECT_NE(test::error_of([&] { c.validate("cfg"); }).find("no room"), std::string::npos);
}

TEST(TrainL2MGan, LabelledTrainsAndResumesBitForBit) {
  const auto faces = synthetic_faces(1);
  train::TrainL2MGanParams p;
  p.model = tiny_labelled();
  p.batch = 4;
  p.kimg = 0.024;  // 6 steps
  p.lat_ramp_kimg = 0.008;
  p.checkpoint_every = 0;
  p.progress = false;
  const auto dir = test::temp_dir();
  const auto straight = (dir / "labelled-straight.safetensors").string(), resumed = (dir / "labelled-resumed.safetensors").string();
  const auto report = train::train_l2mgan(p, faces, straight);
  EXPECT_EQ(report["steps"].get<int64_t>(), 6);
  for (const auto& row : report["history"])
    for (const char* k : {"rec", "attr", "fool", "C", "Cacc"})
      EXPECT_TRUE(row.contains(k) && std::isfinite(row[k].get<double>())) << k;
  EXPECT_EQ(L2MGan::load(straight)->config().relevant, "labelled");
  auto stopped = p;
  stopped.checkpoint_every = 2;
  stopped.stop_after_step = 3;
  EXPECT_NE(test::error_of([&] { train::train_l2mgan(stopped, faces, resumed); }).find("step 3 of 6"), std::string::npos);
  stopped.stop_after_step = 0;
  train::train_l2mgan(stopped, faces, resumed);
  expect_same_tensors(straight, resumed);
  auto other = stopped;
  other.lambda_lat = 0.5;
  EXPECT_NE(test::error_of([&] { train::train_l2mgan(other, faces, resumed); }).find("labelled"), std::string::npos);
}
