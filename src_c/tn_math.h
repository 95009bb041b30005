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
    double kd, k, r, p;
    uint64_t bits, s1, s2;
    int64_t ki, k1, k2;

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
    memcpy(&bits, &kd, sizeof bits);
    ki = (int64_t)(bits - UINT64_C(0x4338000000000000));
    k1 = ki >> 1;
    k2 = ki - k1;
    s1 = (uint64_t)(k1 + 1023) << 52;
    s2 = (uint64_t)(k2 + 1023) << 52;
    {
        double f1, f2;
        memcpy(&f1, &s1, sizeof f1);
        memcpy(&f2, &s2, sizeof f2);
        return (p * f1) * f2;
    }
}

/* 1/d for d in [1, 2], without a division instruction (divisions are the
 * slowest vector operation): a linear first guess 24/17 - 8/17 d (relative
 * error <= 1/17), then four Newton steps y += y (1 - d y), each squaring the
 * error: 1/17 -> 3.5e-3 -> 1.2e-5 -> 1.5e-10 -> 2e-20, below rounding. */
TN_ALWAYS_INLINE double tn_recip_1_2(double d)
{
    double y = 24.0 / 17.0 - (8.0 / 17.0) * d;
    y = y + y * (1.0 - d * y);
    y = y + y * (1.0 - d * y);
    y = y + y * (1.0 - d * y);
    y = y + y * (1.0 - d * y);
    return y;
}

/* Logistic sigmoid 1 / (1 + exp(-x)), from e = exp(-|x|) in (0, 1] so that
 * nothing overflows and the denominator 1 + e lies in [1, 2]:
 *   x >= 0: 1 / (1 + e);   x < 0: e / (1 + e).
 * Saturates to exactly 0 (x < -745) and 1 (x > 37); NaN propagates. */
TN_ALWAYS_INLINE double tn_sigmoid(double x)
{
    double e = tn_exp(-fabs(x));
    double r = tn_recip_1_2(1.0 + e);
    return x >= 0.0 ? r : e * r;
}

/* expm1(x) = exp(x) - 1 without cancellation near 0: with x = k ln2 + r,
 *   expm1(x) = 2^k (r q(r)) + (2^k - 1),   q(r) = expm1(r)/r = sum r^n/(n+1)!
 * where 2^k - 1 is exact.  x is clamped to [-60, 710]: expm1(-60) rounds to
 * -1 and expm1(710) overflows to +inf. */
static const double tn_expm1_lo = -60.0;

TN_ALWAYS_INLINE double tn_expm1(double x)
{
    const double log2e = 1.4426950408889634074;
    const double ln2hi = 6.93147180369123816490e-01;
    const double ln2lo = 1.90821492927058770002e-10;
    const double shift = 6755399441055744.0;
    double kd, k, r, q, s;
    uint64_t bits, sb;

    x = x > tn_exp_hi ? tn_exp_hi : x;
    x = x < tn_expm1_lo ? tn_expm1_lo : x;
    kd = x * log2e + shift;
    k = kd - shift;
    r = (x - k * ln2hi) - k * ln2lo;
    q = 1.0 / 6227020800.0;
    q = q * r + 1.0 / 479001600.0;
    q = q * r + 1.0 / 39916800.0;
    q = q * r + 1.0 / 3628800.0;
    q = q * r + 1.0 / 362880.0;
    q = q * r + 1.0 / 40320.0;
    q = q * r + 1.0 / 5040.0;
    q = q * r + 1.0 / 720.0;
    q = q * r + 1.0 / 120.0;
    q = q * r + 1.0 / 24.0;
    q = q * r + 1.0 / 6.0;
    q = q * r + 0.5;
    q = q * r + 1.0;
    memcpy(&bits, &kd, sizeof bits);
    sb = (uint64_t)((int64_t)(bits - UINT64_C(0x4338000000000000)) + 1023) << 52;
    memcpy(&s, &sb, sizeof s);
    return s * (r * q) + (s - 1.0);
}

/* tanh(x) = -m / (2 + m) with m = expm1(-2|x|) in (-1, 0], sign restored:
 * the denominator 1 + exp(-2|x|) lies in [1, 2]; no cancellation for small
 * |x|; saturates to exactly +-1. */
TN_ALWAYS_INLINE double tn_tanh(double x)
{
    double m = tn_expm1(-2.0 * fabs(x));
    return copysign(-m * tn_recip_1_2(2.0 + m), x);
}

/* ---- float versions: the same formulas in single precision, so that a
 * vector register holds twice as many lanes. */
static const float tn_expf_hi = 89.0f;     /* expf(89) > FLT_MAX: gives +inf */
static const float tn_expf_lo = -104.0f;   /* expf(-104) < FLT_TRUE_MIN/2: gives 0 */

/* expf(x): as tn_exp, with a degree-7 Taylor polynomial (truncation 5e-9). */
TN_ALWAYS_INLINE float tn_expf(float x)
{
    const float log2e = 1.44269504088896341f;
    const float ln2hi = 0.693145751953125f;          /* 12 trailing zero bits */
    const float ln2lo = 1.428606765330187045e-06f;
    const float shift = 12582912.0f;                 /* 1.5 * 2^23 */
    float kd, k, r, p;
    uint32_t bits, s1, s2;
    int32_t ki, k1, k2;

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
    memcpy(&bits, &kd, sizeof bits);
    ki = (int32_t)(bits - UINT32_C(0x4b400000));
    k1 = ki >> 1;
    k2 = ki - k1;
    s1 = (uint32_t)(k1 + 127) << 23;
    s2 = (uint32_t)(k2 + 127) << 23;
    {
        float f1, f2;
        memcpy(&f1, &s1, sizeof f1);
        memcpy(&f2, &s2, sizeof f2);
        return (p * f1) * f2;
    }
}

/* 1/d for d in [1, 2], float: three Newton steps (1/17 -> 1.5e-10). */
TN_ALWAYS_INLINE float tn_recip_1_2f(float d)
{
    float y = 24.0f / 17.0f - (8.0f / 17.0f) * d;
    y = y + y * (1.0f - d * y);
    y = y + y * (1.0f - d * y);
    y = y + y * (1.0f - d * y);
    return y;
}

TN_ALWAYS_INLINE float tn_sigmoidf(float x)
{
    float e = tn_expf(-fabsf(x));
    float r = tn_recip_1_2f(1.0f + e);
    return x >= 0.0f ? r : e * r;
}

static const float tn_expm1f_lo = -20.0f;

/* expm1f(x), as tn_expm1 (degree-7 q; x clamped to [-20, 89]). */
TN_ALWAYS_INLINE float tn_expm1f(float x)
{
    const float log2e = 1.44269504088896341f;
    const float ln2hi = 0.693145751953125f;
    const float ln2lo = 1.428606765330187045e-06f;
    const float shift = 12582912.0f;
    float kd, k, r, q, s;
    uint32_t bits, sb;

    x = x > tn_expf_hi ? tn_expf_hi : x;
    x = x < tn_expm1f_lo ? tn_expm1f_lo : x;
    kd = x * log2e + shift;
    k = kd - shift;
    r = (x - k * ln2hi) - k * ln2lo;
    q = 1.0f / 40320.0f;
    q = q * r + 1.0f / 5040.0f;
    q = q * r + 1.0f / 720.0f;
    q = q * r + 1.0f / 120.0f;
    q = q * r + 1.0f / 24.0f;
    q = q * r + 1.0f / 6.0f;
    q = q * r + 0.5f;
    q = q * r + 1.0f;
    memcpy(&bits, &kd, sizeof bits);
    sb = (uint32_t)((int32_t)(bits - UINT32_C(0x4b400000)) + 127) << 23;
    memcpy(&s, &sb, sizeof s);
    return s * (r * q) + (s - 1.0f);
}

TN_ALWAYS_INLINE float tn_tanhf(float x)
{
    float m = tn_expm1f(-2.0f * fabsf(x));
    return copysignf(-m * tn_recip_1_2f(2.0f + m), x);
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

#endif /* TN_MATH_H */
