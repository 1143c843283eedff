// The other projects' checkpoints against their own code's outputs (shared fixtures, written and
// computed by rosinality/stylegan2-pytorch, pixel2style2pixel, encoder4editing and the Latent
// Transformer): rosinality g_ema/g/d, pSp and e4e encoders with their decoders, the Latent
// Transformer's classifier and tnet. Each conformance error is printed for the README.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "faceedit/edit/latent_transformer.h"
#include "faceedit/error.h"
#include "faceedit/io/safetensors.h"
#include "faceedit/models/checkpoint_formats.h"
#include "faceedit/models/encoder.h"
#include "faceedit/models/latent_classifier.h"
#include "faceedit/models/model_files.h"
#include "faceedit/models/psp_encoder.h"
#include "faceedit/models/stylegan2.h"
#include "faceedit/models/stylegan2_discriminator.h"
#include "test_support.h"

using namespace faceedit;

namespace {

const char* kRos = "fixtures/rosinality/rosinality-tiny32.pt";
const char* kRosRef = "fixtures/rosinality/rosinality-tiny32-reference.safetensors";
const char* kLtDir = "fixtures/latent-transformer/";

void expect_close(const torch::Tensor& got, const torch::Tensor& want, double bound, const std::string& what) {
  ASSERT_EQ(got.sizes(), want.sizes()) << what;
  const double err = test::relative_max_error(got, want);
  std::cout << what << ": max|err|/max|ref| = " << err << "\n";
  EXPECT_LE(err, bound) << what;
}

// Conversions land in this process's temp dir, not the user's model cache.
void private_cache() { ::setenv("FACEEDIT_CACHE", (test::temp_dir() / "cache").c_str(), 1); }

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

TEST(Rosinality, GEmaReproducesTheOfficialImages) {
  FACEEDIT_REQUIRE_SHARED(ref_path, kRosRef);
  FACEEDIT_REQUIRE_SHARED(pt, kRos);
  const auto t0 = std::chrono::steady_clock::now();
  auto g = models::StyleGAN2::load(test::converted(kRos));
  std::cout << "rosinality g_ema: converted and loaded in " << seconds_since(t0) << " s\n";
  const auto& c = g->stylegan2_config();
  EXPECT_EQ(c.img_resolution, 32);
  EXPECT_EQ(c.w_dim, 64);
  EXPECT_EQ(c.mapping_layers, 2);
  EXPECT_EQ(c.channel_table, (std::vector<int64_t>{40, 36, 28, 24}));
  io::SafetensorsReader ref(ref_path);
  torch::NoGradGuard no_grad;
  const auto z = ref.load("z");
  expect_close(g->map(z).select(1, 0), ref.load("w"), 1e-4, "rosinality w");
  expect_close(g->generate(z, models::LatentSpace::Z), ref.load("img"), 1e-4, "rosinality img");
  expect_close(g->synthesize(ref.load("wplus")), ref.load("img_wplus"), 1e-4, "rosinality img_wplus");

  // Style mixing: rows < inject_index (3) from a, the rest from b, as the official forward builds it.
  const auto a = ref.load("w_mix_a"), b = ref.load("w_mix_b");
  auto mix = torch::cat({a.unsqueeze(1).repeat({1, 3, 1}), b.unsqueeze(1).repeat({1, g->num_ws() - 3, 1})}, 1);
  EXPECT_TRUE(torch::equal(mix, ref.load("latent_mix")));
  expect_close(g->synthesize(mix), ref.load("img_mix"), 1e-4, "rosinality img_mix");

  // Truncation towards the stored mean latent (--truncation-mean).
  const auto mean_file = (test::temp_dir() / "mean_latent.safetensors").string();
  io::write_safetensors(mean_file, {{"latents", ref.load("mean_latent")}});
  models::set_truncation_mean(*g, mean_file);
  expect_close(g->generate(z, models::LatentSpace::Z, 0.7), ref.load("img_trunc"), 1e-4, "rosinality img_trunc");
}

TEST(Rosinality, GAndDReproduceTheOfficialOutputs) {
  FACEEDIT_REQUIRE_SHARED(ref_path, kRosRef);
  FACEEDIT_REQUIRE_SHARED(pt, kRos);
  io::SafetensorsReader ref(ref_path);
  torch::NoGradGuard no_grad;
  auto g = models::StyleGAN2::load(test::converted(kRos, "G"));
  expect_close(g->generate(ref.load("z"), models::LatentSpace::Z), ref.load("g_img"), 1e-4, "rosinality g_img");
  auto d = models::StyleGAN2Discriminator::load(test::converted(kRos, "D"));
  EXPECT_EQ(d->config().channel_table, (std::vector<int64_t>{40, 36, 28, 24}));
  expect_close(d->forward(ref.load("img")), ref.load("d_logits"), 1e-4, "rosinality d_logits");
}

TEST(Rosinality, ChannelTableRoundTripsAndIsChecked) {
  auto c = test::small_stylegan2_config();
  c.channel_table = {8, 6, 4};
  models::StyleGAN2 g(c, 1);
  const auto path = (test::temp_dir() / "table.safetensors").string();
  g.save(path);
  auto back = models::StyleGAN2::load(path);
  EXPECT_EQ(back->stylegan2_config().channel_table, c.channel_table);
  EXPECT_EQ(back->named_tensors()["synthesis.b16.conv1.weight"].size(0), 4);
  c.channel_table = {8, 6};
  EXPECT_NE(test::error_of([&] { c.validate("cfg"); }).find("expected one per resolution"), std::string::npos);
}

class PspE4e : public ::testing::TestWithParam<std::string> {};

TEST_P(PspE4e, EncoderAndDecoderReproduceTheOfficialOutputs) {
  const std::string kind = GetParam();
  const std::string pt_rel = "fixtures/e4e-psp/" + kind + "-tiny32.pt";
  FACEEDIT_REQUIRE_SHARED(pt, pt_rel);
  FACEEDIT_REQUIRE_SHARED(ref_path, "fixtures/e4e-psp/" + kind + "-tiny32-reference.safetensors");
  FACEEDIT_REQUIRE_SHARED(inputs, "fixtures/e4e-psp/inputs.safetensors");
  io::SafetensorsReader ref(ref_path);
  const auto x = io::SafetensorsReader(inputs).load("x");
  torch::NoGradGuard no_grad;
  auto t0 = std::chrono::steady_clock::now();
  auto enc = models::PspEncoder::load(test::converted(pt_rel, "E"));
  std::cout << kind << " encoder: converted and loaded in " << seconds_since(t0) << " s\n";
  EXPECT_EQ(enc->config().kind, kind);
  EXPECT_EQ(enc->config().input_size, 256);
  expect_close(enc->encode_raw(x), ref.load("codes_raw"), 1e-4, kind + " codes_raw");
  expect_close(enc->latent_avg(), ref.load("latent_avg"), 0, kind + " latent_avg");
  const auto latents = enc->encode(x);
  expect_close(latents, ref.load("latents"), 1e-4, kind + " latents");

  // The same file as the photo pipeline's --encoder (models::Encoder) and its decoder as --model.
  private_cache();
  auto as_encoder = models::Encoder::load(pt);
  expect_close(as_encoder->encode(x), ref.load("latents"), 1e-4, kind + " latents via Encoder");
  t0 = std::chrono::steady_clock::now();
  auto g = models::open_generator(pt);
  std::cout << kind << " decoder: converted and loaded in " << seconds_since(t0) << " s\n";
  as_encoder->check_matches(*g, pt);
  expect_close(g->synthesize(ref.load("latents")), ref.load("images"), 1e-4, kind + " images");
}

INSTANTIATE_TEST_SUITE_P(Fixtures, PspE4e, ::testing::Values("psp", "e4e"));

TEST(LatentTransformerOfficial, EditsAndClassifiesAsTheOfficialCode) {
  FACEEDIT_REQUIRE_SHARED(tnet, std::string(kLtDir) + "tnet_15.pth.tar");
  FACEEDIT_REQUIRE_SHARED(lc_file, std::string(kLtDir) + "latent_classifier_epoch_20.pth");
  FACEEDIT_REQUIRE_SHARED(ref_path, std::string(kLtDir) + "reference.safetensors");
  private_cache();
  io::SafetensorsReader ref(ref_path);
  const auto wplus = ref.load("wplus");
  torch::NoGradGuard no_grad;
  auto t0 = std::chrono::steady_clock::now();
  auto lc = models::load_latent_classifier(models::resolve_latent_classifier(lc_file));
  std::cout << "latent classifier: converted and loaded in " << seconds_since(t0) << " s\n";
  expect_close(lc->forward(wplus), ref.load("cls_logits"), 1e-5, "LT cls_logits");

  t0 = std::chrono::steady_clock::now();
  auto editor = edit::load_latent_transformer(models::resolve_latent_transformer(tnet));  // classifier found beside it
  std::cout << "tnet + classifier: converted and loaded in " << seconds_since(t0) << " s\n";
  EXPECT_EQ(editor->attribute(), "eyeglasses");
  // test.py's call: one latent at a time, alpha as given, layers >= 11 kept (all 3 edited here).
  for (const auto& [alpha, key] : std::vector<std::pair<double, std::string>>{{-1.0, "edit_alpha_m1"}, {0.5, "edit_alpha_0p5"}, {1.0, "edit_alpha_1"}}) {
    std::vector<torch::Tensor> rows;
    for (int64_t i = 0; i < wplus.size(0); ++i) rows.push_back(editor->edit(wplus.narrow(0, i, 1), torch::full({1}, alpha)));
    expect_close(torch::cat(rows), ref.load(key), 1e-5, "LT " + key);
  }
  // Trainer.get_coeff from the classifier's probability, then T_net on every layer.
  const auto p = editor->probability(wplus);
  const auto coeff = torch::where(p > 0.5, -p, torch::where(p < 0.5, 1 - p, torch::zeros_like(p)));
  expect_close(coeff, ref.load("trainer_coeff"), 1e-5, "LT trainer_coeff");
  expect_close(editor->net().ptr()->forward(wplus, coeff), ref.load("edit_trainer_coeff"), 1e-5, "LT edit_trainer_coeff");
}

TEST(Formats, InspectTellsTheFormatByContent) {
  FACEEDIT_REQUIRE_SHARED(pt, kRos);
  private_cache();
  // A rosinality checkpoint under a misleading name is still found by its content.
  const auto renamed = (test::temp_dir() / "looks_like_a_classifier.pth").string();
  std::filesystem::copy_file(pt, renamed, std::filesystem::copy_options::overwrite_existing);
  const auto info = models::inspect_checkpoint(renamed);
  EXPECT_EQ(info.at("format"), "rosinality-stylegan2");
  EXPECT_EQ(info.at("config").at("img_resolution"), 32);
  EXPECT_EQ(info.at("tensors"), 64);
  EXPECT_EQ(info.at("networks"), (nlohmann::json{"G_ema", "G", "D"}));
}

TEST(Formats, BrokenCheckpointsAreRefusedNamingTheFile) {
  FACEEDIT_REQUIRE_SHARED(pt, kRos);
  private_cache();
  const auto truncated = (test::temp_dir() / "truncated.pt").string();
  {
    std::ifstream in(pt, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::ofstream(truncated, std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  }
  const auto err = test::error_of([&] { models::open_generator(truncated); });
  EXPECT_NE(err.find("truncated.pt"), std::string::npos) << err;
  // Nothing half-written in the model cache.
  if (std::filesystem::exists(test::temp_dir() / "cache"))
    for (const auto& e : std::filesystem::directory_iterator(test::temp_dir() / "cache"))
      EXPECT_EQ(e.path().filename().string().find("truncated"), std::string::npos) << e.path();
}
