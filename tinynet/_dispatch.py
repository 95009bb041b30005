"""Run-time choice of the kernel variant.

The kernel is compiled for the platform's baseline and, on x86-64, also for
x86-64-v3 (AVX2 + FMA) and x86-64-v4 (AVX-512). At import, the widest variant
that was built and that this CPU runs is chosen. The environment variable
TINYNET_SIMD = baseline | x86-64-v3 | x86-64-v4 asks for one (falling back,
with a warning, to the widest usable one below it).
"""
import importlib
import os
import warnings

from tinynet import _kernels as _baseline

# (name, module, x86-64 level it needs), widest first
_VARIANTS = (("x86-64-v4", "tinynet._kernels_v4", 4),
             ("x86-64-v3", "tinynet._kernels_v3", 3),
             ("baseline", "tinynet._kernels", 0))


def available():
    """{name: module} of the variants built and usable on this CPU."""
    level = _baseline.cpu_level()
    found = {}
    for name, modname, need in _VARIANTS:
        if need > level:
            continue
        try:
            found[name] = importlib.import_module(modname)
        except ImportError:
            continue
    return found


def select(request=None):
    """(name, module) of the variant to use; `request` as TINYNET_SIMD."""
    usable = available()
    request = (request or os.environ.get("TINYNET_SIMD", "auto")).strip().lower()
    names = [n for n, _, _ in _VARIANTS]
    if request in ("", "auto"):
        start = 0
    elif request in names:
        start = names.index(request)
    else:
        raise ValueError(f"TINYNET_SIMD must be one of auto, {', '.join(names)}; "
                         f"got {request!r}")
    for name in names[start:]:
        if name in usable:
            if start and name != names[start]:
                warnings.warn(f"TINYNET_SIMD={request}: not usable here; using {name}",
                              RuntimeWarning, stacklevel=2)
            return name, usable[name]
    return "baseline", _baseline


SIMD, kernels = select()
