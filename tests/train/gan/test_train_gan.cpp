// train-gan's pieces against definitions: DiffAugment's operations against per-pixel loops and
// finite differences, R1 against finite differences, the data loader's box filter; and the loop:
// a tiny config trains, and a run continued from its checkpoint equals an uninterrupted one bit for bit.
#include <gtest/gtest.h>

#include "faceedit/error.h"
#include "faceedit/io/safetensors.h"
#include "faceedit/train/gan/gan_augment.h"
#include "faceedit/train/gan/train_gan.h"
#include "test_support.h"

using namespace faceedit;
using namespace faceedit::train;

namespace {

// Each operation written per pixel from its definition (gan_augment.h), in double.
torch::Tensor naive_augment(const torch::Tensor& x_in, const AugmentDraw& d) {
  auto x = x_in.clone();
  const int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  auto a = x.accessor<double, 4>();
  for (int64_t i = 0; i < n; ++i) {
    if (d.brightness.defined()) {
      const double b = d.brightness[i].item<double>(), s = d.saturation[i].item<double>(), k = d.contrast[i].item<double>();
      for (int64_t ch = 0; ch < c; ++ch)
        for (int64_t y = 0; y < h; ++y)
          for (int64_t xx = 0; xx < w; ++xx) a[i][ch][y][xx] += b;
      for (int64_t y = 0; y < h; ++y)
        for (int64_t xx = 0; xx < w; ++xx) {
          double m = 0;
          for (int64_t ch = 0; ch < c; ++ch) m += a[i][ch][y][xx] / static_cast<double>(c);
          for (int64_t ch = 0; ch < c; ++ch) a[i][ch][y][xx] = (a[i][ch][y][xx] - m) * s + m;
        }
      double m = 0;
      for (int64_t ch = 0; ch < c; ++ch)
        for (int64_t y = 0; y < h; ++y)
          for (int64_t xx = 0; xx < w; ++xx) m += a[i][ch][y][xx] / static_cast<double>(c * h * w);
      for (int64_t ch = 0; ch < c; ++ch)
        for (int64_t y = 0; y < h; ++y)
          for (int64_t xx = 0; xx < w; ++xx) a[i][ch][y][xx] = (a[i][ch][y][xx] - m) * k + m;
    }
    if (d.shift_y.defined()) {
      const int64_t sy = d.shift_y[i].item<int64_t>(), sx = d.shift_x[i].item<int64_t>();
      auto src = x[i].clone();
      auto sa = src.accessor<double, 3>();
      for (int64_t ch = 0; ch < c; ++ch)
        for (int64_t y = 0; y < h; ++y)
          for (int64_t xx = 0; xx < w; ++xx) {
            const int64_t yy = y + sy, xs = xx + sx;
            a[i][ch][y][xx] = yy >= 0 && yy < h && xs >= 0 && xs < w ? sa[ch][yy][xs] : 0.0;
          }
    }
    if (d.cut_y.defined()) {
      const int64_t cy = d.cut_y[i].item<int64_t>(), cx = d.cut_x[i].item<int64_t>(), s = d.cut_size;
      for (int64_t ch = 0; ch < c; ++ch)
        for (int64_t y = 0; y < h; ++y)
          for (int64_t xx = 0; xx < w; ++xx)
            if (y >= cy - s / 2 && y < cy - s / 2 + s && xx >= cx - s / 2 && xx < cx - s / 2 + s) a[i][ch][y][xx] = 0.0;
    }
  }
  return x;
}

models::StyleGAN2DiscriminatorConfig tiny_d() {
  models::StyleGAN2DiscriminatorConfig c;
  c.img_resolution = 8;
  c.channel_base = 32;
  c.channel_max = 8;
  c.mbstd_group_size = 2;
  return c;
}

TrainGanParams tiny_params() {
  auto p = train_gan_default_params(8, 64, 16, 16);
  p.batch = 4;
  p.kimg = 0.024;  // 6 steps: every regulariser runs (R1 at 0, path length at 0 and 4)
  p.checkpoint_every = 3;
  p.snapshot_kimg = 1;
  p.progress = false;
  return p;
}

torch::Tensor tiny_images() {
  torch::manual_seed(11);
  return torch::randint(0, 256, {24, 3, 8, 8}, torch::kUInt8);
}

}  // namespace

TEST(GanAugment, OperationsMatchDefinitions) {
  auto x = torch::randn({6, 3, 16, 16}, torch::kFloat64);
  auto gen = at::make_generator<at::CPUGeneratorImpl>(3);
  for (const char* policy : {"color", "translation", "cutout", "color,translation,cutout"}) {
    const auto draw = draw_augment(6, 16, 16, AugmentPolicy::parse(policy), gen);
    const double err = (apply_augment(x, draw) - naive_augment(x, draw)).abs().max().item<double>();
    EXPECT_LT(err, 1e-12) << policy;
  }
  // Identity when nothing is drawn.
  EXPECT_TRUE(torch::equal(apply_augment(x, draw_augment(6, 16, 16, AugmentPolicy::parse("none"), gen)), x));
}

TEST(GanAugment, DrawsStayInTheirRanges) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(5);
  const auto d = draw_augment(4000, 32, 32, AugmentPolicy::parse("color,translation,cutout"), gen);
  EXPECT_GE(d.brightness.min().item<double>(), -0.5);
  EXPECT_LE(d.brightness.max().item<double>(), 0.5);
  EXPECT_GE(d.saturation.min().item<double>(), 0.0);
  EXPECT_LE(d.saturation.max().item<double>(), 2.0);
  EXPECT_GE(d.contrast.min().item<double>(), 0.5);
  EXPECT_LE(d.contrast.max().item<double>(), 1.5);
  EXPECT_EQ(d.shift_y.min().item<int64_t>(), -4);  // round(32 / 8), both ends reached
  EXPECT_EQ(d.shift_x.max().item<int64_t>(), 4);
  EXPECT_EQ(d.cut_size, 16);
  EXPECT_EQ(d.cut_y.min().item<int64_t>(), 0);
  EXPECT_EQ(d.cut_y.max().item<int64_t>(), 32);  // DiffAugment: randint(0, size + 1) for even cutouts
  EXPECT_NE(test::error_of([] { AugmentPolicy::parse("color,blur"); }).find("unknown operation 'blur'"), std::string::npos);
  EXPECT_EQ(AugmentPolicy::parse("cutout,color").str(), "color,cutout");
}

// The augmentation is differentiable in the images (the generator learns through it).
TEST(GanAugment, GradientMatchesFiniteDifferences) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(7);
  const auto draw = draw_augment(2, 8, 8, AugmentPolicy::parse("color,translation,cutout"), gen);
  auto x = torch::randn({2, 3, 8, 8}, torch::kFloat64).requires_grad_(true);
  auto weights = torch::randn({2, 3, 8, 8}, torch::kFloat64);
  auto f = [&](const torch::Tensor& v) { return (apply_augment(v, draw).pow(2) * weights).sum(); };
  auto grad = torch::autograd::grad({f(x)}, {x})[0];
  torch::NoGradGuard no_grad;
  for (int64_t idx : {0, 5, 70, 200, 383}) {
    auto xp = x.detach().clone(), xm = x.detach().clone();
    xp.view(-1)[idx] += 1e-6;
    xm.view(-1)[idx] -= 1e-6;
    const double fd = (f(xp) - f(xm)).item<double>() / 2e-6;
    EXPECT_NEAR(grad.view(-1)[idx].item<double>(), fd, 1e-6 * std::max(1.0, std::abs(fd))) << idx;
  }
}

// R1 = |d sum D(x) / dx|^2 per image: against central differences of D, and its own gradient with
// respect to D's weights (what the lazy regulariser steps on) against differences of R1.
TEST(GanLoss, R1MatchesFiniteDifferences) {
  models::StyleGAN2Discriminator d(tiny_d(), 2);
  for (auto& p : d.parameters()) p.set_data(p.data().to(torch::kFloat64));
  {
    torch::NoGradGuard no_grad;
    for (auto& t : d.named_tensors())
      if (t.key().find("bias") != std::string::npos) t.value().normal_(0, 0.3);
  }
  auto x = torch::randn({2, 3, 8, 8}, torch::kFloat64);
  const auto r1 = r1_penalty(d, x);
  ASSERT_EQ(r1.sizes(), (std::vector<int64_t>{2}));
  const double eps = 1e-6;
  std::vector<double> expected(2, 0.0);
  {
    torch::NoGradGuard no_grad;
    for (int64_t idx = 0; idx < x.numel(); ++idx) {
      auto xp = x.clone(), xm = x.clone();
      xp.view(-1)[idx] += eps;
      xm.view(-1)[idx] -= eps;
      const double g = (d.forward(xp).sum() - d.forward(xm).sum()).item<double>() / (2 * eps);
      expected[static_cast<size_t>(idx / (3 * 64))] += g * g;
    }
  }
  for (int i = 0; i < 2; ++i) EXPECT_NEAR(r1[i].item<double>(), expected[i], 1e-6 * std::max(1.0, expected[i]));
  // d R1 / d (one weight of b4.fc): create_graph made R1 differentiable in D's weights.
  auto w = d.named_tensors()["b4.fc.weight"];
  auto grad = torch::autograd::grad({r1.sum()}, {w})[0];
  torch::NoGradGuard no_grad;
  const double saved = w.view(-1)[7].item<double>();
  auto r1_at = [&](double v) {
    w.view(-1)[7] = v;
    torch::GradMode::set_enabled(true);
    const double out = r1_penalty(d, x).sum().item<double>();
    torch::GradMode::set_enabled(false);
    return out;
  };
  const double fd = (r1_at(saved + 1e-5) - r1_at(saved - 1e-5)) / 2e-5;
  w.view(-1)[7] = saved;
  EXPECT_NEAR(grad.view(-1)[7].item<double>(), fd, 1e-5 * std::max(1.0, std::abs(fd)));
}

TEST(GanData, BoxDownsamplesAndRefusesBadFiles) {
  const auto dir = test::temp_dir();
  auto images = torch::randint(0, 256, {5, 3, 16, 16}, torch::kUInt8);
  io::write_safetensors((dir / "faces.safetensors").string(), {{"images", images}});
  auto got = load_gan_images((dir / "faces.safetensors").string(), 8);
  ASSERT_EQ(got.sizes(), (std::vector<int64_t>{5, 3, 8, 8}));
  // Pixel (y, x) of the result: the mean of the 2x2 block, rounded.
  auto f = images.to(torch::kFloat64);
  const double mean = (f[3][1][6][10] + f[3][1][6][11] + f[3][1][7][10] + f[3][1][7][11]).item<double>() / 4;
  EXPECT_EQ(got[3][1][3][5].item<int64_t>(), static_cast<int64_t>(std::nearbyint(mean)));
  EXPECT_TRUE(torch::equal(load_gan_images((dir / "faces.safetensors").string(), 16), images));
  EXPECT_NE(test::error_of([&] { load_gan_images((dir / "faces.safetensors").string(), 32); }).find("cannot be box-downsampled"),
            std::string::npos);
  io::write_safetensors((dir / "floats.safetensors").string(), {{"images", images.to(torch::kFloat32)}});
  EXPECT_NE(test::error_of([&] { load_gan_images((dir / "floats.safetensors").string(), 8); }).find("must be uint8"),
            std::string::npos);
}

TEST(TrainGan, TinyRunLearnsSomethingAndResumesBitForBit) {
  const auto dir = test::temp_dir() / "gan";
  std::filesystem::create_directories(dir);
  const auto images = tiny_images();
  auto p = tiny_params();
  int snapshots = 0;
  p.on_snapshot = [&](const models::StyleGAN2&, double) { ++snapshots; };
  const auto whole = (dir / "whole.safetensors").string();
  const auto report = train_gan(p, images, whole);
  EXPECT_EQ(report["steps"], 6);
  EXPECT_EQ(snapshots, 1);  // at the end (snapshot_kimg 1 > 0.024)
  for (const auto& row : report["history"]) {
    EXPECT_TRUE(std::isfinite(row["loss_g"].get<double>()));
    EXPECT_TRUE(std::isfinite(row["loss_d"].get<double>()));
  }
  // G_ema moved away from its initialisation.
  models::StyleGAN2 init(p.generator, p.seed);
  auto trained = models::StyleGAN2::load(whole);
  EXPECT_GT((trained->named_tensors()["synthesis.b8.conv1.weight"] - init.named_tensors()["synthesis.b8.conv1.weight"])
                .abs().max().item<double>(), 1e-6);

  // The same run in two parts: 3 steps, then continued to 6 from the checkpoint.
  const auto parts = (dir / "parts.safetensors").string();
  auto first = p;
  first.kimg = 0.012;
  train_gan(first, images, parts);
  const auto continued = train_gan(p, images, parts);
  EXPECT_EQ(continued["resumed_from_step"], 3);
  io::SafetensorsReader a(whole), b(parts);
  ASSERT_EQ(a.entries().size(), b.entries().size());
  for (const auto& e : a.entries()) EXPECT_TRUE(torch::equal(a.load(e.name), b.load(e.name))) << e.name;

  // Another setting refuses the checkpoint, naming it.
  auto other = p;
  other.r1_gamma = 1.0;
  EXPECT_NE(test::error_of([&] { train_gan(other, images, parts); }).find("r1_gamma"), std::string::npos);
  // Bad parameters are refused before any work.
  auto odd = p;
  odd.batch = 6;  // not a multiple of the minibatch-stddev group of 4
  EXPECT_NE(test::error_of([&] { train_gan(odd, images, (dir / "odd.safetensors").string()); }).find("multiple"),
            std::string::npos);
}

// Starting from the official tiny32 snapshot (its G, G_ema and D): after one step at a negligible
// learning rate the networks are still the pickle's (G_ema takes G's weights at the first step, as
// NVIDIA's ramp-up does).
TEST(TrainGan, StartsFromAnOfficialSnapshot) {
  FACEEDIT_REQUIRE_SHARED(pkl, "fixtures/stylegan2-ada/tiny32.pkl");
  auto p = train_gan_default_params(32);
  p.init_generator = test::converted("fixtures/stylegan2-ada/tiny32.pkl", "G");
  p.init_generator_ema = test::converted("fixtures/stylegan2-ada/tiny32.pkl", "G_ema");
  p.init_discriminator = test::converted("fixtures/stylegan2-ada/tiny32.pkl", "D");
  p.generator = models::StyleGAN2::load(p.init_generator)->stylegan2_config();
  p.discriminator = models::StyleGAN2Discriminator::load(p.init_discriminator)->config();
  p.batch = 4;
  p.kimg = 0.004;  // one step
  p.g_lr = p.d_lr = 1e-12;
  p.progress = false;
  torch::manual_seed(3);
  const auto images = torch::randint(0, 256, {8, 3, 32, 32}, torch::kUInt8);
  const auto out = (test::temp_dir() / "from-tiny32.safetensors").string();
  train_gan(p, images, out);
  io::SafetensorsReader got(out), g(p.init_generator), ckpt(out + ".ckpt/model.safetensors"), d(p.init_discriminator);
  // Adam moves each weight by about the learning rate; mapping.w_avg follows the batches' W (as in training).
  auto near = [](const torch::Tensor& a, const torch::Tensor& b) { return (a - b).abs().max().item<double>() < 1e-9; };
  for (const auto& e : g.entries())
    if (e.name != "mapping.w_avg") EXPECT_TRUE(near(got.load(e.name), g.load(e.name))) << e.name;
  for (const auto& e : d.entries()) EXPECT_TRUE(near(ckpt.load("D." + e.name), d.load(e.name))) << e.name;
  // A config that does not fit the files is refused, naming the tensor.
  auto wrong = p;
  wrong.generator.channel_table.clear();  // the converted file's own table would override channel_max
  wrong.generator.channel_max = 128;
  EXPECT_NE(test::error_of([&] { train_gan(wrong, images, (test::temp_dir() / "wrong.safetensors").string()); }).find("synthesis"),
            std::string::npos);
}
