"""Fuzzing the public API: valid inputs in every dtype and layout agree with
the reference; careless inputs raise TypeError/ValueError naming the
argument, and never crash (checked in a subprocess)."""
import os
import subprocess
import sys
import warnings

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tinynet import reference

from fuzz_cases import LAYOUTS, REAL_DTYPES, nets, relayout

from helpers import assert_close

N_EXAMPLES = int(os.environ.get("TINYNET_FUZZ_EXAMPLES", "300"))


@settings(max_examples=N_EXAMPLES, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(net=nets(), N=st.integers(1, 40), seed=st.integers(0, 2 ** 32 - 1),
       x_dtype=st.sampled_from(REAL_DTYPES), layouts=st.lists(st.sampled_from(LAYOUTS),
                                                              min_size=3, max_size=3),
       weighted=st.booleans())
def test_valid_inputs_match_the_reference(net, N, seed, x_dtype, layouts, weighted):
    rng = np.random.default_rng(seed)
    params = [p + 0.3 * rng.standard_normal(p.shape).astype(p.dtype) for p in net.init(seed)]
    X = (rng.normal(size=(N, net.sizes[0])) * 3)
    if x_dtype == "bool":
        X = X > 0
    elif x_dtype.startswith(("int", "uint")):
        X = np.abs(X).astype(x_dtype) if x_dtype.startswith("u") else X.astype(x_dtype)
    else:
        X = X.astype(x_dtype)
    Y = rng.random((N, net.sizes[-1]))
    w = rng.random(N) + 0.01 if weighted else None
    Xl, Yl = relayout(X, layouts[0]), relayout(Y, layouts[1])
    pl = [relayout(p, layouts[2]) for p in params]
    loss, grads = net.value_and_grad(pl, Xl, Yl, sample_weight=w)
    # the reference sees the values the net computes with (cast to its dtype)
    Xc = np.asarray(X).astype(net.dtype)
    ref_loss, ref_grads = reference.value_and_grad(
        net, [p.astype(net.dtype) for p in params], Xc, Y.astype(net.dtype), w)
    rtol = 1e-10 if net.dtype == np.float64 else 2e-4
    assert abs(loss - ref_loss) <= rtol * max(abs(ref_loss), 1e-12)
    scale = max(max(float(np.abs(g).max()) for g in ref_grads), 1e-12)
    for g, r in zip(grads, ref_grads):
        np.testing.assert_allclose(g, r, rtol=rtol, atol=rtol * scale)
    assert_close(net.predict(pl, Xl), reference.predict(net, params, Xc), rtol)


def test_careless_calls_never_crash(tmp_path):
    here = os.path.dirname(os.path.abspath(__file__))
    n = max(200, 4 * N_EXAMPLES)
    proc = subprocess.run([sys.executable, os.path.join(here, "fuzz_cases.py"), str(n)],
                          cwd=tmp_path, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, (proc.returncode, proc.stdout[-2000:], proc.stderr[-4000:])
    assert "every one returned or raised a clear error" in proc.stdout


@settings(max_examples=100, deadline=None, database=None)
@given(data=st.binary(max_size=3000), cut=st.integers(0, 5000), flips=st.lists(
    st.tuples(st.integers(0, 5000), st.integers(1, 255)), max_size=4))
def test_fuzzed_model_files_raise_value_error(tmp_path_factory, data, cut, flips):
    import tinynet
    d = tmp_path_factory.mktemp("models")
    good = d / "good.npz"
    net = tinynet.MLP((3, 4, 2), "tanh", "softmax", "ce", True)
    tinynet.save(good, net, net.init(0))
    raw = bytearray(good.read_bytes())
    for pos, x in flips:
        raw[pos % len(raw)] ^= x
    for i, blob in enumerate([bytes(raw), bytes(raw[:cut]), data]):
        p = d / f"m{i}.npz"
        p.write_bytes(blob)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                net2, params = tinynet.load(p)
            except ValueError as exc:
                assert "not a valid tinynet model file" in str(exc)
            else:     # flips that hit nothing that matters: a consistent model
                assert net2 == net and len(params) == len(net.param_shapes)
