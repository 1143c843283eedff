// StyleGAN3 (configs T and R) against NVIDIA's own outputs (shared fixtures/stylegan3), on both
// filtered-lrelu paths; the designed filters against the pickle's; the loader's refusals.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "faceedit/error.h"
#include "faceedit/io/safetensors.h"
#include "faceedit/models/stylegan3.h"
#include "faceedit/nn/ops.h"
#include "test_support.h"

using namespace faceedit;
using models::StyleGAN3;

namespace {

struct Fixture {
  const char* name;
  const char* pkl;
  const char* reference;
};
const Fixture kFixtures[] = {
    {"T", "fixtures/stylegan3/network-snapshot-sg3t32.pkl", "fixtures/stylegan3/sg3t32-reference.safetensors"},
    {"R", "fixtures/stylegan3/network-snapshot-sg3r32.pkl", "fixtures/stylegan3/sg3r32-reference.safetensors"},
};

// Every reference of one config within 1e-4 (max|err|/max|ref|), with the ops the caller forced.
void expect_official_outputs(const Fixture& f, const std::string& ref_path, const char* path_name) {
  auto g = StyleGAN3::load(test::converted(f.pkl));
  io::SafetensorsReader ref(ref_path);
  torch::NoGradGuard no_grad;
  auto check = [&](const torch::Tensor& got, const char* key) {
    auto expected = ref.load(key);
    ASSERT_EQ(got.sizes(), expected.sizes()) << key;
    const double err = test::relative_max_error(got, expected);
    EXPECT_LE(err, 1e-4) << f.name << " " << key << " (" << path_name << ")";
    std::cout << "config " << f.name << " " << key << " (" << path_name << "): max|err|/max|ref| = " << err << "\n";
  };
  auto z = ref.load("z");
  check(g->map(z, 1.0), "ws_psi1");
  check(g->map(z, 0.7), "ws_psi07");
  check(g->synthesize(ref.load("ws_psi1")), "img_psi1_const");
  check(g->synthesize(ref.load("ws_psi07")), "img_psi07_const");
  check(g->synthesize(ref.load("wplus")), "img_wplus_const");
  check(g->generate(z, models::LatentSpace::Z, 0.7), "img_G_forward_psi07");
  check(g->input_transform(), "input_transform");
  g->set_input_transform(torch::eye(3));
  check(g->synthesize(ref.load("ws_psi1")), "img_psi1_const_identity_transform");
}

TEST(StyleGAN3, MatchesOfficialOutputsReferenceOps) {
  for (const auto& f : kFixtures) {
    FACEEDIT_REQUIRE_SHARED(ref, f.reference);
    nn::ReferenceOpsGuard reference;
    expect_official_outputs(f, ref, "reference ops");
  }
}

TEST(StyleGAN3, MatchesOfficialOutputsPolyphaseOps) {
  for (const auto& f : kFixtures) {
    FACEEDIT_REQUIRE_SHARED(ref, f.reference);
    ASSERT_FALSE(nn::reference_ops_forced());
    expect_official_outputs(f, ref, "polyphase ops");
  }
}

// The filters and geometry we design from the config alone are the pickle's (what random-weight
// benchmarks and fresh models use).
TEST(StyleGAN3, DesignedFiltersMatchThePickle) {
  for (const auto& f : kFixtures) {
    FACEEDIT_REQUIRE_SHARED(pkl, f.pkl);
    auto loaded = StyleGAN3::load(test::converted(f.pkl));
    StyleGAN3 fresh(loaded->stylegan3_config(), 1);
    auto a = loaded->named_tensors(), b = fresh.named_tensors();
    int filters = 0;
    for (const auto& t : a) {
      const auto& key = t.key();
      if (key.find("_filter") == std::string::npos) continue;
      ASSERT_TRUE(b.contains(key)) << key;
      EXPECT_EQ(t.value().sizes(), b[key].sizes()) << key;
      EXPECT_LE((t.value() - b[key]).abs().max().item<double>(), 1e-6 * t.value().abs().max().item<double>())
          << f.name << " " << key;
      ++filters;
    }
    EXPECT_EQ(filters, 28) << f.name;  // L0..L13 each up- and downsample; ToRGB does neither
  }
}

TEST(StyleGAN3, PresetGeometryAt1024) {
  // NVIDIA's FFHQ 1024 config T: 16 ws, L0 at 36 px with 512 channels, the last layers at 1024.
  auto g = models::stylegan3_geometry(models::StyleGAN3Config::preset('t', 1024));
  ASSERT_EQ(g.layers.size(), 15u);
  EXPECT_EQ(g.input_size, 36);
  EXPECT_EQ(g.layers[0].name, "L0_36_512");
  EXPECT_EQ(g.layers[13].name, "L13_1024_32");
  EXPECT_EQ(g.layers[14].out_size, 1024);
  EXPECT_EQ(g.layers[14].out_channels, 3);
  auto r = models::stylegan3_geometry(models::StyleGAN3Config::preset('r', 1024));
  EXPECT_EQ(r.layers[0].name, "L0_36_1024");
  EXPECT_EQ(r.layers[0].conv_kernel, 1);
  EXPECT_TRUE(r.layers[0].down_radial);
  EXPECT_FALSE(r.layers[13].down_radial);  // critically sampled layers keep separable filters
}

TEST(StyleGAN3, UserTransformIsGenImagesInverse) {
  auto m = StyleGAN3::user_transform(0.1, -0.2, 30.0);
  const double a = 30.0 / 180.0 * M_PI;
  auto fwd = torch::tensor({std::cos(a), std::sin(a), 0.1, -std::sin(a), std::cos(a), -0.2, 0.0, 0.0, 1.0},
                           torch::kFloat64).view({3, 3});
  EXPECT_TRUE(torch::allclose(fwd.matmul(m), torch::eye(3, torch::kFloat64), 0, 1e-12));
  EXPECT_TRUE(torch::allclose(StyleGAN3::user_transform(0, 0, 0), torch::eye(3, torch::kFloat64)));
}

TEST(StyleGAN3, TruncationCutoffAndSpaces) {
  models::StyleGAN3Config c = models::StyleGAN3Config::preset('t', 16);
  c.z_dim = c.w_dim = 8;
  c.channel_base = 64;
  c.channel_max = 8;
  StyleGAN3 g(c, 0);
  torch::NoGradGuard no_grad;
  auto z = g.sample_z(2, 3);
  auto ws = g.map(z, 1.0), wt = g.map(z, 0.5, 4);
  EXPECT_TRUE(torch::equal(wt.narrow(1, 4, g.num_ws() - 4), ws.narrow(1, 4, g.num_ws() - 4)));
  EXPECT_TRUE(torch::allclose(wt.narrow(1, 0, 4), g.w_avg().lerp(ws.narrow(1, 0, 4), 0.5)));
  auto img = g.generate(ws.select(1, 0), models::LatentSpace::W);
  EXPECT_EQ(img.sizes(), torch::IntArrayRef({2, 3, 16, 16}));
  EXPECT_TRUE(torch::allclose(img, g.synthesize(ws)));
  EXPECT_NE(test::error_of([&] { g.synthesize(ws.narrow(1, 0, 3)); }), "(no error)");
}

// A file whose recorded geometry disagrees with its config, or whose tensors do not fit it, is
// refused with the file and the layer/tensor named.
TEST(StyleGAN3, LoaderRefusesInconsistentFiles) {
  FACEEDIT_REQUIRE_SHARED(pkl, kFixtures[0].pkl);
  const std::string good = test::converted(kFixtures[0].pkl);
  io::SafetensorsReader file(good);
  io::NamedTensors tensors;
  for (const auto& e : file.entries()) tensors.emplace_back(e.name, file.load(e.name));
  auto meta = file.metadata();
  auto cfg = nlohmann::json::parse(meta.at("faceedit.config"));

  const std::string bad_geo = (test::temp_dir() / "sg3-bad-geometry.safetensors").string();
  auto cfg2 = cfg;
  cfg2["layers"][3]["padding"][0] = 99;
  auto meta2 = meta;
  meta2["faceedit.config"] = cfg2.dump();
  io::write_safetensors(bad_geo, tensors, meta2);
  auto e1 = test::error_of([&] { StyleGAN3::load(bad_geo); });
  EXPECT_NE(e1.find(bad_geo), std::string::npos) << e1;
  EXPECT_NE(e1.find("L3_36_32"), std::string::npos) << e1;

  const std::string bad_shape = (test::temp_dir() / "sg3-bad-shape.safetensors").string();
  auto t2 = tensors;
  for (auto& t : t2)
    if (t.first == "synthesis.L5_52_32.weight") t.second = t.second.narrow(0, 0, 31).contiguous();
  io::write_safetensors(bad_shape, t2, meta);
  auto e2 = test::error_of([&] { StyleGAN3::load(bad_shape); });
  EXPECT_NE(e2.find("synthesis.L5_52_32.weight"), std::string::npos) << e2;
  EXPECT_NE(e2.find(bad_shape), std::string::npos) << e2;

  const std::string missing = (test::temp_dir() / "sg3-missing.safetensors").string();
  io::NamedTensors t3;
  for (auto& t : tensors)
    if (t.first != "synthesis.input.freqs") t3.push_back(t);
  io::write_safetensors(missing, t3, meta);
  auto e3 = test::error_of([&] { StyleGAN3::load(missing); });
  EXPECT_NE(e3.find("synthesis.input.freqs"), std::string::npos) << e3;
}

}  // namespace
