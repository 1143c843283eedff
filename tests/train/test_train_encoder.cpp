// The encoder (models/encoder.h) and its trainer (train/train_encoder.h): shapes and files, the
// framing of real faces against a closed form, a short run that learns, resume bit for bit, and
// the inversion it starts.
#include <gtest/gtest.h>

#include "faceedit/error.h"
#include "faceedit/io/safetensors.h"
#include "faceedit/models/encoder.h"
#include "faceedit/models/model_files.h"
#include "faceedit/models/stylegan2.h"
#include "faceedit/pipeline/invert.h"
#include "faceedit/train/train_encoder.h"
#include "test_support.h"

using namespace faceedit;

namespace {

// A generator framed like the DCGAN (zoom 0.62, shift 0.05) without needing its weights.
struct FramedTiny : models::StyleGAN2 {
  FramedTiny() : StyleGAN2(test::small_stylegan2_config(), 1) {}
  Framing face_framing() const override { return {0.62, 0.05}; }
};

}  // namespace

TEST(Encoder, ShapesFilesAndRefusals) {
  models::StyleGAN2 g(test::small_stylegan2_config(), 1);
  const auto config = models::EncoderConfig::for_generator(g);
  EXPECT_EQ(config.space, models::LatentSpace::WPlus);
  EXPECT_EQ(config.num_ws, g.num_ws());
  torch::Tensor mean;
  {
    torch::NoGradGuard no_grad;
    mean = g.truncate(g.map(g.sample_z(1, 0)), 0.0).squeeze(0);
  }
  models::Encoder enc(config, mean, 3);
  auto x = torch::rand({2, 3, 16, 16}) * 2 - 1;
  torch::Tensor codes;
  {
    torch::NoGradGuard no_grad;
    codes = enc.encode(x);
  }
  EXPECT_EQ(codes.sizes(), torch::IntArrayRef({2, g.num_ws(), g.w_dim()}));
  EXPECT_NO_THROW(g.check_latents(codes, models::LatentSpace::WPlus, "codes"));
  const auto path = (test::temp_dir() / "enc.safetensors").string();
  enc.save(path, {{"note", "test"}});
  auto back = models::Encoder::load(path);
  torch::NoGradGuard no_grad;
  EXPECT_TRUE(torch::equal(back->encode(x), codes));
  EXPECT_NE(test::error_of([&] { enc.encode(torch::zeros({1, 3, 32, 32})); }).find("[N, 3, 16, 16]"), std::string::npos);
  // For another generator, and files that are not encoders.
  models::StyleGAN2Config other = test::small_stylegan2_config();
  other.img_resolution = 32;
  models::StyleGAN2 g32(other, 1);
  EXPECT_NE(test::error_of([&] { back->check_matches(g32, "enc.safetensors"); }).find("not for this stylegan2"),
            std::string::npos);
  const auto g_path = (test::temp_dir() / "g.safetensors").string();
  g.save(g_path);
  EXPECT_THROW(models::Encoder::load(g_path), Error);
  auto bad = config;
  bad.space = models::LatentSpace::W;
  EXPECT_THROW(bad.validate("w"), Error);
}

// The crop the photo pipeline inverts: a square of side `zoom` of the image, its centre `shift` of
// the side lower. On a linear ramp the bilinear sampling and the 2x2 average are exact, so each
// output pixel equals the ramp at its centre mapped back into the image.
TEST(Encoder, FramingMatchesTheCropsClosedForm) {
  FramedTiny g;
  const int64_t src = 64, r = 16;
  auto ramp = torch::arange(src, torch::kFloat32) * 4;  // 0 .. 252
  auto xs = ramp.reshape({1, 1, 1, src}).expand({1, 3, src, src}).to(torch::kUInt8);
  auto ys = ramp.reshape({1, 1, src, 1}).expand({1, 3, src, src}).to(torch::kUInt8);
  auto fx = train::frame_for_generator(xs, g), fy = train::frame_for_generator(ys, g);
  ASSERT_EQ(fx.sizes(), torch::IntArrayRef({1, 3, r, r}));
  double worst = 0;
  for (int64_t k = 0; k < r; ++k) {
    const double u = (2.0 * k + 1) / r - 1;  // the output pixel centre in [-1, 1]
    const double px = ((0.62 * u + 1) / 2) * src - 0.5, py = ((0.62 * u + 2 * 0.05 + 1) / 2) * src - 0.5;
    const double want_x = 4 * px / 127.5 - 1, want_y = 4 * py / 127.5 - 1;
    worst = std::max(worst, std::abs(fx[0][0][3][k].item<double>() - want_x));
    worst = std::max(worst, std::abs(fy[0][1][k][5].item<double>() - want_y));
  }
  EXPECT_LT(worst, 1e-5);
  // Growing (a 64-px face for a 16-px generator seen through an 8-px source): sampled once, same law.
  auto small_ramp = (torch::arange(8, torch::kFloat32) * 32).reshape({1, 1, 1, 8}).expand({1, 3, 8, 8}).to(torch::kUInt8);
  auto fs = train::frame_for_generator(small_ramp, g);
  worst = 0;
  for (int64_t k = 0; k < r; ++k) {
    const double u = (2.0 * k + 1) / r - 1, px = ((0.62 * u + 1) / 2) * 8 - 0.5;
    if (px < 0 || px > 7) continue;  // bilinear against the zero padding outside
    worst = std::max(worst, std::abs(fs[0][2][8][k].item<double>() - (32 * px / 127.5 - 1)));
  }
  EXPECT_LT(worst, 1e-5);
}

// A short run on the tiny generator: the generated pairs' latent loss falls; three steps, a stop and
// a resume give the very tensors of six uninterrupted steps; the inversion starts at its code.
TEST(TrainEncoder, LearnsAndResumesBitForBit) {
  FACEEDIT_REQUIRE_SHARED(reals, "data/celebahq-64.tar");
  models::StyleGAN2 g(test::small_stylegan2_config(), 1);
  train::TrainEncoderParams p;
  p.steps = 6;
  p.batch = 8;
  p.warmup = 1;
  p.checkpoint_every = 2;
  p.real_limit = 64;
  p.eval_n = 0;
  p.progress = false;
  const auto dir = test::temp_dir();
  const auto straight = (dir / "straight.safetensors").string(), resumed = (dir / "resumed.safetensors").string();
  auto report = train::train_encoder(g, nullptr, p, straight);
  ASSERT_EQ(report["history"].size(), 3u);
  auto stopped = p;
  stopped.stop_after_step = 3;
  EXPECT_NE(test::error_of([&] { train::train_encoder(g, nullptr, stopped, resumed); }).find("stopped after step 3"),
            std::string::npos);
  EXPECT_TRUE(std::filesystem::exists(resumed + ".ckpt"));
  train::train_encoder(g, nullptr, p, resumed);
  EXPECT_FALSE(std::filesystem::exists(resumed + ".ckpt"));
  io::SafetensorsReader a(straight), b(resumed);
  for (const auto& e : a.entries()) EXPECT_TRUE(torch::equal(a.load(e.name), b.load(e.name))) << e.name;

  // Longer, generated pairs only: the latent loss falls well below the untrained encoder's.
  auto longer = p;
  longer.steps = 150;
  longer.real_fraction = 0;
  longer.checkpoint_every = 50;
  longer.learning_rate = 3e-3;
  const auto learnt = (dir / "learnt.safetensors").string();
  auto r = train::train_encoder(g, nullptr, longer, learnt);
  const double first = r["history"][0]["latent_loss"].get<double>(), last = r["history"][2]["latent_loss"].get<double>();
  EXPECT_LT(last, 0.7 * first) << "latent loss " << first << " -> " << last;

  // The inversion's start: with steps = 0 the encoder's code is the result.
  auto enc = models::Encoder::load(learnt);
  torch::Tensor target;
  {
    torch::NoGradGuard no_grad;
    target = g.synthesize(g.map(g.sample_z(1, 77)));
  }
  pipeline::InversionParams ip;
  ip.space = models::LatentSpace::WPlus;
  ip.steps = 0;
  ip.init = pipeline::encoder_start(*enc, g, target, ip.space, "learnt");
  auto inv = pipeline::invert(g, target, {}, ip);
  EXPECT_TRUE(torch::equal(inv.latent, ip.init));
  EXPECT_EQ(pipeline::encoder_start(*enc, g, target, models::LatentSpace::W, "learnt").sizes(),
            torch::IntArrayRef({1, g.w_dim()}));
  ip.init = torch::Tensor();
  EXPECT_NE(test::error_of([&] { pipeline::invert(g, target, {}, ip); }).find("0 only from a given start"),
            std::string::npos);
}
