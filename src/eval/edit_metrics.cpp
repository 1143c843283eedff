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

FaceComparison compare_faces(const Judgments& original, const Judgments& edited) {
  if (original.images.sizes() != edited.images.sizes())
    fail("edit metrics", "original " + c10::str(original.images.sizes()) + " and edited " +
                             c10::str(edited.images.sizes()) + " must be equal-sized batches");
  torch::NoGradGuard no_grad;
  FaceComparison c;
  c.p0 = original.probs.to(torch::kCPU, torch::kFloat);
  c.p1 = edited.probs.to(torch::kCPU, torch::kFloat);
  c.identity = (original.embeddings * edited.embeddings).sum(1).to(torch::kCPU, torch::kDouble);
  if (original.background.defined()) {
    // Per face, summed in double in one fixed order, so that faces judged by different processes
    // (distributed.h) add up to the same bits as faces judged together.
    auto change = ((edited.images - original.images).abs().mean(1, /*keepdim=*/true) * 0.5)  // [-1, 1] -> [0, 1] units
                      .to(torch::kCPU, torch::kDouble).contiguous();
    auto bg = original.background.to(torch::kCPU, torch::kDouble).contiguous();
    const int64_t n = change.size(0), per = change[0].numel();
    c.background_num = torch::zeros({n}, torch::kDouble);
    c.background_den = torch::zeros({n}, torch::kDouble);
    const double* ch = change.data_ptr<double>();
    const double* b = bg.data_ptr<double>();
    for (int64_t i = 0; i < n; ++i) {
      double num = 0, den = 0;
      for (int64_t k = i * per; k < (i + 1) * per; ++k) num += ch[k] * b[k], den += b[k];
      c.background_num[i] = num;
      c.background_den[i] = den;
    }
  }
  return c;
}

FaceComparison concat_comparisons(const std::vector<FaceComparison>& parts) {
  if (parts.empty()) fail("edit metrics", "no faces to compare");
  std::vector<torch::Tensor> p0, p1, id, num, den;
  for (const auto& c : parts) {
    p0.push_back(c.p0), p1.push_back(c.p1), id.push_back(c.identity);
    if (c.background_num.defined()) num.push_back(c.background_num), den.push_back(c.background_den);
  }
  FaceComparison all{torch::cat(p0), torch::cat(p1), torch::cat(id), {}, {}};
  if (num.size() == parts.size()) all.background_num = torch::cat(num), all.background_den = torch::cat(den);
  return all;
}

namespace {
// Sums in one fixed order (row by row, in double): the same bits whatever LibTorch's thread count.
std::vector<double> column_sums(const torch::Tensor& x) {
  auto d = x.to(torch::kDouble).contiguous();
  const int64_t n = d.size(0), c = d.dim() > 1 ? d.size(1) : 1;
  std::vector<double> s(static_cast<size_t>(c), 0.0);
  const double* p = d.data_ptr<double>();
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < c; ++j) s[static_cast<size_t>(j)] += p[i * c + j];
  return s;
}
}  // namespace

EditMetrics compare_judgments(const Judgments& original, const Judgments& edited,
                              const std::vector<models::AttributeColumn>& cols, const EditMetricsParams& params) {
  return reduce_comparison(compare_faces(original, edited), cols, params);
}

EditMetrics reduce_comparison(const FaceComparison& faces, const std::vector<models::AttributeColumn>& cols,
                              const EditMetricsParams& params) {
  if (params.direction < -1 || params.direction > 1) fail("edit metrics", "direction must be -1, 0 or +1");
  if (!params.measure_preservation && !params.preserve.empty())
    fail("edit metrics", "attributes to preserve given while preservation is not measured");
  if (faces.p0.dim() != 2 || faces.p0.sizes() != faces.p1.sizes() || faces.p0.size(1) != static_cast<int64_t>(cols.size()))
    fail("edit metrics", "the judgments do not match the judge's " + std::to_string(cols.size()) + " columns");
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
  m.n = faces.p0.size(0);
  m.target = params.target;
  const double n = static_cast<double>(std::max<int64_t>(1, m.n));
  std::vector<int64_t> keep;
  if (params.measure_preservation) keep = preserved_columns(cols, target, params.preserve, m.preserved_attributes);
  for (const auto& want : params.preserve) column_of(want);  // unknown names are errors, not silence
  torch::NoGradGuard no_grad;
  const auto& p0 = faces.p0;
  const auto& p1 = faces.p1;
  auto label0 = p0 >= params.threshold, label1 = p1 >= params.threshold;
  auto t0 = label0.select(1, target), t1 = label1.select(1, target);
  auto wanted = params.direction == 0 ? t0.logical_not()
                                      : torch::full_like(t0, params.direction > 0);
  // Counts are exact in double in any order; sums of reals go through column_sums.
  m.target_change_rate = (t1 == wanted).sum().item<double>() / n;
  if (!params.measure_preservation) {
    m.attribute_preservation_rate = std::numeric_limits<double>::quiet_NaN();
  } else if (!keep.empty()) {
    auto idx = torch::tensor(keep, torch::kLong);
    auto same = (label0.index_select(1, idx) == label1.index_select(1, idx)).to(torch::kDouble);
    m.attribute_preservation_rate = same.sum().item<double>() / (n * static_cast<double>(keep.size()));
    auto per = same.sum(0);
    for (size_t k = 0; k < keep.size(); ++k)
      m.preservation_by_attribute[m.preserved_attributes[k]] = per[static_cast<int64_t>(k)].item<double>() / n;
  } else {
    m.attribute_preservation_rate = 1.0;  // nothing to lose
  }
  m.identity_preservation = column_sums(faces.identity)[0] / n;
  const auto delta = column_sums((p1 - p0).abs());
  for (size_t i = 0; i < cols.size(); ++i)
    if (cols[i].kind == models::ColumnKind::Probability) m.mean_abs_delta_p[cols[i].name] = delta[i] / n;
  if (faces.background_num.defined()) {
    const double num = column_sums(faces.background_num)[0], den = column_sums(faces.background_den)[0];
    m.background_change = den > 0 ? num / den : 0.0;
  }
  return m;
}

}  // namespace faceedit::eval
