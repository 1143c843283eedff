#include "faceedit/eval/edit_sweep.h"

#include "faceedit/error.h"
#include "faceedit/io/image.h"
#include "faceedit/progress.h"

namespace faceedit::eval {

// Z codes are truncated when mapped; W and W+ codes were truncated when they were made.
static double psi_for(models::LatentSpace space, double truncation) { return models::Generator::truncation_for(space, truncation); }

torch::Tensor generate_in_batches(const models::Generator& g, const torch::Tensor& codes, models::LatentSpace space,
                                  double truncation, int64_t batch) {
  torch::NoGradGuard no_grad;
  truncation = psi_for(space, truncation);
  std::vector<torch::Tensor> out;
  for (int64_t b = 0; b < codes.size(0); b += batch)
    out.push_back(g.generate(codes.narrow(0, b, std::min(batch, codes.size(0) - b)), space, truncation));
  return torch::cat(out);
}

torch::Tensor sweep_images(const models::Generator& g, const edit::Editor& editor, const torch::Tensor& latents,
                           const std::vector<double>& alphas, double truncation) {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> rows;
  for (int64_t i = 0; i < latents.size(0); ++i) {
    auto code = latents.narrow(0, i, 1).repeat_interleave(static_cast<int64_t>(alphas.size()), 0);
    auto edited = editor.edit(code, torch::tensor(alphas, torch::kFloat).to(latents.device()));
    rows.push_back(g.generate(edited, editor.space(), psi_for(editor.space(), truncation)));
  }
  return torch::cat(rows);
}

SweepResult evaluate_sweep(const models::Generator& g, const edit::Editor& editor, const torch::Tensor& latents,
                           models::JudgePanel& judges, const SweepParams& p) {
  if (p.alphas.empty()) fail("sweep", "needs at least one strength");
  torch::NoGradGuard no_grad;
  const int64_t n = latents.size(0);
  const auto space = editor.space();
  auto original = generate_in_batches(g, latents, space, p.truncation, p.batch);
  if (!judges.attributes) fail("sweep", "needs an attribute judge");
  // The originals are judged once; each strength then costs one judging of its edits.
  const auto judged_original = judge_images(original, judges, /*with_background=*/true);
  auto sign = editor.flip_sign(latents);
  EditMetricsParams mp;
  mp.target = p.judge_target.empty() ? editor.attribute() : p.judge_target;
  SweepResult result;
  result.json = {{"editor", editor.describe()}, {"n", n}, {"judge_target", mp.target}, {"metrics", nlohmann::json::array()}};
  std::vector<double> magnitudes;
  for (double a : p.alphas) magnitudes.push_back(std::abs(a));
  result.json["alphas"] = magnitudes;
  Progress progress("evaluate " + editor.method() + " " + editor.attribute(), static_cast<int64_t>(magnitudes.size()),
                    "strengths", p.progress);
  for (size_t i = 0; i < magnitudes.size(); ++i) {
    auto edited_codes = editor.edit(latents, sign * magnitudes[i]);
    // An edit that leaves the codes as they were (strength 0) is judged as the originals were.
    const bool unchanged = torch::equal(edited_codes, latents);
    auto edited = unchanged ? original : generate_in_batches(g, edited_codes, space, p.truncation, p.batch);
    auto m = compare_judgments(judged_original, unchanged ? judged_original : judge_images(edited, judges, false),
                               judges.attributes->columns(), mp)
                 .to_json();
    m["alpha"] = magnitudes[i];
    // How far the edit moved the codes (the cost side of "strength").
    m["mean_latent_shift"] = (edited_codes - latents).flatten(1).norm(2, 1).mean().item<double>();
    result.json["metrics"].push_back(m);
    progress.update(static_cast<int64_t>(i + 1), "", true);
  }
  // Grid: first rows, each flipped towards its other side, strengths left to right.
  const int64_t rows = std::min(p.grid_rows, n);
  std::vector<torch::Tensor> tiles;
  for (int64_t r = 0; r < rows; ++r) {
    std::vector<double> signed_alphas;
    for (double a : magnitudes) signed_alphas.push_back(a * sign[r].item<double>());
    tiles.push_back(sweep_images(g, editor, latents.narrow(0, r, 1), signed_alphas, p.truncation));
  }
  const int scale = g.resolution() < 128 ? static_cast<int>(128 / g.resolution()) : 1;
  result.grid = io::make_grid(torch::cat(tiles), static_cast<int>(magnitudes.size()), 2, std::max(1, scale));
  return result;
}

}  // namespace faceedit::eval
