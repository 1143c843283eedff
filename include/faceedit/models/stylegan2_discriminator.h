// faceedit — StyleGAN2's discriminator, architecture-identical to NVIDIA's stylegan2-ada-pytorch
// (networks.py Discriminator: 'resnet' blocks, minibatch standard deviation, c_dim 0). Parameter
// names mirror the original state_dict (b32.fromrgb.weight, b16.skip.weight, b4.fc.bias, ...), so
// an official pickle's D converts 1:1 (`faceedit convert --network D IN OUT`) and the one
// `faceedit train-gan` trains is saved under the same names.
//
//   auto d = faceedit::models::StyleGAN2Discriminator::load("d.safetensors");
//   torch::Tensor logits = d->forward(images);  // [N, 3, R, R] in [-1, 1] -> [N, 1]
//
// Float32 on any torch::Device; differentiable (LibTorch ops only), as training needs.
#pragma once

#include <torch/torch.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace faceedit::models {

struct StyleGAN2DiscriminatorConfig {
  int64_t img_resolution = 1024, img_channels = 3;
  int64_t channel_base = 32768, channel_max = 512;
  double conv_clamp = -1;  // < 0: none
  int64_t mbstd_group_size = 4, mbstd_num_channels = 1;
  // Channels per resolution 4, 8, ..., img_resolution when the widths follow no base/max rule
  // (rosinality checkpoints); empty: channel_base/channel_max.
  std::vector<int64_t> channel_table;

  int64_t channels(int64_t res) const;  // channel_table's entry, else min(channel_base / res, channel_max)
  static StyleGAN2DiscriminatorConfig from_json(const nlohmann::json& j, const std::string& where);
  nlohmann::json to_json() const;
  void validate(const std::string& where) const;  // throws faceedit::Error on nonsense
};

class StyleGAN2Discriminator {
 public:
  // Random weights initialised as the original does (torch's global RNG seeded with `seed`).
  StyleGAN2Discriminator(const StyleGAN2DiscriminatorConfig& config, uint64_t seed);
  // Weights from a converted checkpoint (arch "stylegan2-discriminator"): every tensor must be present with its shape.
  static std::unique_ptr<StyleGAN2Discriminator> load(const std::string& path, torch::Device device = torch::kCPU);
  ~StyleGAN2Discriminator();

  // Logits [N, 1] of images [N, C, R, R] (R = img_resolution). N must be a multiple of the
  // minibatch-stddev group size min(mbstd_group_size, N), as in the original.
  torch::Tensor forward(const torch::Tensor& images) const;

  std::vector<torch::Tensor> parameters() const;
  torch::OrderedDict<std::string, torch::Tensor> named_tensors() const;
  void to(torch::Device device);
  torch::Device device() const;
  const StyleGAN2DiscriminatorConfig& config() const;
  // Writes the weights with the config in the metadata (atomic).
  void save(const std::string& path, const nlohmann::json& training_report = {}) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace faceedit::models
