// faceedit boundary: parses and calls edit::train_boundary_files (edit/boundary_job.h): an InterFaceGAN
// attribute boundary (linear SVM) from a samples directory.
//
//   faceedit boundary --samples samples/ --attr smiling --space w -o smiling.safetensors
//     writes smiling.safetensors (normal, offset, report) and smiling.npy (InterFaceGAN layout).
//   faceedit boundary --samples samples/ --attr smiling --space w --condition male,young -o s.safetensors
//     also trains `male` and `young` from the same samples, and writes the primary projected
//     orthogonal to them as s.safetensors / s.npy, the unprojected one as s.plain.safetensors / s.plain.npy.
//   ... --condition male,young --condition-boundaries male.npy,young.npy
//     takes the condition directions from those files instead (official .npy boundaries work);
//     --condition-boundaries alone names the conditions after the files.
//
// Prints the JSON report (chosen counts, train/validation/remaining accuracy, training seconds,
// and per condition the cosine with the primary before and after projecting).
#include <iostream>

#include "commands.h"
#include "faceedit/edit/interfacegan/boundary_job.h"

namespace faceedit::cli {


void add_boundary_command(CLI::App& app, const GlobalOptions& /*global*/) {
  auto* cmd = app.add_subcommand("boundary", "Train an InterFaceGAN attribute boundary (linear SVM) from sampled, scored latents");
  struct Options {
    std::string samples, attr, space, out;
    std::vector<std::string> conditions, condition_files;
    edit::BoundaryParams params;
  };
  auto o = std::make_shared<Options>();
  cmd->add_option("--samples", o->samples, "samples directory (manifest.json + shards, from `faceedit sample`)")->required();
  attribute_option(cmd->add_option("--attr", o->attr, "score column to separate (e.g. smiling)")->required());
  cmd->add_option("--space", o->space, "latent space: z or w (default: w when the samples have it, else z)");
  cmd->add_option("--ratio", o->params.ratio, "share of samples taken as positives and as negatives, (0, 0.5]")
      ->capture_default_str();
  cmd->add_option("--split", o->params.split, "share of the chosen samples used for training, (0, 1)")->capture_default_str();
  cmd->add_option("--C", o->params.C, "SVM cost (scikit-learn's default 1)")->capture_default_str();
  cmd->add_option("--seed", o->params.seed, "shuffling seed")->capture_default_str();
  attribute_option(cmd->add_option("--condition", o->conditions, "attributes to stay independent of: project the direction orthogonal to theirs")
      ->delimiter(','));
  cmd->add_option("--condition-boundaries", o->condition_files,
                  "condition boundary files (.npy/.safetensors), one per --condition; default: train them from --samples")
      ->delimiter(',');
  cmd->add_option("-o,--output", o->out, "boundary to write (.safetensors; a .npy is written next to it)")->required();
  cmd->callback([o] {
    edit::BoundaryJob job{o->samples, o->attr, models::parse_optional_latent_space(o->space), o->conditions, o->condition_files, o->params};
    const auto report = edit::train_boundary_files(job, o->out);
    for (const auto& w : report["written"]) std::cerr << "wrote " << w.get<std::string>() << "\n";
    std::cout << report.dump() << "\n";
  });
}

}  // namespace faceedit::cli
