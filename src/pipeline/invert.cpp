#include "faceedit/pipeline/invert.h"
#include "faceedit/nn/schedule.h"

#include <chrono>
#include <cmath>

#include "faceedit/error.h"
#include "faceedit/io/image.h"
#include "faceedit/progress.h"

namespace faceedit::pipeline {

using models::LatentSpace;

double psnr(const torch::Tensor& a, const torch::Tensor& b) {
  const double mse = (a.detach().to(torch::kFloat64) - b.detach().to(torch::kFloat64)).pow(2).mean().item<double>();
  return 10.0 * std::log10(4.0 / std::max(mse, 1e-20));
}

torch::Tensor generator_target(const cv::Mat& crop, const models::Generator& g) {
  auto t = io::image_to_tensor(crop).to(g.device());
  return models::resize_images(t, g.resolution(), g.resolution()).clamp(-1, 1);
}

nlohmann::json InversionResult::to_json() const {
  return {{"psnr", psnr},         {"feature_distance", feature_distance}, {"identity_cosine", identity_cosine},
          {"loss", loss},         {"best_start", best_start},             {"seconds", seconds}};
}

namespace {

// Initial latents: random Z starts (the prior), or the average W / W+ code.
torch::Tensor initial_latents(const models::Generator& g, LatentSpace space, int starts, uint64_t seed) {
  torch::NoGradGuard no_grad;
  if (space == LatentSpace::Z) return g.sample_z(starts, seed);
  auto w_avg = g.truncate(g.map(g.sample_z(1, seed)), 0.0);  // psi = 0: exactly the average W
  return space == LatentSpace::W ? w_avg.select(1, 0).contiguous() : w_avg;
}

struct Losses {
  torch::Tensor total, feature, identity;  // [N] each
};

Losses losses(const torch::Tensor& images, const torch::Tensor& target, const torch::Tensor& target_embedding,
              const InversionGuides& guides, const InversionParams& p) {
  const int64_t n = images.size(0);
  auto tgt = target.expand_as(images);
  Losses l;
  l.total = p.mse_weight * (images - tgt).pow(2).reshape({n, -1}).mean(1);
  l.feature = torch::zeros({n}, images.options());
  l.identity = torch::ones({n}, images.options());
  if (guides.features != nullptr) {
    l.feature = guides.features->distance(images, tgt);
    l.total = l.total + p.feature_weight * l.feature;
  }
  if (guides.identity != nullptr) {
    l.identity = (guides.identity->embed(images) * target_embedding).sum(1);
    l.total = l.total + p.identity_weight * (1.0 - l.identity);
  }
  return l;
}

}  // namespace

InversionResult invert(const models::Generator& g, const torch::Tensor& target, const InversionGuides& guides,
                       const InversionParams& p) {
  const auto t0 = std::chrono::steady_clock::now();
  if (!g.has_space(p.space)) fail("inversion", "the " + g.arch() + " generator has no " + models::to_string(p.space) + " space");
  const int64_t r = g.resolution();
  if (target.dim() != 4 || target.size(0) != 1 || target.size(1) != 3 || target.size(2) != r || target.size(3) != r)
    fail("inversion", "target must be [1, 3, " + std::to_string(r) + ", " + std::to_string(r) + "]");
  if (p.steps < 0 || p.starts < 1 || (p.steps == 0 && !p.init.defined()))
    fail("inversion", "steps must be >= 1 (0 only from a given start, e.g. an encoder's) and starts >= 1");
  torch::AutoGradMode grad_mode(true);
  const auto tgt = target.to(g.device()).detach();
  torch::Tensor tgt_embedding;
  if (guides.identity != nullptr) {
    torch::NoGradGuard no_grad;
    tgt_embedding = guides.identity->embed(tgt);
  }
  const int starts = p.space == LatentSpace::Z ? p.starts : 1;
  const bool clamp_to_prior = p.space == LatentSpace::Z && g.z_is_box();
  if (p.init.defined()) g.check_latents(p.init, p.space, "inversion start");
  auto x = (p.init.defined() ? p.init.to(g.device()).detach() : initial_latents(g, p.space, starts, p.seed)).clone().requires_grad_(true);
  torch::optim::Adam opt({x}, torch::optim::AdamOptions(p.lr));
  Progress progress("inversion", p.steps, "steps", p.progress);
  progress.set_callback(p.on_progress);
  for (int step = 0; step < p.steps; ++step) {
    for (auto& group : opt.param_groups())
      static_cast<torch::optim::AdamOptions&>(group.options()).lr(nn::warmup_cosine_lr(step, p.steps, p.lr, p.warmup));
    auto images = g.generate(x, p.space, 1.0, p.noise);
    auto l = losses(images, tgt, tgt_embedding, guides, p);
    // The starts are independent: one summed loss gives per-start gradients. Only the latent's
    // gradient is computed (not the generator's or the guides' weights').
    x.mutable_grad() = torch::autograd::grad({l.total.sum()}, {x})[0];
    opt.step();
    if (clamp_to_prior) {
      torch::NoGradGuard no_grad;
      x.clamp_(-1.0, 1.0);
    }
    if (p.progress || p.on_progress) progress.update(step + 1, "loss " + std::to_string(l.total.min().item<double>()));
  }
  progress.finish();

  torch::NoGradGuard no_grad;
  InversionResult res;
  auto images = g.generate(x, p.space, 1.0, p.noise);
  auto l = losses(images, tgt, tgt_embedding, guides, p);
  res.best_start = static_cast<int>(l.total.argmin().item<int64_t>());
  res.latent = x.detach().narrow(0, res.best_start, 1).clone();
  res.reconstruction = images.narrow(0, res.best_start, 1).clone();
  res.psnr = psnr(res.reconstruction.clamp(-1, 1), tgt.clamp(-1, 1));
  res.feature_distance = l.feature[res.best_start].item<double>();
  res.identity_cosine = l.identity[res.best_start].item<double>();
  res.loss = l.total[res.best_start].item<double>();
  res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return res;
}

torch::Tensor encoder_start(const models::Encoder& encoder, const models::Generator& g, const torch::Tensor& target,
                            LatentSpace space, const std::string& what) {
  encoder.check_matches(g, what);
  torch::NoGradGuard no_grad;
  auto code = encoder.encode(target).to(g.device());
  if (space == encoder.space()) return code;
  if (space == LatentSpace::W && encoder.space() == LatentSpace::WPlus) return code.mean(1);
  fail(what, "encodes into " + models::to_string(encoder.space()) + ", not the inversion's " + models::to_string(space));
}

}  // namespace faceedit::pipeline
