// eval::PhotoMeasurer on hand-made results, against closed forms: the reconstruction's PSNR for a
// known pixel offset, the inversion's own figures passed through, an identity cosine of 1 for an
// unchanged crop, the guide's reading unchanged for an unchanged image, and a judge that cannot be
// opened reported (by name) instead of thrown. Needs only the shipped guide (models/).
#include <gtest/gtest.h>

#include <cmath>

#include "faceedit/eval/photo_metrics.h"
#include "faceedit/io/image.h"
#include "faceedit/models/face_analysis.h"

namespace faceedit {
namespace {

constexpr int kCrop = 64, kRes = 32;

// A smooth mid-grey face-sized image: values stay inside [-1, 1] after a +0.1 offset.
cv::Mat mid_range_crop() {
  cv::Mat img(kCrop, kCrop, CV_8UC3);
  for (int y = 0; y < kCrop; ++y)
    for (int x = 0; x < kCrop; ++x) img.at<cv::Vec3b>(y, x) = cv::Vec3b(80 + x, 90 + y, 100 + (x + y) / 2);
  return img;
}

pipeline::PhotoResult result_with_offset(double offset) {
  pipeline::PhotoResult r;
  r.face.crop = mid_range_crop();
  r.ffhq = r.face;
  r.blended_crop = r.face.crop.clone();  // the edit changed nothing
  r.photo = r.face.crop.clone();
  const auto target = models::resize_images(io::image_to_tensor(r.face.crop), kRes, kRes).clamp(-1, 1);
  r.reconstruction = target + offset;
  r.edited_image = r.reconstruction.clone();
  pipeline::AppliedEdit smile;
  smile.attribute = "smiling";
  r.edits = {smile};
  return r;
}

pipeline::PhotoParams params(const std::string& guide, const std::string& judge) {
  pipeline::PhotoParams p;
  p.crop = kCrop;
  p.guide = guide;
  p.identity_judge = judge;
  return p;
}

TEST(PhotoMetrics, ReconstructionPsnrIsTheClosedFormWithoutAnInversion) {
  eval::PhotoMeasurer measurer(params("none", "none"), torch::kCPU);
  const auto m = measurer.measure(result_with_offset(0.1));
  // MSE 0.01 over a peak-to-peak range of 2: 10 log10(4 / 0.01).
  EXPECT_NEAR(m.at("psnr").get<double>(), 10.0 * std::log10(400.0), 1e-4);
  EXPECT_FALSE(m.contains("identity_cosine"));  // no inversion: nothing to report
  EXPECT_FALSE(m.contains("psnr_personalized"));
  EXPECT_FALSE(m.contains("guide_prob_before"));
  EXPECT_FALSE(m.contains("judge"));
}

TEST(PhotoMetrics, InversionFiguresPassThroughAndAPersonalizationIsMeasured) {
  eval::PhotoMeasurer measurer(params("none", "none"), torch::kCPU);
  auto r = result_with_offset(0.2);
  r.inversion = {{"psnr", 17.5}, {"identity_cosine", 0.8}};
  r.personalization = {{"steps", 3}};
  const auto m = measurer.measure(r);
  EXPECT_EQ(m.at("psnr").get<double>(), 17.5);
  EXPECT_EQ(m.at("identity_cosine").get<double>(), 0.8);
  EXPECT_NEAR(m.at("psnr_personalized").get<double>(), 10.0 * std::log10(100.0), 1e-4);  // MSE 0.04
}

TEST(PhotoMetrics, GuideSeesNoChangeInAnUnchangedFace) {
  eval::PhotoMeasurer measurer(params("celebahq", "none"), torch::kCPU);
  const auto m = measurer.measure(result_with_offset(0.0));
  EXPECT_NEAR(m.at("identity_cosine_edited").get<double>(), 1.0, 1e-5);
  const double before = m.at("guide_prob_before").at("smiling"), after = m.at("guide_prob_after").at("smiling");
  EXPECT_GT(before, 0.0);
  EXPECT_LT(before, 1.0);
  EXPECT_NEAR(before, after, 1e-6);
}

TEST(PhotoMetrics, AJudgeThatCannotBeOpenedIsReportedByName) {
  eval::PhotoMeasurer measurer(params("none", "/nonexistent/judge.pt"), torch::kCPU);
  const auto m = measurer.measure(result_with_offset(0.1));
  ASSERT_TRUE(m.contains("judge_error")) << m.dump();
  EXPECT_NE(m.at("judge_error").get<std::string>().find("/nonexistent/judge.pt"), std::string::npos) << m.dump();
  EXPECT_TRUE(m.contains("psnr"));  // the rest is still measured
}

}  // namespace
}  // namespace faceedit
