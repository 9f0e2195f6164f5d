"""Labs 5 and 6: the reference runs every notebook's experiment checks read are computed once, before
the grading workers fork, so the workers inherit them instead of each computing them again."""

from __future__ import annotations

import importlib

import numpy as np
import pytest

from optilab.grading.labs import _Here, warm
from optilab.grading.labs.experiment import Experiment


@pytest.mark.slow
@pytest.mark.parametrize("lab", ["lab05", "lab06"])
def test_after_warm_the_checks_of_a_correct_notebook_compute_no_run(lab):
    module = importlib.import_module(f"optilab.grading.labs.{lab}")
    experiment = Experiment(lrs=module.LRS, grids=module.GRIDS, epochs=module.EPOCHS, seeds=module.SEEDS)
    runs = experiment.runs
    keys = experiment.warm()
    computed = runs.trained
    assert computed > 0 and len(set(keys)) == len(keys) == computed  # it names each run it computed, once
    best = {name: runs.best_lrs(name)[0] for name in module.GRIDS}
    notebook = _Here({  # a correct notebook's answers: the reference's own
        "tuning_losses": {name: {lr: runs.validation_losses(name, lr) for lr in grid}
                          for name, grid in module.GRIDS.items()},
        "best_lr": best,
        "final": {name: {part: np.array([runs.final(name, best[name], s, "testing", curve) for s in module.SEEDS])
                         for part, curve in (("train", 0), ("test", 1))} for name in module.GRIDS},
    })
    experiment.test_tuning(notebook)
    experiment.test_best_lr(notebook)
    experiment.test_final(notebook)
    for name, lr in module.LRS.items():
        runs.run(name, lr, 0)
    assert runs.trained == computed, "a check computed a reference run that warm() left out"


def test_warm_does_nothing_for_a_lab_without_an_experiment():
    assert warm("lab04_adam_adamw") == [] and warm("not_a_lab") == []
