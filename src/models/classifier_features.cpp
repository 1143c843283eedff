#include "faceedit/models/classifier_features.h"

#include "faceedit/error.h"

namespace faceedit::models {

std::vector<torch::Tensor> classifier_activations(FaceClassifier& classifier, const torch::Tensor& images) {
  auto x = classifier.config().input.prepare(images);
  std::vector<torch::Tensor> out;
  for (auto m : *classifier.net()->features) {  // AnyModule copies share the module
    x = m.forward(x);
    if (m.ptr()->as<torch::nn::LeakyReLUImpl>() != nullptr || m.ptr()->as<ResidualBlockImpl>() != nullptr)
      out.push_back(x);
  }
  return out;
}

torch::Tensor ClassifierFeatureDistance::distance(const torch::Tensor& a, const torch::Tensor& b) {
  auto fa = classifier_activations(classifier_, a), fb = classifier_activations(classifier_, b);
  torch::Tensor d = torch::zeros({a.size(0)}, a.options());
  for (size_t i = 0; i < fa.size(); ++i) {
    // Channel-normalised as LPIPS does, so every layer counts about equally.
    auto na = fa[i] / (fa[i].pow(2).sum(1, true) + 1e-10).sqrt();
    auto nb = fb[i] / (fb[i].pow(2).sum(1, true) + 1e-10).sqrt();
    d = d + (na - nb).pow(2).sum(1).mean({1, 2});
  }
  return d / static_cast<double>(fa.size());
}

TorchScriptFeatureDistance::TorchScriptFeatureDistance(const std::string& path) : path_(path) {
  try {
    module_ = torch::jit::load(path);
  } catch (const std::exception& e) {
    fail(path, std::string("cannot load the TorchScript feature distance: ") + e.what());
  }
  module_.eval();
}

torch::Tensor TorchScriptFeatureDistance::distance(const torch::Tensor& a, const torch::Tensor& b) {
  torch::Tensor d;
  try {
    d = module_.forward({a, b}).toTensor();
  } catch (const std::exception& e) {
    fail(path_, std::string("forward(a, b) failed: ") + e.what());
  }
  if (d.dim() == 0) return d.expand({a.size(0)});
  if (d.size(0) != a.size(0)) fail(path_, "forward(a, b) must return one distance per image");
  return d.reshape({a.size(0), -1}).mean(1);
}

torch::Tensor ClassifierEmbedder::embed(const torch::Tensor& images) {
  auto f = classifier_.net()->features->forward(classifier_.config().input.prepare(images)).mean({2, 3});
  return torch::nn::functional::normalize(f, torch::nn::functional::NormalizeFuncOptions().dim(1));
}

}  // namespace faceedit::models
