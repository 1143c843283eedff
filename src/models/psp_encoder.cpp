#include "faceedit/models/psp_encoder.h"

#include <cmath>

#include "faceedit/error.h"
#include "faceedit/io/json_checks.h"
#include "faceedit/io/safetensors.h"
#include "faceedit/models/weights.h"

namespace faceedit::models {

namespace nn = torch::nn;
namespace F = torch::nn::functional;

PspEncoderConfig PspEncoderConfig::from_json(const nlohmann::json& j, const std::string& where) {
  io::check_json_numbers(j, where);
  PspEncoderConfig c;
  try {
    c.kind = j.at("kind").get<std::string>();
    c.input_size = j.at("input_size").get<int64_t>();
    c.input_channels = j.at("input_channels").get<int64_t>();
    c.stem = j.at("stem").get<int64_t>();
    for (const auto& u : j.at("units"))
      c.units.push_back({u.at("in").get<int64_t>(), u.at("depth").get<int64_t>(), u.at("stride").get<int64_t>(),
                         u.at("se_hidden").get<int64_t>()});
    c.taps = j.at("taps").get<std::vector<int64_t>>();
    c.fpn_width = j.at("fpn_width").get<int64_t>();
    c.head_convs = j.at("head_convs").get<std::vector<int64_t>>();
    c.coarse = j.at("coarse").get<int64_t>();
    c.middle = j.at("middle").get<int64_t>();
    c.n_styles = j.at("n_styles").get<int64_t>();
    c.w_dim = j.at("w_dim").get<int64_t>();
  } catch (const nlohmann::json::exception& e) {
    fail(where, std::string("malformed pSp/e4e encoder config: ") + e.what());
  }
  const auto bad = [&](const std::string& why) { fail(where, "pSp/e4e encoder config: " + why); };
  if (c.kind != "psp" && c.kind != "e4e") bad("kind '" + c.kind + "' is not psp or e4e");
  if (c.input_size < 16 || c.input_size > 4096 || c.input_channels < 1 || c.input_channels > 16) bad("input size/channels out of range");
  if (c.units.empty() || c.units.size() > 1000 || c.taps.size() != 3) bad("needs body units and three taps");
  for (const auto& u : c.units)
    if (u.in < 1 || u.depth < 1 || u.in > 65536 || u.depth > 65536 || (u.stride != 1 && u.stride != 2) || u.se_hidden < 1)
      bad("a body unit has bad widths or stride");
  for (auto t : c.taps)
    if (t < 0 || t >= static_cast<int64_t>(c.units.size())) bad("a tap is outside the body");
  if (c.n_styles < 1 || c.n_styles > 64 || static_cast<int64_t>(c.head_convs.size()) != c.n_styles) bad("one head per W+ row");
  if (!(0 < c.coarse && c.coarse <= c.middle && c.middle <= c.n_styles)) bad("coarse/middle out of order");
  for (auto h : c.head_convs)
    if (h < 1 || h > 16) bad("a style head has a bad depth");
  if (c.w_dim < 1 || c.w_dim > 65536 || c.fpn_width < 1 || c.fpn_width > 65536) bad("widths out of range");
  return c;
}

nlohmann::json PspEncoderConfig::to_json() const {
  nlohmann::json units_json = nlohmann::json::array();
  for (const auto& u : units) units_json.push_back({{"in", u.in}, {"depth", u.depth}, {"stride", u.stride}, {"se_hidden", u.se_hidden}});
  return {{"kind", kind},          {"input_size", input_size}, {"input_channels", input_channels}, {"stem", stem},
          {"units", units_json},   {"taps", taps},             {"fpn_width", fpn_width},           {"head_convs", head_convs},
          {"coarse", coarse},      {"middle", middle},         {"n_styles", n_styles},             {"w_dim", w_dim}};
}

namespace {

nn::Conv2d conv(int64_t in, int64_t out, int64_t k, int64_t stride, int64_t pad, bool bias) {
  return nn::Conv2d(nn::Conv2dOptions(in, out, k).stride(stride).padding(pad).bias(bias));
}

// Sequential-like holder whose children are named "0", "1", ... as in torch.nn.Sequential.
struct Indexed : nn::Module {
  template <typename M>
  M add(int64_t index, M m) {
    return register_module(std::to_string(index), m);
  }
};

struct SE : nn::Module {
  nn::Conv2d fc1{nullptr}, fc2{nullptr};
  SE(int64_t c, int64_t hidden) {
    fc1 = register_module("fc1", conv(c, hidden, 1, 1, 0, false));
    fc2 = register_module("fc2", conv(hidden, c, 1, 1, 0, false));
  }
  torch::Tensor forward(const torch::Tensor& x) {
    auto s = x.mean({2, 3}, /*keepdim=*/true);  // AdaptiveAvgPool2d(1)
    return x * torch::sigmoid(fc2->forward(torch::relu(fc1->forward(s))));
  }
};

// bottleneck_IR_SE: shortcut (MaxPool2d(1, stride) = subsampling, or 1x1 conv + BN) + res_layer
// (BN, 3x3 conv, PReLU, 3x3 conv with the stride, BN, SE).
struct Unit : nn::Module {
  int64_t stride;
  std::shared_ptr<Indexed> shortcut, res;
  nn::Conv2d sc_conv{nullptr}, conv1{nullptr}, conv2{nullptr};
  nn::BatchNorm2d sc_bn{nullptr}, bn0{nullptr}, bn4{nullptr};
  nn::PReLU prelu{nullptr};
  std::shared_ptr<SE> se;
  explicit Unit(const PspEncoderConfig::Unit& u) : stride(u.stride) {
    if (u.in != u.depth) {
      shortcut = register_module("shortcut_layer", std::make_shared<Indexed>());
      sc_conv = shortcut->add(0, conv(u.in, u.depth, 1, u.stride, 0, false));
      sc_bn = shortcut->add(1, nn::BatchNorm2d(u.depth));
    }
    res = register_module("res_layer", std::make_shared<Indexed>());
    bn0 = res->add(0, nn::BatchNorm2d(u.in));
    conv1 = res->add(1, conv(u.in, u.depth, 3, 1, 1, false));
    prelu = res->add(2, nn::PReLU(nn::PReLUOptions().num_parameters(u.depth)));
    conv2 = res->add(3, conv(u.depth, u.depth, 3, u.stride, 1, false));
    bn4 = res->add(4, nn::BatchNorm2d(u.depth));
    se = res->add(5, std::make_shared<SE>(u.depth, u.se_hidden));
  }
  torch::Tensor forward(const torch::Tensor& x) {
    auto sc = sc_conv ? sc_bn->forward(sc_conv->forward(x))
                      : (stride == 1 ? x : x.slice(2, 0, c10::nullopt, stride).slice(3, 0, c10::nullopt, stride));
    auto r = conv1->forward(bn0->forward(x));
    r = bn4->forward(conv2->forward(prelu->forward(r)));
    return sc + se->forward(r);
  }
};

// GradualStyleBlock: `convs` (Conv2d stride 2 + LeakyReLU(0.01), as a Sequential: convs at even
// indices) down to 1x1, then EqualLinear (weight / sqrt(in), lr_mul 1).
struct Head : nn::Module {
  std::shared_ptr<Indexed> convs;
  std::vector<nn::Conv2d> layers;
  nn::Linear linear{nullptr};
  int64_t width;
  Head(int64_t in, int64_t out, int64_t n) : width(out) {
    convs = register_module("convs", std::make_shared<Indexed>());
    for (int64_t i = 0; i < n; ++i) layers.push_back(convs->add(2 * i, conv(i == 0 ? in : out, out, 3, 2, 1, true)));
    linear = register_module("linear", nn::Linear(out, out));
  }
  torch::Tensor forward(torch::Tensor x) {
    for (auto& c : layers) x = F::leaky_relu(c->forward(x), F::LeakyReLUFuncOptions().negative_slope(0.01));
    x = x.reshape({-1, width});
    const double scale = 1.0 / std::sqrt(static_cast<double>(width));
    return torch::addmm(linear->bias, x, (linear->weight * scale).t());
  }
};

torch::Tensor upsample_add(const torch::Tensor& x, const torch::Tensor& y) {
  return F::interpolate(x, F::InterpolateFuncOptions()
                               .size(std::vector<int64_t>{y.size(2), y.size(3)})
                               .mode(torch::kBilinear)
                               .align_corners(true)) +
         y;
}

struct Net : nn::Module {
  PspEncoderConfig c;
  std::shared_ptr<Indexed> input_layer, body, styles;
  nn::Conv2d stem_conv{nullptr}, latlayer1{nullptr}, latlayer2{nullptr};
  nn::BatchNorm2d stem_bn{nullptr};
  nn::PReLU stem_prelu{nullptr};
  std::vector<std::shared_ptr<Unit>> units;
  std::vector<std::shared_ptr<Head>> heads;
  torch::Tensor latent_avg;
  explicit Net(PspEncoderConfig config) : c(std::move(config)) {
    input_layer = register_module("input_layer", std::make_shared<Indexed>());
    stem_conv = input_layer->add(0, conv(c.input_channels, c.stem, 3, 1, 1, false));
    stem_bn = input_layer->add(1, nn::BatchNorm2d(c.stem));
    stem_prelu = input_layer->add(2, nn::PReLU(nn::PReLUOptions().num_parameters(c.stem)));
    body = register_module("body", std::make_shared<Indexed>());
    for (size_t i = 0; i < c.units.size(); ++i) units.push_back(body->add(static_cast<int64_t>(i), std::make_shared<Unit>(c.units[i])));
    styles = register_module("styles", std::make_shared<Indexed>());
    for (int64_t i = 0; i < c.n_styles; ++i)
      heads.push_back(styles->add(i, std::make_shared<Head>(c.fpn_width, c.w_dim, c.head_convs[static_cast<size_t>(i)])));
    const auto width = [&](size_t tap) { return c.units[static_cast<size_t>(c.taps[tap])].depth; };
    latlayer1 = register_module("latlayer1", conv(width(1), c.fpn_width, 1, 1, 0, true));
    latlayer2 = register_module("latlayer2", conv(width(0), c.fpn_width, 1, 1, 0, true));
    latent_avg = register_buffer("latent_avg", torch::zeros({c.n_styles, c.w_dim}));
  }
  torch::Tensor forward(const torch::Tensor& images) {
    auto x = stem_prelu->forward(stem_bn->forward(stem_conv->forward(images)));
    torch::Tensor c1, c2, c3;
    for (size_t i = 0; i < units.size(); ++i) {
      x = units[i]->forward(x);
      const auto idx = static_cast<int64_t>(i);
      if (idx == c.taps[0]) c1 = x;
      if (idx == c.taps[1]) c2 = x;
      if (idx == c.taps[2]) c3 = x;
    }
    // The pyramid level each head reads; p2 and p1 only when some head needs them.
    torch::Tensor p2, p1;
    const auto level = [&](int64_t i) -> const torch::Tensor& {
      if (i < c.coarse) return c3;
      if (!p2.defined()) p2 = upsample_add(c3, latlayer1->forward(c2));
      if (i < c.middle) return p2;
      if (!p1.defined()) p1 = upsample_add(p2, latlayer2->forward(c1));
      return p1;
    };
    std::vector<torch::Tensor> rows;
    if (c.kind == "psp") {
      for (int64_t i = 0; i < c.n_styles; ++i) rows.push_back(heads[static_cast<size_t>(i)]->forward(level(i)));
    } else {  // e4e: w0 for every row, deltas on rows 1.. (the Inference stage: all of them)
      auto w0 = heads[0]->forward(c3);
      rows.push_back(w0);
      for (int64_t i = 1; i < c.n_styles; ++i) rows.push_back(w0 + heads[static_cast<size_t>(i)]->forward(level(i)));
    }
    return torch::stack(rows, 1);
  }
};

}  // namespace

struct PspEncoder::Impl {
  std::shared_ptr<Net> net;
};

PspEncoder::PspEncoder() : impl_(std::make_unique<Impl>()) {}
PspEncoder::~PspEncoder() = default;

std::unique_ptr<PspEncoder> PspEncoder::load(const std::string& path, torch::Device device) {
  io::SafetensorsReader file(path);
  auto config = PspEncoderConfig::from_json(read_config(file, "psp-encoder", "pSp/e4e encoder"), path);
  std::unique_ptr<PspEncoder> enc(new PspEncoder());
  enc->impl_->net = std::make_shared<Net>(std::move(config));
  // BatchNorm's training counters are not weights: the converter leaves them out.
  torch::OrderedDict<std::string, torch::Tensor> targets;
  for (const auto& t : module_tensors(*enc->impl_->net))
    if (t.key().find("num_batches_tracked") == std::string::npos) targets.insert(t.key(), t.value());
  load_tensors(file, targets, "the pSp/e4e encoder config in its metadata");
  enc->impl_->net->eval();
  enc->to(device);
  return enc;
}

torch::Tensor PspEncoder::encode_raw(const torch::Tensor& images) const {
  const auto& c = config();
  if (images.dim() != 4 || images.size(1) != c.input_channels || images.size(2) != c.input_size || images.size(3) != c.input_size)
    fail("pSp/e4e encoder input", "expected [N, " + std::to_string(c.input_channels) + ", " + std::to_string(c.input_size) + ", " +
                                      std::to_string(c.input_size) + "] images in [-1, 1], got " + c10::str(images.sizes()));
  return impl_->net->forward(images.to(device(), torch::kFloat32));
}

torch::Tensor PspEncoder::encode(const torch::Tensor& images) const { return encode_raw(images) + impl_->net->latent_avg; }

const PspEncoderConfig& PspEncoder::config() const { return impl_->net->c; }
torch::Tensor PspEncoder::latent_avg() const { return impl_->net->latent_avg; }
void PspEncoder::to(torch::Device device) { impl_->net->to(device); }
torch::Device PspEncoder::device() const { return impl_->net->latent_avg.device(); }

}  // namespace faceedit::models
