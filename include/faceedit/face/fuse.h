// faceedit — fusion: the edited face back into the photo, and nothing else changed.
//
// The portrait mask (crop coordinates) combines the two sources of where the face is:
//   hull       the convex hull of the 68 landmarks (brows to chin), raised by `brow_lift` of the
//              face height so the forehead comes along
//   segmenter  a PortraitSegmenter's person mask (e.g. the "selfie" judge), kept only within the
//              hull dilated by `hull_margin` of the crop size: hair and ears next to the face, not
//              shoulders or background
//   mask = max(hull, segmenter * dilated hull), then feathered (Gaussian, sigma = feather * size) and
//   cut to 0 below 1/255 so "outside" is exact.
// blend_crops() is the closed form  out = round(original * (1 - m) + edited * m)  with out = original
// bit for bit where m == 0. fuse() warps the edited crop back with paste_back() through the same mask,
// so every photo pixel whose back-warped mask is 0 keeps its value exactly; with `poisson` the
// edited crop is first seamlessly cloned (cv::seamlessClone) into the original crop inside the mask.
//
//   auto lm = face::landmarks_in_crop(face, face.crop.cols);
//   cv::Mat m = face::portrait_mask(face.crop, lm, segmenter.get(), {});
//   cv::Mat photo2 = face::fuse(photo, face, edited_crop, m, {});
//
// Thread-safety: pure functions (the segmenter runs a forward pass; see face_analysis.h).
#pragma once

#include <opencv2/core.hpp>
#include <torch/torch.h>

#include "faceedit/models/face_analysis.h"
#include "faceedit/face/align.h"

namespace faceedit::face {

struct FuseParams {
  double brow_lift = 0.15;    // hull: brow points raised by this fraction of the face height
  double hull_margin = 0.08;  // segmenter kept within the hull dilated by this fraction of the crop
  double feather = 0.02;      // Gaussian sigma as a fraction of the crop size
  bool poisson = false;       // seamless cloning before the blend
};

// The face's landmarks in the coordinates of a size x size crop of `face` (face.landmarks must be set,
// as align_single_face() does).
Landmarks landmarks_in_crop(const AlignedFace& face, int size);

// CV_32FC1 mask in [0, 1] of the crop's size; segmenter may be null (hull only).
cv::Mat portrait_mask(const cv::Mat& crop, const Landmarks& crop_landmarks, models::PortraitSegmenter* segmenter,
                      const FuseParams& params);

// The aligned crop (8-bit BGR) with a network's change added: crop + resize(edited - reconstruction)
// (both [1, 3, R, R] in [-1, 1], any R), or with `replace` the edited face itself, resized to the
// crop. Every editor that renders a face (a generator's edit, L2M-GAN's decoder) lands through it.
cv::Mat add_change(const cv::Mat& crop, const torch::Tensor& reconstruction, const torch::Tensor& edited, bool replace);

// Closed-form blend of two same-sized 8-bit BGR crops through a CV_32FC1 mask.
cv::Mat blend_crops(const cv::Mat& original, const cv::Mat& edited, const cv::Mat& mask);

// The photo with `edited_crop` (any square size; resized to the mask's) fused in through `mask`
// (crop coordinates of face.crop's size).
cv::Mat fuse(const cv::Mat& photo, const AlignedFace& face, const cv::Mat& edited_crop, const cv::Mat& mask,
             const FuseParams& params);

}  // namespace faceedit::face
