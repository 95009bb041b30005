"""Bad input gets TypeError/ValueError naming the argument; never a crash."""
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import tinynet


@pytest.fixture
def net():
    return tinynet.MLP()


@pytest.fixture
def good(net):
    rng = np.random.default_rng(0)
    return net.init(seed=0), rng.normal(size=(10, 3)), rng.random(10)


# ---- the constructor
@pytest.mark.parametrize("kwargs,exc,words", [
    (dict(sizes=(3,)), ValueError, ["sizes", "at least 2"]),
    (dict(sizes=(3, 0, 1)), ValueError, ["sizes[1]", ">= 1"]),
    (dict(sizes=(3, -2, 1)), ValueError, ["sizes[1]"]),
    (dict(sizes=(3, 2.5, 1)), TypeError, ["sizes[1]", "int"]),
    (dict(sizes=(3, True, 1)), TypeError, ["sizes[1]"]),
    (dict(sizes=5), TypeError, ["sizes"]),
    (dict(activation="softmax"), ValueError, ["activation", "softmax"]),
    (dict(activation="swish"), ValueError, ["activation", "'swish'"]),
    (dict(activation=None), TypeError, ["activation"]),
    (dict(output="tanh"), ValueError, ["output", "'tanh'"]),
    (dict(loss="hinge"), ValueError, ["loss", "'hinge'"]),
    (dict(loss="bce", output="identity"), ValueError, ["bce", "output"]),
    (dict(loss="bce", output="softmax"), ValueError, ["bce", "output"]),
    (dict(loss="ce", output="sigmoid"), ValueError, ["ce", "output"]),
    (dict(loss="ce", output="identity"), ValueError, ["ce", "output"]),
    (dict(bias="yes"), TypeError, ["bias"]),
    (dict(dtype="float16"), ValueError, ["dtype", "float16"]),
    (dict(dtype="int64"), ValueError, ["dtype"]),
    (dict(dtype="nonsense"), TypeError, ["dtype"]),
])
def test_constructor_rejects(kwargs, exc, words):
    with pytest.raises(exc) as info:
        tinynet.MLP(**kwargs)
    for w in words:
        assert w in str(info.value)


# ---- arrays
@pytest.mark.parametrize("X,exc,words", [
    (np.zeros((10, 4)), ValueError, ["X", "(N, 3)", "(10, 4)"]),
    (np.zeros((10,)), ValueError, ["X", "2-D", "(10,)"]),
    (np.zeros((10, 3, 1)), ValueError, ["X", "(10, 3, 1)"]),
    (np.zeros((0, 3)), ValueError, ["X", "N = 0"]),
    (np.zeros((10, 3), dtype=complex), TypeError, ["X", "complex"]),
    (np.array([["a", "b", "c"]] * 10), TypeError, ["X", "<U1"]),
    (np.zeros((10, 3), dtype="datetime64[s]"), TypeError, ["X", "datetime64"]),
    (np.array([[1, 2, None]] * 10, dtype=object), TypeError, ["X", "object"]),
    ([[1, 2, 3], [4, 5]] * 5, ValueError, ["X", "ragged"]),
    (None, TypeError, ["X", "None"]),
    (3.0, ValueError, ["X", "2-D"]),
])
def test_bad_X(net, good, X, exc, words):
    params, _, Y = good
    with pytest.raises(exc) as info:
        net.value_and_grad(params, X, Y)
    for w in words:
        assert w in str(info.value)


@pytest.mark.parametrize("Y,exc,words", [
    (np.zeros(9), ValueError, ["Y", "9 rows", "X has 10"]),
    (np.zeros((10, 2)), ValueError, ["Y", "(N, 1)", "(10, 2)"]),
    (np.zeros((10, 1, 1)), ValueError, ["Y", "(10, 1, 1)"]),
    (np.zeros(10, dtype=complex), TypeError, ["Y", "complex"]),
    (None, TypeError, ["Y", "None"]),
])
def test_bad_Y(net, good, Y, exc, words):
    params, X, _ = good
    with pytest.raises(exc) as info:
        net.value_and_grad(params, X, Y)
    for w in words:
        assert w in str(info.value)


def test_flat_Y_needs_one_output():
    net = tinynet.MLP((3, 4, 2), output="softmax", loss="ce")
    with pytest.raises(ValueError, match=r"Y must have shape \(N, 2\)"):
        net.value_and_grad(net.init(0), np.zeros((5, 3)), np.zeros(5))


@pytest.mark.parametrize("params,exc,words", [
    ("W", TypeError, ["params", "list"]),
    (np.zeros((3, 4)), TypeError, ["params", "ndarray"]),
    ([np.zeros((3, 4))], ValueError, ["params", "2 arrays", "got 1"]),
    ([np.zeros((3, 4))] * 3, ValueError, ["params", "got 3"]),
    ([np.zeros((4, 3)), np.zeros((4, 1))], ValueError, ["params[0] (W1)", "(3, 4)", "(4, 3)"]),
    ([np.zeros((3, 4)), np.zeros(4)], ValueError, ["params[1] (W2)", "(4, 1)", "(4,)"]),
    ([np.zeros((3, 4)), np.zeros((4, 1), dtype=complex)], TypeError, ["params[1] (W2)", "complex"]),
    ([np.zeros((3, 4)), None], TypeError, ["params[1] (W2)"]),
])
def test_bad_params(net, good, params, exc, words):
    _, X, Y = good
    with pytest.raises(exc) as info:
        net.value_and_grad(params, X, Y)
    for w in words:
        assert w in str(info.value)


def test_bias_shapes_are_checked():
    net = tinynet.MLP((3, 4, 1), bias=True)
    W1, b1, W2, b2 = net.init(0)
    msg = r"params\[1\] \(b1\) must have shape \(4,\); got shape \(1, 4\)"
    with pytest.raises(ValueError, match=msg):
        net.loss([W1, b1[None, :], W2, b2], np.zeros((2, 3)), np.zeros(2))


@pytest.mark.parametrize("w,exc,words", [
    (np.ones(9), ValueError, ["sample_weight", "(10,)", "(9,)"]),
    (np.ones((10, 1)), ValueError, ["sample_weight", "(10, 1)"]),
    (-np.ones(10), ValueError, ["sample_weight", "non-negative"]),
    (np.zeros(10), ValueError, ["sample_weight", "positive sum"]),
    (np.full(10, np.nan), ValueError, ["sample_weight", "NaN"]),
    # one bad weight among good ones (the C fast path checks every weight)
    (np.r_[np.ones(9), -1e-300], ValueError, ["sample_weight", "non-negative"]),
    (np.r_[np.ones(9), np.inf], ValueError, ["sample_weight", "infinity"]),
    (np.r_[np.nan, np.ones(9)], ValueError, ["sample_weight", "NaN"]),
    (np.ones(10, dtype=complex), TypeError, ["sample_weight", "complex"]),
])
def test_bad_sample_weight(net, good, w, exc, words):
    params, X, Y = good
    with pytest.raises(exc) as info:
        net.value_and_grad(params, X, Y, sample_weight=w)
    for word in words:
        assert word in str(info.value)


@pytest.mark.parametrize("n,exc", [(0, ValueError), (-3, ValueError),
                                   (1.5, TypeError), ("2", TypeError), (True, TypeError)])
def test_bad_n_threads(net, good, n, exc):
    params, X, Y = good
    with pytest.raises(exc, match="n_threads"):
        net.value_and_grad(params, X, Y, n_threads=n)


# ---- non-finite values
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("N,row", [(10, 7), (5000, 4321)])
def test_nonfinite_X_and_Y_named_with_row(net, bad, N, row):
    rng = np.random.default_rng(1)
    params, X, Y = net.init(0), rng.normal(size=(N, 3)), rng.random(N)
    X[row, 1] = bad
    for call in (lambda: net.value_and_grad(params, X, Y),
                 lambda: net.loss(params, X, Y),
                 lambda: net.predict(params, X)):
        with pytest.raises(ValueError, match=rf"X contains NaN or infinity \(first at row {row}\)"):
            call()
    X[row, 1] = 0.0
    Y[row] = bad
    for call in (lambda: net.value_and_grad(params, X, Y),
                 lambda: net.loss(params, X, Y)):
        with pytest.raises(ValueError,
                           match=rf"Y contains NaN or infinity \(first at row {row}\)"):
            call()


def test_nonfinite_params_named(net, good):
    params, X, Y = good
    params[1] = params[1].copy()
    params[1][2, 0] = np.nan
    for call in (lambda: net.value_and_grad(params, X, Y),
                 lambda: net.loss(params, X, Y),
                 lambda: net.predict(params, X)):
        with pytest.raises(ValueError, match=r"params\[1\] \(W2\) contains NaN"):
            call()


def test_check_finite_false_skips_the_check(net, good):
    params, X, Y = good
    X = X.copy()
    X[3, 0] = np.nan
    loss, grads = net.value_and_grad(params, X, Y, check_finite=False)
    assert np.isnan(loss)
    assert np.isnan(net.predict(params, X, check_finite=False)[3, 0])


# ---- never a crash: a battery of bad calls in a subprocess
CRASH_SCRIPT = textwrap.dedent("""
    import numpy as np, tinynet
    nets = [tinynet.MLP(), tinynet.MLP((2, 3, 2), "relu", "softmax", "ce", True, "float32")]
    junk = [None, 0, 1.5, "x", [], [[]], [[1, 2], [3]], np.zeros(0), np.zeros((0, 3)),
            np.zeros((3, 0)), np.zeros((2, 3), dtype=complex), np.zeros((2, 3), dtype=object),
            np.array([["a"] * 3] * 2), np.zeros((2, 3), dtype="m8[s]"), np.zeros((5, 3))[::-1],
            np.zeros((5, 3, 2))[..., 0], np.full((2, 3), np.inf), {"a": 1}, object()]
    n_ok = n_err = 0
    for net in nets:
        good = net.init(0)
        Xg = np.zeros((5, net.sizes[0]))
        Yg = np.zeros((5, net.sizes[-1]))
        for X in junk + [Xg]:
            for Y in junk + [Yg]:
                for params in [good, junk[:2], [np.zeros((2, 2))] * len(good), "p", None]:
                    for fn in (lambda: net.value_and_grad(params, X, Y),
                               lambda: net.loss(params, X, Y, sample_weight=Y),
                               lambda: net.predict(params, X)):
                        try:
                            fn()
                            n_ok += 1
                        except (TypeError, ValueError) as exc:
                            n_err += 1
                            msg = str(exc)
                            assert any(a in msg for a in ("X", "Y", "params", "sample_weight")), msg
    print("ok", n_ok, "errors", n_err)
""")


def test_bad_inputs_never_crash(tmp_path):
    # run from an empty folder so that the installed package is imported
    proc = subprocess.run([sys.executable, "-c", CRASH_SCRIPT], capture_output=True,
                          text=True, timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.startswith("ok")


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("bad,words", [(-1e-30, "non-negative"), (np.inf, "infinity"),
                                       (-np.inf, "infinity"), (np.nan, "NaN")])
def test_one_bad_weight_of_the_nets_dtype_is_caught(dtype, bad, words):
    # weights of the net's dtype are checked in C (vector loops: the bad one
    # at the start, in the middle, in the tail)
    net = tinynet.MLP(dtype=dtype)
    params = net.init(0)
    X = np.ones((37, 3), dtype)
    Y = np.ones((37, 1), dtype)
    for i in (0, 17, 36):
        w = np.ones(37, dtype)
        w[i] = bad
        with pytest.raises(ValueError, match=f"sample_weight.*{words}"):
            net.value_and_grad(params, X, Y, sample_weight=w)
