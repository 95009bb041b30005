"""Shared helpers of the test suite."""
import numpy as np
# (activation, output, loss) combinations that tinynet accepts
PAIRINGS = [(a, o, l)
            for a in ("sigmoid", "tanh", "relu", "identity")
            for o, l in (("sigmoid", "mse"), ("identity", "mse"), ("softmax", "mse"),
                         ("sigmoid", "bce"), ("softmax", "ce"))]

RTOL = {"float64": 1e-12, "float32": 1e-5}


def assert_close(actual, desired, rtol, what=""):
    """Agreement relative to the largest entry of `desired` (entries far
    below it are held to the same absolute error)."""
    actual = np.asarray(actual, dtype=np.float64)
    desired = np.asarray(desired, dtype=np.float64)
    assert actual.shape == desired.shape, what
    scale = max(float(np.max(np.abs(desired), initial=0.0)), 1e-300)
    np.testing.assert_allclose(actual, desired, rtol=rtol, atol=rtol * scale,
                               err_msg=what)


def make_targets(rng, net, N):
    """Targets suited to the net's loss: probabilities for bce, rows of a
    probability simplex for ce, real values otherwise."""
    K = net.sizes[-1]
    if net.loss_name == "ce":
        Y = rng.random((N, K)) ** 3
        return Y / Y.sum(axis=1, keepdims=True)
    if net.loss_name == "bce" or net.output in ("sigmoid", "softmax"):
        return rng.random((N, K))
    return rng.normal(size=(N, K))


def make_problem(seed, net, N, scale=0.5):
    rng = np.random.default_rng(seed)
    # perturb the initial weights (biases start non-zero too), keeping the
    # scale of each layer's pre-activation near 1 so that outputs do not saturate
    params = [p + (scale * rng.standard_normal(p.shape) / np.sqrt(p.shape[0])
                   if p.ndim == 2 else scale * rng.standard_normal(p.shape)
                   ).astype(p.dtype)
              for p in net.init(seed=seed)]
    X = rng.normal(size=(N, net.sizes[0]))
    return params, X, make_targets(rng, net, N)

