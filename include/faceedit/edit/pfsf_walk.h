// faceedit — PFSF's individual non-linear walk: small steps through the (personalized) generator
// and the supervision classifier that change one attribute and, to first order, nothing else.
//
// Each step, per sample x (a latent of any space):
//   g_t = d logit_target(G(x)) / dx                           (the attribute to change)
//   g_k = d logit_k(G(x)) / dx for every preserved column k    (attributes to keep)
//   g_id = d cos(E(G(x)), E(G(x0))) / dx                       (identity, when an embedder is given;
//                                                               skipped while ~0, as at the pivot)
//   s = g_t minus its projection on span{g_k, g_id} (Gram-Schmidt), s <- direction * step_length * s/|s|
//   x <- x + s
// so every step has length step_length and is orthogonal to the gradients it preserves. The walk
// stops when the target probability crosses `threshold` (upwards for direction +1, downwards for -1)
// and, to serve strengths above 1, continues until step ceil(max_strength * crossing), or at
// max_steps. For the DCGAN's Z (prior U(-1, 1)) the walk clamps to [-1, 1] when clamp_to_prior is
// set, which can shorten a step at the box's faces.
//
// Strength s picks a point on the path: the fractional step s * c where c is the crossing (linear
// interpolation of the probabilities between the steps around it); without a crossing c is the last
// step. Fractional indices interpolate latents linearly; indices past the walked path give its end.
//
// PfsfEditor puts the walk behind edit::Editor (method "pfsf") and is the way in for callers
// (evaluate, photo): edit(latents, alpha) walks each sample with direction sign(alpha) and strength
// |alpha| (all samples of a batch walk together); walk() returns the whole path it picks from.
//
//   edit::PfsfEditorParams p;  p.attribute = "smiling";  p.space = models::LatentSpace::Z;
//   auto editor = std::make_shared<edit::PfsfEditor>(g, classifier, p, identity);  // identity may be null
//   auto edited = editor->edit(pivot, torch::full({1}, 1.0));     // [1, 100] at the crossing
//   auto path = editor->walk(pivot, torch::full({1}, -2.0));      // lower it, twice the crossing
//
// Thread-safety: the walk only reads the generator and runs the classifier forward; PfsfEditor is
// immutable, its edit() may run concurrently when the classifier's forward passes may.
#pragma once

#include <torch/torch.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "faceedit/edit/editor.h"
#include "faceedit/models/face_analysis.h"
#include "faceedit/models/generator.h"

namespace faceedit::edit {

struct WalkParams {
  std::string attribute = "smiling";   // target column of the classifier
  std::vector<std::string> preserve;   // columns kept; empty: every other probability column
  double step_length = 0.25;           // in latent units (DCGAN z: |z| ~ 5.8)
  double threshold = 0.5;              // target probability that counts as crossed
  int max_steps = 60;                  // budget
  double max_strength = 1.0;           // walk on after the crossing to serve strengths up to this
  bool clamp_to_prior = true;          // DCGAN Z only: keep z in [-1, 1]
  double truncation = 1.0;             // for Z codes of StyleGAN2
  models::NoiseMode noise = models::NoiseMode::Const;
};

struct WalkPath {
  models::LatentSpace space = models::LatentSpace::Z;
  torch::Tensor latents;       // [K + 1, N, ...]: step 0 is the pivot
  torch::Tensor probs;         // [K + 1, N] target probability at each step
  torch::Tensor preserved;     // [K + 1, N, P] preserved columns' probabilities
  std::vector<std::string> preserved_columns;
  torch::Tensor direction;     // [N] of +1 / -1
  torch::Tensor crossing;      // [N] fractional step where the threshold is crossed; -1: never
  torch::Tensor steps_walked;  // [N] steps actually taken (a sample stops once it has what it needs)

  int64_t steps() const { return latents.size(0) - 1; }
  // [N] strengths -> [N, ...] latents on the path (see the header comment).
  torch::Tensor point(const torch::Tensor& strength) const;
  nlohmann::json to_json() const;                    // probabilities, crossings, steps
  void save(const std::string& path) const;         // safetensors: latents, probs, crossing, direction
};

// pivot: [N, ...] codes of `space`; direction: [N] of +1 (raise the attribute) / -1 (lower it), or
// one value for all. identity may be null (no identity projection).
WalkPath pfsf_walk(const models::Generator& g, models::AttributeClassifier& classifier, models::IdentityEmbedder* identity,
                   const torch::Tensor& pivot, models::LatentSpace space, const torch::Tensor& direction,
                   const WalkParams& params, const torch::Tensor& strength = {});

// Per row of v [N, D]: v minus its projection on the span of others[k] [N, D] (modified Gram-Schmidt;
// vectors dependent on the previous ones, or ~0, are skipped).
torch::Tensor project_out(const torch::Tensor& v, const std::vector<torch::Tensor>& others);

struct PfsfEditorParams {
  std::string attribute;                              // classifier column
  models::LatentSpace space = models::LatentSpace::Z;
  WalkParams walk;                                    // walk.attribute is set from `attribute`
};

class PfsfEditor : public Editor {
 public:
  PfsfEditor(std::shared_ptr<const models::Generator> generator, std::shared_ptr<models::AttributeClassifier> classifier,
             PfsfEditorParams params, std::shared_ptr<models::IdentityEmbedder> identity = nullptr);
  std::string method() const override { return "pfsf"; }
  std::string attribute() const override { return p_.attribute; }
  models::LatentSpace space() const override { return p_.space; }
  torch::Tensor edit(const torch::Tensor& latents, const torch::Tensor& alpha) const override;
  torch::Tensor flip_sign(const torch::Tensor& latents) const override;
  nlohmann::json describe() const override;
  // The whole path of a batch (what edit() picks points from).
  WalkPath walk(const torch::Tensor& latents, const torch::Tensor& alpha) const;

 private:
  std::shared_ptr<const models::Generator> g_;
  std::shared_ptr<models::AttributeClassifier> classifier_;
  std::shared_ptr<models::IdentityEmbedder> identity_;
  PfsfEditorParams p_;
};

}  // namespace faceedit::edit
