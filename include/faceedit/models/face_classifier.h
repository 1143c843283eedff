// faceedit — our own supervision classifiers: a small CNN with one head per attribute.
//
// These are what editing methods are guided by (the pretrained judges of face_analysis.h only
// measure), so a method that fools its guide shows up under the judges. Trained by
// `faceedit train-classifier` (train/train_classifier.h) and stored as safetensors with the config
// in the metadata key "faceedit.config".
//
// Heads: a binary head (one class name) gives a probability column of that name; a softmax head
// gives one column per class ("<head>_<class>"), plus any derived columns it declares: a derived
// column is the summed probability of some classes (e.g. "young" = P(age 0-17) + P(age 18-29)).
//
//   auto clf = faceedit::models::load_face_classifier("models/celebahq.safetensors");
//   auto p = clf->predict(images);   // [N, K], images NCHW RGB in [-1, 1], any size
//
// Thread-safety: as face_analysis.h; training mode (train(true)) is not for concurrent use.
#pragma once

#include <torch/torch.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "faceedit/models/face_analysis.h"

namespace faceedit::models {

struct ClassifierHead {
  std::string name;                  // "male", "smiling", "age"
  std::vector<std::string> classes;  // empty: binary head; else softmax classes ("0-17", ...)
  std::map<std::string, std::vector<int64_t>> derived;  // column name -> summed class indices
};

struct FaceClassifierConfig {
  std::string name = "classifier";
  InputSpec input;                              // default: 64x64 RGB, pixels mapped to [-1, 1]
  std::string arch = "plain";                   // "plain" or "resnet" (see FaceClassifierNetImpl)
  std::vector<int64_t> widths = {24, 48, 96, 192};  // channels of the stride-2 stages
  std::vector<ClassifierHead> heads;

  FaceClassifierConfig();
  nlohmann::json to_json() const;
  static FaceClassifierConfig from_json(const nlohmann::json& j, const std::string& what_for_errors);
};

// A residual block: conv3x3 (stride) -> BN -> LeakyReLU(0.2) -> conv3x3 -> BN, plus the input
// (through a strided 1x1 conv + BN when the shape changes), then LeakyReLU(0.2).
class ResidualBlockImpl : public torch::nn::Module {
 public:
  ResidualBlockImpl(int64_t in, int64_t out, int64_t stride);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  torch::nn::Sequential body{nullptr}, shortcut{nullptr};
};
TORCH_MODULE(ResidualBlock);

// The network, by config.arch:
//   plain:  per stage conv3x3 stride 2 -> BN -> LeakyReLU(0.2), conv3x3 -> BN -> LeakyReLU;
//   resnet: a stem conv3x3 -> BN -> LeakyReLU at full resolution (widths[0] / 2 channels), then
//           one stride-2 ResidualBlock per stage;
// then global average pooling, dropout and one linear layer per head (raw logits). `features`
// holds the layers in order; its LeakyReLUs and ResidualBlocks are the activations that
// classifier_features.h compares.
class FaceClassifierNetImpl : public torch::nn::Module {
 public:
  explicit FaceClassifierNetImpl(const FaceClassifierConfig& config);
  // Network input (InputSpec::prepare()d) -> concatenated head logits [N, sum(head sizes)].
  torch::Tensor forward(const torch::Tensor& x);
  torch::nn::Sequential features{nullptr};
  torch::nn::Dropout dropout{nullptr};
  torch::nn::Linear heads{nullptr};
};
TORCH_MODULE(FaceClassifierNet);

class FaceClassifier : public AttributeClassifier {
 public:
  explicit FaceClassifier(FaceClassifierConfig config);
  std::string name() const override { return config_.name; }
  const std::vector<AttributeColumn>& columns() const override { return columns_; }
  torch::Tensor predict(const torch::Tensor& images) override;
  torch::Tensor logits(const torch::Tensor& images) override;  // native logits for binary heads
  void to(torch::Device device) override { net_->to(device); }

  // Raw head logits of prepared input (training uses them with per-head losses).
  torch::Tensor head_logits(const torch::Tensor& images) { return net_->forward(config_.input.prepare(images)); }
  // Offset and size of each head inside head_logits()' columns.
  std::vector<std::pair<int64_t, int64_t>> head_slices() const;

  const FaceClassifierConfig& config() const { return config_; }
  FaceClassifierNet& net() { return net_; }
  // half: weights stored as float16 (half the size; loading widens them to float32).
  void save(const std::string& path, const nlohmann::json& extra_metadata = {}, bool half = false) const;

 private:
  torch::Tensor columns_from_logits(const torch::Tensor& logits, bool as_logits) const;
  FaceClassifierConfig config_;
  FaceClassifierNet net_{nullptr};
  std::vector<AttributeColumn> columns_;
};

std::unique_ptr<FaceClassifier> load_face_classifier(const std::string& path);

// Opens any attribute classifier by path: .safetensors (our own) or .pt (TorchScript + .json).
std::unique_ptr<AttributeClassifier> open_attribute_classifier(const std::string& path);

}  // namespace faceedit::models
