"""Lesson 09's slow experiment: AdamW with a tuned schedule, Muon and schedule-free AdamW on the digits MLP.

Every recipe is trained with every learning rate of its grid and eight seeds (120 short runs, a few
minutes on one core); the learning rate is chosen on the validation split and the test
split is read only there (``optilab.experiments.large_models.comparison``). The lesson reads the
results this script writes beside it, ``09_large_models_runs.json``; a slow test
(tests/test_lesson09_runs.py) runs it again and compares.

    python lessons/09_large_models_runs.py            # rewrite the results
    python lessons/09_large_models_runs.py OUT.json   # write them elsewhere
"""

import os

# One BLAS thread: these matrices are tiny, and threads only fight over the cores (and would make the
# last digits depend on the machine's thread count).
for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")


def _cpu_has_avx2() -> bool:
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            return any(line.startswith("flags") and "avx2" in line.split() for line in f)
    except OSError:
        return False


# The same kernels on every x86-64 machine. The runs at the largest learning rates (AdamW at 0.1, Muon at 0.3)
# sit at the edge of stability, where a difference in the last digit of a matrix product grows: OpenBLAS
# picks its kernels by the CPU, and with its AVX-512 kernels those runs' losses came out up to 73 % apart
# from the committed ones, while every other run agreed to 6 digits. Its AVX2 kernels ("Haswell", on every
# x86-64 CPU since 2013) made the committed results; an OPENBLAS_CORETYPE already set is kept.
if _cpu_has_avx2():
    os.environ.setdefault("OPENBLAS_CORETYPE", "Haswell")

import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

from optilab.experiments import large_models  # noqa: E402

RESULTS = Path(__file__).with_name("09_large_models_runs.json")


def rounded(value, digits: int = 6):
    """Floats to ``digits`` significant digits, so that the committed file stays small and readable."""
    if isinstance(value, float):
        return float(f"{value:.{digits}g}")
    if isinstance(value, dict):
        return {k: rounded(v, digits) for k, v in value.items()}
    if isinstance(value, list):
        return [rounded(v, digits) for v in value]
    return value


def main(argv: list[str]) -> int:
    out = Path(argv[0]) if argv else RESULTS
    start = time.perf_counter()
    results = large_models.comparison(progress=lambda what: print(f"{time.perf_counter() - start:6.1f} s  {what}",
                                                                  flush=True))
    out.write_text(json.dumps(rounded(results), indent=None) + "\n", encoding="utf-8")
    print(f"wrote {out} in {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
