// faceedit — L2M-GAN-style editing (Yang et al., CVPR 2021) in a frozen generator's latent space.
//
// L2M-GAN factorises a face's code into an attribute-relevant part and the rest, and transforms
// only the relevant part. Here, for a code z (Z or W, [N, dim]):
//   r = A z                      attribute-relevant part (A: a learned dim x dim linear projection)
//   u = z - r                    the rest; training keeps r and u orthogonal (orthogonality_loss)
//   r' = r + |d| * D(r, sign d)  the attribute transformer M acts on r only: D is a 2-layer MLP of r
//                                and the direction (+1: towards the attribute, -1: away)
//   z' = u + r' = z + |d| * D(r, sign d)
// d is the Editor's alpha ("degree"); d = 0 returns the input exactly (bit for bit), |d| = 1 is the
// trained edit, larger degrees extrapolate. A linear head on r predicts the attribute (trained on
// the supervision classifier's labels), which is what flip_sign() reads: logit > 0 -> -1.
//
// Training (train/train_editor.h, `faceedit train-editor --method l2m`) runs end to end through the
// frozen generator and our own supervision classifiers (never the judges).
//
//   auto editor = faceedit::edit::load_l2m("l2m_smiling.safetensors");
//   auto edited = editor->edit(z, editor->flip_sign(z));
//
// Thread-safety: the editor is immutable after construction; edit() and flip_sign() may run
// concurrently. L2MNet during training is not for concurrent use.
#pragma once

#include <torch/torch.h>

#include <nlohmann/json.hpp>
#include <string>

#include "faceedit/edit/editor.h"

namespace faceedit::edit {

struct L2MConfig {
  std::string attribute;
  models::LatentSpace space = models::LatentSpace::Z;  // Z or W
  int64_t latent_dim = 0;
  int64_t hidden = 256;     // width of the transformer MLP
  nlohmann::json to_json() const;
  static L2MConfig from_json(const nlohmann::json& j, const std::string& what_for_errors);
};

class L2MNetImpl : public torch::nn::Module {
 public:
  explicit L2MNetImpl(L2MConfig config);
  struct Parts {
    torch::Tensor relevant, rest;  // r, u = z - r
  };
  Parts factorise(const torch::Tensor& latents);
  // D(r, sign): [N, dim]; sign [N] of +-1.
  torch::Tensor transform_delta(const torch::Tensor& relevant, const torch::Tensor& sign);
  // z + |degree| * D(r, sign degree); rows with degree 0 are the input itself. degree: [N].
  torch::Tensor forward(const torch::Tensor& latents, const torch::Tensor& degree);
  // Attribute logit from r, [N].
  torch::Tensor attribute_logit(const torch::Tensor& latents);
  const L2MConfig& config() const { return config_; }

  torch::nn::Linear projection{nullptr}, transform1{nullptr}, transform2{nullptr}, head{nullptr};

 private:
  void check_shape(const torch::Tensor& latents) const;
  L2MConfig config_;
};
TORCH_MODULE(L2MNet);

// mean over rows of cos(r_i, u_i)^2: 0 when every pair is orthogonal, 1 when parallel. Rows where
// either vector is ~0 count as orthogonal.
torch::Tensor orthogonality_loss(const torch::Tensor& relevant, const torch::Tensor& rest);

class L2MEditor : public Editor {
 public:
  explicit L2MEditor(L2MNet net, std::string source = "");
  std::string method() const override { return "l2m"; }
  std::string attribute() const override { return net_->config().attribute; }
  models::LatentSpace space() const override { return net_->config().space; }
  torch::Tensor edit(const torch::Tensor& latents, const torch::Tensor& alpha) const override;
  torch::Tensor flip_sign(const torch::Tensor& latents) const override;
  nlohmann::json describe() const override;
  const L2MNet& net() const { return net_; }
  // Moves the network (to the generator's device: latents and network must share one).
  void to(torch::Device device) override;
  // Writes the net (arch "l2m-latent"); atomic.
  void save(const std::string& path, const nlohmann::json& training_report = {}) const override;

 private:
  L2MNet net_;
  std::string source_;
};

// Errors name the file (missing, not an L2M editor, wrong shapes).
std::unique_ptr<L2MEditor> load_l2m(const std::string& path);

}  // namespace faceedit::edit
