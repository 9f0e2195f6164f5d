r"""Learning-rate schedules: functions of the step count.

A schedule is a function ``t -> lr``, with ``t = 0`` for the first step, as in optax. Pass one
as ``lr`` to :class:`optilab.Optimizer` or :func:`optilab.training.run`. Schedules compose:
:func:`join` runs one after another, :func:`scale` multiplies one by a constant.

In PyTorch the same shapes are ``torch.optim.lr_scheduler`` classes (``StepLR``,
``ExponentialLR``, ``CosineAnnealingLR``, ``LinearLR``, ``SequentialLR``), which multiply the
optimizer's lr once per ``scheduler.step()``.

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
