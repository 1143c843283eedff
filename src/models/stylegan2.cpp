#include "faceedit/models/stylegan2.h"
#include "faceedit/io/json_checks.h"

#include <cmath>

#include "faceedit/error.h"
#include "faceedit/io/safetensors.h"
#include "faceedit/models/numpy_random.h"
#include "faceedit/nn/ops.h"
#include "stylegan2_layers.h"
#include "faceedit/models/weights.h"

namespace faceedit::models {

using faceedit::nn::Activation;
namespace ops = faceedit::nn;

// ---------------------------------------------------------------------------------------------
// Config

int64_t StyleGAN2Config::num_ws() const {
  return 2 * static_cast<int64_t>(std::lround(std::log2(static_cast<double>(img_resolution)))) - 2;
}

int64_t StyleGAN2Config::channels(int64_t res) const {
  const auto i = static_cast<size_t>(std::lround(std::log2(static_cast<double>(res)))) - 2;
  if (i < channel_table.size()) return channel_table[i];
  return std::min(channel_base / res, channel_max);
}

void StyleGAN2Config::validate(const std::string& where) const {
  const auto res = img_resolution;
  if (res < 4 || res > 4096 || (res & (res - 1)) != 0)
    fail(where, "img_resolution " + std::to_string(res) + " is not a power of two in [4, 4096]");
  if (z_dim < 1 || z_dim > 65536 || w_dim < 1 || w_dim > 65536) fail(where, "z_dim/w_dim out of range");
  if (mapping_layers < 1 || mapping_layers > 64) fail(where, "mapping num_layers out of range");
  if (img_channels < 1 || img_channels > 4) fail(where, "img_channels must be 1..4");
  if (channel_base < 1 || channel_max < 1 || channels(res) < 1)
    fail(where, "channel_base/channel_max give zero channels at " + std::to_string(res));
  if (!channel_table.empty() && static_cast<int64_t>(channel_table.size()) != num_ws() / 2)  // 4, 8, ..., res
    fail(where, "synthesis channels has " + std::to_string(channel_table.size()) + " entries, expected one per resolution 4.." +
                    std::to_string(res));
  for (auto c : channel_table)
    if (c < 1 || c > 65536) fail(where, "synthesis channels entry " + std::to_string(c) + " is out of [1, 65536]");
}

StyleGAN2Config StyleGAN2Config::from_json(const nlohmann::json& j, const std::string& where) {
  io::check_json_numbers(j, where);
  StyleGAN2Config c;
  try {
    c.z_dim = j.value("z_dim", c.z_dim);
    c.w_dim = j.value("w_dim", c.w_dim);
    c.img_resolution = j.value("img_resolution", c.img_resolution);
    c.img_channels = j.value("img_channels", c.img_channels);
    if (j.value("c_dim", 0) != 0) fail(where, "conditional models (c_dim > 0) are not supported");
    if (j.contains("mapping")) {
      const auto& m = j["mapping"];
      c.mapping_layers = m.value("num_layers", c.mapping_layers);
      c.mapping_lr_multiplier = m.value("lr_multiplier", c.mapping_lr_multiplier);
    }
    if (j.contains("synthesis")) {
      const auto& s = j["synthesis"];
      c.channel_base = s.value("channel_base", c.channel_base);
      c.channel_max = s.value("channel_max", c.channel_max);
      if (s.contains("conv_clamp") && !s["conv_clamp"].is_null()) c.conv_clamp = s["conv_clamp"].get<double>();
      c.use_noise = s.value("use_noise", c.use_noise);
      if (s.contains("channels")) c.channel_table = s["channels"].get<std::vector<int64_t>>();
      if (s.value("architecture", std::string("skip")) != "skip") fail(where, "only the 'skip' architecture is supported");
    }
  } catch (const nlohmann::json::exception& e) {
    fail(where, std::string("malformed config: ") + e.what());
  }
  c.validate(where);
  return c;
}

nlohmann::json StyleGAN2Config::to_json() const {
  nlohmann::json j = {{"z_dim", z_dim},
          {"c_dim", 0},
          {"w_dim", w_dim},
          {"img_resolution", img_resolution},
          {"img_channels", img_channels},
          {"num_ws", num_ws()},
          {"mapping", {{"num_layers", mapping_layers}, {"lr_multiplier", mapping_lr_multiplier}}},
          {"synthesis",
           {{"channel_base", channel_base},
            {"channel_max", channel_max},
            {"conv_clamp", conv_clamp >= 0 ? nlohmann::json(conv_clamp) : nlohmann::json(nullptr)},
            {"architecture", "skip"},
            {"use_noise", use_noise}}}};
  if (!channel_table.empty()) j["synthesis"]["channels"] = channel_table;
  return j;
}

// ---------------------------------------------------------------------------------------------
// Modules, named as in networks.py.

namespace {

using layers::FullyConnected;
using layers::kLreluGain;

struct Mapping : torch::nn::Module {
  std::vector<std::shared_ptr<FullyConnected>> fcs;
  torch::Tensor w_avg;
  int64_t num_ws;
  Mapping(const StyleGAN2Config& c) : num_ws(c.num_ws()) {
    for (int64_t i = 0; i < c.mapping_layers; ++i) {
      const int64_t in = i == 0 ? c.z_dim : c.w_dim;
      fcs.push_back(register_module("fc" + std::to_string(i),
                                    std::make_shared<FullyConnected>(in, c.w_dim, Activation::LeakyRelu,
                                                                     c.mapping_lr_multiplier, 0.0)));
    }
    w_avg = register_buffer("w_avg", torch::zeros({c.w_dim}));
  }
  torch::Tensor forward(const torch::Tensor& z) const {
    auto x = ops::normalize_2nd_moment(z.to(w_avg.scalar_type()));
    for (const auto& fc : fcs) x = fc->forward(x);
    return x;  // [N, w_dim]
  }
};

struct SynthesisLayer : torch::nn::Module {
  std::shared_ptr<FullyConnected> affine;
  torch::Tensor weight, bias, noise_const, noise_strength;
  int64_t resolution;
  int up;
  double conv_clamp;
  bool use_noise;
  torch::ScalarType compute = torch::kFloat32;  // the convolution's arithmetic (StyleGAN2::set_precision)
  SynthesisLayer(int64_t in, int64_t out, int64_t w_dim, int64_t res, int up_, double clamp, bool noise)
      : resolution(res), up(up_), conv_clamp(clamp), use_noise(noise) {
    affine = register_module("affine", std::make_shared<FullyConnected>(w_dim, in, Activation::Linear, 1.0, 1.0));
    weight = register_parameter("weight", torch::randn({out, in, 3, 3}));
    if (use_noise) {
      noise_const = register_buffer("noise_const", torch::randn({res, res}));
      noise_strength = register_parameter("noise_strength", torch::zeros({}));
    }
    bias = register_parameter("bias", torch::zeros({out}));
  }
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& w, NoiseMode mode) const {
    auto styles = affine->forward(w);
    torch::Tensor noise;
    if (use_noise && mode == NoiseMode::Random)
      noise = torch::randn({x.size(0), 1, resolution, resolution}, x.options()) * noise_strength;
    if (use_noise && mode == NoiseMode::Const) noise = noise_const * noise_strength;
    return ops::modulated_conv_bias_act(x, weight, styles, /*demodulate=*/true, up, bias, Activation::LeakyRelu,
                                        kLreluGain, conv_clamp, noise, compute);
  }
};

struct ToRGB : torch::nn::Module {
  std::shared_ptr<FullyConnected> affine;
  torch::Tensor weight, bias;
  double weight_gain, conv_clamp;
  torch::ScalarType compute = torch::kFloat32;
  ToRGB(int64_t in, int64_t out, int64_t w_dim, double clamp)
      : weight_gain(1.0 / std::sqrt(static_cast<double>(in))), conv_clamp(clamp) {
    affine = register_module("affine", std::make_shared<FullyConnected>(w_dim, in, Activation::Linear, 1.0, 1.0));
    weight = register_parameter("weight", torch::randn({out, in, 1, 1}));
    bias = register_parameter("bias", torch::zeros({out}));
  }
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& w) const {
    auto styles = affine->forward(w) * weight_gain;
    return ops::modulated_conv_bias_act(x, weight, styles, /*demodulate=*/false, 1, bias, Activation::Linear, 1.0,
                                        conv_clamp, {}, compute);
  }
};

struct SynthesisBlock : torch::nn::Module {
  int64_t in_channels, resolution;
  torch::Tensor const_input;
  std::shared_ptr<SynthesisLayer> conv0, conv1;
  std::shared_ptr<ToRGB> torgb;
  SynthesisBlock(const StyleGAN2Config& c, int64_t res) : resolution(res) {
    in_channels = res > 4 ? c.channels(res / 2) : 0;
    const int64_t out = c.channels(res);
    if (in_channels == 0) {
      const_input = register_parameter("const", torch::randn({out, res, res}));
    } else {
      conv0 = register_module("conv0", std::make_shared<SynthesisLayer>(in_channels, out, c.w_dim, res, 2,
                                                                        c.conv_clamp, c.use_noise));
    }
    conv1 = register_module("conv1",
                            std::make_shared<SynthesisLayer>(out, out, c.w_dim, res, 1, c.conv_clamp, c.use_noise));
    torgb = register_module("torgb", std::make_shared<ToRGB>(out, c.img_channels, c.w_dim, c.conv_clamp));
  }
  int64_t num_conv() const { return in_channels == 0 ? 1 : 2; }
  // ws: [N, num_conv + 1, w_dim]; the last code is shared with the next block's first layer.
  void forward(torch::Tensor& x, torch::Tensor& img, const torch::Tensor& ws, NoiseMode mode) const {
    int64_t i = 0;
    if (in_channels == 0) {
      x = const_input.unsqueeze(0).expand({ws.size(0), -1, -1, -1});
    } else {
      x = conv0->forward(x, ws.select(1, i++), mode);
    }
    x = conv1->forward(x, ws.select(1, i++), mode);
    auto y = torgb->forward(x, ws.select(1, i));
    img = img.defined() ? ops::upsample2d_add(img, y) : y;
  }
};

struct Synthesis : torch::nn::Module {
  std::vector<std::shared_ptr<SynthesisBlock>> blocks;
  Synthesis(const StyleGAN2Config& c) {
    for (int64_t res = 4; res <= c.img_resolution; res *= 2)
      blocks.push_back(register_module("b" + std::to_string(res), std::make_shared<SynthesisBlock>(c, res)));
  }
  // Blocks up to and including the one at resolution `stop` (the image's size: the last block's).
  torch::Tensor forward(const torch::Tensor& ws, NoiseMode mode, int64_t stop) const {
    torch::Tensor x, img;
    int64_t w_idx = 0;
    for (const auto& block : blocks) {
      block->forward(x, img, ws.narrow(1, w_idx, block->num_conv() + 1), mode);
      w_idx += block->num_conv();
      if (img.size(-1) >= stop) break;
    }
    return img.contiguous();  // the fast path works channels-last; callers get plain NCHW
  }
};

struct Root : torch::nn::Module {
  std::shared_ptr<Mapping> mapping;
  std::shared_ptr<Synthesis> synthesis;
  Root(const StyleGAN2Config& c) {
    synthesis = register_module("synthesis", std::make_shared<Synthesis>(c));
    mapping = register_module("mapping", std::make_shared<Mapping>(c));
  }
};

}  // namespace

struct StyleGAN2::Impl {
  StyleGAN2Config config;
  std::shared_ptr<Root> root;
  Precision precision = Precision::Float32;
};

StyleGAN2::StyleGAN2(const StyleGAN2Config& config, uint64_t seed) : impl_(std::make_unique<Impl>()) {
  config.validate("StyleGAN2 config");
  impl_->config = config;
  torch::manual_seed(seed);
  impl_->root = std::make_shared<Root>(config);
  impl_->root->eval();
}

StyleGAN2::~StyleGAN2() = default;

std::unique_ptr<StyleGAN2> StyleGAN2::load(const std::string& path, torch::Device device) {
  io::SafetensorsReader file(path);
  const nlohmann::json j = read_config(file, "stylegan2", "StyleGAN2");
  auto config = StyleGAN2Config::from_json(j, path);
  auto model = std::make_unique<StyleGAN2>(config, 0);
  auto tensors = model->named_tensors();
  load_tensors(file, tensors, "the config (resolution " + std::to_string(config.img_resolution) + ")");
  model->to(device);
  return model;
}

int64_t StyleGAN2::z_dim() const { return impl_->config.z_dim; }
int64_t StyleGAN2::w_dim() const { return impl_->config.w_dim; }
int64_t StyleGAN2::num_ws() const { return impl_->config.num_ws(); }
int64_t StyleGAN2::resolution() const { return impl_->config.img_resolution; }
int64_t StyleGAN2::img_channels() const { return impl_->config.img_channels; }
const StyleGAN2Config& StyleGAN2::stylegan2_config() const { return impl_->config; }
torch::Tensor StyleGAN2::w_avg() const { return impl_->root->mapping->w_avg; }

torch::Tensor StyleGAN2::sample_z(int64_t n, uint64_t seed) const {
  if (seed > 0xffffffffull) fail("seed " + std::to_string(seed), "must be in [0, 2^32 - 1] (numpy's range)");
  return numpy_randn(n, z_dim(), static_cast<uint32_t>(seed)).to(device());
}

torch::Tensor StyleGAN2::map(const torch::Tensor& z, double psi, int cutoff) const {
  auto w = impl_->root->mapping->forward(z);
  auto ws = w.unsqueeze(1).repeat({1, num_ws(), 1});
  return truncate(ws, psi, cutoff);
}

torch::Tensor StyleGAN2::truncate(const torch::Tensor& w, double psi, int cutoff) const {
  if (psi == 1.0) return w;
  const auto& avg = impl_->root->mapping->w_avg;
  if (w.dim() == 2 || cutoff < 0 || cutoff >= w.size(1)) return avg.lerp(w, psi);
  auto head = avg.lerp(w.narrow(1, 0, cutoff), psi);
  return torch::cat({head, w.narrow(1, cutoff, w.size(1) - cutoff)}, 1);
}

torch::Tensor StyleGAN2::synthesize(const torch::Tensor& ws, NoiseMode noise) const {
  return impl_->root->synthesis->forward(ws, noise, impl_->config.img_resolution);
}

int64_t StyleGAN2::preview_resolution(int64_t min_size) const {
  int64_t res = 4;
  while (res < min_size && res < impl_->config.img_resolution) res *= 2;
  return res;
}

torch::Tensor StyleGAN2::synthesize_preview(const torch::Tensor& ws, int64_t min_size, NoiseMode noise) const {
  return impl_->root->synthesis->forward(ws, noise, preview_resolution(min_size));
}

std::vector<torch::Tensor> StyleGAN2::parameters() const { return impl_->root->parameters(); }

std::unique_ptr<Generator> StyleGAN2::clone() const {
  return clone_via([&] { return std::make_unique<StyleGAN2>(impl_->config, 0); });
}

torch::OrderedDict<std::string, torch::Tensor> StyleGAN2::named_tensors() const { return module_tensors(*impl_->root); }

void StyleGAN2::to(torch::Device device, torch::ScalarType dtype) { impl_->root->to(device, dtype); }

void StyleGAN2::set_precision(Precision p) {
  if (p == Precision::Float16 && !device().is_cuda())
    fail("--precision fp16", "needs CUDA (CPU convolutions have no fp16 kernels; use bf16 on the CPU)");
  const auto compute = p == Precision::BFloat16 ? torch::kBFloat16 : p == Precision::Float16 ? torch::kHalf : torch::kFloat32;
  for (const auto& block : impl_->root->synthesis->blocks) {
    if (block->conv0) block->conv0->compute = compute;
    block->conv1->compute = compute;
    block->torgb->compute = compute;
  }
  impl_->precision = p;
}

Precision StyleGAN2::precision() const { return impl_->precision; }
torch::Device StyleGAN2::device() const { return impl_->root->mapping->w_avg.device(); }

double StyleGAN2::synthesis_gflop() const {
  const auto& c = impl_->config;
  double macs = 0;
  const double affine = static_cast<double>(c.w_dim);
  for (int64_t res = 4; res <= c.img_resolution; res *= 2) {
    const double out = static_cast<double>(c.channels(res)), pix = static_cast<double>(res * res);
    if (res > 4) {
      const double in = static_cast<double>(c.channels(res / 2));
      macs += affine * in + 9 * in * out * pix / 4;  // stride-2 transposed conv at the input resolution
      macs += 16 * out * pix;                        // 4x4 FIR after it
    }
    macs += affine * out + 9 * out * out * pix;  // conv1
    macs += affine * out + out * c.img_channels * pix;  // toRGB
    if (res > 4) macs += 16.0 * c.img_channels * pix;  // image upsampling FIR
  }
  return 2.0 * macs / 1e9;
}

nlohmann::json StyleGAN2::config() const { return impl_->config.to_json(); }

void StyleGAN2::save(const std::string& path, const nlohmann::json& training_report, bool half) const {
  save_module(path, *impl_->root, "stylegan2", impl_->config.to_json(), training_report, half);
}

}  // namespace faceedit::models
