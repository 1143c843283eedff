// faceedit — training the learned editors: Latent Transformer (edit/latent_transformer.h) and
// L2M (edit/l2m.h).
//
// Latent Transformer (Yao et al. 2021), on a frozen latent classifier and latents drawn from the
// generator (no images): per batch p = the classifier's probability of the target, alpha = 1 - p
// (p <= 0.5) or -p (p > 0.5), w' = w + alpha T(w), and
//   loss = class-balanced BCE(target logit of w', flipped label)      (each label weighs half)
//        + reconstruction_weight (10) * MSE(w', w)
//        + mean over the batch and all K columns of (preservation_weights[k] (logit_k(w') - logit_k(w)))^2
// with preservation_weights[k] = 1 - |corr(p_target, p_k)| measured once on the classifier's
// probabilities of `correlation_samples` sampled latents (correlated attributes may move together;
// the target's weight is 0). This is the paper's form (InterDigital's trainer masks the logits inside
// one MSE): a sum over the K columns instead weighs preservation K times more and, measured here on
// the DCGAN's 40 attributes, kept the smile transformer from flipping its own latent classifier (22%
// of held-out latents flipped at alpha 1, against 96% with the paper's form).
//
// L2M (Yang et al. 2021) end to end through the frozen generator G and our supervision classifier C
// (never the judges): per batch p = C(G(z))[target], degree d = +-1 towards the other side, and
//   loss = class-balanced BCE(C logit of the target on G(z'), flipped label)
//        + preserve_weight * MSE(C's other logits on G(z'), on G(z))
//        + identity_weight * L1(G(z') at 8x8, G(z) at 8x8)   (identity: face layout, pose, hair and
//          background at coarse scale; our classifiers have no identity embedding and the judges'
//          must stay out of training, so a coarse pixel distance stands in)
//        + orthogonality_weight * mean cos(r, u)^2
//        + cycle_weight * MSE(edit(z', -d), z)     (the reconstruction term: degree 0 is exact by
//          construction, so reconstruction is asked of the round trip instead)
//        + head_weight * BCE(attribute head on r, C's probability)   (what flip_sign() reads)
//        + latent_weight * MSE(z', z)
//
// Both run `steps` Adam steps, write a checkpoint every `checkpoint_every` steps (out_path +
// ".ckpt/": model, optimizer, state.json written last, each atomically) and resume from it when
// `resume` is set and the checkpoint was made with the same settings (else faceedit::Error naming
// the differing setting). The checkpoint directory is removed once out_path is written. Batches of
// step i come from numpy seed 2e9 + 1e6 (seed % 1000) + i, so a resumed run draws what an
// uninterrupted one would, and none overlaps `evaluate`'s held-out faces (seed 1e6).
//
// Thread-safety: one training per process (uses torch's global RNG for initialisation).
#pragma once

#include <torch/torch.h>

#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "faceedit/edit/l2m.h"
#include "faceedit/edit/latent_transformer.h"
#include "faceedit/models/face_analysis.h"
#include "faceedit/models/generator.h"
#include "faceedit/models/latent_classifier.h"

namespace faceedit::train {

struct TrainEditorParams {
  int64_t steps = 1000;
  int64_t batch = 32;
  double learning_rate = 1e-3;
  uint64_t seed = 0;
  int64_t checkpoint_every = 100;  // steps; 0: no checkpoints
  bool resume = false;
  bool progress = true;
  // Latent Transformer
  double reconstruction_weight = 10.0;
  int64_t correlation_samples = 4096;
  // L2M
  double preserve_weight = 1.0, identity_weight = 1.0, orthogonality_weight = 1.0, cycle_weight = 1.0;
  double head_weight = 1.0, latent_weight = 0.01;
  int64_t hidden = 256;
  double truncation = 1.0;  // of the generator's codes (L2M)
  // Called with the trained editor and its report just before the file is written once (the CLI
  // adds its held-out evaluation to the report here); may be empty.
  std::function<void(const edit::Editor&, nlohmann::json& report)> finalize;
};
TrainEditorParams train_editor_default_params();

// Latents of the space trained in: n codes drawn from `seed` (e.g. generator.sample_z then map).
using LatentSampler = std::function<torch::Tensor(int64_t n, uint64_t seed)>;
// Codes of `space` for generator g (z; W = map(z, psi)[:, 0]; W+ = map(z, psi)).
LatentSampler generator_sampler(const models::Generator& g, models::LatentSpace space, double truncation = 1.0);

// [K] weights 1 - |corr(probs[:, target], probs[:, k])|, 0 at `target` (and for a constant column).
torch::Tensor preservation_weights(const torch::Tensor& probs, int64_t target);

// The transformer's preservation term: mean over [N, K] of (weights[k] (logits - logits0)[n, k])^2
// (the paper's form: one MSE over all columns, not a sum of K MSEs).
torch::Tensor transformer_preservation(const torch::Tensor& logits, const torch::Tensor& logits0, const torch::Tensor& weights);

// Paper's alpha: 1 - p where p <= 0.5, -p where p > 0.5.
torch::Tensor transformer_alpha(const torch::Tensor& p);

// BCE with logits where the positives and the negatives of `labels` weigh half each (a batch with
// one class only: plain mean BCE).
torch::Tensor class_balanced_bce(const torch::Tensor& logits, const torch::Tensor& labels);

// Trains a transformer of `config` (space, dims, layers) for config.attribute with the frozen
// latent classifier `lc`; writes out_path and returns the report {"method", "attribute", "steps",
// "seconds", "final": {losses}, "preservation_weights", "latent_flip_rate"...}.
nlohmann::json train_latent_transformer(const models::LatentClassifier& lc, const LatentSampler& sampler,
                                        const edit::LatentTransformerConfig& config, const TrainEditorParams& params,
                                        const std::string& out_path);

// Trains an L2M editor for config.attribute (a column of `classifier`) on generator g; config.space
// z or w. Writes out_path and returns the report.
nlohmann::json train_l2m(const models::Generator& g, models::AttributeClassifier& classifier, const edit::L2MConfig& config,
                         const TrainEditorParams& params, const std::string& out_path);

// Held-out check with images: n latents drawn from `seed` (keep it apart from training seeds),
// edited at alpha = flip_sign * strength, generated and judged by `classifier`: the share whose
// label (p > 0.5) for `attribute` flips, and the mean |delta p| of the other probability columns.
nlohmann::json heldout_flip_rate(const edit::Editor& editor, const models::Generator& g,
                                 models::AttributeClassifier& classifier, const std::string& attribute, int64_t n,
                                 uint64_t seed, double strength = 1.0, double truncation = 1.0);

}  // namespace faceedit::train
