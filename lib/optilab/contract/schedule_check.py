"""The checks of lab 7's schedule: ``warmup_cosine(step, *, lr, warmup_steps, total_steps, lr_min)``
(see :mod:`optilab.contract._practice`)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from optilab import schedules
from optilab.contract.diagnose import Diagnosis
from optilab.contract.visible import CheckResult, Property

__all__ = ["schedule_result"]

_SCHEDULE_CASES = {False: [dict(lr=0.1, warmup_steps=5, total_steps=25, lr_min=0.01)],
                   True: [dict(lr=0.3, warmup_steps=7, total_steps=40, lr_min=0.01),
                          dict(lr=2.0, warmup_steps=1, total_steps=9, lr_min=0.5),
                          dict(lr=0.05, warmup_steps=12, total_steps=13, lr_min=0.0)]}


def _cosine(lr: float, lr_min: float, fraction: float) -> float:
    return lr_min + 0.5 * (lr - lr_min) * (1 + math.cos(math.pi * fraction))


def _schedule_mistakes(lr: float, warmup_steps: int, total_steps: int, lr_min: float) -> dict[str, tuple[Callable, str]]:
    W, T = warmup_steps, total_steps

    def warm(t: int, shift: int = 1, over: int = W) -> float:
        return lr * (t + shift) / over

    right = schedules.warmup_cosine(lr, W, T, lr_min)
    return {
        "warmup-off-by-one": (lambda t: warm(t, 0) if t < W else right(t),
                              "the warm-up is one step late: step t = 0 is the first step and already moves, "
                              "lr·(t + 1)/warmup_steps, so that step warmup_steps − 1 reaches lr"),
        "warmup-reaches-peak-late": (lambda t: warm(t, 0, W - 1) if 0 < W - 1 and t < W else right(t),
                                     "the warm-up starts at 0: lr·(t + 1)/warmup_steps starts at lr/warmup_steps"),
        "no-warmup": (lambda t: lr if t < W else right(t), "there is no warm-up: the first warmup_steps steps ramp "
                                                           "up linearly, lr·(t + 1)/warmup_steps"),
        "cosine-from-zero": (lambda t: right(t) if t < W else _cosine(lr, lr_min, min(t, T) / T),
                             "the cosine's progress counts from the end of the warm-up: "
                             "(t − warmup_steps)/(total_steps − warmup_steps), not t/total_steps"),
        "cosine-to-zero": (lambda t: right(t) if t < W else _cosine(lr, 0.0, min(t - W, T - W) / (T - W)),
                           "the cosine must end at lr_min, not at 0"),
        "cosine-keeps-going": (lambda t: right(t) if t <= T else _cosine(lr, lr_min, (t - W) / (T - W)),
                               "after total_steps the lr must stay at lr_min: the cosine goes back up past π"),
        "linear-decay": (lambda t: right(t) if t < W else lr - (lr - lr_min) * min(t - W, T - W) / (T - W),
                         "the decay is linear; it must follow half a cosine, "
                         "lr_min + ½(lr − lr_min)(1 + cos(π·progress))"),
        "decay-off-by-one": (lambda t: right(t) if t < W else _cosine(lr, lr_min, min(t - W + 1, T - W) / (T - W)),
                             "the decay is one step early: at step warmup_steps the lr is still lr "
                             "(progress 0), and it reaches lr_min at step total_steps"),
    }


def schedule_result(value: Callable[..., Any], *, hidden: bool = False, part: str | None = None) -> CheckResult:
    """``value(step, **case)`` is the student's lr; ``part``: ``"warmup"``, ``"decay"`` or both (None)."""
    properties, diagnoses = [], []
    for case in _SCHEDULE_CASES[hidden]:
        W, T = case["warmup_steps"], case["total_steps"]
        right = schedules.warmup_cosine(**case)
        spans = {"warmup": range(0, W), "decay": range(W, T + 4)}
        for name in (("warmup", "decay") if part is None else (part,)):
            steps = list(spans[name])
            try:
                got = [value(t, **case) for t in steps]
                ok = all(isinstance(g, (int, float, np.floating, np.integer)) and np.ndim(g) == 0 for g in got)
                got = [float(g) for g in got] if ok else got
            except Exception as exc:  # the student's error, shown as theirs
                properties.append(Property(f"{name} ({_kw(case)})", False, f"{type(exc).__name__}: {exc}"))
                continue
            if not ok:
                properties.append(Property(f"{name} ({_kw(case)})", False,
                                           f"returns {type(got[0]).__name__}; a schedule returns one number (a float)"))
                continue
            want = [right(t) for t in steps]
            bad = [i for i, (g, w) in enumerate(zip(got, want)) if not math.isclose(g, w, rel_tol=1e-9, abs_tol=1e-12)]
            message = ""
            if bad:
                t = steps[bad[0]]
                message = f"at step {t}: yours {got[bad[0]]:.10g}, expected {want[bad[0]]:.10g}"
                for key, (wrong, text) in _schedule_mistakes(**case).items():
                    if all(math.isclose(g, wrong(s), rel_tol=1e-9, abs_tol=1e-12) for g, s in zip(got, steps)):
                        if key not in {d.id for d in diagnoses}:
                            diagnoses.append(Diagnosis(key, text))
                        break
            label = "warm-up: lr·(t + 1)/W for the steps t < W" if name == "warmup" else \
                "decay: half a cosine from lr at step W to lr_min at step T, then lr_min"
            properties.append(Property(f"{label} ({_kw(case)})", not bad, message))
    return CheckResult("warmup_cosine", properties, diagnoses, group=part)


def _kw(case: dict) -> str:
    return ", ".join(f"{k}={v:g}" for k, v in case.items())

