/*
 * tn_gemm.h -- the gradient of a dense layer over one block of samples,
 *
 *     G[k][j] += sum_{s < n} A[k][s] * D[j][s]        (G += A D^T, in double)
 *
 * A is (fin, bs) and D is (fout, bs), feature-major as in _layers.pxd, G is
 * (fin, fout) with rows ldg apart (a block of columns of a wider G), n a
 * multiple of 2 TN_LANES (the kernels pad to TN_TILE = 16 samples and keep
 * the padding lanes of D at zero).
 *
 * Tiles of TN_KT x TN_JT outputs are accumulated in vector registers, one
 * vector of TN_LANES partial sums each, over all samples; the partial sums
 * are added in lane order at the end.  The order of additions therefore
 * depends only on n and the instruction set the file is compiled for.
 *
 * GCC and Clang get explicit vector types (sized for AVX-512, AVX2 or SSE2
 * by the flags of the variant being compiled); other compilers a plain loop.
 */
#ifndef TN_GEMM_H
#define TN_GEMM_H

#include <stddef.h>
#include <string.h>

#include "tn_math.h"

/* The micro-kernels below are TN_KERNEL (tn_math.h): compiled as functions
 * of their own, never inlined into the block loop of _kernel_body.pxi. */

#if defined(__GNUC__) || defined(__clang__)
#  if defined(__AVX512F__)
#    define TN_LANES 8
#    define TN_KT 4
#    define TN_JT 4
#  elif defined(__AVX__)
#    define TN_LANES 4
#    define TN_KT 4
#    define TN_JT 2
#  else
#    define TN_LANES 2
#    define TN_KT 2
#    define TN_JT 4
#  endif
typedef double tn_vd __attribute__((vector_size(TN_LANES * 8)));

static inline tn_vd tn_load_d(const double *p) { tn_vd v; memcpy(&v, p, sizeof v); return v; }
static inline double tn_hsum(tn_vd v)
{
    double t = 0.0;
    int l;
    for (l = 0; l < TN_LANES; l++) t += v[l];
    return t;
}

/* one TN_KT x TN_JT tile (kb <= TN_KT rows and jb <= TN_JT columns used) */
#define TN_GEMM_TILE(NAME, T, LOAD)                                              \
static inline void NAME(const T *A, const T *D, double *G, ptrdiff_t fout,      \
                        ptrdiff_t n, ptrdiff_t bs, int kb, int jb)               \
{                                                                                \
    tn_vd acc[TN_KT][TN_JT];                                                     \
    const T *a[TN_KT];                                                           \
    const T *d[TN_JT];                                                           \
    ptrdiff_t s;                                                                 \
    int kk, jj;                                                                  \
    for (kk = 0; kk < TN_KT; kk++) {                                             \
        a[kk] = A + (kk < kb ? kk : 0) * bs;                                     \
        for (jj = 0; jj < TN_JT; jj++) acc[kk][jj] = (tn_vd){0};                 \
    }                                                                            \
    for (jj = 0; jj < TN_JT; jj++) d[jj] = D + (jj < jb ? jj : 0) * bs;          \
    for (s = 0; s < n; s += TN_LANES) {                                          \
        tn_vd x[TN_KT], y[TN_JT];                                                \
        for (kk = 0; kk < TN_KT; kk++) x[kk] = LOAD(a[kk] + s);                  \
        for (jj = 0; jj < TN_JT; jj++) y[jj] = LOAD(d[jj] + s);                  \
        for (kk = 0; kk < TN_KT; kk++)                                           \
            for (jj = 0; jj < TN_JT; jj++) acc[kk][jj] += x[kk] * y[jj];         \
    }                                                                            \
    for (kk = 0; kk < kb; kk++)                                                  \
        for (jj = 0; jj < jb; jj++) G[kk * fout + jj] += tn_hsum(acc[kk][jj]);   \
}
TN_GEMM_TILE(tn_gemm_tile_d, double, tn_load_d)

/* float: the same tiles on float vectors of twice as many lanes.  Each lane
 * sums at most TN_FSUM / (2 TN_LANES) products in float (64 with AVX-512)
 * before its partial sum is added into G in double, so float keeps its
 * vector width without long float sums. */
#define TN_FSUM 1024
typedef float tn_vf2 __attribute__((vector_size(TN_LANES * 8)));
static inline tn_vf2 tn_load_f2(const float *p) { tn_vf2 v; memcpy(&v, p, sizeof v); return v; }
static inline double tn_hsum_f2(tn_vf2 v)
{
    double t = 0.0;
    int l;
    for (l = 0; l < 2 * TN_LANES; l++) t += (double)v[l];
    return t;
}
static inline void tn_gemm_tile_f(const float *A, const float *D, double *G, ptrdiff_t fout,
                                  ptrdiff_t n, ptrdiff_t bs, int kb, int jb)
{
    const float *a[TN_KT];
    const float *d[TN_JT];
    ptrdiff_t s, s0, s1;
    int kk, jj;
    for (kk = 0; kk < TN_KT; kk++) a[kk] = A + (kk < kb ? kk : 0) * bs;
    for (jj = 0; jj < TN_JT; jj++) d[jj] = D + (jj < jb ? jj : 0) * bs;
    for (s0 = 0; s0 < n; s0 = s1) {
        tn_vf2 acc[TN_KT][TN_JT];
        s1 = n - s0 < TN_FSUM ? n : s0 + TN_FSUM;
        for (kk = 0; kk < TN_KT; kk++)
            for (jj = 0; jj < TN_JT; jj++) acc[kk][jj] = (tn_vf2){0};
        for (s = s0; s < s1; s += 2 * TN_LANES) {
            tn_vf2 x[TN_KT], y[TN_JT];
            for (kk = 0; kk < TN_KT; kk++) x[kk] = tn_load_f2(a[kk] + s);
            for (jj = 0; jj < TN_JT; jj++) y[jj] = tn_load_f2(d[jj] + s);
            for (kk = 0; kk < TN_KT; kk++)
                for (jj = 0; jj < TN_JT; jj++) acc[kk][jj] += x[kk] * y[jj];
        }
        for (kk = 0; kk < kb; kk++)
            for (jj = 0; jj < jb; jj++) G[kk * fout + jj] += tn_hsum_f2(acc[kk][jj]);
    }
}

#define TN_GEMM(NAME, TILE, T)                                                   \
TN_KERNEL void NAME(const T *A, const T *D, double *G, ptrdiff_t fin,       \
                        ptrdiff_t fout, ptrdiff_t ldg, ptrdiff_t n, ptrdiff_t bs) \
{                                                                                \
    ptrdiff_t k0, j0;                                                            \
    for (k0 = 0; k0 < fin; k0 += TN_KT)                                          \
        for (j0 = 0; j0 < fout; j0 += TN_JT)                                     \
            TILE(A + k0 * bs, D + j0 * bs, G + k0 * ldg + j0, ldg, n, bs,       \
                 (int)(fin - k0 < TN_KT ? fin - k0 : TN_KT),                     \
                 (int)(fout - j0 < TN_JT ? fout - j0 : TN_JT));                  \
}
TN_GEMM(tn_gemm_at_d, tn_gemm_tile_d, double)
TN_GEMM(tn_gemm_at_f, tn_gemm_tile_f, float)

/*
 * The same sum for wide layers, as outer products: with D transposed to
 * Dt (n, ncols), G[k][j0 .. j0 + 2 TN_LANES) += A[k][s] * Dt[s][j0 ..] for
 * TN_OK rows k at once, the 2 x TN_OK vectors of G held in registers over
 * all s; no horizontal sums. Each G entry is summed over s in order.
 * ncols is a multiple of the tile's width, TN_WIDE columns (2 TN_WIDE in
 * float); the columns after the last whole tile are left to the dot-product
 * form above (_layers.pxd), which vectorises over samples.
 */
#if defined(__AVX512F__)
#  define TN_OK 12
#elif defined(__AVX__)
#  define TN_OK 4
#else
#  define TN_OK 2
#endif
#define TN_GEMM_OUTER(NAME, T, LOAD)                                             \
TN_KERNEL void NAME(const T *A, const T *Dt, double *G, ptrdiff_t fin,           \
                    ptrdiff_t ncols, ptrdiff_t ldg, ptrdiff_t n, ptrdiff_t bs)   \
{                                                                                \
    ptrdiff_t k0, j0, s;                                                         \
    int kk, kb;                                                                  \
    for (k0 = 0; k0 < fin; k0 += TN_OK) {                                        \
        const T *a[TN_OK];                                                       \
        kb = (int)(fin - k0 < TN_OK ? fin - k0 : TN_OK);                         \
        for (kk = 0; kk < TN_OK; kk++) a[kk] = A + (k0 + (kk < kb ? kk : 0)) * bs; \
        for (j0 = 0; j0 + 2 * TN_LANES <= ncols; j0 += 2 * TN_LANES) {           \
            tn_vd acc[TN_OK][2];                                                 \
            for (kk = 0; kk < TN_OK; kk++) acc[kk][0] = acc[kk][1] = (tn_vd){0};  \
            for (s = 0; s < n; s++) {                                            \
                const tn_vd d0 = LOAD(Dt + s * ncols + j0);                      \
                const tn_vd d1 = LOAD(Dt + s * ncols + j0 + TN_LANES);           \
                for (kk = 0; kk < TN_OK; kk++) {                                 \
                    const double av = (double)a[kk][s];                          \
                    acc[kk][0] += d0 * av;                                       \
                    acc[kk][1] += d1 * av;                                       \
                }                                                                \
            }                                                                    \
            for (kk = 0; kk < kb; kk++) {                                        \
                double *g = G + (k0 + kk) * ldg + j0;                            \
                tn_vd g0 = tn_load_d(g), g1 = tn_load_d(g + TN_LANES);           \
                g0 += acc[kk][0];                                                \
                g1 += acc[kk][1];                                                \
                memcpy(g, &g0, sizeof g0);                                       \
                memcpy(g + TN_LANES, &g1, sizeof g1);                            \
            }                                                                    \
        }                                                                        \
    }                                                                            \
}
TN_GEMM_OUTER(tn_gemm_outer_d, double, tn_load_d)

/* float: rows of Dt as float vectors of 2 TN_LANES columns, TN_OK x 2 of
 * them in registers (4 TN_LANES columns a tile), each summed in float over
 * TN_OSUM samples at most, then added into G in double. */
#define TN_OSUM 64
typedef float tn_vfh __attribute__((vector_size(TN_LANES * 4)));
static inline void tn_gemm_outer_add_f(double *g, tn_vf2 v)
{
    tn_vfh h[2];
    tn_vd g0 = tn_load_d(g), g1 = tn_load_d(g + TN_LANES);
    memcpy(h, &v, sizeof v);
    g0 += __builtin_convertvector(h[0], tn_vd);
    g1 += __builtin_convertvector(h[1], tn_vd);
    memcpy(g, &g0, sizeof g0);
    memcpy(g + TN_LANES, &g1, sizeof g1);
}
TN_KERNEL void tn_gemm_outer_f(const float *A, const float *Dt, double *G, ptrdiff_t fin,
                               ptrdiff_t ncols, ptrdiff_t ldg, ptrdiff_t n, ptrdiff_t bs)
{
    const ptrdiff_t FL = 2 * TN_LANES;
    ptrdiff_t k0, j0, s, s0, s1;
    int kk, kb;
    for (k0 = 0; k0 < fin; k0 += TN_OK) {
        const float *a[TN_OK];
        kb = (int)(fin - k0 < TN_OK ? fin - k0 : TN_OK);
        for (kk = 0; kk < TN_OK; kk++) a[kk] = A + (k0 + (kk < kb ? kk : 0)) * bs;
        for (j0 = 0; j0 + 2 * FL <= ncols; j0 += 2 * FL)
            for (s0 = 0; s0 < n; s0 = s1) {
                tn_vf2 acc[TN_OK][2];
                s1 = n - s0 < TN_OSUM ? n : s0 + TN_OSUM;
                for (kk = 0; kk < TN_OK; kk++) acc[kk][0] = acc[kk][1] = (tn_vf2){0};
                for (s = s0; s < s1; s++) {
                    const tn_vf2 d0 = tn_load_f2(Dt + s * ncols + j0);
                    const tn_vf2 d1 = tn_load_f2(Dt + s * ncols + j0 + FL);
                    for (kk = 0; kk < TN_OK; kk++) {
                        acc[kk][0] += d0 * a[kk][s];
                        acc[kk][1] += d1 * a[kk][s];
                    }
                }
                for (kk = 0; kk < kb; kk++) {
                    tn_gemm_outer_add_f(G + (k0 + kk) * ldg + j0, acc[kk][0]);
                    tn_gemm_outer_add_f(G + (k0 + kk) * ldg + j0 + FL, acc[kk][1]);
                }
            }
    }
}
#define TN_WIDE (2 * TN_LANES)

/*
 * The forward product of a dense layer for one tile of 16 samples and up to
 * TN_FJ outputs: H[j][s0 + t] = b[j] + sum_k W[k][j] A[k][s0 + t], with the
 * 16 x TN_FJ sums held in vector registers while k runs over the inputs.
 */
#define TN_TILE 16
#if defined(__AVX512F__)
#  define TN_FJ 12
#elif defined(__AVX__)
#  define TN_FJ 4
#else
#  define TN_FJ 2
#endif
#define TN_DENSE_TILE(NAME, T, VT, LANES, NV)                                    \
TN_KERNEL void NAME(const T *W, const T *b, const T *A, T *H,               \
                        ptrdiff_t fin, ptrdiff_t fout, ptrdiff_t j0, int jb,    \
                        ptrdiff_t s0, ptrdiff_t bs)                             \
{                                                                               \
    VT acc[TN_FJ][NV];                                                          \
    ptrdiff_t k;                                                                \
    int j, v;                                                                   \
    for (j = 0; j < TN_FJ; j++) {                                               \
        T bj = (b != NULL && j < jb) ? b[j0 + j] : (T)0;                        \
        for (v = 0; v < NV; v++) acc[j][v] = (VT){0} + bj;                      \
    }                                                                           \
    for (k = 0; k < fin; k++) {                                                 \
        const T *a = A + k * bs + s0;                                           \
        const T *w = W + k * fout + j0;                                         \
        VT x[NV];                                                               \
        for (v = 0; v < NV; v++) memcpy(&x[v], a + v * LANES, sizeof(VT));      \
        for (j = 0; j < TN_FJ; j++) {                                           \
            T wj = j < jb ? w[j] : (T)0;                                        \
            for (v = 0; v < NV; v++) acc[j][v] += x[v] * wj;                    \
        }                                                                       \
    }                                                                           \
    for (j = 0; j < jb; j++)                                                    \
        for (v = 0; v < NV; v++)                                                \
            memcpy(H + (j0 + j) * bs + s0 + v * LANES, &acc[j][v], sizeof(VT)); \
}
/* TN_TILE samples; and for float, whose vectors hold a whole tile, also
 * 2 TN_TILE samples at once, so that each weight loaded feeds two vectors */
TN_DENSE_TILE(tn_dense_tile_d, double, tn_vd, TN_LANES, TN_TILE / TN_LANES)
TN_DENSE_TILE(tn_dense_tile_f, float, tn_vf2, (2 * TN_LANES), TN_TILE / (2 * TN_LANES))
TN_DENSE_TILE(tn_dense_tile2_f, float, tn_vf2, (2 * TN_LANES), 2 * TN_TILE / (2 * TN_LANES))

#else  /* plain C: one dot product per output, lanes kept apart the same way */
#  define TN_LANES 8
#define TN_GEMM_PLAIN(NAME, T)                                                   \
static inline void NAME(const T *A, const T *D, double *G, ptrdiff_t fin,       \
                        ptrdiff_t fout, ptrdiff_t ldg, ptrdiff_t n, ptrdiff_t bs) \
{                                                                                \
    ptrdiff_t k, j, s;                                                           \
    int l;                                                                       \
    for (k = 0; k < fin; k++)                                                    \
        for (j = 0; j < fout; j++) {                                             \
            double acc[TN_LANES] = {0}, t = 0.0;                                 \
            for (s = 0; s < n; s += TN_LANES)                                    \
                for (l = 0; l < TN_LANES; l++)                                   \
                    acc[l] += (double)A[k * bs + s + l] * D[j * bs + s + l];     \
            for (l = 0; l < TN_LANES; l++) t += acc[l];                          \
            G[k * ldg + j] += t;                                                 \
        }                                                                        \
}
TN_GEMM_PLAIN(tn_gemm_at_d, double)
TN_GEMM_PLAIN(tn_gemm_at_f, float)
#define TN_WIDE 1000000000     /* plain C: the outer-product form is not used */
#define TN_GEMM_OUTER_PLAIN(NAME, T)                                             \
static inline void NAME(const T *A, const T *Dt, double *G, ptrdiff_t fin,      \
                        ptrdiff_t ncols, ptrdiff_t ldg, ptrdiff_t n, ptrdiff_t bs) \
{ (void)A; (void)Dt; (void)G; (void)fin; (void)ncols; (void)ldg; (void)n; (void)bs; }
TN_GEMM_OUTER_PLAIN(tn_gemm_outer_d, double)
TN_GEMM_OUTER_PLAIN(tn_gemm_outer_f, float)
#define TN_TILE 16
#define TN_FJ 1
#define TN_DENSE_PLAIN(NAME, T)                                                  \
static inline void NAME(const T *W, const T *b, const T *A, T *H,               \
                        ptrdiff_t fin, ptrdiff_t fout, ptrdiff_t j0, int jb,    \
                        ptrdiff_t s0, ptrdiff_t bs)                             \
{                                                                               \
    ptrdiff_t k;                                                                \
    int j, t;                                                                   \
    for (j = 0; j < jb; j++) {                                                  \
        T acc[TN_TILE];                                                         \
        for (t = 0; t < TN_TILE; t++) acc[t] = b != NULL ? b[j0 + j] : (T)0;    \
        for (k = 0; k < fin; k++)                                               \
            for (t = 0; t < TN_TILE; t++)                                       \
                acc[t] += W[k * fout + j0 + j] * A[k * bs + s0 + t];            \
        for (t = 0; t < TN_TILE; t++) H[(j0 + j) * bs + s0 + t] = acc[t];       \
    }                                                                           \
}
TN_DENSE_PLAIN(tn_dense_tile_d, double)
TN_DENSE_PLAIN(tn_dense_tile_f, float)
static inline void tn_dense_tile2_f(const float *W, const float *b, const float *A, float *H,
                                    ptrdiff_t fin, ptrdiff_t fout, ptrdiff_t j0, int jb,
                                    ptrdiff_t s0, ptrdiff_t bs)
{
    tn_dense_tile_f(W, b, A, H, fin, fout, j0, jb, s0, bs);
    tn_dense_tile_f(W, b, A, H, fin, fout, j0, jb, s0 + TN_TILE, bs);
}

#endif

#endif /* TN_GEMM_H */
