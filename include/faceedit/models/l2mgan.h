// faceedit — L2M-GAN (Yang et al., CVPR 2021, "L2M-GAN: Learning to Manipulate Latent Space Semantics
// for Facial Attribute Editing"): an end-to-end image editor, no generator inversion. Our 64-px
// build of the networks the authors release (rucmlcv/L2M-GAN core/model.py, StarGAN v2's design):
//
//   Generator      encoder: conv3x3, residual blocks with instance norm that halve the size
//                  (`downs` of them) and `bottleneck` blocks; decoder: the mirror image with AdaIN
//                  residual blocks (nearest upsampling) driven by a style code; to_rgb.
//   StyleEncoder   conv3x3, residual blocks down to 4x4, conv4x4, one linear head: the style s.
//                  Per attribute a: T1_a (3-layer MLP) gives the attribute-irrelevant part
//                  s1 = T1_a(s), the relevant part is s2 = s - s1 (trained orthogonal to s1), and
//                  T2_{a,v} (3-layer MLP per target value v in {0, 1}) maps s2 into domain v.
//   Discriminator  conv3x3, residual blocks down to 4x4, conv4x4, one logit per domain (a, v):
//                  column 2a + v (the authors' per-domain outputs, one pair per attribute).
//
// The relevant part comes in two forms (config.relevant):
//   "learned"   the paper's: T1_a and T2_{a,v} are MLPs trained through the decoder by the image-space
//               losses (adversarial, attribute critic, cycle, orthogonality).
//   "labelled"  the last A coordinates of s are the attributes' codes: the style head's logit l_a,
//               read as c_a = 2 sigmoid(l_a) - 1; s2 holds attribute a's coordinate, s1 = s - s2
//               (orthogonal by construction), and T2_{a,v}(s2) sets that coordinate to the domain's
//               code 2v - 1. The trainer decodes reconstructions from the labels' codes and makes the
//               content map and s1 blind to the attributes with a latent adversary (Fader Networks,
//               Lample et al. 2017), so the decoder has to draw the attribute from its code: no
//               image-space critic is in play to be fooled by patterns (what every "learned" run here
//               measured; docs/l2mgan.md).
//
// Editing attribute a with strength t (t > 0 towards the attribute, t < 0 away from it, v = t > 0):
//   s(t) = s + |t| (T2_{a,v}(s2) - s2)      (t = 1: s1 + T2(s2), the paper's edit; t = 0: s)
//   edit = decode(encode(x), s(t)),  reconstruction = decode(encode(x), s)
// The authors keep one style head per source domain; with several attributes a face belongs to a
// domain per attribute, so ours has one shared head and the domains live in T1/T2 and D.
//
//   auto m = faceedit::models::L2MGan::load("models/l2mgan-celebahq64.safetensors");
//   auto [rec, edit] = m->edit(images, "smiling", 1.0);   // NCHW RGB [-1, 1] at config.resolution
//
// Files: safetensors (arch "l2mgan", config in "faceedit.config", training report in
// "faceedit.training"); tensors "generator.*" and "style.*" (the discriminator stays in checkpoints).
// Thread-safety: forward passes only, as other models.
#pragma once

#include <torch/torch.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

namespace faceedit::models {

struct L2MGanConfig {
  int64_t resolution = 64;
  int64_t width = 32, max_width = 128;   // generator: channels width * 2^i, at most max_width
  int64_t downs = 3;                     // generator's halvings (64 px -> 8x8 content)
  int64_t bottleneck = 1;                // residual blocks at the content size, each side
  int64_t style_width = 16, style_max_width = 128;  // style encoder and discriminator channels
  int64_t style_dim = 64;
  std::vector<std::string> attributes = {"smiling"};  // canonical names (the guide's columns)
  std::string relevant = "learned";      // "learned" | "labelled" (above)

  nlohmann::json to_json() const;
  static L2MGanConfig from_json(const nlohmann::json& j, const std::string& what_for_errors);
  void validate(const std::string& what_for_errors) const;
  int64_t domains() const { return 2 * static_cast<int64_t>(attributes.size()); }
  bool labelled() const { return relevant == "labelled"; }
};

// StarGAN v2's residual block: [IN] LReLU conv3x3(in, in) [avgpool] [IN] LReLU conv3x3(in, out), plus
// the shortcut (conv1x1 when in != out, avgpool), summed and divided by sqrt(2).
class L2MResBlockImpl : public torch::nn::Module {
 public:
  L2MResBlockImpl(int64_t in, int64_t out, bool normalize, bool downsample);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  bool normalize_, downsample_, learned_shortcut_;
  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr}, conv1x1{nullptr};
  torch::nn::InstanceNorm2d norm1{nullptr}, norm2{nullptr};
};
TORCH_MODULE(L2MResBlock);

// AdaIN: (1 + gamma(s)) * IN(x) + beta(s), gamma and beta from one linear layer.
class AdaINImpl : public torch::nn::Module {
 public:
  AdaINImpl(int64_t style_dim, int64_t channels);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& s);

 private:
  torch::nn::Linear fc{nullptr};
  int64_t channels_;
};
TORCH_MODULE(AdaIN);

// AdaIN residual block: AdaIN LReLU [up x2] conv3x3(in, out) AdaIN LReLU conv3x3(out, out), plus the
// shortcut ([up x2], conv1x1 when in != out), divided by sqrt(2).
class AdaINResBlockImpl : public torch::nn::Module {
 public:
  AdaINResBlockImpl(int64_t in, int64_t out, int64_t style_dim, bool upsample);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& s);

 private:
  bool upsample_, learned_shortcut_;
  AdaIN norm1{nullptr}, norm2{nullptr};
  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr}, conv1x1{nullptr};
};
TORCH_MODULE(AdaINResBlock);

class L2MGeneratorImpl : public torch::nn::Module {
 public:
  explicit L2MGeneratorImpl(const L2MGanConfig& config);
  torch::Tensor encode(const torch::Tensor& x);                      // images -> content
  torch::Tensor decode(const torch::Tensor& content, const torch::Tensor& s);  // -> images (unclamped)

 private:
  torch::nn::Conv2d from_rgb{nullptr}, to_rgb_conv{nullptr};
  torch::nn::InstanceNorm2d to_rgb_norm{nullptr};
  torch::nn::ModuleList encoder{nullptr}, decoder{nullptr};
};
TORCH_MODULE(L2MGenerator);

// The style code and its factorisation for a batch whose rows may edit different attributes.
struct L2MStyles {
  torch::Tensor s, s1, s2;  // [N, style_dim]: s1 = T1_a(s), s2 = s - s1
};

class L2MStyleEncoderImpl : public torch::nn::Module {
 public:
  explicit L2MStyleEncoderImpl(const L2MGanConfig& config);
  torch::Tensor forward(const torch::Tensor& x);  // images -> s [N, style_dim]
  // The head's raw output: for "labelled" its last A coordinates are the attributes' logits
  // (forward() returns them as codes 2 sigmoid(l) - 1); for "learned" the same as forward().
  torch::Tensor raw(const torch::Tensor& x);
  // "labelled": the style with the attributes' coordinates replaced by codes [N, A] in [-1, 1].
  torch::Tensor with_codes(const torch::Tensor& s, const torch::Tensor& codes) const;
  // attribute: [N] int64 indices into config.attributes (one per row).
  L2MStyles factorise(const torch::Tensor& s, const torch::Tensor& attribute);
  // T2_{a,v}(s2) per row: attribute and target value [N] int64.
  torch::Tensor transform(const torch::Tensor& s2, const torch::Tensor& attribute, const torch::Tensor& target);

  torch::nn::Sequential shared{nullptr};
  torch::nn::Linear head{nullptr};
  torch::nn::ModuleList t1{nullptr}, t2{nullptr};  // t1[a], t2[2a + v] ("learned" only)

 private:
  bool labelled_;
  int64_t style_dim_, attributes_;
};
TORCH_MODULE(L2MStyleEncoder);

class L2MDiscriminatorImpl : public torch::nn::Module {
 public:
  explicit L2MDiscriminatorImpl(const L2MGanConfig& config);
  // [N, domains + A] logits: column 2a + v is real-vs-edited for domain (a, v) (the authors'
  // per-domain outputs); column domains + a classifies attribute a (trained on real labels only,
  // StarGAN's auxiliary classifier: a critic that keeps learning, which a fixed network is not).
  torch::Tensor forward(const torch::Tensor& x);

 private:
  torch::nn::Sequential main{nullptr};
};
TORCH_MODULE(L2MDiscriminator);

// Orthogonality of the two parts: mean over rows of cos^2(s1, s2) (0 when orthogonal; eps keeps
// zero rows finite).
torch::Tensor l2m_orthogonality_loss(const torch::Tensor& s1, const torch::Tensor& s2, double eps = 1e-8);

// The edited style s(t) = s + |t| (T2_{a,v}(s2) - s2) given the factorised parts and T2's output.
torch::Tensor l2m_edited_style(const L2MStyles& styles, const torch::Tensor& transformed, const torch::Tensor& strength);

// The editor: generator + style encoder (what a model file holds).
class L2MGan : public torch::nn::Module {
 public:
  explicit L2MGan(L2MGanConfig config, uint64_t seed = 0);
  static std::unique_ptr<L2MGan> load(const std::string& path);
  // half: float16 weights (half the size; loading widens them back).
  void save(const std::string& path, const nlohmann::json& training_report = {}, bool half = false) const;

  const L2MGanConfig& config() const { return config_; }
  // Index of an attribute (canonical_attribute() applies); an Error listing the trained ones otherwise.
  int64_t attribute_index(const std::string& name) const;
  // {reconstruction, edit} of images at config.resolution (NCHW RGB [-1, 1]); strength as above.
  std::pair<torch::Tensor, torch::Tensor> edit(const torch::Tensor& images, const std::string& attribute, double strength);
  // Per-row attribute/target/strength ([N] tensors; strength >= 0, float): the training form.
  torch::Tensor edited_style(const torch::Tensor& s, const torch::Tensor& attribute, const torch::Tensor& target,
                             const torch::Tensor& strength, L2MStyles* parts = nullptr);

  L2MGenerator generator{nullptr};
  L2MStyleEncoder style{nullptr};

 private:
  L2MGanConfig config_;
};

}  // namespace faceedit::models
