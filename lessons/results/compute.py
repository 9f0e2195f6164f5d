"""The lessons' slow experiments, computed in full and saved with the library for the lessons to read.

Run from the course's folder (each takes a few minutes on one core):

    python lessons/results/compute.py 08             # lesson 08: every optimizer tuned and tested on the digits
    python lessons/results/compute.py 09             # lesson 09: AdamW, Muon and schedule-free AdamW on the digits MLP
    python lessons/results/compute.py 10             # lesson 10: the sweep of batch sizes and learning rates
    python lessons/results/compute.py 09 OUT.json    # the same, written elsewhere

Each writes one file of lib/optilab/datasets/ (shipped with the library; its README says what each holds), which the
lesson reads. Each has a test that checks the file, and re-runs all or part of the experiment:
tests/test_comparison_08.py, tests/test_lesson09_runs.py, tests/test_experiments_training_in_practice.py.
"""

from __future__ import annotations

import importlib
import os
import sys
import time
from pathlib import Path

# One BLAS thread, set before NumPy loads (the experiment's module imports it): these matrices are tiny, and
# threads only fight over the cores (and would make the last digits depend on the machine's thread count).
for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

#: Each lesson's experiment: its module, the names of its compute and save functions, and the name of the
#: path the lesson reads (where save writes by default).
EXPERIMENTS = {
    "08": ("optilab.experiments.practice", "compute", "save", "RESULTS"),
    "09": ("optilab.experiments.large_models.mlp_comparison", "comparison", "save_comparison", "RESULTS"),
    "10": ("optilab.experiments.batch_size", "compute_batch_sweep", "save_batch_sweep", "BATCH_RESULTS"),
}
USAGE = f"usage: python lessons/results/compute.py {{{','.join(EXPERIMENTS)}}} [OUT.json]"


def main(argv: list[str]) -> int:
    if not 1 <= len(argv) <= 2 or argv[0] not in EXPERIMENTS:
        print(f"{USAGE}\nthe first argument is the lesson whose experiment to run: "
              f"{', '.join(EXPERIMENTS)}", file=sys.stderr)
        return 2
    name, compute, save, results_path = EXPERIMENTS[argv[0]]
    module = importlib.import_module(name)
    out = Path(argv[1]) if len(argv) == 2 else getattr(module, results_path)
    if out.suffix != ".json" or not out.parent.is_dir():
        print(f"{USAGE}\ncannot write {out}: give a .json file in a folder that exists", file=sys.stderr)
        return 2
    start = time.perf_counter()
    results = getattr(module, compute)(progress=lambda what: print(f"{time.perf_counter() - start:6.1f} s  {what}",
                                                                   flush=True))
    path = getattr(module, save)(results, out)
    print(f"wrote {path} in {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
