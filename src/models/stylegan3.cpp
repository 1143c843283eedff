#include "faceedit/models/stylegan3.h"

#include <cmath>

#include "faceedit/error.h"
#include "faceedit/io/json_checks.h"
#include "faceedit/io/safetensors.h"
#include "faceedit/models/numpy_random.h"
#include "faceedit/nn/filtered_lrelu.h"
#include "faceedit/nn/ops.h"
#include "stylegan2_layers.h"
#include "faceedit/models/weights.h"

namespace faceedit::models {

namespace ops = faceedit::nn;
using layers::FullyConnected;

// ---------------------------------------------------------------------------------------------
// Config and geometry

StyleGAN3Config StyleGAN3Config::preset(char cfg, int64_t resolution) {
  StyleGAN3Config c;
  c.img_resolution = resolution;
  if (cfg == 'r' || cfg == 'R') {  // train.py --cfg stylegan3-r
    c.conv_kernel = 1;
    c.use_radial_filters = true;
    c.channel_base *= 2;
    c.channel_max *= 2;
  } else if (cfg != 't' && cfg != 'T') {
    fail(std::string("StyleGAN3 config '") + cfg + "'", "unknown (use t or r)");
  }
  return c;
}

void StyleGAN3Config::validate(const std::string& where) const {
  if (img_resolution < 4 || img_resolution > 4096) fail(where, "img_resolution must be in [4, 4096]");
  if (z_dim < 1 || z_dim > 65536 || w_dim < 1 || w_dim > 65536) fail(where, "z_dim/w_dim out of range");
  if (mapping_layers < 1 || mapping_layers > 64) fail(where, "mapping num_layers out of range");
  if (img_channels < 1 || img_channels > 4) fail(where, "img_channels must be 1..4");
  if (channel_base < 1 || channel_max < 1) fail(where, "channel_base/channel_max must be positive");
  if (num_layers < 2 || num_layers > 64 || num_critical < 0 || num_critical >= num_layers)
    fail(where, "num_layers must be in [2, 64] and num_critical in [0, num_layers)");
  if (margin_size < 0 || margin_size > 1024) fail(where, "margin_size out of range");
  if (conv_kernel < 1 || conv_kernel > 15 || filter_size < 1 || filter_size > 64 || lrelu_upsampling < 1 ||
      lrelu_upsampling > 8)
    fail(where, "conv_kernel/filter_size/lrelu_upsampling out of range");
  for (double v : {first_cutoff, first_stopband, last_stopband_rel, output_scale})
    if (!(std::isfinite(v) && v > 0)) fail(where, "cutoffs, stopbands and output_scale must be positive");
}

StyleGAN3Config StyleGAN3Config::from_json(const nlohmann::json& j, const std::string& where) {
  io::check_json_numbers(j, where);
  StyleGAN3Config c;
  try {
    c.z_dim = j.at("z_dim").get<int64_t>();
    c.w_dim = j.at("w_dim").get<int64_t>();
    c.img_resolution = j.at("img_resolution").get<int64_t>();
    c.img_channels = j.at("img_channels").get<int64_t>();
    if (j.value("c_dim", 0) != 0) fail(where, "conditional models (c_dim > 0) are not supported");
    const auto& m = j.at("mapping");
    c.mapping_layers = m.at("num_layers").get<int64_t>();
    c.mapping_lr_multiplier = m.at("lr_multiplier").get<double>();
    const auto& s = j.at("synthesis");
    c.channel_base = s.at("channel_base").get<int64_t>();
    c.channel_max = s.at("channel_max").get<int64_t>();
    c.num_layers = s.at("num_layers").get<int64_t>();
    c.num_critical = s.at("num_critical").get<int64_t>();
    c.margin_size = s.at("margin_size").get<int64_t>();
    c.first_cutoff = s.at("first_cutoff").get<double>();
    c.first_stopband = s.at("first_stopband").get<double>();
    c.last_stopband_rel = s.at("last_stopband_rel").get<double>();
    c.output_scale = s.at("output_scale").get<double>();
    c.conv_kernel = s.at("conv_kernel").get<int64_t>();
    c.filter_size = s.at("filter_size").get<int64_t>();
    c.lrelu_upsampling = s.at("lrelu_upsampling").get<int64_t>();
    c.use_radial_filters = s.at("use_radial_filters").get<bool>();
    c.conv_clamp = s.at("conv_clamp").is_null() ? -1.0 : s.at("conv_clamp").get<double>();
  } catch (const nlohmann::json::exception& e) {
    fail(where, std::string("malformed StyleGAN3 config: ") + e.what());
  }
  c.validate(where);
  return c;
}

nlohmann::json StyleGAN3Config::to_json() const {
  return {{"z_dim", z_dim},
          {"c_dim", 0},
          {"w_dim", w_dim},
          {"img_resolution", img_resolution},
          {"img_channels", img_channels},
          {"num_ws", num_ws()},
          {"mapping", {{"num_layers", mapping_layers}, {"lr_multiplier", mapping_lr_multiplier}}},
          {"synthesis",
           {{"channel_base", channel_base},
            {"channel_max", channel_max},
            {"num_layers", num_layers},
            {"num_critical", num_critical},
            {"first_cutoff", first_cutoff},
            {"first_stopband", first_stopband},
            {"last_stopband_rel", last_stopband_rel},
            {"margin_size", margin_size},
            {"output_scale", output_scale},
            {"conv_kernel", conv_kernel},
            {"filter_size", filter_size},
            {"lrelu_upsampling", lrelu_upsampling},
            {"use_radial_filters", use_radial_filters},
            {"conv_clamp", conv_clamp >= 0 ? nlohmann::json(conv_clamp) : nlohmann::json(nullptr)}}}};
}

StyleGAN3Geometry stylegan3_geometry(const StyleGAN3Config& c) {
  // SynthesisNetwork.__init__, in double as numpy computes it.
  const int64_t n = c.num_layers;
  const double res = static_cast<double>(c.img_resolution);
  const double last_cutoff = res / 2, last_stopband = last_cutoff * c.last_stopband_rel;
  std::vector<double> cutoffs, stopbands, rates, half_widths, sizes, channels;
  for (int64_t i = 0; i <= n; ++i) {
    const double e = std::min(static_cast<double>(i) / static_cast<double>(n - c.num_critical), 1.0);
    cutoffs.push_back(c.first_cutoff * std::pow(last_cutoff / c.first_cutoff, e));
    stopbands.push_back(c.first_stopband * std::pow(last_stopband / c.first_stopband, e));
    rates.push_back(std::exp2(std::ceil(std::log2(std::min(stopbands.back() * 2, res)))));
    half_widths.push_back(std::max(stopbands.back(), rates.back() / 2) - cutoffs.back());
    sizes.push_back(rates.back() + static_cast<double>(c.margin_size) * 2);
    channels.push_back(std::nearbyint(std::min((static_cast<double>(c.channel_base) / 2) / cutoffs.back(),
                                               static_cast<double>(c.channel_max))));
  }
  sizes[n] = sizes[n - 1] = res;
  channels[n] = static_cast<double>(c.img_channels);

  StyleGAN3Geometry g;
  g.input_channels = static_cast<int64_t>(channels[0]);
  g.input_size = static_cast<int64_t>(sizes[0]);
  g.input_sampling_rate = rates[0];
  g.input_bandwidth = cutoffs[0];
  for (int64_t idx = 0; idx <= n; ++idx) {
    const auto prev = static_cast<size_t>(std::max<int64_t>(idx - 1, 0)), i = static_cast<size_t>(idx);
    StyleGAN3Layer L;
    L.is_torgb = idx == n;
    L.is_critically_sampled = idx >= n - c.num_critical;
    L.in_channels = static_cast<int64_t>(channels[prev]);
    L.out_channels = static_cast<int64_t>(channels[i]);
    L.in_size = static_cast<int64_t>(sizes[prev]);
    L.out_size = static_cast<int64_t>(sizes[i]);
    L.in_sampling_rate = static_cast<int64_t>(rates[prev]);
    L.out_sampling_rate = static_cast<int64_t>(rates[i]);
    L.in_cutoff = cutoffs[prev];
    L.out_cutoff = cutoffs[i];
    L.in_half_width = half_widths[prev];
    L.out_half_width = half_widths[i];
    L.conv_kernel = L.is_torgb ? 1 : c.conv_kernel;
    const int64_t tmp_rate = std::max(L.in_sampling_rate, L.out_sampling_rate) * (L.is_torgb ? 1 : c.lrelu_upsampling);
    L.up_factor = tmp_rate / L.in_sampling_rate;
    L.down_factor = tmp_rate / L.out_sampling_rate;
    L.up_taps = L.up_factor > 1 && !L.is_torgb ? c.filter_size * L.up_factor : 1;
    L.down_taps = L.down_factor > 1 && !L.is_torgb ? c.filter_size * L.down_factor : 1;
    L.down_radial = c.use_radial_filters && !L.is_critically_sampled;
    int64_t pad_total = (L.out_size - 1) * L.down_factor + 1;
    pad_total -= (L.in_size + L.conv_kernel - 1) * L.up_factor;
    pad_total += L.up_taps + L.down_taps - 2;
    const int64_t sum = pad_total + L.up_factor;
    const int64_t pad_lo = sum >= 0 ? sum / 2 : -((-sum + 1) / 2);  // Python's floor division
    const int64_t pad_hi = pad_total - pad_lo;
    L.padding = {pad_lo, pad_hi, pad_lo, pad_hi};
    L.name = "L" + std::to_string(idx) + "_" + std::to_string(L.out_size) + "_" + std::to_string(L.out_channels);
    g.layers.push_back(L);
  }
  return g;
}

namespace {

// The pickle's recorded geometry (converter metadata "input"/"layers") must be what we derive.
void check_recorded_geometry(const nlohmann::json& j, const StyleGAN3Geometry& g, const std::string& path) {
  auto close = [](double a, double b) { return std::abs(a - b) <= 1e-9 * std::max(1.0, std::abs(b)); };
  auto mismatch = [&](const std::string& what, const std::string& rec, const std::string& ours) {
    fail(path, "StyleGAN3 " + what + ": the checkpoint records " + rec + " but its config gives " + ours +
                   " (not a networks_stylegan3.py geometry faceedit reproduces)");
  };
  try {
    if (j.contains("input")) {
      const auto& in = j["input"];
      if (in.at("channels").get<int64_t>() != g.input_channels ||
          in.at("size").at(0).get<int64_t>() != g.input_size || in.at("size").at(1).get<int64_t>() != g.input_size ||
          !close(in.at("sampling_rate").get<double>(), g.input_sampling_rate) ||
          !close(in.at("bandwidth").get<double>(), g.input_bandwidth))
        mismatch("synthesis.input", in.dump(), "channels " + std::to_string(g.input_channels) + ", size " +
                                                   std::to_string(g.input_size));
    }
    if (!j.contains("layers")) return;
    const auto& layers = j["layers"];
    if (!layers.is_array() || layers.size() != g.layers.size())
      mismatch("layer count", std::to_string(layers.size()), std::to_string(g.layers.size()));
    for (size_t i = 0; i < g.layers.size(); ++i) {
      const auto& r = layers[i];
      const auto& L = g.layers[i];
      const std::string name = r.at("name").get<std::string>();
      bool ok = name == L.name && r.at("is_torgb").get<bool>() == L.is_torgb &&
                r.at("is_critically_sampled").get<bool>() == L.is_critically_sampled &&
                r.at("down_radial").get<bool>() == L.down_radial &&
                r.at("in_channels").get<int64_t>() == L.in_channels &&
                r.at("out_channels").get<int64_t>() == L.out_channels &&
                r.at("conv_kernel").get<int64_t>() == L.conv_kernel && r.at("up_factor").get<int64_t>() == L.up_factor &&
                r.at("down_factor").get<int64_t>() == L.down_factor && r.at("up_taps").get<int64_t>() == L.up_taps &&
                r.at("down_taps").get<int64_t>() == L.down_taps &&
                close(r.at("in_sampling_rate").get<double>(), static_cast<double>(L.in_sampling_rate)) &&
                close(r.at("out_sampling_rate").get<double>(), static_cast<double>(L.out_sampling_rate)) &&
                close(r.at("in_cutoff").get<double>(), L.in_cutoff) && close(r.at("out_cutoff").get<double>(), L.out_cutoff) &&
                close(r.at("in_half_width").get<double>(), L.in_half_width) &&
                close(r.at("out_half_width").get<double>(), L.out_half_width);
      for (int a = 0; a < 2; ++a)
        ok = ok && r.at("in_size").at(a).get<int64_t>() == L.in_size && r.at("out_size").at(a).get<int64_t>() == L.out_size;
      for (int a = 0; a < 4; ++a) ok = ok && r.at("padding").at(a).get<int64_t>() == L.padding[static_cast<size_t>(a)];
      if (!ok) mismatch("layer " + name, r.dump(), "layer " + L.name);
    }
  } catch (const nlohmann::json::exception& e) {
    fail(path, std::string("malformed StyleGAN3 layer record: ") + e.what());
  }
}

// ---------------------------------------------------------------------------------------------
// Modules, named as in networks_stylegan3.py.

struct Mapping : torch::nn::Module {
  std::vector<std::shared_ptr<FullyConnected>> fcs;
  torch::Tensor w_avg;
  explicit Mapping(const StyleGAN3Config& c) {
    for (int64_t i = 0; i < c.mapping_layers; ++i)
      fcs.push_back(register_module(
          "fc" + std::to_string(i), std::make_shared<FullyConnected>(i == 0 ? c.z_dim : c.w_dim, c.w_dim,
                                                                     ops::Activation::LeakyRelu, c.mapping_lr_multiplier, 0.0)));
    w_avg = register_buffer("w_avg", torch::zeros({c.w_dim}));
  }
  torch::Tensor forward(const torch::Tensor& z) const {
    auto x = ops::normalize_2nd_moment(z.to(w_avg.scalar_type()));
    for (const auto& fc : fcs) x = fc->forward(x);
    return x;
  }
};

struct SynthesisInput : torch::nn::Module {
  std::shared_ptr<FullyConnected> affine;
  torch::Tensor weight, transform, freqs, phases;
  int64_t channels, size;
  double sampling_rate, bandwidth;
  SynthesisInput(int64_t w_dim, const StyleGAN3Geometry& g)
      : channels(g.input_channels), size(g.input_size), sampling_rate(g.input_sampling_rate), bandwidth(g.input_bandwidth) {
    // Frequencies uniform in the disc of radius `bandwidth`, as the original draws them.
    auto f = torch::randn({channels, 2});
    auto radii = f.square().sum(1, true).sqrt();
    f = f / (radii * radii.square().exp().pow(0.25)) * bandwidth;
    weight = register_parameter("weight", torch::randn({channels, channels}));
    affine = register_module("affine", std::make_shared<FullyConnected>(w_dim, 4, ops::Activation::Linear, 1.0, 0.0));
    {
      torch::NoGradGuard no_grad;
      affine->weight.zero_();
      affine->bias.copy_(torch::tensor({1.0f, 0.0f, 0.0f, 0.0f}));
    }
    transform = register_buffer("transform", torch::eye(3));
    freqs = register_buffer("freqs", f);
    phases = register_buffer("phases", torch::rand({channels}) - 0.5);
  }
  torch::Tensor forward(const torch::Tensor& w) const {
    const int64_t n = w.size(0);
    // The learned rotation and translation, normalised by the rotation's length.
    auto t = affine->forward(w);
    t = t / t.narrow(1, 0, 2).norm(2, 1, true);
    auto zero = torch::zeros({n}, t.options()), one = torch::ones({n}, t.options());
    auto c = t.select(1, 0), s = t.select(1, 1), tx = t.select(1, 2), ty = t.select(1, 3);
    auto m_r = torch::stack({c, -s, zero, s, c, zero, zero, zero, one}, 1).view({n, 3, 3});
    auto m_t = torch::stack({one, zero, -tx, zero, one, -ty, zero, zero, one}, 1).view({n, 3, 3});
    auto transforms = m_r.matmul(m_t).matmul(transform.unsqueeze(0));
    // Rotate/translate the frequencies and phases; damp what the user transform pushed out of band.
    auto ph = phases.unsqueeze(0) + freqs.unsqueeze(0).matmul(transforms.narrow(1, 0, 2).narrow(2, 2, 1)).squeeze(2);
    auto fr = freqs.unsqueeze(0).matmul(transforms.narrow(1, 0, 2).narrow(2, 0, 2));
    auto amplitudes = (1 - (fr.norm(2, 2) - bandwidth) / (sampling_rate / 2 - bandwidth)).clamp(0, 1);
    // Sampling grid: affine_grid over [-1, 1] scaled to half the size in sampling-rate units.
    auto theta = torch::zeros({1, 2, 3}, t.options());
    theta[0][0][0] = 0.5 * static_cast<double>(size) / sampling_rate;
    theta[0][1][1] = 0.5 * static_cast<double>(size) / sampling_rate;
    auto grids = torch::affine_grid_generator(theta, {1, 1, size, size}, false);  // [1, H, W, 2]
    auto x = grids.unsqueeze(3).matmul(fr.permute({0, 2, 1}).unsqueeze(1).unsqueeze(2)).squeeze(3);  // [N, H, W, C]
    x = x + ph.unsqueeze(1).unsqueeze(2);
    x = torch::sin(x * (M_PI * 2));
    x = x * amplitudes.unsqueeze(1).unsqueeze(2);
    x = x.matmul((weight / std::sqrt(static_cast<double>(channels))).t());
    return x.permute({0, 3, 1, 2});
  }
};

struct SynthesisLayer : torch::nn::Module {
  StyleGAN3Layer geo;
  double conv_clamp;
  std::shared_ptr<FullyConnected> affine;
  torch::Tensor weight, bias, magnitude_ema, up_filter, down_filter;
  SynthesisLayer(int64_t w_dim, const StyleGAN3Layer& g, double clamp) : geo(g), conv_clamp(clamp) {
    affine = register_module("affine", std::make_shared<FullyConnected>(w_dim, g.in_channels, ops::Activation::Linear, 1.0, 1.0));
    weight = register_parameter("weight", torch::randn({g.out_channels, g.in_channels, g.conv_kernel, g.conv_kernel}));
    bias = register_parameter("bias", torch::zeros({g.out_channels}));
    magnitude_ema = register_buffer("magnitude_ema", torch::ones({}));
    const double tmp_rate = static_cast<double>(g.in_sampling_rate * g.up_factor);
    if (g.up_taps > 1)
      up_filter = register_buffer("up_filter", ops::design_lowpass_filter(g.up_taps, g.in_cutoff, g.in_half_width * 2, tmp_rate));
    if (g.down_taps > 1)
      down_filter = register_buffer("down_filter", ops::design_lowpass_filter(g.down_taps, g.out_cutoff, g.out_half_width * 2,
                                                                              tmp_rate, g.down_radial));
  }
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& w) const {
    const int64_t n = x.size(0), in = geo.in_channels, k = geo.conv_kernel;
    auto styles = affine->forward(w);
    if (geo.is_torgb) styles = styles * (1.0 / std::sqrt(static_cast<double>(in * k * k)));
    // modulated_conv2d of networks_stylegan3.py: pre-normalised weights and styles (the styles over
    // the whole batch, as the original), demodulation, the input gain, one grouped convolution.
    auto wt = weight;
    const bool demod = !geo.is_torgb;
    if (demod) {
      wt = wt * wt.square().mean({1, 2, 3}, true).rsqrt();
      styles = styles * styles.square().mean().rsqrt();
    }
    auto wm = wt.unsqueeze(0) * styles.view({n, 1, in, 1, 1});  // [N, O, I, k, k]
    if (demod) wm = wm * (wm.square().sum({2, 3, 4}) + 1e-8).rsqrt().view({n, -1, 1, 1, 1});
    wm = wm * magnitude_ema.rsqrt();
    auto y = torch::nn::functional::conv2d(
        x.reshape({1, n * in, x.size(2), x.size(3)}), wm.reshape({-1, in, k, k}),
        torch::nn::functional::Conv2dFuncOptions().padding(k - 1).groups(n));
    y = y.reshape({n, -1, y.size(2), y.size(3)});
    const double gain = geo.is_torgb ? 1.0 : std::sqrt(2.0), slope = geo.is_torgb ? 1.0 : 0.2;
    return ops::filtered_lrelu(y, up_filter, down_filter, bias, geo.up_factor, geo.down_factor,
                               {geo.padding[0], geo.padding[1], geo.padding[2], geo.padding[3]}, gain, slope, conv_clamp);
  }
};

struct Synthesis : torch::nn::Module {
  std::shared_ptr<SynthesisInput> input;
  std::vector<std::shared_ptr<SynthesisLayer>> layers;
  double output_scale;
  Synthesis(const StyleGAN3Config& c, const StyleGAN3Geometry& g) : output_scale(c.output_scale) {
    input = register_module("input", std::make_shared<SynthesisInput>(c.w_dim, g));
    for (const auto& L : g.layers) layers.push_back(register_module(L.name, std::make_shared<SynthesisLayer>(c.w_dim, L, c.conv_clamp)));
  }
  torch::Tensor forward(const torch::Tensor& ws) const {
    auto x = input->forward(ws.select(1, 0));
    for (size_t i = 0; i < layers.size(); ++i) x = layers[i]->forward(x, ws.select(1, static_cast<int64_t>(i) + 1));
    if (output_scale != 1.0) x = x * output_scale;
    return x.contiguous();
  }
};

struct Root : torch::nn::Module {
  std::shared_ptr<Synthesis> synthesis;
  std::shared_ptr<Mapping> mapping;
  Root(const StyleGAN3Config& c, const StyleGAN3Geometry& g) {
    synthesis = register_module("synthesis", std::make_shared<Synthesis>(c, g));
    mapping = register_module("mapping", std::make_shared<Mapping>(c));
  }
};

}  // namespace

struct StyleGAN3::Impl {
  StyleGAN3Config config;
  StyleGAN3Geometry geometry;
  std::shared_ptr<Root> root;
};

StyleGAN3::StyleGAN3(const StyleGAN3Config& config, uint64_t seed) : impl_(std::make_unique<Impl>()) {
  config.validate("StyleGAN3 config");
  impl_->config = config;
  impl_->geometry = stylegan3_geometry(config);
  for (const auto& L : impl_->geometry.layers)
    if (L.in_channels < 1 || L.out_channels < 1 || L.out_size < 1)
      fail("StyleGAN3 config", "layer " + L.name + " has no channels or no pixels");
  torch::manual_seed(seed);
  impl_->root = std::make_shared<Root>(config, impl_->geometry);
  impl_->root->eval();
}

StyleGAN3::~StyleGAN3() = default;

std::unique_ptr<StyleGAN3> StyleGAN3::load(const std::string& path, torch::Device device) {
  io::SafetensorsReader file(path);
  const nlohmann::json j = read_config(file, "stylegan3", "StyleGAN3");
  auto config = StyleGAN3Config::from_json(j, path);
  auto model = std::make_unique<StyleGAN3>(config, 0);
  check_recorded_geometry(j, model->geometry(), path);
  auto tensors = model->named_tensors();
  load_tensors(file, tensors, "the StyleGAN3 config (resolution " + std::to_string(config.img_resolution) + ")");
  for (const auto& t : tensors)
    if (!torch::isfinite(t.value()).all().item<bool>()) fail(path, "tensor '" + t.key() + "' holds NaN or infinite values");
  model->to(device);
  return model;
}

int64_t StyleGAN3::z_dim() const { return impl_->config.z_dim; }
int64_t StyleGAN3::w_dim() const { return impl_->config.w_dim; }
int64_t StyleGAN3::num_ws() const { return impl_->config.num_ws(); }
int64_t StyleGAN3::resolution() const { return impl_->config.img_resolution; }
int64_t StyleGAN3::img_channels() const { return impl_->config.img_channels; }
const StyleGAN3Config& StyleGAN3::stylegan3_config() const { return impl_->config; }
const StyleGAN3Geometry& StyleGAN3::geometry() const { return impl_->geometry; }
torch::Tensor StyleGAN3::w_avg() const { return impl_->root->mapping->w_avg; }
torch::Tensor StyleGAN3::input_transform() const { return impl_->root->synthesis->input->transform; }

void StyleGAN3::set_input_transform(const torch::Tensor& m) {
  if (m.sizes() != torch::IntArrayRef({3, 3}) || !torch::isfinite(m).all().item<bool>())
    fail("StyleGAN3 input transform", "must be a finite 3x3 matrix, got " + c10::str(m.sizes()));
  torch::NoGradGuard no_grad;
  auto& t = impl_->root->synthesis->input->transform;
  t.copy_(m.to(t.device(), t.scalar_type()));
}

torch::Tensor StyleGAN3::user_transform(double tx, double ty, double degrees) {
  const double a = degrees / 360.0 * M_PI * 2, s = std::sin(a), c = std::cos(a);
  auto m = torch::tensor({c, s, tx, -s, c, ty, 0.0, 0.0, 1.0}, torch::kFloat64).view({3, 3});
  return torch::linalg_inv(m);  // gen_images.py stores the inverse
}

torch::Tensor StyleGAN3::sample_z(int64_t n, uint64_t seed) const {
  if (seed > 0xffffffffull) fail("seed " + std::to_string(seed), "must be in [0, 2^32 - 1] (numpy's range)");
  return numpy_randn(n, z_dim(), static_cast<uint32_t>(seed)).to(device());
}

torch::Tensor StyleGAN3::map(const torch::Tensor& z, double psi, int cutoff) const {
  auto w = impl_->root->mapping->forward(z);
  return truncate(w.unsqueeze(1).repeat({1, num_ws(), 1}), psi, cutoff);
}

torch::Tensor StyleGAN3::truncate(const torch::Tensor& w, double psi, int cutoff) const {
  if (psi == 1.0) return w;
  const auto& avg = impl_->root->mapping->w_avg;
  if (w.dim() == 2 || cutoff < 0 || cutoff >= w.size(1)) return avg.lerp(w, psi);
  auto head = avg.lerp(w.narrow(1, 0, cutoff), psi);
  return torch::cat({head, w.narrow(1, cutoff, w.size(1) - cutoff)}, 1);
}

torch::Tensor StyleGAN3::synthesize(const torch::Tensor& ws, NoiseMode) const {
  if (ws.dim() != 3 || ws.size(1) != num_ws() || ws.size(2) != w_dim())
    fail("StyleGAN3 synthesis", "expects W+ codes [N, " + std::to_string(num_ws()) + ", " + std::to_string(w_dim()) +
                                    "], got " + c10::str(ws.sizes()));
  return impl_->root->synthesis->forward(ws.to(impl_->root->mapping->w_avg.scalar_type()));
}

std::vector<torch::Tensor> StyleGAN3::parameters() const { return impl_->root->parameters(); }
std::unique_ptr<Generator> StyleGAN3::clone() const {
  return clone_via([&] { return std::make_unique<StyleGAN3>(impl_->config, 0); });
}
torch::OrderedDict<std::string, torch::Tensor> StyleGAN3::named_tensors() const { return module_tensors(*impl_->root); }
void StyleGAN3::to(torch::Device device, torch::ScalarType dtype) { impl_->root->to(device, dtype); }
torch::Device StyleGAN3::device() const { return impl_->root->mapping->w_avg.device(); }

double StyleGAN3::synthesis_gflop() const {
  // Multiply-accumulates as the reference composition executes them: affine, the convolution, the
  // separable (or radial) FIR passes over the zero-inserted/filtered maps.
  const auto& g = impl_->geometry;
  double macs = static_cast<double>(g.input_size * g.input_size * g.input_channels * g.input_channels);
  for (const auto& L : g.layers) {
    const double k = static_cast<double>(L.conv_kernel), conv_out = static_cast<double>(L.in_size) + k - 1;
    const double c = static_cast<double>(L.out_channels);
    macs += static_cast<double>(impl_->config.w_dim * L.in_channels);
    macs += conv_out * conv_out * c * static_cast<double>(L.in_channels) * k * k;
    const double up_side = (L.out_size - 1) * L.down_factor + static_cast<double>(L.down_taps);  // after the up FIR
    const double up_in = up_side + static_cast<double>(L.up_taps) - 1;
    if (L.up_taps > 1) macs += c * static_cast<double>(L.up_taps) * (up_in * up_side + up_side * up_side);
    if (L.down_taps > 1) {
      const double out_full = up_side - static_cast<double>(L.down_taps) + 1;
      macs += L.down_radial ? c * out_full * out_full * static_cast<double>(L.down_taps * L.down_taps)
                            : c * static_cast<double>(L.down_taps) * (up_side * out_full + out_full * out_full);
    }
  }
  return 2.0 * macs / 1e9;
}

nlohmann::json StyleGAN3::config() const {
  auto j = impl_->config.to_json();
  nlohmann::json layers = nlohmann::json::array();
  for (const auto& L : impl_->geometry.layers) layers.push_back(L.name);
  j["layer_names"] = layers;
  j["cfg"] = impl_->config.use_radial_filters ? "stylegan3-r" : "stylegan3-t";
  return j;
}

void StyleGAN3::save(const std::string& path) const {
  save_module(path, *impl_->root, "stylegan3", impl_->config.to_json(), {});
}

}  // namespace faceedit::models
