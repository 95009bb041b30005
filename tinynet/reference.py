"""A pure-NumPy implementation of tinynet's maths, written to be read.

This module is the oracle the tests compare the compiled kernels against, and
a reference for anyone who derives backpropagation by hand. It computes in
float64 whatever the net's dtype, and favours clarity over speed and memory:
it keeps every layer's (N, width) values.

:func:`seed_value_and_grad` follows the seed derivation step by step for
the 3-4-1 sigmoid network; :func:`value_and_grad` is the same algorithm for
any :class:`tinynet.MLP`. The notation is that of docs/derivation.md.
"""
import numpy as np

__all__ = ["sigmoid", "seed_value_and_grad", "forward", "predict", "loss",
           "value_and_grad"]


# ---------------------------------------------------------------------------
# Scalar formulas, applied element-wise
# ---------------------------------------------------------------------------
def sigmoid(x):
    """1 / (1 + exp(-x)), without overflow for large |x|."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def softplus(x):
    """log(1 + exp(x)), without overflow."""
    return np.maximum(x, 0.0) + np.log1p(np.exp(-np.abs(x)))


def softmax(O):
    """Row-wise softmax; subtracting the row maximum avoids overflow."""
    e = np.exp(O - O.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def log_softmax(O):
    """Row-wise log softmax: O - logsumexp(O)."""
    m = O.max(axis=1, keepdims=True)
    return O - m - np.log(np.exp(O - m).sum(axis=1, keepdims=True))


# Activations, and their derivatives written through the output Z = f(H).
ACTIVATIONS = {
    "identity": lambda H: H,
    "sigmoid": sigmoid,
    "tanh": np.tanh,
    "relu": lambda H: np.maximum(H, 0.0),
    "softmax": softmax,
}
DERIVATIVES = {
    "identity": lambda Z: np.ones_like(Z),
    "sigmoid": lambda Z: Z * (1.0 - Z),
    "tanh": lambda Z: 1.0 - Z * Z,
    "relu": lambda Z: (Z > 0).astype(Z.dtype),     # 0 at 0
}


# ---------------------------------------------------------------------------
# The seed network, step by step
# ---------------------------------------------------------------------------
def seed_value_and_grad(W1, W2, X, Y):
    """Loss and gradients of the seed network, following its derivation.

    X (N, 3), W1 (3, 4), W2 (4, 1), Y (N,) or (N, 1). Returns (L, dW1, dW2).
    """
    X = np.asarray(X, dtype=np.float64)
    Y = np.asarray(Y, dtype=np.float64).reshape(-1, 1)
    N = X.shape[0]
    # forward pass
    H = X @ W1                    # H = X W^(1)                 (N, 4)
    Z = sigmoid(H)                # Z = sigma(H)                (N, 4)
    O = Z @ W2                    # O = Z W^(2)                 (N, 1)
    yhat = sigmoid(O)             # yhat = sigma(O)             (N, 1)
    L = np.sum((Y - yhat) ** 2) / (2 * N)   # L = 1/(2N) sum_i (Y_i - yhat_i)^2

    # dL/dW^(2), section 1
    dL_dyhat = -(Y - yhat) / N    # step 1: dL/dyhat_i = -(1/N)(Y_i - yhat_i)
    dyhat_dO = yhat * (1 - yhat)  # step 2: dyhat_i/dO_i = yhat_i (1 - yhat_i)
    dL_dO = dL_dyhat * dyhat_dO   #         chain rule, (N, 1)
    dW2 = Z.T @ dL_dO             # step 3: dO_i/dW2_k1 = Z_ik; sum over i

    # dL/dW^(1), section 2 (steps 1-2 are dL_dO above)
    dO_dZ = W2.T                  # step 3: dO_i/dZ_il = W2_l1         (1, 4)
    dZ_dH = Z * (1 - Z)           # step 4: dZ_il/dH_il = Z_il (1 - Z_il)
    dL_dH = dL_dO * dO_dZ * dZ_dH #         (N, 4)
    dW1 = X.T @ dL_dH             # step 5: dH_il/dW1_kl = X_ik; sum over i
    return L, dW1, dW2


# ---------------------------------------------------------------------------
# Any MLP
# ---------------------------------------------------------------------------
def _layers(net, params):
    """[(W_l, b_l or None)] for l = 1..L, in float64."""
    params = [np.asarray(p, dtype=np.float64) for p in params]
    step = 2 if net.bias else 1
    return [(params[i], params[i + 1] if net.bias else None)
            for i in range(0, len(params), step)]


def forward(net, params, X):
    """All layer values: (A, O) with A = [A_0 = X, A_1, ..., A_{L-1}] the
    inputs of each dense layer and O = H_L the output pre-activation."""
    A = [np.asarray(X, dtype=np.float64)]
    layers = _layers(net, params)
    for l, (W, b) in enumerate(layers):
        H = A[-1] @ W + (b if b is not None else 0.0)
        if l == len(layers) - 1:
            return A, H
        A.append(ACTIVATIONS[net.activation](H))


def predict(net, params, X):
    """The network's output yhat, shape (N, K)."""
    _, O = forward(net, params, X)
    return ACTIVATIONS[net.output](O)


def _per_sample_loss(net, O, Y):
    """(l_i, dl_i/dO): the loss of each sample and its gradient, (N,), (N, K)."""
    loss = net.loss_name
    if loss == "bce":                           # sigmoid output
        l = ((1 - Y) * softplus(O) + Y * softplus(-O)).sum(axis=1)
        return l, sigmoid(O) - Y
    if loss == "ce":                            # softmax output
        p = softmax(O)
        l = -(Y * log_softmax(O)).sum(axis=1)
        return l, p * Y.sum(axis=1, keepdims=True) - Y
    yhat = ACTIVATIONS[net.output](O)           # mse
    r = yhat - Y
    l = 0.5 * (r * r).sum(axis=1)
    if net.output == "softmax":                 # dyhat/dO is the softmax Jacobian
        return l, yhat * (r - (r * yhat).sum(axis=1, keepdims=True))
    return l, r * DERIVATIVES[net.output](yhat)


def _targets(net, X, Y, sample_weight):
    X = np.asarray(X, dtype=np.float64)
    Y = np.asarray(Y, dtype=np.float64).reshape(X.shape[0], net.sizes[-1])
    w = (np.ones(X.shape[0]) if sample_weight is None
         else np.asarray(sample_weight, dtype=np.float64))
    return X, Y, w


def loss(net, params, X, Y, sample_weight=None):
    """The loss: sum_i w_i l_i / sum_i w_i (w_i = 1 without sample_weight)."""
    X, Y, w = _targets(net, X, Y, sample_weight)
    _, O = forward(net, params, X)
    l, _ = _per_sample_loss(net, O, Y)
    return float(np.dot(w, l) / w.sum())


def value_and_grad(net, params, X, Y, sample_weight=None):
    """The loss and its gradient for every parameter, by backpropagation.

    delta_L = w * dl/dO; for l = L..1:
        dW_l = A_{l-1}^T delta_l,  db_l = sum_i delta_l,
        delta_{l-1} = (delta_l W_l^T) * f'(A_{l-1});
    all divided by sum_i w_i.
    """
    X, Y, w = _targets(net, X, Y, sample_weight)
    A, O = forward(net, params, X)
    l, delta = _per_sample_loss(net, O, Y)
    delta = delta * w[:, None]
    grads = []
    layers = _layers(net, params)
    for i in range(len(layers) - 1, -1, -1):
        W, b = layers[i]
        if b is not None:
            grads.append(delta.sum(axis=0))
        grads.append(A[i].T @ delta)
        if i > 0:
            delta = (delta @ W.T) * DERIVATIVES[net.activation](A[i])
    grads.reverse()
    wsum = w.sum()
    return float(np.dot(w, l) / wsum), [g / wsum for g in grads]
