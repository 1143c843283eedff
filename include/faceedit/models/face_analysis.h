// faceedit — face analysis networks behind three interfaces: attributes, identity, portrait mask.
//
// Every network here takes image batches in the generators' convention — float NCHW RGB in
// [-1, 1] — at ANY size: each network resizes (bilinear, anti-aliased when shrinking) to its own
// input size and applies its own colour space and normalisation (an `InputSpec`). Everything is
// built from LibTorch ops with autograd, so edits can back-propagate through a classifier or an
// embedder into latents or generator weights.
//
// Two families implement the interfaces:
//   - TorchScript networks with a metadata file (load_attribute_classifier() etc. below): the
//     pretrained judges converted by tools/convert_tfjs.py, or any network a user scripts himself.
//     The metadata (`<model>.json` beside `<model>.pt`) is
//       {"format": "faceedit.torchscript/1", "kind": "attributes"|"embedding"|"segmentation",
//        "name": ..., "source": ..., "description": ...,
//        "input": {"height": H, "width": W, "color": "rgb"|"bgr"|"gray", "gray_weights": [r,g,b],
//                  "mean": [...], "std": [...]},
//        "outputs": [{"name": "male", "kind": "probability"|"years"|"value"}, ...],  // attributes
//        "embedding_dim": D}                                                       // embedding
//     and the network's forward(x) takes x = (colour(rgb01) - mean) / std at H x W and returns
//     [N, K] columns (attributes), [N, D] (embedding) or [N, 1, h, w] in [0, 1] (segmentation).
//     Optional "backbone": ID: networks with the same ID and input section split forward(x) into
//     head(backbone(x)) (both exported methods) with identical backbones, so a batch judged by
//     several of them (faceres attributes and its descriptor) runs the backbone once.
//   - faceedit's own supervision classifiers (face_classifier.h), trained by `faceedit
//     train-classifier` and stored as safetensors.
//
// Thread-safety: forward passes hold no per-call state; concurrent calls are safe while nobody
// changes the weights. TorchScript modules are run in eval mode.
//
//   auto judge = faceedit::models::load_attribute_classifier("gear.pt");
//   auto p = judge->predict(images);                 // [N, K]
//   float male = p[0][judge->column("male")].item<float>();
#pragma once

#include <torch/torch.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace faceedit::models {

// How a network wants its pixels.
struct InputSpec {
  int64_t height = 64, width = 64;
  std::string color = "rgb";                          // "rgb", "bgr" or "gray"
  std::vector<double> gray_weights = {0.299, 0.587, 0.114};
  std::vector<double> mean = {0.0, 0.0, 0.0};         // per network channel, applied to [0, 1] pixels
  std::vector<double> std = {1.0, 1.0, 1.0};

  int64_t channels() const { return color == "gray" ? 1 : 3; }
  // [-1, 1] RGB batch of any size -> the network's input, differentiable.
  torch::Tensor prepare(const torch::Tensor& images) const;
  nlohmann::json to_json() const;
  static InputSpec from_json(const nlohmann::json& j, const std::string& what_for_errors);
};

// Resizes an NCHW batch to h x w: bilinear, anti-aliased when shrinking, differentiable.
torch::Tensor resize_images(const torch::Tensor& nchw, int64_t h, int64_t w);

// The column name of an attribute as a user may write it: CelebA's spelling in any case, with '-'
// or ' ' for '_', or a common alias: smile -> smiling, glasses -> eyeglasses, gender/man -> male,
// moustache -> mustache, beard -> goatee (CelebA's positive beard attribute; no_beard is its
// opposite and stays available by name), hat -> wearing_hat, blond/blonde -> blond_hair,
// makeup -> heavy_makeup, stubble -> 5_o_clock_shadow, lipstick -> wearing_lipstick, ...
// Any other name comes back in lower case (so "gear.male" and unknown names pass through).
std::string canonical_attribute(const std::string& name);

enum class ColumnKind { Probability, Years, Value };
struct AttributeColumn {
  std::string name;  // CelebA's spelling, lower-case, where one corresponds: "male", "smiling", "young"
  ColumnKind kind = ColumnKind::Probability;
};

class AttributeClassifier {
 public:
  virtual ~AttributeClassifier() = default;
  virtual std::string name() const = 0;
  virtual const std::vector<AttributeColumn>& columns() const = 0;

  // [N, K]: probabilities in [0, 1] for Probability columns, the raw value (e.g. years) otherwise.
  virtual torch::Tensor predict(const torch::Tensor& images) = 0;
  // [N, K] logits log(p / (1 - p)) of the Probability columns (others as predict()). Networks
  // that have native logits return them; otherwise derived from clamped probabilities.
  virtual torch::Tensor logits(const torch::Tensor& images);

  // Index of a column by name (canonical_attribute() applies, so "Smile" finds "smiling");
  // throws faceedit::Error listing the available names when absent.
  int64_t column(const std::string& name) const;
  bool has_column(const std::string& name) const;
  virtual void to(torch::Device device) = 0;
};

class IdentityEmbedder {
 public:
  virtual ~IdentityEmbedder() = default;
  virtual std::string name() const = 0;
  virtual int64_t dim() const = 0;
  // [N, D], unit length.
  virtual torch::Tensor embed(const torch::Tensor& images) = 0;
  virtual void to(torch::Device device) = 0;
};

class PortraitSegmenter {
 public:
  virtual ~PortraitSegmenter() = default;
  virtual std::string name() const = 0;
  // [N, 1, H, W] portrait/person mask in [0, 1] at the input images' size.
  virtual torch::Tensor segment(const torch::Tensor& images) = 0;
  virtual void to(torch::Device device) = 0;
};

// Loaders for TorchScript networks: `path` is the .pt file; its metadata is the .json beside it.
// Errors name the file when either is missing, malformed, of the wrong kind, or when a trial
// forward pass does not produce the shape the metadata promises.
std::unique_ptr<AttributeClassifier> load_attribute_classifier(const std::string& path);
std::unique_ptr<IdentityEmbedder> load_identity_embedder(const std::string& path);
std::unique_ptr<PortraitSegmenter> load_portrait_segmenter(const std::string& path);

// Several classifiers seen as one: columns are concatenated in order; the first classifier with a
// column name keeps it, later ones are prefixed with their classifier's name ("gear.male"), so the
// order of the parts says whose opinion a plain name means.
class CombinedClassifier : public AttributeClassifier {
 public:
  explicit CombinedClassifier(std::vector<std::unique_ptr<AttributeClassifier>> parts);
  std::string name() const override;
  const std::vector<AttributeColumn>& columns() const override { return columns_; }
  torch::Tensor predict(const torch::Tensor& images) override;
  torch::Tensor logits(const torch::Tensor& images) override;
  void to(torch::Device device) override;

 private:
  std::vector<std::unique_ptr<AttributeClassifier>> parts_;
  std::vector<AttributeColumn> columns_;
};

}  // namespace faceedit::models
