#include "faceedit/train/train_l2mgan.h"

#include <chrono>
#include <cmath>
#include <filesystem>

#include "faceedit/error.h"
#include "faceedit/io/safetensors.h"
#include "faceedit/models/face_analysis.h"
#include "faceedit/models/face_classifier.h"
#include "faceedit/models/judges.h"
#include "faceedit/progress.h"
#include "faceedit/runtime.h"
#include "faceedit/train/checkpoint.h"
#include "faceedit/train/gan/gan_augment.h"

namespace faceedit::train {

namespace F = torch::nn::functional;
using models::L2MGan;
using models::L2MDiscriminator;

torch::Tensor l2mgan_preservation_loss(const torch::Tensor& fake, const torch::Tensor& rec, int64_t pool) {
  auto opts = F::AvgPool2dFuncOptions(pool);
  return (F::avg_pool2d(fake, opts) - F::avg_pool2d(rec, opts)).abs().mean();
}

torch::Tensor l2mgan_sheet(L2MGan& model, const torch::Tensor& images, const torch::Tensor& labels) {
  torch::NoGradGuard no_grad;
  const auto& attrs = model.config().attributes;
  const int64_t n = images.size(0), A = static_cast<int64_t>(attrs.size());
  std::vector<torch::Tensor> cols = {images};
  torch::Tensor rec;
  for (int64_t a = 0; a < A; ++a) {
    auto positive = labels.select(1, a).to(images.device()) > 0;
    auto [r, to_pos] = model.edit(images, attrs[a], 1.0);
    auto [r2, to_neg] = model.edit(images, attrs[a], -1.0);
    if (a == 0) cols.push_back(r);
    cols.push_back(torch::where(positive.reshape({-1, 1, 1, 1}), to_neg, to_pos));
  }
  return torch::stack(cols, 1).reshape({n * (2 + A), images.size(1), images.size(2), images.size(3)}).clamp(-1, 1);
}

namespace {

void validate(const TrainL2MGanParams& p, const LabelledFaces& faces) {
  p.model.validate("l2mgan config");
  if (p.batch < 2 || p.batch > 4096) fail("batch " + std::to_string(p.batch), "must be in 2..4096");
  if (!(p.kimg > 0) || p.kimg > 1e6) fail("kimg", "must be in (0, 1e6]");
  if (!(p.lr > 0) || !(p.d_lr > 0) || p.lr > 1 || p.d_lr > 1) fail("learning rates", "must be in (0, 1]");
  for (double w : {p.lambda_adv, p.lambda_dcls, p.lambda_cls, p.lambda_keep, p.lambda_rec, p.lambda_pres, p.lambda_orth, p.lambda_sty,
                   p.lambda_cyc, p.r1_gamma})
    if (!(w >= 0) || w > 1e6) fail("train-l2mgan", "loss weights and R1 gamma must be in [0, 1e6]");
  if (p.r1_interval < 1) fail("r1_interval", "must be >= 1");
  if (p.pres_pool < 1 || p.model.resolution % p.pres_pool) fail("pres_pool", "must divide the resolution");
  if (!(p.ema_beta >= 0 && p.ema_beta < 1)) fail("ema_beta", "must be in [0, 1)");
  if (!(p.d_pretrain_kimg >= 0) || p.d_pretrain_kimg > 1e6) fail("d_pretrain_kimg", "must be in [0, 1e6]");
  if (!(p.c_lr > 0) || p.c_lr > 1) fail("c_lr", "must be in (0, 1]");
  for (double w : {p.lambda_attr, p.lambda_lat, p.lat_ramp_kimg})
    if (!(w >= 0) || w > 1e6) fail("train-l2mgan", "lambda_attr, lambda_lat and lat_ramp_kimg must be in [0, 1e6]");
  if (p.checkpoint_every < 0 || !(p.snapshot_kimg > 0)) fail("train-l2mgan", "checkpoint_every >= 0, snapshot_kimg > 0");
  if (faces.size() < 2) fail(faces.name, "holds fewer than 2 faces");
  if (faces.images.size(2) != p.model.resolution || faces.images.size(3) != p.model.resolution || faces.images.size(1) != 3)
    fail(faces.name, "faces are " + c10::str(faces.images.sizes()) + ", the model is RGB at " +
                         std::to_string(p.model.resolution) + " px");
  for (const auto& a : p.model.attributes)
    if (!faces.labels.count(a)) fail(faces.name, "has no label '" + a + "'");
}

nlohmann::json fingerprint(const TrainL2MGanParams& p, const LabelledFaces& faces, const std::string& guide_file) {
  return {{"model", p.model.to_json()},   {"faces", faces.size()},         {"data", faces.name},
          {"guide", std::filesystem::path(guide_file).filename().string()},
          {"batch", p.batch},             {"lr", p.lr},                    {"d_lr", p.d_lr},
          {"lambda_dcls", p.lambda_dcls},
          {"lambda", {p.lambda_adv, p.lambda_cls, p.lambda_keep, p.lambda_rec, p.lambda_pres, p.lambda_orth,
                      p.lambda_sty, p.lambda_cyc}},
          {"pres_pool", p.pres_pool},     {"critic_pool", p.critic_pool},  {"edit_after_kimg", p.edit_after_kimg},
          {"d_pretrain_kimg", p.d_pretrain_kimg},
          {"labelled", {p.lambda_attr, p.lambda_lat, p.lat_ramp_kimg, p.c_lr}},     {"r1_gamma", p.r1_gamma},        {"r1_interval", p.r1_interval},
          {"augment", AugmentPolicy::parse(p.augment).str()},              {"ema_beta", p.ema_beta},
          {"mirror", p.mirror},           {"seed", p.seed},                {"device", p.device.str()}};
}

// The latent adversary of the "labelled" form: reads the attributes from the content map and the
// style's irrelevant coordinates (two conv 3x3 layers, the second halving the map, then two linear
// layers). Measured: a one-conv adversary sat at chance while the decoder still read the attribute
// from the content and ignored the codes (no visible edit after 25k images).
struct LatentAdversaryImpl : torch::nn::Module {
  LatentAdversaryImpl(int64_t content_channels, int64_t content_size, int64_t rest_dim, int64_t attributes) {
    const int64_t ch = std::max<int64_t>(64, content_channels), pooled = std::max<int64_t>(1, content_size / 2);
    conv1 = register_module("conv1", torch::nn::Conv2d(torch::nn::Conv2dOptions(content_channels, ch, 3).padding(1)));
    conv2 = register_module("conv2", torch::nn::Conv2d(torch::nn::Conv2dOptions(ch, ch, 3).padding(1).stride(content_size > 1 ? 2 : 1)));
    fc1 = register_module("fc1", torch::nn::Linear(ch * pooled * pooled + rest_dim, 512));
    fc2 = register_module("fc2", torch::nn::Linear(512, attributes));
  }
  torch::Tensor forward(const torch::Tensor& content, const torch::Tensor& rest) {
    auto lrelu = [](const torch::Tensor& t) { return F::leaky_relu(t, F::LeakyReLUFuncOptions().negative_slope(0.2)); };
    auto h = lrelu(conv2(lrelu(conv1(content))));
    return fc2(lrelu(fc1(torch::cat({h.flatten(1), rest}, 1))));
  }
  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr};
  torch::nn::Linear fc1{nullptr}, fc2{nullptr};
};
TORCH_MODULE(LatentAdversary);

io::NamedTensors checkpoint_tensors(const L2MGan& model, const L2MGan& ema, const L2MDiscriminator& d,
                                    const LatentAdversary& lat) {
  io::NamedTensors out;
  if (lat)
    for (const auto& t : lat->named_parameters()) out.emplace_back("C." + t.key(), t.value().detach());
  for (const auto& t : model.named_parameters()) out.emplace_back("model." + t.key(), t.value().detach());
  for (const auto& t : ema.named_parameters()) out.emplace_back("ema." + t.key(), t.value().detach());
  for (const auto& t : d->named_parameters()) out.emplace_back("D." + t.key(), t.value().detach());
  return out;
}

void load_checkpoint(const std::string& file, const L2MGan& model, const L2MGan& ema, const L2MDiscriminator& d,
                     const LatentAdversary& lat) {
  io::SafetensorsReader reader(file);
  torch::NoGradGuard no_grad;
  for (auto& [name, t] : checkpoint_tensors(model, ema, d, lat)) {
    if (!reader.contains(name)) fail(file, "checkpoint lacks " + name);
    auto v = reader.load(name);
    if (v.sizes() != t.sizes()) fail(file, name + " has shape " + c10::str(v.sizes()) + ", expected " + c10::str(t.sizes()));
    t.copy_(v);
  }
}

// Running means of the logged terms.
struct Meter {
  std::map<std::string, double> sum;
  int64_t n = 0;
  void add(const std::map<std::string, double>& v) {
    for (const auto& [k, x] : v) sum[k] += x;
    ++n;
  }
  nlohmann::json means() const {
    nlohmann::json j;
    for (const auto& [k, x] : sum) j[k] = n ? x / static_cast<double>(n) : 0.0;
    return j;
  }
  void clear() { sum.clear(), n = 0; }
};

}  // namespace

nlohmann::json train_l2mgan(const TrainL2MGanParams& p, const LabelledFaces& faces, const std::string& out_path) {
  validate(p, faces);
  const auto dev = p.device;
  const auto policy = AugmentPolicy::parse(p.augment);
  const int64_t batch = p.batch, n_faces = faces.size(), A = static_cast<int64_t>(p.model.attributes.size());
  const int64_t steps = static_cast<int64_t>(std::ceil(p.kimg * 1000.0 / static_cast<double>(batch)));

  // The fixed critic: the guide classifier, eval mode, frozen.
  const std::string guide_file = models::guide_file(p.guide);
  auto guide = models::open_guide(p.guide);
  guide->net()->eval();
  guide->to(dev);
  for (auto t : guide->net()->parameters()) t.requires_grad_(false);
  std::vector<int64_t> guide_cols;
  {
    const auto& heads = guide->config().heads;
    const auto slices = guide->head_slices();
    for (const auto& a : p.model.attributes) {
      int64_t col = -1;
      for (size_t h = 0; h < heads.size(); ++h)
        if (heads[h].name == a && heads[h].classes.empty()) col = slices[h].first;
      if (col < 0) fail(guide_file, "has no binary head '" + a + "' to guide the edits");
      guide_cols.push_back(col);
    }
  }
  const auto cols_t = torch::tensor(guide_cols, torch::kInt64).to(dev);

  std::vector<torch::Tensor> label_cols;
  for (const auto& a : p.model.attributes) label_cols.push_back(faces.labels.at(a));
  const auto labels = torch::stack(label_cols, 1).clamp(0, 1);  // [N, A]

  L2MGan model(p.model, p.seed), ema(p.model, p.seed);
  torch::manual_seed(p.seed + 1);
  L2MDiscriminator d(p.model);
  const bool labelled = p.model.labelled();
  const int64_t style_dim = p.model.style_dim, rest_dim = style_dim - A;
  LatentAdversary lat{nullptr};
  if (labelled) {
    const int64_t content_channels = std::min(p.model.width << p.model.downs, p.model.max_width);
    lat = LatentAdversary(content_channels, p.model.resolution >> p.model.downs, rest_dim, A);
    lat->to(dev);
  }
  model.to(dev), ema.to(dev), d->to(dev);
  const auto g_params = model.parameters(), d_params = d->parameters(), ema_params = ema.parameters();
  {
    torch::NoGradGuard no_grad;
    for (size_t i = 0; i < g_params.size(); ++i) ema_params[i].copy_(g_params[i]);
  }
  set_requires_grad(ema_params, false);
  auto adam = [](const std::vector<torch::Tensor>& ps, double lr) {
    return std::make_unique<torch::optim::Adam>(ps, torch::optim::AdamOptions(lr).betas({0.0, 0.99}).eps(1e-8));
  };
  auto g_opt = adam(g_params, p.lr), d_opt = adam(d_params, p.d_lr);
  // The adversary learns faster than G and E (Fader Networks: Adam with beta1 0.5), else it lags.
  auto c_opt = labelled ? std::make_unique<torch::optim::Adam>(
                              lat->parameters(), torch::optim::AdamOptions(p.c_lr).betas({0.5, 0.99}).eps(1e-8))
                        : nullptr;
  Optimizers optimizers{g_opt.get(), d_opt.get()};
  if (c_opt) optimizers.push_back(c_opt.get());

  const auto fp = fingerprint(p, faces, guide_file);
  const Checkpoint ckpt(out_path, fp);
  int64_t first = 0;
  double seconds_before = 0;
  nlohmann::json history = nlohmann::json::array();
  if (const auto state = ckpt.resume(p.resume, [&](const std::string& f) { load_checkpoint(f, model, ema, d, lat); },
                                     optimizers)) {
    first = state->at("step").get<int64_t>();
    seconds_before = state->value("seconds", 0.0);
    history = state->at("history");
    log_line(log_text("train-l2mgan: resuming from ", ckpt.dir().string(), " after ", first * batch, " images (step ", first, ")"));
  }
  log_line(log_text("train-l2mgan: ", n_faces, " faces, attributes ", nlohmann::json(p.model.attributes).dump(), ", batch ",
                    batch, ", ", steps, " steps (", p.kimg, " kimg), guide ", guide_file, ", augment ", policy.str(),
                    ", on ", dev.str()));

  const int64_t res = p.model.resolution;
  auto augment = [&](const torch::Tensor& x, const AugmentDraw& draw) { return policy.any() ? apply_augment(x, draw) : x; };
  auto draw = [&] { return draw_augment(batch, res, res, policy); };
  auto check = [&](const torch::Tensor& loss, const char* what, int64_t step) {
    const double v = loss.item<double>();
    if (!std::isfinite(v))
      fail("train-l2mgan", std::string(what) + " loss became " + std::to_string(v) + " at step " + std::to_string(step + 1) +
                               " (lower the learning rates or raise R1 gamma)");
    return v;
  };
  auto bce = [](const torch::Tensor& logits, const torch::Tensor& target) {
    return F::binary_cross_entropy_with_logits(logits, target.to(logits.dtype()));
  };

  const int64_t snapshot_steps = std::max<int64_t>(1, std::llround(p.snapshot_kimg * 1000.0 / batch));
  const int64_t history_every = std::max<int64_t>(1, std::min<int64_t>(snapshot_steps, steps / 50 + 1));
  Progress progress("train-l2mgan", (steps - first) * batch, "img", p.progress);
  const auto t0 = std::chrono::steady_clock::now();
  auto elapsed = [&] { return seconds_before + std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); };
  Meter meter, line_meter;
  const auto arange_a = torch::arange(A, torch::kInt64).to(dev);

  // A batch of real faces in [-1, 1] (random mirror flips) and their labels, from torch's global
  // generator (seeded per step by the caller).
  auto draw_reals = [&] {
    const auto idx = torch::randint(0, n_faces, {batch}, torch::kInt64);
    auto x = faces.images.index_select(0, idx).to(dev).to(torch::kFloat32) / 127.5 - 1.0;
    if (p.mirror) x = torch::where((torch::rand({batch}) < 0.5).to(dev).reshape({-1, 1, 1, 1}), x.flip({3}), x);
    return std::make_pair(x, labels.index_select(0, idx).to(dev));
  };

  if (first == 0 && p.d_pretrain_kimg > 0 && !labelled) {
    // D's attribute head alone on the reals (its own seeds, apart from the steps').
    const int64_t n_pre = static_cast<int64_t>(std::ceil(p.d_pretrain_kimg * 1000.0 / static_cast<double>(batch)));
    Progress pre("train-l2mgan: D pretraining", n_pre * batch, "img", p.progress);
    Meter pm;
    for (int64_t i = 0; i < n_pre; ++i) {
      torch::manual_seed(step_seed(p.seed + 0x5EED, i));
      const auto [x, y] = draw_reals();
      auto logits = d->forward(augment(x, draw())).narrow(1, 2 * A, A);
      auto loss = bce(logits, y);
      pm.add({{"Dcls", check(loss, "D pretraining", i)},
              {"acc", ((logits > 0).to(torch::kLong) == y).to(torch::kFloat32).mean().item<double>()}});
      d_opt->zero_grad();
      loss.backward();
      d_opt->step();
      const auto m = pm.means();
      char extra[80];
      std::snprintf(extra, sizeof extra, "Dcls %.3f acc %.3f", m.value("Dcls", 0.0), m.value("acc", 0.0));
      pre.update((i + 1) * batch, extra);
      if (pm.n >= 100) pm.clear();
    }
    pre.finish();
  }

  int64_t last_step = steps;
  for (int64_t step = first; step < steps; ++step) {
    torch::manual_seed(step_seed(p.seed, step));
    std::map<std::string, double> L;
    // The batch, and per row the attribute to edit and its target value.
    const auto [x, y] = draw_reals();                                        // y: [B, A]
    const auto a = torch::randint(0, A, {batch}, torch::kInt64).to(dev);     // [B]
    const auto y_a = y.gather(1, a.unsqueeze(1)).squeeze(1);
    const auto v = 1 - y_a;
    const auto fake_cols = (a * 2 + v).unsqueeze(1);
    const auto real_cols = arange_a.unsqueeze(0) * 2 + y;                    // [B, A]
    const auto g_draw = draw(), d_fake_draw = draw(), d_real_draw = draw();
    // Warm-up: no edit term reaches G and E until the decoder reconstructs faces.
    const double editing = static_cast<double>(step * batch) >= p.edit_after_kimg * 1000.0 ? 1.0 : 0.0;
    auto critic_view = [&](const torch::Tensor& img) {
      auto v = augment(img, g_draw);
      if (p.critic_pool <= 1) return v;
      auto low = F::avg_pool2d(v, F::AvgPool2dFuncOptions(p.critic_pool));
      return F::interpolate(low, F::InterpolateFuncOptions().size(std::vector<int64_t>{res, res}).mode(torch::kBilinear).align_corners(false));
    };

    if (labelled) {
      // G and E against the latent adversary, then the adversary (Fader Networks' order).
      const double ramp = p.lat_ramp_kimg > 0 ? std::min(1.0, static_cast<double>(step * batch) / (p.lat_ramp_kimg * 1000.0)) : 1.0;
      const auto yf = y.to(torch::kFloat32);
      set_requires_grad(g_params, true);
      set_requires_grad(lat->parameters(), false);
      auto content = model.generator->encode(x);
      auto raw = model.style->raw(x);
      auto rest = raw.narrow(1, 0, rest_dim);
      auto logits = raw.narrow(1, rest_dim, A);
      auto rec = model.generator->decode(content, model.style->with_codes(raw, 2 * yf - 1));
      auto rec_loss = (rec - x).abs().mean();
      auto attr = bce(logits, yf);
      auto fool = bce(lat->forward(content, rest), 1 - yf);
      auto loss = rec_loss * p.lambda_rec + attr * p.lambda_attr + fool * (p.lambda_lat * ramp);
      L["rec"] = check(rec_loss, "reconstruction", step);
      L["attr"] = check(attr, "attribute code", step);
      L["acc"] = ((logits > 0).to(torch::kLong) == y).to(torch::kFloat32).mean().item<double>();
      L["fool"] = check(fool, "latent adversary (G)", step);
      g_opt->zero_grad();
      loss.backward();
      g_opt->step();
      set_requires_grad(g_params, false);
      set_requires_grad(lat->parameters(), true);
      auto lat_logits = lat->forward(content.detach(), rest.detach());
      auto lat_loss = bce(lat_logits, yf);
      L["C"] = check(lat_loss, "latent adversary", step);
      L["Cacc"] = ((lat_logits > 0).to(torch::kLong) == y).to(torch::kFloat32).mean().item<double>();
      c_opt->zero_grad();
      lat_loss.backward();
      c_opt->step();
    } else {
    // G and E.
    set_requires_grad(d_params, false);
    set_requires_grad(g_params, true);
    torch::Tensor fake;
    {
      auto content = model.generator->encode(x);
      auto s = model.style->forward(x);
      models::L2MStyles st;
      auto s_edit = model.edited_style(s, a, v, torch::ones({batch}, x.options()), &st);
      auto both = model.generator->decode(torch::cat({content, content}), torch::cat({s, s_edit}));
      auto rec = both.narrow(0, 0, batch);
      fake = both.narrow(0, batch, batch);
      auto d_fake = d->forward(augment(fake, g_draw));
      auto adv = F::softplus(-d_fake.gather(1, fake_cols)).mean();
      auto dcls = bce(d_fake.narrow(1, 2 * A, A).gather(1, a.unsqueeze(1)).squeeze(1), v);
      auto logits_fake = guide->head_logits(critic_view(fake)).index_select(1, cols_t);  // [B, A]
      auto cls = bce(logits_fake.gather(1, a.unsqueeze(1)).squeeze(1), v);
      auto flipped = ((logits_fake.gather(1, a.unsqueeze(1)).squeeze(1) > 0).to(torch::kLong) == v).to(torch::kFloat32).mean();
      auto loss = (adv * p.lambda_adv + dcls * p.lambda_dcls + cls * p.lambda_cls) * editing;
      if (A > 1 && p.lambda_keep > 0) {
        torch::Tensor p_x;
        {
          torch::NoGradGuard no_grad;
          p_x = torch::sigmoid(guide->head_logits(critic_view(x)).index_select(1, cols_t));
        }
        auto others = (arange_a.unsqueeze(0) != a.unsqueeze(1)).to(torch::kFloat32);  // [B, A]
        auto keep = (F::binary_cross_entropy_with_logits(logits_fake, p_x, F::BinaryCrossEntropyWithLogitsFuncOptions().reduction(torch::kNone)) *
                     others).sum() / others.sum();
        loss = loss + keep * (p.lambda_keep * editing);
        L["keep"] = check(keep, "keep", step);
      }
      auto rec_loss = (rec - x).abs().mean();
      auto pres = l2mgan_preservation_loss(fake, rec.detach(), p.pres_pool);
      auto orth = models::l2m_orthogonality_loss(st.s1, st.s2);
      loss = loss + rec_loss * p.lambda_rec + pres * (p.lambda_pres * editing) + orth * p.lambda_orth;
      if (p.lambda_sty > 0 || p.lambda_cyc > 0) {
        auto st_f = model.style->factorise(model.style->forward(fake), a);
        auto sty = (st_f.s1 - st.s1.detach()).abs().mean();
        loss = loss + sty * (p.lambda_sty * editing);
        L["sty"] = check(sty, "style", step);
        if (p.lambda_cyc > 0) {
          auto back_style = st_f.s1 + model.style->transform(st_f.s2, a, y_a);
          auto back = model.generator->decode(model.generator->encode(fake), back_style);
          auto cyc = (back - x).abs().mean();
          loss = loss + cyc * (p.lambda_cyc * editing);
          L["cyc"] = check(cyc, "cycle", step);
        }
      }
      L["adv"] = check(adv, "adversarial", step);
      L["cls"] = check(cls, "attribute", step);
      L["dcls"] = check(dcls, "D attribute", step);
      L["flip"] = flipped.item<double>();
      L["rec"] = check(rec_loss, "reconstruction", step);
      L["pres"] = check(pres, "preservation", step);
      L["orth"] = check(orth, "orthogonality", step);
      g_opt->zero_grad();
      loss.backward();
      g_opt->step();
    }
    // D (with R1 on the reals every r1_interval steps).
    set_requires_grad(g_params, false);
    set_requires_grad(d_params, true);
    {
      const bool r1 = p.r1_gamma > 0 && step % p.r1_interval == 0;
      auto reals = r1 ? x.detach().requires_grad_(true) : x.detach();
      auto d_real = d->forward(augment(reals, d_real_draw));
      auto real_logits = d_real.gather(1, real_cols);
      auto fake_logits = d->forward(augment(fake.detach(), d_fake_draw)).gather(1, fake_cols);
      auto loss = F::softplus(fake_logits).mean() + F::softplus(-real_logits).mean();
      L["D"] = check(loss, "discriminator", step);
      if (p.lambda_dcls > 0) {
        auto real_cls = bce(d_real.narrow(1, 2 * A, A), y);
        L["Dcls"] = check(real_cls, "D attribute", step);
        loss = loss + real_cls * p.lambda_dcls;
      }
      if (r1) {
        auto grad = torch::autograd::grad({real_logits.sum()}, {reals}, {}, true, true)[0];
        auto penalty = grad.square().sum({1, 2, 3}).mean();
        L["r1"] = check(penalty, "R1", step);
        loss = loss + penalty * (p.r1_gamma / 2 * static_cast<double>(p.r1_interval));
      }
      d_opt->zero_grad();
      loss.backward();
      d_opt->step();
    }
    }
    {
      torch::NoGradGuard no_grad;
      for (size_t i = 0; i < g_params.size(); ++i) ema_params[i].copy_(g_params[i].lerp(ema_params[i], p.ema_beta));
    }

    meter.add(L);
    line_meter.add(L);
    const double kimg_done = static_cast<double>((step + 1) * batch) / 1000.0;
    {
      const auto m = line_meter.means();
      char extra[200];
      if (labelled)
        std::snprintf(extra, sizeof extra, "kimg %.1f  rec %.3f attr %.3f acc %.2f fool %.3f C %.3f Cacc %.2f", kimg_done,
                      m.value("rec", 0.0), m.value("attr", 0.0), m.value("acc", 0.0), m.value("fool", 0.0), m.value("C", 0.0),
                      m.value("Cacc", 0.0));
      else
      std::snprintf(extra, sizeof extra, "kimg %.1f  adv %.2f dcls %.2f cls %.2f flip %.2f rec %.3f pres %.3f D %.2f Dcls %.2f", kimg_done,
                    m.value("adv", 0.0), m.value("dcls", 0.0), m.value("cls", 0.0), m.value("flip", 0.0), m.value("rec", 0.0),
                    m.value("pres", 0.0), m.value("D", 0.0), m.value("Dcls", 0.0));
      progress.update((step + 1 - first) * batch, extra);
      if (line_meter.n >= 50) line_meter.clear();
    }
    const bool out_of_time = p.max_seconds > 0 && elapsed() - seconds_before >= p.max_seconds && step + 1 < steps;
    if ((step + 1) % history_every == 0 || step + 1 == steps || out_of_time) {
      auto row = meter.means();
      row["step"] = step + 1, row["kimg"] = kimg_done, row["seconds"] = elapsed();
      history.push_back(row);
      meter.clear();
    }
    if (p.on_snapshot && ((step + 1) % snapshot_steps == 0 || step + 1 == steps || out_of_time)) p.on_snapshot(ema, kimg_done);
    const bool stop = (stop_requested() || (p.stop_after_step > 0 && step + 1 == p.stop_after_step)) && step + 1 < steps;
    if (out_of_time) {
      log_line(log_text("train-l2mgan: time limit of ", p.max_seconds, " s reached after ", (step + 1) * batch, " images"));
      last_step = step + 1;
    }
    if (p.checkpoint_every > 0 && (stop || out_of_time || (step + 1) % p.checkpoint_every == 0 || step + 1 == steps)) {
      ckpt.save([&](const std::string& file) {
        io::write_safetensors(file, checkpoint_tensors(model, ema, d, lat), {{"faceedit.arch", "train-l2mgan-checkpoint"}});
      }, optimizers, {{"step", step + 1}, {"seconds", elapsed()}, {"history", history}});
    }
    if (stop) fail_interrupted("train-l2mgan", step + 1, steps, batch, p.checkpoint_every > 0);
    if (out_of_time) break;
  }
  progress.finish();

  auto report = training_report("L2M-GAN (Yang et al. 2021) at 64 px, guide classifier as attribute critic, faceedit train-l2mgan",
                                fp, last_step, batch, elapsed(), history, first);
  if (last_step < steps) report["stopped_at_time_limit"] = true;
  ema.save(out_path, report);
  log_line(log_text("train-l2mgan: wrote ", out_path, " after ", last_step * batch, " images in ",
                    static_cast<int64_t>(elapsed()), " s"));
  return report;
}

}  // namespace faceedit::train
