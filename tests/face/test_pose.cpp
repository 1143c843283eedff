#include <gtest/gtest.h>

#include <opencv2/calib3d.hpp>
#include <opencv2/imgproc.hpp>

#include <array>
#include <cmath>
#include <filesystem>
#include <limits>

#include "faceedit/error.h"
#include "faceedit/io/image.h"
#include "faceedit/face/pose.h"
#include "test_support.h"

using namespace faceedit;
using namespace faceedit::face;
namespace fs = std::filesystem;

namespace {

// A 68-point head in the 6-point model's usual frame (x towards the image's right for a frontal face,
// y up, z out of the face towards the viewer). The six points pose.cpp uses (30, 8, 36, 45, 48, 54)
// are the model's exact values; the other 62 only need to look like a face.
std::array<cv::Point3d, 68> head_model() {
  std::array<cv::Point3d, 68> p;
  for (int i = 0; i <= 16; ++i) {  // jaw, from the image's left ear to the right one through the chin
    const double t = M_PI * i / 16;
    p[i] = {-400 * std::cos(t), 100 - 430 * std::sin(t), -65 - 335 * std::cos(t) * std::cos(t)};
  }
  for (int i = 0; i < 5; ++i) {  // brows
    p[17 + i] = {-300 + 60.0 * i, 250, -110};
    p[22 + i] = {60 + 60.0 * i, 250, -110};
  }
  for (int i = 0; i < 4; ++i) p[27 + i] = {0, 170 - 170 * i / 3.0, -130 + 130 * i / 3.0};  // bridge to tip
  for (int i = 0; i < 5; ++i) p[31 + i] = {-80 + 40.0 * i, -40, -70};                        // nostrils
  const cv::Point3d eye_shape[6] = {{-75, 0, 0}, {-25, 20, 5}, {25, 20, 5}, {75, 0, 5}, {25, -20, 5}, {-25, -20, 5}};
  for (int i = 0; i < 6; ++i) p[36 + i] = cv::Point3d(-150, 170, -135) + eye_shape[i];  // 36 outer corner, 39 inner
  // The other eye mirrors it: 42 inner corner, 43-44 upper lid, 45 outer corner, 46-47 lower lid.
  const int mirror_of[6] = {39, 38, 37, 36, 41, 40};
  for (int i = 0; i < 6; ++i) p[42 + i] = {-p[mirror_of[i]].x, p[mirror_of[i]].y, p[mirror_of[i]].z};
  for (int i = 0; i < 12; ++i) {  // outer lip, 48 (image-left corner) clockwise through the top
    const double t = M_PI - 2 * M_PI * i / 12;
    p[48 + i] = {150 * std::cos(t), -150 + 50 * std::sin(t), -125 + 20 * std::sin(std::abs(t))};
  }
  for (int i = 0; i < 8; ++i) {  // inner lip
    const double t = M_PI - 2 * M_PI * i / 8;
    p[60 + i] = {100 * std::cos(t), -150 + 15 * std::sin(t), -115};
  }
  // The six fitted points, exactly as the model states them.
  p[30] = {0, 0, 0}, p[8] = {0, -330, -65}, p[36] = {-225, 170, -135}, p[45] = {225, 170, -135};
  p[48] = {-150, -150, -125}, p[54] = {150, -150, -125};
  return p;
}

cv::Matx33d turn(double x, double y, double z) {  // axis-angle, degrees
  cv::Matx33d r;
  cv::Rodrigues(cv::Vec3d(x, y, z) * (M_PI / 180), r);
  return r;
}

// The model-to-camera rotation of a head with the header's yaw/pitch/roll, built from the convention's
// words rather than from pose.cpp's formulas (the sign checks below confirm the words): in camera
// axes (x right, y down, z into the scene) the face looks along -z when frontal; yaw turns it about
// the vertical axis so that the nose moves right, pitch about the horizontal axis so that it moves up,
// roll about the viewing axis clockwise on screen. diag(1, -1, -1) turns the model's y-up, z-out
// frame into those axes at the frontal pose.
cv::Matx33d head_rotation(double yaw, double pitch, double roll) {
  return turn(0, -yaw, 0) * turn(-pitch, 0, 0) * turn(0, 0, roll) * cv::Matx33d(1, 0, 0, 0, -1, 0, 0, 0, -1);
}

// dlib-style landmarks of the model head at that pose, `distance` model units in front of a camera
// with focal length `focal` (0: image width) and the principal point at the image centre, shifted by
// `offset` (model units) from the optical axis.
Landmarks project(double yaw, double pitch, double roll, cv::Size size, double distance = 2400,
                  cv::Point2d offset = {40, -30}, double focal = 0) {
  const auto model = head_model();
  const std::vector<cv::Point3d> points(model.begin(), model.end());
  const double f = focal > 0 ? focal : size.width;
  const cv::Matx33d k(f, 0, (size.width - 1) / 2.0, 0, f, (size.height - 1) / 2.0, 0, 0, 1);
  cv::Vec3d rvec;
  cv::Rodrigues(head_rotation(yaw, pitch, roll), rvec);
  std::vector<cv::Point2d> image;
  cv::projectPoints(points, rvec, cv::Vec3d(offset.x, offset.y, distance), k, cv::noArray(), image);
  Landmarks lm;
  for (int i = 0; i < 68; ++i) lm[i] = cv::Point2f(float(image[i].x), float(image[i].y));
  return lm;
}

double nose_right_of_eyes(const Landmarks& lm) { return lm[30].x - (lm[36].x + lm[45].x) / 2; }
double nose_below_features(const Landmarks& lm) { return lm[30].y - (lm[36].y + lm[45].y + lm[48].y + lm[54].y) / 4; }


cv::Mat mirrored(const cv::Mat& image) {
  cv::Mat out;
  cv::flip(image, out, 1);
  return out;
}

}  // namespace

TEST(HeadPose, RecoversKnownYawAndPitch) {
  const cv::Size size(512, 384);  // not square: the principal point is (255.5, 191.5)
  for (double pitch : {-15.0, 0.0, 15.0}) {
    for (double yaw : {-30.0, -15.0, 0.0, 15.0, 30.0}) {
      SCOPED_TRACE("yaw " + std::to_string(yaw) + " pitch " + std::to_string(pitch));
      const Landmarks lm = project(yaw, pitch, 0, size);
      // The construction matches the documented convention, judged from the picture alone: yaw > 0
      // puts the nose right of the eyes' midpoint; pitch > 0 lifts it towards the eyes.
      if (yaw != 0) {
        EXPECT_EQ(nose_right_of_eyes(lm) > 0, yaw > 0);
      }
      if (pitch != 0) {
        const Landmarks level = project(yaw, 0, 0, size);
        EXPECT_EQ(nose_below_features(lm) < nose_below_features(level), pitch > 0);
      }

      const HeadPose pose = head_pose_from_landmarks(lm, size);
      ASSERT_TRUE(pose.found);
      EXPECT_NEAR(pose.yaw, yaw, 0.05);
      EXPECT_NEAR(pose.pitch, pitch, 0.05);
      EXPECT_NEAR(pose.roll, 0.0, 0.05);
    }
  }
}

TEST(HeadPose, RollAndLargeCombinedTurns) {
  const cv::Size size(400, 400);
  const Landmarks tilted = project(0, 0, 10, size);
  EXPECT_GT(tilted[45].y, tilted[36].y);  // roll > 0: the eye on the image's right is lower
  HeadPose pose = head_pose_from_landmarks(tilted, size);
  ASSERT_TRUE(pose.found);
  EXPECT_NEAR(pose.roll, 10, 0.05);
  EXPECT_NEAR(pose.yaw, 0, 0.05);
  EXPECT_NEAR(pose.pitch, 0, 0.05);

  for (const cv::Vec3d& ypr : {cv::Vec3d(25, -10, 12), cv::Vec3d(-50, 20, -8), cv::Vec3d(60, 0, 0), cv::Vec3d(-10, -35, 5)}) {
    SCOPED_TRACE("yaw/pitch/roll " + std::to_string(ypr[0]) + " " + std::to_string(ypr[1]) + " " + std::to_string(ypr[2]));
    pose = head_pose_from_landmarks(project(ypr[0], ypr[1], ypr[2], size), size);
    ASSERT_TRUE(pose.found);
    EXPECT_NEAR(pose.yaw, ypr[0], 0.05);
    EXPECT_NEAR(pose.pitch, ypr[1], 0.05);
    EXPECT_NEAR(pose.roll, ypr[2], 0.05);
  }
}

TEST(HeadPose, UsesOnlyItsSixLandmarksAndTheGivenFocalLength) {
  const cv::Size size(300, 300);
  Landmarks lm = project(20, -12, 0, size, 3000, {0, 0}, 900);  // a long lens
  for (int i = 0; i < 68; ++i)
    if (i != 30 && i != 8 && i != 36 && i != 45 && i != 48 && i != 54) lm[i] = cv::Point2f(1000, -1000);
  const HeadPose pose = head_pose_from_landmarks(lm, size, 900);
  ASSERT_TRUE(pose.found);
  EXPECT_NEAR(pose.yaw, 20, 0.05);
  EXPECT_NEAR(pose.pitch, -12, 0.05);
  // Assuming the default camera (focal = width, 3x shorter) changes the answer but not its signs.
  const HeadPose wide = head_pose_from_landmarks(lm, size);
  ASSERT_TRUE(wide.found);
  EXPECT_GT(wide.yaw, 0);
  EXPECT_LT(wide.pitch, 0);

  EXPECT_NE(test::error_of([&] { head_pose_from_landmarks(lm, size, -1); }), "(no error)");
  EXPECT_NE(test::error_of([&] { head_pose_from_landmarks(lm, cv::Size(0, 10)); }), "(no error)");
}

TEST(HeadPose, DegenerateLandmarksAreNotFound) {
  const cv::Size size(256, 256);
  Landmarks zeros;
  zeros.fill(cv::Point2f(0, 0));
  HeadPose pose = head_pose_from_landmarks(zeros, size);
  EXPECT_FALSE(pose.found);
  EXPECT_TRUE(std::isnan(pose.yaw) && std::isnan(pose.pitch) && std::isnan(pose.roll));

  Landmarks lm = project(0, 0, 0, size);
  lm[30].x = std::numeric_limits<float>::quiet_NaN();
  EXPECT_FALSE(head_pose_from_landmarks(lm, size).found);
}

TEST(HeadPose, RealPhotosFrontalAndMirrored) {
  FACEEDIT_REQUIRE_LANDMARK_MODEL();
  FACEEDIT_REQUIRE_SHARED(dir, "data/celebahq-photos");
  // Near-frontal faces (yaw within ~6 degrees by this estimator), and one clearly turned towards the
  // image's right (000030: nose pointing right, ~24 degrees).
  for (const char* name : {"000121.jpg", "000147.jpg", "000151.jpg", "000030.jpg"}) {
    SCOPED_TRACE(name);
    const fs::path path = fs::path(dir) / name;
    if (!fs::exists(path)) GTEST_SKIP() << path << " absent";
    const cv::Mat photo = io::read_image(path.string());
    const HeadPose pose = estimate_head_pose(test::face_detector(), photo);
    const HeadPose flipped = estimate_head_pose(test::face_detector(), mirrored(photo));
    ASSERT_TRUE(pose.found && flipped.found);
    if (std::string(name) == "000030.jpg") {
      EXPECT_GT(pose.yaw, 10);
      EXPECT_LT(flipped.yaw, -10);
    } else {
      EXPECT_LT(std::abs(pose.yaw), 20);
    }
    EXPECT_LT(pose.yaw * flipped.yaw, 0) << "yaw " << pose.yaw << ", mirrored " << flipped.yaw;
    EXPECT_LT(std::abs(pose.yaw + flipped.yaw), 5) << "yaw " << pose.yaw << ", mirrored " << flipped.yaw;
    EXPECT_NEAR(pose.pitch, flipped.pitch, 5);
    EXPECT_LT(std::abs(pose.roll + flipped.roll), 5);
  }
  // No face, no pose.
  EXPECT_FALSE(estimate_head_pose(test::face_detector(), cv::Mat(300, 300, CV_8UC3, cv::Scalar::all(128))).found);
}

TEST(PoseScorer, ScoresFacesAndGivesNaNWithoutOne) {
  FACEEDIT_REQUIRE_LANDMARK_MODEL();
  FACEEDIT_REQUIRE_SHARED(path, "data/celebahq-photos/000030.jpg");
  const cv::Mat photo = io::read_image(path);
  const HeadPose full = estimate_head_pose(test::face_detector(), photo);
  ASSERT_TRUE(full.found);
  cv::Mat small;
  cv::resize(photo, small, cv::Size(64, 64), 0, 0, cv::INTER_AREA);  // upscaled again inside the scorer
  const torch::Tensor face = io::image_to_tensor(small);
  const torch::Tensor grey = torch::zeros({1, 3, 64, 64});
  const torch::Tensor batch = torch::cat({face, grey}).requires_grad_(true);

  PoseScorer scorer;
  EXPECT_EQ(scorer.name(), "pose");
  ASSERT_EQ(scorer.columns().size(), 2u);
  EXPECT_EQ(scorer.columns()[0].name, "yaw");
  EXPECT_EQ(scorer.columns()[1].name, "pitch");
  for (const auto& c : scorer.columns()) EXPECT_EQ(c.kind, models::ColumnKind::Value);
  EXPECT_EQ(scorer.column("pitch"), 1);

  const torch::Tensor scores = scorer.predict(batch);
  ASSERT_EQ(scores.sizes(), torch::IntArrayRef({2, 2}));
  EXPECT_EQ(scores.scalar_type(), torch::kFloat32);
  EXPECT_FALSE(scores.requires_grad());  // a score, not a guide: no gradient flows
  const float yaw = scores[0][0].item<float>(), pitch = scores[0][1].item<float>();
  EXPECT_TRUE(std::isfinite(yaw) && std::isfinite(pitch));
  EXPECT_GT(yaw, 10);                 // still turned towards the image's right at 64 px
  EXPECT_NEAR(yaw, full.yaw, 8);      // and about as much as in the full photo (same framing)
  EXPECT_NEAR(pitch, full.pitch, 8);
  EXPECT_TRUE(std::isnan(scores[1][0].item<float>()) && std::isnan(scores[1][1].item<float>()));

  // logits() are the values themselves (Value columns), NaN included.
  const torch::Tensor logits = scorer.logits(batch);
  EXPECT_TRUE(torch::allclose(logits, scores, 0, 0, /*equal_nan=*/true));
  scorer.to(torch::kCPU);  // no-op

  // One mirrored face: yaw changes sign.
  const torch::Tensor flipped = scorer.predict(face.flip({3}));
  EXPECT_LT(flipped[0][0].item<float>(), -10);
}
