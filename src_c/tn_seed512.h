/*
 * tn_seed512.h -- the seed network's fused loop (tn_seed.h) on AVX-512
 * registers: 8 samples per step in double, 16 in float, with the sigmoids of
 * tn_math512.h.  Same maths, same contract as the portable loop:
 *
 *   H = X W1, Z = s(H), O = Z W2, yhat = s(O), l = w (yhat - y)^2 / 2
 *   d = w (yhat - y) yhat (1 - yhat)
 *   dW2[l] += d Z_l;   dW1[k][l] += d W2[l] Z_l (1 - Z_l) X_k
 *
 * g receives += sums: dW1 (row-major, 12), dW2 (4), loss, weight; returns 0,
 * or 1 / 2 if X / Y hold NaN or infinity (then g is not updated).
 *
 * Loads: X in row-major contiguous rows (the common case) is read as three
 * registers and de-interleaved with permutes; any other layout is gathered.
 * The last n % lanes samples are copied into zero-padded tiles whose absent
 * lanes get weight 0, so they add nothing to any sum.  float sums are kept in
 * float over at most 8 steps (128 samples), then added into double.
 *
 * Non-finite check: any NaN/inf in a sample's x makes its h_0 = x . W1[:, 0]
 * non-finite (params are finite, and inf * 0 is NaN), so (h_0 + y) * 0 summed
 * over the block is 0 exactly when the block is clean.  A non-zero sum can
 * also come from finite x whose h_0 overflows; the block is then re-read
 * sample by sample to tell which input is at fault, or that none is.
 */
#ifndef TN_SEED512_H
#define TN_SEED512_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "tn_math512.h"

#if TN_HAVE_AVX512

/* 1 if X, 2 if Y (rows [0, n) of the block) hold a NaN or infinity, else 0. */
#define TN_SEED_RECHECK(NAME, T)                                                     \
static int NAME(const char *X, ptrdiff_t xs0, ptrdiff_t xs1, const char *Y,          \
                ptrdiff_t ys0, ptrdiff_t n)                                          \
{                                                                                    \
    ptrdiff_t s;                                                                     \
    int k;                                                                           \
    for (s = 0; s < n; s++)                                                          \
        for (k = 0; k < 3; k++)                                                      \
            if (!isfinite(*(const T *)(X + s * xs0 + k * xs1))) return 1;            \
    for (s = 0; s < n; s++)                                                          \
        if (!isfinite(*(const T *)(Y + s * ys0))) return 2;                          \
    return 0;                                                                        \
}
TN_SEED_RECHECK(tn_seed_recheck_d, double)
TN_SEED_RECHECK(tn_seed_recheck_f, float)

/* _mm512_<op>_<S> and tn_sigmoid_<S>, for S = pd (8 doubles) or ps (16 floats) */
#define TN_V(S, op) _mm512_##op##_##S
#define TN_SIG(S) tn_sigmoid_##S

/* The block's sums live in registers named acc0..acc17 (named, not an array:
 * gcc keeps an array of vectors in memory): acc0..acc15 the gradient (dW1
 * row-major, then dW2; the dW1 sums leave out the factor W2[l], constant over
 * the samples, which is applied to the sums), acc16 the sum of w r^2 (halved at the end), acc17
 * the sum of w.  TN_SEED_EACH(M) expands M(k) for each of them. */
#define TN_SEED_EACH(M) M(0) M(1) M(2) M(3) M(4) M(5) M(6) M(7) M(8) M(9) M(10)      \
                        M(11) M(12) M(13) M(14) M(15) M(16) M(17)

/* The forward half of a step on a register of samples x0, x1, x2, y
 * (V: __m512d or __m512): the hidden units z[0..3]; chk sums (h_0 + y) * 0. */
#define TN_SEED_FWD(V, S, th, x0, x1, x2, y, z, chk)                                 \
    do {                                                                             \
        V h_;                                                                        \
        int l_;                                                                      \
        for (l_ = 0; l_ < 4; l_++) {                                                 \
            h_ = TN_V(S, mul)(x0, TN_V(S, set1)(th[l_]));                            \
            h_ = TN_V(S, fmadd)(x1, TN_V(S, set1)(th[4 + l_]), h_);                  \
            h_ = TN_V(S, fmadd)(x2, TN_V(S, set1)(th[8 + l_]), h_);                  \
            if (l_ == 0)                                                             \
                chk = TN_V(S, fmadd)(TN_V(S, add)(h_, y), TN_V(S, setzero)(), chk);  \
            z[l_] = TN_SIG(S)(h_);                                                   \
        }                                                                            \
    } while (0)

/* The rest of the step: output, loss and the gradient sums, with weights w
 * (HAS_W: else the weights are all 1 and w is not read; the padded tiles
 * step with HAS_W = 1, their absent lanes having w = 0). */
#define TN_SEED_BWD(V, S, th, x0, x1, x2, y, w, HAS_W, z)                            \
    do {                                                                             \
        V e_[4], o_, yh_, r_, d_, wr_;                                               \
        int l_;                                                                      \
        o_ = TN_V(S, mul)(z[0], TN_V(S, set1)(th[12]));                              \
        for (l_ = 1; l_ < 4; l_++)                                                   \
            o_ = TN_V(S, fmadd)(z[l_], TN_V(S, set1)(th[12 + l_]), o_);              \
        yh_ = TN_SIG(S)(o_);                                                         \
        r_ = TN_V(S, sub)(yh_, y);                                                   \
        wr_ = HAS_W ? TN_V(S, mul)(w, r_) : r_;                                      \
        acc16 = TN_V(S, fmadd)(wr_, r_, acc16);                                      \
        if (HAS_W) acc17 = TN_V(S, add)(acc17, w);                                   \
        d_ = TN_V(S, mul)(wr_, TN_V(S, fnmadd)(yh_, yh_, yh_));     /* w r yh(1-yh) */ \
        for (l_ = 0; l_ < 4; l_++)      /* d z_l (1 - z_l); W2[l] is applied later */ \
            e_[l_] = TN_V(S, mul)(d_, TN_V(S, fnmadd)(z[l_], z[l_], z[l_]));         \
        acc0 = TN_V(S, fmadd)(x0, e_[0], acc0);                                      \
        acc1 = TN_V(S, fmadd)(x0, e_[1], acc1);                                      \
        acc2 = TN_V(S, fmadd)(x0, e_[2], acc2);                                      \
        acc3 = TN_V(S, fmadd)(x0, e_[3], acc3);                                      \
        acc4 = TN_V(S, fmadd)(x1, e_[0], acc4);                                      \
        acc5 = TN_V(S, fmadd)(x1, e_[1], acc5);                                      \
        acc6 = TN_V(S, fmadd)(x1, e_[2], acc6);                                      \
        acc7 = TN_V(S, fmadd)(x1, e_[3], acc7);                                      \
        acc8 = TN_V(S, fmadd)(x2, e_[0], acc8);                                      \
        acc9 = TN_V(S, fmadd)(x2, e_[1], acc9);                                      \
        acc10 = TN_V(S, fmadd)(x2, e_[2], acc10);                                    \
        acc11 = TN_V(S, fmadd)(x2, e_[3], acc11);                                    \
        acc12 = TN_V(S, fmadd)(d_, z[0], acc12);                                     \
        acc13 = TN_V(S, fmadd)(d_, z[1], acc13);                                     \
        acc14 = TN_V(S, fmadd)(d_, z[2], acc14);                                     \
        acc15 = TN_V(S, fmadd)(d_, z[3], acc15);                                     \
    } while (0)

/* Copies samples [s, s + LANES) (those below n) into zero-padded tiles
 * xt[3][LANES], yt, wt (weight 0 for absent lanes). */
#define TN_SEED_TILE(T, LANES, X, xs0, xs1, Y, ys0, sw, s, n, xt, yt, wt)            \
    do {                                                                             \
        ptrdiff_t i_;                                                                \
        memset(xt, 0, sizeof xt);                                                    \
        memset(yt, 0, sizeof yt);                                                    \
        memset(wt, 0, sizeof wt);                                                    \
        for (i_ = 0; i_ < LANES && s + i_ < n; i_++) {                               \
            const char *xp_ = X + (s + i_) * xs0;                                    \
            xt[0][i_] = *(const T *)xp_;                                             \
            xt[1][i_] = *(const T *)(xp_ + xs1);                                     \
            xt[2][i_] = *(const T *)(xp_ + 2 * xs1);                                 \
            yt[i_] = *(const T *)(Y + (s + i_) * ys0);                               \
            wt[i_] = sw ? sw[s + i_] : (T)1;                                         \
        }                                                                            \
    } while (0)

/* Steps per batch: the forward halves of a batch run first, their results
 * kept in L1, then the rest; so that many independent sigmoids are in flight
 * at once rather than one long chain per step. */
#define TN_SEED_BATCH 8

/* Samples ahead whose rows of X and Y are prefetched (row-major X): with two
 * threads the loop reads near the memory bandwidth of this kind of machine. */
#define TN_SEED_AHEAD 256

/* ---- double: 8 samples a step ---------------------------------------------- */

static inline __m512d tn_load_strided_pd(const char *p, ptrdiff_t stride)
{
    if (stride == (ptrdiff_t)sizeof(double)) return _mm512_loadu_pd(p);
    return _mm512_i64gather_pd(_mm512_mullo_epi64(_mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0),
                                                   _mm512_set1_epi64(stride)), p, 1);
}

/* 8 samples into x0, x1, x2, y: ROWS (contiguous rows of 3) de-interleaves
 * x_k = elements k, k+3, ..., k+21 of three registers a|b|c; else strided. */
static inline void tn_seed_load_pd(const char *xp, ptrdiff_t xs0, ptrdiff_t xs1,
                                   const char *yp, ptrdiff_t ys0, const int ROWS,
                                   __m512d *x0, __m512d *x1, __m512d *x2, __m512d *y)
{
    if (ROWS) {
        const __m512i ab0 = _mm512_set_epi64(0, 0, 15, 12, 9, 6, 3, 0);
        const __m512i ab1 = _mm512_set_epi64(0, 0, 0, 13, 10, 7, 4, 1);
        const __m512i ab2 = _mm512_set_epi64(0, 0, 0, 14, 11, 8, 5, 2);
        const __m512i c0 = _mm512_set_epi64(13, 10, 5, 4, 3, 2, 1, 0);
        const __m512i c1 = _mm512_set_epi64(14, 11, 8, 4, 3, 2, 1, 0);
        const __m512i c2 = _mm512_set_epi64(15, 12, 9, 4, 3, 2, 1, 0);
        __m512d a = _mm512_loadu_pd(xp), b = _mm512_loadu_pd(xp + 64);
        __m512d c = _mm512_loadu_pd(xp + 128);
        *x0 = _mm512_permutex2var_pd(_mm512_permutex2var_pd(a, ab0, b), c0, c);
        *x1 = _mm512_permutex2var_pd(_mm512_permutex2var_pd(a, ab1, b), c1, c);
        *x2 = _mm512_permutex2var_pd(_mm512_permutex2var_pd(a, ab2, b), c2, c);
    } else {
        *x0 = tn_load_strided_pd(xp, xs0);
        *x1 = tn_load_strided_pd(xp + xs1, xs0);
        *x2 = tn_load_strided_pd(xp + 2 * xs1, xs0);
    }
    *y = tn_load_strided_pd(yp, ys0);
}

/* The block's sums into out[0..18] (the 18 sums, then chk), for one layout
 * of X (ROWS) and with or without weights (HAS_W); the callers pass
 * constants, so each combination compiles to its own loop.  Samples below
 * `full` (a multiple of 8) are read with vector loads, the rest in tiles. */
static inline void tn_seed_run_pd(const double *th, const char *X, ptrdiff_t xs0,
                                  ptrdiff_t xs1, const char *Y, ptrdiff_t ys0,
                                  const double *sw, ptrdiff_t n, ptrdiff_t full,
                                  const int ROWS, const int HAS_W, double *out)
{
#define TN_ZERO_PD(k) __m512d acc##k = _mm512_setzero_pd();
    TN_SEED_EACH(TN_ZERO_PD)
    __m512d chk = _mm512_setzero_pd();
    ptrdiff_t s;

    __m512d buf[TN_SEED_BATCH][8];       /* x0, x1, x2, y, z0..z3 of each step */
    ptrdiff_t j, m;

    for (s = 0; s < full; s += 8 * m) {
        m = (full - s) / 8 < TN_SEED_BATCH ? (full - s) / 8 : TN_SEED_BATCH;
        for (j = 0; j < m; j++) {
            __m512d *b = buf[j];
            const ptrdiff_t t = s + 8 * j;
            if (ROWS) {                  /* the rows TN_SEED_AHEAD samples on */
                const char *ahead = X + (t + TN_SEED_AHEAD) * xs0;
                _mm_prefetch(ahead, _MM_HINT_T0);
                _mm_prefetch(ahead + 64, _MM_HINT_T0);
                _mm_prefetch(ahead + 128, _MM_HINT_T0);
                _mm_prefetch(Y + (t + TN_SEED_AHEAD) * ys0, _MM_HINT_T0);
            }
            tn_seed_load_pd(X + t * xs0, xs0, xs1, Y + t * ys0, ys0, ROWS, b, b + 1, b + 2, b + 3);
            TN_SEED_FWD(__m512d, pd, th, b[0], b[1], b[2], b[3], (b + 4), chk);
        }
        for (j = 0; j < m; j++) {
            __m512d *b = buf[j];
            __m512d w = HAS_W ? _mm512_loadu_pd(sw + s + 8 * j) : _mm512_setzero_pd();
            TN_SEED_BWD(__m512d, pd, th, b[0], b[1], b[2], b[3], w, HAS_W, (b + 4));
        }
    }
    for (; s < n; s += 8) {
        double xt[3][8], yt[8], wt[8];
        __m512d x0, x1, x2, y, z[4];
        TN_SEED_TILE(double, 8, X, xs0, xs1, Y, ys0, sw, s, n, xt, yt, wt);
        x0 = _mm512_loadu_pd(xt[0]);
        x1 = _mm512_loadu_pd(xt[1]);
        x2 = _mm512_loadu_pd(xt[2]);
        y = _mm512_loadu_pd(yt);
        TN_SEED_FWD(__m512d, pd, th, x0, x1, x2, y, z, chk);
        TN_SEED_BWD(__m512d, pd, th, x0, x1, x2, y, _mm512_loadu_pd(wt), 1, z);
    }
#define TN_OUT_PD(k) out[k] = _mm512_reduce_add_pd(acc##k);
    TN_SEED_EACH(TN_OUT_PD)
    out[18] = _mm512_reduce_add_pd(chk);
#undef TN_ZERO_PD
#undef TN_OUT_PD
}

/* ---- float: 16 samples a step ---------------------------------------------- */

/* dst += both halves of v, in double */
static inline __m512d tn_add_ps_to_pd(__m512d dst, __m512 v)
{
    __m512d lo = _mm512_cvtps_pd(_mm512_castps512_ps256(v));
    __m512d hi = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
    return _mm512_add_pd(dst, _mm512_add_pd(lo, hi));
}

static inline __m512 tn_load_strided_ps(const char *p, ptrdiff_t stride)
{
    if (stride == (ptrdiff_t)sizeof(float)) return _mm512_loadu_ps(p);
    return _mm512_i32gather_ps(_mm512_mullo_epi32(
        _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
        _mm512_set1_epi32((int)stride)), p, 1);
}

/* As tn_seed_load_pd, 16 samples (strided: 32-bit offsets). */
static inline void tn_seed_load_ps(const char *xp, ptrdiff_t xs0, ptrdiff_t xs1,
                                   const char *yp, ptrdiff_t ys0, const int ROWS,
                                   __m512 *x0, __m512 *x1, __m512 *x2, __m512 *y)
{
    if (ROWS) {
        const __m512i ab0 = _mm512_set_epi32(0, 0, 0, 0, 0, 30, 27, 24, 21, 18, 15, 12, 9, 6, 3, 0);
        const __m512i ab1 = _mm512_set_epi32(0, 0, 0, 0, 0, 31, 28, 25, 22, 19, 16, 13, 10, 7, 4, 1);
        const __m512i ab2 = _mm512_set_epi32(0, 0, 0, 0, 0, 0, 29, 26, 23, 20, 17, 14, 11, 8, 5, 2);
        const __m512i c0 = _mm512_set_epi32(29, 26, 23, 20, 17, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
        const __m512i c1 = _mm512_set_epi32(30, 27, 24, 21, 18, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
        const __m512i c2 = _mm512_set_epi32(31, 28, 25, 22, 19, 16, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
        __m512 a = _mm512_loadu_ps(xp), b = _mm512_loadu_ps(xp + 64);
        __m512 c = _mm512_loadu_ps(xp + 128);
        *x0 = _mm512_permutex2var_ps(_mm512_permutex2var_ps(a, ab0, b), c0, c);
        *x1 = _mm512_permutex2var_ps(_mm512_permutex2var_ps(a, ab1, b), c1, c);
        *x2 = _mm512_permutex2var_ps(_mm512_permutex2var_ps(a, ab2, b), c2, c);
    } else {
        *x0 = tn_load_strided_ps(xp, xs0);
        *x1 = tn_load_strided_ps(xp + xs1, xs0);
        *x2 = tn_load_strided_ps(xp + 2 * xs1, xs0);
    }
    *y = tn_load_strided_ps(yp, ys0);
}

/* As tn_seed_run_pd; the float sums are added into double sums (sum0..17)
 * after each batch of at most 8 steps (128 samples). */
#define TN_SEED_BATCH_PS 8

static inline void tn_seed_run_ps(const float *th, const char *X, ptrdiff_t xs0,
                                  ptrdiff_t xs1, const char *Y, ptrdiff_t ys0,
                                  const float *sw, ptrdiff_t n, ptrdiff_t full,
                                  const int ROWS, const int HAS_W, double *out)
{
#define TN_ZERO_PS(k) __m512 acc##k = _mm512_setzero_ps(); __m512d sum##k = _mm512_setzero_pd();
#define TN_FLUSH_PS(k) sum##k = tn_add_ps_to_pd(sum##k, acc##k); acc##k = _mm512_setzero_ps();
    TN_SEED_EACH(TN_ZERO_PS)
    __m512 chk = _mm512_setzero_ps();
    ptrdiff_t s = 0, s1;

    __m512 buf[TN_SEED_BATCH_PS][8];     /* x0, x1, x2, y, z0..z3 of each step */
    ptrdiff_t j, m;

    while (s < n) {
        m = (full - s) / 16 < TN_SEED_BATCH_PS ? (full - s) / 16 : TN_SEED_BATCH_PS;
        for (j = 0; j < m; j++) {
            __m512 *b = buf[j];
            const ptrdiff_t t = s + 16 * j;
            if (ROWS) {
                const char *ahead = X + (t + 2 * TN_SEED_AHEAD) * xs0;
                _mm_prefetch(ahead, _MM_HINT_T0);
                _mm_prefetch(ahead + 64, _MM_HINT_T0);
                _mm_prefetch(ahead + 128, _MM_HINT_T0);
                _mm_prefetch(Y + (t + 2 * TN_SEED_AHEAD) * ys0, _MM_HINT_T0);
            }
            tn_seed_load_ps(X + t * xs0, xs0, xs1, Y + t * ys0, ys0, ROWS, b, b + 1, b + 2, b + 3);
            TN_SEED_FWD(__m512, ps, th, b[0], b[1], b[2], b[3], (b + 4), chk);
        }
        for (j = 0; j < m; j++) {
            __m512 *b = buf[j];
            __m512 w = HAS_W ? _mm512_loadu_ps(sw + s + 16 * j) : _mm512_setzero_ps();
            TN_SEED_BWD(__m512, ps, th, b[0], b[1], b[2], b[3], w, HAS_W, (b + 4));
        }
        s += 16 * m;
        for (s1 = 0; m == 0 && s < n && s1 < TN_SEED_BATCH_PS; s1++, s += 16) {
            float xt[3][16], yt[16], wt[16];
            __m512 x0, x1, x2, y, z[4];
            TN_SEED_TILE(float, 16, X, xs0, xs1, Y, ys0, sw, s, n, xt, yt, wt);
            x0 = _mm512_loadu_ps(xt[0]);
            x1 = _mm512_loadu_ps(xt[1]);
            x2 = _mm512_loadu_ps(xt[2]);
            y = _mm512_loadu_ps(yt);
            TN_SEED_FWD(__m512, ps, th, x0, x1, x2, y, z, chk);
            TN_SEED_BWD(__m512, ps, th, x0, x1, x2, y, _mm512_loadu_ps(wt), 1, z);
        }
        TN_SEED_EACH(TN_FLUSH_PS)
    }
#define TN_OUT_PS(k) out[k] = _mm512_reduce_add_pd(sum##k);
    TN_SEED_EACH(TN_OUT_PS)
    out[18] = (double)_mm512_reduce_add_ps(chk);
#undef TN_ZERO_PS
#undef TN_FLUSH_PS
#undef TN_OUT_PS
}

/* ---- the entry points, with tn_seed.h's contract ----------------------------- */

/* GATHER_LIM: the largest stride (bytes) a LANES-wide gather can take. */
#define TN_SEED512_BLOCK(NAME, T, RUN, RECHECK, LANES, GATHER_LIM)                   \
static int NAME(const T *theta, const char *X, ptrdiff_t xs0, ptrdiff_t xs1,         \
                const char *Y, ptrdiff_t ys0, const T *sw, ptrdiff_t start,          \
                ptrdiff_t n, int check, double *g)                                   \
{                                                                                    \
    const int rows = xs1 == (ptrdiff_t)sizeof(T) && xs0 == 3 * (ptrdiff_t)sizeof(T); \
    const ptrdiff_t lim = GATHER_LIM;                                                \
    const int vec = rows || (xs0 < lim && xs0 > -lim && xs1 < lim && xs1 > -lim &&   \
                             ys0 < lim && ys0 > -lim);                               \
    const ptrdiff_t full = vec ? n - n % LANES : 0;                                  \
    double out[19];                                                                  \
    int l;                                                                           \
    X += start * xs0;                                                                \
    Y += start * ys0;                                                                \
    if (sw) sw += start;                                                             \
    if (rows && sw) RUN(theta, X, xs0, xs1, Y, ys0, sw, n, full, 1, 1, out);         \
    else if (rows) RUN(theta, X, xs0, xs1, Y, ys0, sw, n, full, 1, 0, out);          \
    else if (sw) RUN(theta, X, xs0, xs1, Y, ys0, sw, n, full, 0, 1, out);            \
    else RUN(theta, X, xs0, xs1, Y, ys0, sw, n, full, 0, 0, out);                    \
    if (check && out[18] != 0.0) {                                                   \
        int st = RECHECK(X, xs0, xs1, Y, ys0, n);                                    \
        if (st) return st;                                                           \
    }                                                                                \
    for (l = 0; l < 12; l++) out[l] *= (double)theta[12 + l % 4];   /* dW1 *= W2 */   \
    out[16] *= 0.5;                                                                  \
    if (!sw) out[17] = (double)n;                                                    \
    for (l = 0; l < 18; l++) g[l] += out[l];                                         \
    return 0;                                                                        \
}

TN_SEED512_BLOCK(tn_seed_block_d, double, tn_seed_run_pd, tn_seed_recheck_d, 8, PTRDIFF_MAX / 8)
TN_SEED512_BLOCK(tn_seed_block_f, float, tn_seed_run_ps, tn_seed_recheck_f, 16, 0x7fffffff / 16)

#endif /* TN_HAVE_AVX512 */
#endif /* TN_SEED512_H */
