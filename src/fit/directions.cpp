// Unsupervised directions (SeFa, GANSpace) and the crossing search used by calibration.
#include "fit_internal.h"

#include <algorithm>
#include <cmath>

#include "faceedit/error.h"

namespace faceedit::fit {

namespace {

// Top-k eigenvectors of a symmetric matrix as rows, by descending eigenvalue, each signed so that
// its largest-magnitude entry is positive (eigenvectors have no sign of their own: a fixed rule keeps
// files comparable between runs).
torch::Tensor top_eigenvectors(const torch::Tensor& symmetric, int64_t k) {
  auto [values, vectors] = torch::linalg::eigh(symmetric.to(torch::kFloat64), "L");  // ascending
  const int64_t dim = values.numel();
  if (k > dim) k = dim;
  auto rows = vectors.flip({1}).narrow(1, 0, k).t().contiguous();  // [k, dim]
  auto idx = rows.abs().argmax(1, true);
  auto sign = rows.gather(1, idx).sign();
  sign = torch::where(sign == 0, torch::ones_like(sign), sign);
  return (rows * sign).to(torch::kFloat32);
}

}  // namespace

torch::Tensor sefa_directions(const torch::Tensor& weight_rows, int64_t k) {
  if (weight_rows.dim() != 2 || weight_rows.size(0) == 0) fail("sefa", "needs the weight rows [outputs, latent dim]");
  auto a = weight_rows.to(torch::kFloat64);
  a = a / a.norm(2, 1, true).clamp_min(1e-12);
  return top_eigenvectors(a.t().mm(a), k);
}

torch::Tensor right_singular_directions(const torch::Tensor& rows, int64_t k) {
  const auto a = rows.to(torch::kFloat64);
  return top_eigenvectors(a.t().mm(a), k);
}

torch::Tensor pca_directions(const torch::Tensor& latents, int64_t k) {
  if (latents.dim() != 2 || latents.size(0) < 2) fail("ganspace", "needs at least 2 latents [N, dim]");
  auto x = latents.to(torch::kFloat64);
  x = x - x.mean(0, true);
  return top_eigenvectors(x.t().mm(x) / static_cast<double>(x.size(0) - 1), k);
}

torch::Tensor first_layer_rows(const models::Generator& g) {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> rows;
  for (const auto& t : g.named_tensors()) {
    const auto& name = t.key();
    const auto& v = t.value();
    if (g.arch() == "dcgan") {
      // The first transposed convolution maps z [z_dim] to C x 4 x 4: its weight is [z_dim, C, 4, 4].
      if (v.dim() == 4 && v.size(0) == g.z_dim()) return v.detach().to(torch::kCPU, torch::kFloat32).flatten(1).t().contiguous();
    } else if (name.find("synthesis.") == 0 && name.size() > 14 && name.substr(name.size() - 14) == ".affine.weight" &&
               name.find("torgb") == std::string::npos) {
      rows.push_back(v.detach().to(torch::kCPU, torch::kFloat32));  // [channels, w_dim]: style of one layer
    }
  }
  if (rows.empty()) fail(g.arch(), "no first-layer weights found for SeFa (a DCGAN or StyleGAN2 is needed)");
  return torch::cat(rows, 0);
}

Crossing find_crossing(const std::function<double(double)>& rate, double target, double start, double max_alpha,
                       int iterations) {
  double lo = 0, lo_rate = rate(0.0), hi = start, hi_rate = rate(start);
  if (lo_rate >= target) return {0.0, true};
  while (hi_rate < target) {
    if (hi >= max_alpha) return {max_alpha, false};
    lo = hi;
    lo_rate = hi_rate;
    hi = std::min(hi * 2, max_alpha);
    hi_rate = rate(hi);
  }
  for (int i = 0; i < iterations; ++i) {
    const double mid = 0.5 * (lo + hi);
    const double r = rate(mid);
    if (r >= target) {
      hi = mid;
      hi_rate = r;
    } else {
      lo = mid;
      lo_rate = r;
    }
  }
  // Linear between the bracket's ends: the rate is a step function of N faces, smooth enough here.
  const double t = hi_rate > lo_rate ? (target - lo_rate) / (hi_rate - lo_rate) : 1.0;
  return {lo + std::clamp(t, 0.0, 1.0) * (hi - lo), true};
}

}  // namespace faceedit::fit
