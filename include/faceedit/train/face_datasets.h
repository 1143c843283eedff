// faceedit — labelled face sets for training and checking classifiers, read straight from their
// archives under the shared data root:
//   utkface  data/utkface-64.tar  64x64 RGB; labels "male" (0/1) and "age" (5 groups, see
//            kAgeGroups) from the file name age_gender_race_date.jpg.chip.jpg (malformed names
//            are skipped with a warning)
//   smiles   data/smiles-64.tar   SMILEsmileD, 64x64 grayscale (stored as 3 equal channels);
//            label "smiling" from the positives/negatives folder
//   celebahq        data/celebahq-64.tar   CelebA-HQ, 64x64 RGB, the 40 CelebA attributes (columns in
//                   lower case: "eyeglasses", "smiling", ...); the EVEN ids only (13,950 faces): the
//                   half our guide classifier trains on
//   celebahq-judge  the same archive, the ODD ids only: the half the celebahq-judge trains on, so
//                   the guide and the judge never see the same face
//   celebahq-dev    data/celebahq-256-dev.tar, 1,000 further faces at 256x256 with the same labels
//                   (disjoint from both halves and from data/celebahq-photos): evaluation only
//   any other archive whose name contains "celebahq": all its ids
//   A malformed attributes.txt (count line, names other than CelebA's 40 in CelebA's order, a row
//   with another number of values or a value other than 1/-1, a file listed twice) is an Error naming
//   the archive, member and line; an image listed but absent, present but unlisted, or undecodable
//   is skipped with a warning and a count.
#pragma once

#include <torch/torch.h>

#include <map>
#include <string>
#include <vector>

namespace faceedit::train {

// UTKFace age groups; "young" is the first two (under 30), as CelebA's Young is roughly that.
extern const std::vector<std::string> kAgeGroups;  // "0-17", "18-29", "30-44", "45-59", "60+"
int64_t age_group(int age);

// CelebA's 40 attribute names in CelebA's order and spelling ("5_o_Clock_Shadow" ... "Young").
extern const std::vector<std::string> kCelebaAttributes;
// Column name of a CelebA attribute: lower case ("Wearing_Hat" -> "wearing_hat").
std::string celeba_column(const std::string& celeba_name);
std::vector<std::string> celeba_columns();  // all 40, in CelebA's order
// Whether CelebA-HQ id `id` belongs to the named set's half ("celebahq": even, "celebahq-judge": odd).
bool celebahq_half(const std::string& set_name, int64_t id);

struct LabelledFaces {
  std::string name;                               // "utkface", "smiles"
  torch::Tensor images;                           // [N, 3, H, W] uint8 RGB
  std::map<std::string, torch::Tensor> labels;    // label name -> [N] int64
  std::vector<std::string> files;                 // archive member per image
  int64_t size() const { return images.defined() ? images.size(0) : 0; }
  LabelledFaces subset(const torch::Tensor& indices) const;
};

// Loads a set by name (utkface, smiles, celebahq, celebahq-judge, celebahq-dev: under shared_root()) or by archive path (the kind is
// told by the file name). `limit` > 0 keeps a random but seed-fixed subset of that many.
LabelledFaces load_labelled_faces(const std::string& spec, int64_t limit = 0, uint64_t seed = 0);

// Deterministic split: a seed-fixed permutation, the last `holdout_fraction` held out.
std::pair<LabelledFaces, LabelledFaces> split_holdout(const LabelledFaces& all, double holdout_fraction,
                                                      uint64_t seed);

// uint8 RGB -> float [-1, 1] (the generators' convention), the input of every classifier.
torch::Tensor to_model_range(const torch::Tensor& uint8_images);

}  // namespace faceedit::train
