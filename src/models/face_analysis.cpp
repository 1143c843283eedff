#include "faceedit/models/face_analysis.h"
#include "faceedit/io/json_checks.h"

#include <map>
#include <set>

#include "faceedit/error.h"

namespace faceedit::models {

namespace F = torch::nn::functional;

torch::Tensor resize_images(const torch::Tensor& nchw, int64_t h, int64_t w) {
  if (nchw.size(2) == h && nchw.size(3) == w) return nchw;
  // Anti-aliasing matters when a 1024 crop meets a 64x64 network: plain bilinear would alias.
  const bool shrinking = nchw.size(2) > h || nchw.size(3) > w;
  return F::interpolate(nchw, F::InterpolateFuncOptions()
                                  .size(std::vector<int64_t>{h, w})
                                  .mode(torch::kBilinear)
                                  .align_corners(false)
                                  .antialias(shrinking));
}

torch::Tensor InputSpec::prepare(const torch::Tensor& images) const {
  if (images.dim() != 4 || images.size(1) != 3)
    fail("image batch", "expected [N, 3, H, W] RGB, got " + c10::str(images.sizes()));
  auto x = (images.to(torch::kFloat) + 1.0) * 0.5;
  x = resize_images(x, height, width);
  if (color == "bgr") {
    x = x.flip(1);
  } else if (color == "gray") {
    auto wts = torch::tensor(std::vector<float>(gray_weights.begin(), gray_weights.end()), x.options());
    x = (x * wts.view({1, 3, 1, 1})).sum(1, /*keepdim=*/true);
  }
  auto m = torch::tensor(std::vector<float>(mean.begin(), mean.end()), x.options()).view({1, -1, 1, 1});
  auto s = torch::tensor(std::vector<float>(std.begin(), std.end()), x.options()).view({1, -1, 1, 1});
  return (x - m) / s;
}

nlohmann::json InputSpec::to_json() const {
  nlohmann::json j = {{"height", height}, {"width", width}, {"color", color}, {"mean", mean}, {"std", std}};
  if (color == "gray") j["gray_weights"] = gray_weights;
  return j;
}

InputSpec InputSpec::from_json(const nlohmann::json& j, const std::string& what) {
  io::check_json_numbers(j, what);
  InputSpec spec;
  try {
    spec.height = j.at("height").get<int64_t>();
    spec.width = j.at("width").get<int64_t>();
    spec.color = j.at("color").get<std::string>();
    if (spec.color == "gray" && j.contains("gray_weights"))
      spec.gray_weights = j.at("gray_weights").get<std::vector<double>>();
    spec.mean = j.at("mean").get<std::vector<double>>();
    spec.std = j.at("std").get<std::vector<double>>();
  } catch (const nlohmann::json::exception& e) {
    fail(what, std::string("bad \"input\" section: ") + e.what());
  }
  if (spec.color != "rgb" && spec.color != "bgr" && spec.color != "gray")
    fail(what, "input color '" + spec.color + "' is not rgb, bgr or gray");
  if (spec.height < 1 || spec.width < 1 || spec.height > 4096 || spec.width > 4096)
    fail(what, "input size " + std::to_string(spec.height) + "x" + std::to_string(spec.width) + " is out of range");
  const size_t c = static_cast<size_t>(spec.channels());
  if (spec.mean.size() != c || spec.std.size() != c)
    fail(what, "input mean/std need " + std::to_string(c) + " values for color '" + spec.color + "'");
  for (double s : spec.std)
    if (!(s > 0)) fail(what, "input std must be positive");
  if (spec.gray_weights.size() != 3) fail(what, "gray_weights needs 3 values");
  return spec;
}

torch::Tensor AttributeClassifier::logits(const torch::Tensor& images) {
  auto p = predict(images);
  auto logit = torch::logit(p.clamp(1e-6, 1 - 1e-6));
  std::vector<int64_t> prob_cols;
  const auto& cols = columns();
  for (size_t i = 0; i < cols.size(); ++i)
    if (cols[i].kind == ColumnKind::Probability) prob_cols.push_back(static_cast<int64_t>(i));
  if (prob_cols.size() == cols.size()) return logit;
  auto mask = torch::zeros({static_cast<int64_t>(cols.size())}, torch::kBool);
  for (auto i : prob_cols) mask[i] = true;
  return torch::where(mask.to(p.device()).view({1, -1}), logit, p);
}

std::string canonical_attribute(const std::string& name) {
  std::string s = name;
  for (auto& ch : s) {
    ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (ch == '-' || ch == ' ') ch = '_';
  }
  static const std::map<std::string, std::string> aliases = {
      {"smile", "smiling"}, {"smiles", "smiling"}, {"smiley", "smiling"},
      {"glasses", "eyeglasses"}, {"eyeglass", "eyeglasses"}, {"spectacles", "eyeglasses"},
      {"gender", "male"}, {"man", "male"}, {"masculine", "male"},
      {"moustache", "mustache"}, {"beard", "goatee"}, {"stubble", "5_o_clock_shadow"},
      {"youth", "young"}, {"hat", "wearing_hat"}, {"lipstick", "wearing_lipstick"},
      {"earrings", "wearing_earrings"}, {"necklace", "wearing_necklace"}, {"necktie", "wearing_necktie"},
      {"tie", "wearing_necktie"}, {"makeup", "heavy_makeup"}, {"blond", "blond_hair"}, {"blonde", "blond_hair"},
      {"blonde_hair", "blond_hair"}, {"black", "black_hair"}, {"brown", "brown_hair"}, {"gray", "gray_hair"},
      {"grey", "gray_hair"}, {"grey_hair", "gray_hair"}, {"mouth_open", "mouth_slightly_open"},
      {"open_mouth", "mouth_slightly_open"}, {"pale", "pale_skin"}, {"five_o_clock_shadow", "5_o_clock_shadow"}};
  auto it = aliases.find(s);
  return it == aliases.end() ? s : it->second;
}

bool AttributeClassifier::has_column(const std::string& requested) const {
  const std::string n = canonical_attribute(requested);
  for (const auto& c : columns())
    if (c.name == n) return true;
  return false;
}

int64_t AttributeClassifier::column(const std::string& requested) const {
  const std::string n = canonical_attribute(requested);
  const auto& cols = columns();
  for (size_t i = 0; i < cols.size(); ++i)
    if (cols[i].name == n) return static_cast<int64_t>(i);
  std::string names;
  for (const auto& c : cols) names += (names.empty() ? "" : ", ") + c.name;
  fail("classifier " + name(), "has no attribute '" + requested + "'" + (n != requested ? " ('" + n + "')" : std::string()) + " (it has: " + names + ")");
}

CombinedClassifier::CombinedClassifier(std::vector<std::unique_ptr<AttributeClassifier>> parts)
    : parts_(std::move(parts)) {
  if (parts_.empty()) fail("combined classifier", "needs at least one classifier");
  std::set<std::string> taken;
  for (const auto& p : parts_)
    for (auto c : p->columns()) {
      if (!taken.insert(c.name).second) c.name = p->name() + "." + c.name;
      columns_.push_back(c);
    }
}

std::string CombinedClassifier::name() const {
  std::string n;
  for (const auto& p : parts_) n += (n.empty() ? "" : "+") + p->name();
  return n;
}

torch::Tensor CombinedClassifier::predict(const torch::Tensor& images) {
  std::vector<torch::Tensor> outs;
  for (auto& p : parts_) outs.push_back(p->predict(images));
  return torch::cat(outs, 1);
}

torch::Tensor CombinedClassifier::logits(const torch::Tensor& images) {
  std::vector<torch::Tensor> outs;
  for (auto& p : parts_) outs.push_back(p->logits(images));
  return torch::cat(outs, 1);
}

void CombinedClassifier::to(torch::Device device) {
  for (auto& p : parts_) p->to(device);
}

}  // namespace faceedit::models
