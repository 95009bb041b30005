# Stub of the kernel module (tinynet/_kernels.pyx and its variants
# _kernels_v3 / _kernels_v4, which share tinynet/_kernel_body.pxi).
from typing import Optional, Sequence

import numpy as np
import numpy.typing as npt

ACTIVATIONS: dict[str, int]
LOSSES: dict[str, int]
HAVE_OPENMP: bool
SIMD: str
AVX512: bool     # the AVX-512 formulas and seed loop (src_c/tn_math512.h) are built in
AVX2: bool       # the AVX2 formulas (src_c/tn_math256.h) are built in
SEED_LOOP: str   # the seed network's loop: "avx512", "avx2" or "portable"
PREDICT: int
LOSS: int
GRAD: int
STATUS_X_NONFINITE: int
STATUS_Y_NONFINITE: int
STATUS_NO_MEMORY: int
STATUS_PARAMS_NONFINITE: int

def max_threads() -> int: ...
def cpu_level() -> int: ...
def _formula(name: str, x: npt.NDArray[np.floating], out: npt.NDArray[np.floating]) -> None: ...

_Result = tuple[int, int, float, float]

class Kernel:
    n_params: int
    block: int
    def __init__(self, sizes: Sequence[int], act: int, out: int, loss: int,
                 bias: bool) -> None: ...
    def run_float64(self, theta: npt.NDArray[np.float64], X: npt.NDArray[np.float64],
                    Y: Optional[npt.NDArray[np.float64]],
                    sample_weight: Optional[npt.NDArray[np.float64]],
                    grad: Optional[npt.NDArray[np.float64]],
                    out: Optional[npt.NDArray[np.float64]], mode: int, n_threads: int,
                    check_finite: bool, normalize: bool) -> _Result: ...
    def run_float32(self, theta: npt.NDArray[np.float32], X: npt.NDArray[np.float32],
                    Y: Optional[npt.NDArray[np.float32]],
                    sample_weight: Optional[npt.NDArray[np.float32]],
                    grad: Optional[npt.NDArray[np.float32]],
                    out: Optional[npt.NDArray[np.float32]], mode: int, n_threads: int,
                    check_finite: bool, normalize: bool) -> _Result: ...
    def fast_float64(self, mode: int, params: object, X: object, Y: object,
                     sample_weight: object, check_finite: bool, n_threads: int,
                     out: object = None) -> object: ...
    def fast_float32(self, mode: int, params: object, X: object, Y: object,
                     sample_weight: object, check_finite: bool, n_threads: int,
                     out: object = None) -> object: ...
