#include "faceedit/train/gan/train_gan.h"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <algorithm>

#include "faceedit/models/weights.h"
#include "faceedit/error.h"
#include "faceedit/io/safetensors.h"
#include "faceedit/progress.h"
#include "faceedit/runtime.h"
#include "faceedit/train/checkpoint.h"
#include "faceedit/train/gan/gan_augment.h"
#include "gan_loss.h"

namespace faceedit::train {

namespace F = torch::nn::functional;
using models::StyleGAN2;
using models::StyleGAN2Discriminator;

TrainGanParams train_gan_default_params(int64_t resolution, int64_t channel_base, int64_t channel_max, int64_t w_dim) {
  TrainGanParams p;
  p.resolution = resolution;
  p.generator.img_resolution = p.discriminator.img_resolution = resolution;
  p.generator.z_dim = p.generator.w_dim = w_dim;
  p.generator.mapping_layers = 2;
  p.generator.channel_base = p.discriminator.channel_base = channel_base;
  p.generator.channel_max = p.discriminator.channel_max = channel_max;
  p.generator.conv_clamp = p.discriminator.conv_clamp = 256;
  return p;
}

// ---------------------------------------------------------------------------------------------
// Data

torch::Tensor read_packed_images(const std::string& path) {
  io::SafetensorsReader file(path);
  if (!file.contains("images")) fail(path, "holds no tensor named 'images'");
  auto images = file.load("images");
  if (images.scalar_type() != torch::kUInt8 || images.dim() != 4)
    fail(path, "'images' must be uint8 [N, C, H, W], got " + c10::str(images.scalar_type(), " ", images.sizes()));
  return images;
}

torch::Tensor box_downsample(const torch::Tensor& images, int64_t resolution, const std::string& what) {
  if (images.size(0) < 2) fail(what, "holds fewer than 2 images");
  const int64_t h = images.size(2), w = images.size(3);
  if (h != w) fail(what, "images are " + std::to_string(h) + "x" + std::to_string(w) + ", not square");
  if (h < resolution || h % resolution != 0)
    fail(what, "images of " + std::to_string(h) + " px cannot be box-downsampled to " + std::to_string(resolution) +
                   " px (needs a divisor of their size)");
  if (h == resolution) return images.contiguous();
  // Box filter (area average) in chunks, back to uint8: the dataset stays small in memory.
  std::vector<torch::Tensor> parts;
  for (int64_t i = 0; i < images.size(0); i += 1024) {
    auto chunk = images.narrow(0, i, std::min<int64_t>(1024, images.size(0) - i)).to(torch::kFloat32);
    parts.push_back(F::avg_pool2d(chunk, F::AvgPool2dFuncOptions(h / resolution)).round().clamp(0, 255).to(torch::kUInt8));
  }
  return torch::cat(parts);
}

torch::Tensor r1_penalty(const StyleGAN2Discriminator& d, const torch::Tensor& reals,
                         const std::function<torch::Tensor(const torch::Tensor&)>& augment) {
  auto x = reals.detach().requires_grad_(true);
  auto logits = d.forward(augment ? augment(x) : x);
  auto grad = torch::autograd::grad({logits.sum()}, {x}, {}, /*retain_graph=*/true, /*create_graph=*/true)[0];
  return grad.square().sum({1, 2, 3});
}

namespace {

// ---------------------------------------------------------------------------------------------
// Parameters and state

struct Resolved {
  TrainGanParams p;
  AugmentPolicy augment;
  int64_t steps = 0;
};

Resolved resolve(const TrainGanParams& in, int64_t image_channels) {
  Resolved r{in, AugmentPolicy::parse(in.augment), 0};
  auto& p = r.p;
  if (p.resolution < 8 || p.resolution > 1024 || (p.resolution & (p.resolution - 1)))
    fail("resolution " + std::to_string(p.resolution), "must be a power of two in 8..1024");
  if (p.batch < 2 || p.batch > 4096) fail("batch " + std::to_string(p.batch), "must be in 2..4096");
  const int64_t group = std::min(p.discriminator.mbstd_group_size, p.batch);
  if (p.batch % group != 0)
    fail("batch " + std::to_string(p.batch), "must be a multiple of the minibatch-stddev group size " + std::to_string(group));
  if (!(p.kimg > 0) || p.kimg > 1e6) fail("kimg " + std::to_string(p.kimg), "must be in (0, 1e6]");
  if (!(p.g_lr > 0) || !(p.d_lr > 0) || p.g_lr > 1 || p.d_lr > 1) fail("learning rates", "must be in (0, 1]");
  if (p.r1_interval < 1 || p.pl_interval < 1) fail("regularisation intervals", "must be >= 1");
  if (p.pl_weight < 0 || !(p.style_mixing >= 0 && p.style_mixing <= 1) || p.ema_rampup < 0)
    fail("train-gan", "pl_weight and ema_rampup must be >= 0, style_mixing in [0, 1]");
  if (p.checkpoint_every < 0 || !(p.snapshot_kimg > 0)) fail("train-gan", "checkpoint_every must be >= 0, snapshot_kimg > 0");
  if (p.r1_gamma < 0) p.r1_gamma = 0.0002 * static_cast<double>(p.resolution * p.resolution) / static_cast<double>(p.batch);
  if (p.ema_kimg < 0) p.ema_kimg = static_cast<double>(p.batch) * 10.0 / 32.0;
  p.generator.img_resolution = p.discriminator.img_resolution = p.resolution;
  p.generator.img_channels = p.discriminator.img_channels = image_channels;
  p.generator.validate("generator config");
  p.discriminator.validate("discriminator config");
  r.steps = static_cast<int64_t>(std::ceil(p.kimg * 1000.0 / static_cast<double>(p.batch)));
  return r;
}

// The settings a checkpoint must share to be continued (kimg may grow; snapshots may change).
nlohmann::json fingerprint(const Resolved& r, const torch::Tensor& images) {
  const auto& p = r.p;
  return {{"generator", p.generator.to_json()}, {"discriminator", p.discriminator.to_json()},
          {"images", images.size(0)},          {"data", std::filesystem::path(p.data).filename().string()},
          {"batch", p.batch},                  {"g_lr", p.g_lr},
          {"d_lr", p.d_lr},                    {"r1_gamma", p.r1_gamma},
          {"r1_interval", p.r1_interval},      {"pl_weight", p.pl_weight},
          {"pl_interval", p.pl_interval},      {"style_mixing", p.style_mixing},
          {"augment", r.augment.str()},        {"ema_kimg", p.ema_kimg},
          {"ema_rampup", p.ema_rampup},        {"mirror", p.mirror},
          {"seed", p.seed},                    {"device", p.device.str()},
          {"init", {std::filesystem::path(p.init_generator).filename().string(),
                    std::filesystem::path(p.init_generator_ema).filename().string(),
                    std::filesystem::path(p.init_discriminator).filename().string()}}};
}

// Adam with NVIDIA's lazy-regularisation correction of lr and betas (interval 0: no regulariser).
std::unique_ptr<torch::optim::Adam> make_adam(const std::vector<torch::Tensor>& params, double lr, int64_t interval) {
  const double ratio = interval > 0 ? static_cast<double>(interval) / static_cast<double>(interval + 1) : 1.0;
  return std::make_unique<torch::optim::Adam>(
      params, torch::optim::AdamOptions(lr * ratio).betas({0.0, std::pow(0.99, ratio)}).eps(1e-8));
}

// G_ema's tensors beside G's: parameters are averaged, buffers (w_avg, noise_const) copied.
struct EmaPair {
  torch::Tensor ema, src;
  bool averaged;
};
std::vector<EmaPair> make_ema_pairs(GanNetworks& gan, const std::vector<torch::Tensor>& g_params) {
  std::vector<EmaPair> pairs;
  auto src = gan.g->named_tensors();
  for (const auto& t : gan.g_ema->named_tensors()) {
    const auto& s = src[t.key()];
    const bool param = std::any_of(g_params.begin(), g_params.end(), [&](const torch::Tensor& q) { return q.is_same(s); });
    pairs.push_back({t.value(), s, param});
  }
  return pairs;
}

// A fresh start: from the init networks, else G_ema begins as G (copied, not re-drawn).
void start_fresh(GanNetworks& gan, const TrainGanParams& p) {
  torch::NoGradGuard no_grad;
  auto load_into = [&](const std::string& file, torch::OrderedDict<std::string, torch::Tensor> targets, const char* what) {
    io::SafetensorsReader reader(file);
    models::load_tensors(reader, targets, std::string("the training config's ") + what);
  };
  if (!p.init_generator.empty()) load_into(p.init_generator, gan.g->named_tensors(), "generator");
  if (!p.init_discriminator.empty()) load_into(p.init_discriminator, gan.d->named_tensors(), "discriminator");
  if (!p.init_generator_ema.empty()) {
    load_into(p.init_generator_ema, gan.g_ema->named_tensors(), "generator");
  } else {
    auto src = gan.g->named_tensors();
    for (auto& t : gan.g_ema->named_tensors()) t.value().copy_(src[t.key()]);
  }
  if (!p.init_generator.empty())
    log_line(log_text("train-gan: starting from ", p.init_generator, p.init_discriminator.empty() ? " (D random)" : " and " + p.init_discriminator));
}

// G_ema after step `step`, with NVIDIA's ramp-up of its half-life.
void update_ema(const std::vector<EmaPair>& pairs, const TrainGanParams& p, int64_t step) {
  torch::NoGradGuard no_grad;
  double ema_nimg = p.ema_kimg * 1000.0;
  if (p.ema_rampup > 0) ema_nimg = std::min(ema_nimg, static_cast<double>(step * p.batch) * p.ema_rampup);
  const double beta = std::pow(0.5, static_cast<double>(p.batch) / std::max(ema_nimg, 1e-8));
  for (const auto& e : pairs) e.ema.copy_(e.averaged ? e.src.lerp(e.ema, beta) : e.src);
}

struct StepLosses {
  double g = 0, d = 0, r1 = -1, pl = -1;
};

}  // namespace

nlohmann::json train_gan(const TrainGanParams& params, const torch::Tensor& images, const std::string& out_path) {
  if (images.dim() != 4 || images.scalar_type() != torch::kUInt8) fail("train-gan", "images must be uint8 [N, C, H, W]");
  const Resolved r = resolve(params, images.size(1));
  const auto& p = r.p;
  if (images.size(2) != p.resolution || images.size(3) != p.resolution)
    fail("train-gan", "images are " + std::to_string(images.size(2)) + " px, the resolution is " + std::to_string(p.resolution));
  const auto dev = p.device;
  const int64_t batch = p.batch, n_images = images.size(0);

  GanNetworks gan;
  gan.g = std::make_unique<StyleGAN2>(p.generator, p.seed);
  gan.g_ema = std::make_unique<StyleGAN2>(p.generator, p.seed);
  gan.d = std::make_unique<StyleGAN2Discriminator>(p.discriminator, p.seed + 1);
  gan.g->to(dev);
  gan.g_ema->to(dev);
  gan.d->to(dev);
  gan.pl_mean = torch::zeros({}, torch::TensorOptions().device(dev));
  gan.w_avg = gan.g->named_tensors()["mapping.w_avg"];
  const auto g_params = gan.g->parameters(), d_params = gan.d->parameters();
  const auto ema_pairs = make_ema_pairs(gan, g_params);
  auto g_opt = make_adam(g_params, p.g_lr, p.pl_weight > 0 ? p.pl_interval : 0);
  auto d_opt = make_adam(d_params, p.d_lr, p.r1_gamma > 0 ? p.r1_interval : 0);
  set_requires_grad(gan.g_ema->parameters(), false);

  const auto fp = fingerprint(r, images);
  const Checkpoint ckpt(out_path, fp);
  int64_t first = 0;
  double seconds_before = 0;
  nlohmann::json history = nlohmann::json::array();
  if (const auto state = ckpt.resume(p.resume, [&](const std::string& f) { gan.load(f); }, Optimizers{g_opt.get(), d_opt.get()})) {
    first = state->at("step").get<int64_t>();
    seconds_before = state->value("seconds", 0.0);
    history = state->at("history");
    log_line(log_text("train-gan: resuming from ", ckpt.dir().string(), " after ", first * batch, " images (step ", first, ")"));
  } else {
    start_fresh(gan, p);
  }
  log_line(log_text("train-gan: ", n_images, " images at ", p.resolution, " px, batch ", batch, ", ", r.steps,
                    " steps (", p.kimg, " kimg), R1 gamma ", p.r1_gamma, ", path length weight ", p.pl_weight,
                    ", augment ", r.augment.str(), ", on ", dev.str()));

  // Everything D sees is augmented (the draw is made even without augmentation: same random stream).
  const auto augment = [&](const torch::Tensor& x) {
    const auto draw = draw_augment(x.size(0), p.resolution, p.resolution, r.augment);
    return r.augment.any() ? apply_augment(x, draw) : x;
  };
  StyleGAN2Loss loss(gan, {p.generator.z_dim, p.resolution, p.style_mixing, p.pl_weight, p.r1_gamma, p.pl_interval, p.r1_interval}, augment);
  auto real_batch = [&] {
    auto idx = torch::randint(0, n_images, {batch}, torch::kInt64);
    auto x = images.index_select(0, idx).to(dev).to(torch::kFloat32) / 127.5 - 1.0;
    if (p.mirror) {
      auto flip = (torch::rand({batch}) < 0.5).to(dev).reshape({-1, 1, 1, 1});
      x = torch::where(flip, x.flip({3}), x);
    }
    return x;
  };
  auto check_finite = [&](const torch::Tensor& value, const char* what, int64_t step) {
    const double v = value.item<double>();
    if (!std::isfinite(v))
      fail("train-gan", std::string(what) + " loss became " + std::to_string(v) + " at step " + std::to_string(step + 1) +
                            " (lower the learning rates or raise R1 gamma)");
    return v;
  };
  // One phase's optimiser step: the loss's gradients into the weights that take them.
  const auto run_phase = [&](torch::optim::Optimizer& opt, const torch::Tensor& phase_loss, const char* what, int64_t step) {
    const double v = check_finite(phase_loss, what, step);
    opt.zero_grad();
    phase_loss.backward();
    opt.step();
    return v;
  };

  const auto snapshot_steps = std::max<int64_t>(1, static_cast<int64_t>(std::llround(p.snapshot_kimg * 1000.0 / batch)));
  const int64_t history_every = std::max<int64_t>(1, std::min<int64_t>(snapshot_steps, r.steps / 50 + 1));
  Progress progress("train-gan", (r.steps - first) * batch, "img", p.progress);
  const auto t0 = std::chrono::steady_clock::now();
  auto elapsed = [&] { return seconds_before + std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); };
  double sum_g = 0, sum_d = 0, sum_r1 = 0, sum_pl = 0;
  int64_t n_sum = 0, n_r1 = 0, n_pl = 0;

  int64_t last_step = r.steps;  // earlier when the time limit ends the run
  for (int64_t step = first; step < r.steps; ++step) {
    torch::manual_seed(step_seed(p.seed, step));
    StepLosses L;
    const auto reals = real_batch();

    // G main: non-saturating loss through D (D's weights frozen).
    set_requires_grad(d_params, false);
    set_requires_grad(g_params, true);
    L.g = run_phase(*g_opt, loss.g_main(batch), "generator", step);
    // G regularisation: path length on half a batch, every pl_interval steps.
    if (p.pl_weight > 0 && step % p.pl_interval == 0) L.pl = run_phase(*g_opt, loss.g_reg(batch / 2), "path-length", step);
    // D main: fakes (no graph into G) and reals.
    set_requires_grad(g_params, false);
    set_requires_grad(d_params, true);
    L.d = run_phase(*d_opt, loss.d_main(reals, batch), "discriminator", step);
    // D regularisation: R1 on the reals (through the augmentation), every r1_interval steps.
    if (p.r1_gamma > 0 && step % p.r1_interval == 0) {
      const auto [weighted, penalty] = loss.d_reg(reals);
      L.r1 = check_finite(penalty, "R1", step);
      run_phase(*d_opt, weighted, "R1", step);
    }
    // G_ema, with NVIDIA's ramp-up of its half-life.
    update_ema(ema_pairs, p, step);

    sum_g += L.g;
    sum_d += L.d;
    ++n_sum;
    if (L.r1 >= 0) sum_r1 += L.r1, ++n_r1;
    if (L.pl >= 0) sum_pl += L.pl, ++n_pl;
    const double kimg_done = static_cast<double>((step + 1) * batch) / 1000.0;
    char extra[128];
    std::snprintf(extra, sizeof extra, "kimg %.1f  G %.3f  D %.3f", kimg_done, sum_g / n_sum, sum_d / n_sum);
    progress.update((step + 1 - first) * batch, extra);
    const bool out_of_time = p.max_seconds > 0 && elapsed() - seconds_before >= p.max_seconds && step + 1 < r.steps;
    if ((step + 1) % history_every == 0 || step + 1 == r.steps || out_of_time) {
      nlohmann::json row = {{"step", step + 1}, {"kimg", kimg_done}, {"loss_g", sum_g / n_sum}, {"loss_d", sum_d / n_sum},
                            {"seconds", elapsed()}};
      if (n_r1) row["r1"] = sum_r1 / n_r1;
      if (n_pl) row["pl"] = sum_pl / n_pl;
      history.push_back(row);
      sum_g = sum_d = sum_r1 = sum_pl = 0;
      n_sum = n_r1 = n_pl = 0;
    }
    if (p.on_snapshot && ((step + 1) % snapshot_steps == 0 || step + 1 == r.steps)) p.on_snapshot(*gan.g_ema, kimg_done);
    const bool stop = stop_requested() && step + 1 < r.steps;
    if (out_of_time) {
      log_line(log_text("train-gan: time limit of ", p.max_seconds, " s reached after ", (step + 1) * batch, " images"));
      if (p.on_snapshot && (step + 1) % snapshot_steps != 0) p.on_snapshot(*gan.g_ema, kimg_done);
      last_step = step + 1;
    }
    if (p.checkpoint_every > 0 && (stop || out_of_time || (step + 1) % p.checkpoint_every == 0 || step + 1 == r.steps)) {
      ckpt.save([&](const std::string& file) { io::write_safetensors(file, gan.tensors(), {{"faceedit.arch", "train-gan-checkpoint"}}); },
                Optimizers{g_opt.get(), d_opt.get()}, {{"step", step + 1}, {"seconds", elapsed()}, {"history", history}});
    }
    if (stop) fail_interrupted("train-gan", step + 1, r.steps, batch, p.checkpoint_every > 0);
    if (out_of_time) break;
  }
  progress.finish();

  auto report = training_report("StyleGAN2 (stylegan2-ada-pytorch loss and schedule), faceedit train-gan", fp, last_step, batch,
                                elapsed(), history, first);
  gan.g_ema->save(out_path, report);
  if (last_step < r.steps) report["stopped_at_time_limit"] = true;
  log_line(log_text("train-gan: wrote ", out_path, " (G_ema, ", p.resolution, " px) after ", last_step * batch, " images in ",
                    static_cast<int64_t>(elapsed()), " s"));
  return report;
}

}  // namespace faceedit::train
