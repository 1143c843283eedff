// eval::evaluate_photo_edits on two CelebA-HQ photos and a photo without a face, judged by closed
// forms of the pixels: a strength-0 edit changes nothing it measures, a strong one does, and the
// faceless photo is listed as failed (by name) while the others are measured.
#include <gtest/gtest.h>

#include <opencv2/imgproc.hpp>


#include "closed_form_judges.h"
#include "photo_fixtures.h"
#include "faceedit/error.h"
#include "faceedit/eval/photo_eval.h"
#include "faceedit/io/image.h"
#include "faceedit/models/face_analysis.h"
#include "test_support.h"

namespace faceedit {
namespace {

class PhotoEval : public ::testing::Test {
 protected:
  void SetUp() override {
    FACEEDIT_REQUIRE_LANDMARK_MODEL();
    FACEEDIT_REQUIRE_SHARED(src, "models/dcgan-celeba32/generator.pt");
    FACEEDIT_REQUIRE_SHARED(a, "data/celebahq-photos/000004.jpg");
    FACEEDIT_REQUIRE_SHARED(b, "data/celebahq-photos/000009.jpg");
    model = test::converted("models/dcgan-celeba32/generator.pt");
    g = models::load_generator(model);
    grey = test::write_faceless_photo();
    photos = {a, grey, b};
    test::use_fast_photo_params(params.photo);
    params.photo.cache_dir = test::temp_dir() / "photo-eval-cache";
    params.size = 64;
    params.edits = {test::random_boundary_edit("photo-eval-smiling.safetensors", "smiling", 21)};
  }
  std::string model, grey;
  std::shared_ptr<models::Generator> g;
  std::vector<std::string> photos;
  eval::PhotoEvalParams params;
};

TEST_F(PhotoEval, StrengthZeroChangesNothingAndAFacelessPhotoFailsAlone) {
  auto judges = test::closed_form_panel();
  params.edits[0].strength = 0.0;
  std::vector<std::pair<size_t, bool>> calls;
  const auto r = eval::evaluate_photo_edits(photos, g, model, judges, params,
                                            [&](size_t i, const std::string&, const pipeline::PhotoResult* res, const std::string& error) {
                                              calls.emplace_back(i, res != nullptr);
                                              EXPECT_EQ(res == nullptr, !error.empty());
                                            });
  ASSERT_EQ(calls.size(), 3u);
  EXPECT_EQ(calls[0], std::make_pair(size_t{0}, true));
  EXPECT_EQ(calls[1], std::make_pair(size_t{1}, false));
  EXPECT_EQ(calls[2], std::make_pair(size_t{2}, true));
  EXPECT_EQ(r.json["n"].get<int64_t>(), 2);
  EXPECT_EQ(r.json["originals"], nlohmann::json({photos[0], photos[2]}));
  ASSERT_EQ(r.json["failed"].size(), 1u);
  EXPECT_EQ(r.json["failed"][0]["photo"], grey);
  EXPECT_NE(r.json["failed"][0]["error"].get<std::string>().find("grey.jpg"), std::string::npos) << r.json["failed"].dump();
  EXPECT_EQ(r.json["judge_target"], "smiling");
  EXPECT_GE(r.grid.cols, 4 * 64);  // two (before, after) pairs: one row of 4 tiles
  EXPECT_LT(r.grid.rows, 2 * 64);

  // At strength 0 the generator's change is 0: the photo comes back as it was (up to 8-bit rounding
  // in the fusion), so no label flips, the identity stays, the background stays.
  const auto& m = r.json["metrics"][0];
  EXPECT_EQ(m["n"].get<int64_t>(), 2);
  EXPECT_EQ(m["target_change_rate"].get<double>(), 0.0);
  EXPECT_EQ(m["attribute_preservation_rate"].get<double>(), 1.0);
  EXPECT_GT(m["identity_preservation"].get<double>(), 1.0 - 1e-5);
  EXPECT_LT(m["background_change"].get<double>(), 2.0 / 255);
  EXPECT_LT(m["mean_abs_delta_p"]["smiling"].get<double>(), 1e-3);

  // A strong edit changes what the judges see.
  params.edits[0].strength = 4.0;
  const auto strong = eval::evaluate_photo_edits(photos, g, model, judges, params);
  const auto& s = strong.json["metrics"][0];
  EXPECT_GT(s["background_change"].get<double>(), m["background_change"].get<double>() + 1e-3);
  EXPECT_LT(s["identity_preservation"].get<double>(), m["identity_preservation"].get<double>());
  EXPECT_EQ(strong.json["strengths"], nlohmann::json({4.0, 4.0}));
}

TEST_F(PhotoEval, RefusesBadInputWithANamedError) {
  auto judges = test::closed_form_panel();
  EXPECT_NE(test::error_of([&] { eval::evaluate_photo_edits({}, g, model, judges, params); }).find("no photos given"),
            std::string::npos);
  auto no_edit = params;
  no_edit.edits.clear();
  EXPECT_NE(test::error_of([&] { eval::evaluate_photo_edits(photos, g, model, judges, no_edit); }).find("no edit given"),
            std::string::npos);
  // Every photo failing is an error naming the first failure: here a file that does not exist.
  const std::string missing = (test::temp_dir() / "no-such-photo.jpg").string();
  const auto error = test::error_of([&] { eval::evaluate_photo_edits({missing}, g, model, judges, params); });
  EXPECT_NE(error.find("every photo failed"), std::string::npos) << error;
  EXPECT_NE(error.find("no-such-photo.jpg"), std::string::npos) << error;
}

// evaluate-images' pairs: a photo against itself changes nothing; against a colour-shifted copy the
// channel-mean judge's smiling (green) rises by its closed form; unpaired lists and --align with
// photos of two sizes are refused by name.
TEST(ImagePairs, ClosedFormsAndRefusals) {
  FACEEDIT_REQUIRE_LANDMARK_MODEL();
  FACEEDIT_REQUIRE_SHARED(a, "data/celebahq-photos/000004.jpg");
  auto judges = test::closed_form_panel();
  const cv::Mat photo = io::read_image(a);
  cv::Mat greener = photo.clone();
  greener.forEach<cv::Vec3b>([](cv::Vec3b& px, const int*) { px[1] = cv::saturate_cast<uchar>(px[1] + 40); });
  const std::string shifted = (test::temp_dir() / "greener.png").string();
  io::write_image(shifted, greener);
  eval::ImagePairsParams p;
  p.report = {"test", "smiling", 1.0, +1};
  p.size = 64;
  auto same = eval::evaluate_image_pairs({a}, {a}, judges, p);
  EXPECT_EQ(same.json["metrics"][0]["identity_preservation"].get<double>(), 1.0);
  EXPECT_EQ(same.json["metrics"][0]["background_change"].get<double>(), 0.0);
  EXPECT_EQ(same.json["direction"], "raise");
  EXPECT_EQ(same.json["edited"], nlohmann::json({a}));
  auto up = eval::evaluate_image_pairs({a}, {shifted}, judges, p);
  const auto before = models::resize_images(io::image_to_tensor(photo), 64, 64), after = models::resize_images(io::image_to_tensor(greener), 64, 64);
  const double expected = (torch::sigmoid(8 * after[0][1].mean()) - torch::sigmoid(8 * before[0][1].mean())).item<double>();
  EXPECT_NEAR(up.json["metrics"][0]["mean_abs_delta_p"]["smiling"].get<double>(), std::abs(expected), 1e-5);
  EXPECT_NE(test::error_of([&] { eval::evaluate_image_pairs({a, a}, {a}, judges, p); }).find("give them in pairs"), std::string::npos);
  cv::Mat small;
  cv::resize(photo, small, cv::Size(), 0.5, 0.5);
  const std::string half = (test::temp_dir() / "half.png").string();
  io::write_image(half, small);
  p.align = true;
  EXPECT_NE(test::error_of([&] { eval::evaluate_image_pairs({a}, {half}, judges, p); }).find("half.png"), std::string::npos);
}

}  // namespace
}  // namespace faceedit
