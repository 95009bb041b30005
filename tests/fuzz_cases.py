"""Hypothesis strategies and properties shared by the fuzz tests.

Run directly (``python tests/fuzz_cases.py N``) it fuzzes the public API
with N careless calls and exits 0 only if every call returned or raised
TypeError/ValueError naming an argument: tests/test_fuzz.py runs it in a
subprocess so that a crash is reported as a failure, not a dead test run.
"""
import sys
import warnings

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tinynet

PAIRS = [("sigmoid", "mse"), ("identity", "mse"), ("softmax", "mse"),
         ("sigmoid", "bce"), ("softmax", "ce")]
ARG_NAMES = ("X", "Y", "params", "sample_weight", "n_threads", "theta")


@st.composite
def nets(draw):
    depth = draw(st.integers(1, 3))
    sizes = tuple(draw(st.lists(st.integers(1, 6), min_size=depth + 1, max_size=depth + 1)))
    output, loss = draw(st.sampled_from(PAIRS))
    return tinynet.MLP(sizes, draw(st.sampled_from(["sigmoid", "tanh", "relu", "identity"])),
                       output, loss, draw(st.booleans()),
                       draw(st.sampled_from(["float32", "float64"])))


def relayout(a, how):
    """The same values in another memory layout."""
    if how == "F":
        return np.asfortranarray(a)
    if how == "strided":
        big = np.zeros((a.shape[0] * 2,) + a.shape[1:], dtype=a.dtype)
        big[::2] = a
        return big[::2]
    if how == "reversed":
        return np.ascontiguousarray(a[::-1])[::-1]
    if how == "readonly":
        a = a.copy()
        a.setflags(write=False)
        return a
    if how == "list":
        return a.tolist()
    return a


LAYOUTS = ["C", "F", "strided", "reversed", "readonly", "list"]
REAL_DTYPES = ["bool", "int8", "uint16", "int32", "int64", "float16", "float32", "float64"]

JUNK = [None, 0, 1.5, True, "X", b"x", [], [[]], [[1, 2], [3]], {"a": 1}, object(),
        np.zeros(0), np.zeros((0, 3)), np.zeros((3, 0)), np.zeros((2, 2, 2)),
        np.zeros((2, 3), dtype=complex), np.zeros((2, 3), dtype=object),
        np.array([[None, 1, 2]], dtype=object), np.array([["a", "b", "c"]]),
        np.zeros((2, 3), dtype="M8[s]"), np.zeros((2, 3), dtype="m8[s]"),
        np.zeros(2, dtype=[("a", "f8")]), np.full((2, 3), np.nan), np.full((2, 3), -np.inf),
        np.full((2, 3), 1e300), np.full((2, 3), 5e-324), np.full((2, 3), -0.0),
        np.zeros((2, 3))[:, ::-1], np.zeros((2, 3), dtype=np.float16),
        np.arange(6, dtype=np.uint64).reshape(2, 3), float("nan"), 10 ** 30]


def check_error(exc):
    msg = str(exc)
    assert isinstance(exc, (TypeError, ValueError)), repr(exc)
    assert any(name in msg for name in ARG_NAMES), msg


@st.composite
def careless_calls(draw):
    net = draw(nets())
    N = draw(st.integers(1, 5))
    good_X = np.zeros((N, net.sizes[0]))
    good_Y = np.zeros((N, net.sizes[-1]))
    good_p = net.init(0)

    def pick(good):
        return draw(st.one_of(st.just(good), st.sampled_from(JUNK)))
    X, Y = pick(good_X), pick(good_Y)
    params = draw(st.one_of(st.just(good_p), st.sampled_from(JUNK),
                            st.just(good_p[:-1]), st.just(good_p + good_p[:1]),
                            st.just([p.T for p in good_p]),
                            st.lists(st.sampled_from(JUNK), max_size=4)))
    sw = draw(st.one_of(st.none(), st.sampled_from(JUNK), st.just(np.ones(N)),
                        st.just(-np.ones(N))))
    nt = draw(st.one_of(st.none(), st.sampled_from([1, 2, -1, 0, -5, 2.5, "2", True])))
    method = draw(st.sampled_from(["value_and_grad", "loss", "predict"]))
    return net, method, params, X, Y, sw, nt


def call(net, method, params, X, Y, sw, nt):
    if method == "predict":
        return net.predict(params, X, n_threads=nt)
    return getattr(net, method)(params, X, Y, sample_weight=sw, n_threads=nt)


def fuzz_careless(n_examples):
    @settings(max_examples=n_examples, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(careless_calls())
    def run(case):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                call(*case)
            except (TypeError, ValueError) as exc:
                check_error(exc)
    run()


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    fuzz_careless(n)
    print(f"fuzzed {n} careless calls: every one returned or raised a clear error")
