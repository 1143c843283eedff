#include "fused_kernels.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <vector>

// Compiled for AVX-512, AVX2 and plain x86-64; the loader picks the best the CPU has.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define FACEEDIT_MULTIVERSION __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define FACEEDIT_MULTIVERSION
#endif

namespace faceedit::nn::kernels {

namespace {

FACEEDIT_MULTIVERSION
void epilogue_row(float* __restrict y, int64_t w, int64_t c, const float* __restrict noise_row, const Epilogue& e) {
  const float* __restrict bias = e.bias;
  const float gain = e.gain, lo = e.clamp >= 0 ? -e.clamp : -3.4e38f, hi = e.clamp >= 0 ? e.clamp : 3.4e38f;
  const bool lrelu = e.lrelu;
  for (int64_t x = 0; x < w; ++x) {
    const float n = noise_row ? noise_row[x] : 0.0f;
    float* __restrict px = y + x * c;
    for (int64_t k = 0; k < c; ++k) {
      float v = px[k] + n + bias[k];
      if (lrelu) v = v < 0 ? v * 0.2f : v;
      v *= gain;
      px[k] = std::min(std::max(v, lo), hi);
    }
  }
}

// One output row pair's worth of work: rows 2m and 2m+1 of the output come from phase rows
// m-1, m, m+1. Per axis, with g = [1,3,3,1] / 4 and e/o the even/odd phases (see header):
//   v[2m]   = g0 o[m-1] + g1 e[m] + g2 o[m] + g3 e[m+1]
//   v[2m+1] = g0 e[m]   + g1 o[m] + g2 e[m+1] + g3 o[m+1]
FACEEDIT_MULTIVERSION
void upfir_row(const float* p00, const float* p01, const float* p10, const float* p11, float* out, int64_t h,
               int64_t w, int64_t c, int64_t y, float* __restrict tmp) {
  // First the vertical filter into tmp: two rows (even phase-columns [W+1][C], odd [W][C]) for output row y.
  const float g[4] = {0.25f, 0.75f, 0.75f, 0.25f};
  const int64_t m = y / 2;
  // Taps (phase row parity, phase row index, weight) for output row y.
  struct Tap {
    int a;
    int64_t r;
    float g;
  } taps[4];
  if (y % 2 == 0)
    taps[0] = {1, m - 1, g[0]}, taps[1] = {0, m, g[1]}, taps[2] = {1, m, g[2]}, taps[3] = {0, m + 1, g[3]};
  else
    taps[0] = {0, m, g[0]}, taps[1] = {1, m, g[1]}, taps[2] = {0, m + 1, g[2]}, taps[3] = {1, m + 1, g[3]};
  float* __restrict te = tmp;                 // [W+1][C]: even phase columns
  float* __restrict to = tmp + (w + 1) * c;  // [W][C]: odd phase columns
  std::fill(te, te + (2 * w + 1) * c, 0.0f);  // not the zero row after it
  for (const Tap& t : taps) {
    const int64_t rows = t.a == 0 ? h + 1 : h;
    if (t.r < 0 || t.r >= rows) continue;
    const float* __restrict se = (t.a == 0 ? p00 : p10) + t.r * (w + 1) * c;
    const float* __restrict so = (t.a == 0 ? p01 : p11) + t.r * w * c;
    const float gw = t.g;
    for (int64_t i = 0; i < (w + 1) * c; ++i) te[i] += gw * se[i];
    for (int64_t i = 0; i < w * c; ++i) to[i] += gw * so[i];
  }
  // Then the horizontal filter into the output row: [2W][C]. The odd phase has W columns; its
  // neighbours beyond the edges are zero (a zero row keeps the inner loop branch-free).
  float* __restrict zeros = to + w * c;  // tmp has C spare floats, kept zero
  float* __restrict row = out + y * 2 * w * c;
  for (int64_t n = 0; n < w; ++n) {
    float* __restrict ev = row + (2 * n) * c;
    float* __restrict od = row + (2 * n + 1) * c;
    const float* __restrict e0 = te + n * c;
    const float* __restrict e1 = te + (n + 1) * c;
    const float* __restrict o0 = to + n * c;
    const float* __restrict om = n > 0 ? to + (n - 1) * c : zeros;
    const float* __restrict o1 = n + 1 < w ? to + (n + 1) * c : zeros;
    for (int64_t k = 0; k < c; ++k) {
      ev[k] = g[0] * om[k] + g[1] * e0[k] + g[2] * o0[k] + g[3] * e1[k];
      od[k] = g[0] * e0[k] + g[1] * o0[k] + g[2] * e1[k] + g[3] * o1[k];
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
  for (int64_t n = 0; n < w; ++n) {
    const float* __restrict left = tmp + n * c;
    const float* __restrict mid = tmp + (n + 1) * c;
    const float* __restrict right = tmp + (n + 2) * c;
    float* __restrict ev = row + 2 * n * c;
    float* __restrict od = row + (2 * n + 1) * c;
    for (int64_t k = 0; k < c; ++k) {
      ev[k] += 0.25f * left[k] + 0.75f * mid[k];
      od[k] += 0.75f * mid[k] + 0.25f * right[k];
    }
  }
}

}  // namespace

void bias_act_nhwc(float* y, int64_t h, int64_t w, int64_t c, const Epilogue& e) {
  at::parallel_for(0, h, 1, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) epilogue_row(y + r * w * c, w, c, e.noise ? e.noise + r * w : nullptr, e);
  });
}

void upfir_phases_nhwc(const float* p00, const float* p01, const float* p10, const float* p11, float* out, int64_t h,
                       int64_t w, int64_t c, const Epilogue& e) {
  at::parallel_for(0, 2 * h, 1, [&](int64_t begin, int64_t end) {
    std::vector<float> tmp(static_cast<size_t>((2 * w + 2) * c), 0.0f);
    for (int64_t y = begin; y < end; ++y) {
      upfir_row(p00, p01, p10, p11, out, h, w, c, y, tmp.data());
      epilogue_row(out + y * 2 * w * c, 2 * w, c, e.noise ? e.noise + y * 2 * w : nullptr, e);
    }
  });
}

}  // namespace faceedit::nn::kernels

namespace faceedit::nn::kernels {

void upsample2d_add_nhwc(const float* img, float* y, int64_t h, int64_t w, int64_t c) {
  at::parallel_for(0, 2 * h, 8, [&](int64_t begin, int64_t end) {
    std::vector<float> tmp(static_cast<size_t>((w + 2) * c));
    for (int64_t oy = begin; oy < end; ++oy) upsample_add_row(img, y, h, w, c, oy, tmp.data());
  });
}

}  // namespace faceedit::nn::kernels
