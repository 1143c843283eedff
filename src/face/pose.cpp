#include "faceedit/face/pose.h"

#include "faceedit/models/judges.h"

#include <opencv2/calib3d.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <utility>

#include "faceedit/error.h"
#include "faceedit/io/image.h"

namespace faceedit::face {

namespace {

constexpr double kDegrees = 180.0 / M_PI;

// The 6-point head, in the camera's axes at the frontal pose (x to the image's right, y down, z away
// from the camera), so that rotation = identity means frontal. The usual statement of this model
// has y up and z out of the face (nose (0,0,0), chin (0,-330,-65), eye corners (+-225,170,-135),
// mouth corners (+-150,-150,-125)); flipping y and z is a 180-degree turn about x, exactly the turn
// that would otherwise make a frontal face read as yaw or pitch +-180.
constexpr std::array<int, 6> kLandmarkIndex = {30, 8, 36, 45, 48, 54};
const std::array<cv::Point3d, 6> kTemplate = {{
    {0, 0, 0},            // 30 nose tip
    {0, 330, 65},         // 8 chin
    {-225, -170, 135},    // 36 outer corner of the eye on the image's left
    {225, -170, 135},     // 45 outer corner of the eye on the image's right
    {-150, 150, 125},     // 48 mouth corner, image's left
    {150, 150, 125},      // 54 mouth corner, image's right
}};

cv::Matx33d camera_matrix(cv::Size size, double focal_px) {
  const double f = focal_px > 0 ? focal_px : size.width;
  return {f, 0, (size.width - 1) / 2.0, 0, f, (size.height - 1) / 2.0, 0, 0, 1};
}

double rms_reprojection(const std::vector<cv::Point3d>& object, const std::vector<cv::Point2d>& image, const cv::Matx33d& k,
                        const cv::Vec3d& rvec, const cv::Vec3d& tvec) {
  std::vector<cv::Point2d> projected;
  cv::projectPoints(object, rvec, tvec, k, cv::noArray(), projected);
  double sum = 0;
  for (size_t i = 0; i < image.size(); ++i) {
    const cv::Point2d d = projected[i] - image[i];
    sum += d.dot(d);
  }
  return std::sqrt(sum / double(image.size()));
}

// Yaw-pitch-roll of a model-to-camera rotation, as the header defines them.
HeadPose angles_of(const cv::Matx33d& r) {
  // Where the face points: the template's forward direction (0, 0, -1), rotated.
  const cv::Vec3d d(-r(0, 2), -r(1, 2), -r(2, 2));
  HeadPose pose;
  pose.yaw = std::atan2(d[0], -d[2]);
  pose.pitch = std::atan2(-d[1], std::hypot(d[0], d[2]));
  // rotation = Ry(-yaw) * Rx(-pitch) * Rz(roll): what is left after undoing yaw and pitch turns
  // about the forward axis only.
  const double cy = std::cos(pose.yaw), sy = std::sin(pose.yaw), cp = std::cos(pose.pitch), sp = std::sin(pose.pitch);
  const cv::Matx33d ry(cy, 0, -sy, 0, 1, 0, sy, 0, cy);   // Ry(-yaw)
  const cv::Matx33d rx(1, 0, 0, 0, cp, sp, 0, -sp, cp);   // Rx(-pitch)
  const cv::Matx33d rz = (ry * rx).t() * r;
  pose.roll = std::atan2(rz(1, 0), rz(0, 0));
  pose.yaw *= kDegrees, pose.pitch *= kDegrees, pose.roll *= kDegrees;
  pose.found = true;
  return pose;
}

}  // namespace

HeadPose head_pose_from_landmarks(const Landmarks& landmarks, cv::Size image_size, double focal_px) {
  if (image_size.width <= 0 || image_size.height <= 0) fail("head pose", "empty image size");
  if (!(focal_px >= 0) || !std::isfinite(focal_px)) fail("head pose", "focal length " + std::to_string(focal_px) + " px (0 = the image width) is negative or not finite");
  std::vector<cv::Point2d> image;
  std::vector<cv::Point3d> object(kTemplate.begin(), kTemplate.end());
  for (int i : kLandmarkIndex) {
    const cv::Point2d p(landmarks[i].x, landmarks[i].y);
    if (!std::isfinite(p.x) || !std::isfinite(p.y)) return {};
    image.push_back(p);
  }
  const double eye_px = cv::norm(image[3] - image[2]);
  if (eye_px < 2) return {};
  const cv::Matx33d k = camera_matrix(image_size, focal_px);
  const double f = k(0, 0);

  // Two fits, the better kept: Levenberg-Marquardt from the frontal pose at the distance the eye
  // corners imply (right for all but extreme poses), and SQPnP (a global solver) refined the same
  // way, which cannot be trapped in a local minimum of a far-from-frontal face.
  struct Fit {
    cv::Vec3d rvec, tvec;
    double error = std::numeric_limits<double>::infinity();
  };
  std::vector<Fit> fits;
  try {
    Fit guess;
    const double z = f * 450.0 / eye_px;  // the template's eye corners are 450 units apart
    guess.tvec = cv::Vec3d((image[0].x - k(0, 2)) * z / f, (image[0].y - k(1, 2)) * z / f, z);
    if (cv::solvePnP(object, image, k, cv::noArray(), guess.rvec, guess.tvec, true, cv::SOLVEPNP_ITERATIVE)) fits.push_back(guess);
  } catch (const cv::Exception&) {
  }
  try {
    Fit global;
    if (cv::solvePnP(object, image, k, cv::noArray(), global.rvec, global.tvec, false, cv::SOLVEPNP_SQPNP)) {
      cv::solvePnPRefineLM(object, image, k, cv::noArray(), global.rvec, global.tvec);
      fits.push_back(global);
    }
  } catch (const cv::Exception&) {
  }
  const Fit* best = nullptr;
  for (Fit& fit : fits) {
    bool finite = fit.tvec[2] > 0;  // a head behind the camera is no answer
    for (int i = 0; i < 3; ++i) finite = finite && std::isfinite(fit.rvec[i]) && std::isfinite(fit.tvec[i]);
    if (!finite) continue;
    fit.error = rms_reprojection(object, image, k, fit.rvec, fit.tvec);
    if (!best || fit.error < best->error) best = &fit;
  }
  if (!best) return {};
  cv::Matx33d r;
  cv::Rodrigues(best->rvec, r);
  return angles_of(r);
}

HeadPose estimate_head_pose(const FaceDetector& detector, const cv::Mat& bgr_or_rgb_image) {
  const std::vector<DetectedFace> faces = detector.detect(bgr_or_rgb_image);
  if (faces.empty()) return {};
  return head_pose_from_landmarks(faces[0].landmarks, bgr_or_rgb_image.size());
}

namespace {

FaceDetectorOptions scorer_detector_options(const PoseScorerOptions& o) {
  if (o.min_side < 80) fail("pose scorer", "min_side " + std::to_string(o.min_side) + " is below dlib's 80 px window");
  if (!(o.pad >= 0 && o.pad <= 2)) fail("pose scorer", "pad " + std::to_string(o.pad) + " outside [0, 2]");
  if (!(o.focal > 0) || !std::isfinite(o.focal)) fail("pose scorer", "focal " + std::to_string(o.focal) + " (image widths) is not a positive number");
  FaceDetectorOptions d;
  // Search the padded min_side image at its own scale: faces from 80 px to the whole image.
  const double side = o.min_side * (1 + 2 * o.pad);
  d.detect_pixels = static_cast<int64_t>(side * side);
  d.max_upsample = 1.0;
  d.threshold = o.detection_threshold;
  return d;
}

}  // namespace

PoseScorer::PoseScorer(PoseScorerOptions options)
    : options_(std::move(options)),
      detector_(options_.landmarks_path, scorer_detector_options(options_)),
      columns_{{"yaw", models::ColumnKind::Value}, {"pitch", models::ColumnKind::Value}} {}

HeadPose PoseScorer::pose_of(const torch::Tensor& chw) const {
  cv::Mat image = io::tensor_to_image(chw);  // BGR uint8; 1-channel tensors come back as grey BGR
  const int short_side = std::min(image.cols, image.rows);
  if (short_side < options_.min_side) {
    const double s = double(options_.min_side) / short_side;
    cv::resize(image, image, cv::Size(std::lround(image.cols * s), std::lround(image.rows * s)), 0, 0, cv::INTER_CUBIC);
  }
  const int px = static_cast<int>(std::lround(options_.pad * image.cols)), py = static_cast<int>(std::lround(options_.pad * image.rows));
  cv::Mat padded;
  cv::copyMakeBorder(image, padded, py, py, px, px, cv::BORDER_REPLICATE);
  const std::vector<DetectedFace> faces = detector_.detect(padded);
  if (faces.empty()) return {};
  Landmarks lm = faces[0].landmarks;
  for (auto& p : lm) p -= cv::Point2f(float(px), float(py));
  // Upscaling keeps the pose: the focal length and the centre scale with the image.
  return head_pose_from_landmarks(lm, image.size(), options_.focal * image.cols);
}

torch::Tensor PoseScorer::predict(const torch::Tensor& images) {
  if (images.dim() != 4 || (images.size(1) != 1 && images.size(1) != 3))
    fail("pose scorer", "expects NCHW images with 1 or 3 channels, got shape " + c10::str(images.sizes()));
  const torch::Tensor cpu = images.detach().to(torch::kCPU, torch::kFloat32);
  const int64_t n = cpu.size(0);
  torch::Tensor out = torch::full({n, 2}, std::numeric_limits<float>::quiet_NaN(), torch::kFloat32);
  auto acc = out.accessor<float, 2>();
  for (int64_t i = 0; i < n; ++i) {
    const HeadPose pose = pose_of(cpu[i]);
    if (!pose.found) continue;
    acc[i][0] = static_cast<float>(pose.yaw);
    acc[i][1] = static_cast<float>(pose.pitch);
  }
  return out.to(images.device());
}

void register_pose_classifier() {
  models::register_classifier("pose", [] { return std::make_unique<PoseScorer>(); });
}

}  // namespace faceedit::face
