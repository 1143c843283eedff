// faceedit — how well classifiers (judges or our own) agree with real labels, at full resolution
// and after a round trip through a small resolution (e.g. 32x32, the DCGAN's), which tells which
// judges can be trusted on small generated faces.
//
// Label sets: celebahq (the 40 shared CelebA-HQ photos, aligned with the FFHQ procedure; the 40
// CelebA labels from list_attr_celeba.txt, lower case), celebahq-dev (the 1,000 faces of
// celebahq-256-dev.tar, all of them, 40 labels), and the held-out split of train/face_datasets.h
// that train-classifier holds out: utkface (male, young), smiles (smiling), celebahq and
// celebahq-judge (40 labels).
#pragma once

#include <torch/torch.h>

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "faceedit/models/face_analysis.h"

namespace faceedit::eval {

struct LabelledImages {
  std::string name;
  torch::Tensor images;                         // [N, 3, H, W] float RGB in [-1, 1]
  std::map<std::string, torch::Tensor> labels;  // attribute -> [N] int64 0/1
};

// `limit` > 0 keeps a seed-fixed subset. celebahq aligns each photo to crop_size.
LabelledImages load_celebahq_labelled(int crop_size = 256);
LabelledImages load_heldout_labelled(const std::string& set_name, int64_t limit = 0);  // or celebahq-dev
// Any of the above by name.
LabelledImages load_labelled_set(const std::string& set_name, int64_t limit = 0);

// Area under the ROC curve of scores against 0/1 labels (ties count one half).
double roc_auc(const torch::Tensor& scores, const torch::Tensor& labels);

// For each attribute the classifier has and the set labels: accuracy at 0.5, balanced accuracy
// and AUC; at full size and, for each size in `round_trip_sizes`, after down- and up-sampling.
nlohmann::json classifier_agreement(models::AttributeClassifier& clf, const LabelledImages& set,
                                    const std::vector<int64_t>& round_trip_sizes = {32}, int64_t batch = 32);

}  // namespace faceedit::eval
