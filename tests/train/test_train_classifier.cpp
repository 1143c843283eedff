// The training loop on a synthetic set whose classes are separable by construction, written as a
// SMILEsmileD-style archive; and the real archives' labels against their file names.
#include <gtest/gtest.h>

#include <opencv2/imgcodecs.hpp>

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
  p.epochs = 0;
  EXPECT_THROW(train::train_face_classifier(p, (test::temp_dir() / "x.safetensors").string()), Error);
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
