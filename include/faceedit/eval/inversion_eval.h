// faceedit — how good and how fast an inversion is: optimisation from random starts (today's
// default) against an encoder's code alone and the encoder's code + N optimisation steps, on
// held-out faces (celebahq-dev: never seen by the guide, the judge or an encoder's training).
//
//   auto r = eval::evaluate_inversions(*g, faces, guide, encoder.get(), {.steps = {0, 25, 100, 300}});
//
// Each face is framed as the generator's faces are (train::frame_for_generator), then inverted once
// per (start, steps) pair with the photo pipeline's losses (MSE + the guide's features + identity);
// the results are the mean PSNR, the guide's identity cosine and the seconds per face.
#pragma once

#include <torch/torch.h>

#include <nlohmann/json.hpp>
#include <vector>

#include "faceedit/models/encoder.h"
#include "faceedit/models/generator.h"
#include "faceedit/pipeline/invert.h"

namespace faceedit::eval {

struct InversionEvalParams {
  std::vector<int> steps = {0, 25, 100, 300};  // 0: the encoder's code alone (skipped without one)
  int starts = 4;                              // random starts of the optimisation without encoder
  bool progress = true;
};

// faces: uint8 [N, 3, H, W] aligned as CelebA-HQ's. Returns {"rows": [{start, steps, psnr_db,
// identity_cosine, seconds_per_face, faces}], ...}; start is "prior" or "encoder".
nlohmann::json evaluate_inversions(const models::Generator& g, const torch::Tensor& faces,
                                   const pipeline::InversionGuides& guides, const models::Encoder* encoder,
                                   const InversionEvalParams& params);

}  // namespace faceedit::eval
