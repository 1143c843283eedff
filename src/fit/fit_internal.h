// Pieces of `faceedit fit` shared by its files (not part of the public API).
#pragma once

#include <torch/torch.h>

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "faceedit/edit/editor.h"
#include "faceedit/edit/pack.h"
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

// Calibration of one editor on held-out codes (its space): the native strength where the guide's
// label flips on half the faces, with each probe's target change, identity and preservation.
nlohmann::json calibrate_editor(const models::Generator& g, const edit::Editor& editor, models::JudgePanel& panel,
                                const torch::Tensor& codes, double truncation, int64_t batch);

// report.html from the pack's editors (calibration and scores filled in).
void write_report(const edit::Pack& pack, const std::string& path);

}  // namespace faceedit::fit
