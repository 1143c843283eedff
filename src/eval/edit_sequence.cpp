#include "faceedit/eval/edit_sequence.h"

#include <algorithm>

#include "faceedit/error.h"
#include "faceedit/eval/edit_metrics.h"
#include "faceedit/eval/edit_sweep.h"
#include "faceedit/io/image.h"

namespace faceedit::eval {

SequenceResult evaluate_sequence(const models::Generator& g, const std::vector<SequenceStep>& steps,
                                 const torch::Tensor& latents, models::JudgePanel& judges, const SequenceParams& p) {
  if (steps.empty()) fail("sequence", "needs at least one step");
  if (!judges.attributes || !judges.identity) fail("sequence", "needs attribute and identity judges");
  const auto space = steps[0].editor->space();
  std::vector<std::string> targets;
  for (const auto& s : steps) {
    if (!s.editor) fail("sequence", "a step has no editor");
    if (s.editor->space() != space)
      fail("sequence", "every editor must work in one latent space: " + steps[0].editor->method() + " edits " +
                           models::to_string(space) + ", " + s.editor->method() + " edits " +
                           models::to_string(s.editor->space()));
    targets.push_back(s.judge_target.empty() ? s.editor->attribute() : s.judge_target);
  }
  const auto& columns = judges.attributes->columns();
  for (const auto& t : targets) judges.attributes->column(t);  // unknown targets fail here, naming the judge's columns
  // Preserved: judged CelebA-named probabilities that no step targets.
  std::vector<std::string> others;
  for (const auto& c : columns) {
    const auto& names = celeba_attribute_names();
    if (c.kind != models::ColumnKind::Probability) continue;
    if (std::find(names.begin(), names.end(), c.name) == names.end()) continue;
    if (std::find(targets.begin(), targets.end(), c.name) != targets.end()) continue;
    others.push_back(c.name);
  }

  torch::NoGradGuard no_grad;
  const auto original = judge_images(generate_in_batches(g, latents, space, p.truncation, p.batch), judges, true, p.batch);
  SequenceResult r;
  r.json = {{"n", latents.size(0)}, {"steps", nlohmann::json::array()}, {"after", nlohmann::json::array()}};
  auto codes = latents;
  std::vector<torch::Tensor> stages = {original.images};
  for (size_t k = 0; k < steps.size(); ++k) {
    const auto& step = steps[k];
    codes = step.editor->edit(codes, step.editor->flip_sign(latents) * std::abs(step.strength));
    const auto edited = judge_images(generate_in_batches(g, codes, space, p.truncation, p.batch), judges, false, p.batch);
    stages.push_back(edited.images);
    r.json["steps"].push_back({{"editor", step.editor->describe()}, {"strength", std::abs(step.strength)}, {"judge_target", targets[k]}});
    nlohmann::json after = {{"target_change_rate", nlohmann::json::object()}};
    for (size_t t = 0; t <= k; ++t) {
      EditMetricsParams mp;
      mp.target = targets[t];
      mp.preserve = others;
      // When every judged CelebA attribute is a target, none is left to preserve: the rate is not
      // measured (null below). An empty `preserve` alone would mean "all CelebA columns".
      mp.measure_preservation = !others.empty();
      auto m = compare_judgments(original, edited, columns, mp);
      after["target_change_rate"][targets[t]] = m.target_change_rate;
      if (t == 0) {
        after["attribute_preservation_rate"] = mp.measure_preservation ? nlohmann::json(m.attribute_preservation_rate) : nlohmann::json(nullptr);
        after["identity_preservation"] = m.identity_preservation;
        after["background_change"] = m.background_change >= 0 ? nlohmann::json(m.background_change) : nlohmann::json(nullptr);
      }
    }
    r.json["after"].push_back(after);
  }
  // Grid: per face, its stages left to right.
  const int64_t rows = std::min(p.grid_rows, latents.size(0));
  std::vector<torch::Tensor> tiles;
  for (int64_t i = 0; i < rows; ++i)
    for (const auto& s : stages) tiles.push_back(s.narrow(0, i, 1));
  const int scale = g.resolution() < 128 ? static_cast<int>(128 / g.resolution()) : 1;
  r.grid = io::make_grid(torch::cat(tiles), static_cast<int>(stages.size()), 2, std::max(1, scale));
  return r;
}

}  // namespace faceedit::eval
