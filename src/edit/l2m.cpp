#include "faceedit/edit/l2m.h"
#include "faceedit/io/json_checks.h"

#include "faceedit/models/weights.h"
#include "faceedit/error.h"
#include "faceedit/io/safetensors.h"

namespace faceedit::edit {

namespace nn = torch::nn;

nlohmann::json L2MConfig::to_json() const {
  return {{"attribute", attribute}, {"space", space}, {"latent_dim", latent_dim}, {"hidden", hidden}};
}

L2MConfig L2MConfig::from_json(const nlohmann::json& j, const std::string& what) {
  io::check_json_numbers(j, what);
  L2MConfig c;
  try {
    c.attribute = j.at("attribute").get<std::string>();
    c.space = models::latent_space_from_json(j.at("space"), what);
    c.latent_dim = j.at("latent_dim").get<int64_t>();
    c.hidden = j.at("hidden").get<int64_t>();
  } catch (const nlohmann::json::exception& e) {
    fail(what, std::string("bad l2m config: ") + e.what());
  }
  if (c.space == models::LatentSpace::WPlus) fail(what, "l2m edits z or w codes, not 'wplus'");
  if (c.latent_dim < 1 || c.hidden < 1) fail(what, "l2m config is inconsistent: " + c.to_json().dump());
  return c;
}

L2MNetImpl::L2MNetImpl(L2MConfig config) : config_(std::move(config)) {
  config_ = L2MConfig::from_json(config_.to_json(), "l2m");
  const int64_t d = config_.latent_dim;
  projection = register_module("projection", nn::Linear(nn::LinearOptions(d, d).bias(false)));
  transform1 = register_module("transform1", nn::Linear(d + 1, config_.hidden));
  transform2 = register_module("transform2", nn::Linear(config_.hidden, d));
  head = register_module("head", nn::Linear(d, 1));
  // Start with a small attribute-relevant part (A ~ 0.1 I plus noise), so early edits stay local.
  torch::NoGradGuard no_grad;
  projection->weight.mul_(0.1).add_(torch::eye(d) * 0.1);
}

void L2MNetImpl::check_shape(const torch::Tensor& x) const {
  if (x.dim() != 2 || x.size(1) != config_.latent_dim)
    fail("l2m editor (" + config_.attribute + ", " + models::to_string(config_.space) + ")",
         "expects latents [N, " + std::to_string(config_.latent_dim) + "], got " + c10::str(x.sizes()) +
             " (an editor must come from the same model and space)");
}

L2MNetImpl::Parts L2MNetImpl::factorise(const torch::Tensor& latents) {
  check_shape(latents);
  auto r = projection->forward(latents);
  return {r, latents - r};
}

torch::Tensor L2MNetImpl::transform_delta(const torch::Tensor& r, const torch::Tensor& sign) {
  auto x = torch::cat({r, sign.to(r.options()).view({-1, 1})}, 1);
  return transform2->forward(torch::leaky_relu(transform1->forward(x), 0.2));
}

torch::Tensor L2MNetImpl::forward(const torch::Tensor& latents, const torch::Tensor& degree) {
  check_shape(latents);
  if (degree.dim() != 1 || degree.size(0) != latents.size(0))
    fail("l2m edit", "needs one degree per latent (" + std::to_string(latents.size(0)) + ")");
  auto d = degree.to(latents.options());
  auto sign = torch::where(d < 0, torch::full_like(d, -1.0), torch::full_like(d, 1.0));
  auto edited = latents + d.abs().view({-1, 1}) * transform_delta(factorise(latents).relevant, sign);
  return torch::where((d == 0).view({-1, 1}), latents, edited);
}

torch::Tensor L2MNetImpl::attribute_logit(const torch::Tensor& latents) {
  return head->forward(factorise(latents).relevant).squeeze(1);
}

torch::Tensor orthogonality_loss(const torch::Tensor& r, const torch::Tensor& u) {
  const double eps = 1e-8;
  auto dot = (r * u).sum(1);
  auto norms = r.norm(2, 1) * u.norm(2, 1);
  auto cos = dot / norms.clamp_min(eps);
  return (cos * cos).mean();
}

L2MEditor::L2MEditor(L2MNet net, std::string source) : net_(std::move(net)), source_(std::move(source)) { net_->eval(); }

torch::Tensor L2MEditor::edit(const torch::Tensor& latents, const torch::Tensor& alpha) const {
  return net_.ptr()->forward(latents, alpha);
}

torch::Tensor L2MEditor::flip_sign(const torch::Tensor& latents) const {
  auto logit = net_.ptr()->attribute_logit(latents);
  return torch::where(logit > 0, torch::full_like(logit, -1.0), torch::full_like(logit, 1.0));
}

nlohmann::json L2MEditor::describe() const {
  const auto& c = net_->config();
  return {{"method", "l2m"}, {"attribute", c.attribute}, {"space", c.space}, {"dim", c.latent_dim}, {"editor", source_}};
}

namespace {
constexpr const char* kArch = "l2m-latent";
}

void L2MEditor::to(torch::Device device) { net_->to(device); }

void L2MEditor::save(const std::string& path, const nlohmann::json& report) const {
  models::save_module(path, *net_, kArch, net_->config().to_json(), report);
}

std::unique_ptr<L2MEditor> load_l2m(const std::string& path) {
  io::SafetensorsReader file(path);
  const nlohmann::json j = models::read_config(file, kArch, "l2m editor");
  L2MNet net(L2MConfig::from_json(j, path));
  auto targets = models::module_tensors(*net);
  models::load_tensors(file, targets, "the l2m config in its metadata");
  return std::make_unique<L2MEditor>(net, path);
}

}  // namespace faceedit::edit
