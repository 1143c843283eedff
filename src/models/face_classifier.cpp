#include "faceedit/models/face_classifier.h"
#include "faceedit/io/json_checks.h"

#include <filesystem>

#include "faceedit/error.h"
#include "faceedit/io/safetensors.h"
#include "faceedit/models/weights.h"

namespace faceedit::models {

namespace nn = torch::nn;

FaceClassifierConfig::FaceClassifierConfig() {
  input.mean = {0.5, 0.5, 0.5};
  input.std = {0.5, 0.5, 0.5};
}

nlohmann::json FaceClassifierConfig::to_json() const {
  nlohmann::json heads_json = nlohmann::json::array();
  for (const auto& h : heads) heads_json.push_back({{"name", h.name}, {"classes", h.classes}, {"derived", h.derived}});
  return {{"name", name}, {"input", input.to_json()}, {"arch", arch}, {"widths", widths}, {"heads", heads_json}};
}

FaceClassifierConfig FaceClassifierConfig::from_json(const nlohmann::json& j, const std::string& what) {
  io::check_json_numbers(j, what);
  FaceClassifierConfig c;
  try {
    c.name = j.at("name").get<std::string>();
    c.input = InputSpec::from_json(j.at("input"), what);
    c.arch = j.value("arch", std::string("plain"));  // files written before resnet existed are plain
    c.widths = j.at("widths").get<std::vector<int64_t>>();
    for (const auto& h : j.at("heads")) {
      ClassifierHead head;
      head.name = h.at("name").get<std::string>();
      head.classes = h.at("classes").get<std::vector<std::string>>();
      head.derived = h.at("derived").get<std::map<std::string, std::vector<int64_t>>>();
      for (const auto& [col, idx] : head.derived)
        for (auto i : idx)
          if (i < 0 || i >= static_cast<int64_t>(head.classes.size()))
            fail(what, "derived column '" + col + "' names class " + std::to_string(i) + " of head '" + head.name +
                           "', which has " + std::to_string(head.classes.size()));
      c.heads.push_back(head);
    }
  } catch (const nlohmann::json::exception& e) {
    fail(what, std::string("bad classifier config: ") + e.what());
  }
  if (c.widths.empty() || c.heads.empty()) fail(what, "classifier config needs widths and heads");
  if (c.arch != "plain" && c.arch != "resnet") fail(what, "unknown classifier arch '" + c.arch + "' (plain or resnet)");
  for (auto w : c.widths)
    if (w < 1 || w > 4096) fail(what, "classifier width " + std::to_string(w) + " is out of range");
  return c;
}

static int64_t head_size(const ClassifierHead& h) { return h.classes.empty() ? 1 : static_cast<int64_t>(h.classes.size()); }

static void push_conv_bn(nn::Sequential& seq, int64_t cin, int64_t cout, int64_t stride, bool activation) {
  seq->push_back(nn::Conv2d(nn::Conv2dOptions(cin, cout, 3).stride(stride).padding(1).bias(false)));
  seq->push_back(nn::BatchNorm2d(cout));
  if (activation) seq->push_back(nn::LeakyReLU(nn::LeakyReLUOptions().negative_slope(0.2)));
}

ResidualBlockImpl::ResidualBlockImpl(int64_t in, int64_t out, int64_t stride) {
  body = nn::Sequential();
  push_conv_bn(body, in, out, stride, true);
  push_conv_bn(body, out, out, 1, false);
  register_module("body", body);
  shortcut = nn::Sequential();
  if (in != out || stride != 1) {
    shortcut->push_back(nn::Conv2d(nn::Conv2dOptions(in, out, 1).stride(stride).bias(false)));
    shortcut->push_back(nn::BatchNorm2d(out));
  }
  register_module("shortcut", shortcut);
}

torch::Tensor ResidualBlockImpl::forward(const torch::Tensor& x) {
  auto skip = shortcut->size() == 0 ? x : shortcut->forward(x);
  return torch::leaky_relu(body->forward(x) + skip, 0.2);
}

FaceClassifierNetImpl::FaceClassifierNetImpl(const FaceClassifierConfig& config) {
  features = nn::Sequential();
  int64_t in = config.input.channels();
  if (config.arch == "resnet") {
    const int64_t stem = std::max<int64_t>(8, config.widths.front() / 2);
    push_conv_bn(features, in, stem, 1, true);
    in = stem;
    for (auto w : config.widths) {
      features->push_back(ResidualBlock(in, w, 2));
      in = w;
    }
  } else {
    for (auto w : config.widths) {
      push_conv_bn(features, in, w, 2, true);  // down-sampling first keeps full-resolution work small
      push_conv_bn(features, w, w, 1, true);
      in = w;
    }
  }
  register_module("features", features);
  dropout = register_module("dropout", nn::Dropout(0.2));
  int64_t outputs = 0;
  for (const auto& h : config.heads) outputs += head_size(h);
  heads = register_module("heads", nn::Linear(in, outputs));
}

torch::Tensor FaceClassifierNetImpl::forward(const torch::Tensor& x) {
  auto f = features->forward(x).mean({2, 3});
  return heads->forward(dropout->forward(f));
}

FaceClassifier::FaceClassifier(FaceClassifierConfig config) : config_(std::move(config)) {
  net_ = FaceClassifierNet(config_);
  net_->eval();
  for (const auto& h : config_.heads) {
    if (h.classes.empty()) {
      columns_.push_back({h.name, ColumnKind::Probability});
      continue;
    }
    for (const auto& c : h.classes) columns_.push_back({h.name + "_" + c, ColumnKind::Probability});
    for (const auto& d : h.derived) columns_.push_back({d.first, ColumnKind::Probability});
  }
}

std::vector<std::pair<int64_t, int64_t>> FaceClassifier::head_slices() const {
  std::vector<std::pair<int64_t, int64_t>> s;
  int64_t off = 0;
  for (const auto& h : config_.heads) {
    s.emplace_back(off, head_size(h));
    off += head_size(h);
  }
  return s;
}

torch::Tensor FaceClassifier::columns_from_logits(const torch::Tensor& logits, bool as_logits) const {
  std::vector<torch::Tensor> cols;
  auto slices = head_slices();
  for (size_t i = 0; i < config_.heads.size(); ++i) {
    const auto& h = config_.heads[i];
    auto z = logits.narrow(1, slices[i].first, slices[i].second);
    if (h.classes.empty()) {
      cols.push_back(as_logits ? z : torch::sigmoid(z));
      continue;
    }
    auto log_p = torch::log_softmax(z, 1);
    std::vector<torch::Tensor> log_parts = {log_p};
    for (const auto& d : h.derived) {
      auto idx = torch::tensor(d.second, torch::kLong).to(z.device());
      log_parts.push_back(torch::logsumexp(log_p.index_select(1, idx), 1, /*keepdim=*/true));
    }
    auto log_all = torch::cat(log_parts, 1);
    // logit(p) = log p - log(1 - p), computed stably from log p.
    cols.push_back(as_logits ? log_all - torch::log(-torch::expm1(log_all.clamp_max(-1e-7))) : log_all.exp());
  }
  return torch::cat(cols, 1);
}

torch::Tensor FaceClassifier::predict(const torch::Tensor& images) { return columns_from_logits(head_logits(images), false); }
torch::Tensor FaceClassifier::logits(const torch::Tensor& images) { return columns_from_logits(head_logits(images), true); }

void FaceClassifier::save(const std::string& path, const nlohmann::json& extra, bool half) const {
  save_module(path, *net_, "face-classifier", config_.to_json(), extra, half);
}

std::unique_ptr<FaceClassifier> load_face_classifier(const std::string& path) {
  io::SafetensorsReader file(path);
  const nlohmann::json j = read_config(file, "face-classifier", "face classifier");
  auto clf = std::make_unique<FaceClassifier>(FaceClassifierConfig::from_json(j, path));
  auto targets = module_tensors(*clf->net());
  load_tensors(file, targets, "the face classifier config in its metadata");
  return clf;
}

std::unique_ptr<AttributeClassifier> open_attribute_classifier(const std::string& path) {
  const std::string ext = std::filesystem::path(path).extension().string();
  if (ext == ".safetensors") return load_face_classifier(path);
  if (ext == ".pt") return load_attribute_classifier(path);
  fail(path, "unknown classifier format '" + ext + "' (expected .safetensors or a TorchScript .pt with its .json)");
}

}  // namespace faceedit::models
