#include "faceedit/edit/interfacegan/interfacegan.h"

#include "faceedit/error.h"

namespace faceedit::edit {

DistanceMode parse_distance_mode(const std::string& s) {
  if (s == "relative") return DistanceMode::Relative;
  if (s == "absolute") return DistanceMode::Absolute;
  fail("distance " + s, "must be relative or absolute");
}

InterFaceGANEditor::InterFaceGANEditor(InterFaceGANParams params) : p_(std::move(params)) {
  if (!p_.normal.defined() || p_.normal.numel() < 1) fail("interfacegan boundary " + p_.source, "is empty");
  p_.normal = p_.normal.to(torch::kFloat).flatten();
  const double norm = p_.normal.norm().item<double>();
  if (!(norm > 1e-8) || !std::isfinite(norm)) fail("interfacegan boundary " + p_.source, "has a zero or invalid normal");
  p_.normal = p_.normal / norm;
  p_.offset /= norm;
  if (p_.space == models::LatentSpace::WPlus) {
    if (p_.num_ws < 1) fail("interfacegan editor", "W+ editing needs the generator's number of W+ codes");
    layer_mask_ = torch::zeros({p_.num_ws, 1});
    if (p_.layers.empty()) layer_mask_.fill_(1.0);
    for (auto l : p_.layers) {
      if (l < 0 || l >= p_.num_ws) fail("layers", "layer " + std::to_string(l) + " is out of 0.." + std::to_string(p_.num_ws - 1));
      layer_mask_[l] = 1.0;
    }
  } else if (!p_.layers.empty()) {
    fail("layers", "only W+ edits can be restricted to layers (use space wplus)");
  }
}

static void check_shape(const torch::Tensor& x, const InterFaceGANParams& p) {
  const int64_t dim = p.normal.size(0);
  const bool plus = p.space == models::LatentSpace::WPlus;
  const bool ok = plus ? x.dim() == 3 && x.size(1) == p.num_ws && x.size(2) == dim : x.dim() == 2 && x.size(1) == dim;
  if (!ok)
    fail("interfacegan boundary " + p.source,
         "has dimension " + std::to_string(dim) + " but the latents are " + c10::str(x.sizes()) +
             " (a boundary must come from the same model and space: " + models::to_string(p.space) + ")");
}

torch::Tensor InterFaceGANEditor::signed_distance(const torch::Tensor& latents) const {
  check_shape(latents, p_);
  auto n = p_.normal.to(latents.device());
  if (p_.space != models::LatentSpace::WPlus) return latents.matmul(n) + p_.offset;
  auto mask = layer_mask_.to(latents.device()).squeeze(1);
  return (latents.matmul(n) * mask).sum(1) / mask.sum() + p_.offset;
}

torch::Tensor InterFaceGANEditor::edit(const torch::Tensor& latents, const torch::Tensor& alpha) const {
  check_shape(latents, p_);
  if (alpha.dim() != 1 || alpha.size(0) != latents.size(0))
    fail("interfacegan edit", "needs one strength per latent (" + std::to_string(latents.size(0)) + ")");
  auto a = alpha.to(latents.options());
  auto step = p_.distance == DistanceMode::Relative ? a : a - signed_distance(latents);
  auto n = p_.normal.to(latents.device());
  if (p_.space != models::LatentSpace::WPlus) return latents + step.view({-1, 1}) * n.view({1, -1});
  return latents + step.view({-1, 1, 1}) * (layer_mask_.to(latents.device()) * n.view({1, -1})).unsqueeze(0);
}

torch::Tensor InterFaceGANEditor::flip_sign(const torch::Tensor& latents) const {
  auto d = signed_distance(latents);
  return torch::where(d >= 0, torch::full_like(d, -1.0), torch::full_like(d, 1.0));
}

nlohmann::json InterFaceGANEditor::describe() const {
  return {{"method", "interfacegan"}, {"attribute", p_.attribute}, {"space", models::to_string(p_.space)},
          {"distance", p_.distance == DistanceMode::Relative ? "relative" : "absolute"},
          {"layers", p_.layers}, {"boundary", p_.source}, {"conditions", p_.conditions}, {"dim", p_.normal.size(0)}};
}

}  // namespace faceedit::edit
