"""Layouts, dtypes and ownership: read-only, memory-mapped, Fortran-ordered,
strided and list inputs all work, give the same result, and are not modified."""
import numpy as np
import pytest

import tinynet

from helpers import make_problem


@pytest.fixture(params=["float64", "float32"])
def problem(request):
    net = tinynet.MLP((4, 5, 3), "tanh", "softmax", "ce", True, request.param)
    params, X, Y = make_problem(0, net, 200)
    return net, [p.astype(net.dtype) for p in params], X.astype(net.dtype), Y.astype(net.dtype)


def results(net, params, X, Y, **kw):
    loss, grads = net.value_and_grad(params, X, Y, **kw)
    return loss, grads, net.predict(params, X)


def assert_same(a, b):
    assert a[0] == b[0]
    for x, y in zip(a[1], b[1]):
        np.testing.assert_array_equal(x, y)
    np.testing.assert_array_equal(a[2], b[2])


def test_read_only_inputs(problem):
    net, params, X, Y = problem
    expected = results(net, params, X, Y)
    for a in [X, Y, *params]:
        a.setflags(write=False)
    assert_same(results(net, params, X, Y), expected)


def test_memory_mapped_inputs(problem, tmp_path):
    net, params, X, Y = problem
    expected = results(net, params, X, Y)
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "Y.npy", Y)
    Xm = np.load(tmp_path / "X.npy", mmap_mode="r")
    Ym = np.load(tmp_path / "Y.npy", mmap_mode="r")
    assert isinstance(Xm, np.memmap)
    assert_same(results(net, params, Xm, Ym), expected)


def test_fortran_strided_and_reversed_layouts(problem):
    net, params, X, Y = problem
    expected = results(net, params, X, Y)
    assert_same(results(net, [np.asfortranarray(p) for p in params],
                        np.asfortranarray(X), np.asfortranarray(Y)), expected)
    wide = np.zeros((X.shape[0] * 2, X.shape[1] * 3), dtype=X.dtype)
    wide[::2, ::3] = X
    assert_same(results(net, params, wide[::2, ::3], Y), expected)
    rev = X[::-1, ::-1].copy()[::-1, ::-1]       # negative strides, same values
    assert rev.strides[0] < 0
    assert_same(results(net, params, rev, Y[::-1].copy()[::-1]), expected)


def test_lists_work(problem):
    net, params, X, Y = problem
    expected = results(net, params, X, Y)
    got = results(net, [p.tolist() for p in params], X.tolist(), Y.tolist())
    assert_same(got, expected)


def test_other_dtypes_are_converted():
    net = tinynet.MLP((3, 4, 1), bias=True)
    params = net.init(1)
    Xi = np.arange(30, dtype=np.int32).reshape(10, 3) % 5
    Yb = (np.arange(10) % 2).astype(bool)
    expected = results(net, params, Xi.astype(float), Yb.astype(float))
    assert_same(results(net, params, Xi, Yb), expected)
    assert_same(results(net, params, Xi.astype(np.uint8), Yb.astype(np.float16)), expected)
    got = results(net, params, Xi.astype(object), Yb)
    assert_same(got, expected)


def test_float64_inputs_to_float32_net():
    net = tinynet.MLP(dtype="float32")
    params = net.init(2)
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(50, 3)), rng.random(50)
    loss, grads = net.value_and_grad([p.astype(np.float64) for p in params], X, Y)
    loss32, grads32 = net.value_and_grad(params, X.astype(np.float32), Y.astype(np.float32))
    assert loss == loss32
    assert all(g.dtype == np.float32 for g in grads)
    assert net.predict(params, X).dtype == np.float32


def test_inputs_are_not_modified_and_outputs_are_fresh(problem):
    net, params, X, Y = problem
    copies = [a.copy() for a in [X, Y, *params]]
    w = np.linspace(0.5, 1.5, X.shape[0]).astype(X.dtype)
    w0 = w.copy()
    loss, grads = net.value_and_grad(params, X, Y, sample_weight=w)
    out = net.predict(params, X)
    for a, c in zip([X, Y, *params], copies):
        np.testing.assert_array_equal(a, c)
    np.testing.assert_array_equal(w, w0)
    for g in grads + [out]:
        for a in [X, Y, w, *params]:
            assert not np.shares_memory(g, a)


def test_single_sample_and_single_unit_nets():
    net = tinynet.MLP((1, 1), "identity", "identity", "mse", True)
    loss, (dW, db) = net.value_and_grad([np.array([[2.0]]), np.array([0.5])],
                                        [[3.0]], [1.0])
    # yhat = 2 * 3 + 0.5 = 6.5, L = (6.5 - 1)^2 / 2, dL/dW = 5.5 * 3, dL/db = 5.5
    assert loss == 0.5 * 5.5 ** 2
    assert dW[0, 0] == 16.5 and db[0] == 5.5


class _Sub(np.ndarray):
    """An ndarray subclass, as a user's array type might be."""


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_fast_path_equals_general_path(dtype):
    # value_and_grad with arrays of the net's dtype takes a C-level fast
    # path; weights given as a list (not a buffer) take the general one, and
    # weights of ones give the unweighted answer exactly
    for net in (tinynet.MLP(dtype=dtype),
                tinynet.MLP((4, 6, 3), "tanh", "softmax", "ce", True, dtype)):
        params, X, Y = make_problem(3, net, 50)
        params = [p.astype(dtype) for p in params]
        X, Y = X.astype(dtype), Y.astype(dtype)
        ones = [1.0] * len(X)
        readonly = X.copy()
        readonly.flags.writeable = False
        for Xin, Yin in [(X, Y), (np.asfortranarray(X), Y[::-1].copy()[::-1]),
                         (X, Y[:, 0] if Y.shape[1] == 1 else Y),
                         # other buffers, subclasses, read-only and swapped arrays
                         (memoryview(X), memoryview(Y)), (X.view(_Sub), Y.view(_Sub)),
                         (readonly, Y), (X, Y.astype(Y.dtype.newbyteorder()))]:
            fast = net.value_and_grad(params, Xin, Yin)
            general = net.value_and_grad(params, Xin, Yin, sample_weight=ones)
            assert fast[0] == general[0]
            for a, b in zip(fast[1], general[1]):
                assert a.dtype == np.dtype(dtype) and a.shape == b.shape
                np.testing.assert_array_equal(a, b)
                assert not any(np.shares_memory(a, p) for p in params)
        # weights: contiguous vectors of the net's dtype on the fast path,
        # anything else on the general one, with the same answer
        w = np.random.default_rng(5).random(len(X)).astype(dtype)
        w[3] = 0.0
        ref = net.value_and_grad(params, X, Y, sample_weight=w.tolist())
        other = w.astype("float32" if dtype == "float64" else "float64")
        strided = np.repeat(w, 2)[::2]
        for weights, fast in ((w, True), (strided, False), (other, False),
                              (memoryview(w), True)):
            took = net._kfast(tinynet._kernels.GRAD, params, X, Y, weights, True, 1, None)
            assert (took is not None) == fast
            got = net.value_and_grad(params, X, Y, sample_weight=weights)
            expected = (ref if weights is not other else
                        net.value_and_grad(params, X, Y, sample_weight=other.tolist()))
            assert got[0] == expected[0]
            for a, b in zip(got[1], expected[1]):
                np.testing.assert_array_equal(a, b)
        # predict and the loss: the same on either path (X as a list, weights
        # as a list take the general one)
        assert type(net.predict(params, X)) is np.ndarray
        np.testing.assert_array_equal(net.predict(params, X), net.predict(params, X.tolist()))
        np.testing.assert_array_equal(net.predict(params, X.view(_Sub)),
                                      net.predict(params, X.tolist()))
        for weights in (None, w, memoryview(w)):
            general = ones if weights is None else w.tolist()
            assert (net.loss(params, X, Y, sample_weight=weights)
                    == net.loss(params, X, Y, sample_weight=general))
            np.testing.assert_allclose(
                net.loss(params, X, Y, sample_weight=weights),
                net.value_and_grad(params, X, Y, sample_weight=general)[0],
                rtol=1e-12 if dtype == "float64" else 1e-5)
        # check_finite=False: the same sums, on either path
        for weights in (None, w):
            fast = net.value_and_grad(params, X, Y, sample_weight=weights,
                                      check_finite=False)
            general = net.value_and_grad(params, X, Y, check_finite=False,
                                         sample_weight=ones if weights is None
                                         else w.tolist())
            assert fast[0] == general[0]
            for a, b in zip(fast[1], general[1]):
                np.testing.assert_array_equal(a, b)
        # non-native byte order and non-contiguous params fall back, buffers
        # that are not ndarrays are read through the buffer protocol: same answer
        swapped = [p.astype(p.dtype.newbyteorder()) for p in params]
        strided = [np.asfortranarray(p) for p in params]
        ref = net.value_and_grad(params, X, Y, sample_weight=ones)
        buffers = [memoryview(p) for p in params]
        for ps in (swapped, strided, buffers):
            got = net.value_and_grad(ps, X.astype(X.dtype.newbyteorder()), Y)
            assert got[0] == ref[0]
            for a, b in zip(got[1], ref[1]):
                np.testing.assert_array_equal(a, b)
