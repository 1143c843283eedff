// faceedit — training our supervision classifiers on labelled faces (`faceedit train-classifier`).
//
// Heads follow the set: utkface -> "male" (binary) and "age" (5 groups, derived column "young");
// smiles -> "smiling" (binary, grayscale input); celebahq, celebahq-judge (and any CelebA-HQ
// archive) -> the 40 CelebA attributes, one binary head each, named in lower case. Binary heads use
// class-balanced BCE, softmax heads cross-entropy. Augmentation: horizontal flips, shifts,
// brightness/contrast, and (for a fraction of each batch) a round trip through 24-40 px, so the
// classifier also judges 32x32 GAN faces.
//
// Each set has its own default network (ClassifierSetDefaults), chosen by measurement:
//   celebahq        the guide: resnet, 64 px, widths 32-64-128-256
//   celebahq-judge  the judge: plain CNN of another shape and input size (48 px), trained on the
//                   other half of the ids, so it judges edits its guide twin never saw
//   utkface, smiles plain, 48 px, widths 24-48-96-192
// A checkpoint after every epoch lets an interrupted run resume with the same command.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "faceedit/models/face_classifier.h"
#include "faceedit/train/face_datasets.h"

namespace faceedit::train {

struct TrainClassifierParams {
  std::string dataset = "celebahq";  // or celebahq-judge, utkface, smiles, or an archive path
  // 0 / empty: the set's default (classifier_set_defaults()).
  int64_t input_size = 0;
  std::string arch;
  std::vector<int64_t> widths;
  int epochs = 0;
  double low_res_fraction = -1;  // share of each batch sent through 24-40 px (< 0: the set's default)
  double weight_decay = -1;      // AdamW's decoupled weight decay (< 0: the set's default)
  bool half = false;             // write the final weights as float16 (checkpoints stay float32)
  int64_t batch = 128;
  double learning_rate = 2e-3;
  double holdout = 0.1;
  int64_t limit = 0;  // > 0: train and test on a seed-fixed subset of this many images
  uint64_t seed = 0;                      // the held-out split (and subset) seed
  std::optional<uint64_t> init_seed;      // initialisation, shuffling, augmentation (unset: seed)
  bool progress = true;
};

TrainClassifierParams train_classifier_default_params();

// The network and schedule a set trains with unless told otherwise.
struct ClassifierSetDefaults {
  int64_t input_size;
  std::string arch;
  std::vector<int64_t> widths;
  int epochs;
  double low_res_fraction;
  double weight_decay;
};
ClassifierSetDefaults classifier_set_defaults(const std::string& set_name);
// `p` with every 0 / empty field filled from the defaults of set `set_name`.
TrainClassifierParams resolve_train_params(TrainClassifierParams p, const std::string& set_name);

// Heads and input spec for a labelled set (by its LabelledFaces::name).
models::FaceClassifierConfig classifier_config_for(const std::string& set_name, int64_t input_size,
                                                   const std::vector<int64_t>& widths, const std::string& arch = "plain");

// Per head: accuracy and confusion matrix (rows: true class, columns: predicted) on `faces`,
// thresholding binary heads at 0.5; balanced accuracy = mean per-class recall.
nlohmann::json evaluate_classifier(models::FaceClassifier& clf, const LabelledFaces& faces);

// Trains, writes the classifier to `out_path` (safetensors, with the report in its metadata) and
// returns the report: sizes, per-epoch losses, held-out accuracy and confusion matrices.
nlohmann::json train_face_classifier(const TrainClassifierParams& params, const std::string& out_path);


}  // namespace faceedit::train
