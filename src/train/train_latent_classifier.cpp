#include "faceedit/train/train_latent_classifier.h"

#include <iostream>

#include "faceedit/edit/interfacegan/sampling.h"
#include "faceedit/error.h"
#include "faceedit/models/latent_classifier.h"
#include "faceedit/progress.h"

namespace faceedit::train {

namespace F = torch::nn::functional;

TrainLatentClassifierParams train_latent_classifier_default_params() { return {}; }

LatentScores sample_and_score(const models::Generator& g, models::AttributeClassifier& clf,
                              const SampleScoresParams& p) {
  if (p.n < 2) fail("n " + std::to_string(p.n), "need at least 2 samples");
  if (p.batch < 1) fail("batch", "must be positive");
  const auto space = p.space;
  if (!g.has_space(space)) fail("space " + models::to_string(space), "the " + g.arch() + " generator has no such latent space");
  const auto columns = edit::probability_columns(clf);
  LatentScores out;
  out.space = p.space;
  out.columns = columns.names;

  torch::NoGradGuard no_grad;
  auto z = g.sample_z(p.n, p.seed);
  std::vector<torch::Tensor> latents, scores;
  Progress progress("sample-and-score", p.n, "samples", p.progress);
  for (int64_t b = 0; b < p.n; b += p.batch) {
    auto zb = z.narrow(0, b, std::min(p.batch, p.n - b));
    auto batch = edit::generate_and_score(g, clf, columns, zb, p.truncation);
    auto code = space == models::LatentSpace::Z ? zb : space == models::LatentSpace::W ? batch.codes.select(1, 0) : batch.codes;
    latents.push_back(code.to(torch::kCPU));
    scores.push_back(batch.scores.to(torch::kCPU));
    progress.update(b + zb.size(0));
  }
  progress.finish();
  out.latents = torch::cat(latents);
  out.scores = torch::cat(scores);
  return out;
}

nlohmann::json train_latent_classifier(const LatentScores& data, const TrainLatentClassifierParams& p,
                                       const std::string& out_path) {
  const int64_t n = data.latents.size(0);
  if (data.scores.size(0) != n) fail("latent classifier data", "latents and scores differ in count");
  if (p.epochs < 1 || p.batch < 2 || !(p.learning_rate > 0)) fail("latent classifier training", "absurd parameters");
  for (int64_t c = 0; c < data.scores.size(1); ++c) {
    auto col = data.scores.select(1, c);
    if (!(torch::isfinite(col).all().item<bool>() && col.min().item<double>() >= 0 && col.max().item<double>() <= 1))
      fail("score column '" + data.columns.at(static_cast<size_t>(c)) + "'",
           "is not a probability in [0, 1] (e.g. the pose score's degrees): a latent classifier learns probabilities; "
           "sample without that classifier");
  }
  models::LatentClassifierConfig cfg;
  cfg.space = data.space;
  cfg.latent_dim = data.latents.size(-1);
  cfg.num_ws = data.latents.dim() == 3 ? data.latents.size(1) : 0;
  cfg.hidden = p.hidden;
  cfg.columns = data.columns;
  torch::manual_seed(p.seed);
  models::LatentClassifier lc(cfg);
  const int64_t n_hold = std::max<int64_t>(1, static_cast<int64_t>(n * p.holdout));
  auto perm = torch::randperm(n, torch::kLong);
  auto train_idx = perm.narrow(0, 0, n - n_hold), hold_idx = perm.narrow(0, n - n_hold, n_hold);
  auto x_train = data.latents.index_select(0, train_idx), y_train = data.scores.index_select(0, train_idx);
  auto x_hold = data.latents.index_select(0, hold_idx), y_hold = data.scores.index_select(0, hold_idx);

  torch::optim::Adam opt(lc->parameters(), torch::optim::AdamOptions(p.learning_rate));
  const int64_t n_train = x_train.size(0);
  Progress progress("train-latent-classifier", p.epochs, "epochs", p.progress);
  double last_loss = 0;
  for (int epoch = 0; epoch < p.epochs; ++epoch) {
    lc->train();
    auto order = torch::randperm(n_train, torch::kLong);
    double sum = 0;
    int64_t steps = 0;
    for (int64_t b = 0; b < n_train; b += p.batch) {
      auto idx = order.narrow(0, b, std::min(p.batch, n_train - b));
      auto loss = F::binary_cross_entropy_with_logits(lc->forward(x_train.index_select(0, idx)), y_train.index_select(0, idx));
      opt.zero_grad();
      loss.backward();
      opt.step();
      sum += loss.item<double>();
      ++steps;
    }
    last_loss = sum / std::max<int64_t>(1, steps);
    char extra[48];
    std::snprintf(extra, sizeof extra, "loss %.4f", last_loss);
    progress.update(epoch + 1, extra);
  }
  progress.finish();
  lc->eval();
  torch::NoGradGuard no_grad;
  auto pred = lc->predict(x_hold);
  nlohmann::json per;
  for (size_t k = 0; k < cfg.columns.size(); ++k) {
    auto a = pred.select(1, static_cast<int64_t>(k)), b = y_hold.select(1, static_cast<int64_t>(k));
    const double agree = ((a >= 0.5) == (b >= 0.5)).to(torch::kDouble).mean().item<double>();
    auto ac = a - a.mean(), bc = b - b.mean();
    const double corr = (ac * bc).sum().item<double>() / std::max(1e-12, (ac.norm() * bc.norm()).item<double>());
    per[cfg.columns[k]] = {{"label_agreement", agree}, {"correlation", corr},
                           {"positive_share", (b >= 0.5).to(torch::kDouble).mean().item<double>()}};
  }
  nlohmann::json report = {{"space", data.space}, {"samples", n}, {"heldout", n_hold}, {"epochs", p.epochs},
                           {"final_train_loss", last_loss}, {"heldout_metrics", per}};
  lc->save(out_path, report);
  return report;
}

}  // namespace faceedit::train
