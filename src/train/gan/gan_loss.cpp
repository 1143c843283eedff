#include "gan_loss.h"

#include <cmath>

#include "faceedit/error.h"
#include "faceedit/train/gan/train_gan.h"

namespace faceedit::train {

namespace F = torch::nn::functional;

io::NamedTensors GanNetworks::tensors() const {
  io::NamedTensors out;
  auto add = [&](const std::string& prefix, const torch::OrderedDict<std::string, torch::Tensor>& ts) {
    for (const auto& t : ts) out.emplace_back(prefix + t.key(), t.value().detach());
  };
  add("G.", g->named_tensors());
  add("D.", d->named_tensors());
  add("G_ema.", g_ema->named_tensors());
  out.emplace_back("pl_mean", pl_mean.detach().reshape({1}));
  return out;
}

void GanNetworks::load(const std::string& file) {
  io::SafetensorsReader reader(file);
  torch::NoGradGuard no_grad;
  for (auto& [name, t] : tensors()) {
    if (!reader.contains(name)) fail(file, "checkpoint lacks " + name);
    auto v = reader.load(name);
    if (v.sizes() != t.sizes()) fail(file, name + " has shape " + c10::str(v.sizes()) + ", expected " + c10::str(t.sizes()));
    t.copy_(v);
  }
}

StyleGAN2Loss::StyleGAN2Loss(GanNetworks& gan, GanLossSettings s, Augment augment)
    : gan_(gan), s_(s), augment_(std::move(augment)) {}

torch::Tensor StyleGAN2Loss::fakes(int64_t n) {
  // W codes with NVIDIA's style mixing: from a random layer on, the codes of a second z. G's
  // running W average follows the first codes (as the mapping does in training).
  const auto z = torch::randn({n, s_.z_dim}, torch::TensorOptions().device(gan_.w_avg.device()));
  auto ws = gan_.g->map(z);
  {
    torch::NoGradGuard no_grad;
    gan_.w_avg.copy_(ws.select(1, 0).detach().mean(0).lerp(gan_.w_avg, 0.995));
  }
  const int64_t num_ws = ws.size(1);
  if (s_.style_mixing > 0 && num_ws > 1) {
    const int64_t cutoff = torch::randint(1, num_ws, {1}, torch::kInt64).item<int64_t>();
    const bool mix = torch::rand({1}).item<double>() < s_.style_mixing;
    if (mix) {
      auto other = gan_.g->map(torch::randn_like(z));
      ws = torch::cat({ws.narrow(1, 0, cutoff), other.narrow(1, cutoff, num_ws - cutoff)}, 1);
    }
  }
  return ws;
}

torch::Tensor StyleGAN2Loss::g_main(int64_t batch) {
  auto fake = gan_.g->synthesize(fakes(batch), models::NoiseMode::Random);
  return F::softplus(-gan_.d->forward(augment_(fake))).mean();
}

torch::Tensor StyleGAN2Loss::g_reg(int64_t batch) {
  auto ws = fakes(batch);
  auto fake = gan_.g->synthesize(ws, models::NoiseMode::Random);
  auto noise = torch::randn_like(fake) / std::sqrt(static_cast<double>(s_.resolution * s_.resolution));
  auto grads = torch::autograd::grad({(fake * noise).sum()}, {ws}, {}, true, true)[0];
  auto lengths = grads.square().sum(2).mean(1).sqrt();
  auto mean = gan_.pl_mean.lerp(lengths.mean(), 0.01);
  gan_.pl_mean.copy_(mean.detach());
  return (lengths - mean).square().mean() * (s_.pl_weight * static_cast<double>(s_.pl_interval));
}

torch::Tensor StyleGAN2Loss::d_main(const torch::Tensor& reals, int64_t batch) {
  torch::Tensor fake;
  {
    torch::NoGradGuard no_grad;
    fake = gan_.g->synthesize(fakes(batch), models::NoiseMode::Random);
  }
  auto on_fakes = F::softplus(gan_.d->forward(augment_(fake))).mean();  // fakes first: the augmentations' draws in order
  return on_fakes + F::softplus(-gan_.d->forward(augment_(reals))).mean();
}

std::pair<torch::Tensor, torch::Tensor> StyleGAN2Loss::d_reg(const torch::Tensor& reals) {
  auto penalty = r1_penalty(*gan_.d, reals, augment_).mean();
  return {penalty * (s_.r1_gamma / 2 * static_cast<double>(s_.r1_interval)), penalty};
}

}  // namespace faceedit::train
