# The output layer and the loss over one block of samples: from the output
# layer's pre-activation O (K, bs) and the targets Y (K, bs), each head gives
# the per-sample loss l_s (before weighting) and delta D = dl_s/dO (K, bs).
#
#   mse  + identity:  l = 1/2 sum_k (O - Y)^2           D = O - Y
#   mse  + sigmoid:   l = 1/2 sum_k (s(O) - Y)^2        D = (yhat - Y) yhat (1 - yhat)
#   mse  + softmax:   l = 1/2 sum_k (p - Y)^2           D = p (g - sum_j g_j p_j), g = p - Y
#   bce  + sigmoid:   l = sum_k (1-Y) sp(O) + Y sp(-O)  D = s(O) - Y
#   ce   + softmax:   l = sum_k Y (lse(O) - O)          D = p sum_j Y_j - Y
#
# sp is softplus, lse the log-sum-exp of a row, p = softmax(O).  Softmax uses
# the row maximum m and S1 = sum over the other entries of exp(O_k - m), so
# that p = exp(O - m) / (1 + S1) and lse - O_k = (m - O_k) + log1p(S1) neither
# overflows nor cancels.  Arithmetic is done in double, deltas rounded once.
from cython cimport floating
from libc.math cimport log1p
from tinynet._cmath cimport tn_exp, tn_bce_from_logit, sigmoid
from tinynet._layers cimport ACT_IDENTITY, ACT_SIGMOID, ACT_SOFTMAX

cdef enum:
    LOSS_MSE = 0
    LOSS_BCE = 1
    LOSS_CE = 2


cdef inline void softmax_stats(const floating *O,   # IN  (K, bs)
                               double *m,           # OUT (bs,) row maximum
                               double *S1,          # OUT (bs,) sum_{k != argmax} exp(O_k - m)
                               double *cnt,         # scratch (bs,)
                               Py_ssize_t K, Py_ssize_t n, Py_ssize_t bs) noexcept nogil:
    cdef Py_ssize_t k, s
    cdef const floating *o
    cdef double e, below
    for s in range(n):
        m[s] = O[s]
        S1[s] = 0
        cnt[s] = -1        # the maximum itself is not counted
    for k in range(1, K):
        o = O + k * bs
        for s in range(n):
            m[s] = o[s] if o[s] > m[s] else m[s]
    for k in range(K):
        o = O + k * bs
        for s in range(n):
            e = tn_exp(o[s] - m[s])
            below = 1.0 if o[s] < m[s] else 0.0
            S1[s] += below * e
            cnt[s] += 1.0 - below      # ties with the maximum each add exp(0) = 1
    for s in range(n):
        S1[s] += cnt[s]


cdef inline void output_activate(int kind, floating *O,  # IN/OUT (K, bs)
                                 double *dwork,          # scratch (3 bs,)
                                 Py_ssize_t K, Py_ssize_t n, Py_ssize_t bs) noexcept nogil:
    """yhat = out(O), in place."""
    cdef Py_ssize_t k, s
    cdef floating *o
    cdef double *m = dwork
    cdef double *S1 = dwork + bs
    if kind == ACT_SIGMOID:
        for k in range(K):
            o = O + k * bs
            for s in range(n):
                o[s] = sigmoid(o[s])
    elif kind == ACT_SOFTMAX:
        softmax_stats(O, m, S1, dwork + 2 * bs, K, n, bs)
        for k in range(K):
            o = O + k * bs
            for s in range(n):
                o[s] = <floating>(tn_exp(o[s] - m[s]) / (1.0 + S1[s]))


cdef inline void head(int loss, int kind,
                      const floating *O,   # IN  (K, bs) output pre-activation
                      const floating *Y,   # IN  (K, bs) targets
                      floating *D,         # OUT (K, bs) dl/dO
                      double *ls,          # OUT (bs,) per-sample loss
                      double *dwork,       # scratch (3 bs,)
                      bint want_delta,
                      Py_ssize_t K, Py_ssize_t n, Py_ssize_t bs) noexcept nogil:
    cdef Py_ssize_t k, s
    cdef const floating *o
    cdef const floating *y
    cdef floating *d
    cdef floating yh, r
    cdef double p, g
    cdef double *m = dwork
    cdef double *S1 = dwork + bs
    cdef double *aux = dwork + 2 * bs
    for s in range(n):
        ls[s] = 0
    if loss == LOSS_MSE and kind != ACT_SOFTMAX:
        for k in range(K):
            o = O + k * bs
            y = Y + k * bs
            d = D + k * bs
            if kind == ACT_SIGMOID:
                for s in range(n):
                    yh = sigmoid(o[s])
                    r = yh - y[s]
                    ls[s] += 0.5 * (<double>r * r)
                    d[s] = r * yh * (1 - yh)
            else:
                for s in range(n):
                    r = o[s] - y[s]
                    ls[s] += 0.5 * (<double>r * r)
                    d[s] = r
    elif loss == LOSS_BCE:
        for k in range(K):
            o = O + k * bs
            y = Y + k * bs
            d = D + k * bs
            for s in range(n):
                ls[s] += tn_bce_from_logit(o[s], y[s])
                d[s] = sigmoid(o[s]) - y[s]
    else:
        # softmax output: mse or ce
        softmax_stats(O, m, S1, aux, K, n, bs)
        for s in range(n):
            aux[s] = 0
        for k in range(K):
            o = O + k * bs
            y = Y + k * bs
            if loss == LOSS_CE:
                for s in range(n):
                    ls[s] += y[s] * ((m[s] - o[s]) + log1p(S1[s]))
                    aux[s] += y[s]                     # sum_j Y_j
            else:
                for s in range(n):
                    p = tn_exp(o[s] - m[s]) / (1.0 + S1[s])
                    g = p - y[s]
                    ls[s] += 0.5 * g * g
                    aux[s] += g * p                    # sum_j g_j p_j
        if want_delta:
            for k in range(K):
                o = O + k * bs
                y = Y + k * bs
                d = D + k * bs
                for s in range(n):
                    p = tn_exp(o[s] - m[s]) / (1.0 + S1[s])
                    if loss == LOSS_CE:
                        d[s] = <floating>(p * aux[s] - y[s])
                    else:
                        d[s] = <floating>(p * ((p - y[s]) - aux[s]))
