"""The MLP object: attributes, repr, equality, init, configuration."""
import io
import pickle

import numpy as np
import pytest

import tinynet


def test_attributes_and_repr():
    net = tinynet.MLP([5, 8, 3], activation="relu", output="softmax", loss="ce",
                      bias=True, dtype="float32")
    assert net.sizes == (5, 8, 3)
    assert net.activation == "relu" and net.output == "softmax"
    assert net.loss == "ce" and net.loss_name == "ce"
    assert net.bias is True and net.dtype == np.float32
    assert net.param_names == ("W1", "b1", "W2", "b2")
    assert net.param_shapes == ((5, 8), (8,), (8, 3), (3,))
    assert net.n_params == 5 * 8 + 8 + 8 * 3 + 3
    assert repr(net) == ("MLP(sizes=(5, 8, 3), activation='relu', output='softmax', "
                         "loss='ce', bias=True, dtype='float32')")
    assert eval(repr(net), {"MLP": tinynet.MLP}) == net
    with pytest.raises(AttributeError):
        net.sizes = (1, 2)


def test_equality_hash_and_pickle():
    a, b = tinynet.MLP((3, 2, 1), "tanh"), tinynet.MLP((3, 2, 1), "tanh")
    assert a == b and hash(a) == hash(b)
    assert a != tinynet.MLP((3, 2, 1))
    c = pickle.loads(pickle.dumps(a))
    assert c == a
    p = a.init(0)
    X, Y = np.ones((4, 3)), np.zeros(4)
    assert c.loss(p, X, Y) == a.loss(p, X, Y)


def test_any_depth():
    net = tinynet.MLP((2, 3, 3, 3, 3, 3, 2), "tanh", "identity", "mse", True)
    params = net.init(0)
    assert len(params) == 12
    _, grads = net.value_and_grad(params, np.ones((3, 2)), np.zeros((3, 2)))
    assert [g.shape for g in grads] == [p.shape for p in params]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_init_is_deterministic_and_scaled(dtype):
    net = tinynet.MLP((30, 20, 10), bias=True, dtype=dtype)
    a, b, c = net.init(seed=7), net.init(seed=7), net.init(seed=8)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a[0], c[0])
    assert [p.shape for p in a] == list(net.param_shapes)
    assert all(p.dtype == net.dtype for p in a)
    bound = np.sqrt(6 / 50)
    assert np.abs(a[0]).max() <= bound and np.abs(a[0]).max() > 0.8 * bound
    assert not a[1].any()                  # biases start at zero


def test_show_config_reports_openmp_and_threads():
    buf = io.StringIO()
    tinynet.show_config(file=buf)
    text = buf.getvalue()
    assert "openmp" in text and "threads" in text and tinynet.__version__ in text


def test_config_reports_the_seed_loop():
    from tinynet import _config, _dispatch
    cfg = _config.config()
    # each variant carries the intrinsic loop of its instruction set: the
    # x86-64-v4 variant (AVX-512 F and DQ) src_c/tn_seed512.h, x86-64-v3 (AVX2
    # and FMA) src_c/tn_seed256.h, the baseline the portable loop
    expected = {"x86-64-v4": "avx512", "x86-64-v3": "avx2", "baseline": "portable"}
    for name, module in _dispatch.available().items():
        assert module.AVX512 == (name == "x86-64-v4"), name
        assert module.AVX2 == (name != "baseline"), name
        assert module.SEED_LOOP == expected[name], name
    assert cfg["seed_loop"] == expected[cfg["simd_variant"]]
    buf = io.StringIO()
    tinynet.show_config(file=buf)
    assert f"seed_loop: {cfg['seed_loop']}" in buf.getvalue()


def test_callable_loss_name_keeps_str_behaviour():
    net = tinynet.MLP()
    assert isinstance(net.loss, str) and net.loss.upper() == "MSE"
    assert pickle.loads(pickle.dumps(net.loss)) == "mse"


def _out_problem(net, N, seed=0):
    rng = np.random.default_rng(seed)
    params = net.init(seed=seed)
    X = rng.normal(size=(N, net.sizes[0])).astype(net.dtype)
    Y = rng.random((N, net.sizes[-1])).astype(net.dtype)
    return params, X, Y


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("sizes,bias", [((3, 4, 1), False), ((5, 7, 3), True)])
def test_value_and_grad_writes_into_out(sizes, bias, dtype):
    net = tinynet.MLP(sizes, bias=bias, dtype=dtype)
    params, X, Y = _out_problem(net, 301)
    w = np.random.default_rng(1).random(301)
    for kwargs in ({}, {"sample_weight": w}, {"check_finite": False}):
        loss, grads = net.value_and_grad(params, X, Y, **kwargs)
        # C-contiguous arrays (the C path), Fortran-ordered and strided ones
        # (the general path), filled with junk first
        for layout in ("C", "F", "strided"):
            out = []
            for g in grads:
                if layout == "strided":
                    o = np.full(g.shape + (2,), np.nan, dtype)[..., 1]
                else:
                    o = np.full(g.shape, np.nan, dtype, order=layout)
                out.append(o)
            loss2, got = net.value_and_grad(params, X, Y, out=out, **kwargs)
            assert loss2 == loss
            assert len(got) == len(out) and all(a is b for a, b in zip(got, out))
            for g, o in zip(grads, out):
                np.testing.assert_array_equal(o, g)


def test_out_may_be_the_params_themselves():
    net = tinynet.MLP()
    params, X, Y = _out_problem(net, 50)
    _, expected = net.value_and_grad(params, X, Y)
    buffers = [p.copy() for p in params]
    _, got = net.value_and_grad(buffers, X, Y, out=buffers)
    assert got[0] is buffers[0]
    for g, e in zip(got, expected):
        np.testing.assert_array_equal(g, e)


def test_bad_out_is_named():
    net = tinynet.MLP()
    params, X, Y = _out_problem(net, 10)
    good = [np.empty((3, 4)), np.empty((4, 1))]
    ro = np.empty((4, 1))
    ro.flags.writeable = False
    cases = [
        (np.empty(16), TypeError, r"out must be a list of arrays \['W1', 'W2'\]; got ndarray"),
        (good[:1], ValueError, r"out must hold 2 arrays"),
        ([good[0], [[0.0]] * 4], TypeError, r"out\[1\] \(W2\) must be a numpy array"),
        ([good[0], memoryview(np.empty((4, 1)))], TypeError,
         r"out\[1\] \(W2\) must be a numpy array"),
        ([good[0], np.empty((4, 1), np.float32)], TypeError,
         r"out\[1\] \(W2\) must have dtype float64 \(the net's\); got float32"),
        ([np.empty((4, 3)), good[1]], ValueError,
         r"out\[0\] \(W1\) must have shape \(3, 4\); got shape \(4, 3\)"),
        ([good[0], ro], ValueError, r"out\[1\] \(W2\) must be writable"),
    ]
    for out, exc, msg in cases:
        with pytest.raises(exc, match=msg):
            net.value_and_grad(params, X, Y, out=out)
