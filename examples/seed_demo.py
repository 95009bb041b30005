"""Train the seed network (3-4-1, sigmoid, mse) by plain gradient descent
and watch the loss fall. Run: python examples/seed_demo.py"""
import numpy as np

import tinynet

rng = np.random.default_rng(0)
X = rng.normal(size=(500, 3))
Y = (X @ np.array([1.5, -2.0, 0.5]) > 0).astype(float)   # a separable target

net = tinynet.MLP()                      # the seed network
params = net.init(seed=0)
for epoch in range(2001):
    loss, grads = net.value_and_grad(params, X, Y)
    params = [p - 2.0 * g for p, g in zip(params, grads)]
    if epoch % 400 == 0:
        print(f"epoch {epoch:5d}  loss {loss:.5f}")
accuracy = np.mean((net.predict(params, X)[:, 0] > 0.5) == Y)
print(f"training accuracy {accuracy:.3f}")
