#include "faceedit/models/stylegan2_discriminator.h"

#include <cmath>

#include "faceedit/error.h"
#include "faceedit/io/json_checks.h"
#include "faceedit/io/safetensors.h"
#include "stylegan2_layers.h"
#include "faceedit/models/weights.h"

namespace faceedit::models {

using nn::Activation;
using layers::FullyConnected;
using layers::kLreluGain;

// ---------------------------------------------------------------------------------------------
// Config

int64_t StyleGAN2DiscriminatorConfig::channels(int64_t res) const {
  const auto i = static_cast<size_t>(std::lround(std::log2(static_cast<double>(res)))) - 2;
  if (i < channel_table.size()) return channel_table[i];
  return std::min(channel_base / res, channel_max);
}

void StyleGAN2DiscriminatorConfig::validate(const std::string& where) const {
  const auto res = img_resolution;
  if (res < 8 || res > 4096 || (res & (res - 1)) != 0)
    fail(where, "img_resolution " + std::to_string(res) + " is not a power of two in [8, 4096]");
  if (img_channels < 1 || img_channels > 4) fail(where, "img_channels must be 1..4");
  if (channel_base < 1 || channel_max < 1 || channels(res) < 1)
    fail(where, "channel_base/channel_max give zero channels at " + std::to_string(res));
  const auto levels = static_cast<size_t>(std::lround(std::log2(static_cast<double>(res)))) - 1;
  if (!channel_table.empty() && channel_table.size() != levels)
    fail(where, "channels has " + std::to_string(channel_table.size()) + " entries, expected one per resolution 4.." +
                    std::to_string(res));
  for (auto c : channel_table)
    if (c < 1 || c > 65536) fail(where, "channels entry " + std::to_string(c) + " is out of [1, 65536]");
  if (mbstd_group_size < 1 || mbstd_num_channels < 0 || mbstd_num_channels > channels(4))
    fail(where, "mbstd_group_size must be >= 1 and mbstd_num_channels in [0, channels at 4x4]");
  if (mbstd_num_channels > 0 && channels(4) % mbstd_num_channels != 0)
    fail(where, "mbstd_num_channels must divide the channels at 4x4");
}

StyleGAN2DiscriminatorConfig StyleGAN2DiscriminatorConfig::from_json(const nlohmann::json& j, const std::string& where) {
  io::check_json_numbers(j, where);
  StyleGAN2DiscriminatorConfig c;
  try {
    c.img_resolution = j.value("img_resolution", c.img_resolution);
    c.img_channels = j.value("img_channels", c.img_channels);
    if (j.value("c_dim", 0) != 0) fail(where, "conditional discriminators (c_dim > 0) are not supported");
    if (j.value("architecture", std::string("resnet")) != "resnet") fail(where, "only the 'resnet' architecture is supported");
    c.channel_base = j.value("channel_base", c.channel_base);
    c.channel_max = j.value("channel_max", c.channel_max);
    if (j.contains("conv_clamp") && !j["conv_clamp"].is_null()) c.conv_clamp = j["conv_clamp"].get<double>();
    c.mbstd_group_size = j.value("mbstd_group_size", c.mbstd_group_size);
    c.mbstd_num_channels = j.value("mbstd_num_channels", c.mbstd_num_channels);
    if (j.contains("channels")) c.channel_table = j["channels"].get<std::vector<int64_t>>();
  } catch (const nlohmann::json::exception& e) {
    fail(where, std::string("malformed config: ") + e.what());
  }
  c.validate(where);
  return c;
}

nlohmann::json StyleGAN2DiscriminatorConfig::to_json() const {
  nlohmann::json j = {{"c_dim", 0},
          {"img_resolution", img_resolution},
          {"img_channels", img_channels},
          {"architecture", "resnet"},
          {"channel_base", channel_base},
          {"channel_max", channel_max},
          {"conv_clamp", conv_clamp >= 0 ? nlohmann::json(conv_clamp) : nlohmann::json(nullptr)},
          {"mbstd_group_size", mbstd_group_size},
          {"mbstd_num_channels", mbstd_num_channels}};
  if (!channel_table.empty()) j["channels"] = channel_table;
  return j;
}

// ---------------------------------------------------------------------------------------------
// Modules, named as in networks.py.

namespace {

// Conv2dLayer (no up-sampling): equalised learning rate, optional stride-2 FIR down-sampling, then
// bias, activation, gain and clamp; forward's `gain` scales both the activation gain and the clamp.
struct Conv2dLayer : torch::nn::Module {
  torch::Tensor weight, bias;
  double weight_gain, act_gain, conv_clamp;
  Activation act;
  int down;
  Conv2dLayer(int64_t in, int64_t out, int64_t k, bool use_bias, Activation act_, int down_, double clamp)
      : weight_gain(1.0 / std::sqrt(static_cast<double>(in * k * k))),
        act_gain(act_ == Activation::LeakyRelu ? kLreluGain : 1.0),
        conv_clamp(clamp),
        act(act_),
        down(down_) {
    weight = register_parameter("weight", torch::randn({out, in, k, k}));
    if (use_bias) bias = register_parameter("bias", torch::zeros({out}));
  }
  torch::Tensor forward(const torch::Tensor& x, double gain = 1.0) const {
    const auto w = weight * weight_gain;
    auto y = down == 2 ? nn::conv2d_down2(x, w) : torch::conv2d(x, w, {}, 1, weight.size(2) / 2);
    return nn::bias_act(y, bias, act, act_gain * gain, conv_clamp >= 0 ? conv_clamp * gain : -1.0);
  }
};

struct DiscriminatorBlock : torch::nn::Module {
  int64_t in_channels;
  std::shared_ptr<Conv2dLayer> fromrgb, conv0, conv1, skip;
  DiscriminatorBlock(const StyleGAN2DiscriminatorConfig& c, int64_t res) {
    in_channels = res < c.img_resolution ? c.channels(res) : 0;
    const int64_t tmp = c.channels(res), out = c.channels(res / 2);
    const double clamp = c.conv_clamp;
    if (in_channels == 0)
      fromrgb = register_module("fromrgb", std::make_shared<Conv2dLayer>(c.img_channels, tmp, 1, true,
                                                                         Activation::LeakyRelu, 1, clamp));
    conv0 = register_module("conv0", std::make_shared<Conv2dLayer>(tmp, tmp, 3, true, Activation::LeakyRelu, 1, clamp));
    conv1 = register_module("conv1", std::make_shared<Conv2dLayer>(tmp, out, 3, true, Activation::LeakyRelu, 2, clamp));
    skip = register_module("skip", std::make_shared<Conv2dLayer>(tmp, out, 1, false, Activation::Linear, 2, -1.0));
  }
  torch::Tensor forward(const torch::Tensor& x_in, const torch::Tensor& img) const {
    const auto x = in_channels == 0 ? fromrgb->forward(img) : x_in;
    const double half = std::sqrt(0.5);  // the residual sum keeps unit variance
    auto y = skip->forward(x, half);
    return y + conv1->forward(conv0->forward(x), half);
  }
};

// MinibatchStdLayer: per group of G samples, the standard deviation of each feature over the group,
// averaged over channels (in num_channels groups) and pixels, appended as extra channels.
torch::Tensor minibatch_stddev(const torch::Tensor& x, int64_t group_size, int64_t num_channels) {
  const int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  const int64_t g = std::min(group_size, n);
  if (n % g != 0)
    fail("discriminator", "batch of " + std::to_string(n) + " is not a multiple of the minibatch-stddev group size " +
                              std::to_string(g));
  auto y = x.reshape({g, -1, num_channels, c / num_channels, h, w});
  y = y - y.mean(0);
  y = (y.square().mean(0) + 1e-8).sqrt();
  y = y.mean({2, 3, 4}).reshape({-1, num_channels, 1, 1}).repeat({g, 1, h, w});
  return torch::cat({x, y}, 1);
}

struct DiscriminatorEpilogue : torch::nn::Module {
  std::shared_ptr<Conv2dLayer> conv;
  std::shared_ptr<FullyConnected> fc, out;
  int64_t mbstd_group_size, mbstd_num_channels;
  DiscriminatorEpilogue(const StyleGAN2DiscriminatorConfig& c)
      : mbstd_group_size(c.mbstd_group_size), mbstd_num_channels(c.mbstd_num_channels) {
    const int64_t ch = c.channels(4);
    conv = register_module("conv", std::make_shared<Conv2dLayer>(ch + c.mbstd_num_channels, ch, 3, true,
                                                                 Activation::LeakyRelu, 1, c.conv_clamp));
    fc = register_module("fc", std::make_shared<FullyConnected>(ch * 16, ch, Activation::LeakyRelu, 1.0, 0.0));
    out = register_module("out", std::make_shared<FullyConnected>(ch, 1, Activation::Linear, 1.0, 0.0));
  }
  torch::Tensor forward(torch::Tensor x) const {
    if (mbstd_num_channels > 0) x = minibatch_stddev(x, mbstd_group_size, mbstd_num_channels);
    x = conv->forward(x);
    return out->forward(fc->forward(x.flatten(1)));
  }
};

struct Root : torch::nn::Module {
  std::vector<std::shared_ptr<DiscriminatorBlock>> blocks;
  std::shared_ptr<DiscriminatorEpilogue> epilogue;
  Root(const StyleGAN2DiscriminatorConfig& c) {
    for (int64_t res = c.img_resolution; res > 4; res /= 2)
      blocks.push_back(register_module("b" + std::to_string(res), std::make_shared<DiscriminatorBlock>(c, res)));
    epilogue = register_module("b4", std::make_shared<DiscriminatorEpilogue>(c));
  }
};

}  // namespace

struct StyleGAN2Discriminator::Impl {
  StyleGAN2DiscriminatorConfig config;
  std::shared_ptr<Root> root;
};

StyleGAN2Discriminator::StyleGAN2Discriminator(const StyleGAN2DiscriminatorConfig& config, uint64_t seed)
    : impl_(std::make_unique<Impl>()) {
  config.validate("StyleGAN2 discriminator config");
  impl_->config = config;
  torch::manual_seed(seed);
  impl_->root = std::make_shared<Root>(config);
}

StyleGAN2Discriminator::~StyleGAN2Discriminator() = default;

std::unique_ptr<StyleGAN2Discriminator> StyleGAN2Discriminator::load(const std::string& path, torch::Device device) {
  io::SafetensorsReader file(path);
  const nlohmann::json j = read_config(file, "stylegan2-discriminator", "StyleGAN2 discriminator");
  auto model = std::make_unique<StyleGAN2Discriminator>(StyleGAN2DiscriminatorConfig::from_json(j, path), 0);
  auto tensors = model->named_tensors();
  load_tensors(file, tensors, "the config (resolution " + std::to_string(model->config().img_resolution) + ")");
  model->to(device);
  return model;
}

torch::Tensor StyleGAN2Discriminator::forward(const torch::Tensor& images) const {
  const auto& c = impl_->config;
  if (images.dim() != 4 || images.size(1) != c.img_channels || images.size(2) != c.img_resolution ||
      images.size(3) != c.img_resolution)
    fail("discriminator", "expects images [N, " + std::to_string(c.img_channels) + ", " +
                              std::to_string(c.img_resolution) + ", " + std::to_string(c.img_resolution) + "], got " +
                              c10::str(images.sizes()));
  torch::Tensor x;
  for (const auto& block : impl_->root->blocks) x = block->forward(x, images);
  return impl_->root->epilogue->forward(x);
}

std::vector<torch::Tensor> StyleGAN2Discriminator::parameters() const { return impl_->root->parameters(); }
torch::OrderedDict<std::string, torch::Tensor> StyleGAN2Discriminator::named_tensors() const {
  return module_tensors(*impl_->root);
}
void StyleGAN2Discriminator::to(torch::Device device) { impl_->root->to(device); }
torch::Device StyleGAN2Discriminator::device() const { return impl_->root->epilogue->out->weight.device(); }
const StyleGAN2DiscriminatorConfig& StyleGAN2Discriminator::config() const { return impl_->config; }

void StyleGAN2Discriminator::save(const std::string& path, const nlohmann::json& training_report) const {
  save_module(path, *impl_->root, "stylegan2-discriminator", impl_->config.to_json(), training_report);
}

}  // namespace faceedit::models
