// faceedit — perceptual guides built from networks we own: feature distances and an identity
// embedding taken from our supervision classifiers (face_classifier.h), or a user's TorchScript.
//
// Inversion and personalization need a "looks the same" loss beside pixel MSE. The pretrained judges
// must stay independent (they measure edits), so the guides come from:
//   ClassifierFeatureDistance   mean squared difference of the classifier's normalised activations
//                               after each LeakyReLU (an LPIPS-like feature loss, unit-free)
//   TorchScriptFeatureDistance  any LPIPS-like TorchScript: forward(a, b) -> [N] or [N, ...]
//                               distances of two NCHW RGB [-1, 1] batches (e.g. a scripted LPIPS)
//   ClassifierEmbedder          the classifier's global-pooled features, unit length: an identity
//                               embedding for the identity loss (the metrics' identity judge,
//                               faceres-descriptor, is never used for guidance)
//
//   auto clf = models::load_face_classifier(models::trained_classifier_path("celebahq"));
//   models::ClassifierFeatureDistance perceptual(*clf);
//   auto d = perceptual.distance(a, b);   // [N], differentiable in a and b
//
// Thread-safety: forward passes only; as face_analysis.h. The wrapped classifier must outlive the
// wrapper.
#pragma once

#include <torch/script.h>
#include <torch/torch.h>

#include <memory>
#include <string>

#include "faceedit/models/face_analysis.h"
#include "faceedit/models/face_classifier.h"

namespace faceedit::models {

class FeatureDistance {
 public:
  virtual ~FeatureDistance() = default;
  virtual std::string name() const = 0;
  // [N] distances between two NCHW RGB [-1, 1] batches of equal shape; 0 for identical images.
  virtual torch::Tensor distance(const torch::Tensor& a, const torch::Tensor& b) = 0;
};

class ClassifierFeatureDistance : public FeatureDistance {
 public:
  explicit ClassifierFeatureDistance(FaceClassifier& classifier) : classifier_(classifier) {}
  std::string name() const override { return "features:" + classifier_.name(); }
  torch::Tensor distance(const torch::Tensor& a, const torch::Tensor& b) override;

 private:
  FaceClassifier& classifier_;
};

class TorchScriptFeatureDistance : public FeatureDistance {
 public:
  explicit TorchScriptFeatureDistance(const std::string& path);  // Error naming the file when unloadable
  std::string name() const override { return "torchscript:" + path_; }
  torch::Tensor distance(const torch::Tensor& a, const torch::Tensor& b) override;

 private:
  std::string path_;
  torch::jit::script::Module module_;
};

class ClassifierEmbedder : public IdentityEmbedder {
 public:
  explicit ClassifierEmbedder(FaceClassifier& classifier) : classifier_(classifier) {}
  std::string name() const override { return "pooled:" + classifier_.name(); }
  int64_t dim() const override { return classifier_.config().widths.back(); }
  torch::Tensor embed(const torch::Tensor& images) override;
  void to(torch::Device device) override { classifier_.to(device); }

 private:
  FaceClassifier& classifier_;
};

// Activations after each LeakyReLU of the classifier's feature stack, for images in [-1, 1].
std::vector<torch::Tensor> classifier_activations(FaceClassifier& classifier, const torch::Tensor& images);

}  // namespace faceedit::models
