"""Lesson 08's comparison of every optimizer, computed in full and saved beside this script.

Run from the course's folder (it takes a few minutes):

    python lessons/results/08_comparison.py

It tunes every optimizer of the course on the same learning-rate grid with the same seeds and
epochs (trained on the fit set, measured on the validation set), chooses each one's α by its mean
final validation loss, then trains each at its chosen α on fit + validation and measures the test
set once per seed. The numbers go to lib/optilab/datasets/lesson08_comparison.json (shipped with the
library), which lesson 08 reads; tests/test_comparison_08.py checks them and, in its slow tests, re-runs
the experiment around each choice.
See optilab.experiments.practice for every step.
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # small matrices: one BLAS thread is fastest

from optilab.experiments import practice  # noqa: E402


def main() -> int:
    results = practice.compute(progress=lambda message: print(message, flush=True))
    path = practice.save(results, practice.RESULTS)
    print(f"wrote {path}: {results['seconds']:.0f} s in all")
    return 0


if __name__ == "__main__":
    sys.exit(main())
