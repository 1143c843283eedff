#include "faceedit/face/align.h"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "faceedit/error.h"

namespace faceedit::face {

namespace {

cv::Point2d mean_of(const Landmarks& lm, int first, int last) {
  cv::Point2d sum(0, 0);
  for (int i = first; i <= last; ++i) sum += cv::Point2d(lm[i].x, lm[i].y);
  return sum / double(last - first + 1);
}

cv::Point2d apply(const cv::Matx23d& m, cv::Point2d p) {
  return {m(0, 0) * p.x + m(0, 1) * p.y + m(0, 2), m(1, 0) * p.x + m(1, 1) * p.y + m(1, 2)};
}

void check_photo(const cv::Mat& photo, const char* what) {
  if (photo.empty()) fail(what, "empty image");
  if (photo.depth() != CV_8U) fail(what, "8-bit image expected");
}

// Copy of src's pixels over `rect`, which may extend past src: outside pixels follow border_mode
// (about src's own edges, as np.pad(mode="reflect") does for BORDER_REFLECT_101).
cv::Mat extract_region(const cv::Mat& src, cv::Rect rect, int border_mode, const cv::Scalar& border_value) {
  if ((rect & cv::Rect(0, 0, src.cols, src.rows)) == rect) return src(rect);
  cv::Mat out(rect.size(), src.type(), border_value);
  std::vector<int> xs(rect.width);
  for (int c = 0; c < rect.width; ++c) xs[c] = cv::borderInterpolate(rect.x + c, src.cols, border_mode);
  const size_t esz = src.elemSize();
  for (int r = 0; r < rect.height; ++r) {
    const int sr = cv::borderInterpolate(rect.y + r, src.rows, border_mode);
    if (sr < 0) continue;  // BORDER_CONSTANT
    const uchar* in = src.ptr(sr);
    uchar* o = out.ptr(r);
    for (int c = 0; c < rect.width; ++c)
      if (xs[c] >= 0) std::memcpy(o + c * esz, in + xs[c] * esz, esz);
  }
  return out;
}

// dst(p) = src(dst_to_src * p), bicubic, after low-passing src where the map shrinks it: an exact
// box-filter shrink by an integer factor k (area average) and then a Gaussian for the rest of the
// scale, so that every output pixel averages the ~s x s source pixels it covers instead of aliasing.
cv::Mat resample(const cv::Mat& src, cv::Matx23d m, cv::Size dst_size, int border_mode, const cv::Scalar& border_value = {}) {
  const double s = std::sqrt(std::abs(m(0, 0) * m(1, 1) - m(0, 1) * m(1, 0)));  // src px per dst px
  const int k = s >= 4 ? static_cast<int>(s / 2) : 1;
  const double rest = s / k;
  const double sigma = rest > 1.05 ? 0.5 * std::sqrt(rest * rest - 1) : 0.0;

  // Only the part of src the output covers, plus room for the filters.
  double x0 = 1e300, y0 = 1e300, x1 = -1e300, y1 = -1e300;
  for (cv::Point2d c : {cv::Point2d(-0.5, -0.5), cv::Point2d(dst_size.width - 0.5, -0.5),
                        cv::Point2d(-0.5, dst_size.height - 0.5), cv::Point2d(dst_size.width - 0.5, dst_size.height - 0.5)}) {
    const cv::Point2d p = apply(m, c);
    x0 = std::min(x0, p.x), y0 = std::min(y0, p.y), x1 = std::max(x1, p.x), y1 = std::max(y1, p.y);
  }
  const double margin = k * (3 * sigma + 4);
  const int rx = static_cast<int>(std::floor(x0 - margin)), ry = static_cast<int>(std::floor(y0 - margin));
  int rw = static_cast<int>(std::ceil(x1 + margin)) - rx + 1, rh = static_cast<int>(std::ceil(y1 + margin)) - ry + 1;
  rw = (rw + k - 1) / k * k, rh = (rh + k - 1) / k * k;  // whole k x k boxes
  cv::Mat region = extract_region(src, cv::Rect(rx, ry, rw, rh), border_mode, border_value);

  // Region pixel (x, y) is src pixel (x + rx, y + ry); shrunk pixel i covers region pixels k*i..k*i+k-1.
  m(0, 2) -= rx + (k - 1) / 2.0;
  m(1, 2) -= ry + (k - 1) / 2.0;
  if (k > 1) {
    m = m * (1.0 / k);
    cv::Mat shrunk;
    cv::resize(region, shrunk, cv::Size(rw / k, rh / k), 0, 0, cv::INTER_AREA);
    region = shrunk;
  }
  if (sigma > 0) {
    cv::Mat blurred;
    cv::GaussianBlur(region, blurred, cv::Size(0, 0), sigma, sigma, cv::BORDER_REFLECT_101);
    region = blurred;
  }
  cv::Mat dst;
  cv::warpAffine(region, dst, m, dst_size, cv::INTER_CUBIC | cv::WARP_INVERSE_MAP, cv::BORDER_REPLICATE);
  return dst;
}

}  // namespace

double AlignmentQuad::side() const { return cv::norm(corners[3] - corners[0]); }

AlignmentQuad ffhq_quad(const Landmarks& lm) {
  const cv::Point2d eye_left = mean_of(lm, 36, 41), eye_right = mean_of(lm, 42, 47);
  const cv::Point2d eye_avg = (eye_left + eye_right) * 0.5, eye_to_eye = eye_right - eye_left;
  const cv::Point2d mouth_avg = (cv::Point2d(lm[48].x, lm[48].y) + cv::Point2d(lm[54].x, lm[54].y)) * 0.5;
  const cv::Point2d eye_to_mouth = mouth_avg - eye_avg;
  // x = eye_to_eye - flipud(eye_to_mouth) * [-1, 1]
  cv::Point2d x(eye_to_eye.x + eye_to_mouth.y, eye_to_eye.y - eye_to_mouth.x);
  x *= std::max(std::hypot(eye_to_eye.x, eye_to_eye.y) * 2.0, std::hypot(eye_to_mouth.x, eye_to_mouth.y) * 1.8) / std::hypot(x.x, x.y);
  const cv::Point2d y(-x.y, x.x);  // flipud(x) * [-1, 1]
  const cv::Point2d c = eye_avg + eye_to_mouth * 0.1;
  return AlignmentQuad{{c - x - y, c - x + y, c + x + y, c + x - y}};
}

cv::Matx23d quad_crop_to_photo(const AlignmentQuad& quad, int size) {
  if (size < 1) fail("alignment", "crop size " + std::to_string(size) + " (positive expected)");
  const auto& q = quad.corners;
  const cv::Point2d a = (q[3] - q[0]) / double(size), b = (q[1] - q[0]) / double(size);  // per crop pixel along x, y
  const cv::Point2d t = q[0] + (a + b) * 0.5;  // crop pixel (0, 0)'s centre is half a pixel inside the corner
  return cv::Matx23d(a.x, b.x, t.x, a.y, b.y, t.y);
}

cv::Matx23d invert_affine(const cv::Matx23d& m) {
  const double det = m(0, 0) * m(1, 1) - m(0, 1) * m(1, 0);
  if (!(std::abs(det) > 1e-12)) fail("alignment", "degenerate (non-invertible) affine map");
  const double a = m(1, 1) / det, b = -m(0, 1) / det, c = -m(1, 0) / det, d = m(0, 0) / det;
  return cv::Matx23d(a, b, -(a * m(0, 2) + b * m(1, 2)), c, d, -(c * m(0, 2) + d * m(1, 2)));
}

AlignedFace align_face(const cv::Mat& photo, const AlignmentQuad& quad, int size) {
  check_photo(photo, "align_face");
  for (const auto& p : quad.corners)
    if (!std::isfinite(p.x) || !std::isfinite(p.y)) fail("align_face", "quad with non-finite corners");
  if (!(quad.side() > 1e-3)) fail("align_face", "degenerate quad (side " + std::to_string(quad.side()) + " px)");
  if (size < 1 || size > 16384) fail("align_face", "crop size " + std::to_string(size) + " (1..16384 expected)");
  AlignedFace out;
  out.quad = quad;
  out.size = size;
  out.crop_to_photo = quad_crop_to_photo(quad, size);
  out.photo_to_crop = invert_affine(out.crop_to_photo);
  out.crop = resample(photo, out.crop_to_photo, cv::Size(size, size), cv::BORDER_REFLECT_101);  // FFHQ pads by reflection
  return out;
}

cv::Mat square_mask(int size, int feather) {
  if (size < 1) fail("square_mask", "size " + std::to_string(size) + " (positive expected)");
  if (feather < 0) feather = std::max(2, size / 64);
  std::vector<float> ramp(size);
  for (int i = 0; i < size; ++i) {
    const double d = std::min(i, size - 1 - i) + 0.5;  // pixel centre to the crop's edge
    ramp[i] = feather == 0 ? 1.f : static_cast<float>(std::min(1.0, d / feather));
  }
  cv::Mat mask(size, size, CV_32FC1);
  for (int r = 0; r < size; ++r)
    for (int c = 0; c < size; ++c) mask.at<float>(r, c) = ramp[r] * ramp[c];
  return mask;
}

cv::Mat paste_back(const cv::Mat& photo, const cv::Mat& crop, const AlignedFace& aligned, const cv::Mat& mask_in) {
  check_photo(photo, "paste_back");
  check_photo(crop, "paste_back (crop)");
  if (crop.rows != crop.cols) fail("paste_back", "crop of " + std::to_string(crop.cols) + "x" + std::to_string(crop.rows) + " (square expected)");
  if (crop.type() != photo.type()) fail("paste_back", "crop and photo differ in type (channels)");
  const int size = crop.cols;
  const cv::Mat mask = mask_in.empty() ? square_mask(size) : mask_in;
  if (mask.type() != CV_32FC1 || mask.size() != crop.size()) fail("paste_back", "mask must be CV_32FC1 and of the crop's size");

  // The crop covers the same quad whatever its size (an edited crop may come back at 256 from 1024).
  const cv::Matx23d photo_to_crop = invert_affine(quad_crop_to_photo(aligned.quad, size));
  const auto& q = aligned.quad.corners;
  double x0 = 1e300, y0 = 1e300, x1 = -1e300, y1 = -1e300;
  for (const auto& p : q) x0 = std::min(x0, p.x), y0 = std::min(y0, p.y), x1 = std::max(x1, p.x), y1 = std::max(y1, p.y);
  const cv::Rect roi = cv::Rect(cv::Point(int(std::floor(x0)), int(std::floor(y0))), cv::Point(int(std::ceil(x1)) + 1, int(std::ceil(y1)) + 1)) &
                       cv::Rect(0, 0, photo.cols, photo.rows);
  cv::Mat out = photo.clone();
  if (roi.empty()) return out;

  cv::Matx23d m = photo_to_crop;  // ROI pixel -> crop pixel
  m(0, 2) += m(0, 0) * roi.x + m(0, 1) * roi.y;
  m(1, 2) += m(1, 0) * roi.x + m(1, 1) * roi.y;
  const cv::Mat warped = resample(crop, m, roi.size(), cv::BORDER_REPLICATE);
  const cv::Mat alpha = resample(mask, m, roi.size(), cv::BORDER_CONSTANT, cv::Scalar(0));

  const int ch = photo.channels();
  const double lo = -0.5, hi = size - 0.5;
  for (int r = 0; r < roi.height; ++r) {
    uchar* o = out.ptr(roi.y + r) + roi.x * ch;
    const uchar* w = warped.ptr(r);
    const float* a = alpha.ptr<float>(r);
    for (int c = 0; c < roi.width; ++c) {
      // Strictly inside the quad only: interpolation smears the mask half a pixel past its edge.
      const cv::Point2d u = apply(m, cv::Point2d(c, r));
      if (u.x < lo || u.x > hi || u.y < lo || u.y > hi) continue;
      const float t = std::clamp(a[c], 0.f, 1.f);
      if (t <= 0.f) continue;
      for (int k = 0; k < ch; ++k) {
        const int i = c * ch + k;
        o[i] = cv::saturate_cast<uchar>(o[i] + t * (float(w[i]) - float(o[i])));
      }
    }
  }
  return out;
}

AlignmentQuad reframe_quad(const AlignmentQuad& quad, double zoom, double shift_down) {
  if (!(zoom > 0)) fail("reframe", "zoom must be > 0");
  const auto& c = quad.corners;
  const cv::Point2d centre = (c[0] + c[1] + c[2] + c[3]) * 0.25;
  const cv::Point2d down = c[1] - c[0];  // top-left -> bottom-left: one side, towards the chin
  AlignmentQuad out;
  for (size_t i = 0; i < 4; ++i) out.corners[i] = centre + down * shift_down + (c[i] - centre) * zoom;
  return out;
}

AlignedFace align_single_face(const FaceDetector& detector, const cv::Mat& photo, int size, const std::string& name) {
  const std::vector<DetectedFace> faces = detector.detect(photo);
  if (faces.empty()) fail(name, "no face found");
  if (faces.size() > 1)
    fail(name, std::to_string(faces.size()) + " faces found; one face per photo expected (crop the photo to the face to edit)");
  AlignedFace aligned = align_face(photo, ffhq_quad(faces[0].landmarks), size);
  aligned.landmarks = faces[0].landmarks;
  return aligned;
}

AlignedFace align_single_face(const cv::Mat& photo, int size, const std::string& name) {
  // Loaded once and never destroyed: worker threads (a server's) may still detect while the process
  // exits, after static destructors ran (found by fuzzing faceedit serve).
  static const FaceDetector& detector = *new FaceDetector();
  return align_single_face(detector, photo, size, name);
}

}  // namespace faceedit::face
