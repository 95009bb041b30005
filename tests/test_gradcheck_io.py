"""check_grad names the wrong weight; save/load round-trips and refuses
damaged files."""
import json
import zipfile

import numpy as np
import pytest

import tinynet

from helpers import make_problem


def test_check_grad_passes_on_tinynet_gradient():
    net = tinynet.MLP((3, 4, 2), "tanh", "softmax", "ce", True)
    params, X, Y = make_problem(0, net, 40)
    res = tinynet.check_grad(net, params, X, Y)
    assert res.ok and res.worst_rel < 1e-6
    assert len(res.rows) == net.n_params
    assert res.rows[0][0] == "W1[0, 0]" and res.rows[12][0] == "b1[0]"
    assert "W1[0, 0]" in str(res)


def test_check_grad_names_the_wrong_weight_of_a_user_gradient():
    net = tinynet.MLP()
    params, X, Y = make_problem(1, net, 30)
    _, g = net.value_and_grad(params, X, Y)
    wrong = [a.copy() for a in g]
    wrong[0][2, 3] *= 1.5                   # the student's slip
    res = tinynet.check_grad(net, params, X, Y, grad=wrong)
    assert not res.ok
    assert res.worst_rel_name == "W1[2, 3]" and res.worst_abs_name == "W1[2, 3]"
    assert res.worst_rel == pytest.approx(1 / 3, rel=1e-6)
    ok = tinynet.check_grad(net, params, X, Y, grad=lambda p, X, Y: net.value_and_grad(p, X, Y)[1])
    assert ok.ok and ok.worst_abs == 0


def test_check_grad_of_float32_net_uses_float64():
    net = tinynet.MLP(dtype="float32")
    params, X, Y = make_problem(2, net, 30)
    assert tinynet.check_grad(net, params, X, Y).worst_rel < 1e-6


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_save_load_round_trip(tmp_path, dtype):
    net = tinynet.MLP((5, 7, 3), "relu", "softmax", "ce", True, dtype)
    params = net.init(seed=4)
    path = tmp_path / "m.npz"
    tinynet.save(path, net, params, extra={"features": list("abcde")})
    net2, params2 = tinynet.load(path)
    assert net2 == net
    for a, b in zip(params, params2):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    assert tinynet.read_model(path).extra["features"] == list("abcde")


def _rewrite(src, dst, change):
    """Copy a model file, changing members with change(name, bytes) -> bytes or None."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            data = change(info.filename, zin.read(info.filename))
            if data is not None:
                zout.writestr(info.filename, data)


def _header_bytes(header):
    import io
    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.array(json.dumps(header)))
    return buf.getvalue()


def test_damaged_files_raise_value_error(tmp_path):
    net = tinynet.MLP(bias=True)
    good = tmp_path / "good.npz"
    tinynet.save(good, net, net.init(0))
    raw = good.read_bytes()
    cases = {"truncated": raw[: len(raw) // 2], "empty": b"", "text": b"hello world",
             "flipped": raw[:200] + bytes([raw[200] ^ 0xFF]) + raw[201:]}
    for name, data in cases.items():
        p = tmp_path / f"{name}.npz"
        p.write_bytes(data)
        with pytest.raises(ValueError, match="not a valid tinynet model file"):
            tinynet.load(p)
    header = json.loads(str(np.load(good)["header"]))

    def with_header(**changes):
        h = dict(header, **changes)
        return lambda name, data: _header_bytes(h) if name == "header.npy" else data
    bad_headers = [dict(format="other"), dict(version=99), dict(sizes=[3, 0, 1]),
                   dict(sizes=[3, 4, 2]), dict(sizes=[1 << 21, 1 << 21, 1]),
                   dict(activation="swish"), dict(dtype="int8"), dict(bias="yes"),
                   dict(loss="bce", output="softmax")]
    for i, changes in enumerate(bad_headers):
        p = tmp_path / f"h{i}.npz"
        _rewrite(good, p, with_header(**changes))
        with pytest.raises(ValueError, match="not a valid tinynet model file"):
            tinynet.load(p)
    # a missing array, an extra one, a pickled object array
    for i, change in enumerate([
            lambda n, d: None if n == "param1.npy" else d,
            lambda n, d: d]):
        p = tmp_path / f"m{i}.npz"
        _rewrite(good, p, change)
        if i == 1:
            with zipfile.ZipFile(p, "a") as z:
                z.writestr("param9.npy", z.read("param0.npy"))
        with pytest.raises(ValueError, match="expected arrays"):
            tinynet.load(p)
    p = tmp_path / "pickle.npz"
    np.savez(p, header=np.array(json.dumps(header)),
             param0=np.array([object()], dtype=object), param1=np.zeros(4),
             param2=np.zeros((4, 1)), param3=np.zeros(1))
    with pytest.raises(ValueError, match="not a valid tinynet model file"):
        tinynet.load(p)


def test_save_refuses_nonfinite_params(tmp_path):
    net = tinynet.MLP()
    p = net.init(0)
    p[0][0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        tinynet.save(tmp_path / "x.npz", net, p)
