r"""Learning-rate schedules: functions of the step count.

A schedule is a function ``t -> lr``, with ``t = 0`` for the first step, as in optax. Pass one
as ``lr`` to :class:`optilab.Optimizer` or :func:`optilab.training.run`. Schedules compose:
:func:`join` runs one after another, :func:`scale` multiplies one by a constant.

In PyTorch the same shapes are ``torch.optim.lr_scheduler`` classes (``StepLR``,
``ExponentialLR``, ``CosineAnnealingLR``, ``LinearLR``, ``SequentialLR``, ``OneCycleLR``), which
multiply the optimizer's lr once per ``scheduler.step()``; the tests check each schedule here
against its torch spelling (tests/test_schedules.py).

Examples
--------
>>> s = warmup_cosine(0.1, warmup_steps=10, total_steps=100)
>>> round(s(0), 4), round(s(9), 4), round(s(10), 4), round(s(100), 4)
(0.01, 0.1, 0.1, 0.0)
"""

from __future__ import annotations

import bisect
import math
from typing import Callable, Sequence

__all__ = [
    "Schedule",
    "constant",
    "step_decay",
    "exponential",
    "inverse_time",
    "cosine",
    "linear_warmup",
    "warmup_cosine",
    "warmup_stable_decay",
    "one_cycle",
    "join",
    "scale",
]

Schedule = Callable[[int], float]


def _named(schedule: Schedule, name: str) -> Schedule:
    schedule.__name__ = name
    return schedule


def _check_positive(**values: float) -> None:
    for name, value in values.items():
        if not value > 0:
            raise ValueError(f"{name} must be positive; got {value}.")


def constant(lr: float) -> Schedule:
    r""":math:`\alpha_t = \alpha`."""
    _check_positive(lr=lr)
    return _named(lambda t: lr, f"constant({lr})")


def step_decay(lr: float, step_size: int, gamma: float = 0.1) -> Schedule:
    r""":math:`\alpha_t = \alpha\,\gamma^{\lfloor t / \text{step\_size} \rfloor}`: drop by ``gamma`` every ``step_size`` steps (PyTorch ``StepLR``)."""
    _check_positive(lr=lr, step_size=step_size, gamma=gamma)
    return _named(lambda t: lr * gamma ** (t // step_size), f"step_decay({lr}, {step_size}, {gamma})")


def exponential(lr: float, gamma: float) -> Schedule:
    r""":math:`\alpha_t = \alpha\,\gamma^t` (PyTorch ``ExponentialLR``)."""
    _check_positive(lr=lr, gamma=gamma)
    return _named(lambda t: lr * gamma**t, f"exponential({lr}, {gamma})")


def inverse_time(lr: float, decay_rate: float, decay_steps: int = 1) -> Schedule:
    r""":math:`\alpha_t = \alpha / (1 + r\, t / T)`: the :math:`1/t` decay that stochastic approximation theory asks for."""
    _check_positive(lr=lr, decay_steps=decay_steps)
    if decay_rate < 0:
        raise ValueError(f"decay_rate must be >= 0; got {decay_rate}.")
    return _named(lambda t: lr / (1.0 + decay_rate * t / decay_steps), f"inverse_time({lr}, {decay_rate})")


def cosine(lr: float, total_steps: int, lr_min: float = 0.0) -> Schedule:
    r""":math:`\alpha_t = \alpha_{\min} + \tfrac12(\alpha - \alpha_{\min})(1 + \cos(\pi t / T))` for :math:`t \le T`, then :math:`\alpha_{\min}`.

    PyTorch ``CosineAnnealingLR(T_max=total_steps, eta_min=lr_min)``; Loshchilov & Hutter (2017), "SGDR".
    """
    _check_positive(lr=lr, total_steps=total_steps)
    if not 0 <= lr_min <= lr:
        raise ValueError(f"lr_min must be between 0 and lr={lr}; got {lr_min}.")

    def schedule(t: int) -> float:
        progress = min(t, total_steps) / total_steps
        return lr_min + 0.5 * (lr - lr_min) * (1.0 + math.cos(math.pi * progress))

    return _named(schedule, f"cosine({lr}, {total_steps})")


def linear_warmup(lr: float, warmup_steps: int) -> Schedule:
    r""":math:`\alpha_t = \alpha \min(1, (t+1)/W)`: ramp up over ``warmup_steps`` steps, then hold.

    The first step already moves, with :math:`\alpha / W` (Goyal et al., 2017).
    """
    _check_positive(lr=lr, warmup_steps=warmup_steps)
    return _named(lambda t: lr * min(1.0, (t + 1) / warmup_steps), f"linear_warmup({lr}, {warmup_steps})")


def join(schedules: Sequence[Schedule], boundaries: Sequence[int]) -> Schedule:
    """Run ``schedules[0]`` until ``boundaries[0]``, then ``schedules[1]`` counting from 0 again, and so on.

    Like ``optax.join_schedules``; ``len(boundaries) == len(schedules) - 1``, increasing.
    """
    if len(boundaries) != len(schedules) - 1:
        raise ValueError(f"join needs one boundary fewer than schedules: got {len(schedules)} schedules and {len(boundaries)} boundaries.")
    if list(boundaries) != sorted(boundaries) or any(b <= 0 for b in boundaries):
        raise ValueError(f"boundaries must be positive and increasing; got {list(boundaries)}.")
    starts = [0, *boundaries]

    def schedule(t: int) -> float:
        i = bisect.bisect_right(boundaries, t)
        return schedules[i](t - starts[i])

    return _named(schedule, "join(" + ", ".join(getattr(s, "__name__", "?") for s in schedules) + ")")


def warmup_cosine(lr: float, warmup_steps: int, total_steps: int, lr_min: float = 0.0) -> Schedule:
    """Linear warm-up to ``lr`` over ``warmup_steps``, then cosine decay to ``lr_min`` at ``total_steps``."""
    if not 0 < warmup_steps < total_steps:
        raise ValueError(f"need 0 < warmup_steps < total_steps; got {warmup_steps} and {total_steps}.")
    decay = cosine(lr, total_steps - warmup_steps, lr_min)
    return _named(join([linear_warmup(lr, warmup_steps), decay], [warmup_steps]),
                  f"warmup_cosine({lr}, {warmup_steps}, {total_steps})")


def scale(schedule: Schedule, factor: float) -> Schedule:
    """Multiply a schedule by a constant ``factor``."""
    _check_positive(factor=factor)
    return _named(lambda t: factor * schedule(t), f"{factor}*{getattr(schedule, '__name__', 'schedule')}")


def warmup_stable_decay(lr: float, warmup_steps: int, total_steps: int, decay_steps: int,
                        lr_min: float = 0.0) -> Schedule:
    r"""Warm-up, stable, decay (WSD): linear warm-up over ``warmup_steps``, then ``lr`` held, then a
    linear decay to ``lr_min`` over the last ``decay_steps`` steps, reached at ``total_steps``.

    .. math::
        \alpha_t = \begin{cases} \alpha (t+1)/W & t < W \\ \alpha & W \le t < T - D \\
        \alpha - (\alpha - \alpha_{\min})\,(t - T + D)/D & T - D \le t \le T \end{cases}

    Hu et al. (2024), "MiniCPM"; Hägele et al. (2024), "Scaling Laws and Compute-Optimal Training
    Beyond Fixed Training Durations". A run can stop the stable phase at any step and decay from there.
    In PyTorch: ``SequentialLR([LinearLR(start_factor=1/W, total_iters=W-1), ConstantLR(factor=1.0,
    total_iters=0), LinearLR(start_factor=1.0, end_factor=lr_min/lr, total_iters=D)], milestones=[W, T-D])``.
    """
    _check_positive(lr=lr, warmup_steps=warmup_steps, decay_steps=decay_steps)
    if not warmup_steps <= total_steps - decay_steps:
        raise ValueError(f"need warmup_steps + decay_steps <= total_steps; got {warmup_steps} + {decay_steps} "
                         f"> {total_steps}.")
    if not 0 <= lr_min <= lr:
        raise ValueError(f"lr_min must be between 0 and lr={lr}; got {lr_min}.")
    decay_start = total_steps - decay_steps

    def schedule(t: int) -> float:
        if t < warmup_steps:
            return lr * (t + 1) / warmup_steps
        if t < decay_start:
            return lr
        return lr - (lr - lr_min) * min(t - decay_start, decay_steps) / decay_steps

    return _named(schedule, f"warmup_stable_decay({lr}, {warmup_steps}, {total_steps}, {decay_steps})")


def one_cycle(max_lr: float, total_steps: int, pct_start: float = 0.3, div_factor: float = 25.0,
              final_div_factor: float = 1e4) -> Schedule:
    r"""Smith's one-cycle policy, as PyTorch's ``OneCycleLR`` (cosine annealing, two phases).

    From :math:`\alpha_0 = \alpha_{\max}/\text{div\_factor}` up to :math:`\alpha_{\max}` at step
    :math:`s = \text{pct\_start}\cdot T - 1`, then down to :math:`\alpha_0/\text{final\_div\_factor}`
    at step :math:`T - 1`, each phase along half a cosine:
    :math:`\alpha = \alpha_\text{end} + \tfrac12(\alpha_\text{start} - \alpha_\text{end})(1 + \cos \pi p)`,
    :math:`p` the fraction of the phase done. Smith & Topin (2019), "Super-Convergence"; fast.ai's
    ``fit_one_cycle``. (``OneCycleLR`` also cycles the momentum by default; this is its lr alone.)
    """
    _check_positive(max_lr=max_lr, total_steps=total_steps, div_factor=div_factor, final_div_factor=final_div_factor)
    if not (0 < pct_start < 1 and pct_start * total_steps > 1):
        raise ValueError(f"pct_start must be between 0 and 1, with pct_start·total_steps > 1 (the peak after "
                         f"step 0); got {pct_start} with {total_steps} steps.")
    start = max_lr / div_factor
    end = start / final_div_factor
    peak = float(pct_start * total_steps) - 1
    last = total_steps - 1

    def anneal(a: float, b: float, fraction: float) -> float:
        return b + 0.5 * (a - b) * (math.cos(math.pi * fraction) + 1.0)

    def schedule(t: int) -> float:
        if t > total_steps:
            raise ValueError(f"one_cycle has {total_steps} steps; asked for step {t}.")
        if t <= peak:
            return anneal(start, max_lr, t / peak)
        return anneal(max_lr, end, (t - peak) / (last - peak))

    return _named(schedule, f"one_cycle({max_lr}, {total_steps})")
