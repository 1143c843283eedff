#include "faceedit/eval/edit_metrics.h"

#include <algorithm>

#include "faceedit/error.h"

namespace faceedit::eval {

const std::vector<std::string>& celeba_attribute_names() {
  static const std::vector<std::string> names = {
      "5_o_clock_shadow", "arched_eyebrows", "attractive", "bags_under_eyes", "bald", "bangs", "big_lips",
      "big_nose", "black_hair", "blond_hair", "blurry", "brown_hair", "bushy_eyebrows", "chubby", "double_chin",
      "eyeglasses", "goatee", "gray_hair", "heavy_makeup", "high_cheekbones", "male", "mouth_slightly_open",
      "mustache", "narrow_eyes", "no_beard", "oval_face", "pale_skin", "pointy_nose", "receding_hairline",
      "rosy_cheeks", "sideburns", "smiling", "straight_hair", "wavy_hair", "wearing_earrings", "wearing_hat",
      "wearing_lipstick", "wearing_necklace", "wearing_necktie", "young"};
  return names;
}

nlohmann::json EditMetrics::to_json() const {
  nlohmann::json j = {{"n", n},
                      {"target", target},
                      {"target_change_rate", target_change_rate},
                      {"attribute_preservation_rate", attribute_preservation_rate},
                      {"identity_preservation", identity_preservation},
                      {"preserved_attributes", preserved_attributes},
                      {"preservation_by_attribute", preservation_by_attribute},
                      {"mean_abs_delta_p", mean_abs_delta_p}};
  j["background_change"] = background_change >= 0 ? nlohmann::json(background_change) : nlohmann::json(nullptr);
  return j;
}

EditMetrics evaluate_edits(const torch::Tensor& original, const torch::Tensor& edited, models::JudgePanel& judges,
                           const EditMetricsParams& params) {
  if (original.sizes() != edited.sizes() || original.dim() != 4)
    fail("edit metrics", "original " + c10::str(original.sizes()) + " and edited " + c10::str(edited.sizes()) +
                             " must be equal-sized [N, 3, H, W] batches");
  if (params.direction < -1 || params.direction > 1) fail("edit metrics", "direction must be -1, 0 or +1");
  if (!judges.attributes || !judges.identity) fail("edit metrics", "needs attribute and identity judges");
  auto& clf = *judges.attributes;
  const int64_t target = clf.column(params.target);
  const auto& cols = clf.columns();
  if (cols[static_cast<size_t>(target)].kind != models::ColumnKind::Probability)
    fail("edit metrics", "target '" + params.target + "' is not a probability column");

  EditMetrics m;
  m.n = original.size(0);
  m.target = params.target;
  std::vector<int64_t> keep;
  for (size_t i = 0; i < cols.size(); ++i) {
    if (static_cast<int64_t>(i) == target || cols[i].kind != models::ColumnKind::Probability) continue;
    const auto& wanted = params.preserve.empty() ? celeba_attribute_names() : params.preserve;
    if (std::find(wanted.begin(), wanted.end(), cols[i].name) == wanted.end()) continue;
    keep.push_back(static_cast<int64_t>(i));
    m.preserved_attributes.push_back(cols[i].name);
  }
  for (const auto& want : params.preserve) clf.column(want);  // unknown names are errors, not silence

  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> p0s, p1s, cosines;
  double bg_num = 0, bg_den = 0;
  for (int64_t b = 0; b < m.n; b += params.batch) {
    const int64_t len = std::min(params.batch, m.n - b);
    auto x0 = original.narrow(0, b, len), x1 = edited.narrow(0, b, len);
    p0s.push_back(clf.predict(x0));
    p1s.push_back(clf.predict(x1));
    cosines.push_back((judges.identity->embed(x0) * judges.identity->embed(x1)).sum(1));
    if (judges.segmenter) {
      auto background = 1.0 - judges.segmenter->segment(x0);
      auto change = (x1 - x0).abs().mean(1, /*keepdim=*/true) * 0.5;  // [-1, 1] -> [0, 1] units
      bg_num += (change * background).sum().item<double>();
      bg_den += background.sum().item<double>();
    }
  }
  auto p0 = torch::cat(p0s), p1 = torch::cat(p1s);
  auto label0 = p0 >= params.threshold, label1 = p1 >= params.threshold;
  auto t0 = label0.select(1, target), t1 = label1.select(1, target);
  auto wanted = params.direction == 0 ? t0.logical_not()
                                      : torch::full_like(t0, params.direction > 0);
  m.target_change_rate = (t1 == wanted).to(torch::kDouble).mean().item<double>();
  if (!keep.empty()) {
    auto idx = torch::tensor(keep, torch::kLong);
    auto same = (label0.index_select(1, idx) == label1.index_select(1, idx)).to(torch::kDouble);
    m.attribute_preservation_rate = same.mean().item<double>();
    auto per = same.mean(0);
    for (size_t k = 0; k < keep.size(); ++k) m.preservation_by_attribute[m.preserved_attributes[k]] = per[static_cast<int64_t>(k)].item<double>();
  } else {
    m.attribute_preservation_rate = 1.0;
  }
  m.identity_preservation = torch::cat(cosines).mean().item<double>();
  auto delta = (p1 - p0).abs().mean(0);
  for (size_t i = 0; i < cols.size(); ++i)
    if (cols[i].kind == models::ColumnKind::Probability) m.mean_abs_delta_p[cols[i].name] = delta[static_cast<int64_t>(i)].item<double>();
  if (judges.segmenter) m.background_change = bg_den > 0 ? bg_num / bg_den : 0.0;
  return m;
}

}  // namespace faceedit::eval
