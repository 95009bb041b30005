"""Input checks of the public API: each names the argument, what was
expected and what was received, and raises TypeError or ValueError."""
import numbers
import operator

import numpy as np

_REAL_KINDS = "biuf"   # bool, signed and unsigned int, float


def as_real_array(a, name, dtype):
    """`a` as an ndarray of `dtype` (a copy only if needed).

    Lists and other array-likes are converted; bool, int, unsigned and float
    inputs are cast to `dtype`; complex, string, datetime, object arrays of
    non-numbers and ragged nested lists raise TypeError or ValueError."""
    if not isinstance(a, np.ndarray):
        if a is None:
            raise TypeError(f"{name} must be an array of real numbers; got None")
        try:
            a = np.asarray(a)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"{name} could not be converted to a numeric array "
                             f"(is it a ragged nested list?): {exc}") from None
    kind = a.dtype.kind
    if kind not in _REAL_KINDS:
        if kind == "O" and all(isinstance(v, numbers.Real) for v in a.flat):
            return a.astype(dtype)
        raise TypeError(f"{name} must hold real numbers (bool, int or float); "
                        f"got an array of dtype {a.dtype}")
    if a.dtype != dtype:
        a = a.astype(dtype)
    return a


def check_X(X, n_features, dtype):
    """X as a (N, n_features) array of dtype, N >= 1."""
    X = as_real_array(X, "X", dtype)
    if X.ndim != 2:
        raise ValueError(f"X must be a 2-D array of shape (N, {n_features}); "
                         f"got shape {X.shape}")
    if X.shape[1] != n_features:
        raise ValueError(f"X has {X.shape[1]} columns; expected shape "
                         f"(N, {n_features}) since sizes[0] = {n_features}; "
                         f"got shape {X.shape}")
    if X.shape[0] == 0:
        raise ValueError(f"X has no samples: N = 0 in shape {X.shape}; "
                         f"at least one sample is required")
    return X


def check_Y(Y, n_samples, n_outputs, dtype):
    """Y as a (N, n_outputs) array of dtype; (N,) is accepted when n_outputs == 1."""
    Y = as_real_array(Y, "Y", dtype)
    if Y.ndim == 1 and n_outputs == 1:
        Y = Y[:, None]
    if Y.ndim != 2 or Y.shape[1] != n_outputs:
        also = " or (N,)" if n_outputs == 1 else ""
        raise ValueError(f"Y must have shape (N, {n_outputs}){also} since "
                         f"sizes[-1] = {n_outputs}; got shape {Y.shape}")
    if Y.shape[0] != n_samples:
        raise ValueError(f"Y has {Y.shape[0]} rows but X has {n_samples}: "
                         f"expected Y of shape ({n_samples}, {n_outputs})")
    return Y


def check_sample_weight(sample_weight, n_samples, dtype):
    """None, or a (N,) array of finite, non-negative weights with a positive sum."""
    if sample_weight is None:
        return None
    w = as_real_array(sample_weight, "sample_weight", dtype)
    if w.ndim != 1 or w.shape[0] != n_samples:
        raise ValueError(f"sample_weight must have shape ({n_samples},), one "
                         f"weight per sample; got shape {w.shape}")
    if not np.isfinite(w).all():
        raise ValueError("sample_weight contains NaN or infinity")
    if (w < 0).any():
        raise ValueError("sample_weight must be non-negative; got a negative weight")
    if not w.sum(dtype=np.float64) > 0:
        raise ValueError("sample_weight must have a positive sum; got all zeros")
    return np.ascontiguousarray(w)


def check_n_threads(n_threads, max_threads):
    """None -> max_threads; -1 -> max_threads; else a positive int."""
    if n_threads is None:
        return max_threads
    if isinstance(n_threads, bool):
        raise TypeError(f"n_threads must be a positive int, -1 or None; got {n_threads!r}")
    try:
        n = operator.index(n_threads)
    except TypeError:
        raise TypeError(f"n_threads must be a positive int, -1 or None; "
                        f"got {type(n_threads).__name__}") from None
    if n == -1:
        return max_threads
    if n < 1:
        raise ValueError(f"n_threads must be a positive int, -1 or None; got {n}")
    return n


def first_nonfinite_row(A, start, stop):
    """Index of the first row in A[start:stop] holding NaN or infinity."""
    bad = ~np.isfinite(A[start:stop]).all(axis=1)
    return start + int(np.flatnonzero(bad)[0]) if bad.any() else start
