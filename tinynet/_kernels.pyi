from typing import Optional

import numpy as np
import numpy.typing as npt

ACTIVATIONS: dict[str, int]
LOSSES: dict[str, int]
HAVE_OPENMP: bool
PREDICT: int
LOSS: int
GRAD: int
STATUS_X_NONFINITE: int
STATUS_Y_NONFINITE: int
STATUS_NO_MEMORY: int

def max_threads() -> int: ...

class Kernel:
    n_params: int
    block: int
    def __init__(self, sizes: tuple[int, ...], act: int, out: int, loss: int,
                 bias: bool) -> None: ...
    def _run(self, theta: npt.NDArray[np.floating], X: npt.NDArray[np.floating],
             Y: Optional[npt.NDArray[np.floating]],
             sample_weight: Optional[npt.NDArray[np.floating]],
             grad: Optional[npt.NDArray[np.float64]],
             out: Optional[npt.NDArray[np.floating]], mode: int, n_threads: int,
             check_finite: bool) -> tuple[int, int, float, float]: ...
