# The layer formulas of an MLP over one block of samples.
#
# Layout: a block holds up to `bs` samples; a layer's values for the block are
# stored feature-major, A[j * bs + s] for feature j and sample s, so that every
# inner loop runs over samples with unit stride and vectorises.
#
#   dense_forward:   Z_j = f(b_j + sum_k A_k W[k, j])          (Z = f(A W + b))
#   dense_backward:  gW[k, j] += sum_s A_k[s] D_j[s];  gb[j] += sum_s D_j[s]
#   backprop:        Dprev_k = (sum_j W[k, j] D_j) * f'(H_k)    ((D W^T) * f'),
#                    f' written in terms of Z = f(H)
#
# backprop is the forward product with W^T (transposed once per call), so
# both run on the register tiles of tn_gemm.h.
#
# The forward and backprop loops work on tiles of TILE samples held in a small
# local array, which the compiler keeps in vector registers: each output is
# written once, each input read once per tile.  They may run past n up to the
# next multiple of TILE (the block buffers have room; the extra lanes are
# never read back).
from cython cimport floating
from tinynet._cmath cimport sigmoid, tanh, vsum

cdef extern from "tn_gemm.h" nogil:
    enum: TN_FJ
    enum: TN_WIDE
    void tn_gemm_outer_d(const double *A, const double *Dt, double *G, Py_ssize_t fin,
                         Py_ssize_t ncols, Py_ssize_t ldg, Py_ssize_t n, Py_ssize_t bs)
    void tn_gemm_outer_f(const float *A, const float *Dt, double *G, Py_ssize_t fin,
                         Py_ssize_t ncols, Py_ssize_t ldg, Py_ssize_t n, Py_ssize_t bs)
    void tn_dense_tile_d(const double *W, const double *b, const double *A, double *H,
                         Py_ssize_t fin, Py_ssize_t fout, Py_ssize_t j0, int jb,
                         Py_ssize_t s0, Py_ssize_t bs)
    void tn_dense_tile_f(const float *W, const float *b, const float *A, float *H,
                         Py_ssize_t fin, Py_ssize_t fout, Py_ssize_t j0, int jb,
                         Py_ssize_t s0, Py_ssize_t bs)
    void tn_dense_tile2_f(const float *W, const float *b, const float *A, float *H,
                          Py_ssize_t fin, Py_ssize_t fout, Py_ssize_t j0, int jb,
                          Py_ssize_t s0, Py_ssize_t bs)
    void tn_gemm_at_d(const double *A, const double *D, double *G, Py_ssize_t fin,
                      Py_ssize_t fout, Py_ssize_t ldg, Py_ssize_t n, Py_ssize_t bs)
    void tn_gemm_at_f(const float *A, const float *D, double *G, Py_ssize_t fin,
                      Py_ssize_t fout, Py_ssize_t ldg, Py_ssize_t n, Py_ssize_t bs)

cdef enum:
    # samples per register tile: the fused loops below work on TILE samples
    # at a time, kept in registers; blocks are multiples of TILE samples
    TILE = 16

cdef enum:
    ACT_IDENTITY = 0
    ACT_SIGMOID = 1
    ACT_TANH = 2
    ACT_RELU = 3
    ACT_SOFTMAX = 4


cdef inline void apply_act(int kind, const floating *acc, floating *z) noexcept nogil:
    """z[t] = f(acc[t]) for one tile."""
    cdef Py_ssize_t t
    if kind == ACT_SIGMOID:
        for t in range(TILE):
            z[t] = sigmoid(acc[t])
    elif kind == ACT_TANH:
        for t in range(TILE):
            z[t] = tanh(acc[t])
    elif kind == ACT_RELU:
        for t in range(TILE):
            z[t] = acc[t] if not acc[t] < 0 else 0     # max(h, 0); NaN stays NaN
    else:
        for t in range(TILE):
            z[t] = acc[t]


cdef inline void dense_forward(int kind,            # activation f
                               const floating *W,    # IN  (fin, fout) row-major
                               const floating *b,    # IN  (fout,) or NULL
                               const floating *A,    # IN  (fin, bs)
                               floating *Z,          # OUT (fout, bs)
                               Py_ssize_t fin, Py_ssize_t fout,
                               Py_ssize_t n, Py_ssize_t bs) noexcept nogil:
    """Z = f(A W + b): tiles of TILE samples (2 TILE in float while they
    last) x TN_FJ outputs summed in vector registers (tn_gemm.h), then the
    activation applied to each output row."""
    cdef Py_ssize_t j0, j, t, s0 = 0
    cdef Py_ssize_t npad = (n + TILE - 1) // TILE * TILE
    cdef int jb, width
    while s0 < n:
        width = TILE
        if floating is float:
            if s0 + 2 * TILE <= npad:
                width = 2 * TILE
        j0 = 0
        while j0 < fout:
            jb = <int>min(<Py_ssize_t>TN_FJ, fout - j0)
            if floating is double:
                tn_dense_tile_d(W, b, A, Z, fin, fout, j0, jb, s0, bs)
            elif width == TILE:
                tn_dense_tile_f(W, b, A, Z, fin, fout, j0, jb, s0, bs)
            else:
                tn_dense_tile2_f(W, b, A, Z, fin, fout, j0, jb, s0, bs)
            for j in range(j0, j0 + jb):
                apply_act(kind, Z + j * bs + s0, Z + j * bs + s0)
                if width > TILE:
                    t = s0 + TILE
                    apply_act(kind, Z + j * bs + t, Z + j * bs + t)
            j0 += jb
        s0 += width


cdef inline void dense_backward(const floating *A,   # IN  (fin, bs) layer input
                                const floating *D,   # IN  (fout, bs) dL/dH
                                double *gW,          # IN/OUT (fin, fout) sums
                                double *gb,          # IN/OUT (fout,) sums, or NULL
                                floating *Dt,        # scratch (bs, fout)
                                Py_ssize_t fin, Py_ssize_t fout,
                                Py_ssize_t n, Py_ssize_t bs) noexcept nogil:
    """gW += A D^T and gb += D 1 over the block's samples, in double.

    Narrow layers: dot-product tiles over samples (tn_gemm_at).  Wide ones
    (at least one outer-product tile: TN_WIDE columns in double, 2 TN_WIDE
    in float): the whole tiles' columns of D transposed once, then
    outer-product tiles (tn_gemm_outer); the columns after the last whole
    tile in dot-product tiles.  The sums run over n rounded up to a
    multiple of TILE: D is zero there."""
    cdef Py_ssize_t j, s, s0
    cdef Py_ssize_t npad = (n + TILE - 1) // TILE * TILE
    cdef Py_ssize_t wide = TN_WIDE
    cdef Py_ssize_t jw             # columns done as outer products
    if floating is float:
        wide = 2 * TN_WIDE
    jw = fout // wide * wide
    if jw > 0:
        # transpose in tiles of TILE samples, whose rows of Dt stay in L1
        s0 = 0
        while s0 < npad:
            for j in range(jw):
                for s in range(s0, s0 + TILE):
                    Dt[s * jw + j] = D[j * bs + s]
            s0 += TILE
        if floating is double:
            tn_gemm_outer_d(A, Dt, gW, fin, jw, fout, npad, bs)
        else:
            tn_gemm_outer_f(A, Dt, gW, fin, jw, fout, npad, bs)
    if jw < fout:
        if floating is double:
            tn_gemm_at_d(A, D + jw * bs, gW + jw, fin, fout - jw, fout, npad, bs)
        else:
            tn_gemm_at_f(A, D + jw * bs, gW + jw, fin, fout - jw, fout, npad, bs)
    if gb != NULL:
        for j in range(fout):
            gb[j] += vsum(D + j * bs, n)


cdef inline void backprop(int kind,          # activation f of the input layer
                          const floating *WT,  # IN  (fout, fin) row-major: W transposed
                          const floating *D,   # IN  (fout, bs) dL/dH of this layer
                          const floating *Z,   # IN  (fin, bs) f(H) of the input layer
                          floating *P,         # OUT (fin, bs) dL/dH of the input layer
                          Py_ssize_t fin, Py_ssize_t fout,
                          Py_ssize_t n, Py_ssize_t bs) noexcept nogil:
    """P = (W D) * f'(H): the product as a forward product with the weights
    W^T (the register tiles of dense_forward, many outputs a tile), then
    f' written in terms of Z = f(H), over n rounded up to TILE (D is zero
    there, so P is too).  A single output (fout 1) is a scaled copy."""
    cdef Py_ssize_t k, s
    cdef Py_ssize_t npad = (n + TILE - 1) // TILE * TILE
    cdef floating w
    cdef const floating *z
    cdef floating *p
    if fout == 1:
        for k in range(fin):
            w = WT[k]
            p = P + k * bs
            for s in range(npad):
                p[s] = w * D[s]
    else:
        dense_forward(ACT_IDENTITY, WT, <const floating *>NULL, D, P, fout, fin, n, bs)
    if kind == ACT_IDENTITY:
        return
    for k in range(fin):
        z = Z + k * bs
        p = P + k * bs
        if kind == ACT_SIGMOID:
            for s in range(npad):
                p[s] = p[s] * (z[s] * (1 - z[s]))
        elif kind == ACT_TANH:
            for s in range(npad):
                p[s] = p[s] * (1 - z[s] * z[s])
        else:       # ACT_RELU
            for s in range(npad):
                p[s] = p[s] if z[s] > 0 else 0
