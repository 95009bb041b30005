/*
 * tn_math.h -- the scalar formulas of tinynet, one small inline function each.
 *
 * Every function here is branch-free (selects, not jumps), so that a loop
 * over a block of samples that calls it can be vectorised by the compiler
 * without -ffast-math.  The kernels in tinynet/_kernels.pyx call these
 * through tinynet/_cmath.pxd.
 *
 * Float versions compute in double and round once at the end: they are
 * correctly saturated and as accurate as the float result can be.
 */
#ifndef TN_MATH_H
#define TN_MATH_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* `#pragma omp simd reduction(+:acc)` where the compiler knows OpenMP SIMD
 * (setup.py passes -fopenmp or -fopenmp-simd and defines TN_HAVE_OMP_SIMD). */
#if defined(TN_HAVE_OMP_SIMD)
#  define TN_PRAGMA(x) _Pragma(#x)
#  define TN_SIMD_SUM(acc) TN_PRAGMA(omp simd reduction(+:acc))
#else
#  define TN_SIMD_SUM(acc)
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
static inline double tn_exp(double x)
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

/* Logistic sigmoid 1 / (1 + exp(-x)).  Saturates to exactly 0 and 1. */
static inline double tn_sigmoid(double x)
{
    return 1.0 / (1.0 + tn_exp(-x));
}

/* tanh(x): odd Taylor polynomial for |x| < 1/16, else (1 - e)/(1 + e) with
 * e = exp(-2|x|); sign restored with copysign.  Saturates to exactly +-1. */
static inline double tn_tanh(double x)
{
    double a = fabs(x);
    double e = tn_exp(-2.0 * a);
    double big = (1.0 - e) / (1.0 + e);
    double a2 = a * a;
    double small = a * (1.0 + a2 * (-1.0 / 3.0 + a2 * (2.0 / 15.0 + a2 * (-17.0 / 315.0
                   + a2 * (62.0 / 2835.0 + a2 * (-1382.0 / 155925.0
                   + a2 * (21844.0 / 6081075.0)))))));
    double t = a < 0.0625 ? small : big;
    return copysign(t, x);
}

/* relu(x) = max(x, 0); NaN propagates. */
static inline double tn_relu(double x)
{
    return x < 0.0 ? 0.0 : x;
}

/* log(1 + exp(-|x|)), the part of softplus that never overflows. */
static inline double tn_log1pexp_neg_abs(double x)
{
    return log1p(tn_exp(-fabs(x)));
}

/* Binary cross-entropy of one output, from its pre-activation o:
 *   -[y log s(o) + (1-y) log(1-s(o))] = (1-y) softplus(o) + y softplus(-o)
 * written so that neither term cancels: softplus(+-o) = max(+-o, 0) + log1p(exp(-|o|)). */
static inline double tn_bce_from_logit(double o, double y)
{
    double pos = o > 0.0 ? o : 0.0;
    double neg = o < 0.0 ? -o : 0.0;
    return (1.0 - y) * pos + y * neg + tn_log1pexp_neg_abs(o);
}

/* Sums over a block of samples, accumulated in double. */
static inline double tn_dot_d(const double *a, const double *b, ptrdiff_t n)
{
    double acc = 0.0;
    ptrdiff_t i;
    TN_SIMD_SUM(acc)
    for (i = 0; i < n; i++) acc += a[i] * b[i];
    return acc;
}

static inline double tn_dot_f(const float *a, const float *b, ptrdiff_t n)
{
    double acc = 0.0;
    ptrdiff_t i;
    TN_SIMD_SUM(acc)
    for (i = 0; i < n; i++) acc += (double)a[i] * (double)b[i];
    return acc;
}

static inline double tn_sum_d(const double *a, ptrdiff_t n)
{
    double acc = 0.0;
    ptrdiff_t i;
    TN_SIMD_SUM(acc)
    for (i = 0; i < n; i++) acc += a[i];
    return acc;
}

static inline double tn_sum_f(const float *a, ptrdiff_t n)
{
    double acc = 0.0;
    ptrdiff_t i;
    TN_SIMD_SUM(acc)
    for (i = 0; i < n; i++) acc += (double)a[i];
    return acc;
}

#endif /* TN_MATH_H */
