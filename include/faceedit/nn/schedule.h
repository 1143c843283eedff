// faceedit — learning-rate schedules shared by every optimisation loop (inversion, personalization,
// classifier training), so "warm-up then cosine" means one thing everywhere.
#pragma once

#include <algorithm>
#include <cmath>

namespace faceedit::nn {

// Linear warm-up over `warmup` steps, then cosine decay from base_lr to 0 at step `total`.
inline double warmup_cosine_lr(int step, int total, double base_lr, int warmup) {
  if (warmup > 0 && step < warmup) return base_lr * (step + 1) / warmup;
  const double t = static_cast<double>(step - warmup) / std::max(1, total - warmup);
  return base_lr * 0.5 * (1.0 + std::cos(M_PI * std::min(1.0, t)));
}

// Cosine decay without warm-up, per epoch: base_lr at epoch 0, towards 0 at `epochs`.
inline double cosine_lr(int epoch, int epochs, double base_lr) { return warmup_cosine_lr(epoch, epochs, base_lr, 0); }

}  // namespace faceedit::nn
