#include "faceedit/edit/interfacegan/boundary_job.h"

#include <filesystem>

#include "faceedit/edit/interfacegan/sampling.h"
#include "faceedit/error.h"
#include "faceedit/progress.h"

namespace faceedit::edit {

namespace {

std::string with_suffix(const std::string& out, const std::string& suffix) {
  const std::string ext = ".safetensors";
  return out.substr(0, out.size() - ext.size()) + suffix;
}

}  // namespace

nlohmann::json train_boundary_files(const BoundaryJob& job, const std::string& out) {
  namespace fs = std::filesystem;
  const std::string ext = ".safetensors";
  if (out.size() <= ext.size() || out.compare(out.size() - ext.size(), ext.size(), ext) != 0)
    fail("-o " + out, "give -o NAME.safetensors (NAME.npy is written next to it)");
  const fs::path parent = fs::absolute(out).parent_path();
  if (!fs::is_directory(parent)) fail("-o " + out, "output directory " + parent.string() + " does not exist");
  if (!job.condition_files.empty() && !job.conditions.empty() && job.conditions.size() != job.condition_files.size())
    fail("--condition-boundaries", "give one file per --condition (" + std::to_string(job.conditions.size()) + " conditions, " +
                                       std::to_string(job.condition_files.size()) + " files)");
  if (job.space == models::LatentSpace::WPlus) fail("--space wplus", "boundaries are trained in z or w");

  const auto samples = read_boundary_samples(job.samples, job.space);
  const auto scores = score_column(samples, job.attribute);
  // Every input resolved before the (longer) training runs.
  std::vector<torch::Tensor> condition_scores;
  std::vector<Boundary> conditions;
  if (job.condition_files.empty()) {
    for (const auto& name : job.conditions) condition_scores.push_back(score_column(samples, name));
  } else {
    for (size_t i = 0; i < job.condition_files.size(); ++i) {
      auto c = load_boundary(job.condition_files[i]);
      if (!job.conditions.empty()) c.attribute = job.conditions[i];
      check_dimension(c, samples.latents.size(1), job.condition_files[i]);
      conditions.push_back(c);
    }
  }

  const auto rows = scored_rows(samples.latents, scores);
  if (rows.unscored > 0)
    log_line(log_text("boundary: ", rows.unscored, " of ", scores.numel(), " samples have no ", job.attribute,
                      " score (e.g. no face found); trained on the rest"));
  auto primary = train_boundary(rows.latents, rows.scores, job.params);
  primary.attribute = job.attribute;
  primary.space = samples.space;
  primary.report["attribute"] = job.attribute;
  primary.report["space"] = samples.space;
  primary.report["samples_dir"] = job.samples;
  primary.report["unscored_samples"] = rows.unscored;
  for (size_t i = 0; i < condition_scores.size(); ++i) {
    const auto c_rows = scored_rows(samples.latents, condition_scores[i]);
    auto c = train_boundary(c_rows.latents, c_rows.scores, job.params);
    c.attribute = job.conditions[i];
    c.space = samples.space;
    c.report.erase("total_seconds");
    conditions.push_back(c);
  }

  nlohmann::json report = primary.report;
  std::vector<std::string> written;
  if (conditions.empty()) {
    save_boundary(primary, out);
    save_boundary(primary, with_suffix(out, ".npy"));
    written = {out, with_suffix(out, ".npy")};
  } else {
    auto projected = condition_boundary(primary, conditions);
    nlohmann::json condition_reports = nlohmann::json::array();
    for (size_t i = 0; i < conditions.size(); ++i) {
      auto entry = projected.report["conditions"][i];
      entry["source"] = job.condition_files.empty() ? "trained from " + job.samples : job.condition_files[i];
      if (job.condition_files.empty()) entry["training"] = conditions[i].report;
      condition_reports.push_back(entry);
    }
    projected.report["conditions"] = condition_reports;
    report = projected.report;
    save_boundary(projected, out);
    save_boundary(projected, with_suffix(out, ".npy"));
    save_boundary(primary, with_suffix(out, ".plain.safetensors"));
    save_boundary(primary, with_suffix(out, ".plain.npy"));
    written = {out, with_suffix(out, ".npy"), with_suffix(out, ".plain.safetensors"), with_suffix(out, ".plain.npy")};
  }
  report["written"] = written;
  return report;
}

}  // namespace faceedit::edit
