"""Analytic gradients against 4th-order central finite differences (float64)."""
import numpy as np
import pytest

import tinynet

from helpers import PAIRINGS, make_problem


def numeric_grad(net, params, X, Y, w, h=1e-3):
    """(8 f(x+h) - 8 f(x-h) - f(x+2h) + f(x-2h)) / 12h for every weight."""
    grads = []
    for i, p in enumerate(params):
        g = np.zeros_like(p)
        for idx in np.ndindex(p.shape):
            def f(delta, i=i, idx=idx):
                q = [a.copy() for a in params]
                q[i][idx] += delta
                return net.loss(q, X, Y, sample_weight=w)
            g[idx] = (8 * (f(h) - f(-h)) - (f(2 * h) - f(-2 * h))) / (12 * h)
        grads.append(g)
    return grads


@pytest.mark.parametrize("activation,output,loss",
                         [p for p in PAIRINGS if p[0] != "relu"])
def test_gradient_matches_finite_differences(activation, output, loss):
    net = tinynet.MLP((3, 4, 3, 2), activation, output, loss, bias=True)
    params, X, Y = make_problem(11, net, 25)
    w = np.random.default_rng(2).random(25) + 0.5
    _, grads = net.value_and_grad(params, X, Y, sample_weight=w)
    for g, gn, name in zip(grads, numeric_grad(net, params, X, Y, w), net.param_names):
        np.testing.assert_allclose(g, gn, rtol=1e-6, atol=1e-9, err_msg=name)


def test_relu_gradient_matches_finite_differences_away_from_kinks():
    net = tinynet.MLP((3, 6, 1), "relu", "identity", "mse", bias=True)
    params, X, Y = make_problem(4, net, 40)
    # keep the samples whose pre-activations stay clear of relu's kink at 0
    # while a weight moves by up to 2h
    far = np.min(np.abs(X @ params[0] + params[1]), axis=1) > 0.05
    X, Y = X[far], Y[far]
    assert len(X) >= 10
    _, grads = net.value_and_grad(params, X, Y)
    for g, gn in zip(grads, numeric_grad(net, params, X, Y, None)):
        np.testing.assert_allclose(g, gn, rtol=1e-6, atol=1e-9)
