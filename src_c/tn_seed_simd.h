/*
 * tn_seed_simd.h -- the seed network's fused loop on vector registers, for
 * any register width: the shared body of tn_seed512.h (AVX-512: 8 doubles or
 * 16 floats a register) and tn_seed256.h (AVX2: 4 or 8).  Same maths, same
 * contract as the portable loop of tn_seed.h:
 *
 *   H = X W1, Z = s(H), O = Z W2, yhat = s(O), l = w (yhat - y)^2 / 2
 *   d = w (yhat - y) yhat (1 - yhat)
 *   dW2[l] += d Z_l;   dW1[k][l] += d W2[l] Z_l (1 - Z_l) X_k
 *
 * g receives += sums: dW1 (row-major, 12), dW2 (4), loss, weight; returns 0,
 * or 1 / 2 if X / Y hold NaN or infinity (then g is not updated).
 *
 * A width supplies: its vector types, an operation macro OP(op) naming the
 * intrinsic (OP(fmadd) -> _mm512_fmadd_pd, ...), its sigmoid, a LOAD of one
 * register of samples (x0, x1, x2, y) from X and Y, and horizontal sums.
 * The macros below then generate its loops (TN_SEED_RUN_D, TN_SEED_RUN_F)
 * and entry points (TN_SEED_SIMD_BLOCK).
 *
 * Loads: X in row-major contiguous rows (the common case) is read as three
 * registers and de-interleaved; any other layout is gathered.  The last
 * n % lanes samples are copied into zero-padded tiles whose absent lanes get
 * weight 0, so they add nothing to any sum.  float sums are kept in float
 * over at most 8 steps, then added into double.
 *
 * Non-finite check: any NaN/inf in a sample's x makes its h_0 = x . W1[:, 0]
 * non-finite (params are finite, and inf * 0 is NaN), so (h_0 + y) * 0 summed
 * over the block is 0 exactly when the block is clean.  A non-zero sum can
 * also come from finite x whose h_0 overflows; the block is then re-read
 * sample by sample to tell which input is at fault, or that none is.
 */
#ifndef TN_SEED_SIMD_H
#define TN_SEED_SIMD_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "tn_math.h"

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

/* The block's sums live in registers named acc0..acc17 (named, not an array:
 * gcc keeps an array of vectors in memory): acc0..acc15 the gradient (dW1
 * row-major, then dW2; the dW1 sums leave out the factor W2[l], constant over
 * the samples, which is applied to the sums), acc16 the sum of w r^2 (halved
 * at the end), acc17 the sum of w.  TN_SEED_EACH(M, A, B) expands M(A, B, k)
 * for each of them. */
#define TN_SEED_EACH(M, A, B) M(A, B, 0) M(A, B, 1) M(A, B, 2) M(A, B, 3) M(A, B, 4)  \
    M(A, B, 5) M(A, B, 6) M(A, B, 7) M(A, B, 8) M(A, B, 9) M(A, B, 10) M(A, B, 11)   \
    M(A, B, 12) M(A, B, 13) M(A, B, 14) M(A, B, 15) M(A, B, 16) M(A, B, 17)

/* The forward half of a step on a register of samples x0, x1, x2, y
 * (V: the vector type): the hidden units z[0..3]; chk sums (h_0 + y) * 0. */
#define TN_SEED_FWD(V, OP, SIG, th, x0, x1, x2, y, z, chk)                           \
    do {                                                                             \
        V h_;                                                                        \
        int l_;                                                                      \
        for (l_ = 0; l_ < 4; l_++) {                                                 \
            h_ = OP(mul)(x0, OP(set1)(th[l_]));                                      \
            h_ = OP(fmadd)(x1, OP(set1)(th[4 + l_]), h_);                            \
            h_ = OP(fmadd)(x2, OP(set1)(th[8 + l_]), h_);                            \
            if (l_ == 0)                                                             \
                chk = OP(fmadd)(OP(add)(h_, y), OP(setzero)(), chk);                 \
            z[l_] = SIG(h_);                                                         \
        }                                                                            \
    } while (0)

/* The rest of the step: output, loss and the gradient sums, with weights w
 * (HAS_W: else the weights are all 1 and w is not read; the padded tiles
 * step with HAS_W = 1, their absent lanes having w = 0). */
#define TN_SEED_BWD(V, OP, SIG, th, x0, x1, x2, y, w, HAS_W, z)                      \
    do {                                                                             \
        V e_[4], o_, yh_, r_, d_, wr_;                                               \
        int l_;                                                                      \
        o_ = OP(mul)(z[0], OP(set1)(th[12]));                                        \
        for (l_ = 1; l_ < 4; l_++)                                                   \
            o_ = OP(fmadd)(z[l_], OP(set1)(th[12 + l_]), o_);                        \
        yh_ = SIG(o_);                                                               \
        r_ = OP(sub)(yh_, y);                                                        \
        wr_ = HAS_W ? OP(mul)(w, r_) : r_;                                           \
        acc16 = OP(fmadd)(wr_, r_, acc16);                                           \
        if (HAS_W) acc17 = OP(add)(acc17, w);                                        \
        d_ = OP(mul)(wr_, OP(fnmadd)(yh_, yh_, yh_));               /* w r yh(1-yh) */ \
        for (l_ = 0; l_ < 4; l_++)      /* d z_l (1 - z_l); W2[l] is applied later */ \
            e_[l_] = OP(mul)(d_, OP(fnmadd)(z[l_], z[l_], z[l_]));                   \
        acc0 = OP(fmadd)(x0, e_[0], acc0);                                           \
        acc1 = OP(fmadd)(x0, e_[1], acc1);                                           \
        acc2 = OP(fmadd)(x0, e_[2], acc2);                                           \
        acc3 = OP(fmadd)(x0, e_[3], acc3);                                           \
        acc4 = OP(fmadd)(x1, e_[0], acc4);                                           \
        acc5 = OP(fmadd)(x1, e_[1], acc5);                                           \
        acc6 = OP(fmadd)(x1, e_[2], acc6);                                           \
        acc7 = OP(fmadd)(x1, e_[3], acc7);                                           \
        acc8 = OP(fmadd)(x2, e_[0], acc8);                                           \
        acc9 = OP(fmadd)(x2, e_[1], acc9);                                           \
        acc10 = OP(fmadd)(x2, e_[2], acc10);                                         \
        acc11 = OP(fmadd)(x2, e_[3], acc11);                                         \
        acc12 = OP(fmadd)(d_, z[0], acc12);                                          \
        acc13 = OP(fmadd)(d_, z[1], acc13);                                          \
        acc14 = OP(fmadd)(d_, z[2], acc14);                                          \
        acc15 = OP(fmadd)(d_, z[3], acc15);                                          \
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

/* One step on the tile of samples [s, s + LANES) (the last, partial one). */
#define TN_SEED_TILE_STEP(T, V, OP, SIG, LANES, th, X, xs0, xs1, Y, ys0, sw, s, n, chk) \
    do {                                                                             \
        T xt[3][LANES], yt[LANES], wt[LANES];                                        \
        V x0_, x1_, x2_, y_, z_[4];                                                  \
        TN_SEED_TILE(T, LANES, X, xs0, xs1, Y, ys0, sw, s, n, xt, yt, wt);           \
        x0_ = OP(loadu)(xt[0]);                                                      \
        x1_ = OP(loadu)(xt[1]);                                                      \
        x2_ = OP(loadu)(xt[2]);                                                      \
        y_ = OP(loadu)(yt);                                                          \
        TN_SEED_FWD(V, OP, SIG, th, x0_, x1_, x2_, y_, z_, chk);                     \
        TN_SEED_BWD(V, OP, SIG, th, x0_, x1_, x2_, y_, OP(loadu)(wt), 1, z_);        \
    } while (0)

/* Steps per batch: the forward halves of a batch run first, their results
 * kept in L1, then the rest; so that many independent sigmoids are in flight
 * at once rather than one long chain per step.  float sums are added into
 * double after each batch. */
#define TN_SEED_BATCH 8

/* Bytes ahead in X (row-major) that are prefetched, 256 rows of doubles:
 * with two threads the loop reads near the memory bandwidth of this kind of
 * machine.  Y is prefetched as many rows ahead. */
#define TN_SEED_AHEAD_BYTES (256 * 3 * 8)

#define TN_SEED_PREFETCH(T, LANES, X, xs0, Y, ys0, t)                                \
    do {                                                                             \
        const ptrdiff_t rows_ = TN_SEED_AHEAD_BYTES / (3 * (ptrdiff_t)sizeof(T));    \
        const char *ahead_ = X + ((t) + rows_) * xs0;                                \
        int o_;                                                                      \
        for (o_ = 0; o_ < LANES * 3 * (int)sizeof(T); o_ += 64)                      \
            _mm_prefetch(ahead_ + o_, _MM_HINT_T0);                                  \
        _mm_prefetch(Y + ((t) + rows_) * ys0, _MM_HINT_T0);                          \
    } while (0)

#define TN_SEED_ZERO_(V, OP, k) V acc##k = OP(setzero)();
#define TN_SEED_OUT_(REDUCE, unused, k) out[k] = REDUCE(acc##k);

/* The batch loop shared by both precisions: full (a multiple of LANES)
 * samples by vector loads, batch by batch; then `after` (a statement) once
 * a batch is done. */
#define TN_SEED_BATCHES(T, V, OP, SIG, LANES, LOAD, th, X, xs0, xs1, Y, ys0, sw,    \
                        s, full, ROWS, HAS_W, chk, after)                            \
    {                                                                                \
    V buf_[TN_SEED_BATCH][8];            /* x0, x1, x2, y, z0..z3 of each step */    \
    ptrdiff_t j_, m_;                                                                \
    for (; s < full; s += LANES * m_) {                                              \
        m_ = (full - s) / LANES < TN_SEED_BATCH ? (full - s) / LANES : TN_SEED_BATCH; \
        for (j_ = 0; j_ < m_; j_++) {                                                \
            V *b_ = buf_[j_];                                                        \
            const ptrdiff_t t_ = s + LANES * j_;                                     \
            if (ROWS) TN_SEED_PREFETCH(T, LANES, X, xs0, Y, ys0, t_);                \
            LOAD(X + t_ * xs0, xs0, xs1, Y + t_ * ys0, ys0, ROWS, b_, b_ + 1, b_ + 2, b_ + 3); \
            TN_SEED_FWD(V, OP, SIG, th, b_[0], b_[1], b_[2], b_[3], (b_ + 4), chk);  \
        }                                                                            \
        for (j_ = 0; j_ < m_; j_++) {                                                \
            V *b_ = buf_[j_];                                                        \
            V w_ = HAS_W ? OP(loadu)(sw + s + LANES * j_) : OP(setzero)();           \
            TN_SEED_BWD(V, OP, SIG, th, b_[0], b_[1], b_[2], b_[3], w_, HAS_W, (b_ + 4)); \
        }                                                                            \
        after                                                                        \
    }                                                                                \
    }

/* The block's sums into out[0..18] (the 18 sums, then chk), in double, for
 * one layout of X (ROWS) and with or without weights (HAS_W); the callers
 * pass constants, so each combination compiles to its own loop.  Samples
 * below `full` (a multiple of LANES) are read with LOAD, the rest in tiles.
 * REDUCE: the horizontal sum of a V. */
#define TN_SEED_RUN_D(NAME, V, OP, SIG, LANES, LOAD, REDUCE)                         \
TN_KERNEL void NAME(const double *th, const char *X, ptrdiff_t xs0,              \
                        ptrdiff_t xs1, const char *Y, ptrdiff_t ys0,                 \
                        const double *sw, ptrdiff_t n, ptrdiff_t full,               \
                        const int ROWS, const int HAS_W, double *out)                \
{                                                                                    \
    TN_SEED_EACH(TN_SEED_ZERO_, V, OP)                                               \
    V chk = OP(setzero)();                                                           \
    ptrdiff_t s = 0;                                                                 \
    TN_SEED_BATCHES(double, V, OP, SIG, LANES, LOAD, th, X, xs0, xs1, Y, ys0, sw,   \
                    s, full, ROWS, HAS_W, chk, ;)                                    \
    for (; s < n; s += LANES)                                                        \
        TN_SEED_TILE_STEP(double, V, OP, SIG, LANES, th, X, xs0, xs1, Y, ys0, sw, s, n, chk); \
    TN_SEED_EACH(TN_SEED_OUT_, REDUCE, 0)                                            \
    out[18] = REDUCE(chk);                                                           \
}

/* As TN_SEED_RUN_D in float, the float sums acc0..17 added into double sums
 * sum0..17 (type VD, operations OPD) after each batch of at most
 * TN_SEED_BATCH steps, and after every TN_SEED_BATCH tiles.  TO_D(sum, v):
 * sum + both halves of v, in double; REDUCE_D, REDUCE_F: horizontal sums. */
#define TN_SEED_ZERO_SUM_(VD, OPD, k) VD sum##k = OPD(setzero)();
#define TN_SEED_FLUSH_(TO_D, OP, k) sum##k = TO_D(sum##k, acc##k); acc##k = OP(setzero)();
#define TN_SEED_OUT_F_(REDUCE, unused, k) out[k] = REDUCE(sum##k);

#define TN_SEED_RUN_F(NAME, V, VD, OP, OPD, SIG, LANES, LOAD, TO_D, REDUCE_D, REDUCE_F) \
TN_KERNEL void NAME(const float *th, const char *X, ptrdiff_t xs0,               \
                        ptrdiff_t xs1, const char *Y, ptrdiff_t ys0,                 \
                        const float *sw, ptrdiff_t n, ptrdiff_t full,                \
                        const int ROWS, const int HAS_W, double *out)                \
{                                                                                    \
    TN_SEED_EACH(TN_SEED_ZERO_, V, OP)                                               \
    TN_SEED_EACH(TN_SEED_ZERO_SUM_, VD, OPD)                                         \
    V chk = OP(setzero)();                                                           \
    ptrdiff_t s = 0, i;                                                              \
    TN_SEED_BATCHES(float, V, OP, SIG, LANES, LOAD, th, X, xs0, xs1, Y, ys0, sw,    \
                    s, full, ROWS, HAS_W, chk, TN_SEED_EACH(TN_SEED_FLUSH_, TO_D, OP)) \
    for (i = 0; s < n; s += LANES) {                                                 \
        TN_SEED_TILE_STEP(float, V, OP, SIG, LANES, th, X, xs0, xs1, Y, ys0, sw, s, n, chk); \
        if (++i == TN_SEED_BATCH || s + LANES >= n) {                                \
            TN_SEED_EACH(TN_SEED_FLUSH_, TO_D, OP)                                   \
            i = 0;                                                                   \
        }                                                                            \
    }                                                                                \
    TN_SEED_EACH(TN_SEED_OUT_F_, REDUCE_D, 0)                                        \
    out[18] = (double)REDUCE_F(chk);                                                 \
}

/* The entry point with tn_seed.h's contract, for one width: RUN the loop
 * (TN_SEED_RUN_D or _F), LANES samples a register, GATHER_LIM the largest
 * stride (bytes) a LANES-wide gather can take. */
#define TN_SEED_SIMD_BLOCK(NAME, T, RUN, RECHECK, LANES, GATHER_LIM)                 \
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

#endif /* TN_SEED_SIMD_H */
