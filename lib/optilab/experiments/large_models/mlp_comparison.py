r"""Lesson 09: the MLP on the digits, trained with one rule per parameter (Muon on the hidden
matrices, AdamW on the rest), several seeds, the learning rate chosen on a validation split, the
result reported on a test split.

:func:`comparison` takes minutes; ``python lessons/results/compute.py 09`` runs it and saves its
results with the library (:data:`RESULTS`, written by :func:`save_comparison`), which :func:`load_comparison` reads.
"""

from __future__ import annotations

import json
import math
from importlib import resources
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from optilab import data, models, schedules
from optilab import rules as _table
from optilab.experiments.large_models.shared import SIZES, digits_splits, matrix_rule, rule_named, schedule_free_rule


__all__ = ["T95", "interval", "train_mlp", "GRIDS", "comparison", "RESULTS", "save_comparison", "load_comparison",
           "summary", "paired_difference", "curves"]

#: The comparison's numbers, written by ``python lessons/results/compute.py 09`` and shipped with the library.
RESULTS: Path = Path(str(resources.files("optilab") / "datasets" / "lesson09_large_models.json"))


# -- the MLP on the digits, several seeds -----------------------------------------------------------------
#: Two-sided 95 % quantiles of Student's t distribution, by the number of values (n − 1 degrees of freedom).
T95: dict[int, float] = {2: 12.71, 3: 4.303, 4: 3.182, 5: 2.776, 6: 2.571, 7: 2.447, 8: 2.365, 9: 2.306, 10: 2.262}


def interval(values: Sequence[float]) -> tuple[float, float]:
    r"""The mean and the half-width of its 95 % t interval, :math:`t_{0.975, n-1}\, s/\sqrt n`."""
    values = np.asarray(values, dtype=float)
    n = len(values)
    if n not in T95:
        raise ValueError(f"interval needs 2 to 10 values; got {n}")
    return float(values.mean()), float(T95[n] * values.std(ddof=1) / math.sqrt(n))


def _setup(recipe: str, lr: float, total: int, other_lr: float | None) -> dict[str, tuple[Callable, Callable, dict]]:
    """For every parameter name pattern: (rule, schedule, hyperparameters) of a recipe."""
    warm = max(1, total // 20)
    if recipe == "adamw":
        return {"*": (rule_named("adamw"), schedules.warmup_cosine(lr, warm, total), {"weight_decay": 0.01})}
    if recipe == "muon":
        head = other_lr if other_lr is not None else lr
        return {"hidden": (rule_named(matrix_rule()), schedules.warmup_cosine(lr, warm, total), {"weight_decay": 0.01}),
                "*": (rule_named("adamw"), schedules.warmup_cosine(head, warm, total), {"weight_decay": 0.01})}
    if recipe == "schedule-free":
        return {"*": (rule_named(schedule_free_rule()), schedules.constant(lr), {"weight_decay": 0.01})}
    raise ValueError(f"unknown recipe {recipe!r}; choose adamw, muon or schedule-free")


def train_mlp(recipe: str, lr: float, *, seed: int = 0, epochs: int = 20, batch_size: int = 64,
              other_lr: float | None = None, checkpoints: int = 10) -> dict[str, Any]:
    r"""Train the lesson's MLP on :func:`digits_splits` with a recipe; evaluate at ``checkpoints`` points.

    * ``"adamw"``: AdamW on every parameter, warm-up (5 %) and cosine decay of :math:`\alpha`.
    * ``"muon"``: Muon on the hidden layers' weight matrices (every ``W`` but the last), AdamW on the
      output layer and the biases with ``other_lr`` (Muon's recipe), both with the same schedule.
    * ``"schedule-free"``: schedule-free AdamW with a constant :math:`\alpha`; the model is evaluated
      at the state entry the rule table names (``evaluate_at``), the gradient taken at the parameter.

    Every rule decays the weights with :math:`\lambda = 0.01` (decoupled) and keeps its other defaults.

    ``seed`` sets the initial parameters and the minibatches; every recipe sees the same ones.

    Returns
    -------
    dict
        ``"steps"`` (the step of each checkpoint), ``"train loss"``, ``"val loss"``, ``"val accuracy"``,
        ``"test loss"``, ``"test accuracy"`` (lists, one value per checkpoint), ``"diverged"``.
    """
    (X, y), (X_val, y_val), (X_test, y_test) = digits_splits()
    net = models.MLP(SIZES, activation="tanh")
    params = net.init(seed)
    per_epoch = math.ceil(len(X) / batch_size)
    total = epochs * per_epoch
    setup = _setup(recipe, float(lr), total, other_lr)
    last = f"W{net.n_layers}"
    evaluate_at = _table.get(schedule_free_rule()).evaluate_at if recipe == "schedule-free" else None
    states: dict[str, dict] = {name: {} for name in params}
    marks = {int(round(total * (i + 1) / checkpoints)) for i in range(checkpoints)}
    out: dict[str, Any] = {"steps": [], "train loss": [], "val loss": [], "val accuracy": [], "test loss": [],
                           "test accuracy": [], "diverged": False}
    t = 0
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for epoch in range(epochs):
            for X_batch, y_batch in data.minibatches(X, y, batch_size, seed=seed, epoch=epoch):
                loss, grads = net.loss_and_grads(params, X_batch, y_batch)
                if not np.isfinite(loss) or loss > 100:
                    out["diverged"] = True
                    return out
                for name in params:
                    key = "hidden" if ("hidden" in setup and name.startswith("W") and name != last) else "*"
                    rule, schedule, hyper = setup[key]
                    params[name], states[name] = rule(params[name], grads[name], states[name],
                                                      lr=schedule(t), **hyper)
                t += 1
                if t in marks:
                    judged = {k: states[k][evaluate_at] for k in params} if evaluate_at else params
                    out["steps"].append(t)
                    out["train loss"].append(net.loss(judged, X, y))
                    for split, (Xs, ys) in (("val", (X_val, y_val)), ("test", (X_test, y_test))):
                        out[f"{split} loss"].append(net.loss(judged, Xs, ys))
                        out[f"{split} accuracy"].append(net.accuracy(judged, Xs, ys))
    if not np.all(np.isfinite(out["train loss"])):
        out["diverged"] = True
    return out


#: The learning-rate grids of :func:`comparison`, one per recipe (a factor of about 3 apart).
GRIDS: dict[str, tuple[float, ...]] = {
    "adamw": (1e-3, 3e-3, 1e-2, 3e-2, 1e-1),
    "muon": (3e-3, 1e-2, 3e-2, 1e-1, 3e-1),
    "schedule-free": (1e-3, 3e-3, 1e-2, 3e-2, 1e-1),
}


def comparison(seeds: Sequence[int] = tuple(range(8)), grids: Mapping[str, Sequence[float]] = GRIDS,
               epochs: int = 20, progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    r"""AdamW with a tuned schedule, Muon, and schedule-free AdamW on the MLP: every seed, every grid point.

    AdamW is tuned first; Muon's run uses AdamW's chosen :math:`\alpha` for the parameters it does not
    step, and its own grid for the hidden matrices. For each recipe the learning rate with the
    lowest mean final *validation* loss over the seeds is chosen; the test split is only read at
    the chosen one.

    Returns
    -------
    dict
        ``"runs"``: recipe -> lr (as a string) -> list of :func:`train_mlp` results (one per seed);
        ``"chosen"``: recipe -> lr; ``"seeds"``, ``"epochs"``, ``"grids"``.
    """
    runs: dict[str, dict[str, list]] = {}
    chosen: dict[str, float] = {}
    for recipe in ("adamw", "muon", "schedule-free"):
        runs[recipe] = {}
        for lr in grids[recipe]:
            if progress:
                progress(f"{recipe} lr={lr:g}")
            runs[recipe][repr(float(lr))] = [train_mlp(recipe, lr, seed=s, epochs=epochs,
                                                       other_lr=chosen.get("adamw")) for s in seeds]
        chosen[recipe] = _choose(runs[recipe])
    return {"runs": runs, "chosen": chosen, "seeds": list(seeds), "epochs": epochs,
            "grids": {k: list(v) for k, v in grids.items()}}


def _final_val_loss(results: list[dict]) -> float:
    if any(r["diverged"] for r in results):
        return math.inf
    return float(np.mean([r["val loss"][-1] for r in results]))


def _choose(by_lr: Mapping[str, list[dict]]) -> float:
    scores = {float(lr): _final_val_loss(results) for lr, results in by_lr.items()}
    return min(scores, key=scores.get)


def _rounded(value: Any, digits: int = 6) -> Any:
    """Floats to ``digits`` significant digits, so that the saved file stays small and readable."""
    if isinstance(value, float):
        return float(f"{value:.{digits}g}")
    if isinstance(value, dict):
        return {k: _rounded(v, digits) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v, digits) for v in value]
    return value


def save_comparison(results: Mapping[str, Any], path: str | Path = RESULTS) -> Path:
    """Write :func:`comparison`'s results as JSON, every float to 6 significant digits."""
    path = Path(path)
    path.write_text(json.dumps(_rounded(dict(results))) + "\n", encoding="utf-8")
    return path


def load_comparison(path: str | Path = RESULTS) -> dict[str, Any]:
    """The results of :func:`comparison`, as :func:`save_comparison` wrote them."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no results at {path}: run `python lessons/results/compute.py 09` in the course's "
                                f"folder to compute them (a few minutes), or pass the path of the JSON file")
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def _at(results: Mapping[str, Any], recipe: str, lr: float | None = None) -> list[dict]:
    lr = results["chosen"][recipe] if lr is None else lr
    return results["runs"][recipe][repr(float(lr))]


def summary(results: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One row per recipe of :func:`comparison`: the chosen lr, whether it is inside the grid, and the
    final validation and test loss and accuracy at it, each a (mean, half-width) pair over the seeds."""
    rows = []
    for recipe, lr in results["chosen"].items():
        grid = sorted(float(x) for x in results["runs"][recipe])
        runs = _at(results, recipe)
        row = {"recipe": recipe, "lr": float(lr), "inside grid": grid[0] < float(lr) < grid[-1],
               "diverged at": [x for x in grid if any(r["diverged"] for r in results["runs"][recipe][repr(x)])]}
        for metric in ("val loss", "val accuracy", "test loss", "test accuracy"):
            row[metric] = interval([r[metric][-1] for r in runs])
        rows.append(row)
    return rows


def paired_difference(results: Mapping[str, Any], recipe: str, baseline: str = "adamw",
                      metric: str = "test loss", checkpoint: int = -1) -> tuple[float, float]:
    """``recipe`` minus ``baseline`` at their chosen learning rates, seed by seed: (mean, half-width).

    The same seed gives both runs the same initial parameters and minibatches, so the difference
    has less noise than the two means apart.
    """
    a, b = _at(results, recipe), _at(results, baseline)
    return interval([x[metric][checkpoint] - y[metric][checkpoint] for x, y in zip(a, b)])


def curves(results: Mapping[str, Any], metric: str = "val loss") -> dict[str, dict[str, np.ndarray]]:
    """For each recipe at its chosen lr: ``"steps"``, and the ``"mean"`` and ``"half width"`` of ``metric`` at every checkpoint."""
    out = {}
    for recipe in results["chosen"]:
        runs = _at(results, recipe)
        stats = np.array([interval([r[metric][i] for r in runs]) for i in range(len(runs[0][metric]))])
        out[recipe] = {"steps": np.array(runs[0]["steps"]), "mean": stats[:, 0], "half width": stats[:, 1]}
    return out
