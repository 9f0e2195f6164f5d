r"""Lesson 08's experiment: every optimizer of the course, compared the way the lesson advises.

The comparison follows the lesson's own advice, the same method as lab 5:

* **Three sets.** The digits are split once into a test set (25 %), touched only at the end, and a
  development set, itself split into *fit* (75 %) and *validation* (25 %) (:func:`splits`).
* **An equal tuning budget.** Every optimizer is tuned on the same learning-rate grid
  (:data:`GRID`, half a decade apart), for the same :data:`EPOCHS`, with the same :data:`SEEDS`:
  trained on *fit*, measured on *validation* (:func:`tune`).
* **Several seeds.** A seed fixes the initial parameters and the order of the minibatches; every
  number is a mean over the seeds with the half-width of its 95 % Student-t interval (:func:`interval`).
* **Choose on validation** (:func:`choose`): the α of the grid with the lowest mean final validation
  loss; a choice at an end of the grid would mean the grid does not bracket the optimum (:func:`at_edge`).
* **Test once** (:func:`evaluate`): each optimizer at its chosen α, trained on fit + validation, measured
  on the test set, once per seed. The conclusion (:func:`verdicts`) compares optimizers by the
  interval of their difference paired by seed, and calls a difference only when that interval excludes 0.

The whole experiment (:func:`compute`) takes minutes, too long for a lesson: the script
``python lessons/results/compute.py 08`` in the course's repository runs it and saves its numbers in the
library's data folder (:data:`RESULTS`, ``optilab/datasets/lesson08_comparison.json``), which the
lesson reads with :func:`load`.

:func:`adam_family` measures, in single runs, why Adam, AdamW and AMSGrad end so close: how large
AdamW's decoupled decay is next to Adam's own steps, and how often AMSGrad's maximum binds.
"""

from __future__ import annotations

import functools
import json
import math
import time
from importlib import resources
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from optilab import data, kernels, models, training
from optilab import rules as _table

__all__ = [
    "RULES_COMPARED", "GRID", "SEEDS", "EPOCHS", "BATCH_SIZE", "SIZES", "METRIC", "RESULTS", "T95",
    "splits", "model", "run", "interval", "t95", "tune", "choose", "at_edge", "evaluate", "compute",
    "budget", "save", "load", "on_validation", "on_test", "summary", "paired", "verdicts", "winners_by_seed",
    "sensitivity", "settled", "shifted", "adam_family",
]

#: The optimizers compared: every rule a lesson teaches (the rule table's ``lesson``).
RULES_COMPARED: tuple[str, ...] = tuple(rule.name for rule in _table.TABLE if rule.lesson is not None)
#: The learning rates every optimizer is tuned over: the same grid for all, 10^-3.5 to 10^0.5, half a decade apart.
GRID: tuple[float, ...] = tuple(float(10.0 ** (k / 2)) for k in range(-7, 2))
#: The seeds: each fixes the initial parameters and the minibatch order of a run.
SEEDS: tuple[int, ...] = tuple(range(10))
#: Passes over the training data per run, and examples per step.
EPOCHS, BATCH_SIZE = 30, 32
#: The MLP: 64 pixels, one hidden layer of 32 tanh units, 10 classes.
SIZES: tuple[int, ...] = (64, 32, 10)
#: What the learning rate is chosen by (lower is better).
METRIC = "final validation loss"
#: The experiment's numbers, written by ``python lessons/results/compute.py 08`` and shipped with the library.
RESULTS: Path = Path(str(resources.files("optilab") / "datasets" / "lesson08_comparison.json"))

#: The 97.5 % quantile of Student's t with ``df`` degrees of freedom, df = 1..30 (the 95 % two-sided interval).
T95: dict[int, float] = dict(enumerate((
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131,
    2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042), 1))


def t95(n: int) -> float:
    """The factor of the 95 % interval of a mean of ``n`` values: Student's t quantile with n − 1 degrees of freedom."""
    if not 2 <= n <= len(T95) + 1:
        raise ValueError(f"an interval needs 2 to {len(T95) + 1} values, got {n}")
    return T95[n - 1]


def interval(values: Sequence[float]) -> tuple[float, float]:
    r"""``(mean, half_width)`` of the 95 % Student-t interval of the mean of ``values``.

    The half-width is :math:`t_{0.975,\,n-1}\, s/\sqrt n`, with :math:`s` the sample standard
    deviation. Any infinite value (a run that diverged) makes the mean infinite and the half-width NaN.

    >>> mean, half = interval([1.0, 2.0, 3.0])
    >>> mean, round(half, 3)
    (2.0, 2.484)
    """
    values = np.asarray(values, dtype=float)
    mean = float(values.mean())
    if not np.all(np.isfinite(values)):
        return mean, float("nan")
    return mean, float(t95(len(values)) * values.std(ddof=1) / math.sqrt(len(values)))


@functools.lru_cache(maxsize=1)
def splits() -> tuple[tuple, tuple]:
    """The digits as ``(tuning, testing)``, each ``(X_train, y_train, X_eval, y_eval)`` for :func:`optilab.training.train`.

    ``tuning`` trains on *fit* and measures on *validation*; ``testing`` trains on fit + validation and
    measures on the test set. Each is standardised with the statistics of its own training part.
    """
    X, y = data.load_digits()
    held_out = data.train_test_split(X, y, test_fraction=0.25, seed=0)  # the test set
    dev = data.train_test_split(held_out.X_train, held_out.y_train, test_fraction=0.25, seed=1)
    X_fit, X_val = data.standardize(dev.X_train, dev.X_test)
    X_dev, X_test = data.standardize(held_out.X_train, held_out.X_test)
    return (X_fit, dev.y_train, X_val, dev.y_test), (X_dev, held_out.y_train, X_test, held_out.y_test)


def model() -> models.MLP:
    """The lesson's classifier, ``MLP(SIZES)`` with tanh."""
    return models.MLP(SIZES, activation="tanh")


def run(rule: str | Callable, lr: float, seed: int, *, on: str = "tuning", epochs: int = EPOCHS,
        **hyperparameters: Any) -> training.History:
    """One run of the experiment: ``rule`` at ``lr`` from ``seed``, on ``"tuning"`` or ``"testing"``."""
    if on not in ("tuning", "testing"):
        raise ValueError(f'on must be "tuning" (fit → validation) or "testing" (fit + validation → test), got {on!r}')
    tuning, testing = splits()
    return training.train(rule, model(), tuning if on == "tuning" else testing, epochs=epochs,
                          batch_size=BATCH_SIZE, lr=lr, seed=seed, **hyperparameters)


def _curve(values: np.ndarray | None, epochs: int) -> np.ndarray:
    """A per-epoch curve padded with NaN to ``epochs + 1`` points (a run that diverged stops early)."""
    out = np.full(epochs + 1, np.nan)
    if values is not None:
        out[: len(values)] = values
    return out


def _finals(history: training.History) -> tuple[float, float, float]:
    """(final loss, final accuracy, final training loss) of a run; inf, NaN, inf if it diverged."""
    if history.diverged:
        return float("inf"), float("nan"), float("inf")
    return float(history.test_loss[-1]), float(history.test_accuracy[-1]), float(history.train_loss[-1])


def tune(rule: str, grid: Sequence[float] = GRID, seeds: Sequence[int] = SEEDS, epochs: int = EPOCHS) -> dict[str, Any]:
    """Train ``rule`` on *fit* at every α of ``grid`` from every seed; measure on *validation*.

    Returns
    -------
    dict
        ``"loss"``, ``"accuracy"``, ``"train loss"``: final validation loss and accuracy and final
        training loss, arrays of shape (len(grid), len(seeds)) (inf and NaN for a run that diverged); ``"curves"``: for each of
        ``"validation loss"``, ``"validation accuracy"`` and ``"training loss"`` the mean over the
        seeds after every epoch, shape (len(grid), epochs + 1); ``"seconds"``: training time.
    """
    shape = (len(grid), len(seeds))
    loss, accuracy, train_loss = np.empty(shape), np.empty(shape), np.empty(shape)
    curves = {name: np.empty((len(grid), len(seeds), epochs + 1))
              for name in ("validation loss", "validation accuracy", "training loss")}
    seconds = 0.0
    for i, lr in enumerate(grid):
        for j, seed in enumerate(seeds):
            h = run(rule, lr, seed, on="tuning", epochs=epochs)
            loss[i, j], accuracy[i, j], train_loss[i, j] = _finals(h)
            for name, values in (("validation loss", h.test_loss), ("validation accuracy", h.test_accuracy),
                                 ("training loss", h.train_loss)):
                curves[name][i, j] = _curve(values, epochs)
            seconds += h.seconds
    return {"loss": loss, "accuracy": accuracy, "train loss": train_loss, "curves": {k: v.mean(axis=1) for k, v in curves.items()},
            "seconds": seconds}


def choose(losses: np.ndarray, grid: Sequence[float]) -> float:
    """The α of ``grid`` whose runs have the lowest mean final validation loss (one row of ``losses`` per α).

    Only validation numbers go in: the test set plays no part in the choice. A run that diverged
    counts as an infinite loss, so an α at which any seed diverges is never chosen over one that trains.
    """
    losses = np.asarray(losses, dtype=float)
    if losses.ndim != 2 or losses.shape[0] != len(grid):
        raise ValueError(f"losses needs one row per learning rate of the grid ({len(grid)}), got shape {losses.shape}")
    means = losses.mean(axis=1)
    if not np.any(np.isfinite(means)):
        raise ValueError("every learning rate of the grid diverged for some seed: extend the grid to smaller values")
    return float(grid[int(np.argmin(means))])


def at_edge(lr: float, grid: Sequence[float]) -> bool:
    """True when ``lr`` is the smallest or largest α of ``grid``: the optimum may lie outside it."""
    return lr in (min(grid), max(grid))


def evaluate(rule: str, lr: float, seeds: Sequence[int] = SEEDS, epochs: int = EPOCHS) -> dict[str, Any]:
    """The one use of the test set: ``rule`` at its chosen ``lr``, trained on fit + validation, once per seed.

    Returns ``{"loss", "accuracy", "train loss"}`` (arrays of one value per seed) and ``"curves"``
    (the mean test loss, test accuracy and training loss after every epoch).
    """
    finals = np.empty((len(seeds), 3))
    curves = {name: np.empty((len(seeds), epochs + 1)) for name in ("test loss", "test accuracy", "training loss")}
    for j, seed in enumerate(seeds):
        h = run(rule, lr, seed, on="testing", epochs=epochs)
        finals[j] = _finals(h)
        for name, values in (("test loss", h.test_loss), ("test accuracy", h.test_accuracy),
                             ("training loss", h.train_loss)):
            curves[name][j] = _curve(values, epochs)
    return {"loss": finals[:, 0], "accuracy": finals[:, 1], "train loss": finals[:, 2],
            "curves": {k: v.mean(axis=0) for k, v in curves.items()}}


def budget(results: Mapping[str, Any]) -> dict[str, int]:
    """Epochs of tuning each optimizer was given: grid points × seeds × epochs (equal for all by construction)."""
    settings = results["settings"]
    return {rule: len(settings["grid"]) * len(settings["seeds"]) * settings["epochs"] for rule in results["tuning"]}


def compute(rules: Sequence[str] = RULES_COMPARED, grid: Sequence[float] = GRID, seeds: Sequence[int] = SEEDS,
            epochs: int = EPOCHS, progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """The whole experiment: tune every rule on validation, choose its α, then test each once.

    The test runs start only after every choice is made, and read nothing but the chosen α.
    """
    say = progress or (lambda message: None)
    start = time.perf_counter()
    tuning = {}
    for rule in rules:
        tuning[rule] = tune(rule, grid, seeds, epochs)
        say(f"tuned {rule} ({tuning[rule]['seconds']:.0f} s of training)")
    chosen = {rule: choose(tuning[rule]["loss"], grid) for rule in rules}
    tested = {}
    for rule in rules:
        tested[rule] = evaluate(rule, chosen[rule], seeds, epochs)
        say(f"tested {rule} at α = {chosen[rule]:.3g}")
    return {
        "settings": {"rules": list(rules), "grid": [float(lr) for lr in grid], "seeds": [int(s) for s in seeds],
                     "epochs": int(epochs), "batch_size": BATCH_SIZE, "sizes": list(SIZES), "chosen by": METRIC,
                     "split": "digits: test 25 % (seed 0); the rest into fit 75 % and validation 25 % (seed 1)"},
        "tuning": tuning, "chosen": chosen, "test": tested,
        "seconds": round(time.perf_counter() - start, 1),
    }


# -- storing the results ------------------------------------------------------------------------
def _plain(value: Any, digits: int | None = None) -> Any:
    """``value`` made JSON-ready: arrays to lists, non-finite numbers to None, curves rounded."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v, 6 if k == "curves" else digits) for k, v in value.items()}
    if isinstance(value, (np.ndarray, list, tuple)):
        return [_plain(v, digits) for v in value]
    if isinstance(value, (float, np.floating)):
        value = float(value)
        if not math.isfinite(value):
            return None
        return float(f"{value:.{digits}g}") if digits else value
    if isinstance(value, np.integer):
        return int(value)
    return value


def save(results: Mapping[str, Any], path: str | Path = RESULTS) -> Path:
    """Write :func:`compute`'s results as JSON (diverged runs' infinite losses as null)."""
    path = Path(path)
    path.write_text(json.dumps(_plain(results), indent=1) + "\n")
    return path


def _arrays(value: Any, missing: float) -> Any:
    if isinstance(value, list):
        return np.array([missing if v is None else v for v in value], dtype=float) if not value or not isinstance(
            value[0], list) else np.array([_arrays(v, missing) for v in value])
    return value


def load(path: str | Path = RESULTS) -> dict[str, Any]:
    """Read the results written by :func:`save`: numbers back as arrays, null losses as inf, null accuracies as NaN."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no results at {path}: run `python lessons/results/compute.py 08` in the course's "
                                f"folder to compute them (a few minutes), or pass the path of the JSON file")
    raw = json.loads(path.read_text())

    def convert(node: Any, key: str = "") -> Any:
        if isinstance(node, dict):
            return {k: convert(v, k) for k, v in node.items()}
        if isinstance(node, list) and node and all(isinstance(v, (int, float, list)) or v is None for v in node) \
                and key not in ("settings", "rules", "seeds"):
            return _arrays(node, float("nan") if "accuracy" in key else float("inf"))
        return node

    results = convert(raw)
    results["settings"] = raw["settings"]
    return results


# -- what the lesson reads off the results --------------------------------------------------------
def on_validation(results: Mapping[str, Any], rule: str) -> tuple[float, float]:
    """Mean final validation loss at ``rule``'s chosen α, with the half-width of its interval."""
    grid = results["settings"]["grid"]
    return interval(results["tuning"][rule]["loss"][grid.index(results["chosen"][rule])])


def on_test(results: Mapping[str, Any], rule: str, metric: str = "loss") -> tuple[float, float]:
    """Mean final test ``metric`` (``"loss"``, ``"accuracy"`` or ``"train loss"``) of ``rule``, with its interval."""
    return interval(results["test"][rule][metric])


def summary(results: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One row per optimizer: chosen α, whether it is at the grid's edge, validation and test with intervals."""
    grid = results["settings"]["grid"]
    return [{"rule": rule, "lr": results["chosen"][rule], "at edge": at_edge(results["chosen"][rule], grid),
             "validation loss": on_validation(results, rule), "test loss": on_test(results, rule, "loss"),
             "test accuracy": on_test(results, rule, "accuracy"), "train loss": on_test(results, rule, "train loss")}
            for rule in results["tuning"]]


def paired(results: Mapping[str, Any], a: str, b: str, metric: str = "loss") -> tuple[float, float]:
    """The interval of ``a``'s test ``metric`` minus ``b``'s, paired by seed (same initial parameters, same batches)."""
    return interval(np.asarray(results["test"][a][metric]) - np.asarray(results["test"][b][metric]))


def verdicts(results: Mapping[str, Any], metric: str = "loss") -> dict[str, Any]:
    """What the test intervals support: the best optimizer by mean test ``metric``, and for every other one
    the paired interval of its difference from the best and whether that interval excludes 0.

    Returns ``{"best": rule, "worse": [rules], "unresolved": [rules], "differences": {rule: (mean, half)}}``:
    ``worse`` are the optimizers whose difference from the best is of the losing sign with an interval that
    excludes 0; ``unresolved`` those whose interval contains 0 (no difference is claimed for them).
    """
    larger_better = metric == "accuracy"
    means = {rule: float(np.mean(results["test"][rule][metric])) for rule in results["test"]}
    best = (max if larger_better else min)(means, key=means.get)
    differences = {rule: paired(results, rule, best, metric) for rule in means if rule != best}
    sign = -1.0 if larger_better else 1.0  # the losing direction of (rule − best)
    worse = [rule for rule, (mean, half) in differences.items() if sign * mean - half > 0]
    return {"best": best, "worse": worse, "unresolved": [r for r in differences if r not in worse],
            "differences": differences}


def winners_by_seed(results: Mapping[str, Any], metric: str = "loss") -> list[str]:
    """For each seed, the optimizer with the best final test ``metric`` from that seed alone."""
    rules = list(results["test"])
    values = np.array([results["test"][rule][metric] for rule in rules])  # (rules, seeds)
    pick = np.argmax if metric == "accuracy" else np.argmin
    return [rules[i] for i in pick(values, axis=0)]


def sensitivity(results: Mapping[str, Any]) -> dict[str, Any]:
    """How much α matters next to the choice of optimizer, in mean final validation loss.

    ``"across optimizers"``: the largest minus the smallest of the optimizers' best means;
    ``"within"``: for each optimizer, its worst grid mean (over the α that train) minus its best;
    ``"factor 3"``: for each optimizer, the larger of its two neighbours' means minus its best
    (what a step of half a decade away from the chosen α costs); ``"shared"``: for each α of the grid,
    the largest minus the smallest of the optimizers' means when all of them use that α.
    """
    grid = results["settings"]["grid"]
    means = {rule: np.asarray(r["loss"]).mean(axis=1) for rule, r in results["tuning"].items()}
    best = {rule: float(np.min(m)) for rule, m in means.items()}
    within = {rule: float(np.max(m[np.isfinite(m)]) - best[rule]) for rule, m in means.items()}
    neighbours = {}
    for rule, m in means.items():
        i = grid.index(results["chosen"][rule])
        neighbours[rule] = float(max(m[j] for j in (i - 1, i + 1) if 0 <= j < len(grid)) - best[rule])
    table = np.array(list(means.values()))  # (rules, grid)
    shared = {float(lr): float(np.max(table[:, i]) - np.min(table[:, i])) for i, lr in enumerate(grid)}
    return {"across optimizers": max(best.values()) - min(best.values()), "within": within,
            "factor 3": neighbours, "shared": shared, "best": best}


def settled(results: Mapping[str, Any], last: int = 5) -> dict[str, float]:
    """For each optimizer at its chosen α: how much its mean validation loss changed over the ``last`` epochs,
    relative to its final value (``|L_T − L_{T−last}| / L_T``): small when the runs are long enough to have settled."""
    grid = results["settings"]["grid"]
    out = {}
    for rule, tuning in results["tuning"].items():
        curve = np.asarray(tuning["curves"]["validation loss"][grid.index(results["chosen"][rule])], dtype=float)
        out[rule] = float(abs(curve[-1] - curve[-1 - last]) / curve[-1])
    return out


def shifted(results: Mapping[str, Any], rule: str, other: str, factor: float) -> dict[str, Any]:
    """Compare ``rule`` at every α with ``other`` at ``factor``·α (the α of the grid where both were run).

    Heavy-ball momentum with a steady gradient moves :math:`\\alpha/(1-\\mu)` per step, so with μ = 0.9 it
    should behave like SGD at ten times its α. Returns ``{"pairs": [(α, factor·α)], "relative":
    max |L_rule(α) − L_other(factor·α)| / L_other(factor·α)}`` over the mean final validation losses.
    """
    grid = list(results["settings"]["grid"])
    pairs, gaps = [], []
    for i, lr in enumerate(grid):
        match = [j for j, g in enumerate(grid) if math.isclose(g, factor * lr, rel_tol=1e-9)]
        if not match:
            continue
        a = float(np.mean(results["tuning"][rule]["loss"][i]))
        b = float(np.mean(results["tuning"][other]["loss"][match[0]]))
        pairs.append((lr, grid[match[0]]))
        gaps.append(abs(a - b) / b)
    if not pairs:
        raise ValueError(f"no α of the grid has {factor:g}·α in the grid too")
    return {"pairs": pairs, "relative": float(max(gaps))}


# -- why Adam, AdamW and AMSGrad end so close -----------------------------------------------------
def adam_family(lr: float, seed: int = 0, epochs: int = EPOCHS, weight_decay: float | None = None) -> dict[str, Any]:
    r"""Adam, AdamW and AMSGrad trained from the same seed at the same ``lr``, with what separates them measured.

    AdamW is Adam after :math:`p \leftarrow p - \alpha\lambda p`: the run records the size of that decay
    next to the size of the Adam step that follows, summed over every parameter and step. AMSGrad is
    Adam dividing by :math:`\sqrt{\max(v_{\max}, v)}`: the run records how often the maximum binds
    (:math:`v_{\max} > v`, so AMSGrad's step is smaller than Adam's would be from the same state) and
    by how much. The three runs are :func:`run`'s, with the reference rules wrapped to record.

    Returns
    -------
    dict
        ``"histories"``: the three runs by name; ``"decay"``: ``{"lambda", "per step"`` (αλ),
        ``"shrink"`` (:math:`(1-\alpha\lambda)^T`, what the decay alone would do to a weight over
        the run), ``"ratio"`` (total :math:`|\alpha\lambda p|` over total :math:`|\text{Adam step}|`)};
        ``"max"``: ``{"binds"`` (fraction of (step, parameter) pairs where the maximum binds),
        ``"binds last epoch"``, ``"step ratio"`` (median :math:`\sqrt{v/v_{\max}}` where it binds: how
        much smaller the step is there), ``"smallest 1 %"`` (the 1st percentile of that ratio)}; ``"validation loss"``: each run's final validation loss.
    """
    lam = _table.get("adamw").defaults["weight_decay"] if weight_decay is None else float(weight_decay)
    decay = {"decay": 0.0, "steps": 0.0, "t": 0}
    binds: list[tuple[int, int, int]] = []  # (step, binding entries, entries)
    ratios: list[np.ndarray] = []

    def adamw(param, grad, state, *, lr, **hp):
        decayed = param - lr * lam * param
        new, new_state = kernels.adam(decayed, grad, state, lr=lr, **hp)
        decay["decay"] += float(np.abs(param - decayed).sum())
        decay["steps"] += float(np.abs(new - decayed).sum())
        decay["t"] = max(decay["t"], new_state["t"])
        return new, new_state

    def amsgrad(param, grad, state, *, lr, **hp):
        new, new_state = kernels.amsgrad(param, grad, state, lr=lr, **hp)
        bound = new_state["v_max"] > new_state["v"]
        binds.append((new_state["t"], int(bound.sum()), bound.size))
        if bound.any():
            ratios.append(np.sqrt(new_state["v"][bound] / new_state["v_max"][bound]))
        return new, new_state

    histories = {"adam": run("adam", lr, seed, epochs=epochs), "adamw": run(adamw, lr, seed, epochs=epochs),
                 "amsgrad": run(amsgrad, lr, seed, epochs=epochs)}
    steps = decay["t"]
    per_epoch = steps // epochs if epochs else steps
    table = np.array(binds, dtype=float)
    last = table[:, 0] > steps - per_epoch
    return {
        "histories": histories,
        "decay": {"lambda": lam, "per step": lr * lam, "steps": steps, "shrink": (1 - lr * lam) ** steps,
                  "ratio": decay["decay"] / decay["steps"]},
        "max": {"binds": float(table[:, 1].sum() / table[:, 2].sum()),
                "binds last epoch": float(table[last, 1].sum() / table[last, 2].sum()),
                "step ratio": float(np.median(np.concatenate(ratios))) if ratios else 1.0,
                "smallest 1 %": float(np.quantile(np.concatenate(ratios), 0.01)) if ratios else 1.0},
        "validation loss": {name: _finals(h)[0] for name, h in histories.items()},
    }
