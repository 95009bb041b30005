"""The compiled kernels against the NumPy reference over many architectures,
all pairings, bias on and off, both dtypes, weights and thread counts."""
import numpy as np
import pytest

import tinynet
from tinynet import _dispatch, reference

from helpers import PAIRINGS, RTOL, assert_close, make_problem


def random_sizes(rng):
    depth = int(rng.integers(2, 6))        # 1 to 4 dense layers
    return tuple(int(s) for s in rng.integers(1, 65, size=depth))


def check_net(net, params, X, Y, w=None, n_threads=None):
    rtol = RTOL[net.dtype.name]
    loss, grads = net.value_and_grad(params, X, Y, sample_weight=w,
                                     n_threads=n_threads)
    loss_ref, grads_ref = reference.value_and_grad(net, params, X, Y, w)
    assert loss == pytest.approx(loss_ref, rel=rtol)
    assert len(grads) == len(params)
    for g, g_ref, p, name in zip(grads, grads_ref, params, net.param_names):
        assert g.shape == p.shape and g.dtype == net.dtype
        assert_close(g, g_ref, rtol, name)
    assert net.loss(params, X, Y, sample_weight=w) == pytest.approx(loss_ref, rel=rtol)
    assert_close(net.predict(params, X), reference.predict(net, params, X), rtol,
                 "predict")


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("activation,output,loss", PAIRINGS)
def test_all_pairings(activation, output, loss, bias, dtype):
    net = tinynet.MLP((5, 9, 7, 4), activation, output, loss, bias, dtype)
    params, X, Y = make_problem(7, net, 300)
    check_net(net, params, X, Y)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("case", range(40))
def test_random_architectures(case, dtype):
    rng = np.random.default_rng(1000 + case)
    activation, output, loss = PAIRINGS[case % len(PAIRINGS)]
    net = tinynet.MLP(random_sizes(rng), activation, output, loss,
                      bias=bool(case % 2), dtype=dtype)
    N = int(rng.choice([1, 2, 17, 255, 1024, 1500]))
    params, X, Y = make_problem(case, net, N)
    w = rng.random(N) + 0.1 if case % 3 == 0 else None
    check_net(net, params, X, Y, w)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("width", [15, 16, 17, 31, 32, 33, 47, 48, 50, 63, 64, 65, 97])
def test_layer_widths_around_the_gradient_tiles(width, dtype):
    # a layer's weight gradient is summed in outer-product tiles of 16
    # (float64) or 32 (float32) columns on AVX-512, the rest in dot-product
    # tiles: widths just below, at and above whole tiles, as the layer's
    # output (W1) and as its input (W2)
    net = tinynet.MLP((7, width, 3), "tanh", "identity", "mse", True, dtype)
    params, X, Y = make_problem(width, net, 333)
    check_net(net, params, X, Y)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_many_chunks_and_threads(dtype):
    # enough samples for several chunks, so threads share the work
    net = tinynet.MLP((4, 6, 3), "tanh", "softmax", "ce", True, dtype)
    params, X, Y = make_problem(3, net, 70_000)
    for nt in (1, 2, 3):
        check_net(net, params, X, Y, n_threads=nt)


def test_sample_weight_all_ones_equals_unweighted():
    net = tinynet.MLP((3, 5, 2), "relu", "identity", "mse", True)
    params, X, Y = make_problem(1, net, 50)
    a = net.value_and_grad(params, X, Y)
    b = net.value_and_grad(params, X, Y, sample_weight=np.ones(50))
    assert a[0] == pytest.approx(b[0], rel=1e-14)
    for ga, gb in zip(a[1], b[1]):
        assert_close(ga, gb, 1e-14)


def test_integer_sample_weight_equals_repeating_samples():
    net = tinynet.MLP((3, 4, 1), "sigmoid", "sigmoid", "bce", True)
    params, X, Y = make_problem(2, net, 30)
    w = np.random.default_rng(0).integers(0, 4, size=30)
    w[0] = 1
    rep = np.repeat(np.arange(30), w)
    a = net.value_and_grad(params, X, Y, sample_weight=w)
    b = net.value_and_grad(params, X[rep], Y[rep])
    assert a[0] == pytest.approx(b[0], rel=1e-13)
    for ga, gb in zip(a[1], b[1]):
        assert_close(ga, gb, 1e-13)


def test_float32_agrees_with_float64():
    net64 = tinynet.MLP((8, 16, 3), "tanh", "softmax", "ce", True, "float64")
    net32 = tinynet.MLP((8, 16, 3), "tanh", "softmax", "ce", True, "float32")
    params, X, Y = make_problem(5, net64, 20_000)
    l64, g64 = net64.value_and_grad(params, X, Y)
    l32, g32 = net32.value_and_grad([p.astype(np.float32) for p in params], X, Y)
    assert l32 == pytest.approx(l64, rel=1e-5)
    for a, b in zip(g32, g64):
        assert_close(a, b, 1e-4)


@pytest.mark.parametrize("variant", sorted(_dispatch.available()))
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("activation,output,loss", PAIRINGS[::3])
def test_every_kernel_variant(variant, activation, output, loss, dtype):
    # each instruction-set variant built here (baseline, x86-64-v3, -v4)
    net = tinynet.MLP((6, 13, 5, 3), activation, output, loss, True, dtype)
    net._use_variant(variant)
    params, X, Y = make_problem(21, net, 777)
    check_net(net, params, X, Y, np.random.default_rng(0).random(777) + 0.5)
