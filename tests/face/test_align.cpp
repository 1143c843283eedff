#include <gtest/gtest.h>

#include <opencv2/imgproc.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <thread>

#include "faceedit/error.h"
#include "faceedit/eval/classifier_agreement.h"
#include "faceedit/io/image.h"
#include "faceedit/face/align.h"
#include "test_support.h"

using namespace faceedit;
using namespace faceedit::face;
namespace fs = std::filesystem;

namespace {

// Landmarks with the given eye centres (36-41, 42-47, spread symmetrically) and mouth corners (48, 54).
Landmarks synthetic_landmarks(cv::Point2f eye_l, cv::Point2f eye_r, cv::Point2f mouth_l, cv::Point2f mouth_r) {
  Landmarks lm;
  lm.fill(cv::Point2f(1000, -1000));  // unused points must not matter
  const cv::Point2f spread[6] = {{-3, 0}, {-1, -1}, {1, -1}, {3, 0}, {1, 1}, {-1, 1}};
  for (int i = 0; i < 6; ++i) lm[36 + i] = eye_l + spread[i], lm[42 + i] = eye_r + spread[i];
  lm[48] = mouth_l, lm[54] = mouth_r;
  return lm;
}

void expect_quad(const AlignmentQuad& q, const std::array<cv::Point2d, 4>& want, double tol) {
  for (int i = 0; i < 4; ++i) {
    EXPECT_NEAR(q.corners[i].x, want[i].x, tol) << "corner " << i;
    EXPECT_NEAR(q.corners[i].y, want[i].y, tol) << "corner " << i;
  }
}

void expect_square(const AlignmentQuad& q) {
  const auto& c = q.corners;
  const double side = q.side();
  for (int i = 0; i < 4; ++i) {
    const cv::Point2d e = c[(i + 1) % 4] - c[i], f = c[(i + 2) % 4] - c[(i + 1) % 4];
    EXPECT_NEAR(cv::norm(e), side, 1e-6 * side);
    EXPECT_NEAR(e.dot(f) / (side * side), 0.0, 1e-6);  // right angle
  }
}

cv::Point2d apply(const cv::Matx23d& m, cv::Point2d p) {
  return {m(0, 0) * p.x + m(0, 1) * p.y + m(0, 2), m(1, 0) * p.x + m(1, 1) * p.y + m(1, 2)};
}

// Intensity-weighted centroid of a grey blob on black (first channel).
cv::Point2d centroid(const cv::Mat& bgr) {
  cv::Mat ch;
  cv::extractChannel(bgr, ch, 0);
  const cv::Moments m = cv::moments(ch);
  return {m.m10 / m.m00, m.m01 / m.m00};
}

cv::Mat blob_image(cv::Size size, cv::Point2d at, double sigma) {
  cv::Mat img(size, CV_8UC3, cv::Scalar::all(0));
  for (int y = 0; y < size.height; ++y)
    for (int x = 0; x < size.width; ++x) {
      const double d2 = (x - at.x) * (x - at.x) + (y - at.y) * (y - at.y);
      img.at<cv::Vec3b>(y, x) = cv::Vec3b::all(cv::saturate_cast<uchar>(255 * std::exp(-d2 / (2 * sigma * sigma))));
    }
  return img;
}

double mae_255(const cv::Mat& a, const cv::Mat& b) { return cv::norm(a, b, cv::NORM_L1) / double(a.total() * a.channels()); }


std::vector<std::string> celebahq_photos() {
  std::vector<std::string> out;
  const std::string dir = test::shared_file("data/celebahq-photos");
  if (dir.empty()) return out;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == ".jpg") out.push_back(e.path().string());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

TEST(FfhqQuad, ClosedForm) {
  // eye_to_eye (20, 0), eye_to_mouth (0, 30): x = (50, 0) -> unit, times max(40, 54); c = (50, 53).
  expect_quad(ffhq_quad(synthetic_landmarks({40, 50}, {60, 50}, {42, 80}, {58, 80})),
              {cv::Point2d(-4, -1), cv::Point2d(-4, 107), cv::Point2d(104, 107), cv::Point2d(104, -1)}, 1e-9);
  // Wide-set eyes: eye_to_eye (40, 0), eye_to_mouth (0, 10): scale max(80, 18); c = (50, 51).
  expect_quad(ffhq_quad(synthetic_landmarks({30, 50}, {70, 50}, {45, 60}, {55, 60})),
              {cv::Point2d(-30, -29), cv::Point2d(-30, 131), cv::Point2d(130, 131), cv::Point2d(130, -29)}, 1e-9);
}

TEST(FfhqQuad, RotatesWithTheFaceAndIsSquare) {
  const double a = 0.4;
  const cv::Point2d pivot(17, -5);
  auto rot = [&](cv::Point2d p) {
    const cv::Point2d d = p - pivot;
    return pivot + cv::Point2d(std::cos(a) * d.x - std::sin(a) * d.y, std::sin(a) * d.x + std::cos(a) * d.y);
  };
  auto rotf = [&](cv::Point2f p) { const cv::Point2d r = rot(cv::Point2d(p)); return cv::Point2f(float(r.x), float(r.y)); };
  const Landmarks upright = synthetic_landmarks({40, 50}, {60, 50}, {42, 80}, {58, 80});
  Landmarks turned;
  for (int i = 0; i < 68; ++i) turned[i] = rotf(upright[i]);
  const AlignmentQuad q = ffhq_quad(turned);
  expect_quad(q, {rot({-4, -1}), rot({-4, 107}), rot({104, 107}), rot({104, -1})}, 1e-4);  // float landmarks
  expect_square(q);
}

TEST(AlignFace, MatricesMapCropCornersToQuadCorners) {
  const Landmarks lm = synthetic_landmarks({300, 410}, {420, 380}, {330, 560}, {440, 530});
  const AlignmentQuad q = ffhq_quad(lm);
  const cv::Mat photo(800, 900, CV_8UC3, cv::Scalar(10, 20, 30));
  for (int size : {1024, 256, 32}) {
    const AlignedFace f = align_face(photo, q, size);
    ASSERT_EQ(f.crop.size(), cv::Size(size, size));
    const double e = size - 0.5;
    const cv::Point2d crop_corners[4] = {{-0.5, -0.5}, {-0.5, e}, {e, e}, {e, -0.5}};
    for (int i = 0; i < 4; ++i) {
      const cv::Point2d p = apply(f.crop_to_photo, crop_corners[i]);
      EXPECT_LT(cv::norm(p - q.corners[i]), 1e-4) << "size " << size << " corner " << i;
      EXPECT_LT(cv::norm(apply(f.photo_to_crop, p) - crop_corners[i]), 1e-4) << "size " << size << " corner " << i;
    }
  }
}

TEST(AlignFace, PixelsLandWhereTheMatricesSay) {
  // A blob at a known photo point must appear at photo_to_crop(point) in the crop, whether the crop
  // enlarges (1024), keeps (~300) or strongly shrinks (32, through the box-filter path) the quad.
  const Landmarks lm = synthetic_landmarks({300, 410}, {370, 390}, {320, 500}, {380, 480});
  const AlignmentQuad q = ffhq_quad(lm);
  const cv::Point2d at(351.3, 447.8);
  const cv::Mat photo = blob_image({800, 900}, at, 6.0);
  for (int size : {1024, 300, 32}) {
    const AlignedFace f = align_face(photo, q, size);
    const cv::Point2d want = apply(f.photo_to_crop, at);
    const cv::Point2d got = centroid(f.crop);
    EXPECT_LT(cv::norm(got - want), 0.02 * std::max(1.0, size / q.side()) + 0.02) << "size " << size << " got " << got << " want " << want;
    // And back: a blob drawn in the crop lands at crop_to_photo(point) in the photo.
    const cv::Point2d in_crop(size * 0.43, size * 0.61);
    const cv::Mat pasted = paste_back(cv::Mat(photo.size(), CV_8UC3, cv::Scalar::all(0)), blob_image({size, size}, in_crop, size / 40.0), f,
                                      cv::Mat(size, size, CV_32FC1, cv::Scalar(1)));
    EXPECT_LT(cv::norm(centroid(pasted) - apply(f.crop_to_photo, in_crop)), 0.05 * std::max(1.0, q.side() / size) + 0.05) << "size " << size;
  }
}

TEST(PasteBack, TouchesOnlyTheQuadFootprint) {
  const AlignmentQuad q = ffhq_quad(synthetic_landmarks({150, 210}, {220, 180}, {170, 300}, {230, 280}));
  const cv::Mat photo(400, 450, CV_8UC3, cv::Scalar::all(0));
  for (int size : {256, 32}) {
    const AlignedFace f = align_face(photo, q, size);
    const cv::Mat white(size, size, CV_8UC3, cv::Scalar::all(255));
    const cv::Mat out = paste_back(photo, white, f, cv::Mat(size, size, CV_32FC1, cv::Scalar(1)));
    int inside = 0, changed_inside = 0;
    for (int y = 0; y < out.rows; ++y)
      for (int x = 0; x < out.cols; ++x) {
        const cv::Point2d u = apply(f.photo_to_crop, cv::Point2d(x, y));
        const bool in = u.x >= -0.5 && u.x <= size - 0.5 && u.y >= -0.5 && u.y <= size - 0.5;
        const bool changed = out.at<cv::Vec3b>(y, x) != cv::Vec3b(0, 0, 0);
        if (!in) ASSERT_FALSE(changed) << "pixel (" << x << ", " << y << ") outside the quad was changed";
        inside += in, changed_inside += in && changed;
      }
    EXPECT_EQ(changed_inside, inside) << "every pixel inside the quad receives the crop (mask of ones)";
  }
}

TEST(FaceDetector, OneFacePerCelebAHQPhotoAndExactPasteBack) {
  FACEEDIT_REQUIRE_LANDMARK_MODEL();
  const auto photos = celebahq_photos();
  if (photos.empty()) { FACEEDIT_SHARED_MISSING("data/celebahq-photos"); }
  const int sizes[] = {1024, 256, 64, 32};
  std::map<int, double> mae_sum, mae_max;
  double detect_seconds = 0;
  for (const auto& path : photos) {
    const cv::Mat photo = io::read_image(path);
    const auto t0 = std::chrono::steady_clock::now();
    const auto faces = test::face_detector().detect(photo);
    detect_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    ASSERT_EQ(faces.size(), 1u) << path;
    const AlignmentQuad q = ffhq_quad(faces[0].landmarks);
    expect_square(q);
    for (int size : sizes) {
      const AlignedFace f = align_face(photo, q, size);
      const double mae = mae_255(paste_back(photo, f.crop, f), photo);
      mae_sum[size] += mae;
      mae_max[size] = std::max(mae_max[size], mae);
      if (size == kDefaultAlignSize) EXPECT_LT(mae, 2.0) << path << ": unedited paste-back MAE " << mae << "/255";
    }
  }
  const AlignedFace one = align_single_face(test::face_detector(), io::read_image(photos[0]), 256, photos[0]);
  EXPECT_EQ(one.crop.size(), cv::Size(256, 256));
  std::printf("%zu photos, one face each, detection %.3f s per photo (1024x1024)\n", photos.size(), detect_seconds / photos.size());
  std::printf("paste-back of the unedited crop, MAE over the whole photo (x/255):\n");
  for (int size : sizes) std::printf("  crop %4d: mean %.3f, worst %.3f\n", size, mae_sum[size] / photos.size(), mae_max[size]);
}

TEST(FaceDetector, NoFaceInNoiseOrFlatImages) {
  FACEEDIT_REQUIRE_LANDMARK_MODEL();
  cv::Mat noise(600, 800, CV_8UC3);
  cv::randu(noise, 0, 255);
  EXPECT_TRUE(test::face_detector().detect(noise).empty());
  EXPECT_TRUE(test::face_detector().detect(cv::Mat(480, 640, CV_8UC3, cv::Scalar(120, 130, 140))).empty());
  const std::string msg = test::error_of([&] { align_single_face(test::face_detector(), noise, 256, "noise.png"); });
  EXPECT_NE(msg.find("noise.png: no face found"), std::string::npos) << msg;
}

TEST(FaceDetector, TwoPhotosSideBySideGiveTwoFaces) {
  FACEEDIT_REQUIRE_LANDMARK_MODEL();
  const auto photos = celebahq_photos();
  if (photos.size() < 2) { FACEEDIT_SHARED_MISSING("data/celebahq-photos"); }
  cv::Mat pair;
  cv::hconcat(io::read_image(photos[0]), io::read_image(photos[1]), pair);
  const auto faces = test::face_detector().detect(pair);
  ASSERT_EQ(faces.size(), 2u);
  EXPECT_NE(faces[0].box.x < 1024, faces[1].box.x < 1024) << "one face in each half";
  EXPECT_GE(faces[0].box.area(), faces[1].box.area()) << "largest first";
  for (const auto& f : faces) {
    const bool left = f.box.x < 1024;
    for (const auto& p : f.landmarks) EXPECT_EQ(p.x < 1024, left) << "landmarks stay with their face";
  }
  const std::string msg = test::error_of([&] { align_single_face(pair, 256, "pair.jpg"); });  // process-wide detector
  EXPECT_NE(msg.find("pair.jpg: 2 faces found"), std::string::npos) << msg;
  // Grey and small inputs work too (the small one is upsampled for the detector).
  cv::Mat grey, small;
  cv::cvtColor(io::read_image(photos[0]), grey, cv::COLOR_BGR2GRAY);
  EXPECT_EQ(test::face_detector().detect(grey).size(), 1u);
  cv::resize(io::read_image(photos[0]), small, cv::Size(160, 160), 0, 0, cv::INTER_AREA);
  EXPECT_EQ(test::face_detector().detect(small).size(), 1u);
}

TEST(FaceDetector, ConcurrentDetectCallsAgree) {
  FACEEDIT_REQUIRE_LANDMARK_MODEL();
  const auto photos = celebahq_photos();
  if (photos.size() < 2) { FACEEDIT_SHARED_MISSING("data/celebahq-photos"); }
  const cv::Mat a = io::read_image(photos[0]), b = io::read_image(photos[1]);
  const auto serial_a = test::face_detector().detect(a), serial_b = test::face_detector().detect(b);
  std::vector<DetectedFace> par_a, par_b;
  std::thread t([&] { par_a = test::face_detector().detect(a); });
  par_b = test::face_detector().detect(b);
  t.join();
  ASSERT_EQ(par_a.size(), serial_a.size());
  ASSERT_EQ(par_b.size(), serial_b.size());
  EXPECT_EQ(par_a[0].box, serial_a[0].box);
  EXPECT_EQ(par_b[0].landmarks, serial_b[0].landmarks);
}

TEST(FaceDetector, MissingOrCorruptModelNamed) {
  const std::string missing = (test::temp_dir() / "nope.dat").string();
  std::string msg = test::error_of([&] { FaceDetector d(missing); });
  EXPECT_NE(msg.find(missing), std::string::npos) << msg;
  EXPECT_NE(msg.find("libdlib-data"), std::string::npos) << msg;

  const std::string garbage = (test::temp_dir() / "garbage.dat").string();
  std::ofstream(garbage) << "this is not a dlib model";
  msg = test::error_of([&] { FaceDetector d(garbage); });
  EXPECT_NE(msg.find(garbage + ": corrupt"), std::string::npos) << msg;
  EXPECT_NE(msg.find("libdlib-data"), std::string::npos) << msg;

  const std::string real = FaceDetector::default_landmarks_path();
  if (!fs::exists(real)) GTEST_SKIP() << real << " absent (Debian package libdlib-data)";
  const std::string cut = (test::temp_dir() / "cut.dat").string();
  {
    std::ifstream in(real, std::ios::binary);
    std::vector<char> head(1 << 20);
    in.read(head.data(), head.size());
    std::ofstream(cut, std::ios::binary).write(head.data(), in.gcount());
  }
  msg = test::error_of([&] { FaceDetector d(cut); });
  EXPECT_NE(msg.find(cut + ": corrupt or truncated"), std::string::npos) << msg;
}

// Frame-filling aligned faces (celebahq-256-dev: 256x256 CelebA-HQ crops, the face touching the
// edges) are where dlib's HOG window runs out of context. FACEEDIT_DETECT_ALL=1 checks all 1000
// (at most 0.5% may be missed; by default 100 crops, none).
TEST(FaceDetector, FindsTheFaceOfEveryAlignedCelebAHQCrop) {
  FACEEDIT_REQUIRE_LANDMARK_MODEL();
  FACEEDIT_REQUIRE_SHARED(tar, "data/celebahq-256-dev.tar");
  const char* all = std::getenv("FACEEDIT_DETECT_ALL");
  const auto set = eval::load_labelled_set("celebahq-dev", all && *all == '1' ? 0 : 100);
  int64_t found = 0;
  std::vector<int64_t> missed;
  for (int64_t i = 0; i < set.images.size(0); ++i) {
    const cv::Mat img = io::tensor_to_image(set.images[i]);
    const auto faces = test::face_detector().detect(img);
    if (faces.empty()) missed.push_back(i);
    else ++found;
  }
  std::printf("celebahq-dev: a face found in %lld of %lld aligned crops\n", static_cast<long long>(found),
              static_cast<long long>(set.images.size(0)));
  // Measured on all 1000: dlib's HOG alone 991; + a replicated border 994; + OpenCV's Haar cascade 998.
  // The two left: a hand and a phone over mouth and nose, hair over half the face.
  EXPECT_LE(missed.size() * 200, static_cast<size_t>(set.images.size(0)))
      << missed.size() << " crops without a face, first index " << (missed.empty() ? -1 : missed.front());
}
