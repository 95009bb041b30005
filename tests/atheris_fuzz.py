"""Coverage-guided fuzzing of the public API with atheris.

    pip install atheris
    python tests/atheris_fuzz.py -max_total_time=60        # what CI runs
    python tests/atheris_fuzz.py -max_total_time=3600 -jobs=2

Each input is decoded into an architecture, arrays of assorted dtypes,
shapes, layouts and values, and a call of predict / loss / value_and_grad /
save+load / check_grad. Any outcome other than a result or a
TypeError/ValueError naming an argument (a crash, another exception) stops
the run with the input that caused it.
"""
import os
import sys
import tempfile
import warnings

import atheris

with atheris.instrument_imports():
    import numpy as np
    import tinynet

ACTS = ["sigmoid", "tanh", "relu", "identity"]
PAIRS = [("sigmoid", "mse"), ("identity", "mse"), ("softmax", "mse"),
         ("sigmoid", "bce"), ("softmax", "ce")]
DTYPES = [np.float64, np.float32, np.float16, np.int32, np.uint8, np.bool_,
          np.complex128, object, "U3", "M8[s]"]
VALUES = [0.0, -0.0, 1.0, -1.0, 1e300, -1e300, 5e-324, np.nan, np.inf, -np.inf, 3.5]
NAMES = ("X", "Y", "params", "sample_weight", "n_threads", "theta", "net",
         "not a valid tinynet model file")
TMP = tempfile.mkdtemp()


def array(fdp, shape):
    kind = fdp.ConsumeIntInRange(0, 5)
    if kind == 0:                                   # a list, maybe ragged
        return [[fdp.ConsumeFloat() for _ in range(fdp.ConsumeIntInRange(0, 3))]
                for _ in range(fdp.ConsumeIntInRange(0, 3))]
    if kind == 1:
        return fdp.PickValueInList([None, 0, "X", 1.5, [], object()])
    shape = tuple(max(0, s + fdp.ConsumeIntInRange(-1, 1)) if fdp.ConsumeBool() else s
                  for s in shape)
    vals = [fdp.PickValueInList(VALUES) if fdp.ConsumeBool() else fdp.ConsumeFloat()
            for _ in range(int(np.prod(shape)) if shape else 1)]
    a = np.array(vals, dtype=np.float64).reshape(shape) if shape else np.array(vals[0])
    dtype = fdp.PickValueInList(DTYPES)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            a = a.astype(dtype)
        except (TypeError, ValueError):
            pass
    layout = fdp.ConsumeIntInRange(0, 3)
    if layout == 1 and a.ndim == 2:
        a = np.asfortranarray(a)
    elif layout == 2 and a.ndim >= 1:
        a = a[::-1]
    elif layout == 3:
        a.setflags(write=False)
    return a


def one_input(data):
    fdp = atheris.FuzzedDataProvider(data)
    depth = fdp.ConsumeIntInRange(1, 3)
    sizes = [fdp.ConsumeIntInRange(1, 5) for _ in range(depth + 1)]
    output, loss = fdp.PickValueInList(PAIRS)
    net = tinynet.MLP(sizes, fdp.PickValueInList(ACTS), output, loss, fdp.ConsumeBool(),
                      fdp.PickValueInList(["float32", "float64"]))
    N = fdp.ConsumeIntInRange(0, 6)
    params = [array(fdp, s) if fdp.ConsumeIntInRange(0, 4) == 0 else p
              for s, p in zip(net.param_shapes, net.init(0))]
    if fdp.ConsumeIntInRange(0, 8) == 0:
        params = params[:-1]
    X = array(fdp, (N, sizes[0]))
    Y = array(fdp, (N, sizes[-1]))
    sw = None if fdp.ConsumeBool() else array(fdp, (N,))
    nt = fdp.PickValueInList([None, 1, 2, 8, -1, 0])
    what = fdp.ConsumeIntInRange(0, 4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            if what == 0:
                net.predict(params, X, n_threads=nt)
            elif what == 1:
                net.loss(params, X, Y, sample_weight=sw, n_threads=nt)
            elif what == 2:
                net.value_and_grad(params, X, Y, sample_weight=sw, n_threads=nt,
                                   check_finite=fdp.ConsumeBool())
            elif what == 3:
                path = os.path.join(TMP, "m.npz")
                tinynet.save(path, net, params)
                raw = bytearray(open(path, "rb").read())
                for _ in range(fdp.ConsumeIntInRange(0, 3)):
                    raw[fdp.ConsumeIntInRange(0, len(raw) - 1)] = fdp.ConsumeIntInRange(0, 255)
                open(path, "wb").write(bytes(raw[:fdp.ConsumeIntInRange(0, len(raw))]))
                tinynet.load(path)
            else:
                tinynet.check_grad(net, params, X, Y, max_entries=8)
        except (TypeError, ValueError) as exc:
            if not any(n in str(exc) for n in NAMES):
                raise AssertionError(f"error names no argument: {exc!r}") from exc


if __name__ == "__main__":
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()
