// faceedit — InterFaceGAN attribute boundaries: training a linear SVM (liblinear) on sampled,
// scored latents, conditional (orthogonalised) directions, files, distances.
//
// A Boundary is the hyperplane {x : normal·x + offset = 0} in one latent space ("z" or "w"), with a
// unit normal pointing towards more of the attribute. Editing moves a latent along `normal`;
// signed_distance() is how far a latent is from the hyperplane (positive: has the attribute).
//
//   auto b = edit::train_boundary(latents /*[N, 512]*/, smiling_scores /*[N]*/, {.seed = 1});
//   b.attribute = "smiling"; b.space = models::LatentSpace::W;
//   edit::save_boundary(b, "smiling.safetensors");     // normal, offset, training report
//   edit::save_boundary(b, "smiling.npy");             // InterFaceGAN's [1, 512] layout (no offset)
//   auto official = edit::load_boundary("boundary_Smiling.npy");  // offset 0
//   auto n = edit::project_orthogonal(b.normal, {male.normal, young.normal});  // conditional
//
// Training follows InterFaceGAN's train_boundary (genforce/interfacegan, utils/manipulator.py):
//   1. sort the samples by score (descending); the top floor(ratio*N) are positives, the bottom
//      floor(ratio*N) negatives ("chosen" per side);
//   2. shuffle each side (seeded: std::mt19937_64(seed), positives first, then negatives) and take
//      floor(chosen*split) of each for training, the rest for validation;
//   3. fit a linear SVM; report training and validation accuracy, and the accuracy on the
//      "remaining" (unchosen, middle) samples, labelled as InterFaceGAN labels them: positive when
//      score >= (max score + min score) / 2 over all samples;
//   4. return w/||w|| and b/||w||, signed so that positive means more of the attribute.
//
// The SVM: InterFaceGAN calls scikit-learn's svm.SVC(kernel='linear') (libsvm; hinge loss, C=1,
// unregularised intercept). We use liblinear's L2R_L2LOSS_SVC_DUAL with a bias feature of 1, which
// is exactly scikit-learn's LinearSVC() default (squared hinge, C=1, tol 1e-4, intercept_scaling
// 1: the intercept is regularised like the weights). C = 1.0, the default of both SVC and
// LinearSVC, so results compare with the published boundaries; with the well-separated extreme 2%
// on each side the direction hardly depends on C (the tests check this on synthetic data).
// `squared_hinge = false` selects L2R_L1LOSS_SVC_DUAL (hinge loss, the loss SVC minimises).
// Memory: liblinear holds the training rows densely, 16 bytes per value (2*floor(chosen*split) *
// (dim+2) nodes: 2,800 x 514 for N = 100,000 and the default ratio/split).
//
// Conditional directions (InterFaceGAN's project_boundary): the primary normal minus its
// projection onto the span of the condition normals, renormalised. One condition:
// n - (n·c)c; two: InterFaceGAN's closed form; three or more: a least-squares solve. Refused when
// the conditions are (nearly) linearly dependent or the primary (nearly) lies in their span.
//
// Thread-safety: liblinear keeps global state (rand(), its print hook); train_boundary serialises
// its liblinear calls with a process-wide mutex, so it may be called from several threads (they
// then train one at a time). It reseeds the C library's rand() (srand(seed)) for reproducible
// coordinate order. Everything else is free of shared state.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "faceedit/models/latent_space.h"

namespace faceedit::edit {

struct Boundary {
  torch::Tensor normal;  // [dim] float32, unit norm, towards more of the attribute
  double offset = 0.0;   // hyperplane: normal·x + offset = 0 (a .npy boundary has none: 0)
  std::optional<models::LatentSpace> space;  // unknown for e.g. an official .npy
  std::string attribute;
  nlohmann::json report = nlohmann::json::object();  // training report, cosines, ...

  int64_t dim() const { return normal.numel(); }
};

// Writes by extension: ".safetensors" (tensors normal [1, dim] and offset [1]; metadata
// faceedit.arch = "interfacegan-boundary", faceedit.attribute, faceedit.space, faceedit.report)
// or ".npy" (InterFaceGAN's layout: the unit normal as float32 [1, dim]; the offset is lost).
// Atomic. Anything else throws.
void save_boundary(const Boundary& boundary, const std::string& path);

// Reads either format. A .npy must hold one vector ([dim] or [1, dim]); it is renormalised to unit
// length (official boundaries already are) and gets offset 0, attribute from its file name
// ("boundary_Smiling.npy" -> "Smiling"), space "". Throws on a zero vector, a wrong shape or arch.
Boundary load_boundary(const std::string& path);

// A random unit direction, the same for the same seed: a control that learnt nothing (what any edit
// of that length does), and the stand-in boundary of tests, benchmarks and fuzzing.
Boundary random_boundary(int64_t dim, std::optional<models::LatentSpace> space, const std::string& attribute, uint64_t seed);

// Throws "<what>: boundary <attribute> has dimension D, expected dim" unless boundary.dim() == dim.
void check_dimension(const Boundary& boundary, int64_t dim, const std::string& what);

struct BoundaryParams {
  double ratio = 0.02;  // share of samples taken as positives (top) and as negatives (bottom), (0, 0.5]
  double split = 0.7;   // share of the chosen samples used for training, the rest validates, (0, 1)
  double C = 1.0;       // SVM cost: scikit-learn's default for SVC and LinearSVC (see above)
  bool squared_hinge = true;  // L2R_L2LOSS_SVC_DUAL (LinearSVC); false: L2R_L1LOSS_SVC_DUAL
  double tolerance = 1e-4;    // liblinear eps (LinearSVC's tol)
  uint64_t seed = 0;          // shuffling and liblinear's coordinate order
};

// latents [N, dim], scores [N] (any real values; higher = more of the attribute). Returns the
// boundary (space/attribute empty: the caller names them) with report:
//   {"samples", "dim", "ratio", "split", "seed", "chosen" (per side),
//    "train": {"positive", "negative", "accuracy"}, "validation": {...}, "remaining": {"count",
//    "positive", "negative", "threshold", "accuracy"}, "svm": {"library", "solver", "C", "tolerance",
//    "bias", "weight_norm", "iterations_capped"?}, "score_range", "train_seconds", "total_seconds"}.
// Throws on mismatched shapes, non-finite values, constant scores, a ratio/split outside its
// range, or too few samples for the ratio (each side needs >= 1 training and >= 1 validation sample).
Boundary train_boundary(const torch::Tensor& latents, const torch::Tensor& scores, const BoundaryParams& params);

// The primary direction made orthogonal to every condition direction, unit norm (float32, [dim]).
// Closed forms for one and two conditions, project_orthogonal_solve for more.
torch::Tensor project_orthogonal(const torch::Tensor& primary, const std::vector<torch::Tensor>& conditions);
// The general path for any number of conditions: removes the least-squares fit of the primary by
// the conditions (torch::linalg_lstsq in float64). Same checks and result as project_orthogonal.
torch::Tensor project_orthogonal_solve(const torch::Tensor& primary, const std::vector<torch::Tensor>& conditions);

// The conditional boundary: normal = project_orthogonal(primary.normal, conditions); the offset is
// chosen so the new hyperplane passes through the primary hyperplane's point nearest the origin
// (-offset·n), i.e. offset' = offset (n·n'). The report gains "conditions": [{attribute,
// cosine_before, cosine_after}] and "cosine_with_primary".
Boundary condition_boundary(const Boundary& primary, const std::vector<Boundary>& conditions);

// latents [..., dim] -> [...]: latents·normal + offset (float32). Distances are in latent units
// along the unit normal, so "move to distance d" is x + (d - signed_distance(x)) * normal.
torch::Tensor signed_distance(const torch::Tensor& latents, const Boundary& boundary);

}  // namespace faceedit::edit
