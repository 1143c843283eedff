// Calibrated strength: where the guide's label flips on the median held-out face.
#include <cmath>

#include "faceedit/eval/edit_metrics.h"
#include "faceedit/eval/edit_sweep.h"
#include "fit_internal.h"

namespace faceedit::fit {

namespace {

// The guide's probabilities of `images`, `batch` at a time.
torch::Tensor predict_in_batches(models::AttributeClassifier& guide, const torch::Tensor& images, int64_t batch) {
  std::vector<torch::Tensor> parts;
  for (int64_t i = 0; i < images.size(0); i += batch) parts.push_back(guide.predict(images.narrow(0, i, std::min(batch, images.size(0) - i))));
  return torch::cat(parts);
}

// Images for the guide's verdicts: synthesised only up to synthesis_size where the model can stop
// early, else the full images.
torch::Tensor verdict_images(const models::Generator& g, const torch::Tensor& codes, models::LatentSpace space,
                             double truncation, int64_t batch, int64_t synthesis_size) {
  if (!g.stops_early(synthesis_size))
    return eval::generate_in_batches(g, codes, space, truncation, batch);
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> out;
  for (int64_t b = 0; b < codes.size(0); b += batch) {
    const auto part = codes.narrow(0, b, std::min(batch, codes.size(0) - b));
    out.push_back(g.synthesize_preview(g.to_synthesis_codes(part.to(g.device()), space, models::Generator::truncation_for(space, truncation)),
                                       synthesis_size));
  }
  return torch::cat(out);
}

}  // namespace

HeldOut make_heldout(const models::Generator& g, models::JudgePanel& panel, const torch::Tensor& codes, models::LatentSpace space,
                     double truncation, int64_t batch) {
  torch::NoGradGuard no_grad;
  HeldOut h;
  h.codes = codes;
  h.space = space;
  h.judged = eval::judge_images(eval::generate_in_batches(g, codes, space, truncation, batch), panel, false, batch);
  return h;
}

nlohmann::json calibrate_editor(const models::Generator& g, const edit::Editor& editor, models::JudgePanel& panel,
                                const HeldOut& heldout, double truncation, int64_t batch, int64_t synthesis_size) {
  torch::NoGradGuard no_grad;
  const auto& codes = heldout.codes;
  const auto space = editor.space();
  const int64_t col = panel.attributes->column(editor.attribute());
  const bool early = g.stops_early(synthesis_size);
  const auto label0 = (early ? predict_in_batches(*panel.attributes, verdict_images(g, codes, space, truncation, batch, synthesis_size), batch)
                             : heldout.judged.probs)
                          .select(1, col) >= 0.5;
  // Each face moves towards the other side of its attribute as the editor sees it, as `evaluate`
  // moves it, so the pack's strength 1 is what `evaluate --alpha 1` measures.
  const auto sign = editor.flip_sign(codes).to(codes.dtype());
  const auto edited_images = [&](double alpha) {
    return eval::generate_in_batches(g, editor.edit(codes, sign * alpha), space, truncation, batch);
  };
  // The search needs only the guide's verdicts (cheap); identity and preservation are measured
  // afterwards at strengths 1 and 2.
  nlohmann::json probes = nlohmann::json::array();
  const auto rate = [&](double alpha) {
    if (alpha == 0) return 0.0;  // no edit, no flip
    const auto images = verdict_images(g, editor.edit(codes, sign * alpha), space, truncation, batch, synthesis_size);
    const auto label = predict_in_batches(*panel.attributes, images, batch).select(1, col) >= 0.5;
    const double r = (label != label0).to(torch::kDouble).mean().item<double>();
    probes.push_back({{"alpha", alpha}, {"target_change", r}});
    return r;
  };
  const auto crossing = find_crossing(rate, 0.5, 1.0, 64.0, 3);

  eval::EditMetricsParams mp;
  mp.target = editor.attribute();
  mp.batch = batch;
  nlohmann::json measured = nlohmann::json::array();
  nlohmann::json at_one;
  double best = 0;
  for (double s : {1.0, 2.0}) {
    const auto m = eval::compare_judgments(heldout.judged, eval::judge_images(edited_images(s * crossing.alpha), panel, false, batch),
                                           panel.attributes->columns(), mp);
    const nlohmann::json row = {{"strength", s},
                                {"target_change", m.target_change_rate},
                                {"identity", m.identity_preservation},
                                {"attribute_preservation", m.attribute_preservation_rate}};
    measured.push_back(row);
    if (s == 1.0) at_one = row;
    if (m.identity_preservation >= 0.9) best = std::max(best, m.target_change_rate);
  }
  return {{"scale", crossing.alpha},
          {"unit", "guide-median-crossing"},
          {"reached", crossing.reached},
          {"n", codes.size(0)},
          {"probes", probes},
          {"measured", measured},
          {"at_1", at_one},
          {"best_target_at_identity_0.9", best}};
}

}  // namespace faceedit::fit
