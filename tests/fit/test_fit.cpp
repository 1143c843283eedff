// faceedit fit: the unsupervised directions against independent closed forms (SVD), the crossing
// search on known curves, packs (reading, bad input, calibrated strengths), and a small end-to-end
// fit on the DCGAN whose calibration holds on `evaluate`'s own held-out faces.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "faceedit/edit/interfacegan/boundary.h"
#include "faceedit/edit/pack.h"
#include "faceedit/error.h"
#include "faceedit/eval/edit_metrics.h"
#include "faceedit/eval/edit_sweep.h"
#include "faceedit/fit/fit.h"
#include "faceedit/io/json_file.h"
#include "faceedit/models/generator.h"
#include "faceedit/models/judges.h"
#include "faceedit/models/model_files.h"
#include "faceedit/seeds.h"
#include "test_support.h"

using namespace faceedit;
namespace fs = std::filesystem;

namespace {

// |cos| of matching rows (directions have no sign of their own).
torch::Tensor abs_cos(const torch::Tensor& a, const torch::Tensor& b) {
  return (a.to(torch::kFloat64) * b.to(torch::kFloat64)).sum(1).abs() /
         (a.to(torch::kFloat64).norm(2, 1) * b.to(torch::kFloat64).norm(2, 1));
}

}  // namespace

TEST(FitDirections, SefaIsTheRightSingularVectorsOfTheRowNormalisedWeight) {
  torch::manual_seed(3);
  // Rows of very different norms: SeFa's normalisation matters, so skipping it would fail here.
  auto rows = torch::randn({60, 12}, torch::kFloat64) * torch::linspace(0.1, 10, 60, torch::kFloat64).unsqueeze(1);
  const auto got = fit::sefa_directions(rows.to(torch::kFloat32), 4);
  const auto normalised = rows / rows.norm(2, 1, true);
  const auto svd = torch::linalg::svd(normalised, false, c10::nullopt);
  const auto vh = std::get<2>(svd).narrow(0, 0, 4);
  EXPECT_GT(abs_cos(got, vh).min().item<double>(), 1 - 1e-5);
  const auto unnormalised = std::get<2>(torch::linalg::svd(rows, false, c10::nullopt)).narrow(0, 0, 1);
  EXPECT_LT(abs_cos(got.narrow(0, 0, 1), unnormalised).item<double>(), 0.999) << "the row normalisation had no effect";
  // Unit rows, signed so the largest entry is positive.
  EXPECT_NEAR(got.norm(2, 1).min().item<double>(), 1.0, 1e-5);
  EXPECT_GT(got.gather(1, got.abs().argmax(1, true)).min().item<double>(), 0);
}

TEST(FitDirections, PcaMatchesTheSvdOfCentredData) {
  torch::manual_seed(4);
  const auto basis = std::get<0>(torch::linalg::qr(torch::randn({8, 8}, torch::kFloat64), "reduced"));
  const auto scales = torch::tensor({5.0, 3.0, 2.0, 1.0, 0.5, 0.3, 0.2, 0.1}, torch::kFloat64);
  const auto data = (torch::randn({4000, 8}, torch::kFloat64) * scales).mm(basis.t()) + 7.0;  // offset: centring matters
  const auto got = fit::pca_directions(data.to(torch::kFloat32), 3);
  const auto centred = data - data.mean(0, true);
  const auto vh = std::get<2>(torch::linalg::svd(centred, false, c10::nullopt)).narrow(0, 0, 3);
  EXPECT_GT(abs_cos(got, vh).min().item<double>(), 1 - 1e-5);
  EXPECT_GT(abs_cos(got, basis.t().narrow(0, 0, 3)).min().item<double>(), 0.99);  // the planted axes
}

TEST(FitCalibration, FindsTheCrossingOfKnownCurves) {
  int probes = 0;
  const auto linear = [&](double a) { ++probes; return std::min(1.0, a / 3.0); };  // 0.5 at 1.5
  auto c = fit::find_crossing(linear, 0.5, 1.0, 64, 6);
  EXPECT_TRUE(c.reached);
  EXPECT_NEAR(c.alpha, 1.5, 1e-9);
  EXPECT_LE(probes, 10);
  // A step curve: half the faces flip between 5 and 5.1; bisection brackets it.
  const auto step = [](double a) { return a < 5.0 ? 0.2 : a < 5.1 ? 0.4 : 0.9; };
  c = fit::find_crossing(step, 0.5, 1.0, 64, 8);
  EXPECT_TRUE(c.reached);
  EXPECT_GT(c.alpha, 4.9);
  EXPECT_LT(c.alpha, 5.2);
  // Never reached: the largest strength tried, flagged.
  c = fit::find_crossing([](double) { return 0.1; }, 0.5, 1.0, 16, 4);
  EXPECT_FALSE(c.reached);
  EXPECT_EQ(c.alpha, 16);
}

namespace {

// A pack directory with one InterFaceGAN editor of scale 2.5 (hand-written pack.json).
fs::path write_pack(const std::string& name, const std::string& method = "interfacegan", bool with_file = true) {
  const auto dir = test::temp_dir() / name;
  fs::create_directories(dir / "interfacegan");
  if (with_file) {
    auto b = edit::random_boundary(100, models::LatentSpace::Z, "smiling", 1);
    edit::save_boundary(b, (dir / "interfacegan" / "smiling.safetensors").string());
  }
  nlohmann::json j = {{"format", edit::kPackFormat},
                      {"model", "dcgan-celeba32"},
                      {"model_hash", "abc"},
                      {"guide", "celebahq"},
                      {"best", {{"smiling", method}}},
                      {"editors",
                       {{{"attribute", "smiling"},
                         {"method", method},
                         {"space", "z"},
                         {"file", "interfacegan/smiling.safetensors"},
                         {"calibration", {{"scale", 2.5}, {"unit", "guide-median-crossing"}}}}}}};
  io::write_json_file(dir / "pack.json", j);
  return dir;
}

}  // namespace

TEST(Pack, ConvertsCalibratedStrengthsToTheMethodsUnit) {
  const auto dir = write_pack("good");
  const auto pack = edit::load_pack(dir.string());
  ASSERT_EQ(pack.editors.size(), 1u);
  auto step = edit::pack_edit(pack, "smile=+1");  // an alias of smiling
  EXPECT_EQ(step.editor.method, "interfacegan");
  EXPECT_DOUBLE_EQ(step.strength, 2.5);
  step = edit::pack_edit(pack, "smiling=-0.4", "interfacegan");
  EXPECT_DOUBLE_EQ(step.strength, -1.0);
  EXPECT_NE(test::error_of([&] { edit::pack_edit(pack, "male=1"); }).find("no editor for 'male'"), std::string::npos);
  EXPECT_NE(test::error_of([&] { edit::pack_edit(pack, "smiling=1", "transformer"); }).find("has no transformer editor"), std::string::npos);
  EXPECT_NE(test::error_of([&] { edit::pack_edit(pack, "method=interfacegan,strength=1"); }).find("ATTRIBUTE=STRENGTH"),
            std::string::npos);
}

TEST(Pack, RefusesBadPacksNamingTheFile) {
  EXPECT_NE(test::error_of([&] { edit::load_pack(write_pack("unknown-method", "magic").string()); }).find("unknown method 'magic'"),
            std::string::npos);
  EXPECT_NE(test::error_of([&] { edit::load_pack(write_pack("missing-file", "interfacegan", false).string()); }).find("is missing"),
            std::string::npos);
  const auto broken = test::temp_dir() / "broken";
  fs::create_directories(broken);
  std::ofstream(broken / "pack.json") << "{\"format\": \"faceedit.pack/1\", \"model\": 3";
  const auto msg = test::error_of([&] { edit::load_pack(broken.string()); });
  EXPECT_NE(msg.find("pack.json"), std::string::npos) << msg;
  EXPECT_NE(test::error_of([&] { edit::load_pack((test::temp_dir() / "nothing").string()); }).find("not a pack directory"),
            std::string::npos);
}

TEST(Fit, SmallDcganPackIsCalibratedOnEvaluatesFacesAndResumesToTheSameBytes) {
  const std::string model = test::converted("models/dcgan-celeba32/generator.pt");
  if (model.empty()) { FACEEDIT_SHARED_MISSING("models/dcgan-celeba32"); }
  fit::FitParams p;
  p.model = model;
  p.n = 1000;
  p.attributes = {"male", "eyeglasses"};
  p.methods = {"interfacegan", "transformer", "sefa", "ganspace"};
  p.pose = false;
  p.editor_steps = 150;
  p.calibration_n = 100;
  p.directions = 2;
  p.progress = false;
  const auto dir = test::temp_dir() / "pack";
  const auto summary = fit::fit_pack(p, dir.string());
  ASSERT_TRUE(summary["complete"].get<bool>()) << summary.dump();
  const auto pack = edit::load_pack(dir.string());
  ASSERT_EQ(pack.editors.size(), 2u * 2u + 2u * 2u) << "(interfacegan, transformer) x 2 + (sefa, ganspace) x 2";
  EXPECT_TRUE(fs::exists(dir / "report.html"));
  EXPECT_TRUE(fs::exists(dir / "sweeps" / "interfacegan-male.png"));

  // Strength 1 flips about half of evaluate's held-out faces (another seed than the calibration's),
  // judged by the guide as `evaluate --pack P --alpha 1 --judge celebahq` judges them.
  std::shared_ptr<models::Generator> g = models::open_generator(model, torch::kCPU);
  edit::check_pack_model(pack, *g);
  models::JudgePanelSpec spec;
  spec.attributes = {"celebahq"};
  auto judges = models::open_judge_panel(spec);
  for (const auto& e : pack.editors) {
    if (e.unit != "guide-median-crossing") continue;
    auto editor = edit::open_editor(edit::pack_editor_spec(e), g);
    const auto codes = g->sample_codes(200, seeds::kEvaluationSeed, editor->space());
    eval::SweepParams sp;
    sp.alphas = {e.scale};
    sp.progress = false;
    const auto r = eval::evaluate_sweep(*g, *editor, codes, judges, sp);
    const double target = r.json["metrics"][0]["target_change_rate"].template get<double>();
    EXPECT_GE(target, 0.35) << e.method << " " << e.attribute << " scale " << e.scale;
    EXPECT_LE(target, 0.65) << e.method << " " << e.attribute << " scale " << e.scale;
  }

  // Resume: a lost item (a calibration) and the final files are rebuilt to the same bytes, nothing else recomputed.
  const auto read = [](const fs::path& f) {
    std::ifstream in(f, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  const auto before = read(dir / "pack.json");
  fs::remove(dir / "calibration" / "transformer-male.json");
  fs::remove(dir / "pack.json");
  const auto again = fit::fit_pack(p, dir.string());
  EXPECT_EQ(read(dir / "pack.json"), before);
  EXPECT_EQ(again["stages"]["calibration"]["computed_here"].get<int64_t>(), 1);
  EXPECT_EQ(again["stages"]["transformer"]["computed_here"].get<int64_t>(), 0);

  // Another job's settings in the same directory are refused; a pack of another model too.
  auto other = p;
  other.n = 2000;
  EXPECT_NE(test::error_of([&] { fit::fit_pack(other, dir.string()); }).find("holds another fit job"), std::string::npos);
  auto g2 = models::open_generator(model, torch::kCPU);
  {
    torch::NoGradGuard no_grad;
    g2->parameters()[0].add_(1e-3);
  }
  EXPECT_NE(test::error_of([&] { edit::check_pack_model(pack, *g2); }).find("was made for model"), std::string::npos);
}
