/*
 * tn_math.h -- the scalar formulas of tinynet, one small inline function each.
 *
 * Every function here is branch-free (selects, not jumps), so that a loop
 * over a block of samples that calls it can be vectorised by the compiler
 * without -ffast-math.  The kernels in tinynet/_kernels.pyx call these
 * through tinynet/_cmath.pxd.
 *
 * Float versions (suffix f) are the same formulas in single precision.
 */
#ifndef TN_MATH_H
#define TN_MATH_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Inlined wherever used, even when the compiler's size limits would say no:
 * a formula that is called rather than inlined stops the loop around it from
 * being vectorised. */
#if defined(__GNUC__) || defined(__clang__)
#  define TN_ALWAYS_INLINE static inline __attribute__((always_inline))
#elif defined(_MSC_VER)
#  define TN_ALWAYS_INLINE static __forceinline
#else
#  define TN_ALWAYS_INLINE static inline
#endif

/* Compiled as a function of its own, never inlined: for the loops that keep
 * many values in registers (the GEMM micro-kernels, the seed loops), which
 * inlined into the large block loop of _kernel_body.pxi would compete with
 * its live values and spill. */
#if defined(__GNUC__) || defined(__clang__)
#  define TN_KERNEL static __attribute__((noinline))
#elif defined(_MSC_VER)
#  define TN_KERNEL static __declspec(noinline)
#else
#  define TN_KERNEL static
#endif

#if defined(_MSC_VER)
#  define TN_RESTRICT __restrict
#else
#  define TN_RESTRICT restrict
#endif

/* `#pragma omp simd reduction(+:acc)` where the compiler knows OpenMP SIMD
 * (setup.py passes -fopenmp or -fopenmp-simd and defines TN_HAVE_OMP_SIMD). */
#if defined(TN_HAVE_OMP_SIMD)
#  define TN_PRAGMA(x) _Pragma(#x)
#  define TN_SIMD_SUM(acc) TN_PRAGMA(omp simd reduction(+:acc))
#  define TN_PRAGMA_SIMD TN_PRAGMA(omp simd)
#else
#  define TN_SIMD_SUM(acc)
#  define TN_PRAGMA_SIMD
#endif

/* Clamp bounds for exp, kept in volatile-free globals rather than literals so
 * that the constant folder cannot turn the clamp into control flow (which
 * stops gcc from vectorising under its default -ftrapping-math). */
static const double tn_exp_hi = 710.0;    /* exp(710) > DBL_MAX: gives +inf */
static const double tn_exp_lo = -746.0;   /* exp(-746) < DBL_TRUE_MIN/2: gives 0 */

/* 2^k1 * 2^k2 for the integer k held in the low mantissa bits of
 * kd = k + 1.5 * 2^52, as two normal factors (k1 = k >> 1, k2 = k - k1), so
 * that a product rounds once, also into the subnormal range. */
TN_ALWAYS_INLINE void tn_pow2_split(double kd, double *f1, double *f2)
{
    uint64_t bits, s1, s2;
    int64_t ki, k1;
    memcpy(&bits, &kd, sizeof bits);
    ki = (int64_t)(bits - UINT64_C(0x4338000000000000));
    k1 = ki >> 1;
    s1 = (uint64_t)(k1 + 1023) << 52;
    s2 = (uint64_t)(ki - k1 + 1023) << 52;
    memcpy(f1, &s1, sizeof *f1);
    memcpy(f2, &s2, sizeof *f2);
}

/* exp(x) for double, branch-free.
 *   x = k ln2 + r, |r| <= ln2/2, k = nearest integer to x/ln2
 *   exp(r) by its Taylor polynomial to degree 13 (truncation < 1e-17)
 *   2^k applied in two factors 2^(k>>1) * 2^(k - (k>>1)) so that results in
 *   the subnormal range and up to the overflow threshold come out right.
 * NaN propagates; +inf -> +inf; -inf -> 0. About 1 ulp. */
TN_ALWAYS_INLINE double tn_exp(double x)
{
    const double log2e = 1.4426950408889634074;
    const double ln2hi = 6.93147180369123816490e-01;   /* 32 trailing zero bits */
    const double ln2lo = 1.90821492927058770002e-10;
    const double shift = 6755399441055744.0;           /* 1.5 * 2^52 */
    double kd, k, r, p, f1, f2;

    x = x > tn_exp_hi ? tn_exp_hi : x;
    x = x < tn_exp_lo ? tn_exp_lo : x;
    kd = x * log2e + shift;              /* k sits in the low mantissa bits */
    k = kd - shift;
    r = (x - k * ln2hi) - k * ln2lo;
    p = 1.0 / 6227020800.0;              /* 1/13! */
    p = p * r + 1.0 / 479001600.0;
    p = p * r + 1.0 / 39916800.0;
    p = p * r + 1.0 / 3628800.0;
    p = p * r + 1.0 / 362880.0;
    p = p * r + 1.0 / 40320.0;
    p = p * r + 1.0 / 5040.0;
    p = p * r + 1.0 / 720.0;
    p = p * r + 1.0 / 120.0;
    p = p * r + 1.0 / 24.0;
    p = p * r + 1.0 / 6.0;
    p = p * r + 0.5;
    p = p * r + 1.0;
    p = p * r + 1.0;
    tn_pow2_split(kd, &f1, &f2);
    return (p * f1) * f2;
}

/* Logistic sigmoid 1 / (1 + exp(-x)), from e = exp(-|x|) in (0, 1] so that
 * nothing overflows:  x >= 0: 1 / (1 + e);   x < 0: e / (1 + e).
 * With -|x| = k ln2 + r, |r| <= ln2/2, exp(r) is the Pade approximant P/Q of
 * degree (6, 6) (relative error 2e-19), Q(r) = P(-r), so e = 2^k P/Q and
 *   1/(1+e) = Q / (Q + 2^k P),   e/(1+e) = 2^k P / (Q + 2^k P):
 * one division, and no polynomial of high degree.  P and Q share their even
 * part E(r^2) and odd part r O(r^2).  About 1.5 ulp; saturates to exactly 0
 * (x < -745) and 1 (x > 37); subnormal results kept; NaN propagates. */
static const double tn_sigmoid_lim = 746.0;   /* exp(-746) < DBL_TRUE_MIN/2 */

/* exp(-a) = 2^k (E + O) / (E - O) for a >= 0 (or NaN), as used by the
 * sigmoid and tanh: -a = k ln2 + r, |r| <= ln2/2, and (E + O)/(E - O) the
 * Pade approximant of exp(r) of degree (6, 6), E its even part, O its odd
 * part.  Returns k + 1.5 * 2^52 (k in the low mantissa bits). */
TN_ALWAYS_INLINE double tn_exp_neg_pade(double a, double *ev, double *od)
{
    const double shift = 6755399441055744.0;           /* 1.5 * 2^52 */
    double kd = shift - a * 1.4426950408889634074;
    double k = kd - shift;
    double r = (-a - k * 6.93147180369123816490e-01) - k * 1.90821492927058770002e-10;
    double r2 = r * r;
    *ev = ((r2 * (1.0 / 665280.0) + 1.0 / 792.0) * r2 + 5.0 / 44.0) * r2 + 1.0;
    *od = ((r2 * (1.0 / 15840.0) + 1.0 / 66.0) * r2 + 0.5) * r;
    return kd;
}

TN_ALWAYS_INLINE double tn_sigmoid(double x)
{
    double a = fabs(x), kd, ev, od, p, q, f1, f2;
    a = a > tn_sigmoid_lim ? tn_sigmoid_lim : a;      /* NaN stays NaN */
    kd = tn_exp_neg_pade(a, &ev, &od);
    p = ev + od;
    q = ev - od;
    tn_pow2_split(kd, &f1, &f2);
    p = (p * f1) * f2;
    return (x < 0.0 ? p : q) / (q + p);
}

/* tanh(x) = sign(x) (1 - e)/(1 + e), e = exp(-2|x|), with -2|x| = k ln2 + r
 * and exp(r) = P/Q as in tn_sigmoid, s = 2^k, P = E + O, Q = E - O:
 *   tanh|x| = (Q - s P) / (Q + s P) = (E (1 - s) - O (1 + s)) / (E (1 + s) - O (1 - s))
 * For k = 0 (|x| < ln2/4) the numerator is -2 O, a product: no cancellation
 * near 0; 1 - s and 1 + s are exact.  2|x| is clamped to 44, where tanh
 * rounds to 1.  About 2 ulp; exactly +-1 when saturated; NaN propagates. */
static const double tn_tanh_lim = 44.0;

TN_ALWAYS_INLINE double tn_tanh(double x)
{
    double a = 2.0 * fabs(x), kd, ev, od, s;
    uint64_t bits;
    a = a > tn_tanh_lim ? tn_tanh_lim : a;            /* NaN stays NaN */
    kd = tn_exp_neg_pade(a, &ev, &od);
    memcpy(&bits, &kd, sizeof bits);                  /* s = 2^k, k in [-64, 0] */
    bits = (bits - UINT64_C(0x4338000000000000) + 1023) << 52;
    memcpy(&s, &bits, sizeof s);
    return copysign((ev * (1.0 - s) - od * (1.0 + s)) / (ev * (1.0 + s) - od * (1.0 - s)), x);
}

/* ---- float versions: the same formulas in single precision, so that a
 * vector register holds twice as many lanes. */
static const float tn_expf_hi = 89.0f;     /* expf(89) > FLT_MAX: gives +inf */
static const float tn_expf_lo = -104.0f;   /* expf(-104) < FLT_TRUE_MIN/2: gives 0 */

/* As tn_pow2_split in float (kd = k + 1.5 * 2^23). */
TN_ALWAYS_INLINE void tn_pow2_splitf(float kd, float *f1, float *f2)
{
    uint32_t bits, s1, s2;
    int32_t ki, k1;
    memcpy(&bits, &kd, sizeof bits);
    ki = (int32_t)(bits - UINT32_C(0x4b400000));
    k1 = ki >> 1;
    s1 = (uint32_t)(k1 + 127) << 23;
    s2 = (uint32_t)(ki - k1 + 127) << 23;
    memcpy(f1, &s1, sizeof *f1);
    memcpy(f2, &s2, sizeof *f2);
}

/* expf(x): as tn_exp, with a degree-7 Taylor polynomial (truncation 5e-9). */
TN_ALWAYS_INLINE float tn_expf(float x)
{
    const float log2e = 1.44269504088896341f;
    const float ln2hi = 0.693145751953125f;          /* 12 trailing zero bits */
    const float ln2lo = 1.428606765330187045e-06f;
    const float shift = 12582912.0f;                 /* 1.5 * 2^23 */
    float kd, k, r, p, f1, f2;

    x = x > tn_expf_hi ? tn_expf_hi : x;
    x = x < tn_expf_lo ? tn_expf_lo : x;
    kd = x * log2e + shift;
    k = kd - shift;
    r = (x - k * ln2hi) - k * ln2lo;
    p = 1.0f / 5040.0f;
    p = p * r + 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    tn_pow2_splitf(kd, &f1, &f2);
    return (p * f1) * f2;
}

/* As tn_sigmoid in float: the Pade approximant of degree (3, 3) (6e-9 on
 * |r| <= ln2/2). */
static const float tn_sigmoidf_lim = 104.0f;  /* expf(-104) < FLT_TRUE_MIN/2 */

/* As tn_exp_neg_pade in float, degree (3, 3); returns k + 1.5 * 2^23. */
TN_ALWAYS_INLINE float tn_exp_neg_padef(float a, float *ev, float *od)
{
    const float shift = 12582912.0f;                 /* 1.5 * 2^23 */
    float kd = shift - a * 1.44269504088896341f;
    float k = kd - shift;
    float r = (-a - k * 0.693145751953125f) - k * 1.428606765330187045e-06f;
    float r2 = r * r;
    *ev = r2 * 0.1f + 1.0f;
    *od = (r2 * (1.0f / 120.0f) + 0.5f) * r;
    return kd;
}

TN_ALWAYS_INLINE float tn_sigmoidf(float x)
{
    float a = fabsf(x), kd, ev, od, p, q, f1, f2;
    a = a > tn_sigmoidf_lim ? tn_sigmoidf_lim : a;
    kd = tn_exp_neg_padef(a, &ev, &od);
    p = ev + od;
    q = ev - od;
    tn_pow2_splitf(kd, &f1, &f2);
    p = (p * f1) * f2;
    return (x < 0.0f ? p : q) / (q + p);
}

/* As tn_tanh in float, with the (3, 3) approximant of tn_sigmoidf; 2|x| is
 * clamped to 24. */
static const float tn_tanhf_lim = 24.0f;

TN_ALWAYS_INLINE float tn_tanhf(float x)
{
    float a = 2.0f * fabsf(x), kd, ev, od, s;
    uint32_t bits;
    a = a > tn_tanhf_lim ? tn_tanhf_lim : a;
    kd = tn_exp_neg_padef(a, &ev, &od);
    memcpy(&bits, &kd, sizeof bits);
    bits = (bits - UINT32_C(0x4b400000) + 127) << 23;
    memcpy(&s, &bits, sizeof s);
    return copysignf((ev * (1.0f - s) - od * (1.0f + s)) / (ev * (1.0f + s) - od * (1.0f - s)), x);
}

/* log(1 + exp(-|x|)), the part of softplus that never overflows. */
TN_ALWAYS_INLINE double tn_log1pexp_neg_abs(double x)
{
    return log1p(tn_exp(-fabs(x)));
}

/* Binary cross-entropy of one output, from its pre-activation o:
 *   -[y log s(o) + (1-y) log(1-s(o))] = (1-y) softplus(o) + y softplus(-o)
 * written so that neither term cancels: softplus(+-o) = max(+-o, 0) + log1p(exp(-|o|)). */
TN_ALWAYS_INLINE double tn_bce_from_logit(double o, double y)
{
    double pos = o > 0.0 ? o : 0.0;
    double neg = o < 0.0 ? -o : 0.0;
    return (1.0 - y) * pos + y * neg + tn_log1pexp_neg_abs(o);
}

/* Sums over a block of samples, accumulated in double. */
TN_ALWAYS_INLINE double tn_dot_d(const double *a, const double *b, ptrdiff_t n)
{
    double acc = 0.0;
    ptrdiff_t i;
    TN_SIMD_SUM(acc)
    for (i = 0; i < n; i++) acc += a[i] * b[i];
    return acc;
}

TN_ALWAYS_INLINE double tn_sum_d(const double *a, ptrdiff_t n)
{
    double acc = 0.0;
    ptrdiff_t i;
    TN_SIMD_SUM(acc)
    for (i = 0; i < n; i++) acc += a[i];
    return acc;
}

TN_ALWAYS_INLINE double tn_sum_f(const float *a, ptrdiff_t n)
{
    double acc = 0.0;
    ptrdiff_t i;
    TN_SIMD_SUM(acc)
    for (i = 0; i < n; i++) acc += (double)a[i];
    return acc;
}

/* A block of rows of a C-contiguous (n, f) matrix X, transposed into
 * feature-major A[k * bs + s] = X[s * f + k], in tiles of 16 samples (whose
 * rows stay in L1 while every feature is read from them); the inner loop
 * over samples is a strided read the compiler turns into vector gathers. */
#define TN_ROWS_TO_BLOCK(NAME, T)                                                    \
TN_ALWAYS_INLINE void NAME(const T *TN_RESTRICT X, ptrdiff_t f, T *TN_RESTRICT A,    \
                           ptrdiff_t bs, ptrdiff_t n)                                \
{                                                                                    \
    ptrdiff_t s0, s1, s, k;                                                          \
    for (s0 = 0; s0 < n; s0 = s1) {                                                  \
        s1 = n - s0 < 16 ? n : s0 + 16;                                              \
        for (k = 0; k < f; k++) {                                                    \
            TN_PRAGMA_SIMD                                                           \
            for (s = s0; s < s1; s++) A[k * bs + s] = X[s * f + k];                  \
        }                                                                            \
    }                                                                                \
}
TN_ROWS_TO_BLOCK(tn_rows_to_block_d, double)
TN_ROWS_TO_BLOCK(tn_rows_to_block_f, float)

/* Whether a[0..n) holds a NaN or an infinity: x * 0 is 0 for finite x and NaN
 * otherwise, so the sum is 0 exactly when all are finite (in any order). */
TN_ALWAYS_INLINE int tn_any_nonfinite_d(const double *a, ptrdiff_t n)
{
    double acc = 0.0;
    ptrdiff_t i;
    TN_SIMD_SUM(acc)
    for (i = 0; i < n; i++) acc += a[i] * 0.0;
    return acc != 0.0;
}

TN_ALWAYS_INLINE int tn_any_nonfinite_f(const float *a, ptrdiff_t n)
{
    float acc = 0.0f;
    ptrdiff_t i;
    TN_SIMD_SUM(acc)
    for (i = 0; i < n; i++) acc += a[i] * 0.0f;
    return acc != 0.0f;
}

/* Whether a[0..n) holds a weight that is not a finite, non-negative number:
 * as above, plus one for each negative value (-0.0 is not negative). */
TN_ALWAYS_INLINE int tn_any_bad_weight_d(const double *a, ptrdiff_t n)
{
    double acc = 0.0;
    ptrdiff_t i;
    TN_SIMD_SUM(acc)
    for (i = 0; i < n; i++) acc += a[i] * 0.0 + (a[i] < 0.0 ? 1.0 : 0.0);
    return acc != 0.0;
}

TN_ALWAYS_INLINE int tn_any_bad_weight_f(const float *a, ptrdiff_t n)
{
    float acc = 0.0f;
    ptrdiff_t i;
    TN_SIMD_SUM(acc)
    for (i = 0; i < n; i++) acc += a[i] * 0.0f + (a[i] < 0.0f ? 1.0f : 0.0f);
    return acc != 0.0f;
}

#endif /* TN_MATH_H */
