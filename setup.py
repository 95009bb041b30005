"""Build of tinynet's Cython kernels.

Everything declarative lives in pyproject.toml; this file only says what
setuptools cannot: the extension list and compiler flags chosen per compiler.

Environment switches
--------------------
TINYNET_OPENMP = auto (default) | 1 | 0
    auto probes the compiler for OpenMP and falls back to a serial build with
    a warning; 1 requires OpenMP (the build fails without it); 0 builds serial.
TINYNET_DEBUG = 1
    Cython bounds, wraparound and initialisation checks on, -O0 -g.
TINYNET_NATIVE = 1
    add -march=native (local builds only: such a build may crash elsewhere).
TINYNET_SANITIZE = address,undefined
    compile and link with -fsanitize=... (for the sanitizer test run).
TINYNET_SIMD_VARIANTS = 0
    build only the baseline kernel (no x86-64-v3/v4 variants).
"""
import glob
import os
import sys
import tempfile
import textwrap

from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = os.path.dirname(os.path.abspath(__file__))
# The kernel module, and the same code compiled for wider x86-64 levels
# (loaded at run time by tinynet/_dispatch.py when the CPU has them).
MODULES = ["tinynet._kernels"]
VARIANTS = {"tinynet._kernels_v3": "-march=x86-64-v3",
            "tinynet._kernels_v4": "-march=x86-64-v4"}


def _env(name, default=""):
    return os.environ.get(name, default).strip().lower()


def _try_compile(compiler, cflags, ldflags, source):
    """True if `source` compiles and links with the given flags."""
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "probe.c")
        with open(src, "w") as f:
            f.write(textwrap.dedent(source))
        try:
            objs = compiler.compile([src], output_dir=tmp, extra_postargs=cflags)
            compiler.link_executable(objs, os.path.join(tmp, "probe"),
                                     extra_postargs=ldflags)
        except Exception:
            return False
    return True


OPENMP_PROBE = """
#include <omp.h>
int main(void) {
    int n = 0;
    #pragma omp parallel reduction(+:n)
    n += 1;
    return n > 0 ? 0 : 1;
}
"""

SIMD_PROBE = """
int main(void) {
    double a[8] = {0}, s = 0;
    #pragma omp simd reduction(+:s)
    for (int i = 0; i < 8; i++) s += a[i];
    return (int)s;
}
"""


class BuildExt(build_ext):
    """Chooses flags by compiler type ("unix": gcc/clang, "msvc")."""

    def finalize_options(self):
        super().finalize_options()
        if self.parallel is None:           # the variants compile side by side
            self.parallel = os.cpu_count() or 1

    def build_extensions(self):
        ctype = self.compiler.compiler_type
        mode = _env("TINYNET_OPENMP", "auto")
        debug = _env("TINYNET_DEBUG") in ("1", "true", "yes")
        cflags, ldflags, macros = [], [], []
        openmp = False
        if ctype == "msvc":
            cflags += ["/Od", "/Zi"] if debug else ["/O2"]
            candidates = [(["/openmp"], [])]
        else:
            cflags += ["-O0", "-g"] if debug else ["-O3", "-g0"]
            # no errno from libm, no trapping FP: lets loops over exp/log vectorise
            cflags += ["-fno-math-errno", "-fno-trapping-math", "-Wno-psabi"]
            if sys.platform == "darwin":
                candidates = [(["-Xpreprocessor", "-fopenmp"], ["-lomp"]),
                              (["-fopenmp"], ["-fopenmp"])]
            else:
                candidates = [(["-fopenmp"], ["-fopenmp"])]
            if _env("TINYNET_NATIVE") in ("1", "true", "yes"):
                cflags.append("-march=native")
            san = _env("TINYNET_SANITIZE")
            if san:
                cflags += ["-O1", "-g", "-fsanitize=" + san, "-fno-sanitize-recover=all",
                           "-fno-omit-frame-pointer"]
                ldflags += ["-fsanitize=" + san]
        if mode not in ("0", "off", "false", "no"):
            for c, l in candidates:
                if _try_compile(self.compiler, c, l, OPENMP_PROBE):
                    cflags += c
                    ldflags += l
                    openmp = True
                    break
            if not openmp:
                if mode in ("1", "on", "true", "yes"):
                    raise RuntimeError("TINYNET_OPENMP=1 but the compiler has no OpenMP")
                print("*" * 72 + "\nWARNING: no OpenMP found; tinynet is built "
                      "single-threaded.\n" + "*" * 72, file=sys.stderr)
        if ctype != "msvc":
            if openmp or _try_compile(self.compiler, ["-fopenmp-simd"], [], SIMD_PROBE):
                if not openmp:
                    cflags.append("-fopenmp-simd")
                macros.append(("TN_HAVE_OMP_SIMD", "1"))
        variants = []
        if ctype != "msvc" and _env("TINYNET_SIMD_VARIANTS", "1") not in ("0", "off", "no"):
            for name, flag in VARIANTS.items():
                if _try_compile(self.compiler, [flag], [], SIMD_PROBE):
                    variants.append(name)
        self.extensions = [e for e in self.extensions
                           if e.name not in VARIANTS or e.name in variants]
        build_info = {"compiler": ctype, "cflags": cflags, "ldflags": ldflags,
                      "openmp": openmp, "debug": debug, "variants": variants}
        for ext in self.extensions:
            ext.extra_compile_args = cflags + ext.extra_compile_args
            ext.extra_link_args = ldflags + ext.extra_link_args
            ext.define_macros = macros + ext.define_macros
        self._write_build_info(build_info)
        super().build_extensions()

    def _write_build_info(self, info):
        # recorded in the package so that tinynet.show_config() can report it
        target = os.path.join(self.build_lib, "tinynet", "_build_info.py")
        if self.inplace:
            target = os.path.join(HERE, "tinynet", "_build_info.py")
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "w") as f:
            f.write('"""Written by setup.py at build time."""\n')
            f.write("BUILD_INFO = %r\n" % (info,))


def extensions():
    debug = _env("TINYNET_DEBUG") in ("1", "true", "yes")
    # every module includes the same headers: an edit to any rebuilds all
    headers = sorted(glob.glob("src_c/*.h") + glob.glob("tinynet/*.pxd")
                     + glob.glob("tinynet/*.pxi"))
    # the fast path reads ndarrays through the NumPy C API (built against
    # NumPy 2, the modules also run on NumPy 1.23 and later)
    import numpy
    exts = [Extension(name, [name.replace(".", "/") + ".pyx"],
                      include_dirs=["src_c", numpy.get_include()], depends=headers,
                      define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
                      extra_compile_args=[VARIANTS.get(name)] if name in VARIANTS else [])
            for name in MODULES + list(VARIANTS)]
    directives = {
        "language_level": 3,
        "boundscheck": debug,
        "wraparound": debug,
        "initializedcheck": debug,
        "cdivision": True,
        "embedsignature": True,
    }
    return cythonize(exts, compiler_directives=directives)


setup(ext_modules=extensions(), cmdclass={"build_ext": BuildExt})
