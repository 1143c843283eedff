// pipeline::edit_photo_batch on two CelebA-HQ photos, a photo without a face and a missing file:
// one output per face photo, the others recorded as errors naming the file without stopping the
// batch, no half-written files, a rerun skips what is done, and a redone photo gives the same bytes.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <opencv2/imgcodecs.hpp>
#include <set>

#include "faceedit/error.h"
#include "faceedit/io/image.h"
#include "faceedit/pipeline/photo_batch.h"
#include "photo_fixtures.h"
#include "test_support.h"

namespace faceedit {
namespace {

namespace fs = std::filesystem;

std::string bytes_of(const fs::path& f) {
  std::ifstream in(f, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::set<std::string> names_in(const fs::path& dir) {
  std::set<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.insert(e.path().filename().string());
  return names;
}

class PhotoBatch : public ::testing::Test {
 protected:
  void SetUp() override {
    FACEEDIT_REQUIRE_LANDMARK_MODEL();
    FACEEDIT_REQUIRE_SHARED(src, "models/dcgan-celeba32/generator.pt");
    FACEEDIT_REQUIRE_SHARED(a, "data/celebahq-photos/000004.jpg");
    FACEEDIT_REQUIRE_SHARED(b, "data/celebahq-photos/000009.jpg");
    model = test::converted("models/dcgan-celeba32/generator.pt");
    g = models::load_generator(model);
    photos = {a, test::write_faceless_photo(), (test::temp_dir() / "missing.png").string(), b};
    test::use_fast_photo_params(params.photo);
    params.edits = {test::random_boundary_edit("batch-smiling.safetensors", "smiling", 31, 2.0)};
  }
  std::string model;
  std::shared_ptr<models::Generator> g;
  std::vector<std::string> photos;
  pipeline::PhotoBatchParams params;
};

TEST_F(PhotoBatch, EditsEveryFaceRecordsFailuresByNameAndResumes) {
  const auto out = test::temp_dir() / "batch-out";
  std::vector<std::string> errors(photos.size());
  const auto r = pipeline::edit_photo_batch(photos, g, model, params, out.string(),
                                            [&](const pipeline::PhotoBatchItem& item) { errors[item.index] = item.error; });
  EXPECT_EQ(r.edited_here, 2);
  EXPECT_EQ(r.failed_here, 2);
  EXPECT_EQ(r.skipped_here, 0);
  EXPECT_EQ(r.json["edited"].get<int64_t>(), 2);
  EXPECT_EQ(r.json["failed"].get<int64_t>(), 2);
  ASSERT_EQ(r.json["photos"].size(), 4u);
  for (size_t i = 0; i < photos.size(); ++i) EXPECT_EQ(r.json["photos"][i]["photo"], photos[i]) << "input order";
  // The failures: errors naming their file, in the callback and in the records; the batch went on.
  EXPECT_NE(errors[1].find("grey.jpg"), std::string::npos) << errors[1];
  EXPECT_NE(errors[2].find("missing.png"), std::string::npos) << errors[2];
  EXPECT_EQ(r.json["photos"][1]["error"].get<std::string>(), errors[1]);
  EXPECT_TRUE(errors[0].empty() && errors[3].empty());

  // Exactly one output per face photo (the input's name and format), a record per photo, the job
  // and the summary: nothing else (no temporary file left behind).
  EXPECT_EQ(names_in(out), (std::set<std::string>{"000004.jpg", "000004.json", "000009.jpg", "000009.json", "grey.json",
                                                  "missing.json", "job.json", "batch.json"}));
  for (const std::string name : {"000004", "000009"}) {
    const cv::Mat input = io::read_image(photos[name == "000004" ? 0 : 3]);
    const cv::Mat edited = io::read_image((out / (name + ".jpg")).string());
    EXPECT_EQ(edited.size(), input.size()) << name;
    EXPECT_EQ(r.json["photos"][name == "000004" ? 0 : 3]["output"], name + ".jpg");
  }

  // A rerun skips every photo with a record (failures too: they are not retried) and rewrites nothing.
  const auto first_bytes = bytes_of(out / "000009.jpg");
  const auto first_summary = bytes_of(out / "batch.json");
  const auto again = pipeline::edit_photo_batch(photos, g, model, params, out.string());
  EXPECT_EQ(again.skipped_here, 4);
  EXPECT_EQ(again.edited_here + again.failed_here, 0);
  EXPECT_EQ(bytes_of(out / "batch.json"), first_summary);

  // A photo whose record was lost (an interruption before its record) is redone, to the same bytes:
  // its result does not depend on the photos edited before it in the same session.
  fs::remove(out / "000009.json");
  fs::remove(out / "000009.jpg");
  const auto redo = pipeline::edit_photo_batch(photos, g, model, params, out.string());
  EXPECT_EQ(redo.edited_here, 1);
  EXPECT_EQ(redo.skipped_here, 3);
  EXPECT_EQ(bytes_of(out / "000009.jpg"), first_bytes);
  EXPECT_EQ(bytes_of(out / "batch.json"), first_summary);

  // Other settings in the same directory are refused (the records would mix two jobs).
  auto other = params;
  other.edits[0].strength = -2.0;
  const auto refused = test::error_of([&] { pipeline::edit_photo_batch(photos, g, model, other, out.string()); });
  EXPECT_NE(refused.find("another batch"), std::string::npos) << refused;
}

TEST_F(PhotoBatch, RefusesBadInputWithANamedError) {
  const auto out = (test::temp_dir() / "batch-bad").string();
  EXPECT_NE(test::error_of([&] { pipeline::edit_photo_batch({}, g, model, params, out); }).find("no photos given"),
            std::string::npos);
  auto no_edit = params;
  no_edit.edits.clear();
  EXPECT_NE(test::error_of([&] { pipeline::edit_photo_batch(photos, g, model, no_edit, out); }).find("no edit given"),
            std::string::npos);
  // The photo list: a missing argument, an empty folder, two photos with one output name.
  const auto missing = (test::temp_dir() / "no-such-dir").string();
  EXPECT_NE(test::error_of([&] { pipeline::list_batch_photos(missing); }).find("no-such-dir"), std::string::npos);
  const auto empty = test::temp_dir() / "empty-dir";
  fs::create_directories(empty);
  EXPECT_NE(test::error_of([&] { pipeline::list_batch_photos(empty.string()); }).find("holds no image files"), std::string::npos);
  const auto twice = test::temp_dir() / "twice-dir";
  fs::create_directories(twice);
  cv::imwrite((twice / "a.jpg").string(), cv::Mat(8, 8, CV_8UC3, cv::Scalar(1, 2, 3)));
  cv::imwrite((twice / "a.png").string(), cv::Mat(8, 8, CV_8UC3, cv::Scalar(1, 2, 3)));
  EXPECT_NE(test::error_of([&] { pipeline::list_batch_photos(twice.string()); }).find("both be written as 'a'"), std::string::npos);
  fs::remove(twice / "a.png");
  EXPECT_EQ(pipeline::list_batch_photos(twice.string()), std::vector<std::string>{(twice / "a.jpg").string()});
}

}  // namespace
}  // namespace faceedit
