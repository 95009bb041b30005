/*
 * tn_seed.h -- the seed network (3 inputs, 4 sigmoid hidden units, 1 sigmoid
 * output, no biases, mse), forward and backward fused into one loop over the
 * samples of a block: every sample's whole computation stays in registers,
 * the loop is vectorised across samples, and the 16 gradient sums, the loss
 * and the checks are SIMD reductions.  Same maths as the general kernel
 * (docs/derivation.md, section 1), specialised because `tinynet.MLP()` is the
 * network this library grew from and must be fast.
 *
 *   H = X W1, Z = s(H), O = Z W2, yhat = s(O), l = (yhat - y)^2 / 2
 *   d = w (yhat - y) yhat (1 - yhat)
 *   dW2[l] += d Z_l;   dW1[k][l] += d W2[l] Z_l (1 - Z_l) X_k
 *
 * g receives += sums: dW1 (row-major, 12), dW2 (4), loss, weight; returns
 * 0, or 1 / 2 if X / Y hold NaN or infinity (then g is not updated).
 */
#ifndef TN_SEED_H
#define TN_SEED_H

#include "tn_math.h"
#include "tn_math256.h"
#include "tn_math512.h"

/* The loop a build carries: on AVX-512 or AVX2 registers with intrinsics
 * (tn_seed512.h, tn_seed256.h), else the portable loop below. */
#if TN_HAVE_AVX512
#include "tn_seed512.h"
#define TN_SEED_LOOP "avx512"
#elif TN_HAVE_AVX2
#include "tn_seed256.h"
#define TN_SEED_LOOP "avx2"
#else
#define TN_SEED_LOOP "portable"

#if defined(TN_HAVE_OMP_SIMD)
#  define TN_SIMD_SEED TN_PRAGMA(omp simd reduction(+: f0, f1, f2, f3, f4, f5, f6, f7, \
        f8, f9, f10, f11, f12, f13, f14, f15, fL, fW, cx, cy))
#else
#  define TN_SIMD_SEED
#endif

/* Inlined into each caller (TN_ALWAYS_INLINE, tn_math.h), so that constant
 * arguments (strides, HAS_W) specialise the loop.
 * HAS_W: whether sw holds weights (else all are 1).  A constant, so that the
 * loop never reads sw[] conditionally: a masked vector load from a null
 * pointer costs a microcode assist on every step of an AVX2 loop.
 * The sums: ACC over runs of at most RUN samples, then added in double.
 * float64 sums in double over the whole block (RUN = n); float32 in float
 * over runs of 128 samples, as the AVX loops do, so that the loop keeps
 * float vectors (gcc does not vectorise float products summed in double). */
#define TN_SEED_BLOCK(NAME, T, SIG, ACC, RUN)                                        \
TN_ALWAYS_INLINE int NAME##_(const T *theta, const char *X, ptrdiff_t xs0,           \
                             ptrdiff_t xs1, const char *Y, ptrdiff_t ys0,            \
                             const T *sw, const int HAS_W, ptrdiff_t start,          \
                             ptrdiff_t n, int check, double *g)                      \
{                                                                                    \
    const T a00 = theta[0], a01 = theta[1], a02 = theta[2], a03 = theta[3];          \
    const T a10 = theta[4], a11 = theta[5], a12 = theta[6], a13 = theta[7];          \
    const T a20 = theta[8], a21 = theta[9], a22 = theta[10], a23 = theta[11];        \
    const T v0 = theta[12], v1 = theta[13], v2 = theta[14], v3 = theta[15];          \
    double g0 = 0, g1 = 0, g2 = 0, g3 = 0, g4 = 0, g5 = 0, g6 = 0, g7 = 0;          \
    double g8 = 0, g9 = 0, g10 = 0, g11 = 0, g12 = 0, g13 = 0, g14 = 0, g15 = 0;    \
    double L = 0, Wsum = 0;                                                          \
    T cx = 0, cy = 0;                                                                \
    ptrdiff_t s, s0, s1;                                                             \
    X += start * xs0;                                                                \
    Y += start * ys0;                                                                \
    for (s0 = 0; s0 < n; s0 = s1) {                                                  \
        ACC f0 = 0, f1 = 0, f2 = 0, f3 = 0, f4 = 0, f5 = 0, f6 = 0, f7 = 0;          \
        ACC f8 = 0, f9 = 0, f10 = 0, f11 = 0, f12 = 0, f13 = 0, f14 = 0, f15 = 0;    \
        ACC fL = 0, fW = 0;                                                          \
        s1 = n - s0 > (RUN) ? s0 + (RUN) : n;                                        \
        TN_SIMD_SEED                                                                 \
        for (s = s0; s < s1; s++) {                                                  \
            const T x0 = *(const T *)(X + s * xs0);                                  \
            const T x1 = *(const T *)(X + s * xs0 + xs1);                            \
            const T x2 = *(const T *)(X + s * xs0 + 2 * xs1);                        \
            const T y = *(const T *)(Y + s * ys0);                                   \
            const T w = HAS_W ? sw[start + s] : (T)1;                                \
            const T z0 = SIG(x0 * a00 + x1 * a10 + x2 * a20);                        \
            const T z1 = SIG(x0 * a01 + x1 * a11 + x2 * a21);                        \
            const T z2 = SIG(x0 * a02 + x1 * a12 + x2 * a22);                        \
            const T z3 = SIG(x0 * a03 + x1 * a13 + x2 * a23);                        \
            const T yh = SIG(z0 * v0 + z1 * v1 + z2 * v2 + z3 * v3);                 \
            const T r = yh - y;                                                      \
            const T d = w * (r * yh * (1 - yh));                                     \
            const T e0 = d * v0 * (z0 * (1 - z0)), e1 = d * v1 * (z1 * (1 - z1));    \
            const T e2 = d * v2 * (z2 * (1 - z2)), e3 = d * v3 * (z3 * (1 - z3));    \
            cx += x0 * 0 + x1 * 0 + x2 * 0;                                          \
            cy += y * 0;                                                             \
            fL += (ACC)w * ((ACC)0.5 * ((ACC)r * r));                                \
            fW += (ACC)w;                                                            \
            f0 += (ACC)(e0 * x0); f1 += (ACC)(e1 * x0);                              \
            f2 += (ACC)(e2 * x0); f3 += (ACC)(e3 * x0);                              \
            f4 += (ACC)(e0 * x1); f5 += (ACC)(e1 * x1);                              \
            f6 += (ACC)(e2 * x1); f7 += (ACC)(e3 * x1);                              \
            f8 += (ACC)(e0 * x2); f9 += (ACC)(e1 * x2);                              \
            f10 += (ACC)(e2 * x2); f11 += (ACC)(e3 * x2);                            \
            f12 += (ACC)(d * z0); f13 += (ACC)(d * z1);                              \
            f14 += (ACC)(d * z2); f15 += (ACC)(d * z3);                              \
        }                                                                            \
        g0 += f0; g1 += f1; g2 += f2; g3 += f3; g4 += f4; g5 += f5; g6 += f6;        \
        g7 += f7; g8 += f8; g9 += f9; g10 += f10; g11 += f11; g12 += f12;            \
        g13 += f13; g14 += f14; g15 += f15; L += fL; Wsum += fW;                     \
    }                                                                                \
    if (check && cx != 0) return 1;                                                  \
    if (check && cy != 0) return 2;                                                  \
    g[0] += g0; g[1] += g1; g[2] += g2; g[3] += g3; g[4] += g4; g[5] += g5;          \
    g[6] += g6; g[7] += g7; g[8] += g8; g[9] += g9; g[10] += g10; g[11] += g11;      \
    g[12] += g12; g[13] += g13; g[14] += g14; g[15] += g15;                          \
    g[16] += L; g[17] += Wsum;                                                       \
    return 0;                                                                        \
}                                                                                    \
/* contiguous rows, the common layout, with constant strides: the compiler */       \
/* then reads X with vector loads and shuffles instead of one value at a time */     \
static int NAME(const T *theta, const char *X, ptrdiff_t xs0, ptrdiff_t xs1,         \
                const char *Y, ptrdiff_t ys0, const T *sw, ptrdiff_t start,          \
                ptrdiff_t n, int check, double *g)                                   \
{                                                                                    \
    const ptrdiff_t t = (ptrdiff_t)sizeof(T);                                        \
    if (xs1 == t && xs0 == 3 * t && ys0 == t)                                        \
        return sw ? NAME##_(theta, X, 3 * t, t, Y, t, sw, 1, start, n, check, g)     \
                  : NAME##_(theta, X, 3 * t, t, Y, t, sw, 0, start, n, check, g);    \
    return sw ? NAME##_(theta, X, xs0, xs1, Y, ys0, sw, 1, start, n, check, g)       \
              : NAME##_(theta, X, xs0, xs1, Y, ys0, sw, 0, start, n, check, g);      \
}

TN_SEED_BLOCK(tn_seed_block_d, double, tn_sigmoid, double, n)

TN_SEED_BLOCK(tn_seed_block_f, float, tn_sigmoidf, float, 128)

#endif /* TN_HAVE_AVX512, TN_HAVE_AVX2 */
#endif /* TN_SEED_H */
