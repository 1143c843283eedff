// faceedit — StyleGAN2, architecture-identical to NVIDIA's stylegan2-ada-pytorch (networks.py,
// 'skip' generator, c_dim 0). Module and parameter names mirror the original state_dict
// (mapping.fc0.weight, synthesis.b4.conv1.affine.bias, ...), so converted checkpoints bind 1:1.
//
// Runs in float32 on any torch::Device (layers the original runs in fp16 on GPUs run in fp32 here,
// as the original does with force_fp32).
#pragma once

#include <torch/torch.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <vector>

#include "faceedit/models/generator.h"

namespace faceedit::models {

struct StyleGAN2Config {
  int64_t z_dim = 512, w_dim = 512, img_resolution = 1024, img_channels = 3;
  int64_t mapping_layers = 8;
  double mapping_lr_multiplier = 0.01;
  int64_t channel_base = 32768, channel_max = 512;
  double conv_clamp = -1;  // < 0: none
  bool use_noise = true;
  // Channels per resolution 4, 8, ..., img_resolution when the checkpoint's widths follow no
  // base/max rule (rosinality checkpoints carry their own table); empty: channel_base/channel_max.
  std::vector<int64_t> channel_table;

  int64_t num_ws() const;
  int64_t channels(int64_t res) const;  // channel_table's entry, else min(channel_base / res, channel_max)
  static StyleGAN2Config from_json(const nlohmann::json& j, const std::string& where);
  nlohmann::json to_json() const;
  void validate(const std::string& where) const;  // throws faceedit::Error on nonsense
};

class StyleGAN2 : public Generator {
 public:
  // Random weights initialised as the original does (for benchmarks and tests).
  StyleGAN2(const StyleGAN2Config& config, uint64_t seed);
  // Weights from a converted checkpoint: every parameter and buffer must be present with its shape.
  static std::unique_ptr<StyleGAN2> load(const std::string& path, torch::Device device = torch::kCPU);
  ~StyleGAN2() override;

  std::string arch() const override { return "stylegan2"; }
  int64_t z_dim() const override;
  int64_t w_dim() const override;
  int64_t num_ws() const override;
  int64_t resolution() const override;
  int64_t img_channels() const override;
  torch::Tensor sample_z(int64_t n, uint64_t seed) const override;
  torch::Tensor map(const torch::Tensor& z, double truncation_psi = 1.0, int cutoff = -1) const override;
  torch::Tensor truncate(const torch::Tensor& w, double truncation_psi, int cutoff = -1) const override;
  torch::Tensor synthesize(const torch::Tensor& ws, NoiseMode noise = NoiseMode::Const) const override;
  torch::Tensor synthesize_preview(const torch::Tensor& ws, int64_t min_size, NoiseMode noise = NoiseMode::Const) const override;
  int64_t preview_resolution(int64_t min_size) const override;
  std::vector<torch::Tensor> parameters() const override;
  std::unique_ptr<Generator> clone() const override;
  void to(torch::Device device, torch::ScalarType dtype = torch::kFloat32) override;
  // bf16 on CPU or CUDA, fp16 on CUDA only (set it after moving the model: to() keeps it).
  void set_precision(Precision p) override;
  Precision precision() const override;
  torch::Device device() const override;
  double synthesis_gflop() const override;
  nlohmann::json config() const override;

  const StyleGAN2Config& stylegan2_config() const;
  // Parameters and buffers under their original names, for loading, saving and weight deltas.
  torch::OrderedDict<std::string, torch::Tensor> named_tensors() const override;
  torch::Tensor w_avg() const;
  // Writes the weights with the config in the metadata, as the converter does (atomic); `half`
  // stores float16 (loading widens back to float32).
  void save(const std::string& path, const nlohmann::json& training_report = {}, bool half = false) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace faceedit::models
