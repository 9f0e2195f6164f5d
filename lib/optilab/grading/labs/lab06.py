"""Lab 6 (Lion and Adafactor): the checks of its test cells, run in the grader's process.

The rules go through their hidden suites (:func:`~optilab.grading.labs.rule_cell`). The experiment's
cells are checked by :class:`~optilab.grading.labs.experiment.Experiment` from this lab's settings
(lab 5's split and MLP, this lab's seeds, learning rates and grids), as lab 5's are from its own;
``state_numbers`` is checked here. Every expected number is recomputed with the reference rules,
never read from the student's notebook. The lab's hidden test cells run the same checks in the
notebook's own kernel (:func:`run_here`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from optilab.contract.answers import STATE_EXAMPLE, state_problem
from optilab.grading import labs
from optilab.grading.labs import rule_cell
from optilab.grading.labs.experiment import Experiment
from optilab.grading.notebook import Reference

#: The lab's settings (its setup cells).
EPOCHS, SEEDS = 10, (0, 1, 2, 3, 4)
NAMES = ("adamw", "lion", "adafactor")
LRS = {"lion": 0.003, "adafactor": 0.03}
GRIDS = {"adamw": np.logspace(-3.5, -1.5, 5).tolist(), "lion": np.logspace(-3.5, -1.5, 5).tolist(),
         "adafactor": np.logspace(-2.5, -0.5, 5).tolist()}

#: The parameters the test of ``state_numbers`` calls it with: the visible check's (zeros), then
#: matrices and vectors of other shapes (ones).
STATE_CASES = ((STATE_EXAMPLE, np.zeros), (((6, 5), (2, 7), (4,), (1,)), np.ones))

EXPERIMENT = Experiment(lrs=LRS, grids=GRIDS, epochs=EPOCHS, seeds=SEEDS)
RUNS = EXPERIMENT.runs
reference_run, validation_losses, best_lrs = RUNS.run, RUNS.validation_losses, RUNS.best_lrs


def test_state_numbers(notebook: Any) -> None:
    """state_numbers: the optimizer state of one step, counted (1 point)."""
    for shapes, fill in STATE_CASES:
        params = {f"p{i}": fill(shape) for i, shape in enumerate(shapes)}
        for name in NAMES:
            problem = state_problem(name, shapes, notebook.call("state_numbers", Reference(name), params))
            assert problem is None, problem


CHECKS = {
    "test-lion-first-step": rule_cell("lion", "first-step"),
    "test-lion-many-steps": rule_cell("lion", "many-steps"),
    "test-lion-conventions": rule_cell("lion", "conventions"),
    "test-lion-contract": rule_cell("lion", "contract"),
    "test-adafactor-first-step": rule_cell("adafactor", "first-step"),
    "test-adafactor-many-steps": rule_cell("adafactor", "many-steps"),
    "test-adafactor-conventions": rule_cell("adafactor", "conventions"),
    "test-adafactor-contract": rule_cell("adafactor", "contract"),
    "test-state-numbers": test_state_numbers,
    **EXPERIMENT.checks(),
}


def run_here(grade_id: str, namespace: dict) -> None:
    """The hidden tests of the test cell ``grade_id``: its check, on the notebook's own namespace."""
    labs.run_here(CHECKS, grade_id, namespace)


#: The test cells these checks were written from (:func:`~optilab.grading.labs.cell_digest` of
#: each cell's source in ``solutions/``): a changed cell needs its check changed too.
DERIVED_FROM: dict[str, str] = {
    "test-lion-first-step": "f68b43224450758d",
    "test-lion-many-steps": "5a7e407ac237e810",
    "test-lion-conventions": "a9c210a503592f53",
    "test-lion-contract": "705fd1ab30db3706",
    "test-adafactor-first-step": "b51566b9279fc83b",
    "test-adafactor-many-steps": "12bf45b226fae2ca",
    "test-adafactor-conventions": "cab7e9979f211160",
    "test-adafactor-contract": "0fade5b6133b2931",
    "test-state-numbers": "e2555f155e3d6a54",
    "test-reference-curves": "a978fd29e6cd4559",
    "test-your-curves": "48ecb53544a6c72e",
    "test-tuning": "83b1b50c37478de6",
    "test-best-lr": "268640de24b10b27",
    "test-final": "7478d0cec73ae7c7",
}
