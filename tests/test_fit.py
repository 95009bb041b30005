"""Training: optimisers, reproducibility, weights, penalty, early stopping,
flat-vector helpers and scipy's L-BFGS."""
import numpy as np
import pytest

import tinynet
from tinynet.cli import demo_data

from helpers import make_problem


@pytest.fixture
def data():
    return demo_data(400, seed=1)


@pytest.mark.parametrize("optimizer,kw", [("gd", dict(lr=2.0)), ("sgd", dict(lr=0.5)),
                                          ("sgd", dict(lr=0.5, nesterov=True)),
                                          ("adam", dict(lr=0.05)), ("lbfgs", {})])
def test_optimizers_reduce_the_loss(data, optimizer, kw):
    X, Y = data
    net = tinynet.MLP()
    p0 = net.init(seed=3)
    params, hist = tinynet.fit(net, X, Y, p0, optimizer=optimizer, epochs=300, verbose=0, **kw)
    assert net.loss(params, X, Y) < net.loss(p0, X, Y) / 10
    assert len(hist) >= 1 and hist.train_loss[-1] == pytest.approx(net.loss(params, X, Y))


def test_minibatch_fit_is_reproducible_bit_for_bit(data):
    X, Y = data
    net = tinynet.MLP((3, 6, 1), "tanh", "sigmoid", "bce", True)
    Yb = (Y > 0.5).astype(float)
    a = tinynet.fit(net, X, Yb, epochs=20, batch_size=32, seed=5, verbose=0)
    b = tinynet.fit(net, X, Yb, epochs=20, batch_size=32, seed=5, verbose=0)
    c = tinynet.fit(net, X, Yb, epochs=20, batch_size=32, seed=6, verbose=0)
    for x, y in zip(a[0], b[0]):
        np.testing.assert_array_equal(x, y)
    assert a[1].train_loss == b[1].train_loss
    assert not np.array_equal(a[0][0], c[0][0])


def test_params_argument_is_not_modified(data):
    X, Y = data
    net = tinynet.MLP()
    p0 = net.init(seed=0)
    copy = [p.copy() for p in p0]
    tinynet.fit(net, X, Y, p0, epochs=5, verbose=0)
    for p, c in zip(p0, copy):
        np.testing.assert_array_equal(p, c)


def test_gd_step_is_the_seed_update(data):
    X, Y = data
    net = tinynet.MLP()
    p0 = net.init(seed=0)
    params, _ = tinynet.fit(net, X, Y, p0, optimizer="gd", lr=0.7, epochs=1, verbose=0)
    _, g = net.value_and_grad(p0, X, Y)
    for p, q, gq in zip(params, p0, g):
        np.testing.assert_allclose(p, q - 0.7 * gq, rtol=1e-15, atol=1e-17)


def test_all_ones_sample_weight_equals_unweighted(data):
    X, Y = data
    net = tinynet.MLP()
    a = tinynet.fit(net, X, Y, epochs=10, seed=1, verbose=0)
    b = tinynet.fit(net, X, Y, epochs=10, seed=1, sample_weight=np.ones(len(X)), verbose=0)
    for x, y in zip(a[0], b[0]):
        np.testing.assert_allclose(x, y, rtol=1e-13)


def test_l2_penalty_adds_to_loss_and_gradient(data):
    X, Y = data
    net = tinynet.MLP((3, 4, 1), bias=True)
    p = [q + 0.1 for q in net.init(seed=2)]
    f0 = net.objective(X, Y)
    f1 = net.objective(X, Y, alpha=0.3)
    theta = net.flatten(p)
    l0, g0 = f0(theta)
    l1, g1 = f1(theta)
    W = np.concatenate([p[0].ravel(), p[2].ravel()])
    assert l1 == pytest.approx(l0 + 0.15 * np.dot(W, W), rel=1e-14)
    mask = net.weight_mask()
    np.testing.assert_allclose(g1[mask], g0[mask] + 0.3 * theta[mask], rtol=1e-14)
    np.testing.assert_array_equal(g1[~mask], g0[~mask])     # biases are not penalised


def test_early_stopping_returns_best_epoch():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    Y = rng.normal(size=60)                     # pure noise: validation loss rises
    net = tinynet.MLP((3, 32, 1), "tanh", "identity", "mse", True)
    params, hist = tinynet.fit(net, X, Y, optimizer="adam", lr=0.05, epochs=500,
                               validation_fraction=0.3, patience=5, seed=0, verbose=0)
    assert hist.stopped_early and len(hist) < 500
    best = hist.best_epoch
    assert hist.val_loss[best] == min(hist.val_loss)
    records = hist.records()
    assert set(records[0]) == {"epoch", "train_loss", "val_loss", "grad_norm", "time"}


@pytest.mark.parametrize("schedule", ["constant", "invscaling", "cosine"])
def test_schedules_run(data, schedule):
    X, Y = data
    net = tinynet.MLP()
    _, hist = tinynet.fit(net, X, Y, epochs=30, schedule_name=schedule, verbose=0)
    assert hist.train_loss[-1] < hist.train_loss[0]


def test_flatten_unflatten_round_trip():
    net = tinynet.MLP((4, 5, 2), bias=True)
    p = net.init(seed=1)
    theta = net.flatten(p)
    assert theta.shape == (net.n_params,)
    back = net.unflatten(theta)
    for a, b in zip(p, back):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="theta must have shape"):
        net.unflatten(theta[:-1])


def test_scipy_lbfgs_converges_on_the_seed_network(data):
    minimize = pytest.importorskip("scipy.optimize").minimize
    X, Y = data
    net = tinynet.MLP()
    f = net.objective(X, Y)
    theta0 = net.flatten(net.init(seed=0))
    res = minimize(f, theta0, jac=True, method="L-BFGS-B",
                   options={"maxiter": 2000, "gtol": 1e-10, "ftol": 0})
    assert res.success
    assert np.linalg.norm(res.jac) < 1e-6          # a stationary point
    assert res.fun < f(theta0)[0] / 100


@pytest.mark.parametrize("kw,exc,match", [
    (dict(optimizer="rmsprop"), ValueError, "optimizer"),
    (dict(epochs=0), ValueError, "epochs"),
    (dict(lr=-1.0), ValueError, "lr"),
    (dict(batch_size=0), ValueError, "batch_size"),
    (dict(validation_fraction=1.5), ValueError, "validation_fraction"),
    (dict(schedule_name="step"), ValueError, "schedule"),
    (dict(alpha=-1.0), ValueError, "alpha"),
])
def test_fit_rejects_bad_arguments(data, kw, exc, match):
    X, Y = data
    with pytest.raises(exc, match=match):
        tinynet.fit(tinynet.MLP(), X, Y, verbose=0, **kw)


def test_callback_can_stop_and_interrupt_keeps_last_good_params(data):
    X, Y = data
    net = tinynet.MLP()
    seen = []

    def cb(epoch, params, history):
        seen.append(epoch)
        if epoch == 4:
            raise KeyboardInterrupt          # as Ctrl-C would
        return False
    params, hist = tinynet.fit(net, X, Y, epochs=50, callback=cb, verbose=0)
    assert hist.interrupted and seen[-1] == 4 and len(hist) == 5
    assert all(np.isfinite(p).all() for p in params)
    _, hist2 = tinynet.fit(net, X, Y, epochs=50, callback=lambda e, p, h: e == 2, verbose=0)
    assert len(hist2) == 3


def test_history_plot_writes_a_png(data, tmp_path):
    pytest.importorskip("matplotlib")
    X, Y = data
    _, hist = tinynet.fit(tinynet.MLP(), X, Y, epochs=20, validation_fraction=0.2,
                          verbose=0)
    path = hist.plot(tmp_path / "loss.png")
    assert open(path, "rb").read(8) == b"\x89PNG\r\n\x1a\n"


def test_wider_net_float32_trains():
    net = tinynet.MLP((6, 16, 3), "relu", "softmax", "ce", True, "float32")
    params, X, _ = make_problem(0, net, 300)
    labels = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0).astype(int)
    Y = np.eye(3)[labels]
    p, hist = tinynet.fit(net, X, Y, epochs=100, batch_size=50, seed=0, verbose=0)
    assert all(q.dtype == np.float32 for q in p)
    assert np.mean(net.predict(p, X).argmax(1) == labels) > 0.9
