#include "faceedit/face/fuse.h"

#include <opencv2/imgproc.hpp>
#include <opencv2/photo.hpp>

#include <algorithm>
#include <cmath>

#include "faceedit/error.h"
#include "faceedit/io/image.h"
#include "faceedit/models/face_analysis.h"

namespace faceedit::face {

Landmarks landmarks_in_crop(const AlignedFace& face, int size) {
  const cv::Matx23d m = invert_affine(quad_crop_to_photo(face.quad, size));
  Landmarks out;
  for (size_t i = 0; i < out.size(); ++i) {
    const auto& p = face.landmarks[i];
    out[i] = cv::Point2f(static_cast<float>(m(0, 0) * p.x + m(0, 1) * p.y + m(0, 2)),
                         static_cast<float>(m(1, 0) * p.x + m(1, 1) * p.y + m(1, 2)));
  }
  return out;
}

cv::Mat portrait_mask(const cv::Mat& crop, const Landmarks& lm, models::PortraitSegmenter* segmenter, const FuseParams& p) {
  if (crop.empty() || crop.type() != CV_8UC3 || crop.rows != crop.cols) fail("portrait mask", "needs a square 8-bit BGR crop");
  const int size = crop.cols;
  // Hull of the landmarks, the brows (17-26) raised towards the forehead.
  float top = 1e9f, bottom = -1e9f;
  for (const auto& q : lm) top = std::min(top, q.y), bottom = std::max(bottom, q.y);
  const float lift = static_cast<float>(p.brow_lift) * (bottom - top);
  std::vector<cv::Point2f> pts(lm.begin(), lm.end());
  for (int i = 17; i <= 26; ++i) pts.push_back(lm[i] - cv::Point2f(0, lift));
  std::vector<cv::Point2f> hull_f;
  cv::convexHull(pts, hull_f);
  std::vector<cv::Point> hull;
  for (const auto& q : hull_f) hull.emplace_back(cvRound(q.x), cvRound(q.y));
  cv::Mat hull_mask = cv::Mat::zeros(size, size, CV_32FC1);
  cv::fillConvexPoly(hull_mask, hull, cv::Scalar(1.0), cv::LINE_AA);
  cv::Mat mask = hull_mask;
  if (segmenter != nullptr) {
    torch::NoGradGuard no_grad;
    auto seg = segmenter->segment(io::image_to_tensor(crop)).detach().to(torch::kCPU, torch::kFloat32).contiguous();
    cv::Mat person(size, size, CV_32FC1, seg.data_ptr<float>());
    const int r = std::max(1, static_cast<int>(std::lround(p.hull_margin * size)));
    cv::Mat near;
    cv::dilate(hull_mask, near, cv::getStructuringElement(cv::MORPH_ELLIPSE, cv::Size(2 * r + 1, 2 * r + 1)));
    mask = cv::max(hull_mask, person.mul(near));
  }
  const double sigma = p.feather * size;
  if (sigma > 0) cv::GaussianBlur(mask, mask, cv::Size(), sigma, sigma, cv::BORDER_CONSTANT);
  cv::min(mask, 1.0, mask);
  cv::threshold(mask, mask, 1.0 / 255, 0, cv::THRESH_TOZERO);  // a clean zero outside
  return mask;
}

cv::Mat add_change(const cv::Mat& crop, const torch::Tensor& reconstruction, const torch::Tensor& edited, bool replace) {
  torch::NoGradGuard no_grad;
  const int size = crop.cols;
  const auto crop_t = io::image_to_tensor(crop).to(edited.device());
  const auto out = replace ? models::resize_images(edited, size, size)
                           : crop_t + models::resize_images(edited - reconstruction, size, size);
  return io::tensor_to_image(out[0].detach().cpu());
}

cv::Mat blend_crops(const cv::Mat& original, const cv::Mat& edited, const cv::Mat& mask) {
  if (original.type() != CV_8UC3 || edited.type() != CV_8UC3 || original.size() != edited.size())
    fail("blend", "needs two 8-bit BGR crops of the same size");
  if (mask.type() != CV_32FC1 || mask.size() != original.size()) fail("blend", "mask must be CV_32FC1 and of the crops' size");
  cv::Mat out = original.clone();
  for (int y = 0; y < out.rows; ++y) {
    const float* m = mask.ptr<float>(y);
    const uchar* o = original.ptr(y);
    const uchar* e = edited.ptr(y);
    uchar* d = out.ptr(y);
    for (int x = 0; x < out.cols; ++x) {
      const float t = std::clamp(m[x], 0.f, 1.f);
      if (t <= 0.f) continue;
      for (int k = 0; k < 3; ++k) d[3 * x + k] = cv::saturate_cast<uchar>(o[3 * x + k] * (1.f - t) + e[3 * x + k] * t);
    }
  }
  return out;
}

cv::Mat fuse(const cv::Mat& photo, const AlignedFace& face, const cv::Mat& edited_crop, const cv::Mat& mask, const FuseParams& p) {
  if (mask.type() != CV_32FC1 || mask.rows != mask.cols) fail("fuse", "mask must be square CV_32FC1");
  cv::Mat edited;
  cv::resize(edited_crop, edited, mask.size(), 0, 0, edited_crop.cols < mask.cols ? cv::INTER_CUBIC : cv::INTER_AREA);
  if (p.poisson) {
    cv::Mat original;
    cv::resize(face.crop, original, mask.size(), 0, 0, cv::INTER_AREA);
    cv::Mat inside = mask > 0;
    inside.row(0).setTo(0), inside.row(inside.rows - 1).setTo(0), inside.col(0).setTo(0), inside.col(inside.cols - 1).setTo(0);
    const cv::Rect box = cv::boundingRect(inside);
    if (box.area() > 0) {
      cv::Mat cloned;
      cv::seamlessClone(edited, original, inside, cv::Point(box.x + box.width / 2, box.y + box.height / 2), cloned, cv::NORMAL_CLONE);
      edited = cloned;
    }
  }
  return paste_back(photo, edited, face, mask);
}

}  // namespace faceedit::face
