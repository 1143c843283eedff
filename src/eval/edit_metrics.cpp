#include "faceedit/eval/edit_metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>

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

namespace {

nlohmann::json number_or_null(double x) { return std::isnan(x) ? nlohmann::json(nullptr) : nlohmann::json(x); }

}  // namespace

nlohmann::json EditMetrics::to_json() const {
  nlohmann::json j = {{"n", n},
                      {"target", target},
                      {"target_change_rate", target_change_rate},
                      {"attribute_preservation_rate", number_or_null(attribute_preservation_rate)},
                      {"identity_preservation", identity_preservation},
                      {"preserved_attributes", preserved_attributes},
                      {"preservation_by_attribute", preservation_by_attribute},
                      {"mean_abs_delta_p", mean_abs_delta_p}};
  j["background_change"] = background_change >= 0 ? nlohmann::json(background_change) : nlohmann::json(nullptr);
  return j;
}

namespace {

void check_panel(const models::JudgePanel& judges) {
  if (!judges.attributes || !judges.identity) fail("edit metrics", "needs attribute and identity judges");
}

// Indices of the probability columns checked for preservation (`preserve`, or the CelebA-named ones),
// the target excluded; their names are appended to `names`.
std::vector<int64_t> preserved_columns(const std::vector<models::AttributeColumn>& cols, int64_t target,
                                       const std::vector<std::string>& preserve, std::vector<std::string>& names) {
  const auto& wanted = preserve.empty() ? celeba_attribute_names() : preserve;
  std::vector<int64_t> keep;
  for (size_t i = 0; i < cols.size(); ++i) {
    if (static_cast<int64_t>(i) == target || cols[i].kind != models::ColumnKind::Probability) continue;
    if (std::find(wanted.begin(), wanted.end(), cols[i].name) == wanted.end()) continue;
    keep.push_back(static_cast<int64_t>(i));
    names.push_back(cols[i].name);
  }
  return keep;
}

}  // namespace

Judgments judge_images(const torch::Tensor& images, models::JudgePanel& judges, bool with_background, int64_t batch) {
  check_panel(judges);
  if (images.dim() != 4) fail("edit metrics", "images must be [N, 3, H, W], got " + c10::str(images.sizes()));
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> probs, embeddings, backgrounds;
  for (int64_t b = 0; b < images.size(0); b += batch) {
    auto x = images.narrow(0, b, std::min(batch, images.size(0) - b));
    probs.push_back(judges.attributes->predict(x));
    embeddings.push_back(judges.identity->embed(x));
    if (with_background && judges.segmenter) backgrounds.push_back(1.0 - judges.segmenter->segment(x));
  }
  Judgments j;
  j.images = images;
  j.probs = torch::cat(probs);
  j.embeddings = torch::cat(embeddings);
  if (!backgrounds.empty()) j.background = torch::cat(backgrounds);
  return j;
}

EditMetrics evaluate_edits(const torch::Tensor& original, const torch::Tensor& edited, models::JudgePanel& judges,
                           const EditMetricsParams& params) {
  if (original.sizes() != edited.sizes() || original.dim() != 4)
    fail("edit metrics", "original " + c10::str(original.sizes()) + " and edited " + c10::str(edited.sizes()) +
                             " must be equal-sized [N, 3, H, W] batches");
  check_panel(judges);
  return compare_judgments(judge_images(original, judges, /*with_background=*/true, params.batch),
                           judge_images(edited, judges, /*with_background=*/false, params.batch),
                           judges.attributes->columns(), params);
}

EditMetrics compare_judgments(const Judgments& original, const Judgments& edited,
                              const std::vector<models::AttributeColumn>& cols, const EditMetricsParams& params) {
  if (original.images.sizes() != edited.images.sizes())
    fail("edit metrics", "original " + c10::str(original.images.sizes()) + " and edited " +
                             c10::str(edited.images.sizes()) + " must be equal-sized batches");
  if (params.direction < -1 || params.direction > 1) fail("edit metrics", "direction must be -1, 0 or +1");
  if (!params.measure_preservation && !params.preserve.empty())
    fail("edit metrics", "attributes to preserve given while preservation is not measured");
  auto column_of = [&](const std::string& name) -> int64_t {
    for (size_t i = 0; i < cols.size(); ++i)
      if (cols[i].name == name) return static_cast<int64_t>(i);
    std::string known;
    for (const auto& c : cols) known += (known.empty() ? "" : ", ") + c.name;
    fail("edit metrics", "the attribute judge has no column '" + name + "' (it has: " + known + ")");
  };
  const int64_t target = column_of(params.target);
  if (cols[static_cast<size_t>(target)].kind != models::ColumnKind::Probability)
    fail("edit metrics", "target '" + params.target + "' is not a probability column");

  EditMetrics m;
  m.n = original.images.size(0);
  m.target = params.target;
  std::vector<int64_t> keep;
  if (params.measure_preservation) keep = preserved_columns(cols, target, params.preserve, m.preserved_attributes);
  for (const auto& want : params.preserve) column_of(want);  // unknown names are errors, not silence

  torch::NoGradGuard no_grad;
  const auto& p0 = original.probs;
  const auto& p1 = edited.probs;
  auto label0 = p0 >= params.threshold, label1 = p1 >= params.threshold;
  auto t0 = label0.select(1, target), t1 = label1.select(1, target);
  auto wanted = params.direction == 0 ? t0.logical_not()
                                      : torch::full_like(t0, params.direction > 0);
  m.target_change_rate = (t1 == wanted).to(torch::kDouble).mean().item<double>();
  if (!params.measure_preservation) {
    m.attribute_preservation_rate = std::numeric_limits<double>::quiet_NaN();
  } else if (!keep.empty()) {
    auto idx = torch::tensor(keep, torch::kLong);
    auto same = (label0.index_select(1, idx) == label1.index_select(1, idx)).to(torch::kDouble);
    m.attribute_preservation_rate = same.mean().item<double>();
    auto per = same.mean(0);
    for (size_t k = 0; k < keep.size(); ++k) m.preservation_by_attribute[m.preserved_attributes[k]] = per[static_cast<int64_t>(k)].item<double>();
  } else {
    m.attribute_preservation_rate = 1.0;  // nothing to lose
  }
  m.identity_preservation = (original.embeddings * edited.embeddings).sum(1).mean().item<double>();
  auto delta = (p1 - p0).abs().mean(0);
  for (size_t i = 0; i < cols.size(); ++i)
    if (cols[i].kind == models::ColumnKind::Probability) m.mean_abs_delta_p[cols[i].name] = delta[static_cast<int64_t>(i)].item<double>();
  if (original.background.defined()) {
    auto change = (edited.images - original.images).abs().mean(1, /*keepdim=*/true) * 0.5;  // [-1, 1] -> [0, 1] units
    const double den = original.background.sum().item<double>();
    m.background_change = den > 0 ? (change * original.background).sum().item<double>() / den : 0.0;
  }
  return m;
}

}  // namespace faceedit::eval
