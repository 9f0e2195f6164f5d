"""Lab 3 (AdaGrad and RMSProp): the checks of its test cells, run in the grader's process."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np

from optilab import data, models, training
from optilab.grading.labs import rule_cell

#: The lab's grid of learning rates (its setup cell).
LRS = [float(lr) for lr in np.geomspace(1e-3, 1.0, 7)]


@lru_cache(maxsize=1)
def _setup() -> tuple[Any, Any]:
    """The lab's badly scaled regression problem and model, made as its setup cell makes them."""
    rng = np.random.default_rng(0)
    X_scaled = rng.normal(size=(200, 3)) * np.array([0.1, 1.0, 10.0])
    y_scaled = X_scaled @ np.array([10.0, 1.0, 0.1]) + 0.1 * rng.normal(size=200)
    split = data.train_test_split(X_scaled, y_scaled, seed=0)
    return models.LinearRegression(n_features=3), split


@lru_cache(maxsize=None)
def final_loss(rule: str, lr: float) -> float:
    """The reference rule's final training loss after 100 full-batch epochs (inf if it diverged)."""
    model, split = _setup()
    history = training.train(rule, model, split, epochs=100, batch_size=None, lr=lr)
    return np.inf if history.diverged else float(history.train_loss[-1])


def test_best_final_loss(notebook: Any) -> None:
    """best_final_loss finds the best learning rate (1 point)."""
    assert len(notebook.call("best_final_loss", "sgd", [0.01])) == 2, "best_final_loss returns (best_lr, best_loss)"
    lr, loss = notebook.call("best_final_loss", "sgd", [0.001, 0.01, 1.0])
    assert lr == 0.01 and np.isclose(loss, final_loss("sgd", 0.01), rtol=1e-9), \
        f"wrong best lr or loss for sgd on [0.001, 0.01, 1.0]: yours ({lr!r}, {loss!r})"


def test_adaptive_wins(notebook: Any) -> None:
    """The experiment's numbers: per-parameter steps win by a wide margin (2 points)."""
    results = notebook.get("results")
    assert isinstance(results, dict) and set(results) == {"sgd", "adagrad", "rmsprop"}, \
        "results needs the three rules"
    for name in ("sgd", "adagrad", "rmsprop"):
        lr, loss = results[name]
        assert lr in LRS, f"results[{name!r}]: {lr} is not on the grid lrs"
        i = LRS.index(lr)
        assert np.isclose(loss, final_loss(name, lr), rtol=1e-6), f"results[{name!r}]: wrong final loss"
        for other in LRS[max(0, i - 1):i] + LRS[i + 1:i + 2]:  # the neighbours on the grid (ties allowed)
            theirs = final_loss(name, other)
            assert theirs >= loss or np.isclose(theirs, loss, rtol=1e-6), f"results[{name!r}]: lr {other:.4g} does better"
    assert max(results["adagrad"][1], results["rmsprop"][1]) < results["sgd"][1] / 10, \
        "adagrad and rmsprop should end at least ten times below sgd"


CHECKS = {
    "test-adagrad-first-step": rule_cell("adagrad", "first-step"),
    "test-adagrad-many-steps": rule_cell("adagrad", "many-steps"),
    "test-adagrad-conventions": rule_cell("adagrad", "conventions"),
    "test-adagrad-contract": rule_cell("adagrad", "contract"),
    "test-rmsprop-first-step": rule_cell("rmsprop", "first-step"),
    "test-rmsprop-many-steps": rule_cell("rmsprop", "many-steps"),
    "test-rmsprop-conventions": rule_cell("rmsprop", "conventions"),
    "test-rmsprop-contract": rule_cell("rmsprop", "contract"),
    "test-best-final-loss": test_best_final_loss,
    "test-adaptive-wins": test_adaptive_wins,
}


#: The test cells these checks were written from (:func:`~optilab.grading.labs.cell_digest` of
#: each cell's source in ``solutions/``): a changed cell needs its check changed too.
DERIVED_FROM = {
    "test-adagrad-first-step": "3f81ca14c7512139",
    "test-adagrad-many-steps": "3531dba1655f02cc",
    "test-adagrad-conventions": "0b3fefe526566b9c",
    "test-adagrad-contract": "f379d741fb7f6b6d",
    "test-rmsprop-first-step": "a594736537767291",
    "test-rmsprop-many-steps": "fbf17ae0d25ecd55",
    "test-rmsprop-conventions": "e50bc75cfdef4526",
    "test-rmsprop-contract": "cd6a0013ecfcdb31",
    "test-best-final-loss": "e6904cebb279572a",
    "test-adaptive-wins": "b47bcd2aa10cc3a7",
}
