#include "faceedit/nn/filtered_lrelu.h"

#include <cmath>

#include "faceedit/error.h"
#include "faceedit/nn/ops.h"

namespace faceedit::nn {

namespace {

namespace F = torch::nn::functional;

void check_filter(const torch::Tensor& f, const char* what) {
  if (!f.defined()) return;
  if (f.dim() != 1 && f.dim() != 2) fail(what, "a filter must be 1-D or 2-D, got " + c10::str(f.sizes()));
  if (f.dim() == 2 && f.size(0) != f.size(1)) fail(what, "a 2-D filter must be square, got " + c10::str(f.sizes()));
}

// Pads (positive) or crops (negative) the last two dims: x0, x1 along W, y0, y1 along H.
torch::Tensor pad_or_crop(torch::Tensor x, const Padding4& p) {
  const auto [x0, x1, y0, y1] = p;
  if (x0 > 0 || x1 > 0 || y0 > 0 || y1 > 0)
    x = F::pad(x, F::PadFuncOptions({std::max<int64_t>(x0, 0), std::max<int64_t>(x1, 0), std::max<int64_t>(y0, 0),
                                     std::max<int64_t>(y1, 0)}));
  const int64_t cy0 = std::max<int64_t>(-y0, 0), cy1 = std::max<int64_t>(-y1, 0);
  const int64_t cx0 = std::max<int64_t>(-x0, 0), cx1 = std::max<int64_t>(-x1, 0);
  if (cy0 || cy1) x = x.narrow(2, cy0, x.size(2) - cy0 - cy1);
  if (cx0 || cx1) x = x.narrow(3, cx0, x.size(3) - cx0 - cx1);
  return x;
}

// Depthwise convolution of every channel with the same (already flipped) filter, `stride` along the
// filtered axes: stride 1 and a slice [::down] afterwards are the same samples, so the reference
// uses stride 1 (as upfirdn2d does) and the polyphase path the stride.
torch::Tensor depthwise(const torch::Tensor& x, const torch::Tensor& f, int64_t stride) {
  const int64_t c = x.size(1);
  if (f.dim() == 2) {
    auto w = f.view({1, 1, f.size(0), f.size(1)}).expand({c, 1, -1, -1}).contiguous();
    return F::conv2d(x, w, F::Conv2dFuncOptions().stride(stride).groups(c));
  }
  const int64_t k = f.size(0);
  auto wx = f.view({1, 1, 1, k}).expand({c, 1, 1, k}).contiguous();
  auto wy = f.view({1, 1, k, 1}).expand({c, 1, k, 1}).contiguous();
  auto y = F::conv2d(x, wx, F::Conv2dFuncOptions().stride({1, stride}).groups(c));
  return F::conv2d(y, wy, F::Conv2dFuncOptions().stride({stride, 1}).groups(c));
}

torch::Tensor leaky_gain_clamp(torch::Tensor x, double gain, double slope, double clamp) {
  if (slope != 1.0) x = F::leaky_relu(x, F::LeakyReLUFuncOptions().negative_slope(slope));
  if (gain != 1.0) x = x * gain;
  if (clamp >= 0) x = x.clamp(-clamp, clamp);
  return x;
}

// One axis (dim 2 or 3) of the upsampling step, by phases: output sample j = q*up + r only meets
// the input samples under every up-th filter tap, so each phase r is a plain convolution at the
// input resolution with its sub-filter; the phases are then interleaved. Same sums as convolving
// the zero-inserted signal, without the products with zeros. f: the 1-D filter, unflipped, with
// its gain; p0/p1: the padding of this axis after zero insertion.
torch::Tensor upsample_axis_polyphase(const torch::Tensor& x, const torch::Tensor& f, int64_t up, int64_t p0,
                                      int64_t p1, int64_t dim) {
  const int64_t n = x.size(dim), k = f.size(0), c = x.size(1);
  const int64_t out_len = n * up + p0 + p1 - k + 1;
  const int64_t q_len = (out_len + up - 1) / up;
  // y[j] = sum_i x[i] f[j + cc - i*up] with cc = k - 1 - p0 (the zero-inserted, padded signal).
  const int64_t cc = k - 1 - p0;
  std::vector<torch::Tensor> phases;
  int64_t lo_need = 0, hi_need = 0;  // input range each phase reads, relative to [0, n)
  struct Phase { int64_t start, taps; torch::Tensor w; };
  std::vector<Phase> plan;
  for (int64_t r = 0; r < up; ++r) {
    const int64_t rc = r + cc;
    const int64_t s = rc >= 0 ? rc / up : -((-rc + up - 1) / up);  // floor division
    const int64_t t = rc - s * up;
    const int64_t taps = (k - t + up - 1) / up;
    // out[q] = sum_e x[q + s - taps + 1 + e] * f[(taps - 1 - e) * up + t]
    auto idx = torch::arange(taps - 1, -1, -1, torch::kLong) * up + t;
    auto sub = f.index_select(0, idx.to(f.device()));
    const int64_t start = s - taps + 1;
    lo_need = std::min(lo_need, start);
    hi_need = std::max(hi_need, start + q_len - 1 + taps);
    plan.push_back({start, taps, sub});
  }
  const int64_t pad_lo = -lo_need, pad_hi = std::max<int64_t>(hi_need - n, 0);
  auto xp = dim == 3 ? F::pad(x, F::PadFuncOptions({pad_lo, pad_hi, 0, 0})) : F::pad(x, F::PadFuncOptions({0, 0, pad_lo, pad_hi}));
  for (const auto& ph : plan) {
    auto win = xp.narrow(dim, ph.start + pad_lo, q_len + ph.taps - 1);
    auto w = dim == 3 ? ph.w.view({1, 1, 1, ph.taps}).expand({c, 1, 1, ph.taps}).contiguous()
                      : ph.w.view({1, 1, ph.taps, 1}).expand({c, 1, ph.taps, 1}).contiguous();
    phases.push_back(F::conv2d(win, w, F::Conv2dFuncOptions().groups(c)));
  }
  auto y = torch::stack(phases, dim + 1);  // [..., q_len, up] along `dim`
  auto sizes = y.sizes().vec();
  sizes[dim] *= up;
  sizes.erase(sizes.begin() + dim + 1);
  return y.reshape(sizes).narrow(dim, 0, out_len);
}

}  // namespace

torch::Tensor upfirdn2d_filter(const torch::Tensor& x_in, const torch::Tensor& f, int64_t up, int64_t down,
                               const Padding4& padding, double gain) {
  check_filter(f, "upfirdn2d");
  if (x_in.dim() != 4) fail("upfirdn2d", "expects NCHW, got " + c10::str(x_in.sizes()));
  auto x = x_in;
  const int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  if (up > 1) {  // zero insertion
    x = x.reshape({n, c, h, 1, w, 1});
    x = F::pad(x, F::PadFuncOptions({0, up - 1, 0, 0, 0, up - 1}));
    x = x.reshape({n, c, h * up, w * up});
  }
  x = pad_or_crop(x, padding);
  if (f.defined()) {
    auto ff = (f * std::pow(gain, f.dim() / 2.0)).to(x.scalar_type()).flip(f.dim() == 2 ? std::vector<int64_t>{0, 1}
                                                                                        : std::vector<int64_t>{0});
    x = depthwise(x, ff, 1);
  } else if (gain != 1.0) {
    x = x * gain;
  }
  if (down > 1) x = x.slice(2, 0, c10::nullopt, down).slice(3, 0, c10::nullopt, down);
  return x;
}

torch::Tensor filtered_lrelu_reference(const torch::Tensor& x, const torch::Tensor& fu, const torch::Tensor& fd,
                                       const torch::Tensor& bias, int64_t up, int64_t down, const Padding4& padding,
                                       double gain, double slope, double clamp) {
  auto y = bias.defined() ? x + bias.view({1, -1, 1, 1}) : x;
  y = upfirdn2d_filter(y, fu, up, 1, padding, static_cast<double>(up * up));
  y = leaky_gain_clamp(y, gain, slope, clamp);
  return upfirdn2d_filter(y, fd, 1, down, {0, 0, 0, 0}, 1.0);
}

torch::Tensor filtered_lrelu_polyphase(const torch::Tensor& x, const torch::Tensor& fu, const torch::Tensor& fd,
                                       const torch::Tensor& bias, int64_t up, int64_t down, const Padding4& padding,
                                       double gain, double slope, double clamp) {
  check_filter(fu, "filtered_lrelu up filter");
  check_filter(fd, "filtered_lrelu down filter");
  auto y = bias.defined() ? x + bias.view({1, -1, 1, 1}) : x;
  if (up > 1 && fu.defined() && fu.dim() == 1) {
    auto f = (fu * static_cast<double>(up)).to(y.scalar_type());  // gain up^2 split over the two axes
    // Negative padding crops after the (conceptual) zero insertion: the phase bookkeeping takes any sign.
    y = upsample_axis_polyphase(y, f, up, padding[0], padding[1], 3);
    y = upsample_axis_polyphase(y, f, up, padding[2], padding[3], 2);
  } else {
    y = upfirdn2d_filter(y, fu, up, 1, padding, static_cast<double>(up * up));
  }
  y = leaky_gain_clamp(y, gain, slope, clamp);
  if (!fd.defined()) return down > 1 ? y.slice(2, 0, c10::nullopt, down).slice(3, 0, c10::nullopt, down) : y;
  auto ff = fd.to(y.scalar_type()).flip(fd.dim() == 2 ? std::vector<int64_t>{0, 1} : std::vector<int64_t>{0});
  return depthwise(y, ff, down);  // strided: only the kept samples are computed
}

torch::Tensor filtered_lrelu(const torch::Tensor& x, const torch::Tensor& fu, const torch::Tensor& fd,
                             const torch::Tensor& bias, int64_t up, int64_t down, const Padding4& padding, double gain,
                             double slope, double clamp) {
  if (reference_ops_forced())
    return filtered_lrelu_reference(x, fu, fd, bias, up, down, padding, gain, slope, clamp);
  return filtered_lrelu_polyphase(x, fu, fd, bias, up, down, padding, gain, slope, clamp);
}

// ---------------------------------------------------------------------------------------------
// Filter design (scipy.signal.firwin with a Kaiser window; the radial jinc of networks_stylegan3.py)

namespace {

double kaiser_beta_for(int64_t numtaps, double width_rel_nyquist) {
  const double atten = 2.285 * static_cast<double>(numtaps - 1) * M_PI * width_rel_nyquist + 7.95;  // kaiser_atten
  if (atten > 50) return 0.1102 * (atten - 8.7);
  if (atten > 21) return 0.5842 * std::pow(atten - 21, 0.4) + 0.07886 * (atten - 21);
  return 0.0;
}

std::vector<double> kaiser_window(int64_t m, double beta) {  // numpy.kaiser
  std::vector<double> w(static_cast<size_t>(m));
  const double alpha = (static_cast<double>(m) - 1) / 2;
  for (int64_t n = 0; n < m; ++n) {
    const double r = alpha > 0 ? (static_cast<double>(n) - alpha) / alpha : 0.0;
    w[static_cast<size_t>(n)] = std::cyl_bessel_i(0.0, beta * std::sqrt(std::max(0.0, 1 - r * r))) / std::cyl_bessel_i(0.0, beta);
  }
  return w;
}

double sinc(double x) { return x == 0 ? 1.0 : std::sin(M_PI * x) / (M_PI * x); }

}  // namespace

torch::Tensor design_lowpass_filter(int64_t numtaps, double cutoff, double width, double fs, bool radial) {
  if (numtaps < 1) fail("design_lowpass_filter", "numtaps must be >= 1");
  if (numtaps == 1) return {};
  const double nyq = fs / 2;
  const auto win = kaiser_window(numtaps, kaiser_beta_for(numtaps, width / nyq));
  const auto n = static_cast<size_t>(numtaps);
  if (!radial) {
    const double c = cutoff / nyq, alpha = 0.5 * static_cast<double>(numtaps - 1);
    std::vector<double> h(n);
    double sum = 0;
    for (size_t i = 0; i < n; ++i) {
      h[i] = c * sinc(c * (static_cast<double>(i) - alpha)) * win[i];
      sum += h[i];
    }
    auto out = torch::empty({numtaps}, torch::kFloat64);
    for (size_t i = 0; i < n; ++i) out[static_cast<int64_t>(i)] = h[i] / sum;  // unit gain at DC
    return out.to(torch::kFloat32);
  }
  std::vector<double> x(n), f(n * n);
  for (size_t i = 0; i < n; ++i) x[i] = (static_cast<double>(i) - static_cast<double>(numtaps - 1) / 2) / fs;
  double sum = 0;
  for (size_t i = 0; i < n; ++i)
    for (size_t j = 0; j < n; ++j) {
      const double r = std::hypot(x[j], x[i]);
      double v = r == 0 ? cutoff : std::cyl_bessel_j(1.0, 2 * cutoff * M_PI * r) / (M_PI * r);  // limit at 0: cutoff
      v *= win[i] * win[j];
      f[i * n + j] = v;
      sum += v;
    }
  auto out = torch::empty({numtaps, numtaps}, torch::kFloat64);
  auto acc = out.accessor<double, 2>();
  for (size_t i = 0; i < n; ++i)
    for (size_t j = 0; j < n; ++j) acc[static_cast<int64_t>(i)][static_cast<int64_t>(j)] = f[i * n + j] / sum;
  return out.to(torch::kFloat32);
}

}  // namespace faceedit::nn
