// eval::VideoMeasurer on frames whose every measure is a closed form: flat-coloured frames and
// crops, judged by the channel-mean judges (closed_form_judges.h), with a frame without a face that
// breaks the adjacent-frame chains. No model, no tracking: the measurement alone.
#include <gtest/gtest.h>

#include "closed_form_judges.h"
#include "faceedit/eval/video_eval.h"
#include "faceedit/io/video.h"
#include "test_support.h"

namespace faceedit {
namespace {

namespace fs = std::filesystem;

constexpr int kFrames = 5, kSize = 64, kNoFace = 2;

cv::Mat flat(int size, cv::Scalar bgr) { return cv::Mat(size, size, CV_8UC3, bgr); }
cv::Scalar source_colour(int) { return {60, 100, 140}; }
cv::Scalar edited_colour(int t) { return {60, 150.0 + 10 * t, 140}; }  // G above 127.5: the judge's "smiling"

// The identity judge's embedding of a flat colour: the unit vector of its RGB in [-1, 1].
torch::Tensor embedding(cv::Scalar bgr) {
  auto v = torch::tensor({bgr[2] / 127.5 - 1, bgr[1] / 127.5 - 1, bgr[0] / 127.5 - 1}, torch::kDouble);
  return v / v.norm();
}
double cos(const torch::Tensor& a, const torch::Tensor& b) { return (a * b).sum().item<double>(); }

fs::path write_clip(const std::string& name, const std::function<cv::Scalar(int)>& colour) {
  const auto path = test::temp_dir() / name;
  io::VideoWriter w(path, cv::Size(kSize, kSize), 10.0);
  for (int t = 0; t < kFrames; ++t) w.write(flat(kSize, t == kNoFace ? source_colour(t) : colour(t)));
  w.finish();
  return path;
}

TEST(VideoMeasurer, ClosedFormsOfFlatFrames) {
  const auto input = write_clip("measure_in.mp4", source_colour), output = write_clip("measure_out.mp4", edited_colour);
  auto judges = test::closed_form_panel();
  eval::VideoMeasurer measurer(judges, torch::kCPU, input);
  face::AlignmentQuad quad;  // the middle of the frame (top-left, bottom-left, bottom-right, top-right)
  quad.corners = {cv::Point2d(16, 16), cv::Point2d(16, 48), cv::Point2d(48, 48), cv::Point2d(48, 16)};
  const std::vector<pipeline::AppliedEdit> applied = {{"test", "smiling", 1.0, {}, std::nullopt, ""}};
  pipeline::VideoResult result;
  result.frames = kFrames;
  result.outputs = {output};
  const cv::Mat mask(16, 16, CV_32F, cv::Scalar(1.0f));
  for (int t = 0; t < kFrames; ++t) {
    const bool face = t != kNoFace;
    const cv::Mat source = flat(kSize, source_colour(t)), edited = face ? flat(kSize, edited_colour(t)) : source;
    // Stabilised crops: the source moves 2 levels a frame, the blended edit 4: flicker ratio 2.
    const cv::Mat source_crop = flat(16, cv::Scalar::all(100 + 2 * t)), blended = flat(16, cv::Scalar::all(100 + 4 * t));
    result.per_frame.push_back({{"frame", t}});
    pipeline::RenderedFrame f;
    f.index = t;
    f.source = &source;
    f.edited = &edited;
    f.applied = &applied;
    f.report = &result.per_frame.back();
    if (face) {
      f.ffhq = f.crop_quad = quad;
      f.source_crop = &source_crop;
      f.blended_crop = &blended;
      f.mask = &mask;
    }
    measurer.add(f);
  }
  measurer.finish(result);
  const auto& s = result.summary;
  EXPECT_NEAR(s["flicker_ratio"].get<double>(), 2.0, 1e-9);
  EXPECT_EQ(s["target_change"].get<double>(), 1.0);  // G above 127.5 on every edited face
  // Identity: the sources are one colour (cosines 1); TL pairs (0,1) and (3,4) (frame 2 breaks the
  // chain), TG all six pairs of the four faces.
  std::vector<torch::Tensor> e;
  for (int t : {0, 1, 3, 4}) e.push_back(embedding(edited_colour(t)));
  const double tl = (cos(e[0], e[1]) + cos(e[2], e[3])) / 2;
  double tg = 0;
  for (int i = 0; i < 4; ++i)
    for (int j = i + 1; j < 4; ++j) tg += cos(e[i], e[j]) / 6;
  EXPECT_NEAR(s["tl_id"].get<double>(), tl, 1e-5);
  EXPECT_NEAR(s["tg_id"].get<double>(), tg, 1e-5);
  EXPECT_NEAR(result.per_frame[1]["identity_to_source"].get<double>(), cos(embedding(source_colour(1)), e[1]), 1e-5);
  EXPECT_NEAR(result.per_frame[4]["identity_to_first"].get<double>(), cos(e[0], e[3]), 1e-5);
  EXPECT_FALSE(result.per_frame[kNoFace].contains("judge"));
  // Background: outside the middle the edited faces' frames differ in G by 50 + 10t (mean over
  // channels /3), the faceless frame not at all; flat frames survive the codec within a level.
  double expected = 0;
  for (int t = 0; t < kFrames; ++t)
    if (t != kNoFace) expected += (50.0 + 10 * t) / 3 / 255 / kFrames;
  EXPECT_NEAR(s["background_mean_abs"].get<double>(), expected, 1.0 / 255);
  EXPECT_LT(s["codec_mean_abs"].get<double>(), 1.0 / 255);
}

}  // namespace
}  // namespace faceedit
