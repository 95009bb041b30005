# The body of the MLP kernel module, included by _kernels.pyx (the platform's
# baseline instruction set) and by _kernels_v3.pyx / _kernels_v4.pyx, the same
# code compiled for x86-64-v3 (AVX2, FMA) and x86-64-v4 (AVX-512); the
# dispatcher (tinynet/_dispatch.py) loads the widest one the CPU runs.
"""The MLP kernel: forward pass, loss and gradient sums over blocks of samples.

Design
------
The kernel is a function of (parameters, a block of X, Y and optional sample
weights) that returns *sums*: the weighted loss sum, the weight sum and the
weighted gradient sums.  The normalisation (1/N, or 1/sum of weights) is done
by the caller, so that partial results over blocks of data (threads here,
Dask blocks later) add up.

Samples are processed in blocks of ``bs`` (a few hundred to a thousand):
the block's values of each layer are stored feature-major (_layers.pxd), so
every inner loop runs over samples with unit stride.  Forward and backward
are fused per block, so the extra memory of a call is a few blocks of scratch
per thread and does not grow with N.

Blocks are grouped into chunks whose boundaries depend only on N and the
architecture.  Each chunk accumulates into its own slot (in double); the
slots are added in chunk order at the end.  The result is therefore
bit-identical whatever the number of threads.
"""
from cython cimport floating
from cython.parallel cimport parallel, prange
from libc.stdlib cimport malloc, free
from libc.string cimport memcpy, memset
from cpython.buffer cimport (PyObject_GetBuffer, PyObject_CheckBuffer, PyBuffer_Release,
                             PyBUF_C_CONTIGUOUS, PyBUF_STRIDES, PyBUF_FORMAT, PyBUF_ND,
                             PyBUF_WRITABLE)

import numpy as np
cimport numpy as cnp

cnp.import_array()


from tinynet._layers cimport (ACT_IDENTITY, ACT_SIGMOID, ACT_TANH, ACT_RELU,
                              ACT_SOFTMAX, TILE, dense_forward,
                              dense_backward, backprop)
from tinynet._cmath cimport (any_nonfinite, any_bad_weight, rows_to_block, tn_dot_d,
                             tn_sum_d, tn_exp, tn_expf, tn_bce_from_logit, sigmoid, tanh)
from tinynet._heads cimport (LOSS_MSE, LOSS_BCE, LOSS_CE, head,
                             output_activate)

cdef extern from *:
    """
    #ifdef _OPENMP
    #include <omp.h>
    static int tn_omp_max_threads(void) { return omp_get_max_threads(); }
    static const int tn_have_openmp = 1;
    #else
    static int tn_omp_max_threads(void) { return 1; }
    static const int tn_have_openmp = 0;
    #endif
    """
    int tn_omp_max_threads() nogil
    const int tn_have_openmp

ACTIVATIONS = {"identity": ACT_IDENTITY, "sigmoid": ACT_SIGMOID,
               "tanh": ACT_TANH, "relu": ACT_RELU, "softmax": ACT_SOFTMAX}
LOSSES = {"mse": LOSS_MSE, "bce": LOSS_BCE, "ce": LOSS_CE}
HAVE_OPENMP = bool(tn_have_openmp)

cdef enum:
    MODE_PREDICT = 0
    MODE_LOSS = 1
    MODE_GRAD = 2
    # status codes of a chunk
    ST_OK = 0
    ST_X_NONFINITE = 1
    ST_Y_NONFINITE = 2
    ST_NO_MEMORY = 3
    ST_PARAMS_NONFINITE = 4
    MAX_CHUNKS_C = 64
    # a single-threaded call whose block scratch fits in this many doubles
    # keeps it on the stack (a small N: two mallocs of a few KiB cost about
    # a tenth of a 32-sample call)
    STACK_SCRATCH = 2048

# Chunking.  A chunk is worth a thread's start-up and its slot (gradient sums
# that are zeroed, then added to the others) when it holds enough work; the
# work of a sample is counted as `cost` units (Spec.cost: one per weight, 8
# per unit, so the seed network's sample costs 16 + 8 * 5 = 56).  A chunk
# has at least MIN_CHUNK_WORK units (16 blocks of 1024 seed samples: 70 to
# 150 us on one core here) and at least SLOT_WORK units per double of its
# slot; there are at most MAX_CHUNKS chunks, and their slots take at most
# SLOT_BUDGET doubles.
cdef Py_ssize_t MIN_CHUNK_WORK = 16 * 1024 * 56
cdef Py_ssize_t SLOT_WORK = 64
cdef Py_ssize_t MAX_CHUNKS = MAX_CHUNKS_C
cdef Py_ssize_t SLOT_BUDGET = 1 << 21


def max_threads():
    """The number of threads OpenMP would use now (1 without OpenMP)."""
    return tn_omp_max_threads()


cdef extern from "tn_math512.h" nogil:
    int TN_HAVE_AVX512       # 1 where this module was compiled for AVX-512
    int tn_sigmoid512_array_d(const double *x, double *out, Py_ssize_t n)
    int tn_sigmoid512_array_f(const float *x, float *out, Py_ssize_t n)

cdef extern from "tn_math256.h" nogil:
    int TN_HAVE_AVX2         # 1 where this module was compiled for AVX2 and FMA
    int tn_sigmoid256_array_d(const double *x, double *out, Py_ssize_t n)
    int tn_sigmoid256_array_f(const float *x, float *out, Py_ssize_t n)

# whether the AVX-512 formulas of src_c/tn_math512.h, and the AVX2 ones of
# src_c/tn_math256.h, are compiled into this module
AVX512 = bool(TN_HAVE_AVX512)
AVX2 = bool(TN_HAVE_AVX2)


cdef extern from "tn_seed.h" nogil:
    const char *TN_SEED_LOOP
    int tn_seed_block_d(const double *theta, const char *X, Py_ssize_t xs0,
                        Py_ssize_t xs1, const char *Y, Py_ssize_t ys0,
                        const double *sw, Py_ssize_t start, Py_ssize_t n,
                        int check, double *g)
    int tn_seed_block_f(const float *theta, const char *X, Py_ssize_t xs0,
                        Py_ssize_t xs1, const char *Y, Py_ssize_t ys0,
                        const float *sw, Py_ssize_t start, Py_ssize_t n,
                        int check, double *g)


# the seed network's loop in this module: "avx512" (src_c/tn_seed512.h),
# "avx2" (src_c/tn_seed256.h) or "portable" (src_c/tn_seed.h)
SEED_LOOP = TN_SEED_LOOP.decode()


cdef bint _acquire(object obj, Py_buffer *view, char code, int ndim, int flags):
    """Fill `view` from obj's buffer if it has `ndim` dimensions and holds
    native doubles (code 'd') or floats ('f'); else return False (nothing held)."""
    if not PyObject_CheckBuffer(obj):
        return False
    try:
        PyObject_GetBuffer(obj, view, flags | PyBUF_FORMAT | PyBUF_ND)
    except (BufferError, TypeError, ValueError):
        return False
    if view.ndim != ndim or view.format == NULL or view.format[0] != code or view.format[1] != 0:
        PyBuffer_Release(view)
        return False
    return True


cdef struct View:
    # where an array's items are, read without holding a buffer (the caller
    # keeps the array alive): data, shape and byte strides, up to 2-D
    char *data
    Py_ssize_t shape[2]
    Py_ssize_t strides[2]


cdef bint _view(object obj, char code, int ndim, bint c_contiguous, bint writable,
                View *v):
    """Fill `v` if obj is an array of `ndim` dimensions holding native
    doubles (code 'd') or floats ('f'), C-contiguous and writable where
    asked; else return False.  ndarrays are read through the NumPy C API
    (an eighth of the cost of a buffer export); other objects through the
    buffer protocol."""
    cdef cnp.ndarray a
    cdef Py_buffer view
    cdef int i, flags = PyBUF_STRIDES
    cdef int typenum = cnp.NPY_DOUBLE if code == b"d" else cnp.NPY_FLOAT
    if cnp.PyArray_Check(obj):
        a = <cnp.ndarray>obj
        if (cnp.PyArray_NDIM(a) != ndim or cnp.PyArray_TYPE(a) != typenum
                or not cnp.PyArray_ISNOTSWAPPED(a)
                or (c_contiguous and not cnp.PyArray_IS_C_CONTIGUOUS(a))
                or (writable and not cnp.PyArray_ISWRITEABLE(a))):
            return False
        v.data = <char *>cnp.PyArray_DATA(a)
        for i in range(ndim):
            v.shape[i] = cnp.PyArray_DIM(a, i)
            v.strides[i] = cnp.PyArray_STRIDE(a, i)
        return True
    if c_contiguous:
        flags = PyBUF_C_CONTIGUOUS
    if writable:
        flags = flags | PyBUF_WRITABLE
    if not _acquire(obj, &view, code, ndim, flags):
        return False
    v.data = <char *>view.buf
    for i in range(ndim):
        v.shape[i] = view.shape[i]
        v.strides[i] = view.strides[i]
    PyBuffer_Release(&view)
    return True


cdef struct Mat:
    # a strided 2-D array of floating, as (pointer, byte strides)
    const char *data
    Py_ssize_t s0
    Py_ssize_t s1


cdef struct Spec:
    Py_ssize_t L           # number of dense layers
    const Py_ssize_t *sizes   # (L + 1,)
    const Py_ssize_t *w_off   # (L,) offset of W_l in theta
    const Py_ssize_t *b_off   # (L,) offset of b_l in theta, -1 without bias
    const Py_ssize_t *a_off   # (L + 1,) offset of layer l's block, in units of bs
    Py_ssize_t n_params
    Py_ssize_t maxw        # widest layer after the input (the deltas' rows)
    Py_ssize_t bs          # samples per block
    Py_ssize_t cols        # rows of bs values in the floating scratch
    Py_ssize_t work_len    # floating scratch per thread: cols * bs
    Py_ssize_t dwork_len   # double scratch per thread
    Py_ssize_t cost        # work of one sample: weights + 8 per unit
    int act, out, loss
    bint seed              # the seed network: the fused loop of tn_seed.h
    # floating (n_params,): W_l transposed at w_off[l] for l >= 1 (read by
    # backprop), or NULL; set per call
    const void *wt


cdef inline bint load_block(Mat M, Py_ssize_t start, Py_ssize_t n, Py_ssize_t f,
                            floating *A, Py_ssize_t bs, bint check) noexcept nogil:
    """A[k, s] = M[start + s, k]; return True if a value is NaN or infinite."""
    cdef Py_ssize_t k, s
    cdef floating *a
    cdef const char *col
    cdef bint bad = False
    if M.s1 == sizeof(floating) and M.s0 == f * <Py_ssize_t>sizeof(floating):
        # C-contiguous: transposed in tiles of 16 rows (src_c/tn_math.h)
        rows_to_block((<const floating *>M.data) + start * f, f, A, bs, n)
    else:
        for k in range(f):
            a = A + k * bs
            col = M.data + start * M.s0 + k * M.s1
            for s in range(n):
                a[s] = (<const floating *>(col + s * M.s0))[0]
    for k in range(f):
        # lanes n..TILE-multiple are read by the tiled loops: keep them defined
        for s in range(n, (n + TILE - 1) // TILE * TILE):
            A[k * bs + s] = 0
        if check:
            bad = bad or any_nonfinite(A + k * bs, n)
    return bad


cdef int run_block(const Spec *sp, const floating *theta, Mat X, Mat Y,
                   const floating *sw, Py_ssize_t start, Py_ssize_t n,
                   floating *work, double *dwork, double *slot,
                   floating *out, int mode, bint check) noexcept nogil:
    """Forward (and backward) pass over samples start..start+n-1.

    slot receives += sums: gradients (n_params,), then loss, then weight."""
    cdef Py_ssize_t l, j, s, fin, fout
    cdef Py_ssize_t bs = sp.bs
    cdef Py_ssize_t L = sp.L
    cdef Py_ssize_t K = sp.sizes[L]
    cdef const floating *W
    cdef const floating *b
    cdef floating *A_in
    cdef floating *A_out
    cdef floating *D
    cdef floating *Dprev
    cdef floating *Dtmp
    cdef floating *Dt
    cdef floating *Yb
    cdef floating *O
    cdef double *ls = dwork
    cdef double *wd = dwork + bs
    cdef double *hscratch = dwork + 2 * bs
    cdef double wsum, lsum
    cdef int st
    cdef Py_ssize_t P = sp.n_params

    if sp.seed and mode != MODE_PREDICT:
        if floating is double:
            st = tn_seed_block_d(theta, X.data, X.s0, X.s1, Y.data, Y.s0, sw,
                                 start, n, check, slot)
        else:
            st = tn_seed_block_f(theta, X.data, X.s0, X.s1, Y.data, Y.s0, sw,
                                 start, n, check, slot)
        return ST_X_NONFINITE if st == 1 else ST_Y_NONFINITE if st == 2 else ST_OK

    # ---- forward: A_0 = X block, A_l = act(A_{l-1} W_l + b_l), A_L = O
    if load_block(X, start, n, sp.sizes[0], work, bs, check):
        return ST_X_NONFINITE
    for l in range(L):
        fin = sp.sizes[l]
        fout = sp.sizes[l + 1]
        W = theta + sp.w_off[l]
        b = theta + sp.b_off[l] if sp.b_off[l] >= 0 else NULL
        A_in = work + sp.a_off[l] * bs
        A_out = work + sp.a_off[l + 1] * bs
        dense_forward(sp.act if l < L - 1 else ACT_IDENTITY, W, b, A_in, A_out,
                      fin, fout, n, bs)
    O = work + sp.a_off[L] * bs

    if mode == MODE_PREDICT:
        output_activate(sp.out, O, hscratch, K, n, bs)
        for j in range(K):
            for s in range(n):
                out[(start + s) * K + j] = O[j * bs + s]
        return ST_OK

    # ---- loss head: per-sample loss and delta of the output layer
    Yb = work + sp.a_off[L + 1] * bs
    D = Yb + K * bs
    Dprev = D + sp.maxw * bs
    Dt = Dprev + sp.maxw * bs
    if load_block(Y, start, n, K, Yb, bs, check):
        return ST_Y_NONFINITE
    head(sp.loss, sp.out, O, Yb, D, ls, hscratch, mode == MODE_GRAD, K, n, bs)
    for j in range(K):
        for s in range(n, (n + TILE - 1) // TILE * TILE):
            D[j * bs + s] = 0
    if sw != NULL:
        for s in range(n):
            wd[s] = sw[start + s]
        lsum = tn_dot_d(ls, wd, n)
        wsum = tn_sum_d(wd, n)
    else:
        lsum = tn_sum_d(ls, n)
        wsum = <double>n
    slot[P] += lsum
    slot[P + 1] += wsum
    if mode != MODE_GRAD:
        return ST_OK
    if sw != NULL:
        for j in range(K):
            for s in range(n):
                D[j * bs + s] = <floating>(D[j * bs + s] * wd[s])

    # ---- backward: from the output layer down to the first
    for l in range(L - 1, -1, -1):
        fin = sp.sizes[l]
        fout = sp.sizes[l + 1]
        W = theta + sp.w_off[l]
        A_in = work + sp.a_off[l] * bs
        dense_backward(A_in, D, slot + sp.w_off[l],
                       slot + sp.b_off[l] if sp.b_off[l] >= 0 else NULL,
                       Dt, fin, fout, n, bs)
        if l > 0:
            backprop(sp.act, <const floating *>sp.wt + sp.w_off[l], D, A_in, Dprev,
                     fin, fout, n, bs)
            Dtmp = D
            D = Dprev
            Dprev = Dtmp
    return ST_OK


cdef inline void add_into(double *acc, const double *x, Py_ssize_t n) noexcept nogil:
    """acc[i] += x[i] for i < n."""
    cdef Py_ssize_t i
    for i in range(n):
        acc[i] += x[i]


cdef void run_chunk(const Spec *sp, const floating *theta, Mat X, Mat Y,
                    const floating *sw, Py_ssize_t start, Py_ssize_t end,
                    floating *work, double *dwork, double *slot,
                    floating *out, int mode, bint check,
                    Py_ssize_t *status, Py_ssize_t *where) noexcept nogil:
    cdef Py_ssize_t b0, n
    cdef int st
    # the chunk's slot is zeroed here, by the thread that fills it
    memset(slot, 0, (sp.n_params + 2) * sizeof(double))
    if work == NULL or dwork == NULL:
        status[0] = ST_NO_MEMORY
        return
    b0 = start
    while b0 < end:
        n = min(sp.bs, end - b0)
        st = run_block(sp, theta, X, Y, sw, b0, n, work, dwork, slot, out,
                       mode, check)
        if st != ST_OK:
            status[0] = st
            where[0] = b0
            return
        b0 += n


cdef void run_all(const Spec *sp, const floating *theta, Mat X, Mat Y,
                  const floating *sw, Py_ssize_t N, Py_ssize_t chunk,
                  Py_ssize_t n_chunks, double *slots, Py_ssize_t stride,
                  floating *out, int mode, bint check, int n_threads,
                  Py_ssize_t *status, Py_ssize_t *where) noexcept nogil:
    cdef Py_ssize_t c
    cdef floating *work = NULL
    cdef double *dwork = NULL
    cdef double stack[STACK_SCRATCH]
    cdef Py_ssize_t wlen = (sp.work_len * sizeof(floating) + 7) // 8   # in doubles
    cdef bint on_stack = wlen + sp.dwork_len <= STACK_SCRATCH
    if n_threads <= 1 or n_chunks <= 1:
        if on_stack:
            work = <floating *>stack
            dwork = stack + wlen
        else:
            work = <floating *>malloc(sp.work_len * sizeof(floating))
            dwork = <double *>malloc(sp.dwork_len * sizeof(double))
        for c in range(n_chunks):
            run_chunk(sp, theta, X, Y, sw, c * chunk, min(N, (c + 1) * chunk),
                      work, dwork, slots + c * stride, out, mode, check,
                      status + c, where + c)
        if not on_stack:
            free(work)
            free(dwork)
        return
    with parallel(num_threads=n_threads):
        work = <floating *>malloc(sp.work_len * sizeof(floating))
        dwork = <double *>malloc(sp.dwork_len * sizeof(double))
        # chunks handed out one at a time: a thread slowed down (by another
        # process on its core) takes fewer; each chunk has its own slot, so
        # the result does not depend on which thread ran it
        for c in prange(n_chunks, schedule="dynamic", chunksize=1):
            run_chunk(sp, theta, X, Y, sw, c * chunk, min(N, (c + 1) * chunk),
                      work, dwork, slots + c * stride, out, mode, check,
                      status + c, where + c)
        free(work)
        free(dwork)


cdef void transpose_weights(const Spec *sp, const floating *theta,
                            floating *wt) noexcept nogil:
    """wt at w_off[l] = W_l^T, (fout, fin) row-major, for the layers l >= 1
    whose deltas are propagated back (backprop reads them as the weights of
    a forward product)."""
    cdef Py_ssize_t l, k, j, fin, fout
    cdef const floating *W
    cdef floating *T
    for l in range(1, sp.L):
        fin = sp.sizes[l]
        fout = sp.sizes[l + 1]
        W = theta + sp.w_off[l]
        T = wt + sp.w_off[l]
        for k in range(fin):
            for j in range(fout):
                T[j * fin + k] = W[k * fout + j]


cdef class Kernel:
    """The compiled kernel of one MLP architecture.

    Parameters
    ----------
    sizes : sequence of int, length L + 1
        Layer widths, input first.
    act, out, loss : int
        Codes from ``ACTIVATIONS`` (hidden, output) and ``LOSSES``.
    bias : bool
        Whether each layer has a bias vector after its weight matrix.

    Parameters are passed flat: ``theta`` holds W_1 (row-major, shape
    (sizes[0], sizes[1])), [b_1], W_2, [b_2], ... one after the other.
    """
    cdef Spec spec
    cdef Py_ssize_t *buf
    cdef Py_ssize_t *shape_buf  # (rows, cols) of each parameter array; cols -1: a vector
    cdef Py_ssize_t n_arrays
    cdef readonly Py_ssize_t n_params
    cdef readonly Py_ssize_t block

    def __cinit__(self, sizes, int act, int out, int loss, bint bias):
        cdef Py_ssize_t L = len(sizes) - 1
        cdef Py_ssize_t l, i, off = 0, a = 0, maxw = 0, total
        self.buf = <Py_ssize_t *>malloc((4 * L + 3) * sizeof(Py_ssize_t))
        if self.buf == NULL:
            raise MemoryError()
        sp = &self.spec
        sp.L = L
        sp.sizes = self.buf
        sp.w_off = self.buf + L + 1
        sp.b_off = self.buf + 2 * L + 1
        sp.a_off = self.buf + 3 * L + 1
        for l in range(L + 1):
            (<Py_ssize_t *>sp.sizes)[l] = sizes[l]
            (<Py_ssize_t *>sp.a_off)[l] = a
            a += sizes[l]
            if l > 0:       # deltas exist for the layers after the input
                maxw = max(maxw, <Py_ssize_t>sizes[l])
        # after the layers: Y block (K), two delta buffers and a transposed
        # delta (maxw each)
        (<Py_ssize_t *>sp.a_off)[L + 1] = a
        for l in range(L):
            (<Py_ssize_t *>sp.w_off)[l] = off
            off += sizes[l] * sizes[l + 1]
            if bias:
                (<Py_ssize_t *>sp.b_off)[l] = off
                off += sizes[l + 1]
            else:
                (<Py_ssize_t *>sp.b_off)[l] = -1
        sp.n_params = off
        self.n_arrays = L * (2 if bias else 1)
        self.shape_buf = <Py_ssize_t *>malloc(2 * self.n_arrays * sizeof(Py_ssize_t))
        if self.shape_buf == NULL:
            raise MemoryError()
        i = 0
        for l in range(L):
            self.shape_buf[i] = sizes[l]
            self.shape_buf[i + 1] = sizes[l + 1]
            i += 2
            if bias:
                self.shape_buf[i] = sizes[l + 1]
                self.shape_buf[i + 1] = -1
                i += 2
        total = a + sizes[L] + 3 * maxw
        # samples per block: a power of two in [16, 1024] with the block's
        # scratch at most about 2 MiB in double (but at least 64 samples,
        # so that each weight loaded serves many samples)
        sp.bs = 1024
        while sp.bs > 64 and sp.bs * total > 262144:
            sp.bs //= 2
        sp.cols = a + sizes[L] + 3 * maxw
        sp.work_len = sp.cols * sp.bs
        sp.dwork_len = 5 * sp.bs
        sp.maxw = maxw
        sp.cost = off + 8 * (a - sizes[0])
        sp.seed = (tuple(sizes) == (3, 4, 1) and act == ACT_SIGMOID
                   and out == ACT_SIGMOID and loss == LOSS_MSE and not bias)
        sp.act = act
        sp.out = out
        sp.loss = loss
        self.n_params = off
        self.block = sp.bs

    def __dealloc__(self):
        free(self.buf)
        free(self.shape_buf)

    cdef Py_ssize_t _chunk(self, Py_ssize_t N, Py_ssize_t stride):
        """Samples per chunk, a multiple of the block: depends on N and the
        architecture only (see MIN_CHUNK_WORK)."""
        cdef Py_ssize_t bs = self.spec.bs
        cdef Py_ssize_t cost = self.spec.cost
        cdef Py_ssize_t max_chunks = max(1, min(MAX_CHUNKS, SLOT_BUDGET // stride))
        cdef Py_ssize_t least = max(MIN_CHUNK_WORK, SLOT_WORK * stride)
        cdef Py_ssize_t chunk = max((least + cost - 1) // cost,
                                    (N + max_chunks - 1) // max_chunks)
        return (chunk + bs - 1) // bs * bs

    cdef int _core(self, const floating *theta, Mat mx, Mat my,
                   const floating *sw, Py_ssize_t N, floating *grad,
                   floating *outp, int mode, int n_threads, bint check_finite,
                   bint normalize, double *sums, Py_ssize_t *where_out) noexcept:
        """One call of the kernel on validated pointers: sums[0] = loss sum,
        sums[1] = weight sum, grad = gradient (divided by the weight sum when
        `normalize`).  Returns ST_OK or a status, with the first row of the
        block where it arose in where_out."""
        cdef Py_ssize_t P = self.spec.n_params
        cdef Py_ssize_t stride = P + 2    # per chunk: gradient sums, loss, weight
        cdef Py_ssize_t chunk = self._chunk(N, stride)
        cdef Py_ssize_t n_chunks = (N + chunk - 1) // chunk
        cdef Py_ssize_t c, p
        cdef Py_ssize_t status[MAX_CHUNKS_C]
        cdef Py_ssize_t where[MAX_CHUNKS_C]
        cdef double loss_sum = 0, weight_sum = 0, scale
        cdef double *slots
        cdef Spec spec

        if check_finite and any_nonfinite(theta, P):
            return ST_PARAMS_NONFINITE
        n_threads = max(1, min(n_threads, n_chunks))
        # fewer samples than a block: a smaller block (same results, less scratch)
        spec = self.spec
        if N < spec.bs:
            spec.bs = (N + TILE - 1) // TILE * TILE
            spec.work_len = spec.cols * spec.bs
            spec.dwork_len = 5 * spec.bs
        spec.wt = NULL
        if mode == MODE_GRAD and spec.L > 1 and not spec.seed:
            spec.wt = malloc(P * sizeof(floating))
            if spec.wt == NULL:
                return ST_NO_MEMORY
            transpose_weights(&spec, theta, <floating *>spec.wt)
        slots = <double *>malloc(n_chunks * stride * sizeof(double))
        if slots == NULL:
            free(<void *>spec.wt)
            return ST_NO_MEMORY
        for c in range(n_chunks):
            status[c] = ST_OK
        with nogil:
            run_all(&spec, theta, mx, my, sw, N, chunk, n_chunks, slots, stride,
                    outp, mode, check_finite, n_threads, status, where)
            # add the chunks' sums into the first slot, in chunk order (each
            # sum's order of additions is fixed; the inner loop is contiguous)
            for c in range(1, n_chunks):
                if mode == MODE_GRAD:
                    add_into(slots, slots + c * stride, stride)
                else:
                    add_into(slots + P, slots + c * stride + P, 2)
            loss_sum = slots[P]
            weight_sum = slots[P + 1]
            if mode == MODE_GRAD:
                scale = 1.0 / weight_sum if normalize else 1.0
                for p in range(P):
                    grad[p] = <floating>(slots[p] * scale)
        free(slots)
        free(<void *>spec.wt)
        sums[0] = loss_sum
        sums[1] = weight_sum
        for c in range(n_chunks):
            if status[c] != ST_OK:
                where_out[0] = where[c]
                return <int>status[c]
        return ST_OK

    cdef tuple _run(self, const floating[::1] theta, const floating[:, :] X,
                    const floating[:, :] Y, const floating[::1] sample_weight,
                    floating[::1] grad, floating[:, ::1] out, int mode,
                    int n_threads, bint check_finite, bint normalize):
        cdef Mat mx, my
        cdef const floating *sw = NULL
        cdef floating *outp = NULL
        cdef floating *gp = NULL
        cdef double sums[2]
        cdef Py_ssize_t where = 0
        cdef int st
        mx = Mat(<const char *>&X[0, 0], X.strides[0], X.strides[1])
        my = Mat(NULL, 0, 0)
        if mode != MODE_PREDICT:
            my = Mat(<const char *>&Y[0, 0], Y.strides[0], Y.strides[1])
        if sample_weight is not None:
            sw = &sample_weight[0]
        if mode == MODE_PREDICT:
            outp = &out[0, 0]
        if mode == MODE_GRAD:
            gp = &grad[0]
        st = self._core(&theta[0], mx, my, sw, X.shape[0], gp, outp, mode, n_threads,
                        check_finite, normalize, sums, &where)
        if st == ST_NO_MEMORY:
            raise MemoryError("tinynet: could not allocate the kernel's scratch memory")
        return st, where, sums[0], sums[1]

    cdef inline Py_ssize_t _param_len(self, Py_ssize_t i):
        """Number of values in parameter array i."""
        cdef Py_ssize_t c = self.shape_buf[2 * i + 1]
        return self.shape_buf[2 * i] * (c if c >= 0 else 1)

    cdef bint _param_view(self, object obj, Py_ssize_t i, char code, bint writable,
                          View *v):
        """Fill `v` if obj can hold parameter array i: its shape, items of
        `code` ('d' or 'f'), C-contiguous (and writable where asked)."""
        cdef Py_ssize_t r = self.shape_buf[2 * i], c = self.shape_buf[2 * i + 1]
        if not _view(obj, code, 2 if c >= 0 else 1, True, writable, v):
            return False
        return v.shape[0] == r and (c < 0 or v.shape[1] == c)

    cdef object _fast(self, int mode, object params, object X, object Y,
                      object sample_weight, bint check_finite, int n_threads,
                      object out, floating *theta):
        """predict (mode PREDICT), the loss (LOSS) or value_and_grad (GRAD)
        for the common case, checked at C speed: params a list of
        C-contiguous arrays of the right dtype and shapes, X and Y arrays of
        that dtype and shape, sample_weight None or a contiguous vector of
        that dtype (finite, non-negative, with a positive sum), `out` (GRAD)
        None or a list of writable C-contiguous arrays like params (the
        gradients are written there, after the kernel has run).  Returns the
        predictions, the loss or (loss, grads); None when anything differs
        or the kernel finds NaN or infinity (the caller then takes the
        general path, which checks everything and raises the right error).
        Arrays are read through the NumPy C API (see _view), without
        memoryview objects."""
        cdef Py_ssize_t i, off = 0, n, N, K = self.spec.sizes[self.spec.L]
        cdef Py_ssize_t n_arrays = self.n_arrays
        cdef View v
        cdef char code = b'd' if floating is double else b'f'
        cdef int typenum = cnp.NPY_DOUBLE if floating is double else cnp.NPY_FLOAT
        cdef Mat mx, my = Mat(NULL, 0, 0)
        cdef double sums[2]
        cdef Py_ssize_t where = 0
        cdef floating *grad
        cdef const floating *sw = NULL
        cdef cnp.npy_intp dims[2]
        cdef int st
        if n_threads < 1:
            n_threads = tn_omp_max_threads()
        if (type(params) is not list and type(params) is not tuple) or len(params) != n_arrays:
            return None
        for i in range(n_arrays):
            if not self._param_view(params[i], i, code, False, &v):
                return None
            n = self._param_len(i)
            memcpy(&theta[off], v.data, n * sizeof(floating))
            off += n
        if out is not None:
            if (type(out) is not list and type(out) is not tuple) or len(out) != n_arrays:
                return None
            for i in range(n_arrays):
                # ndarrays only, as on the general path
                if not cnp.PyArray_Check(out[i]):
                    return None
                if not self._param_view(out[i], i, code, True, &v):
                    return None
        if not _view(X, code, 2, False, False, &v):
            return None
        N = v.shape[0]
        if N == 0 or v.shape[1] != self.spec.sizes[0]:
            return None
        mx = Mat(<const char *>v.data, v.strides[0], v.strides[1])

        if mode == MODE_PREDICT:
            dims[0] = N
            dims[1] = K
            pred = cnp.PyArray_EMPTY(2, dims, typenum, 0)
            st = self._core(theta, mx, my, sw, N, <floating *>NULL,
                            <floating *>cnp.PyArray_DATA(pred), MODE_PREDICT,
                            n_threads, check_finite, True, sums, &where)
            return pred if st == ST_OK else None

        if _view(Y, code, 2, False, False, &v):
            if v.shape[0] != N or v.shape[1] != K:
                return None
            my = Mat(<const char *>v.data, v.strides[0], v.strides[1])
        elif K == 1 and _view(Y, code, 1, False, False, &v):
            if v.shape[0] != N:
                return None
            my = Mat(<const char *>v.data, v.strides[0], 0)
        else:
            return None
        if sample_weight is not None:
            if not _view(sample_weight, code, 1, False, False, &v):
                return None
            if v.shape[0] != N or (N > 1 and v.strides[0] != sizeof(floating)):
                return None
            sw = <const floating *>v.data
            if any_bad_weight(sw, N):
                return None

        if mode == MODE_LOSS:
            st = self._core(theta, mx, my, sw, N, <floating *>NULL, <floating *>NULL,
                            MODE_LOSS, n_threads, check_finite, True, sums, &where)
            if st != ST_OK or not sums[1] > 0:    # (weights all zero)
                return None
            return sums[0] / sums[1]

        grad = <floating *>malloc(self.spec.n_params * sizeof(floating))
        if grad == NULL:
            return None
        try:
            st = self._core(theta, mx, my, sw, N, grad, <floating *>NULL, MODE_GRAD,
                            n_threads, check_finite, True, sums, &where)
            if st != ST_OK or not sums[1] > 0:
                return None
            grads = []
            off = 0
            for i in range(n_arrays):
                if out is None:
                    # (PyArray_EMPTY: a fifth of the cost of np.empty from here)
                    dims[0] = self.shape_buf[2 * i]
                    dims[1] = self.shape_buf[2 * i + 1]
                    g = cnp.PyArray_EMPTY(1 if dims[1] < 0 else 2, dims, typenum, 0)
                else:
                    g = out[i]
                # out[i] was checked above; the kernel ran without the GIL,
                # so check again (another thread may have changed the list)
                if not self._param_view(g, i, code, True, &v):
                    return None
                n = self._param_len(i)
                memcpy(v.data, &grad[off], n * sizeof(floating))
                off += n
                grads.append(g)
        finally:
            free(grad)
        return sums[0] / sums[1], grads

    def fast_float64(self, int mode, params, X, Y, sample_weight, bint check_finite,
                     int n_threads, out=None):
        """The fast path of predict, the loss and value_and_grad for a
        float64 net (see _fast); n_threads 0: as many as OpenMP would use
        now."""
        cdef double *theta = <double *>malloc(self.spec.n_params * sizeof(double))
        if theta == NULL:
            return None
        try:
            return self._fast(mode, params, X, Y, sample_weight, check_finite,
                              n_threads, out, theta)
        finally:
            free(theta)

    def fast_float32(self, int mode, params, X, Y, sample_weight, bint check_finite,
                     int n_threads, out=None):
        """As fast_float64, for a float32 net."""
        cdef float *theta = <float *>malloc(self.spec.n_params * sizeof(float))
        if theta == NULL:
            return None
        try:
            return self._fast(mode, params, X, Y, sample_weight, check_finite,
                              n_threads, out, theta)
        finally:
            free(theta)

    def run_float64(self, const double[::1] theta, const double[:, :] X,
                    const double[:, :] Y, const double[::1] sample_weight,
                    double[::1] grad, double[:, ::1] out, int mode,
                    int n_threads, bint check_finite, bint normalize):
        """Run the kernel on float64 arrays.

        Parameters
        ----------
        theta : (n_params,) flat parameters
        X : (N, sizes[0]); Y : (N, sizes[-1]) or None when mode is PREDICT
        sample_weight : (N,) or None
        grad : (n_params,) output for mode GRAD, else None
        out : (N, sizes[-1]) C-contiguous output for mode PREDICT, else None
        mode : PREDICT, LOSS or GRAD
        n_threads : threads to use at most
        check_finite : detect NaN/inf in theta, X and Y
        normalize : divide the gradient by the weight sum (else: sums)

        Returns
        -------
        (status, where, loss_sum, weight_sum): status 0 or a STATUS_* code,
        `where` the first row of the block where it was detected.
        """
        return self._run(theta, X, Y, sample_weight, grad, out, mode,
                         n_threads, check_finite, normalize)

    def run_float32(self, const float[::1] theta, const float[:, :] X,
                    const float[:, :] Y, const float[::1] sample_weight,
                    float[::1] grad, float[:, ::1] out, int mode,
                    int n_threads, bint check_finite, bint normalize):
        """As run_float64, on float32 arrays (sums still in double)."""
        return self._run(theta, X, Y, sample_weight, grad, out, mode,
                         n_threads, check_finite, normalize)


# the modes and status codes, for the Python layer
PREDICT = MODE_PREDICT
LOSS = MODE_LOSS
GRAD = MODE_GRAD
STATUS_X_NONFINITE = ST_X_NONFINITE
STATUS_Y_NONFINITE = ST_Y_NONFINITE
STATUS_NO_MEMORY = ST_NO_MEMORY
STATUS_PARAMS_NONFINITE = ST_PARAMS_NONFINITE


def _formula(str name, const floating[::1] x, floating[::1] out):
    """out = formula(x) element-wise, for tests of src_c/tn_math.h;
    name is "exp", "sigmoid", "tanh" or "bce0"/"bce1"
    (binary cross-entropy of logit x for target 0 or 1), "sigmoid512"
    (src_c/tn_math512.h; only where AVX512 is true) or "sigmoid256"
    (src_c/tn_math256.h; only where AVX2 is true)."""
    cdef Py_ssize_t i, n = x.shape[0]
    if name == "sigmoid512" or name == "sigmoid256":
        if not (TN_HAVE_AVX512 if name == "sigmoid512" else TN_HAVE_AVX2):
            raise ValueError(f"{name}: this module has no such formulas")
        if n == 0:
            return
        if name == "sigmoid512":
            if floating is double:
                tn_sigmoid512_array_d(&x[0], &out[0], n)
            else:
                tn_sigmoid512_array_f(&x[0], &out[0], n)
        else:
            if floating is double:
                tn_sigmoid256_array_d(&x[0], &out[0], n)
            else:
                tn_sigmoid256_array_f(&x[0], &out[0], n)
        return
    if name == "exp":
        for i in range(n):
            out[i] = <floating>(tn_exp(x[i]) if floating is double else tn_expf(x[i]))
    elif name == "sigmoid":
        for i in range(n):
            out[i] = sigmoid(x[i])
    elif name == "tanh":
        for i in range(n):
            out[i] = tanh(x[i])
    elif name == "bce0":
        for i in range(n):
            out[i] = <floating>tn_bce_from_logit(x[i], 0.0)
    elif name == "bce1":
        for i in range(n):
            out[i] = <floating>tn_bce_from_logit(x[i], 1.0)
    else:
        raise ValueError(f"unknown formula {name!r}")
