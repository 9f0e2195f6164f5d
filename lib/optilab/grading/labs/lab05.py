"""Lab 5 (the experiment): the checks of its test cells, run in the grader's process.

The experiment's cells (the learning curves, the tuning, the best learning rates, the final runs)
are checked by :class:`~optilab.grading.labs.experiment.Experiment` from this lab's settings, as
lab 6's are from its own; ``interval`` is checked here. Every expected number is recomputed from the
lab's own setup, never read from the student's notebook. The lab's hidden test cells run the same
checks in the notebook's own kernel (:func:`run_here`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from optilab.grading import labs
from optilab.grading.labs.experiment import Experiment, array, setup

#: The lab's settings (its setup cells).
EPOCHS, SEEDS = 10, (0, 1, 2, 3, 4)
LRS = {"sgd": 0.3, "momentum": 0.03, "adam": 0.01}
GRIDS = {"sgd": np.logspace(-1.5, 0.5, 5).tolist(), "momentum": np.logspace(-2.5, -0.5, 5).tolist(),
         "adam": np.logspace(-3.5, -1.5, 5).tolist()}
T95 = {2: 12.71, 3: 4.303, 4: 3.182, 5: 2.776, 6: 2.571, 7: 2.447, 8: 2.365, 9: 2.306, 10: 2.262}

#: The arrays the hidden test of ``interval`` calls it with.
INTERVAL_CASES = ((1.0, 3.0), (0.05, 0.07, 0.06), (0.052, 0.061, 0.048, 0.07, 0.055),
                  tuple(np.linspace(0.1, 0.3, 10).tolist()))

EXPERIMENT = Experiment(lrs=LRS, grids=GRIDS, epochs=EPOCHS, seeds=SEEDS)
RUNS = EXPERIMENT.runs
_setup = setup
reference_run, validation_losses, best_lrs = RUNS.run, RUNS.validation_losses, RUNS.best_lrs


def _number(value: Any) -> float:
    """A number the student returned, as a float (NaN for anything that is not one number)."""
    values = array(value)
    return float(values) if values is not None and values.shape == () else np.nan


def test_interval(notebook: Any) -> None:
    """interval: the mean and the half-width of the 95 % t interval (1 point); its first case is the
    visible check's, with tighter tolerances."""
    for case in INTERVAL_CASES:
        values = np.array(case)
        n = len(values)
        result = notebook.call("interval", values)
        assert isinstance(result, (tuple, list)) and len(result) == 2, \
            f"interval({values.tolist()}) must return the pair (mean, half_width), got {result!r}"
        mean, half = (_number(v) for v in result)
        sd = np.sqrt(np.sum((values - values.mean()) ** 2) / (n - 1))
        want = T95[n] * sd / np.sqrt(n)
        assert np.isclose(mean, values.mean(), rtol=1e-9), \
            f"interval({values.tolist()}): the mean is {mean}, expected {values.mean()}"
        assert np.isclose(half, want, rtol=1e-3), \
            (f"interval({values.tolist()}): the half-width is {half}, expected {want} "
             f"= T95[{n}] · s / √{n} with s the sample standard deviation (ddof=1)")


CHECKS = {**EXPERIMENT.checks(), "test-interval": test_interval}


def run_here(grade_id: str, namespace: dict) -> None:
    """The hidden tests of the test cell ``grade_id``: its check, on the notebook's own namespace."""
    labs.run_here(CHECKS, grade_id, namespace)


#: The test cells these checks were written from (:func:`~optilab.grading.labs.cell_digest` of
#: each cell's source in ``solutions/``): a changed cell needs its check changed too.
DERIVED_FROM = {
    "test-reference-curves": "730aaf42aeee6092",
    "test-your-curves": "6f2ffdf929f93c34",
    "test-interval": "13dec53517a9c8d8",
    "test-tuning": "13378e849a49b1d2",
    "test-best-lr": "293729699ca9baa8",
    "test-final": "1065855db2957ecf",
}
