// The training loop on a synthetic set whose classes are separable by construction, written as a
// SMILEsmileD-style archive; and the real archives' labels against their file names.
#include <gtest/gtest.h>

#include <opencv2/imgcodecs.hpp>

#include <fstream>
#include <functional>
#include <set>

#include "faceedit/error.h"
#include "faceedit/models/face_classifier.h"
#include "faceedit/train/face_datasets.h"
#include "faceedit/train/train_classifier.h"
#include "test_support.h"

using namespace faceedit;
namespace fs = std::filesystem;

namespace {
// Positives: bright upper half; negatives: bright lower half (gray, noisy). 
std::string make_synthetic_smiles(int per_class) {
  const fs::path root = test::temp_dir() / "synthetic";
  cv::RNG rng(7);
  for (int cls = 0; cls < 2; ++cls) {
    const fs::path dir = root / "SMILEs" / (cls ? "positives/positives7" : "negatives/negatives7");
    fs::create_directories(dir);
    for (int i = 0; i < per_class; ++i) {
      cv::Mat img(64, 64, CV_8UC3);
      rng.fill(img, cv::RNG::UNIFORM, 40, 120);
      cv::Rect half = cls ? cv::Rect(0, 0, 64, 28) : cv::Rect(0, 36, 64, 28);
      img(half) += cv::Scalar::all(110);
      cv::imwrite((dir / (std::to_string(i) + ".jpg")).string(), img);
    }
  }
  const std::string tar = (root / "smiles-synthetic.tar").string();
  EXPECT_EQ(test::run_command("tar -C " + root.string() + " -cf " + tar + " SMILEs"), 0);
  return tar;
}
}  // namespace

TEST(TrainClassifier, LearnsASeparableSetAndReportsConfusion) {
  const std::string tar = make_synthetic_smiles(120);
  auto faces = train::load_labelled_faces(tar);
  ASSERT_EQ(faces.size(), 240);
  EXPECT_EQ(faces.labels.at("smiling").sum().item<int64_t>(), 120);
  train::TrainClassifierParams p;
  p.dataset = tar;
  p.input_size = 32;
  p.widths = {8, 16};
  p.epochs = 4;
  p.batch = 32;
  p.holdout = 0.25;
  p.progress = false;
  const std::string out = (test::temp_dir() / "synthetic.safetensors").string();
  auto report = train::train_face_classifier(p, out);
  const auto& r = report["heldout"]["smiling"];
  EXPECT_GE(r["accuracy"].get<double>(), 0.95) << report.dump(2);
  EXPECT_EQ(r["n"].get<int64_t>(), 60);
  int64_t total = 0;
  for (const auto& row : r["confusion"])
    for (const auto& v : row) total += v.get<int64_t>();
  EXPECT_EQ(total, 60);
  // The written file is a working classifier of the same accuracy.
  auto clf = models::load_face_classifier(out);
  auto [train_set, test_set] = train::split_holdout(faces, 0.25, 0);
  auto again = train::evaluate_classifier(*clf, test_set);
  EXPECT_DOUBLE_EQ(again["smiling"]["accuracy"].get<double>(), r["accuracy"].get<double>());
  EXPECT_FALSE(fs::exists(out + ".ckpt"));
}

TEST(TrainClassifier, RefusesAbsurdParameters) {
  train::TrainClassifierParams p;
  p.epochs = -1;  // 0 means "the set's default"
  EXPECT_THROW(train::train_face_classifier(p, (test::temp_dir() / "x.safetensors").string()), Error);
  p.epochs = 1;
  p.low_res_fraction = 2;
  EXPECT_THROW(train::train_face_classifier(p, (test::temp_dir() / "x.safetensors").string()), Error);
  p.low_res_fraction = -1;
  p.input_size = 8;
  EXPECT_THROW(train::train_face_classifier(p, (test::temp_dir() / "x.safetensors").string()), Error);
  p.input_size = 0;
  p.epochs = 1;
  p.dataset = "imagenet";
  EXPECT_THROW(train::train_face_classifier(p, (test::temp_dir() / "x.safetensors").string()), Error);
  EXPECT_FALSE(fs::exists(test::temp_dir() / "x.safetensors"));
}

TEST(FaceDatasets, UtkfaceLabelsFollowFileNames) {
  FACEEDIT_REQUIRE_SHARED(tar, "data/utkface-64.tar");
  auto faces = train::load_labelled_faces(tar, 500, 3);
  ASSERT_EQ(faces.size(), 500);
  EXPECT_EQ(faces.images.sizes(), (std::vector<int64_t>{500, 3, 64, 64}));
  for (int64_t i = 0; i < faces.size(); ++i) {
    const std::string base = fs::path(faces.files[static_cast<size_t>(i)]).filename().string();
    const int age = std::stoi(base.substr(0, base.find('_')));
    const char gender = base[base.find('_') + 1];
    EXPECT_EQ(faces.labels.at("male")[i].item<int64_t>(), gender == '0' ? 1 : 0) << base;
    EXPECT_EQ(faces.labels.at("age")[i].item<int64_t>(), train::age_group(age)) << base;
  }
  EXPECT_EQ(train::age_group(17), 0);
  EXPECT_EQ(train::age_group(18), 1);
  EXPECT_EQ(train::age_group(60), 4);
}

namespace {
// A CelebA-HQ-style archive: `celebahq-synth/<id>.jpg` + attributes.txt in CelebAMask-HQ's format.
// Smiling faces have a bright lower band, eyeglasses a dark upper band; the other 38 labels are
// random. `mutate` may rewrite the attribute lines before they are written.
std::string make_synthetic_celebahq(const std::string& name, int n,
                                    const std::function<void(std::vector<std::string>&)>& mutate = {}) {
  const fs::path root = test::temp_dir() / name;
  const fs::path dir = root / "celebahq-synth";
  fs::create_directories(dir);
  cv::RNG rng(11);
  std::vector<std::string> lines = {std::to_string(n), ""};
  for (const auto& a : train::kCelebaAttributes) lines[1] += (lines[1].empty() ? "" : " ") + a;
  const auto cols = train::celeba_columns();
  const auto smiling = std::find(cols.begin(), cols.end(), "smiling") - cols.begin();
  const auto glasses = std::find(cols.begin(), cols.end(), "eyeglasses") - cols.begin();
  for (int id = 1; id <= n; ++id) {
    std::vector<int> v(40);
    for (auto& x : v) x = rng.uniform(0, 2) ? 1 : -1;
    cv::Mat img(64, 64, CV_8UC3);
    rng.fill(img, cv::RNG::UNIFORM, 70, 150);
    if (v[static_cast<size_t>(smiling)] > 0) img(cv::Rect(0, 44, 64, 14)) += cv::Scalar::all(90);
    if (v[static_cast<size_t>(glasses)] > 0) img(cv::Rect(0, 14, 64, 10)) -= cv::Scalar::all(60);
    cv::imwrite((dir / (std::to_string(id) + ".jpg")).string(), img);
    std::string line = std::to_string(id) + ".jpg";
    for (int x : v) line += " " + std::to_string(x);
    lines.push_back(line);
  }
  if (mutate) mutate(lines);
  std::ofstream out(dir / "attributes.txt");
  for (const auto& l : lines) out << l << "\n";
  out.close();
  const std::string tar = (root / (name + ".tar")).string();
  EXPECT_EQ(test::run_command("tar -C " + root.string() + " -cf " + tar + " celebahq-synth"), 0);
  return tar;
}
}  // namespace

TEST(FaceDatasets, CelebahqArchiveGivesFortyLowerCaseLabels) {
  const std::string tar = make_synthetic_celebahq("celebahq-ok", 30);
  auto faces = train::load_labelled_faces(tar);
  ASSERT_EQ(faces.size(), 30);
  EXPECT_EQ(faces.labels.size(), 40u);
  EXPECT_TRUE(faces.labels.count("5_o_clock_shadow"));
  EXPECT_TRUE(faces.labels.count("wearing_hat"));
  // Labels follow the pixels they were drawn into.
  for (int64_t i = 0; i < faces.size(); ++i) {
    const double lower = faces.images[i].narrow(1, 46, 10).to(torch::kDouble).mean().item<double>();
    EXPECT_EQ(faces.labels.at("smiling")[i].item<int64_t>(), lower > 160 ? 1 : 0) << faces.files[static_cast<size_t>(i)];
  }
  EXPECT_EQ(train::celeba_column("Wearing_Hat"), "wearing_hat");
  EXPECT_TRUE(train::celebahq_half("celebahq", 4));
  EXPECT_FALSE(train::celebahq_half("celebahq", 5));
  EXPECT_TRUE(train::celebahq_half("celebahq-judge", 5));
}

TEST(FaceDatasets, MalformedCelebahqAttributesAreRefusedOrSkipped) {
  auto bad_count = make_synthetic_celebahq("celebahq-cols", 6, [](auto& l) { l[4] += " 1"; });
  EXPECT_NE(test::error_of([&] { train::load_labelled_faces(bad_count); }).find("line 5"), std::string::npos);
  auto bad_name = make_synthetic_celebahq("celebahq-name", 6, [](auto& l) { l[1].replace(0, 16, "Five_OClock_Hair"); });
  EXPECT_NE(test::error_of([&] { train::load_labelled_faces(bad_name); }).find("Five_OClock_Hair"), std::string::npos);
  auto bad_value = make_synthetic_celebahq("celebahq-value", 6, [](auto& l) { l[3].back() = '0'; });
  EXPECT_NE(test::error_of([&] { train::load_labelled_faces(bad_value); }).find("not 1 or -1"), std::string::npos);
  // Listed but absent (id 99), present but unlisted (id 6's line dropped): skipped, the rest load.
  auto gaps = make_synthetic_celebahq("celebahq-gaps", 6, [](auto& l) {
    l.back() = "99.jpg" + l.back().substr(l.back().find(' '));
  });
  EXPECT_EQ(train::load_labelled_faces(gaps).size(), 5);
  // A truncated JPEG inside the archive is skipped with a warning.
  const fs::path trunc_root = test::temp_dir() / "celebahq-trunc";
  make_synthetic_celebahq("celebahq-trunc", 6);
  fs::resize_file(trunc_root / "celebahq-synth" / "3.jpg", 40);
  const std::string trunc = (trunc_root / "celebahq-trunc2.tar").string();
  ASSERT_EQ(test::run_command("tar -C " + trunc_root.string() + " -cf " + trunc + " celebahq-synth"), 0);
  EXPECT_EQ(train::load_labelled_faces(trunc).size(), 5);
}

TEST(TrainClassifier, ResnetLearnsCelebahqStyleAttributes) {
  const std::string tar = make_synthetic_celebahq("celebahq-train", 240);
  train::TrainClassifierParams p;
  p.dataset = tar;
  p.input_size = 32;
  p.arch = "resnet";
  p.widths = {8, 16};
  p.epochs = 12;
  p.batch = 30;
  p.learning_rate = 5e-3;
  p.holdout = 0.25;
  p.low_res_fraction = 0;
  p.progress = false;
  const std::string out = (test::temp_dir() / "celebahq-synth.safetensors").string();
  auto report = train::train_face_classifier(p, out);
  EXPECT_EQ(report["heldout"].size(), 40u);
  EXPECT_GE(report["heldout"]["smiling"]["balanced_accuracy"].get<double>(), 0.9) << report["heldout"]["smiling"].dump();
  EXPECT_GE(report["heldout"]["eyeglasses"]["balanced_accuracy"].get<double>(), 0.9) << report["heldout"]["eyeglasses"].dump();
  auto clf = models::load_face_classifier(out);
  EXPECT_EQ(clf->config().arch, "resnet");
  EXPECT_EQ(clf->columns().size(), 40u);
  // Attribute names as users write them reach the same columns.
  EXPECT_EQ(clf->column("Smile"), clf->column("smiling"));
  EXPECT_EQ(clf->column("GLASSES"), clf->column("eyeglasses"));
  EXPECT_EQ(clf->column("beard"), clf->column("goatee"));
  EXPECT_EQ(clf->column("Wearing-Hat"), clf->column("wearing_hat"));
  EXPECT_NE(test::error_of([&] { clf->column("tattoo"); }).find("wearing_hat"), std::string::npos);
}

TEST(FaceDatasets, CelebahqHalvesAreDisjointAndCoverTheArchive) {
  FACEEDIT_REQUIRE_SHARED(tar, "data/celebahq-64.tar");
  auto guide = train::load_labelled_faces("celebahq");
  auto judge = train::load_labelled_faces("celebahq-judge");
  // ../shared/README.md's counts: 27,900 faces, 1,385 with eyeglasses, 13,035 smiling.
  EXPECT_EQ(guide.size() + judge.size(), 27900);
  EXPECT_NEAR(static_cast<double>(guide.size()) / 27900, 0.5, 0.02);
  EXPECT_EQ(guide.labels.at("eyeglasses").sum().item<int64_t>() + judge.labels.at("eyeglasses").sum().item<int64_t>(), 1385);
  EXPECT_EQ(guide.labels.at("smiling").sum().item<int64_t>() + judge.labels.at("smiling").sum().item<int64_t>(), 13035);
  std::set<std::string> seen(guide.files.begin(), guide.files.end());
  for (const auto& f : judge.files) EXPECT_FALSE(seen.count(f)) << f;
  EXPECT_EQ(guide.images.sizes(), (std::vector<int64_t>{guide.size(), 3, 64, 64}));
}
