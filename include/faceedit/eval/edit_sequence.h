// faceedit — sequential edits ("smile, then age"): does a second edit undo the first, and what do
// two edits cost in identity? Each step moves every face towards the other side of the step's
// attribute *as the face originally was* (the sign from editor.flip_sign on the unedited codes), at
// the step's strength; after each step all targets so far are judged against the originals.
//
//   std::vector<SequenceStep> steps = {{&smile, 1.5, ""}, {&age, 1.0, ""}};
//   auto r = faceedit::eval::evaluate_sequence(*g, steps, latents, judges, {});
//   r.json["after"][1]["target_change_rate"]["smiling"]   // is the smile still there after the age edit?
//
// All editors must work in the same latent space. Not thread-safe (the judges are stateful).
#pragma once

#include <opencv2/core.hpp>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <string>
#include <vector>

#include "faceedit/edit/editor.h"
#include "faceedit/models/generator.h"
#include "faceedit/models/judges.h"

namespace faceedit::eval {

struct SequenceStep {
  const edit::Editor* editor = nullptr;
  double strength = 1.0;     // magnitude; the sign comes from each face's own attribute
  std::string judge_target;  // the judges' column for the attribute ("" : the editor's attribute name)
};

struct SequenceParams {
  double truncation = 1.0;  // for Z codes
  int64_t batch = 50;
  int64_t grid_rows = 8;
};

struct SequenceResult {
  // {"steps": [{"editor", "strength", "judge_target"}], "n", "after": [per step {"target_change_rate":
  //  {attr: rate for every target so far}, "attribute_preservation_rate" (other judged CelebA
  //  attributes; null when none is left), "identity_preservation", "background_change"}]}
  nlohmann::json json;
  cv::Mat grid;  // rows: faces; columns: original, after step 1, after step 2, ...
};

SequenceResult evaluate_sequence(const models::Generator& generator, const std::vector<SequenceStep>& steps,
                                 const torch::Tensor& latents, models::JudgePanel& judges, const SequenceParams& params);

}  // namespace faceedit::eval
