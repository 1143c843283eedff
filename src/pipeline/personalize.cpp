#include "faceedit/pipeline/personalize.h"
#include "faceedit/nn/schedule.h"

#include <ATen/CPUGeneratorImpl.h>

#include <chrono>

#include "faceedit/error.h"
#include "faceedit/pipeline/invert.h"
#include "faceedit/progress.h"

namespace faceedit::pipeline {

using models::LatentSpace;

namespace {
constexpr const char* kDeltaFormat = "faceedit.weight_delta/1";

torch::Tensor prior_samples(const models::Generator& g, LatentSpace space, int n, uint64_t seed) {
  auto z = g.sample_z(n, seed);
  if (space == LatentSpace::Z) return z;
  auto wplus = g.map(z);
  return space == LatentSpace::W ? wplus.select(1, 0).contiguous() : wplus;
}

torch::Tensor masked_loss(const torch::Tensor& images, const torch::Tensor& target, const torch::Tensor& mask) {
  auto m = mask.expand_as(images);
  return (m * (images - target).pow(2)).sum() / (m.sum() + 1e-8);
}
}  // namespace

double masked_mse(const torch::Tensor& images, const torch::Tensor& target, const torch::Tensor& mask) {
  torch::NoGradGuard no_grad;
  return masked_loss(images, target, mask).item<double>();
}

nlohmann::json PersonalizeResult::to_json() const {
  return {{"masked_mse_before", masked_mse_before}, {"masked_mse_after", masked_mse_after},
          {"locality_after", locality_after},       {"changed_tensors", changed_tensors},
          {"changed_values", changed_values},       {"seconds", seconds}};
}

PersonalizeResult personalize(models::Generator& g, const torch::Tensor& pivot_in, LatentSpace space,
                              const torch::Tensor& target_in, const torch::Tensor& mask_in,
                              models::FeatureDistance* features, const PersonalizeParams& p) {
  const auto t0 = std::chrono::steady_clock::now();
  if (p.steps < 1) fail("personalization", "steps must be >= 1");
  g.check_latents(pivot_in, space, "personalization pivot");
  const int64_t r = g.resolution();
  const int64_t k = pivot_in.size(0);
  if (target_in.sizes() != torch::IntArrayRef({k, 3, r, r}) || mask_in.sizes() != torch::IntArrayRef({k, 1, r, r}))
    fail("personalization", "target must be [K, 3, R, R] and mask [K, 1, R, R] at the generator's resolution, K = the pivots' count");
  torch::AutoGradMode grad_mode(true);
  const auto dev = g.device();
  const auto pivot = pivot_in.to(dev).detach(), target = target_in.to(dev).detach(), mask = mask_in.to(dev).detach();

  // The base: its tensors (to form the delta) and its outputs on the locality anchors.
  std::vector<std::pair<std::string, torch::Tensor>> base;
  for (const auto& kv : g.named_tensors()) base.emplace_back(kv.key(), kv.value().detach().clone());
  torch::Tensor anchors, anchor_images;
  {
    torch::NoGradGuard no_grad;
    std::vector<torch::Tensor> parts;
    if (p.locality_nearby > 0) {
      auto gen = at::detail::createCPUGenerator(p.seed);
      auto shape = pivot.sizes().vec();
      shape[0] = p.locality_nearby;
      // Around each pivot in turn (a video's keyframes personalize one generator together).
      const auto around = pivot.index_select(0, torch::arange(p.locality_nearby, torch::kLong).remainder(k).to(dev));
      parts.push_back(around + p.locality_sigma * torch::randn(shape, gen).to(dev));
    }
    if (p.locality_random > 0) parts.push_back(prior_samples(g, space, p.locality_random, p.seed + 1));
    if (!parts.empty()) {
      anchors = torch::cat(parts);
      anchor_images = g.generate(anchors, space, 1.0, p.noise);
    }
  }
  const auto images_of = [&](const torch::Tensor& lat) { return g.generate(lat, space, 1.0, p.noise); };

  PersonalizeResult res;
  {
    torch::NoGradGuard no_grad;
    res.masked_mse_before = masked_loss(images_of(pivot), target, mask).item<double>();
  }
  auto params = g.parameters();
  torch::optim::Adam opt(params, torch::optim::AdamOptions(p.lr));
  // Feature loss on composites: outside the mask the target shows through, so only the face counts.
  const auto composite = [&](const torch::Tensor& img) { return mask * img + (1 - mask) * target; };
  Progress progress("personalization", p.steps, "steps", p.progress);
  progress.set_callback(p.on_progress);
  for (int step = 0; step < p.steps; ++step) {
    for (auto& group : opt.param_groups())
      static_cast<torch::optim::AdamOptions&>(group.options()).lr(nn::warmup_cosine_lr(step, p.steps, p.lr, p.warmup));
    auto img = images_of(pivot);
    auto loss = masked_loss(img, target, mask);
    if (features != nullptr && p.feature_weight > 0) loss = loss + p.feature_weight * features->distance(composite(img), target).sum();
    if (anchors.defined() && p.locality_weight > 0)
      loss = loss + p.locality_weight * (images_of(anchors) - anchor_images).pow(2).mean();
    // Gradients for the generator only (the guides' weights are not trained).
    // allow_unused: W/W+ pivots never reach the mapping network; its parameters get no gradient
    // (undefined), so Adam leaves them, and the delta, alone.
    auto grads = torch::autograd::grad({loss}, params, {}, c10::nullopt, false, /*allow_unused=*/true);
    for (size_t i = 0; i < params.size(); ++i) params[i].mutable_grad() = grads[i];
    opt.step();
    if (p.progress || p.on_progress) progress.update(step + 1, "loss " + std::to_string(loss.item<double>()));
  }
  progress.finish();
  for (auto& t : params) t.mutable_grad() = torch::Tensor();

  // Delta, and the parameters re-materialised as base + delta so a reload is bit-identical.
  torch::NoGradGuard no_grad;
  auto now = g.named_tensors();
  for (const auto& [name, before] : base) {
    auto cur = now[name];
    if (torch::equal(cur, before)) continue;
    auto d = (cur - before).to(torch::kFloat32);
    cur.copy_(before + d);
    res.delta.emplace_back(name, d.cpu().contiguous());
    ++res.changed_tensors;
    res.changed_values += d.ne(0).sum().item<int64_t>();
  }
  res.masked_mse_after = masked_loss(images_of(pivot), target, mask).item<double>();
  if (anchors.defined()) res.locality_after = (images_of(anchors) - anchor_images).pow(2).mean().item<double>();
  res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return res;
}

void save_weight_delta(const std::string& path, const io::NamedTensors& delta, const models::Generator& base,
                       const std::string& base_model) {
  io::write_safetensors(path, delta,
                        {{"faceedit.format", kDeltaFormat},
                         {"faceedit.arch", base.arch()},
                         {"faceedit.base_model", base_model},
                         {"faceedit.config", base.config().dump()}});
}

void apply_weight_delta(models::Generator& g, const std::string& path) {
  io::SafetensorsReader file(path);
  const auto& meta = file.metadata();
  const auto get = [&](const std::string& k) { auto it = meta.find(k); return it == meta.end() ? std::string() : it->second; };
  if (get("faceedit.format") != kDeltaFormat) fail(path, "is not a faceedit weight delta (metadata faceedit.format)");
  if (get("faceedit.arch") != g.arch()) fail(path, "is a delta for a " + get("faceedit.arch") + " generator, not " + g.arch());
  if (get("faceedit.config") != g.config().dump())
    fail(path, "was made for another " + g.arch() + " configuration (base " + get("faceedit.base_model") + ")");
  io::NamedTensors delta;
  for (const auto& e : file.entries()) delta.emplace_back(e.name, file.load(e.name));
  add_weight_delta(g, delta, 1.0, path);
}

void add_weight_delta(models::Generator& g, const io::NamedTensors& delta, double sign, const std::string& what) {
  torch::NoGradGuard no_grad;
  auto targets = g.named_tensors();
  for (const auto& [name, d] : delta) {
    auto* t = targets.find(name);
    if (t == nullptr) fail(what, "tensor '" + name + "' is not a tensor of the generator");
    if (d.sizes() != t->sizes()) fail(what, "tensor '" + name + "' has the wrong shape");
    t->add_(d.to(t->device(), t->scalar_type()), sign);
  }
}

}  // namespace faceedit::pipeline
