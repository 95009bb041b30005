"""Results are bit-identical for any number of threads, and the GIL is
released so that Python threads calling at once get the serial results."""
import threading

import numpy as np
import pytest

import tinynet

from helpers import make_problem


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("sizes,N", [((3, 4, 1), 100_003), ((6, 16, 8, 3), 100_003),
                                     # work enough in a few hundred samples for
                                     # a chunk: 2001 samples make several
                                     ((200, 64, 10), 2_001)])
def test_bit_identical_across_thread_counts(sizes, N, dtype):
    net = tinynet.MLP(sizes, "sigmoid", "softmax" if sizes[-1] > 1 else "sigmoid",
                      "ce" if sizes[-1] > 1 else "mse", True, dtype)
    params, X, Y = make_problem(0, net, N)
    w = np.random.default_rng(1).random(len(X))
    ref = net.value_and_grad(params, X, Y, sample_weight=w, n_threads=1)
    ref_pred = net.predict(params, X, n_threads=1)
    for nt in (2, 3, 8):
        loss, grads = net.value_and_grad(params, X, Y, sample_weight=w, n_threads=nt)
        assert loss == ref[0]
        for g, r in zip(grads, ref[1]):
            np.testing.assert_array_equal(g, r)
        np.testing.assert_array_equal(net.predict(params, X, n_threads=nt), ref_pred)


def test_concurrent_python_threads_match_serial():
    net = tinynet.MLP((5, 12, 2), "tanh", "softmax", "ce", True)
    problems = [make_problem(s, net, 30_000) for s in range(8)]
    expected = [net.value_and_grad(*p) for p in problems]
    got = [None] * 8

    def work(i):
        for _ in range(3):
            got[i] = net.value_and_grad(*problems[i])

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for (l1, g1), (l2, g2) in zip(got, expected):
        assert l1 == l2
        for a, b in zip(g1, g2):
            np.testing.assert_array_equal(a, b)
