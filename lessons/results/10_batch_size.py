"""Lesson 10's sweep of batch sizes and learning rates, computed in full and saved for the lesson.

Run from the course's folder (it takes a few minutes):

    python lessons/results/10_batch_size.py

For every batch size of optilab.experiments.batch_size.BATCH_SIZES, every learning rate of its grid
(LR_GRID, a factor √2 apart) and every seed (SWEEP_SEEDS), it trains the lesson's MLP with plain SGD and counts the
steps until the loss on the whole fit set first reaches each of TARGETS. The numbers go to
lib/optilab/datasets/lesson10_batch_size.json (shipped with the library), which lesson 10 reads;
tests/test_experiments_training_in_practice.py re-runs part of the sweep and checks it gives the same numbers.
See optilab.experiments.batch_size.steps_to_targets for how a run is made and when it stops.
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # small matrices: one BLAS thread is fastest

from optilab.experiments import batch_size as experiment  # noqa: E402


def main() -> int:
    results = experiment.compute_batch_sweep(progress=lambda message: print(message, flush=True))
    path = experiment.save_batch_sweep(results, experiment.BATCH_RESULTS)
    print(f"wrote {path}: {results['seconds']:.0f} s in all")
    return 0


if __name__ == "__main__":
    sys.exit(main())
