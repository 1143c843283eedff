// faceedit — StyleGAN3 (configs T and R), as NVlabs/stylegan3's networks_stylegan3.py computes it.
//
//   mapping      z -> w as StyleGAN2 (lr-multiplied FC layers), broadcast to num_ws = num_layers + 2
//                codes, truncation towards mapping.w_avg.
//   input        Fourier features: random frequencies/phases rotated and translated by an affine of
//                w[0] and by the user transform (synthesis.input.transform, gen_images.py's
//                --translate/--rotate), out-of-band frequencies damped, then a learned channel mix.
//   L0..L{n}     modulated convolutions (input scaled by 1/sqrt(magnitude_ema)), then filtered leaky
//                ReLU (bias, upsample with up_filter, lrelu * sqrt 2, clamp, downsample with
//                down_filter; radial down filters in config R); the last layer is the ToRGB.
//   output       times output_scale (0.25).
// Tensor names mirror the original state_dict (synthesis.L3_36_512.affine.weight, ...). The layer
// geometry (sizes, sampling rates, cutoffs, filters, padding) is derived from the config exactly as
// SynthesisNetwork does; a converted file also records the pickle's own geometry, which load()
// compares with the derivation, and every tensor's shape is checked.
//
// SG3 has no noise inputs: NoiseMode is accepted and ignored (as the original does).
//
//   auto g = faceedit::models::load_generator(faceedit::models::resolve_model("stylegan3-r-ffhq.pkl"));
//   auto* sg3 = dynamic_cast<faceedit::models::StyleGAN3*>(g.get());
//   sg3->set_input_transform(faceedit::models::StyleGAN3::user_transform(0.1, 0.0, 15.0));
#pragma once

#include <torch/torch.h>

#include <array>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "faceedit/models/generator.h"

namespace faceedit::models {

struct StyleGAN3Config {
  int64_t z_dim = 512, w_dim = 512, img_resolution = 1024, img_channels = 3;
  int64_t mapping_layers = 2;
  double mapping_lr_multiplier = 0.01;
  // SynthesisNetwork
  int64_t channel_base = 32768, channel_max = 512, num_layers = 14, num_critical = 2, margin_size = 10;
  double first_cutoff = 2, first_stopband = 4.2870938501451725 /* 2**2.1 */,
         last_stopband_rel = 1.2311444133449163 /* 2**0.3 */, output_scale = 0.25;
  // SynthesisLayer
  int64_t conv_kernel = 3, filter_size = 6, lrelu_upsampling = 2;
  bool use_radial_filters = false;
  double conv_clamp = 256;  // < 0: none

  // NVIDIA's presets: config T, and config R (1x1 convolutions, radial filters, doubled channels).
  static StyleGAN3Config preset(char cfg, int64_t resolution);
  int64_t num_ws() const { return num_layers + 2; }
  static StyleGAN3Config from_json(const nlohmann::json& j, const std::string& where);
  nlohmann::json to_json() const;
  void validate(const std::string& where) const;
};

// One synthesis layer's geometry, as SynthesisNetwork/SynthesisLayer compute it.
struct StyleGAN3Layer {
  std::string name;  // L{idx}_{out_size}_{out_channels}
  bool is_torgb = false, is_critically_sampled = false, down_radial = false;
  int64_t in_channels = 0, out_channels = 0, in_size = 0, out_size = 0, conv_kernel = 1;
  int64_t in_sampling_rate = 0, out_sampling_rate = 0, up_factor = 1, down_factor = 1, up_taps = 1, down_taps = 1;
  double in_cutoff = 0, out_cutoff = 0, in_half_width = 0, out_half_width = 0;
  std::array<int64_t, 4> padding{};  // x0, x1, y0, y1
};
struct StyleGAN3Geometry {
  int64_t input_channels = 0, input_size = 0;
  double input_sampling_rate = 0, input_bandwidth = 0;
  std::vector<StyleGAN3Layer> layers;
};
StyleGAN3Geometry stylegan3_geometry(const StyleGAN3Config& c);

class StyleGAN3 : public Generator {
 public:
  // Random weights (for benchmarks and tests); filters designed from the config.
  StyleGAN3(const StyleGAN3Config& config, uint64_t seed);
  // A converted checkpoint (arch "stylegan3"): the recorded geometry must match the derived one and
  // every tensor must be present with its shape; errors name the file and the tensor.
  static std::unique_ptr<StyleGAN3> load(const std::string& path, torch::Device device = torch::kCPU);
  ~StyleGAN3() override;

  std::string arch() const override { return "stylegan3"; }
  int64_t z_dim() const override;
  int64_t w_dim() const override;
  int64_t num_ws() const override;
  int64_t resolution() const override;
  int64_t img_channels() const override;
  torch::Tensor sample_z(int64_t n, uint64_t seed) const override;  // numpy RandomState(seed).randn
  torch::Tensor map(const torch::Tensor& z, double truncation_psi = 1.0, int cutoff = -1) const override;
  torch::Tensor truncate(const torch::Tensor& w, double truncation_psi, int cutoff = -1) const override;
  torch::Tensor synthesize(const torch::Tensor& ws, NoiseMode noise = NoiseMode::Const) const override;
  std::vector<torch::Tensor> parameters() const override;
  std::unique_ptr<Generator> clone() const override;
  torch::OrderedDict<std::string, torch::Tensor> named_tensors() const override;
  void to(torch::Device device, torch::ScalarType dtype = torch::kFloat32) override;
  torch::Device device() const override;
  double synthesis_gflop() const override;
  nlohmann::json config() const override;

  const StyleGAN3Config& stylegan3_config() const;
  const StyleGAN3Geometry& geometry() const;
  torch::Tensor w_avg() const;
  // synthesis.input.transform: the user's inverse transform of the output image (3x3). Setting it
  // changes every later synthesis (it is model state, as in the original).
  torch::Tensor input_transform() const;
  void set_input_transform(const torch::Tensor& m);
  // gen_images.py's transform for --translate X,Y --rotate DEG: inverse of
  // [[cos, sin, x], [-sin, cos, y], [0, 0, 1]] (float64 [3, 3]).
  static torch::Tensor user_transform(double translate_x, double translate_y, double rotate_degrees);
  void save(const std::string& path) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace faceedit::models
