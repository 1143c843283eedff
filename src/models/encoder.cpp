#include "faceedit/models/encoder.h"

#include <cmath>

#include "faceedit/error.h"
#include "faceedit/io/json_checks.h"
#include "faceedit/io/safetensors.h"
#include "faceedit/models/checkpoint_formats.h"
#include "faceedit/models/psp_encoder.h"
#include "faceedit/models/weights.h"

namespace faceedit::models {

namespace F = torch::nn::functional;

nlohmann::json EncoderConfig::to_json() const {
  return {{"generator_arch", generator_arch}, {"space", to_string(space)}, {"resolution", resolution},
          {"num_ws", num_ws},  {"latent_dim", latent_dim},            {"channel_base", channel_base},
          {"channel_max", channel_max}, {"hidden", hidden}};
}

EncoderConfig EncoderConfig::from_json(const nlohmann::json& j, const std::string& where) {
  io::check_json_numbers(j, where);
  EncoderConfig c;
  try {
    c.generator_arch = j.at("generator_arch").get<std::string>();
    c.space = parse_latent_space(j.at("space").get<std::string>());
    c.resolution = j.at("resolution").get<int64_t>();
    c.num_ws = j.at("num_ws").get<int64_t>();
    c.latent_dim = j.at("latent_dim").get<int64_t>();
    c.channel_base = j.at("channel_base").get<int64_t>();
    c.channel_max = j.at("channel_max").get<int64_t>();
    c.hidden = j.at("hidden").get<int64_t>();
  } catch (const nlohmann::json::exception& e) {
    fail(where, std::string("malformed encoder config: ") + e.what());
  }
  c.validate(where);
  return c;
}

void EncoderConfig::validate(const std::string& where) const {
  if (resolution < 8 || resolution > 4096 || (resolution & (resolution - 1)) != 0)
    fail(where, "encoder resolution " + std::to_string(resolution) + " is not a power of two in [8, 4096]");
  if (space == LatentSpace::W) fail(where, "an encoder predicts Z or W+ codes, not W");
  if ((space == LatentSpace::WPlus) != (num_ws > 0) || num_ws > 64)
    fail(where, "num_ws must be 1..64 for W+ and 0 for Z");
  if (latent_dim < 1 || latent_dim > 4096 || hidden < 1 || hidden > 8192) fail(where, "latent_dim/hidden out of range");
  if (channel_base < 1 || channel_max < 1 || channels(resolution) < 1 || channel_max > 4096)
    fail(where, "channel_base/channel_max give no channels at " + std::to_string(resolution));
}

EncoderConfig EncoderConfig::for_generator(const Generator& g) {
  EncoderConfig c;
  c.generator_arch = g.arch();
  c.resolution = g.resolution();
  if (g.w_dim() > 0) {
    c.space = LatentSpace::WPlus;
    c.num_ws = g.num_ws();
    c.latent_dim = g.w_dim();
  } else {
    c.space = LatentSpace::Z;
    c.latent_dim = g.z_dim();
  }
  return c;
}

namespace {

struct Net : torch::nn::Module {
  EncoderConfig c;
  torch::nn::Conv2d fromrgb{nullptr};
  std::vector<torch::nn::Conv2d> downs;
  torch::nn::Linear fc{nullptr}, out{nullptr};
  torch::Tensor latent_mean;
  explicit Net(const EncoderConfig& config) : c(config) {
    const auto conv = [](int64_t in, int64_t o, int64_t stride) {
      return torch::nn::Conv2d(torch::nn::Conv2dOptions(in, o, 3).stride(stride).padding(1));
    };
    fromrgb = register_module("fromrgb", conv(3, c.channels(c.resolution), 1));
    for (int64_t r = c.resolution; r > 4; r /= 2)
      downs.push_back(register_module("down" + std::to_string(r), conv(c.channels(r), c.channels(r / 2), 2)));
    fc = register_module("fc", torch::nn::Linear(c.channels(4) * 16, c.hidden));
    const int64_t outputs = (c.num_ws > 0 ? c.num_ws : 1) * c.latent_dim;
    out = register_module("out", torch::nn::Linear(c.hidden, outputs));
    {
      // A small output layer at first: an untrained encoder gives the latent mean, not noise.
      torch::NoGradGuard no_grad;
      out->weight.mul_(0.1);
      out->bias.zero_();
    }
    latent_mean = register_buffer("latent_mean", c.num_ws > 0 ? torch::zeros({c.num_ws, c.latent_dim})
                                                                : torch::zeros({c.latent_dim}));
  }
  torch::Tensor forward(const torch::Tensor& images) {
    const auto act = [](const torch::Tensor& t) { return F::leaky_relu(t, F::LeakyReLUFuncOptions().negative_slope(0.2)); };
    auto x = act(fromrgb->forward(images));
    for (auto& d : downs) x = act(d->forward(x));
    auto y = out->forward(act(fc->forward(x.flatten(1))));
    if (c.num_ws > 0) return latent_mean + y.reshape({-1, c.num_ws, c.latent_dim});
    return torch::tanh(y);  // Z of the DCGAN: inside its box prior
  }
};

}  // namespace

struct Encoder::Impl {
  std::shared_ptr<Net> net;
  // A pSp/e4e encoder (--encoder psp.pt / e4e.pt) does the encoding instead; `net` then only
  // carries the config (its input size, W+ shape) that callers read.
  std::shared_ptr<PspEncoder> psp;
};

Encoder::Encoder(const EncoderConfig& config, const torch::Tensor& latent_mean, uint64_t seed)
    : impl_(std::make_unique<Impl>()) {
  config.validate("encoder config");
  torch::manual_seed(seed);
  impl_->net = std::make_shared<Net>(config);
  if (latent_mean.defined()) {
    if (latent_mean.sizes() != impl_->net->latent_mean.sizes())
      fail("encoder", "latent mean of shape " + std::to_string(latent_mean.dim()) + "-d does not fit the config");
    torch::NoGradGuard no_grad;
    impl_->net->latent_mean.copy_(latent_mean);
  }
  impl_->net->eval();
}

Encoder::~Encoder() = default;

std::unique_ptr<Encoder> Encoder::load(const std::string& path, torch::Device device) {
  if (is_psp_encoder(path)) {
    auto psp = std::shared_ptr<PspEncoder>(PspEncoder::load(resolve_psp_encoder(path), device));
    EncoderConfig c;
    c.generator_arch = "stylegan2";
    c.space = LatentSpace::WPlus;
    c.resolution = psp->config().input_size;
    c.num_ws = psp->config().n_styles;
    c.latent_dim = psp->config().w_dim;
    c.channel_base = c.resolution;  // one channel per level: the placeholder net stays tiny
    c.channel_max = 1;
    c.hidden = 1;
    auto enc = std::make_unique<Encoder>(c, torch::Tensor(), 0);
    enc->impl_->psp = std::move(psp);
    return enc;
  }
  io::SafetensorsReader file(path);
  const auto config = EncoderConfig::from_json(read_config(file, "encoder", "encoder"), path);
  auto enc = std::make_unique<Encoder>(config, torch::Tensor(), 0);
  auto tensors = enc->named_tensors();
  load_tensors(file, tensors, "the encoder config");
  enc->to(device);
  return enc;
}

void Encoder::save(const std::string& path, const nlohmann::json& training_report) const {
  save_module(path, *impl_->net, "encoder", impl_->net->c.to_json(), training_report);
}

torch::Tensor Encoder::encode(const torch::Tensor& images) const {
  const auto r = config().resolution;
  if (impl_->psp) {
    // pSp/e4e take the FFHQ-aligned crop at their own input size (256): a generator-sized crop is
    // resized to it, as the official transforms resize the aligned photo.
    auto x = images.to(impl_->psp->device(), torch::kFloat32);
    if (x.dim() == 4 && (x.size(2) != r || x.size(3) != r))
      x = torch::nn::functional::interpolate(
          x, torch::nn::functional::InterpolateFuncOptions().size(std::vector<int64_t>{r, r}).mode(torch::kBilinear)
                 .align_corners(false).antialias(x.size(2) > r));
    return impl_->psp->encode(x);
  }
  if (images.dim() != 4 || images.size(1) != 3 || images.size(2) != r || images.size(3) != r)
    fail("encoder input", "expected [N, 3, " + std::to_string(r) + ", " + std::to_string(r) + "] images");
  return impl_->net->forward(images.to(impl_->net->latent_mean.device(), torch::kFloat32));
}

const EncoderConfig& Encoder::config() const { return impl_->net->c; }

void Encoder::check_matches(const Generator& g, const std::string& what) const {
  const auto want = EncoderConfig::for_generator(g);
  const auto& c = config();
  if (c.generator_arch != want.generator_arch || c.space != want.space || (c.resolution != want.resolution && !impl_->psp) ||
      c.num_ws != want.num_ws || c.latent_dim != want.latent_dim)
    fail(what, "an encoder for a " + c.generator_arch + " (" + to_string(c.space) + ", " + std::to_string(c.resolution) +
                   " px), not for this " + g.arch() + " (" + to_string(want.space) + ", " +
                   std::to_string(want.resolution) + " px)");
}

std::vector<torch::Tensor> Encoder::parameters() const { return impl_->net->parameters(); }
torch::OrderedDict<std::string, torch::Tensor> Encoder::named_tensors() const { return module_tensors(*impl_->net); }
void Encoder::train(bool on) { impl_->net->train(on); }
void Encoder::to(torch::Device device) {
  impl_->net->to(device);
  if (impl_->psp) impl_->psp->to(device);
}

}  // namespace faceedit::models
