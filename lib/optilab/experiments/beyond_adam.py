r"""Lesson 07's experiments: weight decay inside Adam or beside it, schedules, generalisation.

* :func:`decay_runs` — Adam with L2 decay against AdamW on weights whose gradients are pure
  noise of different sizes.
* :func:`adamw_paper` and :func:`pure_decay` — AdamW as Loshchilov & Hutter wrote it (decay
  scaled by the schedule multiplier :math:`\eta_t`) against PyTorch's (decay scaled by ``lr``).
* :func:`schedule_run` — SGD on a noisy Beale function under one of :data:`SCHEDULES`.
* :func:`wilson_runs` and :func:`wilson_errors` — training and test error on the dataset of
  Wilson et al. (2017), where adaptive methods fit perfectly and generalise badly.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from optilab import problems, schedules, training
from optilab.kernels import RULES

__all__ = [
    "GRADIENT_SCALES",
    "decay_runs",
    "adamw_paper",
    "pure_decay",
    "adamw_forms_gap",
    "SCHEDULES",
    "schedule_problem",
    "schedule_run",
    "wilson_runs",
    "wilson_errors",
]

#: Sizes of the gradient noise of the four groups of weights in :func:`decay_runs`.
GRADIENT_SCALES: tuple[float, ...] = (0.01, 0.1, 1.0, 10.0)


def decay_runs(weight_decay: float, *, lr: float = 0.02, steps: int = 300,
               scales: tuple[float, ...] = GRADIENT_SCALES, replicas: int = 256, seed: int = 0) -> dict[str, np.ndarray]:
    r"""The mean weight over time under Adam with L2 decay and under AdamW.

    Every weight starts at :math:`p = 1` and its loss gradient is pure noise,
    :math:`g = s\,\xi` with :math:`\xi \sim \mathcal N(0, 1)`: the loss does not care about
    the weight, so only the decay should move it on average. Each group of ``replicas``
    weights has its own noise size :math:`s` from ``scales``; half of them see the negatives
    of the other half's noise, which keeps the group's mean close to its expectation.

    * ``"adam + L2"``: :func:`optilab.kernels.adam` with ``weight_decay`` :math:`\lambda`, which
      adds :math:`\lambda p` to :math:`g` and then divides by :math:`\sqrt{\hat v} \approx s`.
    * ``"adamw"``: :func:`optilab.kernels.adamw`, which shrinks :math:`p` by :math:`\alpha\lambda p`
      every step, whatever :math:`s` is.

    Returns
    -------
    dict of str to ndarray of shape (steps + 1, len(scales))
        The mean of each group's weights after each step (row 0 is the start).
    """
    rng = np.random.default_rng(seed)
    s = np.asarray(scales, dtype=float)[:, None]
    half = rng.standard_normal((steps, len(scales), replicas // 2))
    noise = np.concatenate([half, -half], axis=2)  # each draw with its negative: the mean sees less noise
    out = {}
    for name, rule in (("adam + L2", RULES["adam"]), ("adamw", RULES["adamw"])):
        p, state = np.ones((len(scales), replicas)), {}
        means = [p.mean(axis=1)]
        for t in range(steps):
            p, state = rule(p, s * noise[t], state, lr=lr, weight_decay=weight_decay)
            means.append(p.mean(axis=1))
        out[name] = np.array(means)
    return out


# -- schedules --------------------------------------------------------------------------------------
#: The schedules lesson 07 compares (and its explorer offers): name -> (peak lr, total steps) -> schedule.
SCHEDULES: dict[str, Any] = {
    "constant": lambda lr, total: schedules.constant(lr),
    "step decay (×0.3 every 100 steps)": lambda lr, total: schedules.step_decay(lr, 100, 0.3),
    "cosine": lambda lr, total: schedules.cosine(lr, total),
    "warm-up (30 steps) + cosine": lambda lr, total: schedules.warmup_cosine(lr, 30, total),
}


@functools.lru_cache(maxsize=1)
def schedule_problem() -> problems.Problem:
    r"""Beale's function with gradient noise :math:`\sigma = 1`: steep near the start, flat near the minimum."""
    return problems.noisy(problems.beale(), sigma=1.0)


def schedule_run(schedule: str, lr: float, steps: int = 300) -> training.Trace:
    """SGD on :func:`schedule_problem` under one of :data:`SCHEDULES` with peak ``lr``. Cached."""
    if schedule not in SCHEDULES:
        raise KeyError(f"unknown schedule {schedule!r}; choose one of {list(SCHEDULES)}")
    return _schedule_run(schedule, float(lr), int(steps))


@functools.lru_cache(maxsize=128)
def _schedule_run(schedule: str, lr: float, steps: int) -> training.Trace:
    return training.run("sgd", schedule_problem(), steps=steps, lr=SCHEDULES[schedule](lr, steps))


# -- generalisation: Wilson et al. ---------------------------------------------------------------------
def wilson_errors(data: problems.WilsonData, trace: training.Trace) -> dict[str, np.ndarray]:
    """Training and test error (fraction misclassified, sign(x·w) ≠ y) after every step of ``trace``."""
    out = {}
    for split, X, y in (("train", data.X_train, data.y_train), ("test", data.X_test, data.y_test)):
        out[split] = np.mean(np.sign(trace.params @ X.T) != y, axis=1)
    return out


@functools.lru_cache(maxsize=8)
def wilson_runs(rules: tuple[tuple[str, float], ...] = (("sgd", 0.1), ("momentum", 0.05), ("adagrad", 0.1),
                                                          ("rmsprop", 0.001), ("adam", 0.01)),
                steps: int = 250, seed: int = 0) -> tuple[problems.WilsonData, dict[str, training.Trace]]:
    """Each (rule, lr) run from :math:`w = 0` on the least-squares problem of :func:`optilab.problems.wilson_dataset`."""
    data = problems.wilson_dataset(seed=seed)
    problem = data.problem()
    return data, {rule: training.run(rule, problem, steps=steps, lr=lr) for rule, lr in rules}


def adamw_paper(param, grad, state, *, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=1e-2,
                multiplier=1.0):
    r"""AdamW as Loshchilov & Hutter (2019, Algorithm 2) write it, to the update-rule contract.

    .. math::
        p \leftarrow p - \eta_t \Big(\alpha\, \frac{\hat m}{\sqrt{\hat v} + \epsilon} + \lambda\, p\Big)

    :math:`\alpha` = ``lr`` scales only the Adam step; the decay :math:`\lambda` = ``weight_decay``
    is scaled by the schedule multiplier :math:`\eta_t` = ``multiplier`` alone. PyTorch's
    ``AdamW(lr, weight_decay)`` (:func:`optilab.kernels.adamw`) shrinks by ``lr`` × ``weight_decay``
    instead, with the schedule folded into ``lr``: the two agree when PyTorch's ``weight_decay`` is
    :math:`\lambda/\alpha`. State: ``t``, ``m``, ``v``.
    """
    t = state.get("t", 0) + 1
    m = beta1 * state.get("m", np.zeros_like(param)) + (1 - beta1) * grad
    v = beta2 * state.get("v", np.zeros_like(param)) + (1 - beta2) * grad * grad
    m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)
    new = param - multiplier * (lr * m_hat / (np.sqrt(v_hat) + eps) + weight_decay * param)
    return new, {"t": t, "m": m, "v": v}


def pure_decay(lrs: tuple[float, ...], weight_decay: float, steps: int) -> dict[str, np.ndarray]:
    r"""What is left of a weight of 1 whose loss gradient is zero, after ``steps`` steps, for each :math:`\alpha` in ``lrs``.

    Only the decay moves it. Returns ``{"paper": ..., "pytorch": ...}``, one entry per ``lr``,
    computed by running :func:`adamw_paper` (:math:`\eta_t = 1`) and :func:`optilab.kernels.adamw`
    with the same ``weight_decay``.
    """
    out: dict[str, list[float]] = {"paper": [], "pytorch": []}
    for lr in lrs:
        for name, rule in (("paper", adamw_paper), ("pytorch", RULES["adamw"])):
            p, state = np.ones(1), {}
            for _ in range(int(steps)):
                p, state = rule(p, np.zeros(1), state, lr=lr, weight_decay=weight_decay)
            out[name].append(float(p[0]))
    return {name: np.array(values) for name, values in out.items()}


def adamw_forms_gap(lr: float, weight_decay: float, *, steps: int = 200, seed: int = 0) -> float:
    r"""Largest difference between PyTorch's AdamW with ``weight_decay`` :math:`\lambda` and the paper's with :math:`\alpha\lambda`.

    Both run on the same random gradients (:math:`\eta_t = 1`) from the same start: zero up to
    rounding, because PyTorch's ``weight_decay`` is the paper's :math:`\lambda` divided by :math:`\alpha`.
    """
    rng = np.random.default_rng(seed)
    p = q = rng.standard_normal(8)
    s_p: dict = {}
    s_q: dict = {}
    gap = 0.0
    for _ in range(int(steps)):
        g = rng.standard_normal(8)
        p, s_p = RULES["adamw"](p, g, s_p, lr=lr, weight_decay=weight_decay)
        q, s_q = adamw_paper(q, g, s_q, lr=lr, weight_decay=lr * weight_decay)
        gap = max(gap, float(np.max(np.abs(p - q))))
    return gap
