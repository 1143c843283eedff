#include "fused_kernels.h"

#include <ATen/Parallel.h>

// at::parallel_for is a template on OpenMP in Debian's LibTorch; compiled without -fopenmp it runs
// every kernel below on one thread, silently (CMakeLists.txt links OpenMP::OpenMP_CXX).
#if AT_PARALLEL_OPENMP && !defined(_OPENMP)
#error "fused_kernels.cpp must be compiled with OpenMP, or at::parallel_for runs serially"
#endif

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

// Compiled for AVX-512, AVX2 and plain x86-64; the loader picks the best the CPU has.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define FACEEDIT_MULTIVERSION __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define FACEEDIT_MULTIVERSION
#endif

namespace faceedit::nn::kernels {

namespace {

// The epilogue's constants, resolved once: v -> clamp(gain * lrelu(v + noise + bias)).
struct Activation {
  const float* bias;
  float slope, gain, lo, hi;
  explicit Activation(const Epilogue& e)
      : bias(e.bias),
        slope(e.lrelu ? 0.2f : 1.0f),
        gain(e.gain),
        lo(e.clamp >= 0 ? -e.clamp : -3.4e38f),
        hi(e.clamp >= 0 ? e.clamp : 3.4e38f) {}
};

// Scalars, not the struct: loads through a reference inside the loops would block vectorisation.
inline float activate(float v, float noise, float bias, float slope, float gain, float lo, float hi) {
  v += noise + bias;
  v = v < 0 ? v * slope : v;  // slope 1 without the leaky ReLU: branch-free either way
  return std::min(std::max(v * gain, lo), hi);
}

// src may equal dst (in place): an element-wise map has no loop-carried dependence (ivdep).
template <int64_t kC>
__attribute__((always_inline)) inline void epilogue_row_body(const float* src, float* dst, int64_t w, int64_t c_any,
                                                             const float* __restrict noise_row, const Activation& a) {
  const int64_t c = kC > 0 ? kC : c_any;
  const float* __restrict bias = a.bias;
  const float slope = a.slope, gain = a.gain, lo = a.lo, hi = a.hi;
  for (int64_t x = 0; x < w; ++x) {
    const float n = noise_row[x];
    const float* px = src + x * c;
    float* py = dst + x * c;
#pragma GCC ivdep
    for (int64_t k = 0; k < c; ++k) py[k] = activate(px[k], n, bias[k], slope, gain, lo, hi);
  }
}

FACEEDIT_MULTIVERSION
void epilogue_row(const float* src, float* dst, int64_t w, int64_t c, const float* noise_row, const Activation& a) {
  switch (c) {
    case 32: return epilogue_row_body<32>(src, dst, w, c, noise_row, a);
    case 64: return epilogue_row_body<64>(src, dst, w, c, noise_row, a);
    case 128: return epilogue_row_body<128>(src, dst, w, c, noise_row, a);
    default: return epilogue_row_body<0>(src, dst, w, c, noise_row, a);
  }
}

// The epilogue without noise over a whole row as one flat run (bias repeated per pixel in
// bias_row [W*C]): fast for any C, where the per-pixel loop crawls at toRGB's C = 3.
FACEEDIT_MULTIVERSION
void epilogue_row_flat(const float* src, float* dst, int64_t n, const float* __restrict bias_row,
                       const Activation& a) {
  const float slope = a.slope, gain = a.gain, lo = a.lo, hi = a.hi;
#pragma GCC ivdep
  for (int64_t j = 0; j < n; ++j) dst[j] = activate(src[j], 0.0f, bias_row[j], slope, gain, lo, hi);
}

// dst[j] = g0 r0[j] + g1 r1[j] + g2 r2[j] + g3 r3[j]: one write per element (no accumulation passes).
FACEEDIT_MULTIVERSION
void weighted_sum4(float* __restrict dst, const float* __restrict r0, const float* __restrict r1,
                   const float* __restrict r2, const float* __restrict r3, const float g[4], int64_t n) {
  const float g0 = g[0], g1 = g[1], g2 = g[2], g3 = g[3];
  for (int64_t j = 0; j < n; ++j) dst[j] = g0 * r0[j] + g1 * r1[j] + g2 * r2[j] + g3 * r3[j];
}

// Horizontal FIR of one vertically filtered row pair and the epilogue, into output row `row` [2W][C].
// te [W+1][C] are the even phase columns; to [W+2][C] the odd ones with a zero column on each side.
//   v[2n]   = g0 o[n-1] + g1 e[n] + g2 o[n] + g3 e[n+1]
//   v[2n+1] = g0 e[n]   + g1 o[n] + g2 e[n+1] + g3 o[n+1]
// kC > 0 fixes C at compile time: at the high resolutions C is 32..128, and a known trip count
// lets the compiler drop the per-pixel loop set-up that otherwise dominates.
template <int64_t kC>
__attribute__((always_inline)) inline void upfir_columns_body(const float* __restrict te, const float* __restrict to,
                                                              float* __restrict row, int64_t w, int64_t c_any,
                                                              const float* __restrict noise_row, const Activation& a) {
  const int64_t c = kC > 0 ? kC : c_any;
  const float g0 = 0.25f, g1 = 0.75f, g2 = 0.75f, g3 = 0.25f;
  const float* __restrict bias = a.bias;
  const float slope = a.slope, gain = a.gain, lo = a.lo, hi = a.hi;
  for (int64_t n = 0; n < w; ++n) {
    const float* __restrict e0 = te + n * c;
    const float* __restrict e1 = e0 + c;
    const float* __restrict om = to + n * c;  // o[n-1], shifted by the zero column
    const float* __restrict o0 = om + c;
    const float* __restrict o1 = o0 + c;
    float* __restrict ev = row + (2 * n) * c;
    float* __restrict od = ev + c;
    const float ne = noise_row ? noise_row[2 * n] : 0.0f, no = noise_row ? noise_row[2 * n + 1] : 0.0f;
#pragma GCC ivdep
    for (int64_t k = 0; k < c; ++k) {
      ev[k] = activate(g0 * om[k] + g1 * e0[k] + g2 * o0[k] + g3 * e1[k], ne, bias[k], slope, gain, lo, hi);
      od[k] = activate(g0 * e0[k] + g1 * o0[k] + g2 * e1[k] + g3 * o1[k], no, bias[k], slope, gain, lo, hi);
    }
  }
}

FACEEDIT_MULTIVERSION
void upfir_columns(const float* te, const float* to, float* row, int64_t w, int64_t c, const float* noise_row,
                   const Activation& a) {
  switch (c) {
    case 32: return upfir_columns_body<32>(te, to, row, w, c, noise_row, a);
    case 64: return upfir_columns_body<64>(te, to, row, w, c, noise_row, a);
    case 128: return upfir_columns_body<128>(te, to, row, w, c, noise_row, a);
    default: return upfir_columns_body<0>(te, to, row, w, c, noise_row, a);
  }
}

// Output row y from the phases: rows 2m and 2m+1 come from phase rows m-1, m, m+1. Per axis, with
// g = [1,3,3,1] / 4 and e/o the even/odd phases (see header):
//   v[2m]   = g0 o[m-1] + g1 e[m] + g2 o[m] + g3 e[m+1]
//   v[2m+1] = g0 e[m]   + g1 o[m] + g2 e[m+1] + g3 o[m+1]
// tmp holds [W+1][C] + [W+2][C] + a zero row of [W+1][C]; rows beyond the edges read the zero row.
void upfir_row(const float* p00, const float* p01, const float* p10, const float* p11, float* out, int64_t h,
               int64_t w, int64_t c, int64_t y, float* tmp, const float* noise_row, const Activation& a) {
  const float g[4] = {0.25f, 0.75f, 0.75f, 0.25f};
  const int64_t m = y / 2;
  float* te = tmp;                          // [W+1][C]
  float* to = te + (w + 1) * c;             // [W+2][C], zero first and last columns
  const float* zero = to + (w + 2) * c;     // [W+1][C] of zeros
  // Phase row r of parity par (0: even rows, H+1 of them; 1: odd rows, H), even and odd columns.
  auto even_cols = [&](int par, int64_t r) -> const float* {
    if (r < 0 || r >= (par == 0 ? h + 1 : h)) return zero;
    return (par == 0 ? p00 : p10) + r * (w + 1) * c;
  };
  auto odd_cols = [&](int par, int64_t r) -> const float* {
    if (r < 0 || r >= (par == 0 ? h + 1 : h)) return zero;
    return (par == 0 ? p01 : p11) + r * w * c;
  };
  // Taps (row parity, phase row) in filter order g0..g3 for this output row.
  const int par[4] = {y % 2 == 0 ? 1 : 0, y % 2 == 0 ? 0 : 1, y % 2 == 0 ? 1 : 0, y % 2 == 0 ? 0 : 1};
  const int64_t r[4] = {y % 2 == 0 ? m - 1 : m, m, y % 2 == 0 ? m : m + 1, m + 1};
  weighted_sum4(te, even_cols(par[0], r[0]), even_cols(par[1], r[1]), even_cols(par[2], r[2]),
                even_cols(par[3], r[3]), g, (w + 1) * c);
  weighted_sum4(to + c, odd_cols(par[0], r[0]), odd_cols(par[1], r[1]), odd_cols(par[2], r[2]),
                odd_cols(par[3], r[3]), g, w * c);
  upfir_columns(te, to, out + y * 2 * w * c, w, c, noise_row, a);
}

// Horizontal half of the image upsampling: row [2W][C] += the FIR of tmp [W+2][C] (zero end columns).
template <int64_t kC>
__attribute__((always_inline)) inline void upsample_add_columns(const float* __restrict tmp, float* __restrict row,
                                                                int64_t w, int64_t c_any) {
  const int64_t c = kC > 0 ? kC : c_any;
  for (int64_t n = 0; n < w; ++n) {
    const float* __restrict left = tmp + n * c;
    const float* __restrict mid = left + c;
    const float* __restrict right = mid + c;
    float* __restrict ev = row + 2 * n * c;
    float* __restrict od = ev + c;
    for (int64_t k = 0; k < c; ++k) {
      ev[k] += 0.25f * left[k] + 0.75f * mid[k];
      od[k] += 0.75f * mid[k] + 0.25f * right[k];
    }
  }
}

// y[2m + a][2n + b] += upsampled image, per axis v[2m] = (x[m-1] + 3 x[m]) / 4 and
// v[2m+1] = (3 x[m] + x[m+1]) / 4 (zero beyond the edges): upfirdn2d(up=2, pad [2,1], gain 4).
FACEEDIT_MULTIVERSION
void upsample_add_row(const float* __restrict img, float* __restrict y, int64_t h, int64_t w, int64_t c, int64_t oy,
                      float* __restrict tmp) {
  const int64_t m = oy / 2;
  const int64_t r0 = oy % 2 == 0 ? m - 1 : m, r1 = oy % 2 == 0 ? m : m + 1;
  const float g0 = oy % 2 == 0 ? 0.25f : 0.75f, g1 = oy % 2 == 0 ? 0.75f : 0.25f;
  // Vertical pass into tmp [W + 2][C] with a zero column on each side.
  std::fill(tmp, tmp + (w + 2) * c, 0.0f);
  for (int pass = 0; pass < 2; ++pass) {
    const int64_t r = pass == 0 ? r0 : r1;
    const float g = pass == 0 ? g0 : g1;
    if (r < 0 || r >= h) continue;
    const float* __restrict src = img + r * w * c;
    float* __restrict dst = tmp + c;
    for (int64_t i = 0; i < w * c; ++i) dst[i] += g * src[i];
  }
  float* __restrict row = y + oy * 2 * w * c;
  // RGB images: C = 3 fixed at compile time, so the per-pixel loop unrolls instead of crawling.
  if (c == 3)
    upsample_add_columns<3>(tmp, row, w, c);
  else
    upsample_add_columns<0>(tmp, row, w, c);
}

// sum_j x[j]^2 y[j], in 16 independent lanes (a single running sum would not vectorise).
FACEEDIT_MULTIVERSION
float squares_dot(const float* __restrict x, const float* __restrict y, int64_t n) {
  constexpr int64_t kLanes = 16;
  float lane[kLanes] = {};
  int64_t j = 0;
  for (; j + kLanes <= n; j += kLanes)
    for (int64_t l = 0; l < kLanes; ++l) lane[l] += x[j + l] * x[j + l] * y[j + l];
  float sum = 0;
  for (; j < n; ++j) sum += x[j] * x[j] * y[j];
  for (float v : lane) sum += v;
  return sum;
}

}  // namespace

void bias_act_nhwc(const float* x, float* y, int64_t h, int64_t w, int64_t c, const Epilogue& e) {
  const Activation a(e);
  if (!e.noise) {
    std::vector<float> bias_row(static_cast<size_t>(w * c));
    for (int64_t j = 0; j < w * c; ++j) bias_row[j] = e.bias[j % c];
    at::parallel_for(0, h, 1, [&](int64_t begin, int64_t end) {
      for (int64_t r = begin; r < end; ++r) epilogue_row_flat(x + r * w * c, y + r * w * c, w * c, bias_row.data(), a);
    });
    return;
  }
  at::parallel_for(0, h, 1, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) epilogue_row(x + r * w * c, y + r * w * c, w, c, e.noise + r * w, a);
  });
}

void upfir_phases_nhwc(const float* p00, const float* p01, const float* p10, const float* p11, float* out, int64_t h,
                       int64_t w, int64_t c, const Epilogue& e) {
  const Activation a(e);
  at::parallel_for(0, 2 * h, 1, [&](int64_t begin, int64_t end) {
    // te, to (with its zero columns) and the zero row; only te's and to's interiors get overwritten.
    std::vector<float> tmp(static_cast<size_t>((3 * w + 4) * c), 0.0f);
    for (int64_t y = begin; y < end; ++y)
      upfir_row(p00, p01, p10, p11, out, h, w, c, y, tmp.data(), e.noise ? e.noise + y * 2 * w : nullptr, a);
  });
}

void upsample2d_add_nhwc(const float* img, float* y, int64_t h, int64_t w, int64_t c) {
  at::parallel_for(0, 2 * h, 8, [&](int64_t begin, int64_t end) {
    std::vector<float> tmp(static_cast<size_t>((w + 2) * c));
    for (int64_t oy = begin; oy < end; ++oy) upsample_add_row(img, y, h, w, c, oy, tmp.data());
  });
}

void demodulation(const float* w, const float* s, int64_t o, int64_t i, int64_t taps, float* d) {
  // Each output channel's weights are one flat run of I * T floats; with the squared styles repeated
  // per tap (s2[j] = s[j / T]^2) the sum is a flat dot product, which vectorises.
  const int64_t n = i * taps;
  std::vector<float> s2(static_cast<size_t>(n));
  for (int64_t j = 0; j < n; ++j) s2[j] = s[j / taps] * s[j / taps];
  at::parallel_for(0, o, 16, [&](int64_t begin, int64_t end) {
    for (int64_t oc = begin; oc < end; ++oc) d[oc] = 1.0f / std::sqrt(squares_dot(w + oc * n, s2.data(), n) + 1e-8f);
  });
}

void modulate_weight(const float* w, const float* s, const float* d, int64_t o, int64_t i, int64_t taps,
                     const TapDestination* to) {
  at::parallel_for(0, o, 16, [&](int64_t begin, int64_t end) {
    for (int64_t oc = begin; oc < end; ++oc) {
      const float* wo = w + oc * i * taps;
      const float scale = d ? d[oc] : 1.0f;
      for (int64_t t = 0; t < taps; ++t) {
        float* dst = to[t].dst + (oc * to[t].dst_taps + to[t].slot) * i;
        for (int64_t ic = 0; ic < i; ++ic) dst[ic] = wo[ic * taps + t] * (s[ic] * scale);
      }
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Adjoints

namespace {

// Rows per block of the epilogue's backward: each block sums into its own slot, and the slots are
// added in block order, so the sums do not depend on how blocks are spread over threads.
constexpr int64_t kRowsPerBlock = 4;

// One row of the epilogue's backward. kConv: also sum g_z * y per channel; kScale: write g_z * scale.
template <typename T, bool kConv, bool kScale>
__attribute__((always_inline)) inline void epilogue_backward_row_body(
    const T* __restrict out, const T* __restrict g_out, T* __restrict g_z, int64_t w, int64_t c,
    const EpilogueGrad<T>& e, const T* __restrict noise_row, T* __restrict bias_acc, T* __restrict conv_acc,
    T* __restrict noise_sum_row) {
  const T neg_slope = e.lrelu ? T(0.2) : T(1), gain = e.gain;
  const T lim = e.clamp >= 0 ? e.clamp : std::numeric_limits<T>::infinity();
  // z from out where the gradient passes: out / (gain * slope).
  const T inv_pos = gain != 0 ? T(1) / gain : T(0), inv_neg = gain != 0 ? T(1) / (gain * neg_slope) : T(0);
  const T* __restrict bias = e.bias;
  const T* __restrict scale = e.scale;
  for (int64_t x = 0; x < w; ++x) {
    const T n = noise_row ? noise_row[x] : T(0);
    const T* __restrict o = out + x * c;
    const T* __restrict go = g_out + x * c;
    T* __restrict gz = g_z + x * c;
    T nsum = 0;
#pragma GCC ivdep
    for (int64_t k = 0; k < c; ++k) {
      const bool pos = o[k] > 0;
      const T g = std::abs(o[k]) < lim ? go[k] * gain * (pos ? T(1) : neg_slope) : T(0);
      gz[k] = kScale ? g * scale[k] : g;
      bias_acc[k] += g;
      if (kConv) conv_acc[k] += g * (o[k] * (pos ? inv_pos : inv_neg) - bias[k] - n);
      nsum += g;
    }
    if (noise_sum_row) noise_sum_row[x] += nsum;
  }
}

template <typename T>
__attribute__((always_inline)) inline void epilogue_backward_row_any(const T* out, const T* g_out, T* g_z, int64_t w,
                                                                     int64_t c, const EpilogueGrad<T>& e,
                                                                     const T* noise_row, T* bias_acc, T* conv_acc,
                                                                     T* noise_sum_row) {
  const bool conv = conv_acc != nullptr, scale = e.scale != nullptr;
  if (conv && scale)
    epilogue_backward_row_body<T, true, true>(out, g_out, g_z, w, c, e, noise_row, bias_acc, conv_acc, noise_sum_row);
  else if (conv)
    epilogue_backward_row_body<T, true, false>(out, g_out, g_z, w, c, e, noise_row, bias_acc, conv_acc, noise_sum_row);
  else if (scale)
    epilogue_backward_row_body<T, false, true>(out, g_out, g_z, w, c, e, noise_row, bias_acc, conv_acc, noise_sum_row);
  else
    epilogue_backward_row_body<T, false, false>(out, g_out, g_z, w, c, e, noise_row, bias_acc, conv_acc, noise_sum_row);
}

FACEEDIT_MULTIVERSION
void epilogue_backward_row(const float* out, const float* g_out, float* g_z, int64_t w, int64_t c,
                           const EpilogueGrad<float>& e, const float* noise_row, float* bias_acc, float* conv_acc,
                           float* noise_sum_row) {
  epilogue_backward_row_any(out, g_out, g_z, w, c, e, noise_row, bias_acc, conv_acc, noise_sum_row);
}

void epilogue_backward_row(const double* out, const double* g_out, double* g_z, int64_t w, int64_t c,
                           const EpilogueGrad<double>& e, const double* noise_row, double* bias_acc, double* conv_acc,
                           double* noise_sum_row) {
  epilogue_backward_row_any(out, g_out, g_z, w, c, e, noise_row, bias_acc, conv_acc, noise_sum_row);
}

// dst[j] = sum_b f[b] src[b * stride + j] for the 4 FIR taps f = [1,3,3,1] / 4, j < n.
template <typename T>
__attribute__((always_inline)) inline void fir4(T* __restrict dst, const T* __restrict src, int64_t stride,
                                                int64_t n) {
  const T f0 = T(0.25), f1 = T(0.75);
#pragma GCC ivdep
  for (int64_t j = 0; j < n; ++j)
    dst[j] = f0 * src[j] + f1 * src[stride + j] + f1 * src[2 * stride + j] + f0 * src[3 * stride + j];
}

// One output row of the FIR adjoint: the vertical pass over g's rows start .. start+3 into tmp
// [2W+4][C] (two zero columns on each side), then the horizontal pass into dst [2W+1][C].
template <typename T>
__attribute__((always_inline)) inline void fir_adjoint_row_any(const T* g, int64_t h, int64_t w, int64_t c,
                                                               int64_t start, T* tmp, T* dst) {
  const T f[4] = {T(0.25), T(0.75), T(0.75), T(0.25)};
  const int64_t n = 2 * w * c;
  T* __restrict mid = tmp + 2 * c;
  std::fill(mid, mid + n, T(0));
  for (int b = 0; b < 4; ++b) {
    const int64_t r = start + b;
    if (r < 0 || r >= 2 * h) continue;
    const T* __restrict src = g + r * n;
    const T fb = f[b];
#pragma GCC ivdep
    for (int64_t j = 0; j < n; ++j) mid[j] += fb * src[j];
  }
  // Output column q takes g columns q-2 .. q+1, i.e. tmp columns q .. q+3: one flat run.
  fir4(dst, tmp, c, (2 * w + 1) * c);
}

FACEEDIT_MULTIVERSION
void fir_adjoint_row(const float* g, int64_t h, int64_t w, int64_t c, int64_t start, float* tmp, float* dst) {
  fir_adjoint_row_any(g, h, w, c, start, tmp, dst);
}

void fir_adjoint_row(const double* g, int64_t h, int64_t w, int64_t c, int64_t start, double* tmp, double* dst) {
  fir_adjoint_row_any(g, h, w, c, start, tmp, dst);
}

// Pixels per block of scale_channels_and_dot's sums.
constexpr int64_t kPixelsPerBlock = 1024;

template <typename T>
__attribute__((always_inline)) inline void scale_dot_block_any(const T* __restrict x, const T* g_u,
                                                               const T* __restrict s, T* g_x, T* __restrict dot,
                                                               int64_t pixels, int64_t c) {
  for (int64_t p = 0; p < pixels; ++p) {
    const T* __restrict xp = x + p * c;
    const T* gp = g_u + p * c;
    T* gxp = g_x + p * c;
#pragma GCC ivdep
    for (int64_t k = 0; k < c; ++k) {
      const T gu = gp[k];
      dot[k] += xp[k] * gu;
      gxp[k] = gu * s[k];
    }
  }
}

FACEEDIT_MULTIVERSION
void scale_dot_block(const float* x, const float* g_u, const float* s, float* g_x, float* dot, int64_t pixels,
                     int64_t c) {
  scale_dot_block_any(x, g_u, s, g_x, dot, pixels, c);
}

void scale_dot_block(const double* x, const double* g_u, const double* s, double* g_x, double* dot, int64_t pixels,
                     int64_t c) {
  scale_dot_block_any(x, g_u, s, g_x, dot, pixels, c);
}

}  // namespace

template <typename T>
void epilogue_backward_nhwc(const T* out, const T* g_out, T* g_z, int64_t h, int64_t w, int64_t c,
                            const EpilogueGrad<T>& e, const EpilogueSums<T>& sums) {
  const int64_t blocks = (h + kRowsPerBlock - 1) / kRowsPerBlock;
  std::vector<T> bias_part(static_cast<size_t>(blocks * c), T(0));
  std::vector<T> conv_part(sums.conv ? static_cast<size_t>(blocks * c) : 0, T(0));
  std::vector<T> noise_sum(sums.noise ? static_cast<size_t>(h * w) : 0, T(0));
  at::parallel_for(0, blocks, 1, [&](int64_t begin, int64_t end) {
    for (int64_t b = begin; b < end; ++b)
      for (int64_t r = b * kRowsPerBlock; r < std::min(h, (b + 1) * kRowsPerBlock); ++r)
        epilogue_backward_row(out + r * w * c, g_out + r * w * c, g_z + r * w * c, w, c, e,
                              e.noise ? e.noise + r * w : nullptr, bias_part.data() + b * c,
                              sums.conv ? conv_part.data() + b * c : nullptr,
                              sums.noise ? noise_sum.data() + r * w : nullptr);
  });
  auto add_parts = [&](const std::vector<T>& part, T* dst) {
    for (int64_t b = 0; b < blocks; ++b)
      for (int64_t k = 0; k < c; ++k) dst[k] += part[b * c + k];
  };
  if (sums.bias) add_parts(bias_part, sums.bias);
  if (sums.conv) add_parts(conv_part, sums.conv);
  if (sums.noise) {
    for (int64_t j = 0; j < h * w; ++j) sums.noise[j] += noise_sum[j];
  }
}

template <typename T>
void fir_adjoint_nhwc(const T* g, T* out, int64_t h, int64_t w, int64_t c) {
  at::parallel_for(0, 2 * h + 1, 1, [&](int64_t begin, int64_t end) {
    std::vector<T> tmp(static_cast<size_t>((2 * w + 4) * c), T(0));
    for (int64_t r = begin; r < end; ++r) fir_adjoint_row(g, h, w, c, r - 2, tmp.data(), out + r * (2 * w + 1) * c);
  });
}

template <typename T>
void scale_channels_and_dot(const T* x, const T* g_u, const T* s, T* g_x, T* dot, int64_t pixels, int64_t c) {
  const int64_t blocks = (pixels + kPixelsPerBlock - 1) / kPixelsPerBlock;
  std::vector<T> part(static_cast<size_t>(blocks * c), T(0));
  at::parallel_for(0, blocks, 1, [&](int64_t begin, int64_t end) {
    for (int64_t b = begin; b < end; ++b) {
      const int64_t p0 = b * kPixelsPerBlock, np = std::min(pixels, p0 + kPixelsPerBlock) - p0;
      scale_dot_block(x + p0 * c, g_u + p0 * c, s, g_x + p0 * c, part.data() + b * c, np, c);
    }
  });
  for (int64_t b = 0; b < blocks; ++b)
    for (int64_t k = 0; k < c; ++k) dot[k] += part[b * c + k];
}

template void epilogue_backward_nhwc<float>(const float*, const float*, float*, int64_t, int64_t, int64_t,
                                            const EpilogueGrad<float>&, const EpilogueSums<float>&);
template void epilogue_backward_nhwc<double>(const double*, const double*, double*, int64_t, int64_t, int64_t,
                                             const EpilogueGrad<double>&, const EpilogueSums<double>&);
template void fir_adjoint_nhwc<float>(const float*, float*, int64_t, int64_t, int64_t);
template void fir_adjoint_nhwc<double>(const double*, double*, int64_t, int64_t, int64_t);
template void scale_channels_and_dot<float>(const float*, const float*, const float*, float*, float*, int64_t, int64_t);
template void scale_channels_and_dot<double>(const double*, const double*, const double*, double*, double*, int64_t,
                                             int64_t);

}  // namespace faceedit::nn::kernels
