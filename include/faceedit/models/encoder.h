// faceedit — an image -> latent encoder for one generator: instant inversion, or the starting point
// of an optimised one (`faceedit train-encoder`, then `photo --encoder`).
//
// A small CNN: a 3x3 convolution at the generator's resolution, stride-2 3x3 convolutions (leaky
// ReLU) down to 4x4, two dense layers to the latent. StyleGAN2: W+ codes, as offsets from the
// generator's average W (an untrained encoder gives the average face); DCGAN: Z through tanh (its
// prior is the box [-1, 1]).
//
//   auto enc = faceedit::models::Encoder::load("dcgan-encoder.safetensors");
//   enc->check_matches(*g, "dcgan-encoder.safetensors");
//   auto z = enc->encode(target);                  // [1, 3, R, R] in [-1, 1] -> [1, z_dim]
//   auto img = g->generate(z, enc->space());
#pragma once

#include <torch/torch.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "faceedit/models/generator.h"

namespace faceedit::models {

struct EncoderConfig {
  std::string generator_arch;  // "dcgan", "stylegan2": what it was trained for
  LatentSpace space = LatentSpace::Z;
  int64_t resolution = 32;     // input images: [N, 3, R, R]
  int64_t num_ws = 0;          // W+: codes per image; 0 for Z
  int64_t latent_dim = 100;    // z_dim or w_dim
  int64_t channel_base = 4096, channel_max = 256;  // channels at resolution r: min(base / r, max)
  int64_t hidden = 512;        // the dense layer before the output
  int64_t channels(int64_t r) const { return std::min(channel_base / r, channel_max); }
  nlohmann::json to_json() const;
  static EncoderConfig from_json(const nlohmann::json& j, const std::string& where);
  void validate(const std::string& where) const;  // throws faceedit::Error on nonsense
  // The config for a generator: its inversion space (Z for the DCGAN, W+ for StyleGAN2).
  static EncoderConfig for_generator(const Generator& g);
};

class Encoder {
 public:
  // Random weights; `latent_mean` is the offset the output starts from (W+: the generator's w_avg
  // broadcast to [num_ws, w_dim]; Z: zeros).
  Encoder(const EncoderConfig& config, const torch::Tensor& latent_mean, uint64_t seed);
  ~Encoder();
  static std::unique_ptr<Encoder> load(const std::string& path, torch::Device device = torch::kCPU);
  // Atomic write, config and report in the metadata.
  void save(const std::string& path, const nlohmann::json& training_report = {}) const;

  // images [N, 3, R, R] in [-1, 1] -> latents of space(): [N, z_dim] or [N, num_ws, w_dim].
  // Differentiable w.r.t. parameters(). Throws faceedit::Error for another image size.
  torch::Tensor encode(const torch::Tensor& images) const;

  const EncoderConfig& config() const;
  LatentSpace space() const { return config().space; }
  // Throws faceedit::Error("<what>: ...") unless it encodes into g's latents at g's resolution.
  void check_matches(const Generator& g, const std::string& what) const;
  std::vector<torch::Tensor> parameters() const;
  torch::OrderedDict<std::string, torch::Tensor> named_tensors() const;
  void train(bool on);
  void to(torch::Device device);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace faceedit::models
