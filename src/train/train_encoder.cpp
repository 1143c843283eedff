#include "faceedit/train/train_encoder.h"

#include <cmath>
#include <cstdio>

#include "faceedit/error.h"
#include "faceedit/models/encoder.h"
#include "faceedit/pipeline/invert.h"
#include "faceedit/progress.h"
#include "faceedit/train/checkpoint.h"
#include "faceedit/train/face_datasets.h"
#include "faceedit/nn/schedule.h"

namespace faceedit::train {

namespace F = torch::nn::functional;

torch::Tensor frame_for_generator(const torch::Tensor& uint8_images, const models::Generator& g) {
  const auto framing = g.face_framing();
  const int64_t n = uint8_images.size(0), r = g.resolution();
  auto x = to_model_range(uint8_images);
  // face::reframe_quad on the whole image as the FFHQ quad: a square of side `zoom` (of the
  // image), its centre moved `shift` of the side towards the chin. In affine_grid's [-1, 1] units.
  const double zoom = framing.zoom, shift = framing.shift;
  auto theta = torch::tensor({zoom, 0.0, 0.0, 0.0, zoom, 2.0 * shift}, torch::kFloat32).reshape({1, 2, 3}).expand({n, 2, 3});
  // Where the crop shrinks, sample at 2x and average 2x2 blocks (a little anti-aliasing); where it
  // grows (64-px faces for a 1024-px generator) 2x would only cost memory.
  const int64_t over = zoom * static_cast<double>(uint8_images.size(3)) > static_cast<double>(r) ? 2 : 1;
  auto grid = F::affine_grid(theta, {n, 3, over * r, over * r}, false);
  auto framed = F::grid_sample(x, grid, F::GridSampleFuncOptions().mode(torch::kBilinear).align_corners(false));
  return over == 1 ? framed : F::avg_pool2d(framed, F::AvgPool2dFuncOptions(over));
}

namespace {

nlohmann::json fingerprint(const TrainEncoderParams& p, const models::Generator& g) {
  return {{"steps", p.steps},          {"batch", p.batch},       {"real_fraction", p.real_fraction},
          {"learning_rate", p.learning_rate}, {"warmup", p.warmup}, {"latent_weight", p.latent_weight},
          {"mse_weight", p.mse_weight}, {"feature_weight", p.feature_weight}, {"truncation", p.truncation},
          {"reals", p.reals},          {"real_limit", p.real_limit}, {"seed", p.seed},
          {"generator", g.config()}};
}

}  // namespace

nlohmann::json train_encoder(const models::Generator& g, models::FeatureDistance* features, const TrainEncoderParams& p,
                             const std::string& out_path) {
  if (p.steps < 1 || p.batch < 2 || !(p.learning_rate > 0) || !(p.real_fraction >= 0 && p.real_fraction <= 1) ||
      p.checkpoint_every < 1 || p.warmup < 0)
    fail("train-encoder", "absurd parameters (steps >= 1, batch >= 2, learning rate > 0, real fraction in [0, 1])");
  const auto dev = g.device();
  const auto config = models::EncoderConfig::for_generator(g);
  torch::Tensor mean;
  if (config.space == models::LatentSpace::WPlus) {
    torch::NoGradGuard no_grad;
    mean = g.truncate(g.map(g.sample_z(1, 0)), 0.0).squeeze(0).cpu();  // the average W, per layer
  }
  models::Encoder enc(config, mean, p.seed);
  enc.to(dev);

  const int64_t n_real = static_cast<int64_t>(std::lround(static_cast<double>(p.batch) * p.real_fraction));
  const int64_t n_fake = p.batch - n_real;
  LabelledFaces reals;
  if (n_real > 0) {
    reals = load_labelled_faces(p.reals, p.real_limit, p.seed);
    if (reals.size() < 1) fail(p.reals, "has no faces");
  }

  auto params = enc.parameters();
  torch::optim::Adam opt(params, torch::optim::AdamOptions(p.learning_rate));
  const Checkpoint ckpt(out_path, fingerprint(p, g));
  int first_step = 0;
  nlohmann::json history = nlohmann::json::array();
  const auto load_model = [&](const std::string& file) {
    auto saved = models::Encoder::load(file, dev);
    torch::NoGradGuard no_grad;
    auto dst = enc.named_tensors();
    for (auto& t : saved->named_tensors()) dst[t.key()].copy_(t.value());
  };
  if (const auto state = ckpt.resume(true, load_model, opt)) {
    first_step = state->at("step").get<int>();
    history = state->at("history");
    log_line(log_text("train-encoder: resuming from ", ckpt.dir().string(), " after step ", first_step));
  }
  log_line(log_text("train-encoder: ", g.arch(), " ", g.resolution(), " px, ", models::to_string(config.space),
                    ", ", p.steps, " steps of ", n_fake, " generated + ", n_real, " real faces (", reals.size(),
                    " in ", p.reals, ")"));

  enc.train(true);
  Progress progress("train-encoder", p.steps, "steps", p.progress);
  double sum_latent = 0, sum_real = 0;
  int64_t since = 0;
  for (int step = first_step; step < p.steps; ++step) {
    if (stop_requested())
      fail("train-encoder", "interrupted at step " + std::to_string(step) + "; rerun the same command to resume" +
                                (step >= p.checkpoint_every ? " from the last checkpoint" : " from the start"));
    for (auto& group : opt.param_groups())
      static_cast<torch::optim::AdamOptions&>(group.options()).lr(nn::warmup_cosine_lr(step, p.steps, p.learning_rate, p.warmup));
    // Every step's draws from its own seed: a resumed run repeats the uninterrupted one.
    const uint64_t step_seed = p.seed * 1000003ull + static_cast<uint64_t>(step);
    torch::manual_seed(step_seed);
    auto loss = torch::zeros({}, torch::TensorOptions().device(dev));
    double latent_loss = 0, real_loss = 0;
    if (n_fake > 0) {
      torch::Tensor codes, images;
      {
        torch::NoGradGuard no_grad;
        codes = g.codes_from_z(g.sample_z(n_fake, step_seed & 0xffffffffull), config.space, p.truncation);
        images = g.generate(codes, config.space, models::Generator::truncation_for(config.space, p.truncation));
      }
      auto l = F::mse_loss(enc.encode(images), codes);
      latent_loss = l.item<double>();
      loss = loss + p.latent_weight * l;
    }
    if (n_real > 0) {
      auto idx = torch::randint(reals.size(), {n_real}, torch::kLong);
      auto x = frame_for_generator(reals.images.index_select(0, idx), g).to(dev);
      auto rec = g.generate(enc.encode(x), config.space);
      auto l = p.mse_weight * F::mse_loss(rec, x);
      if (features != nullptr && p.feature_weight > 0) l = l + p.feature_weight * features->distance(rec, x).mean();
      real_loss = l.item<double>();
      loss = loss + l;
    }
    // The encoder's parameters only: the generator and the guide stay as they are.
    auto grads = torch::autograd::grad({loss}, params);
    for (size_t i = 0; i < params.size(); ++i) params[i].mutable_grad() = grads[i];
    opt.step();
    sum_latent += latent_loss;
    sum_real += real_loss;
    ++since;
    char extra[96];
    std::snprintf(extra, sizeof extra, "latent %.4f, real %.4f", latent_loss, real_loss);
    progress.update(step + 1, extra);
    const bool stop_here = p.stop_after_step > 0 && step + 1 == p.stop_after_step && step + 1 < p.steps;
    if ((step + 1) % p.checkpoint_every == 0 || step + 1 == p.steps || stop_here) {
      history.push_back({{"step", step + 1}, {"latent_loss", sum_latent / since}, {"real_loss", sum_real / since}});
      sum_latent = sum_real = 0;
      since = 0;
      enc.train(false);
      ckpt.save([&](const std::string& file) { enc.save(file); }, opt, {{"step", step + 1}, {"history", history}});
      enc.train(true);
    }
    if (stop_here)
      fail("train-encoder", "stopped after step " + std::to_string(step + 1) + " as asked; rerun without the stop to continue");
  }
  progress.finish();
  enc.train(false);

  // Held out: encoder-only inversions of faces neither the guide nor the encoder trained on.
  nlohmann::json heldout;
  if (p.eval_n > 0) {
    auto faces = load_labelled_faces(p.eval_set, p.eval_n, p.seed);
    torch::NoGradGuard no_grad;
    double psnr_sum = 0, feat_sum = 0;
    int64_t done = 0;
    for (int64_t b = 0; b < faces.size(); b += 32) {
      const int64_t nb = std::min<int64_t>(32, faces.size() - b);
      auto x = frame_for_generator(faces.images.narrow(0, b, nb), g).to(dev);
      auto rec = g.generate(enc.encode(x), config.space);
      for (int64_t i = 0; i < nb; ++i) psnr_sum += pipeline::psnr(rec.narrow(0, i, 1), x.narrow(0, i, 1));
      if (features != nullptr) feat_sum += features->distance(rec, x).sum().item<double>();
      done += nb;
    }
    heldout = {{"set", p.eval_set}, {"faces", done}, {"psnr_db_mean", psnr_sum / static_cast<double>(std::max<int64_t>(1, done))}};
    if (features != nullptr) heldout["feature_distance_mean"] = feat_sum / static_cast<double>(std::max<int64_t>(1, done));
    log_line(log_text("train-encoder: held-out encoder-only PSNR ", heldout["psnr_db_mean"].get<double>(), " dB over ",
                      done, " ", p.eval_set, " faces"));
  }
  nlohmann::json report = {{"generator", g.config()}, {"space", models::to_string(config.space)},
                           {"params", fingerprint(p, g)}, {"history", history}, {"heldout", heldout}};
  enc.save(out_path, report);
  ckpt.remove();
  return report;
}

}  // namespace faceedit::train
