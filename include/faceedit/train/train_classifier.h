// faceedit — training our supervision classifiers on labelled faces (`faceedit train-classifier`).
//
// Heads follow the set: utkface -> "male" (binary) and "age" (5 groups, derived column "young");
// smiles -> "smiling" (binary, grayscale input). Binary heads use class-balanced BCE, softmax
// heads cross-entropy. Augmentation: horizontal flips, shifts, brightness/contrast, and (half of
// the time) a round trip through 24-40 px, so the classifier also judges 32x32 GAN faces.
// A checkpoint after every epoch lets an interrupted run resume with the same command.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "faceedit/models/face_classifier.h"
#include "faceedit/train/face_datasets.h"

namespace faceedit::train {

struct TrainClassifierParams {
  std::string dataset = "utkface";  // or "smiles", or an archive path
  int64_t input_size = 48;
  std::vector<int64_t> widths = {24, 48, 96, 192};
  int epochs = 8;
  int64_t batch = 128;
  double learning_rate = 2e-3;
  double holdout = 0.1;
  int64_t limit = 0;  // > 0: train and test on a seed-fixed subset of this many images
  uint64_t seed = 0;
  bool progress = true;
};

TrainClassifierParams train_classifier_default_params();

// Heads and input spec for a labelled set (by its LabelledFaces::name).
models::FaceClassifierConfig classifier_config_for(const std::string& set_name, int64_t input_size,
                                                   const std::vector<int64_t>& widths);

// Per head: accuracy and confusion matrix (rows: true class, columns: predicted) on `faces`,
// thresholding binary heads at 0.5; balanced accuracy = mean per-class recall.
nlohmann::json evaluate_classifier(models::FaceClassifier& clf, const LabelledFaces& faces);

// Trains, writes the classifier to `out_path` (safetensors, with the report in its metadata) and
// returns the report: sizes, per-epoch losses, held-out accuracy and confusion matrices.
nlohmann::json train_face_classifier(const TrainClassifierParams& params, const std::string& out_path);

}  // namespace faceedit::train
