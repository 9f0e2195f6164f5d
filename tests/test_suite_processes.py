"""How the test processes themselves compute: one BLAS thread each (tests/conftest.py).

`make test` runs one worker per core. Measured before: each worker's NumPy started OpenBLAS with a
thread per core, and the extra thread spun on a core another worker needed (lesson 09's re-run:
16 s of CPU for 8 s of wall time; with one thread, 8 s of CPU).
"""

from __future__ import annotations

import ctypes
import os

import numpy as np
import pytest


def _openblas_threads() -> int | None:
    """The number of threads the OpenBLAS that NumPy loaded in this process will use, or None when
    NumPy uses another BLAS."""
    with open(f"/proc/{os.getpid()}/maps", encoding="utf-8") as maps:
        paths = {line.split()[-1] for line in maps if "openblas" in line.split()[-1].lower()}
    for path in sorted(paths):
        library = ctypes.CDLL(path)
        for name in ("scipy_openblas_get_num_threads64_", "scipy_openblas_get_num_threads",
                     "openblas_get_num_threads64_", "openblas_get_num_threads"):
            get = getattr(library, name, None)
            if get is not None:
                return int(get())
    return None


def test_each_test_process_runs_one_blas_thread():
    np.ones((2, 2)) @ np.ones((2, 2))  # NumPy's BLAS is loaded
    if not os.path.exists(f"/proc/{os.getpid()}/maps"):
        pytest.skip("no /proc on this system: the BLAS library NumPy loaded cannot be found")
    threads = _openblas_threads()
    if threads is None:
        pytest.skip(f"NumPy {np.__version__} does not use OpenBLAS here; its thread count is not read")
    assert threads == 1, f"OpenBLAS runs {threads} threads in a test process"
