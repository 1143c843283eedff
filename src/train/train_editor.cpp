#include "faceedit/train/train_editor.h"

#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>

#include "faceedit/models/weights.h"
#include "faceedit/edit/interfacegan/sampling.h"
#include "faceedit/error.h"
#include "faceedit/io/atomic_file.h"
#include "faceedit/io/safetensors.h"
#include "faceedit/progress.h"
#include "faceedit/seeds.h"
#include "faceedit/train/checkpoint.h"

namespace faceedit::train {

namespace F = torch::nn::functional;
namespace fs = std::filesystem;

TrainEditorParams train_editor_default_params() { return {}; }

LatentSampler generator_sampler(const models::Generator& g, models::LatentSpace space, double truncation) {
  return [&g, space, truncation](int64_t n, uint64_t seed) { return g.sample_codes(n, seed, space, truncation); };
}

torch::Tensor preservation_weights(const torch::Tensor& probs, int64_t target) {
  if (probs.dim() != 2 || target < 0 || target >= probs.size(1)) fail("preservation weights", "need [N, K] and a target column");
  auto x = probs.to(torch::kDouble);
  auto c = x - x.mean(0, true);
  auto norms = c.norm(2, 0);  // [K]
  auto t = c.select(1, target);
  auto corr = t.matmul(c) / (norms * norms[target]).clamp_min(1e-12);
  auto w = (1.0 - corr.abs()).clamp(0.0, 1.0);
  // A constant column carries nothing to preserve; the target is edited, not preserved.
  w = torch::where(norms < 1e-9, torch::zeros_like(w), w);
  w[target] = 0.0;
  return w.to(torch::kFloat);
}

// The weights scale the logits inside one MSE averaged over all K columns (the target's weight is 0),
// so preservation does not grow with the number of attributes.
torch::Tensor transformer_preservation(const torch::Tensor& logits, const torch::Tensor& logits0, const torch::Tensor& weights) {
  return ((logits - logits0) * weights.view({1, -1})).pow(2).mean();
}

torch::Tensor transformer_alpha(const torch::Tensor& p) { return torch::where(p > 0.5, -p, 1.0 - p); }

torch::Tensor class_balanced_bce(const torch::Tensor& logits, const torch::Tensor& labels) {
  auto y = labels.to(logits.options());
  auto per = F::binary_cross_entropy_with_logits(logits, y, F::BinaryCrossEntropyWithLogitsFuncOptions().reduction(torch::kNone));
  auto pos = y.sum(), neg = (1 - y).sum();
  if (pos.item<double>() == 0 || neg.item<double>() == 0) return per.mean();
  return 0.5 * (per * y).sum() / pos + 0.5 * (per * (1 - y)).sum() / neg;
}

namespace {

// Freezes tensors for the duration of a training (the caller's modules get their flags back).
class FrozenTensors {
 public:
  explicit FrozenTensors(std::vector<torch::Tensor> ts) : ts_(std::move(ts)) {
    for (auto& t : ts_) {
      was_.push_back(t.requires_grad());
      t.requires_grad_(false);
    }
  }
  ~FrozenTensors() {
    for (size_t i = 0; i < ts_.size(); ++i) ts_[i].requires_grad_(was_[i]);
  }

 private:
  std::vector<torch::Tensor> ts_;
  std::vector<bool> was_;
};

using Terms = std::map<std::string, torch::Tensor>;  // "loss" (what is minimised) and its parts

// The shared loop: steps, progress, running means of the loss terms, checkpoints, resume.
struct LoopResult {
  nlohmann::json history = nlohmann::json::array();
  nlohmann::json final;  // mean of each term over the last up to 50 steps
  double seconds = 0;
  int64_t resumed_from = 0;
};

LoopResult run_loop(const std::string& label, const std::string& out_path, const TrainEditorParams& p,
                    torch::nn::Module& module, torch::optim::Optimizer& opt, const nlohmann::json& fingerprint,
                    const std::function<Terms(int64_t)>& step_fn) {
  if (p.steps < 1 || p.steps > 1000000) fail("steps " + std::to_string(p.steps), "must be in 1..1000000");
  if (p.batch < 2 || p.batch > 4096) fail("batch " + std::to_string(p.batch), "must be in 2..4096");
  if (p.checkpoint_every < 0) fail("checkpoint-every", "must be >= 0");
  if (!(p.learning_rate > 0)) fail("learning rate", "must be positive");
  const Checkpoint ckpt(out_path, fingerprint);
  LoopResult r;
  int64_t first = 0;
  const auto load_model = [&](const std::string& file) {
    io::SafetensorsReader reader(file);
    auto targets = models::module_tensors(module);
    models::load_tensors(reader, targets, label + " checkpoint");
  };
  if (const auto state = ckpt.resume(p.resume, load_model, opt)) {
    first = state->at("step").get<int64_t>();
    r.history = state->at("history");
    r.seconds = state->value("seconds", 0.0);
    r.resumed_from = first;
    log_line(log_text(label, ": resuming from ", ckpt.dir().string(), " after step ", first));
  } else if (p.resume) {
    log_line(log_text(label, ": no checkpoint at ", ckpt.dir().string(), ", starting from step 0"));
  }
  const int64_t every = std::max<int64_t>(1, p.steps / 20);
  std::map<std::string, double> window_sum, tail_sum;
  int64_t window_n = 0, tail_n = 0;
  Progress progress(label, p.steps, "steps", p.progress);
  const double seconds_before = r.seconds;
  auto t0 = std::chrono::steady_clock::now();
  auto elapsed = [&] { return seconds_before + std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); };
  for (int64_t step = first; step < p.steps; ++step) {
    module.train();
    opt.zero_grad();
    auto terms = step_fn(step);
    auto loss = terms.at("loss");
    if (!std::isfinite(loss.item<double>())) fail(label, "the loss became " + std::to_string(loss.item<double>()) + " at step " + std::to_string(step + 1));
    loss.backward();
    opt.step();
    ++window_n;
    const bool in_tail = step >= p.steps - 50;
    if (in_tail) ++tail_n;
    for (auto& [k, v] : terms) {
      const double x = v.item<double>();
      window_sum[k] += x;
      if (in_tail) tail_sum[k] += x;
    }
    char extra[64];
    std::snprintf(extra, sizeof extra, "loss %.4f", window_sum["loss"] / window_n);
    progress.update(step + 1, extra);
    if ((step + 1) % every == 0 || step + 1 == p.steps) {
      nlohmann::json row = {{"step", step + 1}};
      for (auto& [k, v] : window_sum) row[k] = v / window_n;
      r.history.push_back(row);
      window_sum.clear();
      window_n = 0;
    }
    const bool stop = stop_requested() && step + 1 < p.steps;
    if (p.checkpoint_every > 0 && (stop || (step + 1) % p.checkpoint_every == 0) && step + 1 < p.steps) {
      ckpt.save([&](const std::string& file) { models::save_module(file, module, "checkpoint", fingerprint, {}); }, opt,
                {{"step", step + 1}, {"history", r.history}, {"seconds", elapsed()}});
    }
    if (stop)
      fail(label, "interrupted after step " + std::to_string(step + 1) + " of " + std::to_string(p.steps) +
                      (p.checkpoint_every > 0 ? "; rerun the same command with --resume to continue" : " (no checkpoints: a rerun starts over)"));
  }
  progress.finish();
  module.eval();
  for (auto& [k, v] : tail_sum) r.final[k] = v / std::max<int64_t>(1, tail_n);
  r.seconds = elapsed();
  return r;
}

void remove_checkpoint(const std::string& out_path) { Checkpoint(out_path, {}).remove(); }

}  // namespace

nlohmann::json train_latent_transformer(const models::LatentClassifier& lc_holder, const LatentSampler& sampler,
                                        const edit::LatentTransformerConfig& config, const TrainEditorParams& p,
                                        const std::string& out_path) {
  auto lc = lc_holder.ptr();
  const auto& lcc = lc->config();
  if (lcc.space != config.space || lcc.latent_dim != config.latent_dim || lcc.num_ws != config.num_ws)
    fail("latent-classifier", "is for " + models::to_string(lcc.space) + " codes of dimension " + std::to_string(lcc.latent_dim) +
                                    ", the transformer edits " + models::to_string(config.space) + " codes of dimension " +
                                    std::to_string(config.latent_dim));
  const int64_t target = lc->column(config.attribute);
  lc->eval();
  FrozenTensors frozen(lc->parameters());

  // Preservation weights from the classifier's own view of the sampled latents.
  torch::Tensor weights;
  {
    torch::NoGradGuard no_grad;
    weights = preservation_weights(lc->predict(sampler(std::max<int64_t>(p.correlation_samples, 2), seeds::correlation(p.seed))), target);
  }
  torch::manual_seed(p.seed);
  edit::LatentTransformerNet net(config);
  torch::optim::Adam opt(net->parameters(), torch::optim::AdamOptions(p.learning_rate));
  const nlohmann::json fingerprint = {{"method", "transformer"}, {"config", net->config().to_json()},
                                      {"classifier", lcc.to_json()}, {"batch", p.batch}, {"lr", p.learning_rate},
                                      {"seed", p.seed}, {"reconstruction_weight", p.reconstruction_weight}};
  auto step_fn = [&](int64_t step) {
    auto w = sampler(p.batch, seeds::training_batch(p.seed, step));
    torch::Tensor logits0, prob, alpha, label;
    {
      torch::NoGradGuard no_grad;
      logits0 = lc->forward(w);
      prob = torch::sigmoid(logits0.select(1, target));
      alpha = transformer_alpha(prob);
      label = (prob <= 0.5).to(torch::kFloat);
    }
    auto edited = net->forward(w, alpha);
    auto logits = lc->forward(edited);
    Terms t;
    t["classification"] = class_balanced_bce(logits.select(1, target), label);
    t["reconstruction"] = F::mse_loss(edited, w);
    t["preservation"] = transformer_preservation(logits, logits0, weights);
    t["loss"] = t["classification"] + p.reconstruction_weight * t["reconstruction"] + t["preservation"];
    return t;
  };
  auto loop = run_loop("train-editor transformer", out_path, p, *net, opt, fingerprint, step_fn);

  // Held-out latents: the latent classifier's own verdict before and after a full flip.
  nlohmann::json heldout;
  {
    torch::NoGradGuard no_grad;
    auto w = sampler(1000, seeds::correlation(p.seed) + 1);
    auto p0 = lc->predict(w).select(1, target);
    auto sign = torch::where(p0 > 0.5, torch::full_like(p0, -1.0), torch::full_like(p0, 1.0));
    auto p1 = lc->predict(net->forward(w, sign)).select(1, target);
    auto p_paper = lc->predict(net->forward(w, transformer_alpha(p0))).select(1, target);
    auto flipped = [&](const torch::Tensor& q) { return ((q > 0.5) != (p0 > 0.5)).to(torch::kDouble).mean().item<double>(); };
    heldout = {{"n", 1000}, {"latent_flip_rate_alpha_1", flipped(p1)}, {"latent_flip_rate_paper_alpha", flipped(p_paper)},
               {"latent_mse_alpha_1", (net->forward(w, sign) - w).pow(2).mean().item<double>()}};
  }
  nlohmann::json pw;
  for (size_t k = 0; k < lcc.columns.size(); ++k) pw[lcc.columns[k]] = weights[static_cast<int64_t>(k)].item<double>();
  nlohmann::json report = {{"method", "transformer"}, {"attribute", config.attribute}, {"space", config.space},
                           {"layers", config.space == models::LatentSpace::WPlus ? nlohmann::json(net->config().mapped_layers()) : nlohmann::json::array()},
                           {"steps", p.steps}, {"batch", p.batch}, {"learning_rate", p.learning_rate},
                           {"seconds", loop.seconds}, {"resumed_from_step", loop.resumed_from}, {"final", loop.final},
                           {"history", loop.history}, {"preservation_weights", pw}, {"heldout_latent", heldout}};
  const edit::LatentTransformerEditor editor(net, lc_holder);
  if (p.finalize) p.finalize(editor, report);
  editor.save(out_path, report);
  remove_checkpoint(out_path);
  return report;
}

nlohmann::json train_l2m(const models::Generator& g, models::AttributeClassifier& clf, const edit::L2MConfig& config,
                         const TrainEditorParams& p, const std::string& out_path) {
  const auto space = config.space;
  if (!g.has_space(space)) fail("space " + models::to_string(config.space), "the " + g.arch() + " generator has no such latent space");
  const int64_t dim = space == models::LatentSpace::Z ? g.z_dim() : g.w_dim();
  if (config.latent_dim != dim)
    fail("l2m", "latent dimension " + std::to_string(config.latent_dim) + " does not match the generator's " + std::to_string(dim));
  const auto columns = edit::probability_columns(clf);
  const int64_t target = clf.column(config.attribute);
  std::vector<int64_t> others;
  for (auto c : columns.index)
    if (c != target) others.push_back(c);
  if (std::find(columns.index.begin(), columns.index.end(), target) == columns.index.end())
    fail("attr " + config.attribute, "is not a probability column of " + clf.name());
  FrozenTensors frozen(g.parameters());
  auto sampler = generator_sampler(g, space, p.truncation);
  const double psi = models::Generator::truncation_for(space, p.truncation);
  auto images = [&](const torch::Tensor& codes) { return g.generate(codes, space, psi); };
  auto other_idx = torch::tensor(others, torch::kLong).to(g.device());

  torch::manual_seed(p.seed);
  edit::L2MNet net(config);
  net->to(g.device());
  torch::optim::Adam opt(net->parameters(), torch::optim::AdamOptions(p.learning_rate));
  const nlohmann::json fingerprint = {
      {"method", "l2m"}, {"config", net->config().to_json()}, {"classifier", clf.name()}, {"generator", g.config()},
      {"batch", p.batch}, {"lr", p.learning_rate}, {"seed", p.seed}, {"truncation", p.truncation},
      {"weights", {p.preserve_weight, p.identity_weight, p.orthogonality_weight, p.cycle_weight, p.head_weight, p.latent_weight}}};
  auto step_fn = [&](int64_t step) {
    auto z = sampler(p.batch, seeds::training_batch(p.seed, step));
    torch::Tensor x0, logits0, prob, degree, label;
    {
      torch::NoGradGuard no_grad;
      x0 = images(z);
      logits0 = clf.logits(x0);
      prob = torch::sigmoid(logits0.select(1, target));
      degree = torch::where(prob > 0.5, torch::full_like(prob, -1.0), torch::full_like(prob, 1.0));
      label = (prob <= 0.5).to(torch::kFloat);
    }
    auto edited = net->forward(z, degree);
    auto x1 = images(edited);
    auto logits1 = clf.logits(x1);
    auto parts = net->factorise(z);
    Terms t;
    t["classification"] = class_balanced_bce(logits1.select(1, target), label);
    t["preservation"] = others.empty() ? torch::zeros({}, z.options())
                                       : F::mse_loss(logits1.index_select(1, other_idx), logits0.index_select(1, other_idx));
    t["identity"] = F::l1_loss(models::resize_images(x1, 8, 8), models::resize_images(x0, 8, 8));
    t["orthogonality"] = edit::orthogonality_loss(parts.relevant, parts.rest);
    t["cycle"] = F::mse_loss(net->forward(edited, -degree), z);
    t["head"] = F::binary_cross_entropy_with_logits(net->head->forward(parts.relevant).squeeze(1), prob);
    t["latent"] = F::mse_loss(edited, z);
    t["loss"] = t["classification"] + p.preserve_weight * t["preservation"] + p.identity_weight * t["identity"] +
                p.orthogonality_weight * t["orthogonality"] + p.cycle_weight * t["cycle"] + p.head_weight * t["head"] +
                p.latent_weight * t["latent"];
    return t;
  };
  auto loop = run_loop("train-editor l2m", out_path, p, *net, opt, fingerprint, step_fn);
  nlohmann::json report = {{"method", "l2m"}, {"attribute", config.attribute}, {"space", config.space},
                           {"classifier", clf.name()}, {"steps", p.steps}, {"batch", p.batch},
                           {"learning_rate", p.learning_rate}, {"seconds", loop.seconds},
                           {"resumed_from_step", loop.resumed_from}, {"final", loop.final}, {"history", loop.history},
                           {"identity_proxy", "L1 distance of the images at 8x8"}};
  const edit::L2MEditor editor(net);
  if (p.finalize) p.finalize(editor, report);
  net->to(torch::kCPU);
  editor.save(out_path, report);
  net->to(g.device());
  remove_checkpoint(out_path);
  return report;
}

nlohmann::json heldout_flip_rate(const edit::Editor& editor, const models::Generator& g, models::AttributeClassifier& clf,
                                 const std::string& attribute, int64_t n, uint64_t seed, double strength, double truncation) {
  if (n < 1) fail("held-out flip rate", "needs at least one sample");
  torch::NoGradGuard no_grad;
  const auto columns = edit::probability_columns(clf);
  const int64_t target = clf.column(attribute);
  const auto space = editor.space();
  auto codes = generator_sampler(g, space, truncation)(n, seed);
  const double psi = models::Generator::truncation_for(space, truncation);
  int64_t flipped = 0, sign_agrees = 0;
  torch::Tensor other_delta = torch::zeros({static_cast<int64_t>(columns.index.size())}, torch::kDouble);
  for (int64_t b = 0; b < n; b += 64) {
    auto c = codes.narrow(0, b, std::min<int64_t>(64, n - b));
    auto p0 = clf.predict(g.generate(c, space, psi));
    auto sign = editor.flip_sign(c).to(c.device());
    auto p1 = clf.predict(g.generate(editor.edit(c, sign * strength), space, psi));
    auto t0 = p0.select(1, target) > 0.5, t1 = p1.select(1, target) > 0.5;
    flipped += (t0 != t1).sum().item<int64_t>();
    sign_agrees += (t0 == (sign < 0)).sum().item<int64_t>();
    auto idx = torch::tensor(columns.index, torch::kLong).to(p0.device());
    other_delta += (p1.index_select(1, idx) - p0.index_select(1, idx)).abs().sum(0).to(torch::kCPU, torch::kDouble);
  }
  nlohmann::json others;
  for (size_t k = 0; k < columns.index.size(); ++k)
    if (columns.index[k] != target) others[columns.names[k]] = other_delta[static_cast<int64_t>(k)].item<double>() / n;
  return {{"n", n}, {"seed", seed}, {"strength", strength}, {"classifier", clf.name()},
          {"target_flip_rate", static_cast<double>(flipped) / n},
          {"flip_sign_agreement", static_cast<double>(sign_agrees) / n}, {"other_mean_abs_delta_p", others}};
}

}  // namespace faceedit::train
