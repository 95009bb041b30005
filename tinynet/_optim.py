"""Update rules of the optimisers, each a vectorised NumPy step on the flat
parameter vector (one pass over n_params, never a loop over samples)."""
import math

import numpy as np


class GD:
    """Plain gradient descent: theta -= lr * g (the seed's setting)."""
    name = "gd"

    def __init__(self, n):
        pass

    def step(self, theta, g, lr):
        theta -= lr * g


class SGD:
    """Momentum: v = mu v - lr g; theta += v.  Nesterov: theta += mu v - lr g."""
    name = "sgd"

    def __init__(self, n, momentum=0.9, nesterov=False):
        self.mu = momentum
        self.nesterov = nesterov
        self.v = np.zeros(n)

    def step(self, theta, g, lr):
        self.v *= self.mu
        self.v -= lr * g
        if self.nesterov:
            theta += self.mu * self.v - lr * g
        else:
            theta += self.v


class Adam:
    """Adam (Kingma & Ba): bias-corrected first and second moment estimates."""
    name = "adam"

    def __init__(self, n, beta1=0.9, beta2=0.999, eps=1e-8):
        self.b1, self.b2, self.eps = beta1, beta2, eps
        self.m = np.zeros(n)
        self.v = np.zeros(n)
        self.t = 0

    def step(self, theta, g, lr):
        self.t += 1
        self.m *= self.b1
        self.m += (1 - self.b1) * g
        self.v *= self.b2
        self.v += (1 - self.b2) * (g * g)
        a = lr * math.sqrt(1 - self.b2 ** self.t) / (1 - self.b1 ** self.t)
        theta -= a * self.m / (np.sqrt(self.v) + self.eps)


OPTIMIZERS = {"gd": GD, "sgd": SGD, "adam": Adam}
DEFAULT_LR = {"gd": 0.5, "sgd": 0.05, "adam": 0.01, "lbfgs": None}


def schedule(name, lr, epoch, epochs, power_t=0.5):
    """The learning rate of `epoch` (0-based) under a schedule:
    constant: lr;  invscaling: lr / (epoch + 1) ** power_t;
    cosine: lr * (1 + cos(pi * epoch / epochs)) / 2."""
    if name == "constant":
        return lr
    if name == "invscaling":
        return lr / (epoch + 1) ** power_t
    if name == "cosine":
        return lr * 0.5 * (1 + math.cos(math.pi * epoch / max(epochs, 1)))
    raise ValueError(f"schedule must be 'constant', 'invscaling' or 'cosine'; got {name!r}")
