// faceedit — InterFaceGAN editing (Shen et al.): move a code along the unit normal of a linear
// attribute boundary (edit/boundary.h trains one; official InterFaceGAN .npy files load as they are).
//
// Distances: in Relative mode alpha is a step along the normal, w' = w + alpha n. In Absolute mode
// alpha is the signed distance from the hyperplane where the code ends up: w' = w + (alpha - d(w)) n,
// d(w) = w.n + offset (InterFaceGAN's "distance" sweeps). Z-space codes are edited as they are (the
// generator normalises z itself).
//
// W+ codes: a W boundary applies to the chosen layers only (all when `layers` is empty), which is how
// edits are restricted to coarse (pose, age) or fine (colour) styles.
#pragma once

#include <vector>

#include "faceedit/edit/editor.h"

namespace faceedit::edit {

enum class DistanceMode { Relative, Absolute };
DistanceMode parse_distance_mode(const std::string& s);  // "relative", "absolute"

struct InterFaceGANParams {
  std::string attribute;
  torch::Tensor normal;  // [dim], unit (normalised again here)
  double offset = 0.0;   // hyperplane: x.n + offset = 0
  models::LatentSpace space = models::LatentSpace::Z;  // Z, W, or WPlus (a W boundary per layer)
  int64_t num_ws = 0;             // for WPlus
  std::vector<int64_t> layers;    // WPlus layers edited; empty: all
  DistanceMode distance = DistanceMode::Relative;
  std::string source;             // where the boundary came from, for describe()
  std::vector<std::string> conditions;  // attributes it was made orthogonal to, for describe()
};

class InterFaceGANEditor : public Editor {
 public:
  explicit InterFaceGANEditor(InterFaceGANParams params);
  std::string method() const override { return "interfacegan"; }
  std::string attribute() const override { return p_.attribute; }
  models::LatentSpace space() const override { return p_.space; }
  torch::Tensor edit(const torch::Tensor& latents, const torch::Tensor& alpha) const override;
  torch::Tensor flip_sign(const torch::Tensor& latents) const override;
  nlohmann::json describe() const override;
  // d(w) per sample (mean over the edited layers for W+).
  torch::Tensor signed_distance(const torch::Tensor& latents) const;

 private:
  InterFaceGANParams p_;
  torch::Tensor layer_mask_;  // [num_ws, 1] of 0/1 for W+
};

}  // namespace faceedit::edit
