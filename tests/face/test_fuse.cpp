// Fusion: outside the mask nothing changes (bit for bit), inside the blend is the closed form, and
// the portrait mask covers the face and nothing far from it.
#include <gtest/gtest.h>

#include <cmath>
#include <opencv2/imgproc.hpp>

#include "faceedit/error.h"
#include "faceedit/face/fuse.h"
#include "test_support.h"

using namespace faceedit;

namespace {

cv::Mat noise_image(int w, int h, int seed) {
  cv::Mat m(h, w, CV_8UC3);
  cv::RNG rng(seed);
  rng.fill(m, cv::RNG::UNIFORM, 0, 256);
  return m;
}

// 68 landmarks roughly where an aligned face has them in a size x size crop: jaw on an ellipse,
// brows, nose, eyes, mouth.
face::Landmarks synthetic_landmarks(float size) {
  face::Landmarks lm;
  const float cx = size / 2, cy = size * 0.55f;
  for (int i = 0; i < 17; ++i) {
    const float a = static_cast<float>(M_PI) * (i / 16.0f);
    lm[i] = {cx - size * 0.28f * std::cos(a), cy - size * 0.05f + size * 0.3f * std::sin(a)};
  }
  for (int i = 17; i < 27; ++i) lm[i] = {size * (0.25f + 0.05f * (i - 17)), size * 0.38f};
  for (int i = 27; i < 36; ++i) lm[i] = {cx + size * 0.01f * (i - 31), size * (0.42f + 0.02f * (i - 27))};
  for (int i = 36; i < 48; ++i) lm[i] = {size * (0.3f + 0.035f * (i - 36)), size * 0.45f};
  for (int i = 48; i < 68; ++i) lm[i] = {size * (0.38f + 0.012f * (i - 48)), size * 0.72f};
  return lm;
}

}  // namespace

TEST(Fuse, BlendIsTheClosedFormInsideAndBitIdenticalOutside) {
  const cv::Mat a = noise_image(64, 64, 1), b = noise_image(64, 64, 2);
  cv::Mat mask(64, 64, CV_32FC1);
  cv::RNG rng(3);
  rng.fill(mask, cv::RNG::UNIFORM, -0.5, 1.5);  // a third 0 after the clamp, some 1, the rest between
  cv::Mat clamped;
  cv::min(cv::max(mask, 0.0), 1.0, clamped);
  const cv::Mat out = face::blend_crops(a, b, clamped);
  int zeros = 0, partial = 0;
  for (int y = 0; y < 64; ++y)
    for (int x = 0; x < 64; ++x) {
      const double t = clamped.at<float>(y, x);
      for (int k = 0; k < 3; ++k) {
        const int o = a.at<cv::Vec3b>(y, x)[k], e = b.at<cv::Vec3b>(y, x)[k], got = out.at<cv::Vec3b>(y, x)[k];
        if (t == 0) {
          ASSERT_EQ(got, o);
          ++zeros;
        } else {
          const double expect = o * (1.0 - static_cast<float>(t)) + e * static_cast<float>(t);
          ASSERT_LE(std::abs(got - expect), 0.5 + 1e-3) << y << "," << x;
          ++partial;
        }
      }
    }
  EXPECT_GT(zeros, 1000);
  EXPECT_GT(partial, 1000);
  EXPECT_NE(test::error_of([&] { face::blend_crops(a, b, cv::Mat(32, 32, CV_32FC1, 0.f)); }).find("mask"), std::string::npos);
}

TEST(Fuse, PortraitMaskCoversTheFaceOnly) {
  const int size = 128;
  const auto lm = synthetic_landmarks(size);
  const cv::Mat m = face::portrait_mask(noise_image(size, size, 4), lm, nullptr, {});
  ASSERT_EQ(m.type(), CV_32FC1);
  double lo, hi;
  cv::minMaxLoc(m, &lo, &hi);
  EXPECT_GE(lo, 0.0);
  EXPECT_LE(hi, 1.0);
  EXPECT_NEAR(m.at<float>(cvRound(lm[30].y), cvRound(lm[30].x)), 1.0f, 1e-3);  // nose tip
  EXPECT_EQ(m.at<float>(2, 2), 0.0f);                                           // a corner
  EXPECT_EQ(m.at<float>(size - 3, size - 3), 0.0f);
}

TEST(Fuse, PhotoPixelsOutsideTheMaskAreUnchanged) {
  const cv::Mat photo = noise_image(300, 240, 5);
  face::AlignmentQuad quad;
  quad.corners = {cv::Point2d(60, 40), cv::Point2d(70, 200), cv::Point2d(230, 190), cv::Point2d(220, 30)};
  face::AlignedFace face = face::align_face(photo, quad, 128);
  const auto lm = synthetic_landmarks(128);
  const cv::Mat mask = face::portrait_mask(face.crop, lm, nullptr, {});
  cv::Mat edited = 255 - face.crop;  // every pixel changed
  for (bool poisson : {false, true}) {
    face::FuseParams fp;
    fp.poisson = poisson;
    const cv::Mat out = face::fuse(photo, face, edited, mask, fp);
    ASSERT_EQ(out.size(), photo.size());
    // Where the mask (dilated 2 px against interpolation) warps to 0, the photo is bit-identical.
    cv::Mat support = mask > 0, dilated, in_photo;
    cv::dilate(support, dilated, cv::Mat(), cv::Point(-1, -1), 2);
    cv::warpAffine(dilated, in_photo, cv::Mat(face.photo_to_crop), photo.size(), cv::INTER_NEAREST | cv::WARP_INVERSE_MAP,
                   cv::BORDER_CONSTANT, 0);
    int outside = 0, changed_inside = 0;
    for (int y = 0; y < photo.rows; ++y)
      for (int x = 0; x < photo.cols; ++x) {
        const bool same = out.at<cv::Vec3b>(y, x) == photo.at<cv::Vec3b>(y, x);
        if (in_photo.at<uchar>(y, x) == 0) {
          ASSERT_TRUE(same) << "poisson " << poisson << " at " << x << "," << y;
          ++outside;
        } else if (!same) {
          ++changed_inside;
        }
      }
    EXPECT_GT(outside, 30000);
    EXPECT_GT(changed_inside, 3000) << "poisson " << poisson;
  }
}

TEST(Fuse, ReframedQuadKeepsOrientation) {
  face::AlignmentQuad q;
  q.corners = {cv::Point2d(10, 10), cv::Point2d(10, 110), cv::Point2d(110, 110), cv::Point2d(110, 10)};
  const auto same = face::reframe_quad(q, 1.0, 0.0);
  for (int i = 0; i < 4; ++i) EXPECT_LT(cv::norm(same.corners[i] - q.corners[i]), 1e-12);
  const auto r = face::reframe_quad(q, 0.5, 0.1);  // half the side, centre 10 px towards the chin
  EXPECT_NEAR(r.side(), 50.0, 1e-9);
  EXPECT_LT(cv::norm(r.corners[0] - cv::Point2d(35, 45)), 1e-9);
  EXPECT_LT(cv::norm(r.corners[2] - cv::Point2d(85, 95)), 1e-9);
}

// add_change: the crop plus the network's change (closed form), resized to the crop; replace pastes
// the network's face.
TEST(AddChange, AddsTheChangeOrReplaces) {
  const cv::Mat crop(16, 16, CV_8UC3, cv::Scalar(100, 50, 200));
  const auto rec = torch::zeros({1, 3, 8, 8});
  EXPECT_EQ(cv::norm(face::add_change(crop, rec, rec, false), crop, cv::NORM_INF), 0);  // no change: the crop, bit for bit
  const cv::Mat up = face::add_change(crop, rec, rec + 2.0 / 127.5, false);             // +2 levels everywhere
  EXPECT_EQ(cv::norm(up, cv::Mat(16, 16, CV_8UC3, cv::Scalar(102, 52, 202)), cv::NORM_INF), 0);
  const cv::Mat face = face::add_change(crop, rec, torch::full({1, 3, 8, 8}, -1.0), true);  // black face
  EXPECT_EQ(face.size(), crop.size());
  EXPECT_EQ(cv::norm(face, cv::NORM_INF), 0);
}
