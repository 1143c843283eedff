#include "faceedit/models/generator.h"

#include <atomic>

#include "faceedit/error.h"
#include "faceedit/io/safetensors.h"
#include "faceedit/models/dcgan.h"
#include "faceedit/models/stylegan2.h"
#include "faceedit/models/stylegan3.h"

namespace faceedit::models {

LatentSpace parse_latent_space(const std::string& s) {
  if (s == "z") return LatentSpace::Z;
  if (s == "w") return LatentSpace::W;
  if (s == "wplus" || s == "w+") return LatentSpace::WPlus;
  fail("latent space '" + s + "'", "unknown (use z, w or wplus)");
}

std::string to_string(LatentSpace s) {
  switch (s) {
    case LatentSpace::Z: return "z";
    case LatentSpace::W: return "w";
    default: return "wplus";
  }
}

std::optional<LatentSpace> parse_optional_latent_space(const std::string& s) {
  if (s.empty()) return std::nullopt;
  return parse_latent_space(s);
}

LatentSpace latent_space_from_json(const nlohmann::json& j, const std::string& what) {
  const std::string s = j.is_string() ? j.get<std::string>() : j.dump();
  if (s != "z" && s != "w" && s != "wplus") fail(what, "latent space '" + s + "' is not z, w or wplus");
  return parse_latent_space(s);
}

NoiseMode parse_noise_mode(const std::string& s) {
  if (s == "const") return NoiseMode::Const;
  if (s == "random") return NoiseMode::Random;
  if (s == "none") return NoiseMode::None;
  fail("noise mode '" + s + "'", "unknown (use const, random or none)");
}

Precision parse_precision(const std::string& s) {
  if (s == "fp32") return Precision::Float32;
  if (s == "bf16") return Precision::BFloat16;
  if (s == "fp16") return Precision::Float16;
  fail("precision '" + s + "'", "unknown (use fp32, bf16 or fp16)");
}

std::string to_string(Precision p) {
  switch (p) {
    case Precision::Float32: return "fp32";
    case Precision::BFloat16: return "bf16";
    case Precision::Float16: return "fp16";
  }
  return "?";
}

void Generator::set_precision(Precision p) {
  if (p != Precision::Float32) fail(arch() + " generator", "runs fp32 only (--precision " + to_string(p) + ")");
}

torch::Tensor Generator::truncate(const torch::Tensor& w, double, int) const { return w; }

void Generator::check_latents(const torch::Tensor& latents, LatentSpace space, const std::string& what) const {
  if (!has_space(space)) fail(what, "this " + arch() + " model has no " + to_string(space) + " space (it has z only)");
  std::vector<int64_t> want;
  if (space == LatentSpace::Z) want = {-1, z_dim()};
  if (space == LatentSpace::W) want = {-1, w_dim()};
  if (space == LatentSpace::WPlus) want = {-1, num_ws(), w_dim()};
  bool ok = latents.dim() == static_cast<int64_t>(want.size()) && latents.size(0) > 0;
  for (size_t i = 1; ok && i < want.size(); ++i) ok = latents.size(static_cast<int64_t>(i)) == want[i];
  if (!ok) {
    want[0] = 0;
    std::string shape = "[N";
    for (size_t i = 1; i < want.size(); ++i) shape += ", " + std::to_string(want[i]);
    fail(what, "latents of shape " + c10::str(latents.sizes()) + " do not fit the " + to_string(space) +
                   " space of this model, which needs " + shape + "] with N >= 1");
  }
  if (!torch::isfinite(latents).all().item<bool>()) fail(what, "latents contain NaN or infinite values");
}

torch::Tensor Generator::to_synthesis_codes(const torch::Tensor& latents, LatentSpace from, double psi, int cutoff) const {
  switch (from) {
    case LatentSpace::Z: return map(latents, psi, cutoff);
    case LatentSpace::W: return truncate(latents.unsqueeze(1).repeat({1, num_ws(), 1}), psi, cutoff);
    default: return truncate(latents, psi, cutoff);
  }
}

torch::Tensor Generator::codes_from_z(const torch::Tensor& z, LatentSpace space, double psi) const {
  if (space == LatentSpace::Z) return z;
  auto wplus = map(z, psi);
  return space == LatentSpace::W ? wplus.select(1, 0).contiguous() : wplus;
}

torch::Tensor Generator::sample_codes(int64_t n, uint64_t seed, LatentSpace space, double psi) const {
  torch::NoGradGuard no_grad;
  return codes_from_z(sample_z(n, seed), space, psi);
}

torch::Tensor Generator::generate(const torch::Tensor& latents, LatentSpace space, double psi, NoiseMode noise,
                                  int cutoff) const {
  return synthesize(to_synthesis_codes(latents.to(device()), space, psi, cutoff), noise);
}

std::unique_ptr<Generator> Generator::clone_via(const std::function<std::unique_ptr<Generator>()>& make) const {
  auto global = at::detail::getDefaultCPUGenerator();
  torch::Tensor state;
  {
    std::lock_guard<std::mutex> lock(global.mutex());
    state = global.get_state();
  }
  auto copy = make();
  {
    std::lock_guard<std::mutex> lock(global.mutex());
    global.set_state(state);
  }
  torch::NoGradGuard no_grad;
  const auto from = named_tensors();
  if (!from.is_empty()) copy->to(device(), from.begin()->value().scalar_type());
  auto dst = copy->named_tensors();
  if (from.size() != dst.size()) fail(arch() + " clone", "tensor count differs");
  for (const auto& t : from) {
    auto* d = dst.find(t.key());
    if (!d || d->sizes() != t.value().sizes()) fail(arch() + " clone", "tensor " + t.key() + " does not fit");
    d->copy_(t.value());
  }
  if (precision() != Precision::Float32) copy->set_precision(precision());
  return copy;
}

int64_t Generator::parameter_count() const {
  int64_t n = 0;
  for (const auto& p : parameters()) n += p.numel();
  return n;
}

std::unique_ptr<Generator> load_generator(const std::string& path, torch::Device device) {
  std::string arch;
  {
    io::SafetensorsReader file(path);
    auto it = file.metadata().find("faceedit.arch");
    if (it == file.metadata().end())
      fail(path, "no 'faceedit.arch' in the safetensors metadata: not a faceedit model (convert third-party "
                 "checkpoints with `faceedit convert`)");
    arch = it->second;
  }
  std::unique_ptr<Generator> g;
  if (arch == "stylegan2") g = StyleGAN2::load(path, device);
  if (arch == "stylegan3") g = StyleGAN3::load(path, device);
  if (arch == "dcgan") g = DCGAN::load(path, device);
  if (!g) fail(path, "unknown model architecture '" + arch + "'");
  if (default_precision() != Precision::Float32) g->set_precision(default_precision());
  return g;
}

namespace {
std::atomic<Precision> g_default_precision{Precision::Float32};
}  // namespace

void set_default_precision(Precision p) { g_default_precision = p; }
Precision default_precision() { return g_default_precision; }

bool cpu_has_bf16() {
#if defined(__x86_64__) && defined(__GNUC__)
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512bf16");
#else
  return false;
#endif
}

}  // namespace faceedit::models
