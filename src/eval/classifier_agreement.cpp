#include "faceedit/eval/classifier_agreement.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "faceedit/error.h"
#include "faceedit/io/image.h"
#include "faceedit/face/align.h"
#include "faceedit/runtime.h"
#include "faceedit/train/face_datasets.h"

namespace faceedit::eval {

namespace fs = std::filesystem;

LabelledImages load_celebahq_labelled(int crop_size) {
  const fs::path dir = shared_root() / "data/celebahq-photos";
  const fs::path list = dir / "list_attr_celeba.txt";
  std::ifstream in(list);
  if (!in) fail(list.string(), "not found (faceedit's shared data, data/celebahq-photos; set FACEEDIT_SHARED)");
  std::string header;
  std::getline(in, header);
  std::vector<std::string> names;
  {
    std::istringstream hs(header);
    for (std::string n; hs >> n;) names.push_back(n);
  }
  std::map<std::string, std::vector<int64_t>> labels;
  std::vector<torch::Tensor> images;
  face::FaceDetector detector;
  for (std::string line; std::getline(in, line);) {
    std::istringstream ls(line);
    std::string file;
    if (!(ls >> file)) continue;
    std::vector<int> values;
    for (int v; ls >> v;) values.push_back(v);
    if (values.size() != names.size()) fail(list.string(), "line for " + file + " has " + std::to_string(values.size()) + " values, header has " + std::to_string(names.size()));
    auto face = face::align_single_face(detector, io::read_image((dir / file).string()), crop_size, file);
    images.push_back(io::image_to_tensor(face.crop));
    for (size_t i = 0; i < names.size(); ++i)
      labels[train::celeba_column(names[i])].push_back(values[i] > 0 ? 1 : 0);
  }
  LabelledImages out{"celebahq", torch::cat(images), {}};
  for (auto& [k, v] : labels) out.labels[k] = torch::tensor(v, torch::kLong);
  return out;
}

LabelledImages load_heldout_labelled(const std::string& set_name, int64_t limit) {
  auto all = train::load_labelled_faces(set_name);
  // celebahq-dev is held out as a whole; the others as `faceedit train-classifier` holds them out
  // (seed 0, the default fraction).
  auto heldout = set_name == "celebahq-dev" ? all : train::split_holdout(all, 0.1, 0).second;
  if (limit > 0 && limit < heldout.size()) heldout = heldout.subset(torch::arange(limit, torch::kLong));
  LabelledImages out{set_name == "celebahq-dev" ? set_name : set_name + "-heldout", train::to_model_range(heldout.images), {}};
  for (const auto& col : train::celeba_columns())
    if (heldout.labels.count(col)) out.labels[col] = heldout.labels.at(col);
  if (heldout.labels.count("age")) out.labels["young"] = (heldout.labels.at("age") <= 1).to(torch::kLong);
  return out;
}

LabelledImages load_labelled_set(const std::string& set_name, int64_t limit) {
  return set_name == "celebahq" ? load_celebahq_labelled() : load_heldout_labelled(set_name, limit);
}

double roc_auc(const torch::Tensor& scores, const torch::Tensor& labels) {
  auto s = scores.to(torch::kDouble).flatten(), y = labels.to(torch::kBool).flatten();
  auto pos = s.masked_select(y), neg = s.masked_select(y.logical_not());
  if (pos.numel() == 0 || neg.numel() == 0) return std::nan("");
  auto gt = (pos.view({-1, 1}) > neg.view({1, -1})).to(torch::kDouble);
  auto eq = (pos.view({-1, 1}) == neg.view({1, -1})).to(torch::kDouble);
  return (gt.sum() + 0.5 * eq.sum()).item<double>() / static_cast<double>(pos.numel() * neg.numel());
}

nlohmann::json classifier_agreement(models::AttributeClassifier& clf, const LabelledImages& set,
                                    const std::vector<int64_t>& round_trip_sizes, int64_t batch) {
  nlohmann::json out = nlohmann::json::object();
  std::vector<std::string> attrs;
  for (const auto& [attr, _] : set.labels)
    if (clf.has_column(attr)) attrs.push_back(attr);
  if (attrs.empty()) return out;
  torch::NoGradGuard no_grad;
  std::vector<int64_t> sizes = {0};
  sizes.insert(sizes.end(), round_trip_sizes.begin(), round_trip_sizes.end());
  const int64_t n = set.images.size(0), h = set.images.size(2), w = set.images.size(3);
  for (int64_t size : sizes) {
    std::vector<torch::Tensor> preds;
    for (int64_t b = 0; b < n; b += batch) {
      auto x = set.images.narrow(0, b, std::min(batch, n - b));
      if (size > 0) x = models::resize_images(models::resize_images(x, size, size), h, w);
      preds.push_back(clf.predict(x));
    }
    auto p = torch::cat(preds);
    const std::string key = size == 0 ? "full" : std::to_string(size) + "px";
    for (const auto& attr : attrs) {
      auto score = p.select(1, clf.column(attr));
      auto y = set.labels.at(attr);
      auto pred = (score >= 0.5).to(torch::kLong);
      const double acc = (pred == y).to(torch::kDouble).mean().item<double>();
      const double tpr = ((pred == 1) & (y == 1)).sum().item<double>() / std::max(1.0, (y == 1).sum().item<double>());
      const double tnr = ((pred == 0) & (y == 0)).sum().item<double>() / std::max(1.0, (y == 0).sum().item<double>());
      out[attr][key] = {{"accuracy", acc}, {"balanced_accuracy", (tpr + tnr) / 2}, {"auc", roc_auc(score, y)}, {"n", n}};
    }
  }
  return out;
}

}  // namespace faceedit::eval
