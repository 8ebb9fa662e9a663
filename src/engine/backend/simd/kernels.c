// Training kernels for the TensorFlow.js wasm backend, in WebAssembly SIMD.
//
// This module imports the wasm backend's own memory, so every pointer below is
// the heap offset of a tensor the backend owns: no copies in or out. It has no
// data, no globals and no stack frame (no local arrays, nothing whose address
// is taken), so it writes only where its callers point it. Built by
// scripts/build-simd-kernels.mjs; src/engine/backend/simd-kernels.ts calls it.
//
// All tensors are float32, channels last (NHWC), densely packed.

#include <wasm_simd128.h>

#define EXPORT(name) __attribute__((export_name(#name)))

static inline float hsum(v128_t v) {
  return wasm_f32x4_extract_lane(v, 0) + wasm_f32x4_extract_lane(v, 1) +
         wasm_f32x4_extract_lane(v, 2) + wasm_f32x4_extract_lane(v, 3);
}

static inline int max_i(int a, int b) { return a > b ? a : b; }
static inline int min_i(int a, int b) { return a < b ? a : b; }

// Sum of a[i] * b[i] over n floats.
static inline float dot(const float *a, const float *b, int n) {
  v128_t acc0 = wasm_f32x4_splat(0.f), acc1 = wasm_f32x4_splat(0.f);
  int i = 0;
  for (; i + 8 <= n; i += 8) {
    acc0 = wasm_f32x4_add(acc0, wasm_f32x4_mul(wasm_v128_load(a + i), wasm_v128_load(b + i)));
    acc1 = wasm_f32x4_add(acc1, wasm_f32x4_mul(wasm_v128_load(a + i + 4), wasm_v128_load(b + i + 4)));
  }
  for (; i + 4 <= n; i += 4)
    acc0 = wasm_f32x4_add(acc0, wasm_f32x4_mul(wasm_v128_load(a + i), wasm_v128_load(b + i)));
  float s = hsum(wasm_f32x4_add(acc0, acc1));
  for (; i < n; i++) s += a[i] * b[i];
  return s;
}

// A 2-D convolution as dot products over contiguous spans, for layers with
// few output channels (XNNPACK packs output channels in blocks of 8 or 16,
// so a layer with 1-3 of them wastes most of its work).
//
// out[b, oy, ox, co] = sum over p, q, ci of
//   x[b, oy*sh + p - pt, ox*sw + q - pl, ci] * w[co, p, q, ci]
// (zero outside x). Filter w is laid out [cout][kh][kw][cin], so for each
// filter row p both x and w are contiguous over (q, ci): kw*cin floats.
EXPORT(conv2d_dot)
void conv2d_dot(const float *x, const float *w, float *out, int batch, int h, int wd, int cin,
                int kh, int kw, int cout, int oh, int ow, int sh, int sw, int pt, int pl) {
  const int span = kw * cin;
  const int row = wd * cin;
  for (int b = 0; b < batch; b++) {
    const float *xb = x + (long)b * h * row;
    for (int oy = 0; oy < oh; oy++) {
      const int y0 = oy * sh - pt;
      const int p0 = max_i(0, -y0), p1 = min_i(kh, h - y0);
      int ox = 0;
      while (ox < ow) {
        const int x0 = ox * sw - pl;
        float *o = out + (((long)b * oh + oy) * ow + ox) * cout;
        if (ox + 4 <= ow && x0 >= 0 && x0 + 3 * sw + kw <= wd) {
          // Four neighbouring outputs whose filter lies inside the image: four
          // independent sums (one per pixel) sharing each filter load.
          const int vec = span & ~3;
          const int step = sw * cin;
          for (int co = 0; co < cout; co++) {
            const float *wc = w + (long)co * kh * span;
            v128_t a0 = wasm_f32x4_splat(0.f), a1 = a0, a2 = a0, a3 = a0;
            float s0 = 0.f, s1 = 0.f, s2 = 0.f, s3 = 0.f;
            for (int p = p0; p < p1; p++) {
              const float *xr = xb + (y0 + p) * row + x0 * cin;
              const float *wr = wc + p * span;
              int i = 0;
              for (; i < vec; i += 4) {
                const v128_t wv = wasm_v128_load(wr + i);
                a0 = wasm_f32x4_add(a0, wasm_f32x4_mul(wasm_v128_load(xr + i), wv));
                a1 = wasm_f32x4_add(a1, wasm_f32x4_mul(wasm_v128_load(xr + step + i), wv));
                a2 = wasm_f32x4_add(a2, wasm_f32x4_mul(wasm_v128_load(xr + 2 * step + i), wv));
                a3 = wasm_f32x4_add(a3, wasm_f32x4_mul(wasm_v128_load(xr + 3 * step + i), wv));
              }
              for (; i < span; i++) {
                s0 += xr[i] * wr[i];
                s1 += xr[step + i] * wr[i];
                s2 += xr[2 * step + i] * wr[i];
                s3 += xr[3 * step + i] * wr[i];
              }
            }
            o[co] = s0 + hsum(a0);
            o[cout + co] = s1 + hsum(a1);
            o[2 * cout + co] = s2 + hsum(a2);
            o[3 * cout + co] = s3 + hsum(a3);
          }
          ox += 4;
          continue;
        }
        // One output near the left or right edge (or at the end of a row):
        // only the filter columns inside the image.
        const int q0 = max_i(0, -x0), q1 = min_i(kw, wd - x0);
        const int n = (q1 - q0) * cin;
        for (int co = 0; co < cout; co++) {
          const float *wc = w + (long)co * kh * span;
          float s = 0.f;
          if (n > 0)
            for (int p = p0; p < p1; p++)
              s += dot(xb + (y0 + p) * row + (x0 + q0) * cin, wc + p * span + q0 * cin, n);
          o[co] = s;
        }
        ox++;
      }
    }
  }
}

// A stride-1, unpadded convolution of single-channel images (a network's
// first layer on grey images), four neighbouring outputs per vector:
// out[b, oy, ox, co] = sum over p, q of x[b, oy + p, ox + q] * w[p, q, co],
// with w as the layer keeps it ([kh][kw][1][cout]), plus bias[co] where a
// bias is given (not 0) and then max(0, .) where relu is set: a fused layer.
// One version per output channel count (1 to 8), so that its sums stay in
// registers.
#define CONV_C1(C)                                                                             \
  static void conv2d_c1_##C(const float *x, const float *w, const float *bias, int relu,      \
                            float *out, int batch, int h, int wd, int kh, int kw, int oh,     \
                            int ow) {                                                          \
    for (int b = 0; b < batch; b++)                                                            \
      for (int oy = 0; oy < oh; oy++) {                                                        \
        float *o = out + ((long)b * oh + oy) * ow * C;                                         \
        const float *xb = x + ((long)b * h + oy) * wd;                                         \
        int ox = 0;                                                                            \
        for (; ox + 4 <= ow; ox += 4) {                                                        \
          v128_t acc[C];                                                                       \
          for (int co = 0; co < C; co++)                                                       \
            acc[co] = bias ? wasm_v128_load32_splat(bias + co) : wasm_f32x4_splat(0.f);        \
          for (int p = 0; p < kh; p++) {                                                       \
            const float *xr = xb + p * wd + ox;                                                \
            const float *wp = w + p * kw * C;                                                  \
            for (int q = 0; q < kw; q++) {                                                     \
              const v128_t xv = wasm_v128_load(xr + q);                                        \
              for (int co = 0; co < C; co++)                                                   \
                acc[co] = wasm_f32x4_add(acc[co],                                              \
                                         wasm_f32x4_mul(xv, wasm_v128_load32_splat(wp + q * C + co))); \
            }                                                                                  \
          }                                                                                    \
          for (int co = 0; co < C; co++) {                                                     \
            if (relu) acc[co] = wasm_f32x4_pmax(acc[co], wasm_f32x4_splat(0.f));               \
            o[ox * C + co] = wasm_f32x4_extract_lane(acc[co], 0);                              \
            o[(ox + 1) * C + co] = wasm_f32x4_extract_lane(acc[co], 1);                        \
            o[(ox + 2) * C + co] = wasm_f32x4_extract_lane(acc[co], 2);                        \
            o[(ox + 3) * C + co] = wasm_f32x4_extract_lane(acc[co], 3);                        \
          }                                                                                    \
        }                                                                                      \
        for (; ox < ow; ox++)                                                                  \
          for (int co = 0; co < C; co++) {                                                     \
            float s = bias ? bias[co] : 0.f;                                                   \
            for (int p = 0; p < kh; p++)                                                       \
              for (int q = 0; q < kw; q++) s += xb[p * wd + ox + q] * w[(p * kw + q) * C + co]; \
            o[ox * C + co] = relu && s < 0.f ? 0.f : s;                                        \
          }                                                                                    \
      }                                                                                        \
  }
CONV_C1(1)
CONV_C1(2)
CONV_C1(3)
CONV_C1(4)
CONV_C1(5)
CONV_C1(6)
CONV_C1(7)
CONV_C1(8)

// Returns 0 (and does nothing) for channel counts it has no version for.
EXPORT(conv2d_c1)
int conv2d_c1(const float *x, const float *w, const float *bias, int relu, float *out, int batch,
              int h, int wd, int kh, int kw, int cout, int oh, int ow) {
  switch (cout) {
    case 1: conv2d_c1_1(x, w, bias, relu, out, batch, h, wd, kh, kw, oh, ow); return 1;
    case 2: conv2d_c1_2(x, w, bias, relu, out, batch, h, wd, kh, kw, oh, ow); return 1;
    case 3: conv2d_c1_3(x, w, bias, relu, out, batch, h, wd, kh, kw, oh, ow); return 1;
    case 4: conv2d_c1_4(x, w, bias, relu, out, batch, h, wd, kh, kw, oh, ow); return 1;
    case 5: conv2d_c1_5(x, w, bias, relu, out, batch, h, wd, kh, kw, oh, ow); return 1;
    case 6: conv2d_c1_6(x, w, bias, relu, out, batch, h, wd, kh, kw, oh, ow); return 1;
    case 7: conv2d_c1_7(x, w, bias, relu, out, batch, h, wd, kh, kw, oh, ow); return 1;
    case 8: conv2d_c1_8(x, w, bias, relu, out, batch, h, wd, kh, kw, oh, ow); return 1;
    default: return 0;
  }
}

// The filter gradient of a 2-D convolution with stride 1 across, from x and
// dy both transposed to channels first (xt [batch][cin][h][wd], dyt
// [batch][cout][oh][ow]; for one input channel xt is x itself), so that each
// weight is a sum of dot products along image rows:
// dw[p, q, ci, co] = sum over b, oy of the dot product, over ox, of
//   xt[b, ci, oy*sh + p - pt, ox + q - pl] and dyt[b, co, oy, ox].
// dw is [kh][kw][cin][cout], as the layer keeps its filter.
EXPORT(conv2d_filter_grad_t)
void conv2d_filter_grad_t(const float *xt, const float *dyt, float *dw, int batch, int cin, int h,
                          int wd, int kh, int kw, int cout, int oh, int ow, int sh, int pt, int pl) {
  if (pt == 0 && pl == 0 && (oh - 1) * sh + kh <= h && ow - 1 + kw <= wd) {
    // No padding: every weight is a sum over whole rows. Four filter columns
    // at a time, each its own vector sum over every image and output row,
    // sharing the loads of dy.
    const int vec = ow & ~3;
    for (int ci = 0; ci < cin; ci++)
      for (int co = 0; co < cout; co++)
        for (int p = 0; p < kh; p++)
          for (int q0 = 0; q0 < kw; q0 += 4) {
            const int nq = min_i(4, kw - q0);
            v128_t a0 = wasm_f32x4_splat(0.f), a1 = a0, a2 = a0, a3 = a0;
            float s0 = 0.f, s1 = 0.f, s2 = 0.f, s3 = 0.f;
            for (int b = 0; b < batch; b++)
              for (int oy = 0; oy < oh; oy++) {
                const float *g = dyt + (((long)b * cout + co) * oh + oy) * ow;
                const float *xr = xt + (((long)b * cin + ci) * h + oy * sh + p) * wd + q0;
                int i = 0;
                if (nq == 4) {
                  for (; i < vec; i += 4) {
                    const v128_t gv = wasm_v128_load(g + i);
                    a0 = wasm_f32x4_add(a0, wasm_f32x4_mul(wasm_v128_load(xr + i), gv));
                    a1 = wasm_f32x4_add(a1, wasm_f32x4_mul(wasm_v128_load(xr + i + 1), gv));
                    a2 = wasm_f32x4_add(a2, wasm_f32x4_mul(wasm_v128_load(xr + i + 2), gv));
                    a3 = wasm_f32x4_add(a3, wasm_f32x4_mul(wasm_v128_load(xr + i + 3), gv));
                  }
                  for (; i < ow; i++) {
                    s0 += xr[i] * g[i];
                    s1 += xr[i + 1] * g[i];
                    s2 += xr[i + 2] * g[i];
                    s3 += xr[i + 3] * g[i];
                  }
                } else {
                  for (; i < vec; i += 4) {
                    const v128_t gv = wasm_v128_load(g + i);
                    a0 = wasm_f32x4_add(a0, wasm_f32x4_mul(wasm_v128_load(xr + i), gv));
                    if (nq > 1) a1 = wasm_f32x4_add(a1, wasm_f32x4_mul(wasm_v128_load(xr + i + 1), gv));
                    if (nq > 2) a2 = wasm_f32x4_add(a2, wasm_f32x4_mul(wasm_v128_load(xr + i + 2), gv));
                  }
                  for (; i < ow; i++) {
                    s0 += xr[i] * g[i];
                    if (nq > 1) s1 += xr[i + 1] * g[i];
                    if (nq > 2) s2 += xr[i + 2] * g[i];
                  }
                }
              }
            float *d = dw + ((long)(p * kw + q0) * cin + ci) * cout + co;
            const long next = (long)cin * cout; // the next filter column
            d[0] = s0 + hsum(a0);
            if (nq > 1) d[next] = s1 + hsum(a1);
            if (nq > 2) d[2 * next] = s2 + hsum(a2);
            if (nq > 3) d[3 * next] = s3 + hsum(a3);
          }
    return;
  }
  // Padding: each dot product shortened to the columns inside the image.
  for (int i = 0; i < kh * kw * cin * cout; i++) dw[i] = 0.f;
  for (int b = 0; b < batch; b++)
    for (int ci = 0; ci < cin; ci++)
      for (int co = 0; co < cout; co++)
        for (int oy = 0; oy < oh; oy++) {
          const float *g = dyt + (((long)b * cout + co) * oh + oy) * ow;
          const int y0 = oy * sh - pt;
          const int p0 = max_i(0, -y0), p1 = min_i(kh, h - y0);
          for (int p = p0; p < p1; p++) {
            const float *xr = xt + (((long)b * cin + ci) * h + y0 + p) * wd;
            for (int q = 0; q < kw; q++) {
              // Output columns ox whose input column ox + q - pl lies inside.
              const int a0 = max_i(0, pl - q), a1 = min_i(ow, wd + pl - q);
              if (a1 > a0)
                dw[((long)(p * kw + q) * cin + ci) * cout + co] +=
                    dot(xr + a0 + q - pl, g + a0, a1 - a0);
            }
          }
        }
}

// The filter gradient of a 2-D convolution with stride 1 across and no padding,
// channels last and untransposed, for output channel counts that are a
// multiple of 4: each weight vector dw[p, q, ci, co..co+3] is a sum, over
// every image and output position, of the scalar x[b, oy*sh + p, ox + q, ci]
// times the vector dy[b, oy, ox, co..co+3]. One load of dy (8 channels when
// the count allows) serves up to five filter columns, each of which adds one
// broadcast scalar of x times it. Image by image, so that both the image and
// its dy stay in the nearest cache while every weight block passes over them.
#define FG_COL(q)                                                                  \
  if (nq_ > q) {                                                                   \
    const v128_t s = wasm_v128_load32_splat(xr + (q) * cin);                       \
    a##q##0 = wasm_f32x4_add(a##q##0, wasm_f32x4_mul(s, g0));                      \
    if (v_ > 1) a##q##1 = wasm_f32x4_add(a##q##1, wasm_f32x4_mul(s, g1));           \
  }
#define FG_LOAD(q)                                                                 \
  if (nq_ > q) {                                                                   \
    a##q##0 = wasm_v128_load(d + (q) * next);                                      \
    if (v_ > 1) a##q##1 = wasm_v128_load(d + (q) * next + 4);                       \
  }
#define FG_STORE(q)                                                                \
  if (nq_ > q) {                                                                   \
    wasm_v128_store(d + (q) * next, a##q##0);                                      \
    if (v_ > 1) wasm_v128_store(d + (q) * next + 4, a##q##1);                      \
  }
#define FILTER_GRAD_BLOCK(NQ, V)                                                   \
  static void fg_block_##NQ##_##V(const float *xb, const float *dyb, float *d,     \
                                  int wd, int cin, int cout, int oh, int ow,       \
                                  int sh, long next) {                             \
    const int nq_ = NQ, v_ = V;                                                    \
    v128_t a00, a01, a10, a11, a20, a21, a30, a31, a40, a41;                       \
    a00 = a01 = a10 = a11 = a20 = a21 = a30 = a31 = a40 = a41 = wasm_f32x4_splat(0.f); \
    FG_LOAD(0) FG_LOAD(1) FG_LOAD(2) FG_LOAD(3) FG_LOAD(4)                         \
    for (int oy = 0; oy < oh; oy++) {                                              \
      const float *xr = xb + (long)oy * sh * wd * cin;                             \
      const float *g = dyb + (long)oy * ow * cout;                                 \
      for (int ox = 0; ox < ow; ox++, xr += cin, g += cout) {                      \
        const v128_t g0 = wasm_v128_load(g);                                       \
        const v128_t g1 = v_ > 1 ? wasm_v128_load(g + 4) : g0;                     \
        FG_COL(0) FG_COL(1) FG_COL(2) FG_COL(3) FG_COL(4)                          \
      }                                                                            \
    }                                                                              \
    FG_STORE(0) FG_STORE(1) FG_STORE(2) FG_STORE(3) FG_STORE(4)                    \
  }
FILTER_GRAD_BLOCK(1, 1)
FILTER_GRAD_BLOCK(2, 1)
FILTER_GRAD_BLOCK(3, 1)
FILTER_GRAD_BLOCK(4, 1)
FILTER_GRAD_BLOCK(5, 1)
FILTER_GRAD_BLOCK(1, 2)
FILTER_GRAD_BLOCK(2, 2)
FILTER_GRAD_BLOCK(3, 2)
FILTER_GRAD_BLOCK(4, 2)
FILTER_GRAD_BLOCK(5, 2)

// Returns 0 (and does nothing) unless cout is a multiple of 4 and every
// window lies inside the image (no padding).
EXPORT(conv2d_filter_grad_nhwc)
int conv2d_filter_grad_nhwc(const float *x, const float *dy, float *dw, int batch, int h, int wd,
                            int cin, int kh, int kw, int cout, int oh, int ow, int sh) {
  if (cout % 4 != 0 || (oh - 1) * sh + kh > h || ow - 1 + kw > wd) return 0;
  const int v = cout % 8 == 0 ? 2 : 1;
  const long next = (long)cin * cout; // from one filter column to the next
  for (long i = 0; i < (long)kh * kw * next; i++) dw[i] = 0.f;
  for (int b = 0; b < batch; b++) {
    const float *dyb = dy + (long)b * oh * ow * cout;
    for (int p = 0; p < kh; p++)
      for (int ci = 0; ci < cin; ci++)
        for (int q0 = 0; q0 < kw; q0 += 5) {
          const int nq = min_i(5, kw - q0);
          const float *xb = x + (((long)b * h + p) * wd + q0) * cin + ci;
          for (int co = 0; co < cout; co += 4 * v) {
            float *d = dw + ((long)(p * kw + q0) * cin + ci) * cout + co;
            const float *g = dyb + co;
            switch (nq * 2 + v - 1) {
              case 2: fg_block_1_1(xb, g, d, wd, cin, cout, oh, ow, sh, next); break;
              case 4: fg_block_2_1(xb, g, d, wd, cin, cout, oh, ow, sh, next); break;
              case 6: fg_block_3_1(xb, g, d, wd, cin, cout, oh, ow, sh, next); break;
              case 8: fg_block_4_1(xb, g, d, wd, cin, cout, oh, ow, sh, next); break;
              case 10: fg_block_5_1(xb, g, d, wd, cin, cout, oh, ow, sh, next); break;
              case 3: fg_block_1_2(xb, g, d, wd, cin, cout, oh, ow, sh, next); break;
              case 5: fg_block_2_2(xb, g, d, wd, cin, cout, oh, ow, sh, next); break;
              case 7: fg_block_3_2(xb, g, d, wd, cin, cout, oh, ow, sh, next); break;
              case 9: fg_block_4_2(xb, g, d, wd, cin, cout, oh, ow, sh, next); break;
              default: fg_block_5_2(xb, g, d, wd, cin, cout, oh, ow, sh, next); break;
            }
          }
        }
  }
  return 1;
}

// MaxPoolGrad: each output gradient goes to the first largest input of its
// window, scanning rows top to bottom and each row left to right (as the
// TensorFlow.js cpu backend picks it; an input must exceed -inf, so NaN and
// -inf windows pass nothing back).
//
// Windows that tile the image (stride = window, no padding: LeNet's and most
// networks' pooling) find each winner by compare-and-select (no branches to
// mispredict) and write every input position once, so dx needs no zeroing
// except the rows and columns no window covers. With 4 or more channels, four
// at once in SIMD; channel counts not a multiple of 4 end with an overlapping
// group of 4 (same values written twice). Other windows take the general
// path, which zeroes dx and adds each gradient to its winner.
// One 2x2 window's gradient in scalar code, channels d of its top-left input
// at xa (row: floats per image row; c: channels): the first largest input
// above -inf, scanning a, b (top row) then c, d (bottom row), takes gv.
static inline void pool_grad_2x2_one(const float *xa, float *da, float gv, int row, int c) {
  const float a = xa[0], b2 = xa[c], c2 = xa[row], d2 = xa[row + c];
  const int ga = a > -__builtin_inff();
  float best = ga ? a : -__builtin_inff();
  const int gb = b2 > best;
  best = gb ? b2 : best;
  const int gc = c2 > best;
  best = gc ? c2 : best;
  const int gd = d2 > best;
  da[row + c] = gd ? gv : 0.f;
  da[row] = gc && !gd ? gv : 0.f;
  da[c] = gb && !gc && !gd ? gv : 0.f;
  da[0] = ga && !gb && !gc && !gd ? gv : 0.f;
}

// 2x2 windows tiling images of 2 or 3 channels (a small conv net's pooling),
// every channel of a window in one vector: lane d compares the window's four
// inputs of channel d, loaded from the four places the window starts (lanes
// past c read the next inputs; their results are overwritten). The winner is
// as the scalar scan picks it: in each column the top unless the bottom is
// larger (inputs not above -inf count as -inf, NaN included), then the right
// column when its best is larger, or equal with its winner in the top row and
// the left's in the bottom. Windows go left to right, so each store's spare
// lanes land on the next window's places before that window writes them;
// the last window of each row, whose spare lanes would leave the row, is
// scalar.
static void max_pool_grad_2x2_small(const float *x, const float *dy, float *dx, int batch, int h,
                                    int wd, int c, int oh, int ow) {
  const int row = wd * c;
  const v128_t none = wasm_f32x4_splat(-__builtin_inff());
  for (int b = 0; b < batch; b++)
    for (int oy = 0; oy < oh; oy++) {
      const long top = ((long)b * h + (long)oy * 2) * row;
      const float *g = dy + ((long)b * oh + oy) * ow * c;
      int ox = 0;
      for (; ox + 1 < ow; ox++) {
        const long at = top + (long)ox * 2 * c;
        v128_t ka = wasm_v128_load(x + at), kb = wasm_v128_load(x + at + c);
        v128_t kc = wasm_v128_load(x + at + row), kd = wasm_v128_load(x + at + row + c);
        ka = wasm_v128_bitselect(ka, none, wasm_f32x4_gt(ka, none));
        kb = wasm_v128_bitselect(kb, none, wasm_f32x4_gt(kb, none));
        kc = wasm_v128_bitselect(kc, none, wasm_f32x4_gt(kc, none));
        kd = wasm_v128_bitselect(kd, none, wasm_f32x4_gt(kd, none));
        const v128_t leftLow = wasm_f32x4_gt(kc, ka), rightLow = wasm_f32x4_gt(kd, kb);
        const v128_t ml = wasm_v128_bitselect(kc, ka, leftLow);
        const v128_t mr = wasm_v128_bitselect(kd, kb, rightLow);
        const v128_t right = wasm_v128_or(
            wasm_f32x4_gt(mr, ml),
            wasm_v128_and(wasm_f32x4_eq(mr, ml), wasm_v128_andnot(leftLow, rightLow)));
        const v128_t best = wasm_v128_bitselect(mr, ml, right);
        const v128_t gv = wasm_v128_and(wasm_v128_load(g + (long)ox * c), wasm_f32x4_gt(best, none));
        const v128_t gl = wasm_v128_andnot(gv, right), gr = wasm_v128_and(gv, right);
        wasm_v128_store(dx + at, wasm_v128_andnot(gl, leftLow));
        wasm_v128_store(dx + at + c, wasm_v128_andnot(gr, rightLow));
        wasm_v128_store(dx + at + row, wasm_v128_and(gl, leftLow));
        wasm_v128_store(dx + at + row + c, wasm_v128_and(gr, rightLow));
      }
      const long at = top + (long)ox * 2 * c;
      for (int d = 0; d < c; d++) pool_grad_2x2_one(x + at + d, dx + at + d, g[ox * c + d], row, c);
    }
}

EXPORT(max_pool_grad)
void max_pool_grad(const float *x, const float *dy, float *dx, int batch, int h, int wd, int c,
                   int oh, int ow, int fh, int fw, int sh, int sw, int pt, int pl) {
  const int row = wd * c;
  const int tiles = fh == sh && fw == sw && pt == 0 && pl == 0 && oh * fh <= h && ow * fw <= wd;
  if (!tiles || oh * fh != h || ow * fw != wd) {
    const long size = (long)batch * h * row;
    for (long i = 0; i < size; i++) dx[i] = 0.f;
  }
  if (tiles && fh == 2 && fw == 2 && (c == 2 || c == 3) && ow > 1) {
    max_pool_grad_2x2_small(x, dy, dx, batch, h, wd, c, oh, ow);
    return;
  }
  if (tiles) {
    const v128_t none = wasm_f32x4_splat(-__builtin_inff());
    for (int b = 0; b < batch; b++) {
      for (int oy = 0; oy < oh; oy++) {
        for (int ox = 0; ox < ow; ox++) {
          const long base = ((long)b * h + (long)oy * fh) * row + (long)ox * fw * c;
          const float *g = dy + (((long)b * oh + oy) * ow + ox) * c;
          if (c < 4 && fh == 2 && fw == 2) {
            // 2x2 windows, unrolled.
            for (int d = 0; d < c; d++) pool_grad_2x2_one(x + base + d, dx + base + d, g[d], row, c);
            continue;
          }
          if (c < 4) {
            for (int d = 0; d < c; d++) {
              float best = -__builtin_inff();
              int which = -1;
              for (int r = 0; r < fh; r++)
                for (int q = 0; q < fw; q++) {
                  const float v = x[base + (long)r * row + q * c + d];
                  const int gt = v > best;
                  best = gt ? v : best;
                  which = gt ? r * fw + q : which;
                }
              for (int r = 0; r < fh; r++)
                for (int q = 0; q < fw; q++)
                  dx[base + (long)r * row + q * c + d] = which == r * fw + q ? g[d] : 0.f;
            }
            continue;
          }
          for (int d0 = 0; d0 < c; d0 += 4) {
            const int d = d0 + 4 <= c ? d0 : c - 4;
            v128_t best = none;
            v128_t which = wasm_i32x4_splat(-1);
            for (int r = 0; r < fh; r++)
              for (int q = 0; q < fw; q++) {
                const v128_t v = wasm_v128_load(x + base + (long)r * row + q * c + d);
                const v128_t gt = wasm_f32x4_gt(v, best);
                best = wasm_v128_bitselect(v, best, gt);
                which = wasm_v128_bitselect(wasm_i32x4_splat(r * fw + q), which, gt);
              }
            const v128_t gv = wasm_v128_load(g + d);
            for (int r = 0; r < fh; r++)
              for (int q = 0; q < fw; q++) {
                const v128_t mine = wasm_i32x4_eq(which, wasm_i32x4_splat(r * fw + q));
                wasm_v128_store(dx + base + (long)r * row + q * c + d, wasm_v128_and(gv, mine));
              }
          }
        }
      }
    }
    return;
  }
  long at = 0;
  for (int b = 0; b < batch; b++) {
    const long base = (long)b * h * row;
    for (int oy = 0; oy < oh; oy++) {
      const int r0 = max_i(0, oy * sh - pt), r1 = min_i(h, oy * sh - pt + fh);
      for (int ox = 0; ox < ow; ox++) {
        const int c0 = max_i(0, ox * sw - pl), c1 = min_i(wd, ox * sw - pl + fw);
        for (int d = 0; d < c; d++, at++) {
          float best = -__builtin_inff();
          long where = -1;
          for (int r = r0; r < r1; r++) {
            long p = base + (long)r * row + (long)c0 * c + d;
            for (int cc = c0; cc < c1; cc++, p += c) {
              const int gt = x[p] > best;
              best = gt ? x[p] : best;
              where = gt ? p : where;
            }
          }
          if (where >= 0) dx[where] += dy[at];
        }
      }
    }
  }
}

// Zero padding of images: out is [batch][h + pt + pb][wd + pl + pr][c], x
// copied into it at row pt, column pl.
EXPORT(pad_images)
void pad_images(const float *x, float *out, int batch, int h, int wd, int c, int pt, int pb, int pl,
                int pr) {
  const int ow = wd + pl + pr;
  const long orow = (long)ow * c;
  const int row = wd * c;
  for (int b = 0; b < batch; b++) {
    float *ob = out + (long)b * (h + pt + pb) * orow;
    for (long i = 0; i < pt * orow; i++) ob[i] = 0.f;
    for (int y = 0; y < h; y++) {
      float *o = ob + (pt + y) * orow;
      const float *xr = x + ((long)b * h + y) * row;
      for (int i = 0; i < pl * c; i++) o[i] = 0.f;
      o += pl * c;
      for (int i = 0; i < row; i++) o[i] = xr[i];
      o += row;
      for (int i = 0; i < pr * c; i++) o[i] = 0.f;
    }
    float *bottom = ob + (pt + h) * orow;
    for (long i = 0; i < pb * orow; i++) bottom[i] = 0.f;
  }
}

// Images moved by (dy, dx) pixels: out[b, i, j, :] = x[b, i + dy, j + dx, :]
// where that pixel lies inside the image, else fill. Its gradient is the
// opposite move filled with 0.
EXPORT(shift_images)
void shift_images(const float *x, float *out, int batch, int h, int wd, int c, int dy, int dx,
                  float fill) {
  const int row = wd * c;
  const int j0 = max_i(0, -dx), j1 = min_i(wd, wd - dx); // output columns with a source
  for (int b = 0; b < batch; b++)
    for (int i = 0; i < h; i++) {
      float *o = out + ((long)b * h + i) * row;
      const int from = i + dy;
      if (from < 0 || from >= h || j1 <= j0) {
        for (int k = 0; k < row; k++) o[k] = fill;
        continue;
      }
      const float *src = x + ((long)b * h + from) * row + (long)(j0 + dx) * c;
      for (int k = 0; k < j0 * c; k++) o[k] = fill;
      float *mid = o + j0 * c;
      const int n = (j1 - j0) * c;
      for (int k = 0; k < n; k++) mid[k] = src[k];
      for (int k = j1 * c; k < row; k++) o[k] = fill;
    }
}

// out[i] = x[i] op pattern[i % period] over n floats (or pattern op x where
// swap is set, for sub): an element-wise op with one operand broadcast, such
// as a layer's bias (c channels) or one image's mask over a batch. pattern is
// that operand repeated to a period that is a multiple of 4 floats (c floats
// repeat every lcm(c, 4)), so that any size runs in whole vectors.
// ops: 0 add, 1 sub, 2 mul, 3 max, 4 min (max and min return NaN where
// either input is NaN, as tfjs's do).
#define BINARY_PERIODIC(NAME, VEC, SCALAR)                                                     \
  static void NAME(const float *x, const float *pattern, float *out, long n, int period,      \
                   int swap) {                                                                \
    const long whole = n / period * period;                                                   \
    for (long i = 0; i < whole; i += period)                                                  \
      for (int j = 0; j < period; j += 4) {                                                   \
        const v128_t a = wasm_v128_load(x + i + j), b = wasm_v128_load(pattern + j);          \
        wasm_v128_store(out + i + j, swap ? VEC(b, a) : VEC(a, b));                           \
      }                                                                                       \
    for (long i = whole; i < n; i++) {                                                        \
      const float a = x[i], b = pattern[i - whole];                                           \
      out[i] = swap ? SCALAR(b, a) : SCALAR(a, b);                                            \
    }                                                                                         \
  }

static inline float add_f(float a, float b) { return a + b; }
static inline float sub_f(float a, float b) { return a - b; }
static inline float mul_f(float a, float b) { return a * b; }
static inline float max_f(float a, float b) { return a != a || b != b ? a + b : a > b ? a : b; }
static inline float min_f(float a, float b) { return a != a || b != b ? a + b : a < b ? a : b; }
BINARY_PERIODIC(add_periodic, wasm_f32x4_add, add_f)
BINARY_PERIODIC(sub_periodic, wasm_f32x4_sub, sub_f)
BINARY_PERIODIC(mul_periodic, wasm_f32x4_mul, mul_f)
BINARY_PERIODIC(max_periodic, wasm_f32x4_max, max_f)
BINARY_PERIODIC(min_periodic, wasm_f32x4_min, min_f)

// Returns 0 (and does nothing) for an op it does not know.
EXPORT(binary_periodic)
int binary_periodic(int op, const float *x, const float *pattern, float *out, long n, int period,
                    int swap) {
  switch (op) {
    case 0: add_periodic(x, pattern, out, n, period, swap); return 1;
    case 1: sub_periodic(x, pattern, out, n, period, swap); return 1;
    case 2: mul_periodic(x, pattern, out, n, period, swap); return 1;
    case 3: max_periodic(x, pattern, out, n, period, swap); return 1;
    case 4: min_periodic(x, pattern, out, n, period, swap); return 1;
    default: return 0;
  }
}

// out[j] = sum over i of x[i, j], x being rows of c floats (n floats in all):
// a layer's bias gradient. acc (period floats, period a multiple of both c and
// 4) holds the partial sums of each position in the period.
EXPORT(sum_rows)
void sum_rows(const float *x, float *acc, float *out, long n, int period, int c) {
  for (int j = 0; j < period; j++) acc[j] = 0.f;
  const long whole = n / period * period;
  for (long i = 0; i < whole; i += period)
    for (int j = 0; j < period; j += 4)
      wasm_v128_store(acc + j, wasm_f32x4_add(wasm_v128_load(acc + j), wasm_v128_load(x + i + j)));
  for (long i = whole; i < n; i++) acc[i - whole] += x[i];
  for (int j = 0; j < c; j++) {
    float s = 0.f;
    for (int k = j; k < period; k += c) s += acc[k];
    out[j] = s;
  }
}

// dx[i] = dy[i] where x[i] > 0, NaN where x[i] is NaN, else 0: the gradient
// of relu (x its input) as tfjs computes it (dy * step(x)), in one pass
// instead of three (step, cast, multiply).
EXPORT(relu_grad)
void relu_grad(const float *dy, const float *x, float *dx, long n) {
  const v128_t zero = wasm_f32x4_splat(0.f);
  long i = 0;
  for (; i + 4 <= n; i += 4) {
    const v128_t xi = wasm_v128_load(x + i);
    const v128_t pass = wasm_v128_and(wasm_v128_load(dy + i), wasm_f32x4_gt(xi, zero));
    wasm_v128_store(dx + i, wasm_v128_or(pass, wasm_v128_and(xi, wasm_f32x4_ne(xi, xi))));
  }
  for (; i < n; i++) dx[i] = x[i] > 0.f ? dy[i] : x[i] != x[i] ? x[i] : 0.f;
}

// One Adam step, as tfjs's AdamOptimizer computes it, into new buffers (the
// wasm backend caches packed weights by buffer, so weights are never changed
// in place):
//   m' = b1 m + a1 g,  v' = b2 v + a2 g^2,
//   w' = w - lr (m' / c1) / (sqrt(v' / c2) + eps)
// where c1 = 1 - b1^t and c2 = 1 - b2^t (the bias corrections), and a1 and a2
// are 1 - b1 and 1 - b2 as tfjs rounds them (from double, not float32).
EXPORT(adam_update)
void adam_update(const float *w, const float *m, const float *v, const float *g, float *w2,
                 float *m2, float *v2, int n, float lr, float b1, float a1, float b2, float a2,
                 float eps, float c1, float c2) {
  for (int i = 0; i < n; i++) {
    const float gi = g[i];
    const float mi = m[i] * b1 + gi * a1;
    const float vi = v[i] * b2 + (gi * gi) * a2;
    m2[i] = mi;
    v2[i] = vi;
    w2[i] = (mi / c1) / (__builtin_sqrtf(vi / c2) + eps) * -lr + w[i];
  }
}
