#include "faceedit/train/gan/gan_augment.h"

#include <sstream>

#include "faceedit/error.h"

namespace faceedit::train {

AugmentPolicy AugmentPolicy::parse(const std::string& text) {
  AugmentPolicy p{false, false, false};
  if (text.empty() || text == "none") return p;
  std::stringstream in(text);
  std::string word;
  while (std::getline(in, word, ',')) {
    if (word == "color") p.color = true;
    else if (word == "translation") p.translation = true;
    else if (word == "cutout") p.cutout = true;
    else fail("--augment " + text, "unknown operation '" + word + "' (use color, translation, cutout or none)");
  }
  return p;
}

std::string AugmentPolicy::str() const {
  std::string s;
  for (auto [on, name] : {std::pair{color, "color"}, {translation, "translation"}, {cutout, "cutout"}})
    if (on) s += (s.empty() ? "" : ",") + std::string(name);
  return s.empty() ? "none" : s;
}

AugmentDraw draw_augment(int64_t n, int64_t height, int64_t width, const AugmentPolicy& policy, torch::Generator gen) {
  AugmentDraw d;
  const auto f = torch::TensorOptions().dtype(torch::kFloat32);
  const auto l = torch::TensorOptions().dtype(torch::kInt64);
  if (policy.color) {
    d.brightness = torch::rand({n}, gen, f) - 0.5;
    d.saturation = torch::rand({n}, gen, f) * 2;
    d.contrast = torch::rand({n}, gen, f) + 0.5;
  }
  const int64_t size = std::min(height, width);
  if (policy.translation) {
    const int64_t s = (size + 4) / 8;  // int(size * 0.125 + 0.5)
    d.shift_y = torch::randint(-s, s + 1, {n}, gen, l);
    d.shift_x = torch::randint(-s, s + 1, {n}, gen, l);
  }
  if (policy.cutout) {
    d.cut_size = (size + 1) / 2;  // int(size * 0.5 + 0.5)
    d.cut_y = torch::randint(0, height + (1 - d.cut_size % 2), {n}, gen, l);
    d.cut_x = torch::randint(0, width + (1 - d.cut_size % 2), {n}, gen, l);
  }
  return d;
}

namespace {

torch::Tensor per_image(const torch::Tensor& v, const torch::Tensor& like) {
  return v.to(like.options()).reshape({-1, 1, 1, 1});
}

// x shifted so that out[y][x] = in[y + sy][x + sx], zeros where that falls outside.
torch::Tensor shift(const torch::Tensor& x, int64_t sy, int64_t sx) {
  const int64_t h = x.size(1), w = x.size(2);
  namespace F = torch::nn::functional;
  const int64_t p = std::max({std::abs(sy), std::abs(sx), int64_t{1}});
  auto padded = F::pad(x.unsqueeze(0), F::PadFuncOptions({p, p, p, p})).squeeze(0);
  return padded.narrow(1, p + sy, h).narrow(2, p + sx, w);
}

}  // namespace

torch::Tensor apply_augment(const torch::Tensor& images, const AugmentDraw& d) {
  auto x = images;
  const int64_t n = x.size(0), h = x.size(2), w = x.size(3);
  if (d.brightness.defined()) {
    x = x + per_image(d.brightness, x);
    const auto mean_c = x.mean(1, true);
    x = (x - mean_c) * per_image(d.saturation, x) + mean_c;
    const auto mean = x.mean({1, 2, 3}, true);
    x = (x - mean) * per_image(d.contrast, x) + mean;
  }
  if (d.shift_y.defined()) {
    std::vector<torch::Tensor> out;
    out.reserve(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) out.push_back(shift(x[i], d.shift_y[i].item<int64_t>(), d.shift_x[i].item<int64_t>()));
    x = torch::stack(out);
  }
  if (d.cut_y.defined()) {
    auto mask = torch::ones({n, 1, h, w}, x.options().requires_grad(false));
    for (int64_t i = 0; i < n; ++i) {
      const int64_t y0 = std::clamp<int64_t>(d.cut_y[i].item<int64_t>() - d.cut_size / 2, 0, h);
      const int64_t x0 = std::clamp<int64_t>(d.cut_x[i].item<int64_t>() - d.cut_size / 2, 0, w);
      const int64_t y1 = std::min(h, d.cut_y[i].item<int64_t>() - d.cut_size / 2 + d.cut_size);
      const int64_t x1 = std::min(w, d.cut_x[i].item<int64_t>() - d.cut_size / 2 + d.cut_size);
      if (y1 > y0 && x1 > x0) mask[i].narrow(1, y0, y1 - y0).narrow(2, x0, x1 - x0).zero_();
    }
    x = x * mask;
  }
  return x;
}

}  // namespace faceedit::train
