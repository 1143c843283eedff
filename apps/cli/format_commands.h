// faceedit CLI: commands for codes and checkpoints of other projects (cmd_formats.cpp): encode
// (pSp/e4e), edit-latents and classify-latents (editors and latent classifiers on given codes).
#pragma once

#include "commands.h"

namespace faceedit::cli {

void add_encode_command(CLI::App& app, const GlobalOptions& global);
void add_edit_latents_command(CLI::App& app, const GlobalOptions& global);
void add_classify_latents_command(CLI::App& app, const GlobalOptions& global);

}  // namespace faceedit::cli
