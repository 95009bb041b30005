"""Build and runtime configuration, for bug reports and benchmarks."""
import platform
import sys

import numpy as np

from tinynet import _dispatch
from tinynet._dispatch import kernels as _kernels
from tinynet._version import __version__

try:
    from tinynet._build_info import BUILD_INFO
except ImportError:      # built by a tool that skipped setup.py's build_ext
    BUILD_INFO = {}


def config():
    """The configuration as a dict (see :func:`show_config`)."""
    return {
        "tinynet": __version__,
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "platform": platform.platform(),
        "machine": platform.machine(),
        "compiler": BUILD_INFO.get("compiler"),
        "cflags": BUILD_INFO.get("cflags"),
        "debug_build": BUILD_INFO.get("debug"),
        "simd_variant": _dispatch.SIMD,
        # the seed network's loop: on AVX-512 or AVX2 intrinsics
        # (src_c/tn_seed512.h, tn_seed256.h), or the portable auto-vectorised one
        "seed_loop": _kernels.SEED_LOOP,
        "simd_built": sorted(_dispatch.available()),
        "cpu_level": f"x86-64-v{_dispatch._baseline.cpu_level()}"
                     if _dispatch._baseline.cpu_level() else "baseline",
        "openmp": _kernels.HAVE_OPENMP,
        "threads": _kernels.max_threads(),
    }


def show_config(file=None):
    """Print how tinynet was built and what it will use at run time:
    version, compiler flags, the SIMD variant chosen (and which loop the seed
    network runs: avx512, avx2 or portable), OpenMP, and the default number
    of threads."""
    for key, value in config().items():
        print(f"{key:>12}: {value}", file=file or sys.stdout)
