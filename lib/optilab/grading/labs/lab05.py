"""Lab 5 (the experiment): the checks of its test cells, run in the grader's process.

Every expected number is recomputed here from the lab's own setup (the split, the model, the
seeds, the grids), never read from the student's notebook; the reference runs are cached for the
grading process (:func:`reference_run`), so a class costs the runs of one notebook, once.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np

from optilab import data, models, training

#: The lab's settings (its setup cells).
EPOCHS, SEEDS = 10, (0, 1, 2, 3, 4)
LRS = {"sgd": 0.3, "momentum": 0.03, "adam": 0.01}
GRIDS = {"sgd": np.logspace(-1.5, 0.5, 5).tolist(), "momentum": np.logspace(-2.5, -0.5, 5).tolist(),
         "adam": np.logspace(-3.5, -1.5, 5).tolist()}
T95 = {2: 12.71, 3: 4.303, 4: 3.182, 5: 2.776, 6: 2.571, 7: 2.447, 8: 2.365, 9: 2.306, 10: 2.262}
NAMES = ("sgd", "momentum", "adam")

#: The arrays the hidden test of ``interval`` calls it with.
INTERVAL_CASES = ((1.0, 3.0), (0.05, 0.07, 0.06), (0.052, 0.061, 0.048, 0.07, 0.055),
                  tuple(np.linspace(0.1, 0.3, 10).tolist()))


@lru_cache(maxsize=1)
def _setup() -> tuple[Any, tuple, tuple]:
    """The lab's MLP and its two uses of the breast-cancer data, made as its setup cell makes them:
    ``tuning`` (fit, validation) and ``testing`` (fit + validation, test)."""
    X, y = data.load_breast_cancer()
    held_out = data.train_test_split(X, y, test_fraction=0.2, seed=0)
    dev = data.train_test_split(held_out.X_train, held_out.y_train, test_fraction=0.25, seed=1)
    X_fit, X_val = data.standardize(dev.X_train, dev.X_test)
    X_dev, X_test = data.standardize(held_out.X_train, held_out.X_test)
    return (models.MLP(sizes=(X.shape[1], 16, 2)), (X_fit, dev.y_train, X_val, dev.y_test),
            (X_dev, held_out.y_train, X_test, held_out.y_test))


class ReferenceRuns:
    """The reference runs of an experiment on lab 5's split and MLP (:func:`_setup`), cached for the
    grading process, with what the checks read from them: labs 5 and 6 each make one with their own
    epochs, seeds and grids."""

    def __init__(self, epochs: int, seeds: tuple[int, ...], grids: dict[str, list[float]]):
        self.epochs, self.seeds, self.grids = int(epochs), tuple(seeds), grids
        self.setup = _setup  # the MLP and the data the runs use
        self.run = lru_cache(maxsize=None)(self._run)

    def _run(self, name: str, lr: float, seed: int, which: str = "tuning") -> tuple[np.ndarray, np.ndarray, bool]:
        """(train_loss, test_loss, diverged) of the reference rule ``name`` trained as the lab trains
        it, on ``tuning`` or ``testing``."""
        mlp, tuning, testing = self.setup()
        h = training.train(name, mlp, tuning if which == "tuning" else testing, epochs=self.epochs, lr=lr,
                           seed=seed)
        return h.train_loss, h.test_loss, h.diverged

    def final(self, name: str, lr: float, seed: int, which: str, curve: int) -> float:
        """The last train (``curve=0``) or test (``curve=1``) loss of a run; inf if it diverged."""
        train_loss, test_loss, diverged = self.run(name, lr, seed, which)
        return np.inf if diverged else float((train_loss, test_loss)[curve][-1])

    def validation_losses(self, name: str, lr: float) -> np.ndarray:
        """The final validation loss of each seed (inf for a run that diverged)."""
        return np.array([self.final(name, lr, s, "tuning", 1) for s in self.seeds])

    def best_lrs(self, name: str) -> list[float]:
        """The learning rates of the grid whose mean validation loss is the lowest (to 1e-9)."""
        means = {lr: self.validation_losses(name, lr).mean() for lr in self.grids[name]}
        lowest = min(means.values())
        return [lr for lr, m in means.items() if m <= lowest * (1 + 1e-9)]


RUNS = ReferenceRuns(EPOCHS, SEEDS, GRIDS)
reference_run, _final, validation_losses, best_lrs = RUNS.run, RUNS.final, RUNS.validation_losses, RUNS.best_lrs


def _array(value: Any) -> np.ndarray | None:
    try:
        return np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        return None


def _number(value: Any) -> float:
    """A number the student returned, as a float (NaN for anything that is not one number)."""
    array = _array(value)
    return float(array) if array is not None and array.shape == () else np.nan


def _shown(values: Any) -> list:
    return np.round(np.asarray(values, dtype=float), 5).tolist()


def test_reference_curves(notebook: Any) -> None:
    """The references were trained with the required settings (1 point)."""
    histories = notebook.get("histories")
    assert isinstance(histories, dict) and len(histories) == 6, \
        "histories needs 'your ...' and 'reference ...' for sgd, momentum and adam (6 keys)"
    missing = [f"{who} {name}" for who in ("your", "reference") for name in NAMES if f"{who} {name}" not in histories]
    assert not missing, f"histories has no key {missing[0]!r}: it needs 'your NAME' and 'reference NAME' for each rule"
    for name in NAMES:
        got = _array(notebook.get("histories", f"reference {name}", ".test_loss"))
        expected = reference_run(name, LRS[name], 0)[1]
        assert got is not None and got.shape == expected.shape and np.allclose(got, expected, rtol=1e-10), \
            f"histories['reference {name}'] was not trained on tuning with epochs=EPOCHS, lr=LRS[{name!r}], seed=0"


def test_your_curves(notebook: Any) -> None:
    """Your rules reproduce the references' learning curves (2 points)."""
    histories = notebook.get("histories")
    assert isinstance(histories, dict) and all(f"your {name}" in histories for name in NAMES), \
        "histories needs the keys 'your sgd', 'your momentum' and 'your adam'"
    for name in NAMES:
        got = _array(notebook.get("histories", f"your {name}", ".train_loss"))
        expected = reference_run(name, LRS[name], 0)[0]
        assert got is not None and got.shape == expected.shape and np.allclose(got, expected, rtol=1e-8), \
            f"your {name}: its training curve on tuning differs from the reference's (same settings)"


def test_interval(notebook: Any) -> None:
    """interval: the mean and the half-width of the 95 % t interval (1 point)."""
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


def test_tuning(notebook: Any) -> None:
    """The validation losses of every optimizer, learning rate and seed (3 points)."""
    tuning_losses = notebook.get("tuning_losses")
    assert isinstance(tuning_losses, dict) and set(tuning_losses) == set(NAMES), \
        "tuning_losses needs the keys 'sgd', 'momentum' and 'adam'"
    for name in NAMES:
        assert isinstance(tuning_losses[name], dict) and set(tuning_losses[name]) == set(GRIDS[name]), \
            f"tuning_losses[{name!r}] needs every lr of GRIDS[{name!r}] as a key"
        for lr in GRIDS[name]:
            expected = validation_losses(name, lr)
            yours = _array(tuning_losses[name][lr])
            assert yours is not None and yours.shape == (len(SEEDS),), \
                (f"tuning_losses[{name!r}][{lr:.3g}] has shape {getattr(yours, 'shape', None)}: it needs one final "
                 f"loss per seed in SEEDS")
            assert np.allclose(yours, expected, rtol=1e-8), \
                (f"tuning_losses[{name!r}][{lr:.3g}] is {_shown(yours)}, expected the final validation "
                 f"losses {_shown(expected)} (train on tuning, read test_loss[-1], one run per seed)")


def test_best_lr(notebook: Any) -> None:
    """The learning rate with the lowest mean validation loss, for each optimizer (1 point)."""
    best_lr = notebook.get("best_lr")
    assert isinstance(best_lr, dict) and set(best_lr) == set(NAMES), "best_lr needs the keys 'sgd', 'momentum' and 'adam'"
    for name in NAMES:
        good = best_lrs(name)
        assert best_lr[name] in good, \
            (f"best_lr[{name!r}] is {best_lr[name]}, expected {good[0]:.3g}: the learning rate of GRIDS[{name!r}] "
             f"with the lowest mean final validation loss over SEEDS")


def test_final(notebook: Any) -> None:
    """The final runs on the test set, at the student's best_lr (2 points)."""
    final = notebook.get("final")
    assert isinstance(final, dict) and set(final) == set(NAMES), "final needs the keys 'sgd', 'momentum' and 'adam'"
    best_lr = notebook.get("best_lr")
    for name in NAMES:
        lr = best_lr[name] if isinstance(best_lr, dict) and name in best_lr else None
        assert isinstance(lr, float) and lr in GRIDS[name], \
            f"best_lr[{name!r}] = {lr} is not a learning rate of GRIDS[{name!r}]"
        for part, curve in (("train", 0), ("test", 1)):
            expected = np.array([_final(name, lr, s, "testing", curve) for s in SEEDS])
            yours = _array(final[name].get(part) if isinstance(final[name], dict) else None)
            assert yours is not None and yours.shape == (len(SEEDS),), \
                f"final[{name!r}][{part!r}] has shape {getattr(yours, 'shape', None)}: one value per seed in SEEDS"
            attribute = ("train_loss", "test_loss")[curve]
            assert np.allclose(yours, expected, rtol=1e-8), \
                (f"final[{name!r}][{part!r}] is {_shown(yours)}, expected {_shown(expected)}: train on testing "
                 f"(fit + validation) at best_lr[{name!r}] and read {attribute}[-1], one run per seed")


CHECKS = {
    "test-reference-curves": test_reference_curves,
    "test-your-curves": test_your_curves,
    "test-interval": test_interval,
    "test-tuning": test_tuning,
    "test-best-lr": test_best_lr,
    "test-final": test_final,
}


#: The test cells these checks were written from (:func:`~optilab.grading.labs.cell_digest` of
#: each cell's source in ``solutions/``): a changed cell needs its check changed too.
DERIVED_FROM = {
    "test-reference-curves": "deac3e5dbbb47ccf",
    "test-your-curves": "cf5f14522dd6720d",
    "test-interval": "9de9b675affbbd2f",
    "test-tuning": "bc8e1018e851f7c4",
    "test-best-lr": "d39c61fd445f9dc6",
    "test-final": "2f71960feb0d23df",
}
