// Fused kernels for the StyleGAN2 synthesis layers. Single-sample, channels-last ([H][W][C] memory).
// The forward ones are float32; the backward ones (the adjoints at the end) are templates for float
// (the training and inversion path) and double (gradient checks). Tested against the LibTorch
// reference composition in tests/nn/test_ops.cpp and tests/nn/test_ops_autograd.cpp.
#pragma once

#include <cstdint>

namespace faceedit::nn::kernels {

struct Epilogue {
  const float* bias = nullptr;   // [C]
  const float* noise = nullptr;  // [H][W] of the output, or null
  bool lrelu = false;            // leaky ReLU, slope 0.2
  float gain = 1.0f;
  float clamp = -1.0f;  // < 0: none
};

// y[h][w][c] = epilogue(x[h][w][c]); x == y works in place.
void bias_act_nhwc(const float* x, float* y, int64_t h, int64_t w, int64_t c, const Epilogue& e);

// Output [2H][2W][C] from the four phases of a stride-2 transposed 3x3 convolution:
//   p00 [H+1][W+1][C], p01 [H+1][W][C], p10 [H][W+1][C], p11 [H][W][C]
// (phase (a, b) holds the transposed-conv output at rows 2m+a, columns 2n+b), filtered with
// outer([1,3,3,1]) / 16 (the [1,3,3,1] FIR at gain 4, padding 1), then the epilogue.
void upfir_phases_nhwc(const float* p00, const float* p01, const float* p10, const float* p11, float* out, int64_t h,
                       int64_t w, int64_t c, const Epilogue& e);

// y [2H][2W][C] += upsample2d(img [H][W][C]) (the skip path's image upsampling, [1,3,3,1] FIR).
void upsample2d_add_nhwc(const float* img, float* y, int64_t h, int64_t w, int64_t c);

// Demodulation coefficients of weight w [O][I][T] (T = kh * kw taps) modulated by styles s [I]:
//   d[o] = 1 / sqrt(sum_{i,t} (w[o][i][t] s[i])^2 + 1e-8).
void demodulation(const float* w, const float* s, int64_t o, int64_t i, int64_t taps, float* d);

// Where one tap of the kernel goes: into `dst` [O][dst_taps][I] (a channels-last weight) at slot.
struct TapDestination {
  float* dst = nullptr;
  int64_t dst_taps = 1;
  int64_t slot = 0;
};

// Modulated weights in one pass over w [O][I][T]: tap t of output channel o lands at
// to[t].dst[o][to[t].slot][i] = w[o][i][t] * s[i] * (d ? d[o] : 1). One call writes a whole
// channels-last kernel or, for the up-convolution, all four phase sub-kernels at once.
void modulate_weight(const float* w, const float* s, const float* d, int64_t o, int64_t i, int64_t taps,
                     const TapDestination* to);

// ---------------------------------------------------------------------------------------------
// Adjoints (backward passes)

// The epilogue's backward, from its output: out = clamp(gain * lrelu(z)), z = y + noise + bias.
// Reading the output instead of z (as NVIDIA's bias_act does) keeps nothing extra alive: the slope
// is that of out's sign (z = 0 -> 0.2, as LibTorch's leaky_relu), and where |out| reached the clamp
// the gradient is 0 (LibTorch passes it at exactly +-clamp: a set of measure zero).
template <typename T>
struct EpilogueGrad {
  const T* bias = nullptr;   // [C]
  const T* noise = nullptr;  // [H][W] or null
  const T* scale = nullptr;  // [C]: g_z is written times scale[c] (the demodulation), or null
  bool lrelu = false;
  T gain = 1, clamp = -1;
};
// What the pass also sums (null: not wanted), each over the whole image, in a fixed order (so the
// result does not depend on the thread count):
template <typename T>
struct EpilogueSums {
  T* bias = nullptr;   // [C] += sum_p g_z
  T* noise = nullptr;  // [H][W] += sum_c g_z
  T* conv = nullptr;   // [C] += sum_p g_z * y (y = z - bias - noise, the convolution's output)
};
template <typename T>
void epilogue_backward_nhwc(const T* out, const T* g_out, T* g_z, int64_t h, int64_t w, int64_t c,
                            const EpilogueGrad<T>& e, const EpilogueSums<T>& sums);

// The adjoint of the up-convolution's FIR (upfir_phases_nhwc): g [2H][2W][C] -> the gradient of the
// transposed convolution's output, [2H+1][2W+1][C]: per axis, with f = [1,3,3,1] / 4,
// out[r] = f . g[r-2 .. r+1] (zero outside). Its rows/columns of parity (a, b) are the gradients of
// phase (a, b); those of parity (1, 1) also make the adjoint of the image upsampling (upsample2d).
template <typename T>
void fir_adjoint_nhwc(const T* g, T* out, int64_t h, int64_t w, int64_t c);

// g_x[p][i] = g_u[p][i] * s[i] and dot[i] += sum_p x[p][i] g_u[p][i] over P pixels, in one pass
// (g_x may equal g_u); the sums in a fixed order, as above.
template <typename T>
void scale_channels_and_dot(const T* x, const T* g_u, const T* s, T* g_x, T* dot, int64_t pixels, int64_t c);

}  // namespace faceedit::nn::kernels
