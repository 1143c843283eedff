// faceedit boundary: trains an InterFaceGAN attribute boundary (linear SVM) from a samples directory.
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
#include <filesystem>
#include <iostream>

#include "commands.h"
#include "faceedit/edit/boundary.h"
#include "faceedit/edit/sampling.h"
#include "faceedit/error.h"

namespace faceedit::cli {

namespace {

std::string with_suffix(const std::string& out, const std::string& suffix) {
  const std::string ext = ".safetensors";
  return out.substr(0, out.size() - ext.size()) + suffix;
}

}  // namespace

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
    namespace fs = std::filesystem;
    const std::string ext = ".safetensors";
    if (o->out.size() <= ext.size() || o->out.compare(o->out.size() - ext.size(), ext.size(), ext) != 0)
      fail("-o " + o->out, "give -o NAME.safetensors (NAME.npy is written next to it)");
    const fs::path parent = fs::absolute(o->out).parent_path();
    if (!fs::is_directory(parent)) fail("-o " + o->out, "output directory " + parent.string() + " does not exist");
    if (!o->condition_files.empty() && !o->conditions.empty() && o->conditions.size() != o->condition_files.size())
      fail("--condition-boundaries", "give one file per --condition (" + std::to_string(o->conditions.size()) +
                                         " conditions, " + std::to_string(o->condition_files.size()) + " files)");
    if (!o->space.empty() && o->space != "z" && o->space != "w") fail("--space " + o->space, "boundaries are trained in z or w");

    const auto samples = edit::read_boundary_samples(o->samples, o->space);
    const auto scores = edit::score_column(samples, o->attr);
    // Resolve every input before the (longer) training runs.
    std::vector<torch::Tensor> condition_scores;
    std::vector<edit::Boundary> conditions;
    if (o->condition_files.empty()) {
      for (const auto& name : o->conditions) condition_scores.push_back(edit::score_column(samples, name));
    } else {
      for (size_t i = 0; i < o->condition_files.size(); ++i) {
        auto c = edit::load_boundary(o->condition_files[i]);
        if (!o->conditions.empty()) c.attribute = o->conditions[i];
        edit::check_dimension(c, samples.latents.size(1), o->condition_files[i]);
        conditions.push_back(c);
      }
    }

    const auto rows = edit::scored_rows(samples.latents, scores);
    if (rows.unscored > 0)
      std::cerr << "boundary: " << rows.unscored << " of " << scores.numel() << " samples have no " << o->attr
                << " score (e.g. no face found); trained on the rest\n";
    auto primary = edit::train_boundary(rows.latents, rows.scores, o->params);
    primary.attribute = o->attr;
    primary.space = samples.space;
    primary.report["attribute"] = o->attr;
    primary.report["space"] = samples.space;
    primary.report["samples_dir"] = o->samples;
    primary.report["unscored_samples"] = rows.unscored;
    for (size_t i = 0; i < condition_scores.size(); ++i) {
      const auto c_rows = edit::scored_rows(samples.latents, condition_scores[i]);
      auto c = edit::train_boundary(c_rows.latents, c_rows.scores, o->params);
      c.attribute = o->conditions[i];
      c.space = samples.space;
      c.report.erase("total_seconds");
      conditions.push_back(c);
    }

    nlohmann::json report = primary.report;
    std::vector<std::string> written;
    if (conditions.empty()) {
      edit::save_boundary(primary, o->out);
      edit::save_boundary(primary, with_suffix(o->out, ".npy"));
      written = {o->out, with_suffix(o->out, ".npy")};
    } else {
      auto projected = edit::condition_boundary(primary, conditions);
      nlohmann::json condition_reports = nlohmann::json::array();
      for (size_t i = 0; i < conditions.size(); ++i) {
        auto entry = projected.report["conditions"][i];
        entry["source"] = o->condition_files.empty() ? "trained from " + o->samples : o->condition_files[i];
        if (o->condition_files.empty()) entry["training"] = conditions[i].report;
        condition_reports.push_back(entry);
      }
      projected.report["conditions"] = condition_reports;
      report = projected.report;
      edit::save_boundary(projected, o->out);
      edit::save_boundary(projected, with_suffix(o->out, ".npy"));
      edit::save_boundary(primary, with_suffix(o->out, ".plain.safetensors"));
      edit::save_boundary(primary, with_suffix(o->out, ".plain.npy"));
      written = {o->out, with_suffix(o->out, ".npy"), with_suffix(o->out, ".plain.safetensors"),
                 with_suffix(o->out, ".plain.npy")};
    }
    report["written"] = written;
    for (const auto& w : written) std::cerr << "wrote " << w << "\n";
    std::cout << report.dump() << "\n";
  });
}

}  // namespace faceedit::cli
