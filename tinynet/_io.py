"""Saving and loading models: one portable .npz file, never unpickled.

Layout: a zip archive (NumPy's .npz) with ``header.npy``, a 0-d unicode
array holding JSON, and ``param0.npy``, ``param1.npy``, ... holding W1, [b1],
W2, ... The header records the format and its version, the architecture,
the dtype, and an optional ``extra`` dict (the command line keeps feature
names and scaling there).
"""
import io
import json
import os
import zipfile

import numpy as np

from tinynet._mlp import MLP

FORMAT = "tinynet-model"
VERSION = 1
MAX_WIDTH = 1 << 20          # a declared layer width above this is refused
MAX_PARAMS = 1 << 31         # so is a model of more parameters
MAX_HEADER = 1 << 20         # bytes of JSON header


class Model:
    """What a model file holds: ``net``, ``params`` and ``extra``."""

    def __init__(self, net, params, extra=None):
        self.net, self.params, self.extra = net, params, dict(extra or {})

    def __iter__(self):
        return iter((self.net, self.params))


def save(path, net, params, *, extra=None):
    """Write `net` and `params` to one .npz file at `path` (exactly that path).

    Parameters
    ----------
    path : str or os.PathLike
    net : MLP
    params : list of array_like
        W1, [b1], W2, ... (checked against the net, stored in its dtype).
    extra : dict, optional
        JSON-serialisable data stored in the header (e.g. feature names).
    """
    if not isinstance(net, MLP):
        raise TypeError(f"net must be a tinynet.MLP; got {type(net).__name__}")
    params = net.unflatten(net.flatten(params))
    if not all(np.isfinite(p).all() for p in params):
        raise ValueError("params contain NaN or infinity: nothing saved")
    header = {"format": FORMAT, "version": VERSION, "sizes": list(net.sizes),
              "activation": net.activation, "output": net.output,
              "loss": net.loss_name, "bias": net.bias, "dtype": net.dtype.name,
              "n_params": net.n_params, "params": list(net.param_names),
              "extra": extra or {}}
    text = json.dumps(header)
    arrays = {"header": np.array(text)}
    arrays.update({f"param{i}": p for i, p in enumerate(params)})
    with open(os.fspath(path), "wb") as f:
        np.savez(f, **arrays)
    return path


def _fail(path, why):
    raise ValueError(f"{os.fspath(path)}: not a valid tinynet model file: {why}")


def read_model(path):
    """Read and validate a model file; returns a :class:`Model`.

    Raises ValueError for anything that is not a complete, consistent model
    file of a format version this tinynet reads: truncated or corrupted
    archives, bad headers, missing, extra or mis-shaped arrays, non-finite
    values. Loading never unpickles and never allocates more than the file's
    declared architecture needs."""
    try:
        zf = zipfile.ZipFile(os.fspath(path))
    except (FileNotFoundError, IsADirectoryError, PermissionError):
        raise
    except Exception as exc:   # BadZipFile, but damaged headers raise many kinds
        _fail(path, f"not an .npz archive ({type(exc).__name__}: {exc})")
    with zf:
        try:
            infos = {i.filename: i for i in zf.infolist()}
        except Exception as exc:           # pragma: no cover - defensive
            _fail(path, f"unreadable archive ({exc})")
        if "header.npy" not in infos:
            _fail(path, "no header")
        if infos["header.npy"].file_size > MAX_HEADER:
            _fail(path, "header too large")
        header = _read_header(path, _read_array(path, zf, "header.npy"))
        net = MLP(header["sizes"], header["activation"], header["output"],
                  header["loss"], header["bias"], header["dtype"])
        expected = {f"param{i}.npy" for i in range(len(net.param_shapes))}
        if set(infos) != expected | {"header.npy"}:
            _fail(path, f"expected arrays {sorted(expected)}, found "
                        f"{sorted(set(infos) - {'header.npy'})}")
        params = []
        for i, (shape, name) in enumerate(zip(net.param_shapes, net.param_names)):
            member = f"param{i}.npy"
            nbytes = int(np.prod(shape)) * net.dtype.itemsize
            if infos[member].file_size > nbytes + 4096:
                _fail(path, f"{name} is larger than its declared shape {shape}")
            a = _read_array(path, zf, member)
            if a.shape != shape or a.dtype != net.dtype:
                _fail(path, f"{name} has shape {a.shape} and dtype {a.dtype}; "
                            f"expected {shape} and {net.dtype}")
            if not np.isfinite(a).all():
                _fail(path, f"{name} contains NaN or infinity")
            params.append(a)
    return Model(net, params, header.get("extra"))


def _read_array(path, zf, member):
    try:
        with zf.open(member) as f:
            data = f.read()
        return np.lib.format.read_array(io.BytesIO(data), allow_pickle=False)
    except ValueError as exc:
        _fail(path, f"{member}: {exc}")
    except Exception as exc:     # zlib/zip/CRC/format errors of a damaged file
        _fail(path, f"{member} is damaged ({type(exc).__name__}: {exc})")


def _read_header(path, arr):
    if arr.dtype.kind != "U" or arr.shape != ():
        _fail(path, "the header is not a text record")
    try:
        h = json.loads(str(arr))
    except json.JSONDecodeError as exc:
        _fail(path, f"the header is not JSON ({exc})")
    if not isinstance(h, dict) or h.get("format") != FORMAT:
        _fail(path, f"format is not {FORMAT!r}")
    v = h.get("version")
    if not isinstance(v, int) or isinstance(v, bool) or v < 1:
        _fail(path, "bad format version")
    if v > VERSION:
        _fail(path, f"format version {v} is newer than this tinynet reads ({VERSION}); "
                    f"upgrade tinynet")
    sizes = h.get("sizes")
    if (not isinstance(sizes, list) or len(sizes) < 2 or len(sizes) > 64
            or not all(isinstance(s, int) and not isinstance(s, bool) and 1 <= s <= MAX_WIDTH
                       for s in sizes)):
        _fail(path, f"bad sizes {sizes!r}")
    if sum(a * b + b for a, b in zip(sizes, sizes[1:])) > MAX_PARAMS:
        _fail(path, "the declared architecture is too large")
    for key in ("activation", "output", "loss", "dtype"):
        if not isinstance(h.get(key), str):
            _fail(path, f"bad {key} {h.get(key)!r}")
    if not isinstance(h.get("bias"), bool):
        _fail(path, f"bad bias {h.get('bias')!r}")
    if not isinstance(h.get("extra", {}), dict):
        _fail(path, "bad extra")
    try:
        MLP(sizes, h["activation"], h["output"], h["loss"], h["bias"], h["dtype"])
    except (TypeError, ValueError) as exc:
        _fail(path, str(exc))
    return h


def load(path):
    """Read a model file written by :func:`save`.

    Returns
    -------
    net : MLP
    params : list of ndarray

    Raises ValueError (naming the file and the problem) for a truncated,
    corrupted or inconsistent file; never unpickles."""
    m = read_model(path)
    return m.net, m.params


