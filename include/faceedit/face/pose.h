// faceedit — head pose (yaw, pitch, roll in degrees) from dlib's 68 landmarks, and a "pose" score
// for image batches.
//
//   face::FaceDetector detector;
//   face::HeadPose pose = face::estimate_head_pose(detector, io::read_image("me.jpg"));
//   if (pose.found) std::printf("yaw %.1f pitch %.1f\n", pose.yaw, pose.pitch);
//
//   face::PoseScorer scorer;                      // an AttributeClassifier: "yaw", "pitch"
//   torch::Tensor yp = scorer.predict(images);        // [N, 2] degrees, NaN where no face is found
//
// Method: six landmarks — nose tip 30, chin 8, outer eye corners 36 and 45, mouth corners 48 and 54 —
// are matched to a generic 3D head (the 6-point model popularised by learnopencv's head-pose
// tutorial; its units are arbitrary, 450 between the outer eye corners) with cv::solvePnP, through a
// pinhole camera of focal length = image width, principal point at the image centre ((w-1)/2,
// (h-1)/2 in pixel-centre coordinates, so a mirrored image gives the mirrored pose) and no
// distortion. The camera is a convention, not a calibration (unknown for photos, meaningless for
// generated faces), and it matters: the closer the face fills the frame, the nearer the assumed
// camera and the stronger the perspective the fit attributes to it, and the same face reads with
// smaller angles in a tight crop than in a loose photo (figures at PoseScorerOptions::focal). One generic
// head for everyone also biases each person's angles by a few degrees. Compare poses of images framed
// alike (edits of one face, samples of one generator); treat absolute degrees as approximate.
// The other 62 landmarks are not used.
//
// Convention, in the image as displayed (x right, y down), independent of whose left is whose:
//   yaw   > 0: the face turns towards the image's RIGHT side (the nose points right; the subject
//                turns to his or her own left). A horizontal mirror flips its sign.
//   pitch > 0: the face looks UP (the nose points towards the image's top).
//   roll  > 0: the head tilts clockwise in the image (the eye on the image's right moves down).
//   0, 0, 0: frontal and upright, looking into the camera.
// The angles are a yaw-pitch-roll decomposition (rotation = R_yaw * R_pitch * R_roll, yaw about the
// image's vertical axis, then pitch, then roll about the face's own forward axis): yaw and pitch
// are the direction the face points (its forward vector's azimuth and elevation), in (-180, 180]
// and [-90, 90]. They are measured from the frontal pose of the template itself, so a frontal face
// comes out near 0 — never near +-180, the classic trap of templates whose z axis points out of
// the face while the camera's points into the scene.
//
// Cost (one core): detection dominates — ~0.2 s for a 1024 px photo; PoseScorer ~30 ms per image
// (a 32 px face upscaled to 256 and padded); the fit itself is well under a millisecond. Thread-safety: the free functions are safe to call concurrently;
// PoseScorer::predict() is const in effect (the detector is only read) and safe too.
#pragma once

#include <opencv2/core.hpp>
#include <torch/torch.h>

#include <cmath>
#include <string>
#include <vector>

#include "faceedit/models/face_analysis.h"
#include "faceedit/face/align.h"

namespace faceedit::face {

struct HeadPose {
  double yaw = NAN, pitch = NAN, roll = NAN;  // degrees, convention above
  bool found = false;                         // false: no face (or no fit); the angles stay NaN
};

// Pure geometry: the pose of 68 landmarks on an image of `image_size` (pixel-centre coordinates, as
// FaceDetector gives them). found = false when the six landmarks used are not finite, are
// degenerate (eye corners less than 2 px apart) or the fit fails; the other 62 are ignored.
// focal_px > 0 replaces the focal length (default: the image width), e.g. for a calibrated camera.
HeadPose head_pose_from_landmarks(const Landmarks& landmarks, cv::Size image_size, double focal_px = 0);

// Detects faces in an 8-bit image (1, 3 or 4 channels) and returns the pose of the largest one;
// found = false when there is none. BGR or RGB both work: dlib's HOG takes the strongest gradient
// over the channels and its landmark model sees (r + g + b) / 3, both blind to channel order.
HeadPose estimate_head_pose(const FaceDetector& detector, const cv::Mat& bgr_or_rgb_image);

// How PoseScorer looks for faces in (small) generated images.
struct PoseScorerOptions {
  // Images whose shorter side is below this are upscaled to it (bicubic) before detection: dlib's HOG
  // window is 80 px, far more than a DCGAN face's 32.
  int min_side = 256;
  // Added to dlib's detection threshold (FaceDetectorOptions::threshold). 32 px faces score lower
  // than photos: 2 of 40 CelebA-HQ faces cut to DCGAN-like 32 px crops (brows to chin, see `focal`)
  // scored below dlib's own threshold (-0.33, -0.27). At -0.5 and -1, flat images, zeros and uniform
  // noise gave no face; at -1.5 noise did.
  double detection_threshold = -0.5;
  // Border added around the (upscaled) image, as a share of its side, filled with the image's edge
  // pixels: HOG misses faces cut by the frame. On those 40 faces cropped tighter (square side 0.8x
  // the larger of jaw width and brow-to-chin height) it found 37 with the border, 30 without. The
  // landmarks are mapped back to the unpadded image, whose size sets the camera.
  double pad = 0.25;
  // Focal length in image widths. 1 (the default, the camera head_pose_from_landmarks() assumes)
  // compresses the angles of faces that fill the frame: on the 40 CelebA-HQ photos cut to DCGAN-like
  // 32 px crops (square, centred on brows-to-chin, side 1.1x the larger of jaw width and that
  // height), |yaw| came out 0.5x (0.36-0.8x) of the same faces' yaw in the full 1024 px photos, pitch
  // ~0.6x and scattered. With 2, yaw matched the photos' (median difference 1.4 degrees, at most 7)
  // but pitch read ~7 degrees lower (5-11). Kept at 1 so that generated and real images are scored
  // with one camera; raise it to compare tight crops with photos in degrees.
  double focal = 1.0;
  std::string landmarks_path;  // dlib's model; "" = FaceDetector's default
};

// Head pose as an attribute classifier: name "pose", columns "yaw" and "pitch" (ColumnKind::Value,
// degrees, convention above). predict() takes NCHW float RGB in [-1, 1] of any size (1 or 3
// channels) on any device and returns [N, 2] float32 on the images' device, NaN in both columns
// where no face is found — callers must expect NaN (torch::isnan, or nanmean-style statistics).
// logits() returns the same values (the base class passes Value columns through unchanged).
//
// NOT differentiable: the images are copied to 8-bit pictures, and detection, landmarks and the PnP
// fit are discrete steps outside autograd; the result carries no gradient. Use it as a score (to
// measure how much an edit changes pose, or to condition a boundary on pose), never to guide an
// optimisation. Runs on the CPU whatever the device; to() is a no-op.
class PoseScorer : public models::AttributeClassifier {
 public:
  explicit PoseScorer(PoseScorerOptions options = {});
  std::string name() const override { return "pose"; }
  const std::vector<models::AttributeColumn>& columns() const override { return columns_; }
  torch::Tensor predict(const torch::Tensor& images) override;
  torch::Tensor logits(const torch::Tensor& images) override { return predict(images); }
  void to(torch::Device) override {}

  // The pose of one NCHW batch entry's picture, as predict() finds it (with roll and `found`).
  HeadPose pose_of(const torch::Tensor& chw) const;
  const PoseScorerOptions& options() const { return options_; }

 private:
  PoseScorerOptions options_;
  FaceDetector detector_;
  std::vector<models::AttributeColumn> columns_;
};

// Makes models::open_classifier("pose") (and so `faceedit sample --classifier pose`) open a PoseScorer.
void register_pose_classifier();

}  // namespace faceedit::face
