// dlib lives in this file only, compiled without the LibTorch precompiled header: dlib and LibTorch
// headers in one translation unit clash, and dlib's types stay out of the public header.
#include <dlib/image_processing/frontal_face_detector.h>
#include <dlib/image_processing/shape_predictor.h>
#include <dlib/opencv/cv_image.h>
#include <opencv2/imgproc.hpp>
#include <opencv2/objdetect.hpp>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "faceedit/error.h"
#include "faceedit/face/align.h"

namespace faceedit::face {

struct FaceDetector::Impl {
  dlib::frontal_face_detector hog;  // never run directly: detect() runs copies (it is not const-safe)
  dlib::shape_predictor landmarks;  // const operator(): shared by all threads
  std::string cascade_path;         // OpenCV's Haar cascade, the last resort ("" when absent)
};

namespace {

constexpr const char* kDebianPath = "/usr/share/dlib/shape_predictor_68_face_landmarks.dat";
// Debian's opencv-data: Viola-Jones finds some faces HOG misses (hands over the mouth, hair over an
// eye, a cut-off chin) on frame-filling crops.
constexpr const char* kCascadePath = "/usr/share/opencv4/haarcascades/haarcascade_frontalface_alt2.xml";
constexpr const char* kOrigin =
    " (dlib's 68-point landmark model, shape_predictor_68_face_landmarks.dat, comes from Debian's "
    "libdlib-data package: apt-get install libdlib-data, or point $FACEEDIT_DLIB_LANDMARKS at a copy)";

cv::Mat to_bgr(const cv::Mat& photo) {
  if (photo.empty()) fail("face detection", "empty image");
  if (photo.depth() != CV_8U) fail("face detection", "8-bit image expected");
  if (photo.channels() == 3) return photo;
  cv::Mat bgr;
  if (photo.channels() == 1)
    cv::cvtColor(photo, bgr, cv::COLOR_GRAY2BGR);
  else if (photo.channels() == 4)
    cv::cvtColor(photo, bgr, cv::COLOR_BGRA2BGR);
  else
    fail("face detection", "image with " + std::to_string(photo.channels()) + " channels (1, 3 or 4 expected)");
  return bgr;
}

}  // namespace

std::string FaceDetector::default_landmarks_path() {
  const char* env = std::getenv("FACEEDIT_DLIB_LANDMARKS");
  return env && *env ? env : kDebianPath;
}

FaceDetector::FaceDetector(const std::string& landmarks_path, Options options)
    : impl_(std::make_unique<Impl>()), path_(landmarks_path.empty() ? default_landmarks_path() : landmarks_path), options_(options) {
  if (options_.detect_pixels < 80 * 80) fail("face detector", "detect_pixels " + std::to_string(options_.detect_pixels) + " is below dlib's 80x80 window");
  if (!std::filesystem::is_regular_file(path_)) fail(path_, std::string("landmark model not found") + kOrigin);
  impl_->hog = dlib::get_frontal_face_detector();
  if (std::filesystem::is_regular_file(kCascadePath)) impl_->cascade_path = kCascadePath;
  try {
    dlib::deserialize(path_) >> impl_->landmarks;
  } catch (const std::bad_alloc&) {
    fail(path_, std::string("corrupt landmark model (absurd sizes inside)") + kOrigin);
  } catch (const std::exception& e) {
    std::string why = e.what();
    while (!why.empty() && std::isspace(static_cast<unsigned char>(why.back()))) why.pop_back();
    fail(path_, "corrupt or truncated landmark model (" + why + ")" + kOrigin);
  }
  if (impl_->landmarks.num_parts() != 68)
    fail(path_, "landmark model with " + std::to_string(impl_->landmarks.num_parts()) + " points, 68 expected" + kOrigin);
}

FaceDetector::~FaceDetector() = default;
FaceDetector::FaceDetector(FaceDetector&&) noexcept = default;
FaceDetector& FaceDetector::operator=(FaceDetector&&) noexcept = default;

namespace {

// HOG search of `photo` at `passes` scales from `base` down; boxes in `photo` pixels with confidences.
std::vector<std::pair<cv::Rect, double>> hog_boxes(const dlib::frontal_face_detector& detector, const cv::Mat& photo, double base,
                                                   int passes, double threshold) {
  dlib::frontal_face_detector hog = detector;  // private copy: the detector keeps per-image state
  // A pass at scale * (5/6)^(i/passes) fills in between the levels of dlib's 5/6 pyramid, where a
  // weak face can fall below the threshold.
  std::vector<std::pair<cv::Rect, double>> boxes;
  for (int pass = 0; pass < passes; ++pass) {
    const double scale = base * std::pow(5.0 / 6.0, double(pass) / passes);
    cv::Mat small = photo;
    if (std::abs(scale - 1.0) > 1e-3)
      cv::resize(photo, small, cv::Size(), scale, scale, scale < 1 ? cv::INTER_AREA : cv::INTER_LINEAR);
    if (!small.isContinuous()) small = small.clone();
    std::vector<dlib::rect_detection> found;
    hog(dlib::cv_image<dlib::bgr_pixel>(small), found, threshold);
    // Detector pixel centre x is photo pixel (x + 0.5) / scale - 0.5.
    auto back = [&](long v) { return static_cast<int>(std::lround((v + 0.5) / scale - 0.5)); };
    for (const auto& d : found) {
      const cv::Rect r(cv::Point(back(d.rect.left()), back(d.rect.top())), cv::Point(back(d.rect.right()) + 1, back(d.rect.bottom()) + 1));
      boxes.emplace_back(r, d.detection_confidence);
    }
  }
  return boxes;
}

}  // namespace

std::vector<DetectedFace> FaceDetector::detect(const cv::Mat& photo_in) const {
  const cv::Mat photo = to_bgr(photo_in);
  const int passes = std::max(1, options_.scale_passes);
  auto base_scale = [&](const cv::Mat& img) {
    return std::min(options_.max_upsample, std::sqrt(double(options_.detect_pixels) / (double(img.cols) * img.rows)));
  };
  cv::Mat searched = photo;  // where the landmarks are fitted (the padded photo when the fallback found the face)
  cv::Point offset(0, 0);
  auto boxes = hog_boxes(impl_->hog, photo, base_scale(photo), passes, options_.threshold);
  if (boxes.empty()) {
    // A face that fills the frame (an aligned crop, a close-up) leaves HOG's window no context at the
    // edges: search again with a border of the edge pixels, 25% of the side all round.
    const int pad = std::max(8, static_cast<int>(0.25 * std::max(photo.cols, photo.rows)));
    cv::copyMakeBorder(photo, searched, pad, pad, pad, pad, cv::BORDER_REPLICATE);
    offset = {pad, pad};
    boxes = hog_boxes(impl_->hog, searched, base_scale(searched), passes, options_.threshold);
  }
  if (boxes.empty() && !impl_->cascade_path.empty()) {
    // cv::CascadeClassifier is not const-safe: one per call (loading takes ~20 ms).
    cv::CascadeClassifier cascade(impl_->cascade_path);
    cv::Mat grey;
    const double scale = std::min(1.0, 640.0 / std::max(searched.cols, searched.rows));
    cv::resize(searched, grey, cv::Size(), scale, scale, cv::INTER_AREA);
    cv::cvtColor(grey, grey, cv::COLOR_BGR2GRAY);
    cv::equalizeHist(grey, grey);
    std::vector<cv::Rect> found;
    std::vector<int> levels;
    std::vector<double> weights;
    cascade.detectMultiScale(grey, found, levels, weights, 1.05, 5, 0, cv::Size(48, 48), cv::Size(), true);
    for (size_t i = 0; i < found.size(); ++i) {
      const auto& r = found[i];
      // Haar boxes reach higher (forehead) than dlib's: move it towards dlib's framing for the landmarks.
      const cv::Rect box(cvRound(r.x / scale + 0.05 * r.width / scale), cvRound((r.y + 0.12 * r.height) / scale),
                         cvRound(0.9 * r.width / scale), cvRound(0.9 * r.height / scale));
      boxes.emplace_back(box, i < weights.size() ? weights[i] * 1e-3 : 1e-3);  // below any HOG score
    }
  }
  // One box per face: the passes find most faces twice.
  std::sort(boxes.begin(), boxes.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  std::vector<std::pair<cv::Rect, double>> kept;
  for (const auto& b : boxes) {
    const bool duplicate = std::any_of(kept.begin(), kept.end(), [&](const auto& k) {
      return (k.first & b.first).area() > 0.5 * std::min(k.first.area(), b.first.area());
    });
    if (!duplicate) kept.push_back(b);
  }

  const cv::Mat full = searched.isContinuous() ? searched : searched.clone();
  const dlib::cv_image<dlib::bgr_pixel> full_image(full);
  std::vector<DetectedFace> faces;
  for (const auto& [box, score] : kept) {
    const dlib::rectangle r(box.x, box.y, box.x + box.width - 1, box.y + box.height - 1);
    const dlib::full_object_detection shape = impl_->landmarks(full_image, r);
    DetectedFace face;
    face.box = box - offset;
    face.score = score;
    for (unsigned i = 0; i < 68; ++i)
      face.landmarks[i] = cv::Point2f(float(shape.part(i).x() - offset.x), float(shape.part(i).y() - offset.y));
    faces.push_back(face);
  }
  std::stable_sort(faces.begin(), faces.end(), [](const DetectedFace& a, const DetectedFace& b) { return a.box.area() > b.box.area(); });
  return faces;
}

}  // namespace faceedit::face
