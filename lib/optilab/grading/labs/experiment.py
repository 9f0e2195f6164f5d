"""The experiment of labs 5 and 6: the checks of its test cells, run in the grader's process.

Both labs train rules on lab 5's split of the breast-cancer data and its MLP, and report the same
values: ``histories`` (each rule of ``LRS`` trained twice, the student's and the reference's),
``tuning_losses`` and ``best_lr`` (each rule of ``GRIDS`` tuned over its grid and the seeds) and
``final`` (the runs on the test set at the chosen learning rates). One :class:`Experiment` per lab,
made from its settings, holds the checks of these four cells: each runs the cell's visible check
first (``optilab.check("final", final, grids=GRIDS, seeds=SEEDS)``, on the value read from the
notebook), then compares every number with the reference runs recomputed here, never read from the
student's notebook. The runs are cached for the grading process, so a class costs the runs of one
notebook, once.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np

from optilab import data, models, training
from optilab.grading.labs import given, visible

#: How close the student's numbers must be to the reference runs'. A run of a reference rule by
#: name gives the same numbers; a correct rule written in another order differs by round-off.
REFERENCE_RTOL, RTOL = 1e-10, 1e-6


@lru_cache(maxsize=1)
def setup() -> tuple[Any, tuple, tuple]:
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
    """The reference runs of an experiment on lab 5's split and MLP (:func:`setup`), cached for the
    grading process, with what the checks read from them."""

    def __init__(self, epochs: int, seeds: tuple[int, ...], grids: dict[str, list[float]]):
        self.epochs, self.seeds, self.grids = int(epochs), tuple(seeds), grids
        self.setup = setup  # the MLP and the data the runs use
        self._cached = lru_cache(maxsize=None)(self._run)

    def run(self, name: str, lr: float, seed: int, which: str = "tuning") -> tuple[np.ndarray, np.ndarray, bool]:
        """(train_loss, test_loss, diverged) of the reference rule ``name`` trained as the lab trains
        it, on ``tuning`` or ``testing``: trained once per process (in a graded kernel: as the grader's
        file gives it, if it does)."""
        return self._cached(name, float(lr), int(seed), which)

    @property
    def trained(self) -> int:
        """How many runs this process has trained or read from the grader's file."""
        return self._cached.cache_info().misses

    def _run(self, name: str, lr: float, seed: int, which: str) -> tuple[np.ndarray, np.ndarray, bool]:
        key = self.key(name, lr, seed, which)
        run = given.lookup(key)
        if run is None:
            mlp, tuning, testing = self.setup()
            h = training.train(name, mlp, tuning if which == "tuning" else testing, epochs=self.epochs, lr=lr,
                               seed=seed)
            run = [[float(v) for v in h.train_loss], [float(v) for v in h.test_loss], bool(h.diverged)]
            given.record(key, run)
        return np.asarray(run[0], dtype=float), np.asarray(run[1], dtype=float), bool(run[2])

    def key(self, name: str, lr: float, seed: int, which: str = "tuning") -> str:
        """The name of a run in the file of runs given to the kernels (:mod:`optilab.grading.labs.given`)."""
        return f"experiment epochs={self.epochs} {name} lr={float(lr)!r} seed={int(seed)} {which}"

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


def array(value: Any) -> np.ndarray | None:
    """A value the student gave, as an array of floats (None if it is not numbers)."""
    try:
        return np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        return None


def _shown(values: np.ndarray | None) -> Any:
    return None if values is None else np.round(values, 5).tolist()


class Experiment:
    """The checks of one lab's experiment cells, from its settings: ``lrs`` (the rules of the learning
    curves and their learning rates), ``grids`` (the rules tuned and their grids), ``epochs``, ``seeds``."""

    def __init__(self, *, lrs: dict[str, float], grids: dict[str, list[float]], epochs: int,
                 seeds: tuple[int, ...]):
        self.lrs, self.grids, self.seeds = lrs, grids, tuple(seeds)
        self.runs = ReferenceRuns(epochs, seeds, grids)

    def test_reference_curves(self, notebook: Any) -> None:
        """The references were trained with the required settings (1 point)."""
        visible("histories", notebook.get("histories"), lrs=self.lrs, group="reference-curves")
        for name, lr in self.lrs.items():
            got = array(notebook.get("histories", f"reference {name}", ".test_loss"))
            expected = self.runs.run(name, lr, 0)[1]
            assert got is not None and got.shape == expected.shape and \
                np.allclose(got, expected, rtol=REFERENCE_RTOL), \
                f"histories['reference {name}'] was not trained on tuning with epochs=EPOCHS, lr=LRS[{name!r}], seed=0"

    def test_your_curves(self, notebook: Any) -> None:
        """Your rules reproduce the references' learning curves (2 points)."""
        visible("histories", notebook.get("histories"), lrs=self.lrs, group="your-curves")
        for name, lr in self.lrs.items():
            got = array(notebook.get("histories", f"your {name}", ".train_loss"))
            expected = self.runs.run(name, lr, 0)[0]
            assert got is not None and got.shape == expected.shape and np.allclose(got, expected, rtol=RTOL), \
                (f"your {name}: its training curve on tuning differs from the reference's (same settings: "
                 f"epochs=EPOCHS, lr=LRS[{name!r}], seed=0)")

    def test_tuning(self, notebook: Any) -> None:
        """The validation losses of every optimizer, learning rate and seed (3 points)."""
        tuning_losses = notebook.get("tuning_losses")
        visible("tuning_losses", tuning_losses, grids=self.grids, seeds=self.seeds)
        for name, grid in self.grids.items():
            for lr in grid:
                expected = self.runs.validation_losses(name, lr)
                yours = array(tuning_losses[name][lr])
                assert yours is not None and np.allclose(yours, expected, rtol=RTOL), \
                    (f"tuning_losses[{name!r}][{lr:.3g}] is {_shown(yours)}, expected the final validation "
                     f"losses {_shown(expected)} (train on tuning, read test_loss[-1], one run per seed)")

    def test_best_lr(self, notebook: Any) -> None:
        """The learning rate with the lowest mean validation loss, for each optimizer (1 point)."""
        best_lr = notebook.get("best_lr")
        visible("best_lr", best_lr, grids=self.grids)
        for name in self.grids:
            good = self.runs.best_lrs(name)
            assert best_lr[name] in good, \
                (f"best_lr[{name!r}] is {best_lr[name]}, expected {good[0]:.3g}: the learning rate of "
                 f"GRIDS[{name!r}] with the lowest mean final validation loss over SEEDS")

    def test_final(self, notebook: Any) -> None:
        """The final runs on the test set, at the student's best_lr (2 points)."""
        final = notebook.get("final")
        visible("final", final, grids=self.grids, seeds=self.seeds)
        best_lr = notebook.get("best_lr")
        for name, grid in self.grids.items():
            lr = best_lr[name] if isinstance(best_lr, dict) and name in best_lr else None
            assert isinstance(lr, float) and lr in grid, \
                f"best_lr[{name!r}] = {lr} is not a learning rate of GRIDS[{name!r}]"
            for part, curve in (("train", 0), ("test", 1)):
                expected = np.array([self.runs.final(name, lr, s, "testing", curve) for s in self.seeds])
                yours = array(final[name][part])
                attribute = ("train_loss", "test_loss")[curve]
                assert yours is not None and np.allclose(yours, expected, rtol=RTOL), \
                    (f"final[{name!r}][{part!r}] is {_shown(yours)}, expected {_shown(expected)}: train on testing "
                     f"(fit + validation) at best_lr[{name!r}] and read {attribute}[-1], one run per seed")

    def warm(self) -> list[str]:
        """Compute the reference runs the checks of a notebook read when its best_lr is the reference's:
        grading workers forked afterwards share them (one computation per class, not one per worker).
        Their keys (:meth:`ReferenceRuns.key`): what the kernels are given."""
        runs, keys = self.runs, []
        for name, lr in self.lrs.items():
            runs.run(name, lr, 0)
            keys.append(runs.key(name, lr, 0))
        for name in self.grids:
            keys += [runs.key(name, lr, seed) for lr in self.grids[name] for seed in self.seeds]
            for lr in runs.best_lrs(name):  # runs every learning rate of the grid on every seed
                for seed in self.seeds:
                    runs.run(name, lr, seed, "testing")
                    keys.append(runs.key(name, lr, seed, "testing"))
        return list(dict.fromkeys(keys))  # (a curve's run can be a run of the grid too)

    def checks(self) -> dict[str, Any]:
        """grade_id -> check, for the experiment's test cells."""
        return {"test-reference-curves": self.test_reference_curves, "test-your-curves": self.test_your_curves,
                "test-tuning": self.test_tuning, "test-best-lr": self.test_best_lr, "test-final": self.test_final}
