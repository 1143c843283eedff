#include "faceedit/edit/pfsf_walk.h"

#include <cmath>

#include "faceedit/error.h"
#include "faceedit/io/safetensors.h"

namespace faceedit::edit {

using models::LatentSpace;

torch::Tensor project_out(const torch::Tensor& v, const std::vector<torch::Tensor>& others) {
  const auto dot = [](const torch::Tensor& a, const torch::Tensor& b) { return (a * b).sum(1, true); };
  const auto tiny = 1e-6 * v.norm(2, 1, true);
  std::vector<torch::Tensor> basis;
  for (const auto& o : others) {
    auto u = o.clone();
    for (const auto& e : basis) u = u - dot(u, e) * e;
    const auto n = u.norm(2, 1, true);
    // Rows where u is ~0 (o ~0, or dependent on earlier vectors) add no direction.
    const auto keep = (n > tiny) & (n > 1e-6 * o.norm(2, 1, true));
    basis.push_back(torch::where(keep, u / n.clamp_min(1e-30), torch::zeros_like(u)));
  }
  auto r = v.clone();
  for (const auto& e : basis) r = r - dot(r, e) * e;
  return r;
}

namespace {

std::vector<double> to_vector(const torch::Tensor& t) {
  auto c = t.detach().to(torch::kCPU, torch::kFloat64).contiguous();
  return {c.data_ptr<double>(), c.data_ptr<double>() + c.numel()};
}

// Columns preserved: the requested ones, or every other probability column.
std::vector<int64_t> preserved_indices(const models::AttributeClassifier& clf, int64_t target, const WalkParams& p,
                                       std::vector<std::string>& names) {
  std::vector<int64_t> idx;
  if (!p.preserve.empty()) {
    for (const auto& name : p.preserve) {
      const int64_t k = clf.column(name);
      if (clf.columns()[k].kind != models::ColumnKind::Probability) fail("walk", "preserved column '" + name + "' is not a probability");
      if (k != target) idx.push_back(k), names.push_back(name);
    }
    return idx;
  }
  for (int64_t k = 0; k < static_cast<int64_t>(clf.columns().size()); ++k)
    if (k != target && clf.columns()[k].kind == models::ColumnKind::Probability) idx.push_back(k), names.push_back(clf.columns()[k].name);
  return idx;
}

}  // namespace

WalkPath pfsf_walk(const models::Generator& g, models::AttributeClassifier& clf, models::IdentityEmbedder* identity,
                   const torch::Tensor& pivot, LatentSpace space, const torch::Tensor& direction_in, const WalkParams& p,
                   const torch::Tensor& strength_in) {
  g.check_latents(pivot, space, "walk pivot");
  if (!(p.step_length > 0) || p.max_steps < 1 || !(p.threshold > 0 && p.threshold < 1))
    fail("walk", "needs step_length > 0, max_steps >= 1 and a threshold in (0, 1)");
  const int64_t target = clf.column(p.attribute);
  if (clf.columns()[target].kind != models::ColumnKind::Probability) fail("walk", "'" + p.attribute + "' is not a probability column");
  torch::AutoGradMode grad_mode(true);
  const int64_t n = pivot.size(0);
  const auto dev = pivot.device();
  const auto fopt = torch::TensorOptions().dtype(torch::kFloat32).device(dev);
  WalkPath path;
  path.space = space;
  const auto pres = preserved_indices(clf, target, p, path.preserved_columns);
  auto dir = direction_in.to(fopt).reshape({-1}).sign();
  if (dir.numel() == 1) dir = dir.expand({n}).clone();
  if (dir.numel() != n || (dir == 0).any().item<bool>()) fail("walk", "direction must be +1 or -1 per sample");
  auto strength = strength_in.defined() ? strength_in.to(fopt).reshape({-1}) : torch::full({n}, p.max_strength, fopt);
  if (strength.numel() != n || (strength < 0).any().item<bool>()) fail("walk", "strengths must be >= 0, one per sample");
  const bool clamp = p.clamp_to_prior && space == LatentSpace::Z && g.z_is_box();
  const auto images_of = [&](const torch::Tensor& x) {
    return g.generate(x, space, models::Generator::truncation_for(space, p.truncation), p.noise);
  };
  torch::Tensor e0;
  if (identity != nullptr) {
    torch::NoGradGuard no_grad;
    e0 = identity->embed(images_of(pivot));
  }

  std::vector<torch::Tensor> lat, probs, preserved;
  auto x = pivot.detach().to(torch::kFloat32).clone();
  auto crossing = torch::full({n}, -1.0, fopt);
  auto walked = torch::zeros({n}, fopt);
  // Every gradient of a step comes from one batched pass: replica j of the batch carries objective j
  // (target logit, each preserved logit, identity), so one backward gives them all.
  const int64_t reps = 1 + static_cast<int64_t>(pres.size()) + (identity != nullptr ? 1 : 0);
  for (int step = 0;; ++step) {
    auto xg = x.detach().repeat([&] { std::vector<int64_t> r(x.dim(), 1); r[0] = reps; return r; }()).requires_grad_(true);
    auto img = images_of(xg);
    auto logits = clf.logits(img);
    auto pr = torch::sigmoid(logits.narrow(0, 0, n).detach());
    lat.push_back(x.clone());
    probs.push_back(pr.select(1, target).clone());
    preserved.push_back(pres.empty() ? torch::zeros({n, 0}, fopt) : pr.index_select(1, torch::tensor(pres).to(dev)));
    // Crossing: first step on the target side, interpolated between it and the previous step.
    const auto side = dir * (probs.back() - p.threshold);
    const auto fresh = (crossing < 0) & (side >= 0);
    if (fresh.any().item<bool>()) {
      torch::Tensor at = torch::full({n}, static_cast<double>(step), fopt);
      if (step > 0) {
        const auto prev = probs[probs.size() - 2], cur = probs.back();
        const auto frac = ((p.threshold - prev) / (cur - prev).where((cur - prev).abs() > 1e-12, torch::ones_like(cur))).clamp(0, 1);
        at = at - 1 + frac;
      }
      crossing = torch::where(fresh, at, crossing);
    }
    // Still walking: until ceil(strength * crossing) after a crossing, else until the budget.
    const auto need = torch::where(crossing >= 0, (strength * crossing).ceil(), torch::full({n}, 1e9, fopt));
    const auto active = (walked < need) & (step < p.max_steps);
    if (!active.any().item<bool>()) break;

    auto objective = logits.narrow(0, 0, n).select(1, target).sum();
    for (size_t j = 0; j < pres.size(); ++j) objective = objective + logits.narrow(0, static_cast<int64_t>(1 + j) * n, n).select(1, pres[j]).sum();
    if (identity != nullptr) objective = objective + (identity->embed(img.narrow(0, (reps - 1) * n, n)) * e0).sum();
    auto grads = torch::autograd::grad({objective}, {xg})[0].reshape({reps, n, -1});
    if (clamp) {
      // Coordinates on the box's faces stay where they are: a step the clamp shortened would no longer
      // be orthogonal to the preserved gradients (inverted DCGAN codes have 10-20 of 100 at +-1, and
      // with them the walk drifted: p(male) 0.04 -> 0.71 on a smile walk).
      grads = grads * (x.reshape({1, n, -1}).abs() < 1.0 - 1e-4).to(grads.scalar_type());
    }
    auto gt = grads[0];
    std::vector<torch::Tensor> others;
    for (int64_t j = 1; j < reps; ++j) others.push_back(grads[j]);
    auto s = project_out(gt, others);
    s = s / s.norm(2, 1, true).clamp_min(1e-30) * p.step_length * dir.unsqueeze(1) * active.unsqueeze(1).to(torch::kFloat32);
    x = x + s.reshape(x.sizes());
    if (clamp) x = x.clamp(-1.0, 1.0);
    walked = walked + active.to(torch::kFloat32);
  }
  path.latents = torch::stack(lat).detach();
  path.probs = torch::stack(probs);
  path.preserved = torch::stack(preserved);
  path.direction = dir;
  path.crossing = crossing;
  path.steps_walked = walked;
  return path;
}

torch::Tensor WalkPath::point(const torch::Tensor& strength_in) const {
  const int64_t n = latents.size(1);
  auto strength = strength_in.to(crossing.options()).reshape({-1});
  if (strength.numel() != n) fail("walk", "one strength per sample expected");
  if ((strength < 0).any().item<bool>()) fail("walk", "strengths must be >= 0 (the sign is the direction)");
  const auto c = torch::where(crossing >= 0, crossing, steps_walked);
  const auto t = torch::minimum(strength * c, steps_walked).clamp_min(0);
  std::vector<torch::Tensor> out;
  for (int64_t i = 0; i < n; ++i) {
    const double ti = t[i].item<double>();
    const int64_t lo = static_cast<int64_t>(std::floor(ti)), hi = std::min<int64_t>(lo + 1, steps());
    const double f = ti - lo;
    out.push_back(latents[lo][i] * (1 - f) + latents[hi][i] * f);
  }
  return torch::stack(out);
}

nlohmann::json WalkPath::to_json() const {
  nlohmann::json samples = nlohmann::json::array();
  for (int64_t i = 0; i < latents.size(1); ++i) {
    const int64_t k = static_cast<int64_t>(steps_walked[i].item<float>());
    nlohmann::json s{{"direction", direction[i].item<double>()}, {"crossing", crossing[i].item<double>()},
                     {"crossed", crossing[i].item<double>() >= 0}, {"steps", k},
                     {"probs", to_vector(probs.narrow(0, 0, k + 1).select(1, i))}};
    for (size_t j = 0; j < preserved_columns.size(); ++j)
      s["preserved"][preserved_columns[j]] = {to_vector(preserved[0][i][j])[0], to_vector(preserved[k][i][j])[0]};
    samples.push_back(s);
  }
  return {{"space", models::to_string(space)}, {"samples", samples}};
}

void WalkPath::save(const std::string& path) const {
  io::write_safetensors(path,
                        {{"latents", latents.cpu()}, {"probs", probs.cpu()}, {"preserved", preserved.cpu()},
                         {"crossing", crossing.cpu()}, {"direction", direction.cpu()}, {"steps_walked", steps_walked.cpu()}},
                        {{"faceedit.format", "faceedit.walk/1"}, {"faceedit.space", models::to_string(space)},
                         {"faceedit.preserved", nlohmann::json(preserved_columns).dump()}});
}

PfsfEditor::PfsfEditor(std::shared_ptr<const models::Generator> generator, std::shared_ptr<models::AttributeClassifier> classifier,
                       PfsfEditorParams params, std::shared_ptr<models::IdentityEmbedder> identity)
    : g_(std::move(generator)), classifier_(std::move(classifier)), identity_(std::move(identity)), p_(std::move(params)) {
  if (!g_ || !classifier_) fail("pfsf editor", "needs a generator and a classifier");
  if (!g_->has_space(p_.space)) fail("pfsf editor", "the " + g_->arch() + " generator has no " + models::to_string(p_.space) + " space");
  p_.walk.attribute = p_.attribute;
  classifier_->column(p_.attribute);  // an Error listing the columns when absent
}

WalkPath PfsfEditor::walk(const torch::Tensor& latents, const torch::Tensor& alpha) const {
  auto a = alpha.to(torch::kFloat32).to(latents.device()).reshape({-1});
  return pfsf_walk(*g_, *classifier_, identity_.get(), latents, p_.space, torch::where(a < 0, -1.0, 1.0).to(torch::kFloat32),
                   p_.walk, a.abs());
}

torch::Tensor PfsfEditor::edit(const torch::Tensor& latents, const torch::Tensor& alpha) const {
  g_->check_latents(latents, p_.space, "pfsf edit");
  auto a = alpha.to(torch::kFloat32).to(latents.device()).reshape({-1});
  if (a.numel() != latents.size(0)) fail("pfsf edit", "one alpha per latent expected");
  auto out = latents.clone();
  const auto idx = (a != 0).nonzero().reshape({-1});
  if (idx.numel() == 0) return out;
  const auto sel = latents.index_select(0, idx), as = a.index_select(0, idx);
  const auto path = walk(sel, as);
  out.index_copy_(0, idx, path.point(as.abs()).to(out.scalar_type()));
  return out;
}

torch::Tensor PfsfEditor::flip_sign(const torch::Tensor& latents) const {
  torch::NoGradGuard no_grad;
  const double psi = models::Generator::truncation_for(p_.space, p_.walk.truncation);
  auto prob = classifier_->predict(g_->generate(latents, p_.space, psi, p_.walk.noise)).select(1, classifier_->column(p_.attribute));
  return torch::where(prob >= p_.walk.threshold, -1.0, 1.0).to(torch::kFloat32);
}

nlohmann::json PfsfEditor::describe() const {
  return {{"method", "pfsf"},
          {"attribute", p_.attribute},
          {"space", models::to_string(p_.space)},
          {"classifier", classifier_->name()},
          {"identity", identity_ ? identity_->name() : "none"},
          {"step_length", p_.walk.step_length},
          {"threshold", p_.walk.threshold},
          {"max_steps", p_.walk.max_steps},
          {"preserve", p_.walk.preserve}};
}

}  // namespace faceedit::edit
