r"""Lesson 10's experiments (training in practice), on the breast-cancer MLP of lab 7: computations only.

* :func:`range_test` — fast.ai's learning-rate range test on the MLP (:mod:`optilab.lr_finder`).
* :func:`validation_losses` — the final validation loss of plain SGD, one run per seed, at any lr or
  schedule: how the lesson checks the range test's suggestions and compares schedules.
* :func:`schedules_at` — constant, warm-up + cosine, one-cycle and warm-up/stable/decay at one peak lr.
* :func:`clipping_directions` — how far from the gradient's direction global and per-array clipping step.
* :func:`update_ratios` — CS231n's diagnostic, :math:`\|\Delta W\| / \|W\|` of each weight matrix at
  every step: about :math:`10^{-3}` is healthy, much larger is a learning rate too large.
* The batch size and the learning rate (the gradient-noise scale, steps to a target against the batch
  size): :mod:`optilab.experiments.batch_size`.

Every run is cached; the figures are in :mod:`optilab.widgets` (none here).
"""

from __future__ import annotations

import functools
import math
from typing import Any, Callable

import numpy as np

from optilab import data, lr_finder, models, schedules, whole_model
from optilab.optimizer import Optimizer

__all__ = ["EPOCHS", "BATCH", "SEEDS", "SIZES", "setup", "steps", "range_test", "validation_losses", "schedules_at",
           "update_ratios", "interval", "clipping_directions"]

#: Passes over the fit set, examples per step, the seeds, the MLP's sizes (30 features, 16 tanh units, 2 classes).
EPOCHS, BATCH, SEEDS, SIZES = 20, 32, (0, 1, 2, 3, 4), (30, 16, 2)
_T95 = {2: 12.71, 3: 4.303, 4: 3.182, 5: 2.776, 6: 2.571, 7: 2.447, 8: 2.365, 9: 2.306, 10: 2.262}


@functools.lru_cache(maxsize=1)
def setup() -> tuple[models.MLP, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """The MLP and ``(X_fit, y_fit, X_val, y_val)``: lab 7's split of the breast-cancer data (the test set
    is held out and never used here)."""
    X, y = data.load_breast_cancer()
    held_out = data.train_test_split(X, y, test_fraction=0.2, seed=0)
    dev = data.train_test_split(held_out.X_train, held_out.y_train, test_fraction=0.25, seed=1)
    X_fit, X_val = data.standardize(dev.X_train, dev.X_test)
    return models.MLP(SIZES), (X_fit, dev.y_train, X_val, dev.y_test)


def steps() -> int:
    """Steps in one run: EPOCHS passes of ⌈n_fit / BATCH⌉ minibatches."""
    return EPOCHS * math.ceil(len(setup()[1][0]) / BATCH)


@functools.lru_cache(maxsize=None)
def range_test(start_lr: float = 1e-3, end_lr: float = 1e2, seed: int = 0) -> lr_finder.RangeTest:
    """The range test of plain SGD on the MLP, 100 steps of minibatches of BATCH."""
    mlp, tuning = setup()
    return lr_finder.lr_range_test("sgd", mlp, tuning, start_lr=start_lr, end_lr=end_lr, steps=100,
                                   batch_size=BATCH, seed=seed)


def schedules_at(peak: float) -> dict[str, Callable[[int], float]]:
    """Four ways to use the peak rate ``peak`` over one run: constant; warm-up for a tenth, then a cosine;
    one-cycle (PyTorch's defaults); warm-up for a tenth, stable, a linear decay over the last fifth."""
    n = steps()
    return {"constant": schedules.constant(peak),
            "warm-up + cosine": schedules.warmup_cosine(peak, warmup_steps=n // 10, total_steps=n),
            "one-cycle": schedules.one_cycle(peak, total_steps=n),
            "warm-up, stable, decay": schedules.warmup_stable_decay(peak, warmup_steps=n // 10, total_steps=n,
                                                                     decay_steps=n // 5)}


@functools.lru_cache(maxsize=None)
def _final_validation(name: str, peak: float, seed: int) -> float:
    mlp, tuning = setup()
    lr: Any = peak if name == "lr" else schedules_at(peak)[name]
    history = whole_model.train("sgd", mlp, tuning, epochs=EPOCHS, batch_size=BATCH, lr=lr, seed=seed)
    return np.inf if history.diverged else float(history.test_loss[-1])


def validation_losses(peak: float, schedule: str = "constant") -> np.ndarray:
    """The final validation loss of SGD at peak rate ``peak`` with ``schedule`` (a name of
    :func:`schedules_at`), one per seed of SEEDS (inf for a run that diverged)."""
    name = "lr" if schedule == "constant" else schedule
    if name != "lr" and name not in schedules_at(1.0):
        raise ValueError(f"unknown schedule {schedule!r}: choose one of {', '.join(schedules_at(1.0))}")
    return np.array([_final_validation(name, float(peak), seed) for seed in SEEDS])


def interval(values: np.ndarray) -> tuple[float, float]:
    """(mean, half-width of the 95 % t interval)."""
    values = np.asarray(values, dtype=float)
    return float(values.mean()), float(_T95[len(values)] * values.std(ddof=1) / np.sqrt(len(values)))


@functools.lru_cache(maxsize=None)
def update_ratios(lr: float, seed: int = 0, epochs: int = 3) -> dict[str, np.ndarray]:
    r""":math:`\|W_{t+1} - W_t\| / \|W_t\|` of each weight matrix at every step of SGD at ``lr``."""
    mlp, (X, y, _, _) = setup()
    params = mlp.init(seed)
    optimizer = Optimizer("sgd", lr=lr)
    ratios: dict[str, list[float]] = {name: [] for name in params if name.startswith("W")}
    with np.errstate(over="ignore", invalid="ignore"):
        for epoch in range(epochs):
            for X_batch, y_batch in data.minibatches(X, y, BATCH, seed=seed, epoch=epoch):
                grads = mlp.loss_and_grads(params, X_batch, y_batch)[1]
                new = optimizer.step(params, grads)
                for name in ratios:
                    ratios[name].append(float(np.linalg.norm(new[name] - params[name]) / np.linalg.norm(params[name])))
                params = new
    return {name: np.array(values) for name, values in ratios.items()}


def clipping_directions(weight_norm: float = 100.0, bias_norm: float = 0.5,
                        max_norm: float = 1.0) -> dict[str, tuple[float, float]]:
    """A weight matrix and a bias whose gradients have norms ``weight_norm`` and ``bias_norm``, clipped to
    ``max_norm`` by the global norm (:func:`optilab.model_rules.clip_by_global_norm` around SGD) and array by
    array: for each, (the length of the SGD step at lr 1, the cosine between the step and −gradient)."""
    from optilab import model_rules

    grads = {"W": np.full((3, 4), weight_norm / math.sqrt(12)), "b": np.full(4, bias_norm / 2)}
    zeros = {k: np.zeros_like(g) for k, g in grads.items()}
    global_step = model_rules.clip_by_global_norm("sgd", max_norm)(zeros, grads, {}, lr=1.0)[0]
    per_array = {k: -g * min(1.0, max_norm / float(np.linalg.norm(g))) for k, g in grads.items()}
    flat_grad = np.concatenate([grads[k].ravel() for k in grads])
    out = {}
    for name, step in (("global", global_step), ("per array", per_array)):
        flat = np.concatenate([step[k].ravel() for k in grads])
        out[name] = (float(np.linalg.norm(flat)),
                     float(-flat @ flat_grad / (np.linalg.norm(flat) * np.linalg.norm(flat_grad))))
    return out
