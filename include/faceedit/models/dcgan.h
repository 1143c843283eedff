// faceedit — the DCGAN of the pretrained CelebA 32x32 face model (fletchersarip93/face-generator):
// z ~ U(-1, 1)^100 -> 32x32 RGB in [-1, 1]. Names mirror its state_dict (generator_deconv.{i}.{j}.*).
// BatchNorm runs in eval mode (running statistics). No W space: map() returns z.
#pragma once

#include <memory>

#include "faceedit/models/generator.h"

namespace faceedit::models {

class DCGAN : public Generator {
 public:
  DCGAN();  // random weights
  static std::unique_ptr<DCGAN> load(const std::string& path, torch::Device device = torch::kCPU);
  ~DCGAN() override;

  std::string arch() const override { return "dcgan"; }
  // CelebA's tight face crops: eyes ~40% and mouth ~75% down the image.
  Framing face_framing() const override { return {0.62, 0.05}; }
  bool z_is_box() const override { return true; }  // trained on z ~ U(-1, 1)
  int64_t z_dim() const override { return 100; }
  int64_t resolution() const override { return 32; }
  torch::Tensor sample_z(int64_t n, uint64_t seed) const override;
  torch::Tensor map(const torch::Tensor& z, double truncation_psi = 1.0, int cutoff = -1) const override;
  torch::Tensor synthesize(const torch::Tensor& z, NoiseMode noise = NoiseMode::Const) const override;
  std::vector<torch::Tensor> parameters() const override;
  std::unique_ptr<Generator> clone() const override;
  void to(torch::Device device, torch::ScalarType dtype = torch::kFloat32) override;
  torch::Device device() const override;
  double synthesis_gflop() const override;
  nlohmann::json config() const override;
  torch::OrderedDict<std::string, torch::Tensor> named_tensors() const override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace faceedit::models
