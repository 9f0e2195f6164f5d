"""Lab 5 (the experiment): the checks of its test cells, run in the grader's process."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np

from optilab import data, models, training

#: The lab's settings (its setup cells).
EPOCHS, LRS = 8, {"sgd": 0.3, "momentum": 0.03, "adam": 0.01}
SWEEP = [float(lr) for lr in np.geomspace(1e-3, 1.0, 7)]
NAMES = ("sgd", "momentum", "adam")


@lru_cache(maxsize=1)
def _setup() -> tuple[Any, tuple]:
    """The lab's MLP and breast-cancer data, made as its setup cell makes them."""
    X, y = data.load_breast_cancer()
    split = data.train_test_split(X, y, seed=0)
    X_train, X_test = data.standardize(split.X_train, split.X_test)
    return models.MLP(sizes=(X.shape[1], 16, 2)), (X_train, split.y_train, X_test, split.y_test)


@lru_cache(maxsize=None)
def reference_run(name: str, lr: float) -> Any:
    """The reference rule ``name`` trained as the lab trains it (seed 0, EPOCHS epochs)."""
    mlp, cancer = _setup()
    return training.train(name, mlp, cancer, epochs=EPOCHS, lr=lr, seed=0)


def _history(notebook: Any, key: str, curve: str) -> Any:
    return notebook.get("histories", key, f".{curve}")


def test_reference_curves(notebook: Any) -> None:
    """The references were trained with the required settings (1 point)."""
    histories = notebook.get("histories")
    assert len(histories) == 6, "histories needs 'your ...' and 'reference ...' for sgd, momentum and adam"
    for name in NAMES:
        assert np.allclose(_history(notebook, f"reference {name}", "test_loss"),
                           reference_run(name, LRS[name]).test_loss, rtol=1e-10), \
            f"reference {name}: not trained with epochs=EPOCHS, lr=LRS[{name!r}], seed=0"


def test_your_curves(notebook: Any) -> None:
    """Your rules reproduce the references' learning curves (2 points)."""
    for name in NAMES:
        assert np.allclose(_history(notebook, f"your {name}", "train_loss"),
                           reference_run(name, LRS[name]).train_loss, rtol=1e-8), \
            f"your {name} does not follow the reference's training curve"


def test_sensitivity(notebook: Any) -> None:
    """The sweep's numbers and the best learning rates (3 points)."""
    sensitivity, best_lr = notebook.get("sensitivity"), notebook.get("best_lr")
    assert isinstance(sensitivity, dict) and isinstance(best_lr, dict) and \
        set(sensitivity) == {"sgd", "momentum", "adam"} and set(best_lr) == set(sensitivity), \
        "sensitivity and best_lr need the keys 'sgd', 'momentum' and 'adam'"
    for name in NAMES:
        finals = {}
        for lr in SWEEP:
            h = reference_run(name, lr)
            finals[lr] = np.inf if h.diverged else h.test_loss[-1]
        assert isinstance(sensitivity[name], dict) and set(sensitivity[name]) == set(SWEEP), \
            f"sensitivity[{name!r}] needs every lr in lrs"
        assert all(np.isclose(sensitivity[name][lr], finals[lr], rtol=1e-8) for lr in SWEEP), \
            f"sensitivity[{name!r}] has wrong final test losses"
        assert best_lr[name] == min(finals, key=finals.get), f"best_lr[{name!r}] is not the best"


CHECKS = {
    "test-reference-curves": test_reference_curves,
    "test-your-curves": test_your_curves,
    "test-sensitivity": test_sensitivity,
}


#: The test cells these checks were written from (:func:`~optilab.grading.labs.cell_digest` of
#: each cell's source in ``solutions/``): a changed cell needs its check changed too.
DERIVED_FROM = {
    "test-reference-curves": "eb667076c05d31e0",
    "test-your-curves": "b61c0ff02c873403",
    "test-sensitivity": "24b2f3541f32ed84",
}
