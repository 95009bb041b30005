# The layer formulas of an MLP over one block of samples.
#
# Layout: a block holds up to `bs` samples; a layer's values for the block are
# stored feature-major, A[j * bs + s] for feature j and sample s, so that every
# inner loop runs over samples with unit stride and vectorises.
#
#   dense_forward:   H_j = b_j + sum_k A_k W[k, j]              (H = A W + b)
#   activate:        Z = f(H) in place
#   activate_grad:   D *= f'(H), written in terms of Z = f(H)
#   dense_backward:  gW[k, j] += sum_s A_k[s] D_j[s];  gb[j] += sum_s D_j[s]
#   backprop:        Dprev_k = sum_j W[k, j] D_j                (D W^T)
from cython cimport floating
from tinynet._cmath cimport tn_sigmoid, tn_tanh, tn_relu, dot, vsum

cdef enum:
    ACT_IDENTITY = 0
    ACT_SIGMOID = 1
    ACT_TANH = 2
    ACT_RELU = 3
    ACT_SOFTMAX = 4


cdef inline void dense_forward(const floating *W,    # IN  (fin, fout) row-major
                               const floating *b,    # IN  (fout,) or NULL
                               const floating *A,    # IN  (fin, bs)
                               floating *H,          # OUT (fout, bs)
                               Py_ssize_t fin, Py_ssize_t fout,
                               Py_ssize_t n, Py_ssize_t bs) noexcept nogil:
    cdef Py_ssize_t j, k, s
    cdef floating w, bj
    cdef floating *h
    cdef const floating *a
    for j in range(fout):
        h = H + j * bs
        bj = b[j] if b != NULL else 0
        for s in range(n):
            h[s] = bj
    for k in range(fin):
        a = A + k * bs
        for j in range(fout):
            w = W[k * fout + j]
            h = H + j * bs
            for s in range(n):
                h[s] += w * a[s]


cdef inline void activate(int kind, floating *H, Py_ssize_t f,
                          Py_ssize_t n, Py_ssize_t bs) noexcept nogil:
    """Apply an element-wise activation in place to the (f, bs) block H."""
    cdef Py_ssize_t j, s
    cdef floating *h
    for j in range(f):
        h = H + j * bs
        if kind == ACT_SIGMOID:
            for s in range(n):
                h[s] = <floating>tn_sigmoid(h[s])
        elif kind == ACT_TANH:
            for s in range(n):
                h[s] = <floating>tn_tanh(h[s])
        elif kind == ACT_RELU:
            for s in range(n):
                h[s] = <floating>tn_relu(h[s])
        # ACT_IDENTITY: nothing to do


cdef inline void activate_grad(int kind, const floating *Z,  # IN  (f, bs) = f(H)
                               floating *D,                  # IN/OUT (f, bs)
                               Py_ssize_t f, Py_ssize_t n, Py_ssize_t bs) noexcept nogil:
    """D *= f'(H), with f' written through Z = f(H):
    sigmoid Z (1 - Z); tanh 1 - Z^2; relu [Z > 0] (0 at 0); identity 1."""
    cdef Py_ssize_t j, s
    cdef floating *d
    cdef const floating *z
    for j in range(f):
        d = D + j * bs
        z = Z + j * bs
        if kind == ACT_SIGMOID:
            for s in range(n):
                d[s] = d[s] * (z[s] * (1 - z[s]))
        elif kind == ACT_TANH:
            for s in range(n):
                d[s] = d[s] * (1 - z[s] * z[s])
        elif kind == ACT_RELU:
            for s in range(n):
                d[s] = d[s] if z[s] > 0 else 0


cdef inline void dense_backward(const floating *A,   # IN  (fin, bs) layer input
                                const floating *D,   # IN  (fout, bs) dL/dH
                                double *gW,          # IN/OUT (fin, fout) sums
                                double *gb,          # IN/OUT (fout,) sums, or NULL
                                Py_ssize_t fin, Py_ssize_t fout,
                                Py_ssize_t n, Py_ssize_t bs) noexcept nogil:
    cdef Py_ssize_t j, k
    for k in range(fin):
        for j in range(fout):
            gW[k * fout + j] += dot(A + k * bs, D + j * bs, n)
    if gb != NULL:
        for j in range(fout):
            gb[j] += vsum(D + j * bs, n)


cdef inline void backprop(const floating *W,   # IN  (fin, fout) row-major
                          const floating *D,   # IN  (fout, bs) dL/dH of this layer
                          floating *P,         # OUT (fin, bs) dL/dA of its input
                          Py_ssize_t fin, Py_ssize_t fout,
                          Py_ssize_t n, Py_ssize_t bs) noexcept nogil:
    cdef Py_ssize_t j, k, s
    cdef floating w
    cdef floating *p
    cdef const floating *d
    for k in range(fin):
        p = P + k * bs
        w = W[k * fout]
        d = D
        for s in range(n):
            p[s] = w * d[s]
        for j in range(1, fout):
            w = W[k * fout + j]
            d = D + j * bs
            for s in range(n):
                p[s] += w * d[s]
