"""Print a digest of tinynet's results on fixed problems, for comparing two
builds (OpenMP and serial) and thread counts: the digests must be equal."""
import hashlib
import sys

import numpy as np

import tinynet

h = hashlib.sha256()
for sizes, act, out, loss in [((3, 4, 1), "sigmoid", "sigmoid", "mse"),
                              ((8, 16, 3), "tanh", "softmax", "ce")]:
    for dtype in ("float64", "float32"):
        net = tinynet.MLP(sizes, act, out, loss, True, dtype)
        rng = np.random.default_rng(0)
        params = net.init(seed=1)
        X = rng.normal(size=(200_003, sizes[0]))
        Y = rng.random((200_003, sizes[-1]))
        for nt in (1, 2, 3, 8):
            loss_value, grads = net.value_and_grad(params, X, Y, n_threads=nt)
            d = hashlib.sha256(np.float64(loss_value).tobytes())
            for g in grads:
                d.update(g.tobytes())
            d.update(net.predict(params, X, n_threads=nt).tobytes())
            if nt == 1:
                first = d.hexdigest()
            elif d.hexdigest() != first:
                sys.exit(f"results differ between 1 and {nt} threads for {net}")
        h.update(first.encode())
print(tinynet._dispatch.SIMD, h.hexdigest())
