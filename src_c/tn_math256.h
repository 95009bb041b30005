/*
 * tn_math256.h -- exp(-|x|) and the logistic sigmoid on whole AVX2
 * registers (4 doubles or 8 floats), written with intrinsics.
 *
 * Compiled where the compiler targets AVX2 and FMA (the x86-64-v3 kernel
 * variant, chosen at run time by tinynet/_dispatch.py, where the CPU has no
 * AVX-512); the AVX-512 variant uses tn_math512.h, the baseline the portable
 * formulas of tn_math.h.  Same maths as tn_exp of tn_math.h, without the
 * conversions the auto-vectoriser adds around its integer steps, and with
 * one (pipelined) division per sigmoid where tn_math.h has four Newton steps:
 * AVX2 has neither AVX-512's table permute and scalef nor a double
 * reciprocal estimate.
 *
 * exp(-a), a >= 0 (a = |x|):
 *   -a = k ln2 + r,  k = nearest integer to -a/ln2,  |r| <= ln2/2
 *   exp(-a) = 2^k1 * 2^k2 * exp(r),  k1 = nearest integer to k/2, k2 = k - k1
 * exp(r) by its Taylor polynomial, degree 13 in double (truncation < 1e-17)
 * and 7 in float (5e-9).  2^k is applied in two factors, each a normal
 * number, so that results in the subnormal range come out right.  The
 * integers k, k1, k2 are kept in doubles (AVX2 has no 64-bit arithmetic
 * shift) and read from the low mantissa bits of k + 1.5 * 2^52.
 *
 * sigmoid(x) = 1/(1+e) for x >= 0 and e/(1+e) for x < 0, e = exp(-|x|), so
 * nothing overflows.  Saturates to exactly 1 (x > 37 in double) and to
 * exactly 0 (x < -745); NaN propagates.
 */
#ifndef TN_MATH256_H
#define TN_MATH256_H

#include <stddef.h>

#include "tn_math.h"          /* TN_ALWAYS_INLINE */

#if defined(__AVX2__) && defined(__FMA__)
#define TN_HAVE_AVX2 1
#include <immintrin.h>

/* 2^k for the integer k held in the low mantissa bits of kd = k + shift:
 * (k + bias) << mantissa bits; the high bits of kd's pattern shift out. */
TN_ALWAYS_INLINE __m256d tn_pow2_from_shifted_pd(__m256d kd)
{
    return _mm256_castsi256_pd(_mm256_slli_epi64(
        _mm256_add_epi64(_mm256_castpd_si256(kd), _mm256_set1_epi64x(1023)), 52));
}

TN_ALWAYS_INLINE __m256 tn_pow2_from_shifted_ps(__m256 kd)
{
    return _mm256_castsi256_ps(_mm256_slli_epi32(
        _mm256_add_epi32(_mm256_castps_si256(kd), _mm256_set1_epi32(127)), 23));
}

/* sigmoid with exp(r) as the Pade approximant P(r)/Q(r) of degree (6, 6)
 * (relative error 2e-19 on |r| <= ln2/2), Q(r) = P(-r), so that one division
 * gives the result: with e = exp(-|x|) = 2^k P/Q,
 *   1/(1+e) = Q / (Q + 2^k P),   e/(1+e) = 2^k P / (Q + 2^k P).
 * P and Q share their even part E(r^2) and odd part r O(r^2). */
TN_ALWAYS_INLINE __m256d tn_sigmoid256_pd(__m256d x)
{
    const __m256d shift = _mm256_set1_pd(6755399441055744.0);        /* 1.5 * 2^52 */
    __m256d a, kd, k, k1d, k1, r, r2, ev, od, p, q;
    a = _mm256_andnot_pd(_mm256_set1_pd(-0.0), x);                    /* |x| */
    a = _mm256_min_pd(_mm256_set1_pd(746.0), a);     /* NaN stays (second operand) */
    kd = _mm256_fnmadd_pd(a, _mm256_set1_pd(1.4426950408889634074), shift);
    k = _mm256_sub_pd(kd, shift);
    r = _mm256_fnmsub_pd(k, _mm256_set1_pd(6.93147180369123816490e-01), a);
    r = _mm256_fnmadd_pd(k, _mm256_set1_pd(1.90821492927058770002e-10), r);
    r2 = _mm256_mul_pd(r, r);
    ev = _mm256_fmadd_pd(_mm256_set1_pd(1.0 / 665280.0), r2, _mm256_set1_pd(1.0 / 792.0));
    ev = _mm256_fmadd_pd(ev, r2, _mm256_set1_pd(5.0 / 44.0));
    ev = _mm256_fmadd_pd(ev, r2, _mm256_set1_pd(1.0));
    od = _mm256_fmadd_pd(_mm256_set1_pd(1.0 / 15840.0), r2, _mm256_set1_pd(1.0 / 66.0));
    od = _mm256_mul_pd(_mm256_fmadd_pd(od, r2, _mm256_set1_pd(0.5)), r);
    p = _mm256_add_pd(ev, od);
    q = _mm256_sub_pd(ev, od);
    /* p 2^k in two normal factors 2^k1 2^k2 (rounded once, into subnormals) */
    k1d = _mm256_fmadd_pd(k, _mm256_set1_pd(0.5), shift);
    k1 = _mm256_sub_pd(k1d, shift);
    p = _mm256_mul_pd(p, tn_pow2_from_shifted_pd(k1d));
    p = _mm256_mul_pd(p, tn_pow2_from_shifted_pd(_mm256_add_pd(_mm256_sub_pd(k, k1), shift)));
    /* the sign bit of x picks 2^k P (x < 0, or -0 where both give 1/2) over Q */
    return _mm256_div_pd(_mm256_blendv_pd(q, p, x), _mm256_add_pd(q, p));
}

/* As tn_sigmoid256_pd, 8 floats: the Pade approximant of degree (3, 3)
 * (6e-9 on |r| <= ln2/2). */
TN_ALWAYS_INLINE __m256 tn_sigmoid256_ps(__m256 x)
{
    const __m256 shift = _mm256_set1_ps(12582912.0f);                 /* 1.5 * 2^23 */
    __m256 a, kd, k, k1d, k1, r, r2, ev, od, p, q;
    a = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), x);
    a = _mm256_min_ps(_mm256_set1_ps(104.0f), a);
    kd = _mm256_fnmadd_ps(a, _mm256_set1_ps(1.44269504088896341f), shift);
    k = _mm256_sub_ps(kd, shift);
    r = _mm256_fnmsub_ps(k, _mm256_set1_ps(0.693145751953125f), a);       /* exact */
    r = _mm256_fnmadd_ps(k, _mm256_set1_ps(1.428606765330187045e-06f), r);
    r2 = _mm256_mul_ps(r, r);
    ev = _mm256_fmadd_ps(_mm256_set1_ps(0.1f), r2, _mm256_set1_ps(1.0f));
    od = _mm256_mul_ps(_mm256_fmadd_ps(_mm256_set1_ps(1.0f / 120.0f), r2, _mm256_set1_ps(0.5f)), r);
    p = _mm256_add_ps(ev, od);
    q = _mm256_sub_ps(ev, od);
    k1d = _mm256_fmadd_ps(k, _mm256_set1_ps(0.5f), shift);
    k1 = _mm256_sub_ps(k1d, shift);
    p = _mm256_mul_ps(p, tn_pow2_from_shifted_ps(k1d));
    p = _mm256_mul_ps(p, tn_pow2_from_shifted_ps(_mm256_add_ps(_mm256_sub_ps(k, k1), shift)));
    return _mm256_div_ps(_mm256_blendv_ps(q, p, x), _mm256_add_ps(q, p));
}

/* out[i] = sigmoid(x[i]) through the functions above (for the tests of
 * tn_math256.h); the last n % lanes values go through a zero-padded copy.
 * Returns 0. */
#define TN_SIGMOID256_ARRAY(NAME, T, LANES, LOAD, STORE, SIG)                        \
static int NAME(const T *x, T *out, ptrdiff_t n)                                     \
{                                                                                    \
    ptrdiff_t i, j;                                                                  \
    T tile[LANES];                                                                   \
    for (i = 0; i + LANES <= n; i += LANES) STORE(out + i, SIG(LOAD(x + i)));        \
    if (i < n) {                                                                     \
        for (j = 0; j < LANES; j++) tile[j] = i + j < n ? x[i + j] : (T)0;           \
        STORE(tile, SIG(LOAD(tile)));                                                \
        for (j = 0; i + j < n; j++) out[i + j] = tile[j];                            \
    }                                                                                \
    return 0;                                                                        \
}
TN_SIGMOID256_ARRAY(tn_sigmoid256_array_d, double, 4, _mm256_loadu_pd, _mm256_storeu_pd,
                    tn_sigmoid256_pd)
TN_SIGMOID256_ARRAY(tn_sigmoid256_array_f, float, 8, _mm256_loadu_ps, _mm256_storeu_ps,
                    tn_sigmoid256_ps)

#else  /* no AVX2 and FMA in this build */
#define TN_HAVE_AVX2 0
static int tn_sigmoid256_array_d(const double *x, double *out, ptrdiff_t n)
{
    (void)x; (void)out; (void)n;
    return -1;
}

static int tn_sigmoid256_array_f(const float *x, float *out, ptrdiff_t n)
{
    (void)x; (void)out; (void)n;
    return -1;
}
#endif /* __AVX2__ && __FMA__ */
#endif /* TN_MATH256_H */
