// faceedit — face detection, 68 landmarks, FFHQ alignment and its exact inverse.
//
//   cv::Mat photo = io::read_image("me.jpg");
//   face::FaceDetector detector;                       // loads dlib's HOG detector + landmarks
//   auto faces = detector.detect(photo);                   // largest face first
//   face::AlignmentQuad quad = face::ffhq_quad(faces[0].landmarks);
//   face::AlignedFace face = face::align_face(photo, quad, 1024);
//   cv::Mat edited = edit(face.crop);                      // any square BGR image, any size
//   cv::Mat result = face::paste_back(photo, edited, face);   // only the quad's pixels change
//
//   // or, for "exactly one face or a clear error":
//   face::AlignedFace face = face::align_single_face(detector, photo, 1024, "me.jpg");
//
// Coordinates are OpenCV/dlib pixel-centre coordinates: pixel (x, y) covers [x-0.5, x+0.5] x
// [y-0.5, y+0.5]. The crop's outer corners (-0.5, -0.5), (-0.5, size-0.5), (size-0.5, size-0.5),
// (size-0.5, -0.5) map to the quad's corners 0..3 — the same geometry as FFHQ's PIL QUAD transform of
// `quad + 0.5` (NVIDIA ffhq-dataset, recreate_aligned_images). The crop is one affine warp of the
// photo (anti-aliased when it shrinks the face, reflection padding where the quad leaves the photo
// as FFHQ pads), so paste_back() can invert it exactly.
//
// Landmarks: dlib's 68-point iBUG scheme (shape_predictor_68_face_landmarks.dat, Debian package
// libdlib-data): 36-41 left eye (in the image), 42-47 right eye, 48 and 54 the mouth corners. dlib
// gives whole-pixel positions, as FFHQ used them.
//
// Cost and accuracy (2-core CPU, 1024x1024 CelebA-HQ photos): loading ~0.6 s; detect() ~0.25 s;
// align_face() + paste_back() of the unedited 1024 crop change the photo by 0.28/255 mean absolute
// error (smaller crops lose detail, as any downscale would: ~3.3/255 at 256, ~10/255 at 32).
//
// Thread-safety: FaceDetector::detect() is const and may be called from several threads at once (each
// call runs its own copy of the HOG detector; the landmark model is only read). The free functions
// have no shared state apart from align_single_face()'s process-wide detector, which is safe too.
#pragma once

#include <opencv2/core.hpp>

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace faceedit::face {

using Landmarks = std::array<cv::Point2f, 68>;

struct DetectedFace {
  cv::Rect box;          // detector box, in photo pixels
  Landmarks landmarks;   // on the full-resolution photo
  double score = 0;      // HOG detector confidence (> 0; larger is surer)
};

// How FaceDetector searches.
struct FaceDetectorOptions {
  // HOG runs on a copy of the photo scaled to about detect_pixels pixels (never more than
  // max_upsample times up): large photos are searched in bounded time, small ones upsampled. dlib's
  // HOG window is 80 px, so faces down to about 80 * sqrt(photo pixels / detect_pixels) photo pixels
  // (80 / max_upsample at most) are found. About 0.2 s per megapixel searched on one core.
  int64_t detect_pixels = 1 << 20;
  double max_upsample = 2.0;
  // Searches per photo, each at a scale between the levels of dlib's 5/6 pyramid (1 = dlib's own
  // search). 2 finds weak faces (profile-ish, shadowed) that one pass misses at some sizes; time
  // grows in proportion.
  int scale_passes = 2;
  double threshold = 0.0;  // added to dlib's detection threshold (negative finds more, less sure)
};

// dlib's HOG frontal face detector and 68-point shape predictor.
class FaceDetector {
 public:
  using Options = FaceDetectorOptions;

  // Loads the landmark model from `landmarks_path`, or when empty from $FACEEDIT_DLIB_LANDMARKS, else
  // /usr/share/dlib/shape_predictor_68_face_landmarks.dat. A missing or corrupt file is an Error
  // naming it (and Debian's libdlib-data, which provides it). Loading takes about a second.
  explicit FaceDetector(const std::string& landmarks_path = "", Options options = {});
  explicit FaceDetector(Options options) : FaceDetector("", options) {}
  ~FaceDetector();
  FaceDetector(FaceDetector&&) noexcept;
  FaceDetector& operator=(FaceDetector&&) noexcept;

  // Faces in an 8-bit BGR (or grey, or BGRA) photo, largest box first.
  std::vector<DetectedFace> detect(const cv::Mat& photo) const;

  const std::string& landmarks_path() const { return path_; }
  static std::string default_landmarks_path();

 private:
  struct Impl;  // dlib types stay in face_detector.cpp (dlib and LibTorch headers do not mix)
  std::unique_ptr<Impl> impl_;
  std::string path_;
  Options options_;
};

// The oriented square FFHQ crops, in photo pixel coordinates. Corners in the order of FFHQ's quad:
// top-left, bottom-left, bottom-right, top-right of the upright face (c-x-y, c-x+y, c+x+y, c+x-y).
struct AlignmentQuad {
  std::array<cv::Point2d, 4> corners;
  double side() const;  // edge length in photo pixels
};

// FFHQ's quad: eyes = means of landmarks 36-41 / 42-47, mouth = mean of 48 and 54;
// x = eye_to_eye - rot90(eye_to_mouth), scaled to max(2 |eye_to_eye|, 1.8 |eye_to_mouth|);
// y = x turned 90 degrees; centre = eye_avg + 0.1 eye_to_mouth.
AlignmentQuad ffhq_quad(const Landmarks& landmarks);

// The quad scaled about its centre by `zoom` (< 1: tighter) and moved `shift_down` of its side towards
// the chin: for generators trained on other crops than FFHQ's (the CelebA DCGAN: tight face crops).
AlignmentQuad reframe_quad(const AlignmentQuad& quad, double zoom, double shift_down);

struct AlignedFace {
  cv::Mat crop;                 // size x size, 8-bit BGR
  AlignmentQuad quad;           // where it came from
  cv::Matx23d crop_to_photo;    // photo point = crop_to_photo * (x, y, 1), pixel-centre coordinates
  cv::Matx23d photo_to_crop;    // its exact inverse
  int size = 0;
  Landmarks landmarks{};        // the face's 68 landmarks in photo pixels (align_single_face; zeros otherwise)
};

// The affine map from a size x size crop to the quad (and back), as defined above.
cv::Matx23d quad_crop_to_photo(const AlignmentQuad& quad, int size);
cv::Matx23d invert_affine(const cv::Matx23d& m);

// Warps the quad of an 8-bit photo (1, 3 or 4 channels; the crop has the same type) into a
// size x size crop: one affine warp, bicubic, with the photo low-passed first when the quad has more
// than ~1.5 photo pixels per crop pixel (box-filter shrink + Gaussian), so small crops do not alias.
AlignedFace align_face(const cv::Mat& photo, const AlignmentQuad& quad, int size);

// Feathered square mask for paste_back(): 1 inside, ramping to 0 over `feather` pixels at the border
// (feather < 0: max(2, size / 64)). CV_32FC1, size x size.
cv::Mat square_mask(int size, int feather = -1);

// A copy of `photo` with `crop` (an aligned crop, possibly edited, square and of any size: it is
// mapped onto the same quad) warped back with the inverse of align_face()'s map and blended through
// `mask` (CV_32FC1 in [0, 1] in crop coordinates, crop-sized; empty: square_mask(crop size)).
// Pixels whose centre lies outside the quad are never changed. `crop` must have photo's type.
cv::Mat paste_back(const cv::Mat& photo, const cv::Mat& crop, const AlignedFace& aligned, const cv::Mat& mask = {});

// Detects, requires exactly one face and aligns it: errors "<name>: no face found" or
// "<name>: 3 faces found; ..." (name is used in messages only, e.g. the photo's path).
AlignedFace align_single_face(const FaceDetector& detector, const cv::Mat& photo, int size, const std::string& name);
// Same with a process-wide FaceDetector (default model), loaded on first use.
AlignedFace align_single_face(const cv::Mat& photo, int size, const std::string& name);

// Default crop size: FFHQ's 1024 (the StyleGAN2 FFHQ resolution; downscale the crop for smaller models).
constexpr int kDefaultAlignSize = 1024;

}  // namespace faceedit::face
