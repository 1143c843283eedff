// faceedit — what `faceedit analyze` reports for a photo: every face found, with its box, dlib's
// 68 landmarks, the judges' attribute probabilities, predicted age, identity embedding and the share
// of the aligned crop the portrait mask covers.
//
//   face::FaceDetector detector;
//   auto judges = models::open_judge_panel();
//   nlohmann::json faces = face::analyze_faces(photo, detector, judges);
//
// Thread-safety: as its parts; the judge panel is used without locking.
#pragma once

#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>

#include "faceedit/models/judges.h"
#include "faceedit/face/align.h"

namespace faceedit::face {

struct AnalyzeOptions {
  int crop_size = 256;         // aligned crop fed to the judges (the largest judge input is 224)
  bool with_embedding = true;
};

// JSON array, one object per face (largest first):
//   {"box": [x, y, w, h], "landmarks": [[x, y] x 68], "attributes": {"male": p, ...},
//    "age": years (when a judge predicts it), "embedding": [...], "mask_coverage": f}
nlohmann::json analyze_faces(const cv::Mat& photo, const FaceDetector& detector, models::JudgePanel& judges,
                             const AnalyzeOptions& options = {});

// The same object for an image that already IS an aligned face crop (CelebA-HQ, FFHQ, a
// generator's output): no detection; "box" is the whole image, no "landmarks".
nlohmann::json analyze_aligned_face(const cv::Mat& crop, models::JudgePanel& judges, const AnalyzeOptions& options = {});


}  // namespace faceedit::face
