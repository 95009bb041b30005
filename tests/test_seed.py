"""The seed network against the seed derivation's closed forms, written out
literally (loops over i, k, l as in the text)."""
import numpy as np
import pytest

import tinynet
from tinynet import reference

from helpers import assert_close


def sigma(x):
    return 1.0 / (1.0 + np.exp(-x))


def seed_closed_form(W1, W2, X, Y):
    """L, dL/dW1, dL/dW2 from the seed's final expressions, term by term."""
    N = X.shape[0]
    L = 0.0
    dW1 = np.zeros((3, 4))
    dW2 = np.zeros((4, 1))
    for i in range(N):
        H_i = [sum(X[i, k] * W1[k, l] for k in range(3)) for l in range(4)]
        Z_i = [sigma(h) for h in H_i]
        O_i = sum(Z_i[k] * W2[k, 0] for k in range(4))
        yhat_i = sigma(O_i)
        L += (Y[i] - yhat_i) ** 2 / (2 * N)
        for k in range(4):
            # dL/dW2_k1 = sum_i -(1/N)(Y_i - yhat_i) yhat_i (1 - yhat_i) Z_ik
            dW2[k, 0] += -(1 / N) * (Y[i] - yhat_i) * yhat_i * (1 - yhat_i) * Z_i[k]
        for k in range(3):
            for l in range(4):
                # dL/dW1_kl = sum_i -(1/N)(Y_i - yhat_i) yhat_i (1 - yhat_i)
                #                    W2_l1 Z_il (1 - Z_il) X_ik
                dW1[k, l] += (-(1 / N) * (Y[i] - yhat_i) * yhat_i * (1 - yhat_i)
                              * W2[l, 0] * Z_i[l] * (1 - Z_i[l]) * X[i, k])
    return L, dW1, dW2


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("N", [1, 7, 64])
def test_seed_network_matches_closed_form(seed, N):
    rng = np.random.default_rng(seed)
    W1 = rng.normal(size=(3, 4))
    W2 = rng.normal(size=(4, 1))
    X = rng.normal(size=(N, 3)) * 2
    Y = rng.random(N)
    L_ref, dW1_ref, dW2_ref = seed_closed_form(W1, W2, X, Y)

    net = tinynet.MLP()
    L, (dW1, dW2) = net.value_and_grad([W1, W2], X, Y)
    assert L == pytest.approx(L_ref, rel=1e-12)
    assert_close(dW1, dW1_ref, 1e-12, "dW1")
    assert_close(dW2, dW2_ref, 1e-12, "dW2")
    assert net.loss([W1, W2], X, Y) == pytest.approx(L_ref, rel=1e-12)

    # the step-by-step reference agrees too
    L_r, dW1_r, dW2_r = reference.seed_value_and_grad(W1, W2, X, Y)
    assert L_r == pytest.approx(L_ref, rel=1e-12)
    assert_close(dW1_r, dW1_ref, 1e-12, "reference dW1")
    assert_close(dW2_r, dW2_ref, 1e-12, "reference dW2")


def test_seed_network_is_the_default():
    net = tinynet.MLP()
    assert net.sizes == (3, 4, 1)
    assert (net.activation, net.output, net.loss) == ("sigmoid", "sigmoid", "mse")
    assert net.bias is False
    assert net.dtype == np.float64
    assert net.param_shapes == ((3, 4), (4, 1))
    assert net.param_names == ("W1", "W2")
    assert net.n_params == 16


def test_seed_predict_is_sigmoid_of_sigmoid():
    rng = np.random.default_rng(3)
    W1, W2 = rng.normal(size=(3, 4)), rng.normal(size=(4, 1))
    X = rng.normal(size=(20, 3))
    expected = sigma(sigma(X @ W1) @ W2)
    np.testing.assert_allclose(tinynet.MLP().predict([W1, W2], X), expected,
                               rtol=1e-14, atol=1e-16)


def test_seed_y_column_and_flat_agree():
    rng = np.random.default_rng(4)
    net = tinynet.MLP()
    p = net.init(seed=1)
    X, Y = rng.normal(size=(9, 3)), rng.random(9)
    a = net.value_and_grad(p, X, Y)
    b = net.value_and_grad(p, X, Y[:, None])
    assert a[0] == b[0]
    for ga, gb in zip(a[1], b[1]):
        np.testing.assert_array_equal(ga, gb)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("N", [1, 15, 1025, 70_001])
def test_seed_fused_kernel_matches_reference(dtype, N):
    # tinynet.MLP() runs a loop specialised for the seed (src_c/tn_seed.h):
    # weights, odd block remainders, several chunks and threads, both dtypes
    rng = np.random.default_rng(N)
    net = tinynet.MLP(dtype=dtype)
    params = [rng.normal(size=s).astype(dtype) for s in net.param_shapes]
    X = rng.normal(size=(N, 3)).astype(dtype)
    Y = rng.random(N).astype(dtype)
    w = rng.random(N).astype(dtype) + 0.1
    rtol = 1e-12 if dtype == "float64" else 1e-5
    for nt in (1, 2):
        loss, grads = net.value_and_grad(params, X, Y, sample_weight=w, n_threads=nt)
        ref_loss, ref_grads = reference.value_and_grad(net, params, X, Y, w)
        assert loss == pytest.approx(ref_loss, rel=rtol)
        for g, r in zip(grads, ref_grads):
            assert_close(g, r, rtol)
        assert net.loss(params, X, Y, sample_weight=w, n_threads=nt) == loss
