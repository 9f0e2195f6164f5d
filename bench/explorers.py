"""Group 2: for each lesson explorer, the time from a control's change to a redrawn figure.

Two measurements: in the kernel (below), and in the browser (:func:`browser`): JupyterLab in headless
Chromium, input event to the new figure painted, with its breakdown and a same-run reference (the
previous display), which is what a student feels.

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
    # The kernel-side timing gets a share of the budget; the browser run (the student's view) has its own limit.
    result = run(factories, changes=2 if quick else CHANGES, budget_s=min(budget_s, 30 if quick else 60))
    root = root or Path(__file__).resolve().parents[1]
    try:
        result["browser"] = browser(root, limit_s=120.0 if quick else BROWSER_LIMIT_S, inputs=2 if quick else BROWSER_INPUTS)
    except Exception as error:  # noqa: BLE001 - the kernel-side numbers still count
        result["browser"] = {"status": "error", "reason": f"{type(error).__name__}: {error}"}
    return result


# -- in the browser ---------------------------------------------------------------------------------
#: Inputs per explorer in the browser, and the seconds the whole browser run may take.
BROWSER_INPUTS = 12
BROWSER_LIMIT_S = 420.0
#: The targets in the browser (issue: "explorers that keep up with the hand").
TARGET_BROWSER_MEDIAN_MS, TARGET_BROWSER_P90_MS = 50.0, 100.0
PARTS = ("to_kernel", "compute", "draw", "encode", "kernel_other", "transfer", "decode_paint")


def _percentile(values: list[float], q: float) -> float:
    from bench.timing import percentile

    return percentile(sorted(values), q) if values else math.nan


def summarize_browser(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per explorer and display: median and p90 of input -> painted figure, and the median of each part (ms)."""
    import statistics

    out = []
    for r in records:
        inputs = r.get("inputs", [])
        totals = [x["total"] for x in inputs]
        if not totals:
            continue
        out.append({
            "name": r["name"], "display": r.get("display"), "inputs": len(totals),
            "median_ms": statistics.median(totals), "p90_ms": _percentile(totals, 90), "max_ms": max(totals),
            "parts_ms": {p: statistics.median([x[p] for x in inputs]) for p in PARTS},
            "kernel_cpu_ms": statistics.median([x.get("kernel_cpu", math.nan) for x in inputs]),
            # what an idle machine would show: the kernel's work at its CPU time, the rest as measured
            "idle_estimate_ms": statistics.median([x["total"] - (x["compute"] + x["draw"] + x["encode"])
                                                   + x.get("kernel_cpu", math.nan) for x in inputs]),
            "png_kb": statistics.median([x["bytes"] for x in inputs]) / 1e3,
            "width_px": max(x["width"] for x in inputs),
            "shown_px": min(x["shown_width"] for x in inputs),
        })
    by_name: dict[str, dict[str, Any]] = {}
    for row in out:
        by_name.setdefault(row["name"], {})[row["display"]] = row
    for row in out:
        reference = by_name[row["name"]].get("output")
        if row["display"] in ("image", "image, paced") and reference:
            row["ratio_median"] = row["median_ms"] / reference["median_ms"]
            row["ratio_p90"] = row["p90_ms"] / reference["p90_ms"]
        row["meets_target"] = (row["median_ms"] < TARGET_BROWSER_MEDIAN_MS and row["p90_ms"] < TARGET_BROWSER_P90_MS)
    return out


def browser(root: Path, limit_s: float = BROWSER_LIMIT_S, inputs: int = BROWSER_INPUTS) -> dict[str, Any]:
    """Every registered explorer in JupyterLab in headless Chromium (tests/browser/explorers.mjs, MODE=bench).

    Each explorer is shown twice in one notebook, with the current display (an ``ipywidgets.Image``) and
    with the reference one (``display="output"``: an ``Output`` refilled with a PNG display, as before),
    and gets ``inputs`` inputs each, one at a time, timed from the input event in the page to the new
    figure decoded and the next animation frame drawn; both run in the same minutes of the same machine.
    """
    import json
    import os
    import shutil
    import subprocess
    import tempfile

    script = root / "tests" / "browser" / "run.sh"
    if not (root / "tests" / "browser" / "node_modules" / "playwright-core").is_dir():
        return {"status": "not available", "reason": "playwright-core is not installed: npm ci --prefix tests/browser"}
    if not any(shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome-stable", "google-chrome")) \
            and not os.environ.get("CHROMIUM"):
        return {"status": "not available", "reason": "no Chromium (Debian: apt-get install chromium)"}
    with tempfile.TemporaryDirectory() as folder:
        results = Path(folder) / "explorers.json"
        env = {**os.environ, "DRIVERS": "explorers.mjs", "MODE": "bench", "INPUTS": str(inputs),
               "RESULTS": str(results), "EXPLORERS_LIMIT_S": str(int(limit_s))}
        started = time.perf_counter()
        run = subprocess.run(["bash", str(script)], env=env, capture_output=True, text=True, timeout=limit_s + 120)
        seconds = time.perf_counter() - started
        data = json.loads(results.read_text()) if results.exists() else {"records": []}
    rows = summarize_browser(data.get("records", []))
    if not rows:
        tail = (run.stderr or run.stdout)[-800:]
        return {"status": "error", "reason": f"the browser run gave no timings (exit {run.returncode}): {tail}"}
    return {"status": "ok" if run.returncode == 0 else "partial", "rows": rows, "seconds": seconds,
            "inputs_per_explorer": inputs,
            "note": ("Input = a key press on a slider, a click on a checkbox or toggle button, a choice in a menu, "
                     "one at a time: 'image' back to back (the next input as soon as the figure is painted), "
                     "'image, paced' at a person's pace (300 ms from a figure to the next input: frames one "
                     "input away are painted while the kernel waits), each on its own explorer; time = input event in the page -> new figure decoded and the next animation "
                     "frame drawn (Chromium headless, JupyterLab, 1280 × 900). Parts (medians): to kernel = input "
                     "event -> the kernel starts the change; compute = the lesson's draw function; draw = painting "
                     "the figure; encode = PNG (these three are 0 for a frame the explorer painted ahead or showed before, "
                     "sent from memory); transfer = kernel sent -> image in the page; decode+paint = decoded "
                     "and painted. Kernel CPU = the kernel's CPU time for the change (a busy machine does not "
                     "inflate it); idle estimate = the total with the kernel's work counted at its CPU time. "
                     "Reference = the same explorer shown the previous way (Output widget refilled "
                     "with a PNG display), measured in the same run.")}
