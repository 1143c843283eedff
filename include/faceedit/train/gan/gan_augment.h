// faceedit — differentiable augmentation for GAN training on small datasets (DiffAugment, Zhao et
// al. 2020, policy "color,translation,cutout"): every image the discriminator sees, real or
// generated, is augmented the same random way, and gradients flow through the augmentation to the
// generator (and to the reals, for R1).
//
//   auto draw = draw_augment(n, h, w, policy, generator);   // the random parameters, per image
//   auto seen = apply_augment(images, draw);                // deterministic, differentiable in images
//
// The operations, per image i (x in [-1, 1], NCHW):
//   brightness  x + b_i,                          b_i ~ U(-0.5, 0.5)
//   saturation  (x - mean_c x) s_i + mean_c x,    s_i ~ U(0, 2)     (mean over channels, per pixel)
//   contrast    (x - mean x) c_i + mean x,        c_i ~ U(0.5, 1.5) (mean over channels and pixels)
//   translation x shifted by (ty_i, tx_i) pixels, zeros shifted in; |t| <= round(size / 8)
//   cutout      a square of round(size / 2) set to 0, centred at (cy_i, cx_i) (clipped at the border)
#pragma once

#include <torch/torch.h>

#include <string>

namespace faceedit::train {

struct AugmentPolicy {
  bool color = true, translation = true, cutout = true;
  // "color,translation,cutout" (any subset, any order); "" or "none": no augmentation. Errors name
  // the unknown word.
  static AugmentPolicy parse(const std::string& text);
  std::string str() const;
  bool any() const { return color || translation || cutout; }
};

// Per-image parameters ([N] tensors on the CPU; undefined for operations the policy leaves out).
struct AugmentDraw {
  torch::Tensor brightness, saturation, contrast;  // float
  torch::Tensor shift_y, shift_x;                  // int64
  torch::Tensor cut_y, cut_x;                      // int64 centres
  int64_t cut_size = 0;
};

AugmentDraw draw_augment(int64_t n, int64_t height, int64_t width, const AugmentPolicy& policy,
                         torch::Generator generator = {});
torch::Tensor apply_augment(const torch::Tensor& images, const AugmentDraw& draw);

}  // namespace faceedit::train
