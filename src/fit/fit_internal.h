// Pieces of `faceedit fit` shared by its files (not part of the public API).
#pragma once

#include <torch/torch.h>

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "faceedit/edit/editor.h"
#include "faceedit/edit/pack.h"
#include "faceedit/eval/edit_metrics.h"
#include "faceedit/fit/fit.h"
#include "faceedit/models/generator.h"
#include "faceedit/models/judges.h"

namespace faceedit::fit {

// The weights from the latent to the generator's first layer(s), one row per output unit: the
// DCGAN's first transposed convolution ([C*16, z_dim]), StyleGAN2's style affines of every
// synthesis convolution ([sum C, w_dim]).
torch::Tensor first_layer_rows(const models::Generator& g);

// The top-k right singular vectors of `rows` (eigenvectors of rows^T rows, no normalisation), as
// unit rows [k, dim]: the directions of largest output variance of a linear layer fed isotropic codes.
torch::Tensor right_singular_directions(const torch::Tensor& rows, int64_t k);

// The held-out faces of a calibration, judged once (guide columns and identity) for every editor.
struct HeldOut {
  torch::Tensor codes;
  models::LatentSpace space = models::LatentSpace::Z;
  eval::Judgments judged;
};
HeldOut make_heldout(const models::Generator& g, models::JudgePanel& panel, const torch::Tensor& codes, models::LatentSpace space,
                     double truncation, int64_t batch);

// Calibration of one editor on held-out faces of its space: the native strength where the guide's
// label flips on half the faces (doubling, 3 bisection steps, interpolation), then target change,
// identity and preservation at strengths 1 and 2. synthesis_size > 0: the search's verdicts come from
// images synthesised up to that size (Generator::synthesize_preview; a 1024-px StyleGAN2 stops at
// 64 px), the measures at 1 and 2 from full images.
nlohmann::json calibrate_editor(const models::Generator& g, const edit::Editor& editor, models::JudgePanel& panel,
                                const HeldOut& heldout, double truncation, int64_t batch, int64_t synthesis_size);

// report.html from the pack's editors (calibration and scores filled in).
void write_report(const edit::Pack& pack, const std::string& path);

}  // namespace faceedit::fit
