# Declarations of the C formulas in src_c/tn_math.h, and fused-type wrappers
# so that the kernels can call one name for float and double.
from cython cimport floating

cdef extern from "tn_math.h" nogil:
    double tn_exp(double x)
    double tn_sigmoid(double x)
    double tn_tanh(double x)
    float tn_expf(float x)
    float tn_sigmoidf(float x)
    float tn_tanhf(float x)
    double tn_bce_from_logit(double o, double y)
    double tn_dot_d(const double *a, const double *b, Py_ssize_t n)
    double tn_sum_d(const double *a, Py_ssize_t n)
    double tn_sum_f(const float *a, Py_ssize_t n)
    bint tn_any_nonfinite_d(const double *a, Py_ssize_t n)
    bint tn_any_nonfinite_f(const float *a, Py_ssize_t n)
    bint tn_any_bad_weight_d(const double *a, Py_ssize_t n)
    bint tn_any_bad_weight_f(const float *a, Py_ssize_t n)
    void tn_rows_to_block_d(const double *X, Py_ssize_t f, double *A, Py_ssize_t bs,
                            Py_ssize_t n)
    void tn_rows_to_block_f(const float *X, Py_ssize_t f, float *A, Py_ssize_t bs,
                            Py_ssize_t n)


cdef inline double vsum(const floating *a, Py_ssize_t n) noexcept nogil:
    """sum_i a[i], accumulated in double."""
    if floating is double:
        return tn_sum_d(a, n)
    else:
        return tn_sum_f(a, n)


cdef inline void rows_to_block(const floating *X, Py_ssize_t f, floating *A,
                               Py_ssize_t bs, Py_ssize_t n) noexcept nogil:
    """A[k * bs + s] = X[s * f + k] for the n rows of a C-contiguous X."""
    if floating is double:
        tn_rows_to_block_d(X, f, A, bs, n)
    else:
        tn_rows_to_block_f(X, f, A, bs, n)


cdef inline bint any_nonfinite(const floating *a, Py_ssize_t n) noexcept nogil:
    """Whether a[0..n) holds NaN or +-inf."""
    if floating is double:
        return tn_any_nonfinite_d(a, n)
    else:
        return tn_any_nonfinite_f(a, n)


cdef inline bint any_bad_weight(const floating *a, Py_ssize_t n) noexcept nogil:
    """Whether a[0..n) holds NaN, +-inf or a negative number."""
    if floating is double:
        return tn_any_bad_weight_d(a, n)
    else:
        return tn_any_bad_weight_f(a, n)


cdef inline floating sigmoid(floating x) noexcept nogil:
    """1 / (1 + exp(-x)) in the precision of x."""
    if floating is double:
        return tn_sigmoid(x)
    else:
        return tn_sigmoidf(x)


cdef inline floating tanh(floating x) noexcept nogil:
    """tanh(x) in the precision of x."""
    if floating is double:
        return tn_tanh(x)
    else:
        return tn_tanhf(x)
