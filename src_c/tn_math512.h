/*
 * tn_math512.h -- exp(-|x|) and the logistic sigmoid on whole AVX-512
 * registers (8 doubles or 16 floats), written with intrinsics.
 *
 * Only compiled where the compiler targets AVX-512 (the x86-64-v4 kernel
 * variant, chosen at run time by tinynet/_dispatch.py); the portable
 * formulas of tn_math.h are used everywhere else.  Three AVX-512
 * instructions make these cheaper than anything the auto-vectoriser can
 * produce from tn_math.h:
 *   - vpermt2pd / vpermps look up 2^(j/16) in a 16-entry table held in
 *     registers, so the polynomial only covers |r| <= ln2/32;
 *   - vscalefpd / vscalefps multiply by 2^m in one step, rounding once, with
 *     underflow to subnormals and to zero handled by the hardware;
 *   - vrcp14pd / vrcp14ps give 1/d to 14 bits, so Newton steps replace a
 *     division (the slowest vector instruction).
 *
 * exp(-a), a >= 0 (a = |x|):
 *   -a = k ln2/16 + r,   k = nearest integer to -a 16/ln2,  |r| <= ln2/32
 *   k = 16 m + j, 0 <= j < 16   (j: the low four bits of k)
 *   exp(-a) = 2^m * 2^(j/16) * exp(r)
 * exp(r) is a polynomial: degree 6 in double (a minimax fit, 2.8e-17
 * relative), degree 3 in float (Taylor, 9e-9).  About 1 ulp overall.
 *
 * sigmoid(x) = 1/(1+e) for x >= 0 and e/(1+e) for x < 0, e = exp(-|x|), so
 * nothing overflows and 1+e lies in [1, 2].  Saturates to exactly 1 (x > 37
 * in double) and to exactly 0 (x < -745); NaN propagates.
 */
#ifndef TN_MATH512_H
#define TN_MATH512_H

#include <stddef.h>

#include "tn_math.h"          /* TN_ALWAYS_INLINE */

#if defined(__AVX512F__) && defined(__AVX512DQ__)
#define TN_HAVE_AVX512 1
#include <immintrin.h>

/* 2^(j/16), j = 0..15, correctly rounded. */
static const double tn_exp2_16ths_d[16] = {
    1.0, 1.0442737824274138, 1.0905077326652577, 1.1387886347566916,
    1.1892071150027210, 1.2418578120734840, 1.2968395546510096, 1.3542555469368927,
    1.4142135623730951, 1.4768261459394993, 1.5422108254079407, 1.6104903319492543,
    1.6817928305074290, 1.7562521603732995, 1.8340080864093424, 1.9152065613971474};

static const float tn_exp2_16ths_f[16] = {
    1.0f, 1.0442737824274138f, 1.0905077326652577f, 1.1387886347566916f,
    1.1892071150027210f, 1.2418578120734840f, 1.2968395546510096f, 1.3542555469368927f,
    1.4142135623730951f, 1.4768261459394993f, 1.5422108254079407f, 1.6104903319492543f,
    1.6817928305074290f, 1.7562521603732995f, 1.8340080864093424f, 1.9152065613971474f};

/* exp(-a) for a >= 0 or NaN, 8 doubles. */
TN_ALWAYS_INLINE __m512d tn_exp_neg_pd(__m512d a)
{
    const __m512d shift = _mm512_set1_pd(6755399441055744.0);        /* 1.5 * 2^52 */
    const __m512d ln2hi16 = _mm512_set1_pd(6.93147180369123816490e-01 / 16);
    const __m512d ln2lo16 = _mm512_set1_pd(1.90821492927058770002e-10 / 16);
    __m512d kd, k, r, p, t;
    /* a > 1100 gives 0 all the same; the bound keeps k small.  min(bound, a)
     * returns a when a is NaN (vminpd returns its second operand then). */
    a = _mm512_min_pd(_mm512_set1_pd(1100.0), a);
    kd = _mm512_fnmadd_pd(a, _mm512_set1_pd(23.083120654223414), shift); /* 16/ln2 */
    k = _mm512_sub_pd(kd, shift);                     /* k, an exact integer */
    r = _mm512_fnmsub_pd(k, ln2hi16, a);              /* -a - k ln2hi/16, exact */
    r = _mm512_fnmadd_pd(k, ln2lo16, r);
    /* exp(r) = 1 + r + r^2 q(r), q a minimax fit on |r| <= ln2/32 (relative
     * error of the sum 2.8e-17) */
    p = _mm512_set1_pd(0.0013889034348890386);
    p = _mm512_fmadd_pd(p, r, _mm512_set1_pd(0.008333449701486194));
    p = _mm512_fmadd_pd(p, r, _mm512_set1_pd(0.041666666664960446));
    p = _mm512_fmadd_pd(p, r, _mm512_set1_pd(0.16666666665301685));
    p = _mm512_fmadd_pd(p, r, _mm512_set1_pd(0.5));
    p = _mm512_fmadd_pd(p, r, _mm512_set1_pd(1.0));
    p = _mm512_fmadd_pd(p, r, _mm512_set1_pd(1.0));
    /* the low four bits of kd's mantissa are j (two's complement) */
    t = _mm512_permutex2var_pd(_mm512_loadu_pd(tn_exp2_16ths_d), _mm512_castpd_si512(kd),
                               _mm512_loadu_pd(tn_exp2_16ths_d + 8));
    /* scalef multiplies by 2^floor(k/16) = 2^m */
    return _mm512_scalef_pd(_mm512_mul_pd(p, t), _mm512_mul_pd(k, _mm512_set1_pd(0.0625)));
}

/* 1/d for d in [1, 2]: 14-bit estimate, then two Newton steps (2^-56). */
TN_ALWAYS_INLINE __m512d tn_recip_1_2_pd(__m512d d)
{
    const __m512d one = _mm512_set1_pd(1.0);
    __m512d y = _mm512_rcp14_pd(d);
    y = _mm512_fmadd_pd(y, _mm512_fnmadd_pd(d, y, one), y);
    y = _mm512_fmadd_pd(y, _mm512_fnmadd_pd(d, y, one), y);
    return y;
}

TN_ALWAYS_INLINE __m512d tn_sigmoid_pd(__m512d x)
{
    __m512d e = tn_exp_neg_pd(_mm512_abs_pd(x));
    __m512d r = tn_recip_1_2_pd(_mm512_add_pd(e, _mm512_set1_pd(1.0)));
    __mmask8 neg = _mm512_cmp_pd_mask(x, _mm512_setzero_pd(), _CMP_LT_OQ);
    return _mm512_mask_mul_pd(r, neg, r, e);
}

/* exp(-a) for a >= 0 or NaN, 16 floats. */
TN_ALWAYS_INLINE __m512 tn_exp_neg_ps(__m512 a)
{
    const __m512 shift = _mm512_set1_ps(12582912.0f);                 /* 1.5 * 2^23 */
    __m512 kd, k, r, p, t;
    a = _mm512_min_ps(_mm512_set1_ps(120.0f), a);
    kd = _mm512_fnmadd_ps(a, _mm512_set1_ps(23.083120654223414f), shift);
    k = _mm512_sub_ps(kd, shift);
    r = _mm512_fnmsub_ps(k, _mm512_set1_ps(0.693145751953125f / 16), a);   /* exact */
    r = _mm512_fnmadd_ps(k, _mm512_set1_ps(1.428606765330187045e-06f / 16), r);
    p = _mm512_set1_ps(1.0f / 6.0f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    t = _mm512_permutexvar_ps(_mm512_castps_si512(kd), _mm512_loadu_ps(tn_exp2_16ths_f));
    return _mm512_scalef_ps(_mm512_mul_ps(p, t), _mm512_mul_ps(k, _mm512_set1_ps(0.0625f)));
}

/* 1/d for d in [1, 2], float: 14-bit estimate, one Newton step (2^-28). */
TN_ALWAYS_INLINE __m512 tn_recip_1_2_ps(__m512 d)
{
    __m512 y = _mm512_rcp14_ps(d);
    return _mm512_fmadd_ps(y, _mm512_fnmadd_ps(d, y, _mm512_set1_ps(1.0f)), y);
}

TN_ALWAYS_INLINE __m512 tn_sigmoid_ps(__m512 x)
{
    __m512 e = tn_exp_neg_ps(_mm512_abs_ps(x));
    __m512 r = tn_recip_1_2_ps(_mm512_add_ps(e, _mm512_set1_ps(1.0f)));
    __mmask16 neg = _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_LT_OQ);
    return _mm512_mask_mul_ps(r, neg, r, e);
}

/* out[i] = sigmoid(x[i]) through the functions above (for the tests of
 * tn_math512.h); returns 0. */
static int tn_sigmoid512_array_d(const double *x, double *out, ptrdiff_t n)
{
    ptrdiff_t i;
    for (i = 0; i < n; i += 8) {
        __mmask8 m = n - i >= 8 ? (__mmask8)0xff : (__mmask8)((1u << (n - i)) - 1);
        _mm512_mask_storeu_pd(out + i, m, tn_sigmoid_pd(_mm512_maskz_loadu_pd(m, x + i)));
    }
    return 0;
}

static int tn_sigmoid512_array_f(const float *x, float *out, ptrdiff_t n)
{
    ptrdiff_t i;
    for (i = 0; i < n; i += 16) {
        __mmask16 m = n - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - i)) - 1);
        _mm512_mask_storeu_ps(out + i, m, tn_sigmoid_ps(_mm512_maskz_loadu_ps(m, x + i)));
    }
    return 0;
}

#else  /* no AVX-512 in this build: the portable formulas are used instead */
#define TN_HAVE_AVX512 0
static int tn_sigmoid512_array_d(const double *x, double *out, ptrdiff_t n)
{
    (void)x; (void)out; (void)n;
    return -1;
}

static int tn_sigmoid512_array_f(const float *x, float *out, ptrdiff_t n)
{
    (void)x; (void)out; (void)n;
    return -1;
}
#endif /* __AVX512F__ && __AVX512DQ__ */
#endif /* TN_MATH512_H */
