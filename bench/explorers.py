"""Group 2: for each lesson explorer, the time from a control's change to a redrawn figure.

Every explorer registered in :func:`optilab.widgets.registry` is built, and its controls
are changed 20 times in all, one control at a time as a person would, going round the
controls; each control moves on through its range (sliders through evenly spaced values,
log-sliders evenly in the exponent, dropdowns and other selections through their options,
checkboxes back and forth).

One change is timed from ``explorer.set(name=value)`` to the figure rendered as a PNG image.
Outside a kernel :meth:`Explorer.update` only draws the figure; inside one, it then renders the
PNG that the notebook shows with :meth:`Explorer.render` (the blitting renderer of
:mod:`optilab.widgets.render`). To time what a user waits for, each change is followed by that
call. The browser's own time to show the image is not included.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any, Callable

from bench.timing import summary

__all__ = ["CHANGES", "TARGET_MEDIAN_S", "control_values", "time_explorer", "run", "main"]

CHANGES = 20
TARGET_MEDIAN_S = 0.100


def control_values(control: Any, count: int = CHANGES) -> list[Any]:
    """Up to ``count`` distinct values spread across a control's range, or ``[]`` if it cannot be moved.

    Parameters
    ----------
    control : ipywidgets.ValueWidget
        A slider (int, float, log), a selection (dropdown, radio buttons, toggle buttons,
        selection slider) or a boolean (checkbox, toggle button).
    count : int
        How many values at most.
    """
    value = getattr(control, "value", None)
    if isinstance(value, bool):
        return [False, True]
    options = getattr(control, "options", None)
    if options is not None and isinstance(value, tuple):  # SelectMultiple: tick and untick one option at a time
        return _toggles(_option_values(options), value, count)
    if options is not None and not isinstance(value, (tuple, list)):
        return _distinct(_option_values(options))[:count]
    low, high = getattr(control, "min", None), getattr(control, "max", None)
    if low is None or high is None or isinstance(value, (tuple, list)) or high <= low:
        return []
    if type(control).__name__ == "FloatLogSlider":
        base = float(control.base)
        return _distinct([base ** (low + (high - low) * i / (count - 1)) for i in range(count)])
    if isinstance(value, int):
        step = max(1, int(getattr(control, "step", 1) or 1))
        span = range(int(low), int(high) + 1, step)
        if len(span) <= count:
            return list(span)
        return _distinct([span[round(i * (len(span) - 1) / (count - 1))] for i in range(count)])
    return _distinct([low + (high - low) * i / (count - 1) for i in range(count)])


def _option_values(options: Any) -> list[Any]:
    """The values of a selection's options (which may be given as ``(label, value)`` pairs)."""
    return [o[1] if isinstance(o, tuple) and len(o) == 2 and isinstance(o[0], str) else o for o in options]


def _toggles(values: list[Any], selected: tuple, count: int) -> list[tuple]:
    """Selections of a multiple-choice control, each one option ticked or unticked from the one before.

    An option is never unticked if it is the only one left, so no selection is empty.
    """
    out: list[tuple] = []
    current = list(selected)
    for i in range(count * len(values)):
        option = values[i % len(values)]
        if option in current and len(current) > 1:
            current = [v for v in current if v != option]
        elif option not in current:
            current = [v for v in values if v in current or v == option]
        else:
            continue
        out.append(tuple(current))
        if len(out) == count:
            break
    return out


def _distinct(values: list[Any]) -> list[Any]:
    seen: list[Any] = []
    for v in values:
        if not any(v is s or (type(v) is type(s) and _equal(v, s)) for s in seen):
            seen.append(v)
    return seen


def _equal(a: Any, b: Any) -> bool:
    try:
        return bool(a == b)
    except Exception:  # noqa: BLE001 - arrays and other odd option values: compare by identity
        return a is b


def _changes(current: Any, values: list[Any], count: int) -> list[Any]:
    """``count`` values cycling through ``values``, starting after ``current``, never repeating the last."""
    if len(values) < 2:
        return []
    start = next((i + 1 for i, v in enumerate(values) if _equal(v, current)), 0)
    out: list[Any] = []
    last = current
    i = start
    while len(out) < count:
        value = values[i % len(values)]
        i += 1
        if not _equal(value, last):
            out.append(value)
            last = value
    return out


def render_png(explorer: Any) -> int:
    """Render the explorer's figure to the PNG a notebook shows; returns the image's size in bytes."""
    return len(explorer.render())


def time_explorer(factory: Callable[[], Any], *, changes: int = CHANGES, deadline: float = math.inf) -> dict[str, Any]:
    """Build one explorer and time ``changes`` control changes; see the module docstring.

    The changes go round the controls in turn, each control moving on through its range.
    ``wall`` is what a user waits for; ``cpu`` (this process's CPU time) is what the change
    costs on an otherwise idle core, which a busy machine does not inflate.
    """
    start = time.perf_counter()
    explorer = factory()
    render_png(explorer)
    build = time.perf_counter() - start
    problems: list[str] = []
    plans: dict[str, list[Any]] = {}
    for name, control in explorer.controls.items():
        plan = _changes(control.value, control_values(control), changes)
        if plan:
            plans[name] = plan
        else:
            problems.append(f"control {name!r} ({type(control).__name__}) was not moved: no range to move through")
    wall: list[float] = []
    cpu: list[float] = []
    png: list[float] = []
    per_control: dict[str, list[float]] = {name: [] for name in plans}
    order = list(plans)
    for i in range(changes if order else 0):
        if time.perf_counter() > deadline:
            problems.append(f"stopped after {len(wall)} changes: the group's time budget ran out")
            break
        name = order[i % len(order)]
        value = plans[name][i // len(order)]
        before = explorer.redraws
        t0, c0 = time.perf_counter(), time.process_time()
        explorer.set(**{name: value})
        t1 = time.perf_counter()
        render_png(explorer)
        t2, c2 = time.perf_counter(), time.process_time()
        if explorer.redraws == before:
            problems.append(f"control {name!r} set to {value!r} did not redraw the figure")
            continue
        wall.append(t2 - t0)
        cpu.append(c2 - c0)
        png.append(t2 - t1)
        per_control[name].append(t2 - t0)
    stats = summary(wall)
    return {
        "controls": {name: {"type": type(explorer.controls[name]).__name__, **summary(s)}
                     for name, s in per_control.items()},
        "changes": len(wall),
        "median_s": stats["median"],
        "p95_s": stats["p95"],
        "max_s": stats["max"],
        "cpu_median_s": summary(cpu)["median"],
        "cpu_p95_s": summary(cpu)["p95"],
        "png_median_s": summary(png)["median"],
        "build_s": build,
        "problems": problems,
        "meets_target": (stats["median"] < TARGET_MEDIAN_S) if wall else None,
    }


def run(factories: dict[str, Callable[[], Any]], *, changes: int = CHANGES,
        budget_s: float = 120.0) -> dict[str, Any]:
    """Time every explorer in ``factories`` (name -> zero-argument factory) within about ``budget_s`` seconds.

    Each explorer gets an equal share of what is left of the budget, so a slow one cannot
    starve the others; an explorer cut short says so and reports the changes it made.
    """
    import matplotlib.pyplot as plt

    end = time.perf_counter() + budget_s
    records = []
    names = sorted(factories)
    for index, name in enumerate(names):
        factory = factories[name]
        share = (end - time.perf_counter()) / (len(names) - index)
        try:
            record = {"name": name, **time_explorer(factory, changes=changes,
                                                    deadline=time.perf_counter() + max(share, 0.0))}
        except Exception as error:  # noqa: BLE001 - one broken explorer must not hide the others
            record = {"name": name, "controls": {}, "changes": 0, "median_s": math.nan, "p95_s": math.nan,
                      "max_s": math.nan, "problems": [f"failed: {type(error).__name__}: {error}"],
                      "meets_target": None}
        records.append(record)
        plt.close("all")
    return {
        "status": "ok",
        "records": records,
        "changes_per_explorer": changes,
        "note": ("One change = `explorer.set(control=value)` then the PNG the notebook shows "
                 "(`explorer.render()`, which redraws only what moved over a cached background); the changes go round "
                 "the controls, each moving through its range; cpu = this process's CPU time per change; "
                 "the browser's display time is not included."),
    }


def main(root: Path | None = None, quick: bool = False, budget_s: float = 120.0) -> dict[str, Any]:
    """The group as ``python -m bench`` runs it."""
    try:
        from optilab.widgets import registry
    except ImportError as error:
        return {"status": "not available", "reason": f"optilab.widgets.registry cannot be imported ({error})"}
    factories = registry()
    if not factories:
        return {"status": "not available",
                "reason": "no explorers are registered yet (lib/optilab/widgets/<topic>.py with @register)"}
    return run(factories, changes=2 if quick else CHANGES, budget_s=min(budget_s, 30) if quick else budget_s)
