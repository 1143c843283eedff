// faceedit — the editing metrics the field reports, measured by the judges (models/judges.h).
//
// For a batch of (original, edited) images (NCHW RGB in [-1, 1], same size) and a target attribute:
//   target_change_rate           share of faces whose judged target label (p >= threshold) reached
//                                the wanted side: the flipped label (direction 0), or positive (+1)
//                                / negative (-1) for all
//   attribute_preservation_rate  share of (face, other attribute) pairs whose judged label did not
//                                change; other attributes = the judges' probability columns named
//                                as CelebA attributes (male, smiling, young, ...), minus the target;
//                                NaN (null in JSON) when not measured (measure_preservation off)
//   identity_preservation        mean cosine of the judge embeddings of original and edited face
//   mean_abs_delta_p             per probability column, mean |p(edited) - p(original)|
//   background_change            mean |pixel change| in [0, 1] units outside the portrait mask of
//                                the original (weighted by 1 - mask); absent without a segmenter
//
//   auto judges = faceedit::models::open_judge_panel();
//   auto m = faceedit::eval::evaluate_edits(orig, edited, judges, {"smiling"});
//   std::cout << m.to_json().dump();
#pragma once

#include <torch/torch.h>

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "faceedit/models/judges.h"

namespace faceedit::eval {

struct EditMetricsParams {
  std::string target;
  int direction = 0;  // 0: flip each face's label; +1: raise; -1: lower
  double threshold = 0.5;
  std::vector<std::string> preserve;  // attributes checked for preservation; empty: CelebA-named columns
  int64_t batch = 32;
  // false: no attribute is left to preserve (e.g. every one is a target of an edit sequence), so
  // attribute_preservation_rate is NaN and `preserve` must be empty.
  bool measure_preservation = true;
};

struct EditMetrics {
  int64_t n = 0;
  std::string target;
  double target_change_rate = 0, identity_preservation = 0;
  double attribute_preservation_rate = 0;  // NaN: not measured
  double background_change = -1;  // < 0: not measured
  std::vector<std::string> preserved_attributes;
  std::map<std::string, double> mean_abs_delta_p;
  std::map<std::string, double> preservation_by_attribute;
  nlohmann::json to_json() const;
};

// The 40 CelebA attribute names, lower-case ("5_o_clock_shadow", ..., "young").
const std::vector<std::string>& celeba_attribute_names();

EditMetrics evaluate_edits(const torch::Tensor& original, const torch::Tensor& edited, models::JudgePanel& judges,
                           const EditMetricsParams& params);

// The judges' verdicts on one batch of images, so a set of originals is judged once and compared
// with many edits (a sweep): evaluate_edits(o, e) == compare_judgments(judge_images(o, with
// background), judge_images(e)).
struct Judgments {
  torch::Tensor images;      // the images judged (kept for the background change)
  torch::Tensor probs;       // [N, columns] the attribute judge's outputs
  torch::Tensor embeddings;  // [N, D] unit identity embeddings
  torch::Tensor background;  // [N, 1, H, W] 1 - portrait mask; undefined unless asked for
};
Judgments judge_images(const torch::Tensor& images, models::JudgePanel& judges, bool with_background,
                       int64_t batch = 32);
// `original` must carry its background (judged with_background) for background_change.
EditMetrics compare_judgments(const Judgments& original, const Judgments& edited,
                              const std::vector<models::AttributeColumn>& columns, const EditMetricsParams& params);

// What the metrics are reduced from, per face: small enough to keep per block of faces and to merge
// the blocks of several processes (distributed.h). compare_judgments(o, e) ==
// reduce_comparison(compare_faces(o, e)); reducing the concatenation of parts gives the same bits as
// reducing the whole, whatever LibTorch's thread count (sums run in double in one fixed order).
struct FaceComparison {
  torch::Tensor p0, p1;          // [N, C] float: the judge's probabilities before and after
  torch::Tensor identity;        // [N] double: cosine of the identity embeddings
  torch::Tensor background_num;  // [N] double: sum of |pixel change| * (1 - mask); undefined: not measured
  torch::Tensor background_den;  // [N] double: sum of (1 - mask)
};
FaceComparison compare_faces(const Judgments& original, const Judgments& edited);
FaceComparison concat_comparisons(const std::vector<FaceComparison>& parts);
EditMetrics reduce_comparison(const FaceComparison& faces, const std::vector<models::AttributeColumn>& columns,
                              const EditMetricsParams& params);

}  // namespace faceedit::eval
