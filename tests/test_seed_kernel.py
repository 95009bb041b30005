"""The seed network's fused loops (src_c/tn_seed.h, and src_c/tn_seed256.h and
tn_seed512.h in the AVX2 and AVX-512 variants) against the NumPy reference, in every kernel variant
built here: every memory layout of X and Y the loops read differently, every
length of the last partial vector, sample weights, and the non-finite check."""
import os
import subprocess
import sys

import numpy as np
import pytest

import tinynet
from tinynet import _dispatch, reference

from helpers import assert_close

VARIANTS = sorted(_dispatch.available())
RTOL = {"float64": 1e-12, "float32": 1e-5}


def seed_net(variant, dtype):
    net = tinynet.MLP(dtype=dtype)
    net._use_variant(variant)
    return net


def problem(dtype, N, seed=0):
    rng = np.random.default_rng(seed)
    params = [rng.normal(size=s).astype(dtype) for s in tinynet.MLP().param_shapes]
    X = (rng.normal(size=(N, 3)) * 2).astype(dtype)
    Y = rng.random(N).astype(dtype)
    w = (rng.random(N) + 0.1).astype(dtype)
    return params, X, Y, w


def check(net, params, X, Y, w=None):
    rtol = RTOL[net.dtype.name]
    loss, grads = net.value_and_grad(params, X, Y, sample_weight=w)
    ref_loss, ref_grads = reference.value_and_grad(net, params, X, Y, w)
    assert loss == pytest.approx(ref_loss, rel=rtol)
    for g, r, name in zip(grads, ref_grads, net.param_names):
        assert_close(g, r, rtol, name)


def layouts(X, Y):
    """(name, X, Y) views of the same data in the layouts the loops tell apart."""
    N = X.shape[0]
    wide = np.zeros((N, 7), X.dtype)
    wide[:, 1:7:2] = X
    twice = np.zeros((2 * N, 3), X.dtype)
    twice[::2] = X
    ycol = np.zeros((N, 2), Y.dtype)
    ycol[:, 1] = Y
    return [
        ("C rows", X, Y),
        ("Fortran", np.asfortranarray(X), Y),
        ("every other row", twice[::2], Y),
        ("every other column", wide[:, 1:7:2], Y),
        ("reversed", X[::-1].copy()[::-1], Y[::-1].copy()[::-1]),
        ("Y column of 2-D", X, ycol[:, 1]),
        ("Y as (N, 1)", X, Y[:, None]),
    ]


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_every_layout_and_weights(variant, dtype):
    net = seed_net(variant, dtype)
    params, X, Y, w = problem(dtype, 1000 + 37)
    for name, Xl, Yl in layouts(X, Y):
        assert np.array_equal(Xl, X) and np.array_equal(Yl.reshape(-1), Y), name
        check(net, params, Xl, Yl)
        check(net, params, Xl, Yl, w)


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_every_tail_length(variant, dtype):
    # N = 1..40 covers every remainder modulo 8 and 16 (the vector widths),
    # alone and after whole vectors; 1024 +- 1 crosses a block boundary
    net = seed_net(variant, dtype)
    for N in list(range(1, 41)) + [1023, 1025, 2 * 1024 + 129]:
        params, X, Y, w = problem(dtype, N, seed=N)
        check(net, params, X, Y)
        check(net, params, X[::-1], Y, w)


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_weights_zero_drop_samples(variant, dtype):
    # a sample of weight 0 adds nothing: the same as leaving it out
    net = seed_net(variant, dtype)
    params, X, Y, w = problem(dtype, 203)
    w[::3] = 0
    keep = w != 0
    a = net.value_and_grad(params, X, Y, sample_weight=w)
    b = net.value_and_grad(params, X[keep], Y[keep], sample_weight=w[keep])
    assert a[0] == pytest.approx(b[0], rel=RTOL[dtype])
    for ga, gb in zip(a[1], b[1]):
        assert_close(ga, gb, RTOL[dtype])


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nonfinite_inputs_name_the_row(variant, dtype, bad):
    net = seed_net(variant, dtype)
    params, X, Y, _ = problem(dtype, 1100)
    for row in (0, 5, 8, 17, 1023, 1024, 1099):       # whole vectors and tails
        for col in range(3):
            Xb = X.copy()
            Xb[row, col] = bad
            with pytest.raises(ValueError, match=rf"X contains NaN .*\(first at row {row}\)"):
                net.value_and_grad(params, Xb, Y)
        Yb = Y.copy()
        Yb[row] = bad
        with pytest.raises(ValueError, match=rf"Y contains NaN .*\(first at row {row}\)"):
            net.value_and_grad(params, X, Yb)


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_finite_inputs_whose_products_overflow_are_not_rejected(variant, dtype):
    # x . W1 overflows to +-inf for these finite x: the units saturate, which
    # is the network's real output; it must not be reported as bad input
    net = seed_net(variant, dtype)
    params, X, Y, _ = problem(dtype, 300)
    params[0][:, 0] = 4
    X[::7] = np.finfo(dtype).max / 2
    loss, grads = net.value_and_grad(params, X, Y)
    with np.errstate(all="ignore"):
        ref_loss, ref_grads = reference.value_and_grad(net, params, X, Y)
    assert np.isfinite(loss) and loss == pytest.approx(ref_loss, rel=RTOL[dtype])
    for g, r in zip(grads, ref_grads):
        assert np.isfinite(g).all()
        assert_close(g, r, RTOL[dtype])


# Runs in a subprocess (a loop that fails to advance hangs rather than
# raises): the seed net, float32, on N rows of X 2^28 bytes apart in an
# address-space reservation (MAP_NORESERVE: only the pages of the rows used
# are ever touched); saves the loss and gradients to argv[3], or exits with
# NO_RESERVATION when the reservation is refused.
NO_RESERVATION = 77
FAR_ROWS = f"""
import mmap, sys
import numpy as np
import tinynet
variant, N, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
stride = 1 << 28
try:
    buf = mmap.mmap(-1, N * stride, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | 0x4000)
except OSError:
    sys.exit({NO_RESERVATION})
X = np.frombuffer(buf, np.float32).reshape(N, stride // 4)[:, 5:8]
rng = np.random.default_rng(N)
X[:] = rng.normal(size=(N, 3))
Y = rng.random(N).astype(np.float32)
w = (rng.random(N) + 0.1).astype(np.float32)
net = tinynet.MLP(dtype="float32")
net._use_variant(variant)
params = [a.astype(np.float32) for a in net.init(seed=1)]
assert X.strides[0] == stride
loss, grads = net.value_and_grad(params, X, Y, sample_weight=w)
np.savez(path, loss=loss, X=np.ascontiguousarray(X), Y=Y, w=w, *grads)
"""


@pytest.mark.skipif(bool(os.environ.get("TINYNET_SANITIZED")),
                    reason="AddressSanitizer reserves shadow for the whole mapping")
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="MAP_NORESERVE is Linux's")
@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("N", [40, 300])
def test_float32_rows_too_far_apart_for_vector_gathers(variant, N, tmp_path):
    # rows past the 32-bit offsets of a float gather: the vector loops read
    # them one tile at a time, N = 300 in several batches of tiles
    path = tmp_path / "out.npz"
    # (run from tmp_path: from the checkout, `import tinynet` would find the
    # uncompiled sources before the installed package)
    proc = subprocess.run([sys.executable, "-c", FAR_ROWS, variant, str(N), str(path)],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    if proc.returncode == NO_RESERVATION:
        pytest.skip(f"cannot reserve {N} * 256 MiB of address space here")
    assert proc.returncode == 0, proc.stderr
    got = np.load(path)
    net = tinynet.MLP(dtype="float32")
    params = [a.astype(np.float32) for a in net.init(seed=1)]
    ref_loss, ref_grads = reference.value_and_grad(net, params, got["X"], got["Y"], got["w"])
    assert float(got["loss"]) == pytest.approx(ref_loss, rel=RTOL["float32"])
    for i, r in enumerate(ref_grads):
        assert_close(got[f"arr_{i}"], r, RTOL["float32"], net.param_names[i])
