// faceedit — the Generator interface: every GAN behind one API.
//
// Latent spaces:
//   Z      the input noise, [N, z_dim]
//   W      StyleGAN's intermediate space, [N, w_dim] (one code used by every layer)
//   WPlus  one W code per synthesis layer, [N, num_ws, w_dim]
// Models without a mapping network (the DCGAN) have Z only.
//
// Everything is differentiable: map() and synthesize() are built from LibTorch ops with autograd,
// so callers can optimise latents (inversion, walks) or fine-tune parameters() (personalization).
// Inference without gradients (torch::NoGradGuard) takes faster fused kernels.
//
// Thread-safety: a Generator holds no per-call state; concurrent calls are safe as long as nobody
// modifies its parameters meanwhile.
//
//   auto g = faceedit::models::load_generator("stylegan2.safetensors");
//   torch::NoGradGuard no_grad;
//   auto z = g->sample_z(4, /*seed=*/0);
//   auto ws = g->map(z, /*truncation_psi=*/0.7);
//   auto img = g->synthesize(ws, faceedit::models::NoiseMode::Const);   // [4, 3, R, R] in ~[-1, 1]
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "faceedit/models/latent_space.h"

namespace faceedit::models {

enum class NoiseMode { Const, Random, None };
// The synthesis convolutions' arithmetic without autograd (see Generator::set_precision).
enum class Precision { Float32, BFloat16, Float16 };

NoiseMode parse_noise_mode(const std::string& s);  // "const", "random", "none"
Precision parse_precision(const std::string& s);   // "fp32", "bf16", "fp16"
std::string to_string(Precision p);

class Generator {
 public:
  virtual ~Generator() = default;

  virtual std::string arch() const = 0;  // "stylegan2", "dcgan"
  virtual int64_t z_dim() const = 0;
  virtual int64_t w_dim() const { return 0; }   // 0 when the model has no W space
  virtual int64_t num_ws() const { return 0; }  // number of W+ codes
  virtual int64_t resolution() const = 0;
  virtual int64_t img_channels() const { return 3; }
  bool has_space(LatentSpace s) const { return s == LatentSpace::Z || w_dim() > 0; }
  // Where photos are inverted and edited unless told otherwise: W+ where the model has it, else Z.
  LatentSpace inversion_space() const { return has_space(LatentSpace::WPlus) ? LatentSpace::WPlus : LatentSpace::Z; }

  // Latents exactly as the original code draws them for a seed: numpy.random.RandomState(seed)
  // .randn(n, z_dim) for StyleGAN2 (so seeds match NVIDIA's generate.py), .uniform(-1, 1) for the
  // DCGAN. Returns [n, z_dim] float32 on the model's device.
  virtual torch::Tensor sample_z(int64_t n, uint64_t seed) const = 0;

  // Z -> W+ [N, num_ws, w_dim] with truncation towards the average W (psi = 1: none) applied to
  // the first `cutoff` codes (cutoff < 0: all). Models without W return z unchanged.
  virtual torch::Tensor map(const torch::Tensor& z, double truncation_psi = 1.0, int cutoff = -1) const = 0;

  // Truncation of W or W+ codes towards the average W (identity for psi = 1).
  virtual torch::Tensor truncate(const torch::Tensor& w, double truncation_psi, int cutoff = -1) const;

  // The synthesis network's input codes: W+ for StyleGAN2, Z for the DCGAN -> NCHW images,
  // float32, unclamped (about [-1, 1]).
  virtual torch::Tensor synthesize(const torch::Tensor& codes, NoiseMode noise = NoiseMode::Const) const = 0;
  // Early exit for scoring: the image at the first resolution >= min_size the network can stop at,
  // and that resolution. StyleGAN2 (skip architecture) returns the running RGB skip image after the
  // first block whose output is at least min_size: the final image without the finer blocks'
  // details, and a fraction of the cost (at 1024 px, 64 px is ~1% of the synthesis). Networks with
  // no intermediate image (StyleGAN3: its layers carry features, the only RGB is the last layer's
  // output; the DCGAN) synthesise the full image. Scorers resize to their input anyway.
  virtual torch::Tensor synthesize_preview(const torch::Tensor& codes, int64_t min_size,
                                           NoiseMode noise = NoiseMode::Const) const {
    (void)min_size;
    return synthesize(codes, noise);
  }
  virtual int64_t preview_resolution(int64_t min_size) const {
    (void)min_size;
    return resolution();
  }
  // Whether synthesis for images of `min_size` px (<= 0: full size) stops before the last layers:
  // what the samples manifest, fit.json and calibration record as "synthesis_resolution".
  bool stops_early(int64_t min_size) const { return min_size > 0 && preview_resolution(min_size) < resolution(); }

  // Any space -> images: z is mapped (with truncation), w broadcast to W+ (with truncation), W+
  // truncated per code. Checks the latent's shape and throws faceedit::Error if it is wrong.
  torch::Tensor generate(const torch::Tensor& latents, LatentSpace space, double truncation_psi = 1.0,
                         NoiseMode noise = NoiseMode::Const, int cutoff = -1) const;

  // z [N, z_dim] -> codes of `space`: Z unchanged, W/W+ through map() with the truncation. This is
  // the one place where truncation meets sampled codes: it applies when Z is mapped, so W/W+ codes
  // are already truncated and Z codes carry it to generate() (`truncation_for(space, psi)`).
  torch::Tensor codes_from_z(const torch::Tensor& z, LatentSpace space, double truncation_psi = 1.0) const;
  // n codes of `space` from seed's z (numpy's stream), no gradients: held-out faces of evaluations
  // and training.
  torch::Tensor sample_codes(int64_t n, uint64_t seed, LatentSpace space, double truncation_psi = 1.0) const;
  // The truncation generate() must use for codes of `space` made by codes_from_z(..., psi).
  static double truncation_for(LatentSpace space, double psi) { return space == LatentSpace::Z ? psi : 1.0; }
  // How this model's training faces were framed relative to FFHQ's alignment crop: crop side = FFHQ's
  // quad side * zoom, moved `shift` of its side towards the chin (face::reframe_quad).
  struct Framing {
    double zoom = 1.0, shift = 0.0;
  };
  virtual Framing face_framing() const { return {}; }
  // True when Z's prior is the box U(-1, 1) (the DCGAN) rather than N(0, I): inversions and walks
  // in Z clamp to it.
  virtual bool z_is_box() const { return false; }
  // Converts latents of `from` into the synthesis input (W+ or Z).
  torch::Tensor to_synthesis_codes(const torch::Tensor& latents, LatentSpace from, double truncation_psi = 1.0,
                                   int cutoff = -1) const;

  // Throws faceedit::Error("<what>: ...") unless `latents` has the shape of `space`.
  void check_latents(const torch::Tensor& latents, LatentSpace space, const std::string& what) const;

  // The tensors fine-tuning trains (personalization): every learnable weight, bias and scale.
  virtual std::vector<torch::Tensor> parameters() const = 0;
  // A deep copy (same weights, device, dtype and precision): what a photo session personalizes,
  // so the generator it was given, shared with other sessions, never changes.
  virtual std::unique_ptr<Generator> clone() const = 0;
  // Parameters and buffers under their checkpoint names (weight deltas are keyed by these).
  virtual torch::OrderedDict<std::string, torch::Tensor> named_tensors() const = 0;
  // Moves parameters (float64 is for gradient checks; inference runs float32).
  virtual void to(torch::Device device, torch::ScalarType dtype = torch::kFloat32) = 0;
  // Opt-in reduced precision for inference (synthesis without autograd): the convolutions run in
  // bf16 (CPU: oneDNN, fast on CPUs with avx512_bf16; CUDA) or fp16 (CUDA only), everything else
  // (mapping, modulation, activations, FIR) in fp32; gradients are always fp32. Throws
  // faceedit::Error for what the model or device cannot do (the DCGAN runs fp32 only).
  virtual void set_precision(Precision p);
  virtual Precision precision() const { return Precision::Float32; }
  virtual torch::Device device() const = 0;

  // Multiply-accumulate count x 2 of one image's synthesis (convolutions and dense layers as the
  // reference algorithm executes them), in GFLOP.
  virtual double synthesis_gflop() const = 0;

  // Config as JSON (what `faceedit info` prints).
  virtual nlohmann::json config() const = 0;
  int64_t parameter_count() const;

 protected:
  // clone()'s common part: `make` builds a generator of the same config (its constructor may seed
  // torch's global generator for a random init: the caller's random stream is kept), which then
  // gets this one's device, dtype, precision and every named tensor.
  std::unique_ptr<Generator> clone_via(const std::function<std::unique_ptr<Generator>()>& make) const;
};

// The precision load_generator() sets on every generator it loads (the CLI's --precision); fp32
// unless changed. True when the CPU has avx512_bf16 (where bf16 convolutions beat fp32).
void set_default_precision(Precision p);
Precision default_precision();
bool cpu_has_bf16();

// Loads a generator from a faceedit safetensors file (arch in __metadata__ "faceedit.arch").
// Third-party checkpoints (.pkl, .pt) are converted first: see model_files.h.
std::unique_ptr<Generator> load_generator(const std::string& path, torch::Device device = torch::kCPU);

}  // namespace faceedit::models
