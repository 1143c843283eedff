// faceedit — pixel2style2pixel (pSp) and encoder4editing (e4e) encoders, as their models/psp.py
// computes them: an IR-SE backbone (3x3 stem + BatchNorm + PReLU, bottleneck_IR_SE units with
// squeeze-excitation), a feature pyramid (c3, p2 = up(c3) + latlayer1(c2), p1 = up(p2) +
// latlayer2(c1), bilinear with align_corners), and one GradualStyleBlock per W+ row (stride-2 3x3
// convolutions with LeakyReLU(0.01) down to 1x1, then an equalised linear layer).
//   pSp: row i = head_i(its level);  e4e: every row = head_0(c3), rows i >= 1 add head_i(level).
// Then + latent_avg (start_from_latent_avg). Tensor names are the checkpoint's without `encoder.`.
//
// Files: `faceedit convert --network E ckpt.pt enc.safetensors` (or any `--encoder ckpt.pt`, which
// converts into the model cache): widths, units, strides and heads come from the tensors
// (tools/faceedit_tools/psp.py says how), so shrunk or widened variants load as they are.
//
//   auto enc = faceedit::models::PspEncoder::load("e4e_ffhq_encode.safetensors");
//   auto wplus = enc->encode(images);   // [N, 3, 256, 256] in [-1, 1] -> [N, n_styles, w_dim]
//
// Thread-safety: immutable after load; encode() may run concurrently (no autograd state kept).
#pragma once

#include <torch/torch.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace faceedit::models {

struct PspEncoderConfig {
  struct Unit {
    int64_t in = 0, depth = 0, stride = 1, se_hidden = 1;
  };
  std::string kind = "psp";  // "psp" or "e4e"
  int64_t input_size = 256, input_channels = 3, stem = 64;
  std::vector<Unit> units;
  std::vector<int64_t> taps;        // body units whose outputs are c1, c2, c3
  int64_t fpn_width = 512;          // latlayer outputs = the heads' input width
  std::vector<int64_t> head_convs;  // stride-2 convolutions per style head
  int64_t coarse = 3, middle = 7;   // heads [0, coarse) read c3, [coarse, middle) p2, the rest p1
  int64_t n_styles = 18, w_dim = 512;
  static PspEncoderConfig from_json(const nlohmann::json& j, const std::string& where);
  nlohmann::json to_json() const;
};

class PspEncoder {
 public:
  static std::unique_ptr<PspEncoder> load(const std::string& path, torch::Device device = torch::kCPU);
  ~PspEncoder();
  // images [N, C, S, S] (S = input_size) in [-1, 1] -> W+ codes [N, n_styles, w_dim], latent_avg added.
  torch::Tensor encode(const torch::Tensor& images) const;
  // The codes before latent_avg is added (the official `net.encoder(x)`).
  torch::Tensor encode_raw(const torch::Tensor& images) const;
  const PspEncoderConfig& config() const;
  torch::Tensor latent_avg() const;  // [n_styles, w_dim]
  void to(torch::Device device);
  torch::Device device() const;

 private:
  PspEncoder();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace faceedit::models
