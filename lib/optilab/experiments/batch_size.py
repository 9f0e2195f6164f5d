r"""Lesson 10's batch-size experiments, on the breast-cancer MLP of lab 7: computations only.

* :func:`gradient_noise` — the gradient-noise scale :math:`B_\text{simple} = \operatorname{tr}\Sigma/\lVert G\rVert^2`
  of McCandlish et al. (2018) from every example's gradient, as lesson 02 measures its noise
  (:func:`lesson02_noise`, :func:`noise_during_training`).
* :func:`steps_to_targets` — steps to a training loss for a grid of rates and seeds at one batch size, all runs
  trained together; the whole sweep over batch sizes (:func:`compute_batch_sweep`) takes minutes, so
  ``python lessons/results/compute.py 10`` runs it and saves it with the library (:data:`BATCH_RESULTS`), and the
  lesson reads it (:func:`load_batch_sweep`) and fits :math:`S = S_\min(1 + B_\text{noise}/B)` to it
  (:func:`fit_steps`, :func:`batch_size_summary`).

The set-up (data, MLP, minibatch size) is :mod:`optilab.experiments.training_in_practice`'s; the figures
are in :mod:`optilab.widgets.training_in_practice`.
"""

from __future__ import annotations

import functools
import json
import math
from importlib import resources
from pathlib import Path
from typing import Any, Callable

import numpy as np

from optilab import data, models
from optilab.experiments.training_in_practice import BATCH, SIZES, interval, setup
from optilab.optimizer import Optimizer

__all__ = ["BATCH_SIZES", "LR_GRID", "SWEEP_SEEDS", "TARGETS", "SLACK", "MAX_STEPS", "MAX_GROWTH", "BATCH_RESULTS", "gradient_noise", "lesson02_noise", "noise_during_training", "steps_to_targets", "compute_batch_sweep", "save_batch_sweep", "load_batch_sweep", "median_interval", "noise_factor", "fit_steps", "predicted_steps", "tuned", "batch_size_summary"]


# -- batch size and the learning rate -------------------------------------------------------------
#: The batch sizes of the sweep (``None``: the whole fit set, plain gradient descent).
BATCH_SIZES: tuple[int | None, ...] = (4, 8, 16, 32, 64, 128, 256, None)
#: Its learning-rate grid: 0.1 to 72, a factor √2 apart (so doubling a rate is two steps of the grid).
LR_GRID: tuple[float, ...] = tuple(float(0.1 * 2.0 ** (k / 2)) for k in range(20))
#: Its seeds (each fixes the initial weights and the order of the minibatches).
SWEEP_SEEDS: tuple[int, ...] = tuple(range(10))
#: The training losses (on the whole fit set) whose first crossing is counted; the last is the lesson's target.
TARGETS: tuple[float, ...] = (0.1, 0.06, 0.04)
#: A run is stopped once it has taken SLACK times the steps of the fastest rate's median (it cannot be the best),
#: or MAX_STEPS steps, or its loss is not finite or above MAX_GROWTH times its start (it diverged).
SLACK, MAX_STEPS, MAX_GROWTH = 4.0, 6000, 1e3
#: The sweep's numbers, written by ``python lessons/results/compute.py 10`` and shipped with the library.
BATCH_RESULTS: Path = Path(str(resources.files("optilab") / "datasets" / "lesson10_batch_size.json"))


def gradient_noise(model: Any, params: dict[str, np.ndarray], X: np.ndarray, y: np.ndarray) -> dict[str, float]:
    r"""The gradient-noise scale of McCandlish et al. (2018) at ``params``, from every example's own gradient.

    With :math:`g_i` the gradient of example :math:`i`'s loss and :math:`G = \frac1n\sum_i g_i` the full gradient:
    :math:`\operatorname{tr}\Sigma = \frac1n \sum_i \lVert g_i - G\rVert^2` (lesson 02's :math:`\sigma^2`) and

    .. math::  B_\text{simple} = \frac{\operatorname{tr}\Sigma}{\lVert G\rVert^2},

    the batch size at which a minibatch gradient's noise, :math:`\mathbb E\lVert g_B - G\rVert^2 \approx
    \operatorname{tr}\Sigma / B`, is as large as the signal :math:`\lVert G\rVert^2`. Each :math:`g_i` is
    ``model.loss_and_grads`` on the one example, as lesson 02 computes them.

    Returns ``{"trace": tr Σ, "signal": ‖G‖², "b_simple": their ratio}``.
    """
    X, y = np.asarray(X), np.asarray(y)
    rows = [np.concatenate([g.ravel() for g in model.loss_and_grads(params, X[i:i + 1], y[i:i + 1])[1].values()])
            for i in range(len(X))]
    per_example = np.array(rows)
    G = per_example.mean(axis=0)
    trace = float(np.mean(np.sum((per_example - G) ** 2, axis=1)))
    signal = float(G @ G)
    return {"trace": trace, "signal": signal, "b_simple": trace / signal}


def lesson02_noise() -> dict[str, float]:
    """:func:`gradient_noise` where lesson 02 measures it: its logistic regression at p = 0, on its training set."""
    from optilab.experiments import sgd as lesson02

    split = lesson02.breast_cancer_split()
    model = models.LogisticRegression(split.X_train.shape[1])
    return gradient_noise(model, model.init(seed=0), split.X_train, split.y_train)


@functools.lru_cache(maxsize=None)
def noise_during_training(seed: int, lr: float = 1.0, levels: tuple[float, ...] = TARGETS,
                          max_steps: int = 2000) -> np.ndarray:
    """:func:`gradient_noise` of the MLP at its initialisation and where SGD (minibatches of BATCH, rate ``lr``,
    from ``seed``) first brings the loss on the whole fit set to each of ``levels``.

    Returns an array of shape (1 + len(levels), 3): for each point, tr Σ, ‖G‖² and B_simple (NaN if never
    reached).
    """
    mlp, (X, y, _, _) = setup()
    params = mlp.init(seed)

    def measure(p: dict[str, np.ndarray]) -> list[float]:
        noise = gradient_noise(mlp, p, X, y)
        return [noise["trace"], noise["signal"], noise["b_simple"]]

    out = [measure(params)]
    optimizer = Optimizer("sgd", lr=lr)
    pending, t, epoch = list(levels), 0, 0
    while pending and t < max_steps:
        for X_batch, y_batch in data.minibatches(X, y, BATCH, seed=seed, epoch=epoch):
            params = optimizer.step(params, mlp.loss_and_grads(params, X_batch, y_batch)[1])
            t += 1
            loss = mlp.loss(params, X, y)
            while pending and loss <= pending[0]:
                out.append(measure(params))
                pending.pop(0)
            if not pending or t >= max_steps:
                break
        epoch += 1
    return np.array(out + [[np.nan] * 3] * len(pending))


def _fit_losses(mlp: models.MLP, X: np.ndarray, y: np.ndarray, W1, b1, W2, b2) -> np.ndarray:
    """The mean cross-entropy on (X, y) of K two-layer MLPs at once (stacked parameters)."""
    out = np.tanh(np.matmul(X, W1) + b1[:, None, :]) @ W2 + b2[:, None, :]
    top = out.max(axis=2, keepdims=True)
    log_z = np.log(np.exp(out - top).sum(axis=2)) + top[..., 0]
    return (log_z - out[:, np.arange(len(y)), y]).mean(axis=1)


def steps_to_targets(batch_size: int | None, lrs: tuple[float, ...] = LR_GRID,
                     seeds: tuple[int, ...] = SWEEP_SEEDS, targets: tuple[float, ...] = TARGETS,
                     slack: float = SLACK, max_steps: int = MAX_STEPS) -> np.ndarray:
    r"""The steps SGD takes until the loss on the whole fit set first reaches each target, for every rate and seed.

    Every (rate, seed) pair is the run ``whole_model.train("sgd", mlp, ..., batch_size=batch_size, lr=rate,
    seed=seed)`` would make (the MLP of :func:`setup`, the batches of :func:`optilab.data.minibatches`), all
    trained together as stacked arrays, with the fit loss measured after every step. A run stops once it
    reaches the last target, diverges (loss not finite or above MAX_GROWTH × its start), or has taken
    ``slack`` times the steps of the fastest rate's median for the last target, or ``max_steps``.

    Returns an array of shape (len(targets), len(lrs), len(seeds)): the step count (1 after the first step),
    inf where the run never reached the target.
    """
    mlp, (X, y, _, _) = setup()
    n = len(X)
    B = n if batch_size is None else int(batch_size)
    if not 1 <= B <= n:
        raise ValueError(f"batch_size must be between 1 and {n} (the fit set) or None, got {batch_size}")
    Y = np.eye(2)[y]
    L, S, T = len(lrs), len(seeds), len(targets)
    rate = np.repeat(np.asarray(lrs, dtype=float), S)
    seed_of = np.tile(np.asarray(seeds, dtype=int), L)
    start = [mlp.init(int(s)) for s in seed_of]
    W1, b1, W2, b2 = (np.stack([p[k] for p in start]) for k in ("W1", "b1", "W2", "b2"))
    limit = MAX_GROWTH * _fit_losses(mlp, X, y, W1, b1, W2, b2)
    steps = np.full((T, L * S), np.inf)
    alive = np.arange(L * S)
    best, t, epoch = np.inf, 0, 0
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        while alive.size and t < max_steps:
            orders = {int(s): np.random.default_rng((int(s), epoch)).permutation(n) for s in seeds}
            for first in range(0, n, B):
                batch = np.stack([orders[int(s)][first:first + B] for s in seed_of[alive]])
                Xb, Yb = X[batch], Y[batch]
                h = np.tanh(Xb @ W1 + b1[:, None, :])
                out = h @ W2 + b2[:, None, :]
                p = np.exp(out - out.max(axis=2, keepdims=True))
                delta = (p / p.sum(axis=2, keepdims=True) - Yb) / batch.shape[1]
                back = (delta @ W2.transpose(0, 2, 1)) * (1.0 - h * h)
                lr = rate[alive]
                W1, b1 = W1 - lr[:, None, None] * (Xb.transpose(0, 2, 1) @ back), b1 - lr[:, None] * back.sum(axis=1)
                W2, b2 = W2 - lr[:, None, None] * (h.transpose(0, 2, 1) @ delta), b2 - lr[:, None] * delta.sum(axis=1)
                t += 1
                loss = _fit_losses(mlp, X, y, W1, b1, W2, b2)
                for k, target in enumerate(targets):
                    hit = (loss <= target) & np.isinf(steps[k, alive])
                    steps[k, alive[hit]] = t
                best = min(best, float(np.min(np.median(steps[-1].reshape(L, S), axis=1))))
                keep = np.isinf(steps[-1, alive]) & np.isfinite(loss) & (loss <= limit[alive]) & (t < slack * best)
                if not keep.all():
                    alive = alive[keep]
                    W1, b1, W2, b2 = W1[keep], b1[keep], W2[keep], b2[keep]
                if not alive.size or t >= max_steps:
                    break
            epoch += 1
    return steps.reshape(T, L, S)


def compute_batch_sweep(batch_sizes: tuple[int | None, ...] = BATCH_SIZES, lrs: tuple[float, ...] = LR_GRID,
                        seeds: tuple[int, ...] = SWEEP_SEEDS, targets: tuple[float, ...] = TARGETS,
                        progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """:func:`steps_to_targets` for every batch size: the whole sweep (a few minutes), as :func:`save_batch_sweep`
    stores it."""
    import time

    say = progress or (lambda message: None)
    n = len(setup()[1][0])
    start = time.perf_counter()
    steps = []
    for B in batch_sizes:
        steps.append(steps_to_targets(B, lrs, seeds, targets))
        say(f"B = {B or 'full'}: {time.perf_counter() - start:.0f} s")
    return {"settings": {"batch sizes": [n if B is None else int(B) for B in batch_sizes], "n": n,
                         "lrs": [float(lr) for lr in lrs], "seeds": [int(s) for s in seeds],
                         "targets": [float(t) for t in targets], "slack": SLACK, "max steps": MAX_STEPS,
                         "sizes": list(SIZES)},
            "steps": np.stack(steps, axis=1),  # (targets, batch sizes, lrs, seeds)
            "seconds": round(time.perf_counter() - start, 1)}


def save_batch_sweep(results: dict[str, Any], path: str | Path = BATCH_RESULTS) -> Path:
    """Write :func:`compute_batch_sweep`'s results as JSON (a run that never reached a target as null)."""
    steps = [[[[None if not np.isfinite(v) else int(v) for v in row] for row in table] for table in per_target]
             for per_target in np.asarray(results["steps"])]
    path = Path(path)
    path.write_text(json.dumps({"settings": results["settings"], "seconds": results["seconds"]}, indent=1)[:-2]
                    + ',\n "steps": ' + json.dumps(steps, separators=(",", ":")) + "\n}\n")
    return path


def load_batch_sweep(path: str | Path = BATCH_RESULTS) -> dict[str, Any]:
    """Read the sweep written by :func:`save_batch_sweep`: ``"steps"`` back as an array, null as inf."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no batch-size sweep at {path}: run `python lessons/results/compute.py 10` in the "
                                f"course's folder to compute it (a few minutes), or pass the path of the JSON file")
    raw = json.loads(path.read_text())
    steps = np.array([[[[np.inf if v is None else v for v in row] for row in table] for table in per_target]
                      for per_target in raw["steps"]], dtype=float)
    return {"settings": raw["settings"], "steps": steps, "seconds": raw["seconds"]}


def median_interval(values: np.ndarray, level: float = 0.95) -> tuple[float, float, float, float]:
    r"""(median, low, high, coverage): the median of ``values`` and a distribution-free interval for it.

    With the values sorted, :math:`[x_{(k)}, x_{(n+1-k)}]` contains the true median with probability
    :math:`1 - 2\,P(\text{Binomial}(n, \tfrac12) \le k - 1)`; ``k`` is the largest that keeps this at least
    ``level`` (for 10 seeds: the 2nd and 9th values, 97.9 %). With too few values for ``level``, the whole range
    and its coverage. Infinite values (runs that never arrived) sort last.
    """
    x = np.sort(np.asarray(values, dtype=float))
    n = len(x)
    cdf = np.cumsum([math.comb(n, i) for i in range(n + 1)]) / 2.0 ** n  # P(Bin(n, 1/2) <= i)
    k = 1
    while k + 1 <= n // 2 and 1 - 2 * cdf[k] >= level:
        k += 1
    return float(np.median(x)), float(x[k - 1]), float(x[n - k]), float(1 - 2 * cdf[k - 1])


def noise_factor(batch_size: float, n: int) -> float:
    """How a batch of ``batch_size`` distinct examples of ``n`` scales the noise of one example's gradient:
    (n − B)/((n − 1) B), :func:`optilab.theory.minibatch_variance_factor` (about 1/B, and 0 for the full batch),
    here for any real B between 1 and n, so that a fitted curve can be drawn through the batch sizes."""
    B = float(batch_size)
    if not 1 <= B <= n:
        raise ValueError(f"batch_size must be between 1 and n = {n}, got {batch_size}")
    return (n - B) / ((n - 1) * B)


def fit_steps(batch_sizes: Any, steps: Any, n: int) -> tuple[float, float]:
    r"""(S_min, B_noise) of McCandlish et al.'s :math:`S = S_\min (1 + B_\text{noise}\,\varphi(B))`, fitted to
    ``steps``.

    :math:`\varphi(B) = (n-B)/((n-1)B)` is the noise of a batch relative to one example's (the paper's
    :math:`1/B` for batches drawn from endless data; 0 for the full batch here). The model is linear in
    :math:`S_\min` and :math:`S_\min B_\text{noise}`: least squares on the relative errors
    :math:`(S_i - \hat S_i)/S_i`. Points with infinite steps are left out.
    """
    B, S = np.asarray(batch_sizes, dtype=float), np.asarray(steps, dtype=float)
    ok = np.isfinite(S)
    if ok.sum() < 2:
        raise ValueError("fit_steps needs the steps of at least two batch sizes")
    phi = np.array([noise_factor(b, n) for b in B[ok]])
    A = np.stack([np.ones_like(phi), phi], axis=1) / S[ok, None]
    (a, c), *_ = np.linalg.lstsq(A, np.ones(ok.sum()), rcond=None)
    return float(a), float(c / a)


def predicted_steps(batch_size: float, s_min: float, b_noise: float, n: int) -> float:
    """:math:`S_\\min(1 + B_\\text{noise}\\,\\varphi(B))`: the steps :func:`fit_steps`'s model predicts."""
    return s_min * (1.0 + b_noise * noise_factor(batch_size, n))


def tuned(results: dict[str, Any], target: float | None = None) -> list[dict[str, Any]]:
    """For each batch size of the sweep: the rate of the grid with the fewest median steps to ``target`` (the last
    target by default; ties: the narrower interval), with the median, its interval and every seed's steps."""
    settings = results["settings"]
    k = len(settings["targets"]) - 1 if target is None else settings["targets"].index(target)
    rows = []
    for i, B in enumerate(settings["batch sizes"]):
        table = results["steps"][k, i]
        stats = [median_interval(row) for row in table]
        j = min(range(len(table)), key=lambda j: (stats[j][0], stats[j][2], settings["lrs"][j]))
        median, low, high, coverage = stats[j]
        rows.append({"batch size": B, "lr index": j, "lr": settings["lrs"][j], "median": median, "low": low,
                     "high": high, "coverage": coverage, "steps": table[j]})
    return rows


def batch_size_summary(results: dict[str, Any], target: float | None = None,
                       tolerance: float = 1.25) -> dict[str, Any]:
    r"""What lesson 10 reads off the sweep at ``target`` (the last by default).

    ``"tuned"``: :func:`tuned`'s rows; ``"fit"``: (S_min, B_noise) fitted to the medians; ``"per seed"``: B_noise
    fitted to each seed's steps (at the tuned rates) and ``"interval"``, their mean and 95 % t half-width;
    ``"doubling"``: for each batch size but the last, median steps at B over median steps at the next (measured)
    and as the fit predicts; ``"linear"``: the linear-scaling rule from the smallest batch, :math:`\alpha(B) =
    \alpha^*(B_0)\,B/B_0`, for each B on the grid: (B, rate, median steps there, tuned median steps);
    ``"linear holds to"``: the largest B up to which every linearly scaled rate takes at most ``tolerance`` times
    the tuned median; ``"alpha max"``: the full batch's tuned rate, and ``"crossing"``: the B at which the linear
    rule reaches it, :math:`B_0\,\alpha_\max/\alpha^*(B_0)`; ``"fit error"``: the largest relative gap between the
    fit and a median, and ``"fit inside"``: whether the fit passes through every median's interval.
    """
    settings = results["settings"]
    n, sizes, lrs = settings["n"], settings["batch sizes"], settings["lrs"]
    rows = tuned(results, target)
    s_min, b_noise = fit_steps(sizes, [r["median"] for r in rows], n)
    per_seed = []
    for j in range(len(settings["seeds"])):
        seed_steps = [r["steps"][j] for r in rows]
        if sum(np.isfinite(seed_steps)) >= 3:
            per_seed.append(fit_steps(sizes, seed_steps, n)[1])
    doubling = [(sizes[i], rows[i]["median"] / rows[i + 1]["median"],
                 predicted_steps(sizes[i], s_min, b_noise, n) / predicted_steps(sizes[i + 1], s_min, b_noise, n))
                for i in range(len(sizes) - 1)]
    k = len(settings["targets"]) - 1 if target is None else settings["targets"].index(target)
    base = rows[0]
    linear = []
    for i, B in enumerate(sizes):
        doublings = math.log2(B / base["batch size"])
        j = base["lr index"] + 2 * doublings  # the grid is √2 apart: doubling the rate is two of its steps
        if B == n or not float(j).is_integer() or j >= len(lrs):
            continue
        linear.append((B, lrs[int(j)], median_interval(results["steps"][k, i, int(j)])[0], rows[i]["median"]))
    holds = base["batch size"]
    for B, _, steps_there, best in linear:
        if steps_there > tolerance * best:
            break
        holds = B
    predicted = np.array([predicted_steps(r["batch size"], s_min, b_noise, n) for r in rows])
    medians = np.array([r["median"] for r in rows])
    return {"tuned": rows, "fit": (s_min, b_noise), "per seed": np.array(per_seed),
            "interval": interval(np.array(per_seed)), "doubling": doubling, "linear": linear, "linear holds to": holds,
            "alpha max": rows[-1]["lr"], "crossing": base["batch size"] * rows[-1]["lr"] / base["lr"],
            "fit error": float(np.max(np.abs(predicted - medians) / medians)),
            "fit inside": bool(all(r["low"] <= p <= r["high"] for r, p in zip(rows, predicted))),
            "target": settings["targets"][k], "n": n}
