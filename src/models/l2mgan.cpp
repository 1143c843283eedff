#include "faceedit/models/l2mgan.h"

#include <cmath>

#include "faceedit/error.h"
#include "faceedit/io/safetensors.h"
#include "faceedit/models/face_analysis.h"
#include "faceedit/models/weights.h"

namespace faceedit::models {

namespace F = torch::nn::functional;
namespace nn = torch::nn;

namespace {

constexpr const char* kArch = "l2mgan";
const double kInvSqrt2 = 1.0 / std::sqrt(2.0);

nn::Conv2d conv(int64_t in, int64_t out, int64_t k, bool bias = true) {
  return nn::Conv2d(nn::Conv2dOptions(in, out, k).padding(k == 3 ? 1 : 0).bias(bias));
}
torch::Tensor lrelu(const torch::Tensor& x) { return F::leaky_relu(x, F::LeakyReLUFuncOptions().negative_slope(0.2)); }

nn::Sequential mlp(int64_t dim) {
  return nn::Sequential(nn::Linear(dim, dim), nn::ReLU(), nn::Linear(dim, dim), nn::ReLU(), nn::Linear(dim, dim));
}

int64_t channels(int64_t width, int64_t max_width, int64_t level) {
  return std::min(width << level, max_width);
}

// Row-wise choice among K per-row candidates: stacked [N, K, D], index [N] -> [N, D].
torch::Tensor pick(const torch::Tensor& stacked, const torch::Tensor& index) {
  auto idx = index.to(stacked.device()).reshape({-1, 1, 1}).expand({stacked.size(0), 1, stacked.size(2)});
  return stacked.gather(1, idx).squeeze(1);
}

// conv3x3, residual blocks down to 4x4, LReLU conv4x4 LReLU: features [N, C, 1, 1] (style encoder and D).
nn::Sequential down_to_vector(const L2MGanConfig& c, int64_t& out_channels) {
  nn::Sequential seq;
  int64_t ch = c.style_width;
  seq->push_back(conv(3, ch, 3));
  int64_t level = 0;
  for (int64_t size = c.resolution; size > 4; size /= 2) {
    const int64_t next = channels(c.style_width, c.style_max_width, ++level);
    seq->push_back(L2MResBlock(ch, next, false, true));
    ch = next;
  }
  seq->push_back(nn::LeakyReLU(nn::LeakyReLUOptions().negative_slope(0.2)));
  seq->push_back(conv(ch, ch, 4));
  seq->push_back(nn::LeakyReLU(nn::LeakyReLUOptions().negative_slope(0.2)));
  out_channels = ch;
  return seq;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Config

nlohmann::json L2MGanConfig::to_json() const {
  return {{"resolution", resolution}, {"width", width},       {"max_width", max_width},
          {"downs", downs},           {"bottleneck", bottleneck}, {"style_width", style_width},
          {"style_max_width", style_max_width}, {"style_dim", style_dim}, {"attributes", attributes},
          {"relevant", relevant}};
}

L2MGanConfig L2MGanConfig::from_json(const nlohmann::json& j, const std::string& what) {
  if (!j.is_object()) fail(what, "the l2mgan config is not a JSON object");
  L2MGanConfig c;
  try {
    c.resolution = j.at("resolution").get<int64_t>();
    c.width = j.at("width").get<int64_t>();
    c.max_width = j.at("max_width").get<int64_t>();
    c.downs = j.at("downs").get<int64_t>();
    c.bottleneck = j.at("bottleneck").get<int64_t>();
    c.style_width = j.at("style_width").get<int64_t>();
    c.style_max_width = j.at("style_max_width").get<int64_t>();
    c.style_dim = j.at("style_dim").get<int64_t>();
    c.attributes = j.at("attributes").get<std::vector<std::string>>();
    c.relevant = j.value("relevant", std::string("learned"));  // files before the labelled form
  } catch (const nlohmann::json::exception& e) {
    fail(what, std::string("malformed l2mgan config: ") + e.what());
  }
  c.validate(what);
  return c;
}

void L2MGanConfig::validate(const std::string& what) const {
  if (resolution < 8 || resolution > 512 || (resolution & (resolution - 1)))
    fail(what, "resolution " + std::to_string(resolution) + " must be a power of two in 8..512");
  if (width < 1 || max_width < width || style_width < 1 || style_max_width < style_width || style_dim < 1 ||
      width > 4096 || max_width > 4096 || style_max_width > 4096 || style_dim > 4096)
    fail(what, "widths must be >= 1 (max >= base, at most 4096)");
  if (downs < 1 || (resolution >> downs) < 2) fail(what, "downs " + std::to_string(downs) + " leaves no content map");
  if (bottleneck < 0 || bottleneck > 8) fail(what, "bottleneck must be in 0..8");
  if (attributes.empty()) fail(what, "names no attributes");
  if (relevant != "learned" && relevant != "labelled")
    fail(what, "relevant part '" + relevant + "' is neither 'learned' nor 'labelled'");
  if (labelled() && style_dim <= static_cast<int64_t>(attributes.size()))
    fail(what, "style_dim " + std::to_string(style_dim) + " leaves no room beside the " +
                   std::to_string(attributes.size()) + " attribute codes");
  for (size_t i = 0; i < attributes.size(); ++i)
    for (size_t k = 0; k < i; ++k)
      if (attributes[i] == attributes[k]) fail(what, "names attribute " + attributes[i] + " twice");
}

// ---------------------------------------------------------------------------------------------
// Blocks

L2MResBlockImpl::L2MResBlockImpl(int64_t in, int64_t out, bool normalize, bool downsample)
    : normalize_(normalize), downsample_(downsample), learned_shortcut_(in != out) {
  conv1 = register_module("conv1", conv(in, in, 3));
  conv2 = register_module("conv2", conv(in, out, 3));
  if (normalize_) {
    norm1 = register_module("norm1", nn::InstanceNorm2d(nn::InstanceNorm2dOptions(in).affine(true)));
    norm2 = register_module("norm2", nn::InstanceNorm2d(nn::InstanceNorm2dOptions(in).affine(true)));
  }
  if (learned_shortcut_) conv1x1 = register_module("conv1x1", conv(in, out, 1, false));
}

torch::Tensor L2MResBlockImpl::forward(const torch::Tensor& x) {
  auto shortcut = learned_shortcut_ ? conv1x1(x) : x;
  if (downsample_) shortcut = F::avg_pool2d(shortcut, F::AvgPool2dFuncOptions(2));
  auto h = normalize_ ? norm1(x) : x;
  h = conv1(lrelu(h));
  if (downsample_) h = F::avg_pool2d(h, F::AvgPool2dFuncOptions(2));
  if (normalize_) h = norm2(h);
  h = conv2(lrelu(h));
  return (shortcut + h) * kInvSqrt2;
}

AdaINImpl::AdaINImpl(int64_t style_dim, int64_t channels) : channels_(channels) {
  fc = register_module("fc", nn::Linear(style_dim, 2 * channels));
}

torch::Tensor AdaINImpl::forward(const torch::Tensor& x, const torch::Tensor& s) {
  auto h = fc(s).reshape({s.size(0), 2 * channels_, 1, 1});
  auto gamma = h.narrow(1, 0, channels_), beta = h.narrow(1, channels_, channels_);
  return (1 + gamma) * F::instance_norm(x, F::InstanceNormFuncOptions().eps(1e-5)) + beta;
}

AdaINResBlockImpl::AdaINResBlockImpl(int64_t in, int64_t out, int64_t style_dim, bool upsample)
    : upsample_(upsample), learned_shortcut_(in != out) {
  norm1 = register_module("norm1", AdaIN(style_dim, in));
  conv1 = register_module("conv1", conv(in, out, 3));
  norm2 = register_module("norm2", AdaIN(style_dim, out));
  conv2 = register_module("conv2", conv(out, out, 3));
  if (learned_shortcut_) conv1x1 = register_module("conv1x1", conv(in, out, 1, false));
}

torch::Tensor AdaINResBlockImpl::forward(const torch::Tensor& x, const torch::Tensor& s) {
  auto up = [&](const torch::Tensor& t) {
    return upsample_ ? F::interpolate(t, F::InterpolateFuncOptions().scale_factor(std::vector<double>{2, 2}).mode(torch::kNearest))
                     : t;
  };
  auto shortcut = up(x);
  if (learned_shortcut_) shortcut = conv1x1(shortcut);
  auto h = conv1(up(lrelu(norm1(x, s))));
  h = conv2(lrelu(norm2(h, s)));
  return (shortcut + h) * kInvSqrt2;
}

// ---------------------------------------------------------------------------------------------
// Networks

L2MGeneratorImpl::L2MGeneratorImpl(const L2MGanConfig& c) {
  from_rgb = register_module("from_rgb", conv(3, c.width, 3));
  encoder = register_module("encoder", nn::ModuleList());
  decoder = register_module("decoder", nn::ModuleList());
  std::vector<std::shared_ptr<nn::Module>> up_blocks;  // built outermost-first, stored innermost-first
  int64_t ch = c.width;
  for (int64_t i = 0; i < c.downs; ++i) {
    const int64_t next = channels(c.width, c.max_width, i + 1);
    encoder->push_back(L2MResBlock(ch, next, true, true));
    up_blocks.push_back(AdaINResBlock(next, ch, c.style_dim, true).ptr());
    ch = next;
  }
  for (int64_t i = 0; i < c.bottleneck; ++i) {
    encoder->push_back(L2MResBlock(ch, ch, true, false));
    decoder->push_back(AdaINResBlock(ch, ch, c.style_dim, false));
  }
  for (auto it = up_blocks.rbegin(); it != up_blocks.rend(); ++it) decoder->push_back(*it);
  to_rgb_norm = register_module("to_rgb_norm", nn::InstanceNorm2d(nn::InstanceNorm2dOptions(c.width).affine(true)));
  to_rgb_conv = register_module("to_rgb_conv", conv(c.width, 3, 1));
}

torch::Tensor L2MGeneratorImpl::encode(const torch::Tensor& x) {
  auto h = from_rgb(x);
  for (const auto& block : *encoder) h = block->as<L2MResBlockImpl>()->forward(h);
  return h;
}

torch::Tensor L2MGeneratorImpl::decode(const torch::Tensor& content, const torch::Tensor& s) {
  auto h = content;
  for (const auto& block : *decoder) h = block->as<AdaINResBlockImpl>()->forward(h, s);
  return to_rgb_conv(lrelu(to_rgb_norm(h)));
}

L2MStyleEncoderImpl::L2MStyleEncoderImpl(const L2MGanConfig& c)
    : labelled_(c.labelled()), style_dim_(c.style_dim), attributes_(static_cast<int64_t>(c.attributes.size())) {
  int64_t ch = 0;
  shared = register_module("shared", down_to_vector(c, ch));
  head = register_module("head", nn::Linear(ch, c.style_dim));
  t1 = register_module("t1", nn::ModuleList());
  t2 = register_module("t2", nn::ModuleList());
  for (size_t a = 0; a < (labelled_ ? 0 : c.attributes.size()); ++a) {
    t1->push_back(mlp(c.style_dim));
    t2->push_back(mlp(c.style_dim));  // 2a: towards "not a"
    t2->push_back(mlp(c.style_dim));  // 2a + 1: towards "a"
  }
}

torch::Tensor L2MStyleEncoderImpl::raw(const torch::Tensor& x) { return head(shared->forward(x).flatten(1)); }

torch::Tensor L2MStyleEncoderImpl::forward(const torch::Tensor& x) {
  auto s = raw(x);
  if (!labelled_) return s;
  return with_codes(s, 2 * torch::sigmoid(s.narrow(1, style_dim_ - attributes_, attributes_)) - 1);
}

torch::Tensor L2MStyleEncoderImpl::with_codes(const torch::Tensor& s, const torch::Tensor& codes) const {
  if (!labelled_) fail("l2m-gan", "attribute codes exist only in the labelled form");
  return torch::cat({s.narrow(1, 0, style_dim_ - attributes_), codes.to(s.dtype())}, 1);
}

namespace {
// "labelled": a [N, style_dim] mask that is 1 on each row's attribute coordinate.
torch::Tensor code_mask(const torch::Tensor& s, const torch::Tensor& attribute, int64_t style_dim, int64_t attributes) {
  auto column = (attribute.to(s.device()) + (style_dim - attributes)).reshape({-1, 1});
  return torch::zeros_like(s).scatter_(1, column, 1.0);
}
}  // namespace

L2MStyles L2MStyleEncoderImpl::factorise(const torch::Tensor& s, const torch::Tensor& attribute) {
  if (labelled_) {
    auto s2 = s * code_mask(s, attribute, style_dim_, attributes_);
    return {s, s - s2, s2};
  }
  std::vector<torch::Tensor> all;
  for (const auto& m : *t1) all.push_back(m->as<nn::SequentialImpl>()->forward(s));
  auto s1 = all.size() == 1 ? all[0] : pick(torch::stack(all, 1), attribute);
  return {s, s1, s - s1};
}

torch::Tensor L2MStyleEncoderImpl::transform(const torch::Tensor& s2, const torch::Tensor& attribute,
                                             const torch::Tensor& target) {
  if (labelled_) {  // the domain's code on the attribute's coordinate
    auto code = (2 * target.to(s2.device()) - 1).to(s2.dtype()).reshape({-1, 1});
    return code_mask(s2, attribute, style_dim_, attributes_) * code;
  }
  std::vector<torch::Tensor> all;
  for (const auto& m : *t2) all.push_back(m->as<nn::SequentialImpl>()->forward(s2));
  return pick(torch::stack(all, 1), attribute * 2 + target);
}

L2MDiscriminatorImpl::L2MDiscriminatorImpl(const L2MGanConfig& c) {
  int64_t ch = 0;
  auto seq = down_to_vector(c, ch);
  seq->push_back(conv(ch, c.domains() + static_cast<int64_t>(c.attributes.size()), 1));
  main = register_module("main", seq);
}

torch::Tensor L2MDiscriminatorImpl::forward(const torch::Tensor& x) { return main->forward(x).flatten(1); }

// ---------------------------------------------------------------------------------------------
// Losses and the editor

torch::Tensor l2m_orthogonality_loss(const torch::Tensor& s1, const torch::Tensor& s2, double eps) {
  auto dot = (s1 * s2).sum(1);
  auto norms = s1.square().sum(1) * s2.square().sum(1);
  return (dot.square() / (norms + eps)).mean();
}

torch::Tensor l2m_edited_style(const L2MStyles& st, const torch::Tensor& transformed, const torch::Tensor& strength) {
  return st.s + strength.reshape({-1, 1}).to(st.s.dtype()) * (transformed - st.s2);
}

L2MGan::L2MGan(L2MGanConfig config, uint64_t seed) : config_(std::move(config)) {
  config_.validate("l2mgan config");
  torch::manual_seed(seed);
  generator = register_module("generator", L2MGenerator(config_));
  style = register_module("style", L2MStyleEncoder(config_));
}

std::unique_ptr<L2MGan> L2MGan::load(const std::string& path) {
  io::SafetensorsReader file(path);
  auto config = L2MGanConfig::from_json(read_config(file, kArch, "an L2M-GAN editor (faceedit train-l2mgan)"), path);
  auto model = std::make_unique<L2MGan>(config);
  auto targets = module_tensors(*model);
  load_tensors(file, targets, "the l2mgan config in its metadata");
  model->eval();
  return model;
}

void L2MGan::save(const std::string& path, const nlohmann::json& training_report, bool half) const {
  save_module(path, *this, kArch, config_.to_json(), training_report, half);
}

int64_t L2MGan::attribute_index(const std::string& name) const {
  const auto canonical = canonical_attribute(name);
  for (size_t i = 0; i < config_.attributes.size(); ++i)
    if (config_.attributes[i] == canonical) return static_cast<int64_t>(i);
  std::string have;
  for (const auto& a : config_.attributes) have += (have.empty() ? "" : ", ") + a;
  fail("attribute " + name, "this L2M-GAN model was trained for " + have + " only");
}

torch::Tensor L2MGan::edited_style(const torch::Tensor& s, const torch::Tensor& attribute, const torch::Tensor& target,
                                   const torch::Tensor& strength, L2MStyles* parts) {
  auto st = style->factorise(s, attribute);
  auto out = l2m_edited_style(st, style->transform(st.s2, attribute, target), strength);
  if (parts) *parts = st;
  return out;
}

std::pair<torch::Tensor, torch::Tensor> L2MGan::edit(const torch::Tensor& images, const std::string& attribute,
                                                     double strength) {
  if (images.dim() != 4 || images.size(1) != 3 || images.size(2) != config_.resolution || images.size(3) != config_.resolution)
    fail("l2m-gan", "expects NCHW RGB images of " + std::to_string(config_.resolution) + " px, got " + c10::str(images.sizes()));
  const int64_t a = attribute_index(attribute), n = images.size(0);
  auto opts = torch::TensorOptions().dtype(torch::kInt64).device(images.device());
  auto content = generator->encode(images);
  auto s = style->forward(images);
  if (strength == 0) {  // exactly the reconstruction: the change is empty
    auto rec = generator->decode(content, s);
    return {rec, rec};
  }
  auto s_edit = edited_style(s, torch::full({n}, a, opts), torch::full({n}, strength > 0 ? 1 : 0, opts),
                             torch::full({n}, std::abs(strength), images.options()));
  auto both = generator->decode(torch::cat({content, content}), torch::cat({s, s_edit}));
  return {both.narrow(0, 0, n), both.narrow(0, n, n)};
}

}  // namespace faceedit::models
