"""The scalar formulas of src_c/tn_math.h: accuracy against NumPy/long
double, saturation, special values, in every kernel variant built here."""
import numpy as np
import pytest

from tinynet import _dispatch

VARIANTS = sorted(_dispatch.available())
# the sigmoid names each variant has: the portable formula of tn_math.h, and
# where the variant is compiled for AVX-512 or AVX2, those of tn_math512.h
# and tn_math256.h
SIGMOIDS = [(v, "sigmoid") for v in VARIANTS] + [
    (v, "sigmoid512") for v in VARIANTS if _dispatch.available()[v].AVX512] + [
    (v, "sigmoid256") for v in VARIANTS if _dispatch.available()[v].AVX2]


def ulps(got, ref, dtype):
    ref = np.asarray(ref, dtype=np.longdouble)
    got = np.asarray(got, dtype=np.longdouble)
    tiny = np.finfo(dtype).tiny
    scale = np.maximum(np.abs(ref), tiny)
    return np.asarray(np.abs(got - ref) / scale / np.finfo(dtype).eps, dtype=float)


def apply(variant, name, x):
    out = np.empty_like(x)
    _dispatch.available()[variant]._formula(name, x, out)
    return out


@pytest.mark.parametrize("variant", VARIANTS)
def test_exp_accuracy_and_special_values(variant):
    x = np.concatenate([np.linspace(-745, 709.7, 200_001), np.linspace(-1, 1, 10_001)])
    with np.errstate(all="ignore"):
        ref = np.exp(x.astype(np.longdouble))
    got = apply(variant, "exp", x)
    normal = ref > np.finfo(np.float64).tiny
    assert ulps(got[normal], ref[normal], np.float64).max() < 2.5
    special = np.array([np.inf, -np.inf, np.nan, 710.0, 1e300, -746.0, -1e300, 0.0, -0.0])
    got = apply(variant, "exp", special)
    assert got[0] == np.inf and got[1] == 0 and np.isnan(got[2])
    assert got[3] == np.inf and got[4] == np.inf and got[5] == 0 and got[6] == 0
    assert got[7] == 1 and got[8] == 1
    # subnormal results are produced, not flushed
    assert 0 < apply(variant, "exp", np.array([-740.0]))[0] < np.finfo(np.float64).tiny


@pytest.mark.parametrize("variant,name", SIGMOIDS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_sigmoid_accuracy(variant, name, dtype):
    lim = 745 if dtype == np.float64 else 104
    x = np.concatenate([np.linspace(-lim, lim, 200_003), np.geomspace(1e-12, 1, 1000),
                        -np.geomspace(1e-12, 1, 1000), [0.0, -0.0]]).astype(dtype)
    # odd lengths, so that the AVX-512 loop's masked tail is exercised
    x = x[: len(x) - len(x) % 16 + 7]
    with np.errstate(all="ignore"):
        ref = 1 / (1 + np.exp(-x.astype(np.longdouble)))
    got = apply(variant, name, x)
    keep = ref > np.finfo(dtype).tiny
    assert ulps(got[keep], ref[keep], dtype).max() < 3
    # below the normal range: subnormal results (not flushed to zero), within
    # two subnormal steps (the value is rounded once before its final scaling)
    tiny = ~keep
    assert tiny.any() and (got[tiny][ref[tiny] > np.finfo(dtype).smallest_subnormal] > 0).all()
    np.testing.assert_allclose(got[tiny].astype(np.longdouble), ref[tiny], rtol=0,
                               atol=2 * float(np.finfo(dtype).smallest_subnormal))


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("dtype,max_ulp", [(np.float64, 6), (np.float32, 6)])
def test_sigmoid_tanh_accuracy(variant, dtype, max_ulp):
    lim = 700 if dtype == np.float64 else 80
    x = np.concatenate([np.linspace(-lim, lim, 100_001), np.geomspace(1e-12, 1, 1000),
                        -np.geomspace(1e-12, 1, 1000)]).astype(dtype)
    xl = x.astype(np.longdouble)
    with np.errstate(all="ignore"):
        sig_ref = 1 / (1 + np.exp(-xl))
        tanh_ref = np.tanh(xl)
    sig = apply(variant, "sigmoid", x)
    keep = sig_ref > np.finfo(dtype).tiny
    assert ulps(sig[keep], sig_ref[keep], dtype).max() < max_ulp
    th = apply(variant, "tanh", x)
    keep = np.abs(tanh_ref) > np.finfo(dtype).tiny
    assert ulps(th[keep], tanh_ref[keep], dtype).max() < max_ulp


@pytest.mark.parametrize("variant,name", SIGMOIDS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_saturation_is_exact(variant, name, dtype):
    big = np.array([1e3, 1e2, 50.0, np.inf], dtype=dtype)
    assert (apply(variant, name, big) == 1).all()
    assert (apply(variant, name, -big[[0, 3]]) == 0).all()
    # sigmoid(-100) = 3.7e-44 is representable (subnormal in float32): kept, not flushed
    np.testing.assert_allclose(apply(variant, name, -big[[1]]), np.exp(-100.0),
                               rtol=1e-14, atol=3e-45 if dtype == np.float32 else 0)
    nans = apply(variant, name, np.array([np.nan, 1.0, -np.nan], dtype=dtype))
    assert np.isnan(nans[[0, 2]]).all() and not np.isnan(nans[1])
    assert apply(variant, name, np.array([0.0, -0.0], dtype=dtype)).tolist() == [0.5, 0.5]


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_tanh_saturation_is_exact(variant, dtype):
    big = np.array([1e3, 1e2, 50.0, np.inf], dtype=dtype)
    assert (apply(variant, "tanh", big) == 1).all()
    assert (apply(variant, "tanh", -big) == -1).all()
    assert np.isnan(apply(variant, "sigmoid", np.array([np.nan], dtype=dtype))).all()


@pytest.mark.parametrize("variant", VARIANTS)
def test_bce_from_logit_is_finite_and_accurate(variant):
    o = np.array([-1e3, -40.0, -1.0, 0.0, 1.0, 40.0, 1e3])
    ol = o.astype(np.longdouble)
    ref1 = np.log1p(np.exp(-ol))         # -log sigmoid(o)
    ref0 = np.log1p(np.exp(ol))          # -log(1 - sigmoid(o))
    got1 = apply(variant, "bce1", o)
    got0 = apply(variant, "bce0", o)
    assert np.isfinite(got1).all() and np.isfinite(got0).all()
    assert ulps(got1[ref1 > 0], ref1[ref1 > 0], np.float64).max() < 4
    assert ulps(got0[ref0 > 0], ref0[ref0 > 0], np.float64).max() < 4
