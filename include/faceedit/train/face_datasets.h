// faceedit — labelled face sets for training and checking classifiers, read straight from their
// archives under the shared data root:
//   utkface  data/utkface-64.tar  64x64 RGB; labels "male" (0/1) and "age" (5 groups, see
//            kAgeGroups) from the file name age_gender_race_date.jpg.chip.jpg (malformed names
//            are skipped with a warning)
//   smiles   data/smiles-64.tar   SMILEsmileD, 64x64 grayscale (stored as 3 equal channels);
//            label "smiling" from the positives/negatives folder
#pragma once

#include <torch/torch.h>

#include <map>
#include <string>
#include <vector>

namespace faceedit::train {

// UTKFace age groups; "young" is the first two (under 30), as CelebA's Young is roughly that.
extern const std::vector<std::string> kAgeGroups;  // "0-17", "18-29", "30-44", "45-59", "60+"
int64_t age_group(int age);

struct LabelledFaces {
  std::string name;                               // "utkface", "smiles"
  torch::Tensor images;                           // [N, 3, H, W] uint8 RGB
  std::map<std::string, torch::Tensor> labels;    // label name -> [N] int64
  std::vector<std::string> files;                 // archive member per image
  int64_t size() const { return images.defined() ? images.size(0) : 0; }
  LabelledFaces subset(const torch::Tensor& indices) const;
};

// Loads a set by name ("utkface", "smiles": under shared_root()) or by archive path (the kind is
// told by the file name). `limit` > 0 keeps a random but seed-fixed subset of that many.
LabelledFaces load_labelled_faces(const std::string& spec, int64_t limit = 0, uint64_t seed = 0);

// Deterministic split: a seed-fixed permutation, the last `holdout_fraction` held out.
std::pair<LabelledFaces, LabelledFaces> split_holdout(const LabelledFaces& all, double holdout_fraction,
                                                      uint64_t seed);

// uint8 RGB -> float [-1, 1] (the generators' convention), the input of every classifier.
torch::Tensor to_model_range(const torch::Tensor& uint8_images);

}  // namespace faceedit::train
