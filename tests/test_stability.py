"""Numerical stability: saturation at extreme pre-activations, float32 at
scale, no memory growth, extra memory independent of N."""
import os
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest

import tinynet

from helpers import PAIRINGS


def saturated_problem(net, big):
    """Params that put every pre-activation at about +-big."""
    rng = np.random.default_rng(0)
    X = np.sign(rng.normal(size=(64, net.sizes[0])))
    params = []
    for shape in net.param_shapes:
        if len(shape) == 2:
            W = np.zeros(shape)
            W[0, :] = big * np.where(np.arange(shape[1]) % 2, 1.0, -1.0)
            params.append(W.astype(net.dtype))
        else:
            params.append(np.zeros(shape, dtype=net.dtype))
    # hidden units saturate to 0/1 (sigmoid) or +-1 (tanh); the output layer
    # then sees pre-activations of +-big as well (first input row is +-1)
    Y = (rng.random((64, net.sizes[-1])) > 0.5).astype(float)
    if net.loss_name == "ce":
        Y = np.eye(net.sizes[-1])[rng.integers(0, net.sizes[-1], 64)]
    return params, X.astype(net.dtype), Y


@pytest.mark.parametrize("dtype,big", [("float64", 1e3), ("float32", 1e2)])
@pytest.mark.parametrize("activation,output,loss",
                         [p for p in PAIRINGS if p[0] in ("sigmoid", "tanh")])
def test_saturation_gives_finite_loss_and_gradients_without_warnings(
        activation, output, loss, dtype, big):
    net = tinynet.MLP((3, 4, 3), activation, output, loss, True, dtype)
    params, X, Y = saturated_problem(net, big)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        value, grads = net.value_and_grad(params, X, Y)
        yhat = net.predict(params, X)
    assert np.isfinite(value)
    assert all(np.isfinite(g).all() for g in grads)
    assert np.isfinite(yhat).all()
    if activation == "tanh" or dtype == "float64":
        # every hidden unit is saturated exactly: its derivative is exactly 0,
        # so the first layer's gradient is exactly 0 (not NaN)
        assert not grads[0].any() and not grads[1].any()


@pytest.mark.parametrize("dtype,big", [("float64", 1e3), ("float32", 1e2)])
def test_extreme_logits_in_bce_and_ce(dtype, big):
    net = tinynet.MLP((2, 2), "identity", "sigmoid", "bce", True, dtype)
    params = [np.array([[big, -big], [0, 0]], dtype=dtype), np.zeros(2, dtype=dtype)]
    X = np.array([[1.0, 0.0], [-1.0, 0.0]], dtype=dtype)
    Y = np.array([[1.0, 0.0], [0.0, 1.0]])           # all right
    value, grads = net.value_and_grad(params, X, Y)
    # four terms softplus(-big) = exp(-big) over two samples: 0 in float64,
    # 2 exp(-100) = 7.4e-44 (subnormal, and right) in float32
    assert value == pytest.approx(2 * np.exp(-big), rel=1e-2, abs=1e-45)
    assert all(np.abs(g).max() < 1e-40 for g in grads)
    value, grads = net.value_and_grad(params, X, 1 - Y)     # all wrong, by big
    assert value == pytest.approx(2 * big, rel=1e-6) and all(np.isfinite(g).all() for g in grads)
    ce = tinynet.MLP((2, 3), "identity", "softmax", "ce", False, dtype)
    W = np.array([[big, -big, 0.0], [0.0, 0.0, 0.0]], dtype=dtype)
    value, grads = ce.value_and_grad([W], X, np.array([[0, 1.0, 0], [0, 1.0, 0]]))
    # sample 1: lse - O_1 = big - (-big) = 2 big; sample 2: 0; mean: big
    assert value == pytest.approx(big, rel=1e-6)
    assert np.isfinite(grads[0]).all()
    p = ce.predict([W], X)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-6)


def test_float32_at_ten_million_samples_matches_float64():
    rng = np.random.default_rng(0)
    N = 10_000_000
    X = rng.standard_normal((N, 3), dtype=np.float32)
    Y = rng.random(N, dtype=np.float32)
    net32, net64 = tinynet.MLP(dtype="float32"), tinynet.MLP()
    p = net64.init(seed=1)
    l64, g64 = net64.value_and_grad(p, X.astype(np.float64), Y.astype(np.float64))
    l32, g32 = net32.value_and_grad([q.astype(np.float32) for q in p], X, Y)
    assert l32 == pytest.approx(l64, rel=1e-5)
    for a, b in zip(g32, g64):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5 * np.abs(b).max())


MEMORY_SCRIPT = textwrap.dedent("""
    import resource, sys
    import numpy as np, tinynet
    N = int(sys.argv[1])
    rng = np.random.default_rng(0)
    X = rng.standard_normal((N, 3)); Y = rng.random((N, 1))
    net = tinynet.MLP(); p = net.init(0)
    net.value_and_grad(p, X[:1000], Y[:1000])         # warm up imports and pools
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for nt in (1, 2):
        net.value_and_grad(p, X, Y, n_threads=nt)
        net.predict(p, X[:100000])
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print((after - before) / 1024)                     # MiB (ru_maxrss is in KiB)
""")


SANITIZED = bool(os.environ.get("TINYNET_SANITIZED"))


@pytest.mark.skipif(sys.platform != "linux", reason="ru_maxrss units differ")
@pytest.mark.skipif(SANITIZED, reason="AddressSanitizer's shadow memory counts in RSS")
def test_extra_memory_is_independent_of_N(tmp_path):
    extra = {}
    for N in (10_000_000,):
        proc = subprocess.run([sys.executable, "-c", MEMORY_SCRIPT, str(N)], cwd=tmp_path,
                              capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stderr
        extra[N] = float(proc.stdout.split()[-1])
    # predict's output for 1e5 rows is 0.8 MB; the rest is block scratch
    assert extra[10_000_000] < 5.0, extra


@pytest.mark.skipif(SANITIZED, reason="AddressSanitizer's quarantine holds freed memory")
def test_repeated_calls_do_not_grow_memory():
    import tracemalloc
    net = tinynet.MLP((5, 8, 3), "tanh", "softmax", "ce", True)
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(2000, 5)), np.eye(3)[rng.integers(0, 3, 2000)]
    p = net.init(0)
    for _ in range(50):
        net.value_and_grad(p, X, Y)
    tracemalloc.start()
    snap0 = tracemalloc.take_snapshot()
    rss0 = _rss()
    for _ in range(3000):
        net.value_and_grad(p, X, Y)
        net.predict(p, X)
        try:
            net.value_and_grad(p, X[:, :4], Y)
        except ValueError:
            pass
    grown = sum(s.size_diff for s in tracemalloc.take_snapshot().compare_to(snap0, "filename"))
    tracemalloc.stop()
    assert grown < 200_000, grown
    if rss0 is not None:
        assert _rss() - rss0 < 8 * 2 ** 20


def _rss():
    try:
        with open("/proc/self/statm") as f:
            import os
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return None
