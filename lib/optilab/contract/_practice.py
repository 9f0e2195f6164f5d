"""What the checks of lab 7's answers share: comparing dicts of arrays and runs of steps.

The checks (:mod:`~optilab.contract.schedule_check`, :mod:`~optilab.contract.clip_check`,
:mod:`~optilab.contract.sam_check`) take the student's code through a *runner* (a function that calls
it and returns plain values), so the same checks serve three places: the lab's visible checks
(``optilab.check("sam", sam)``: the student's function called directly, :mod:`optilab.contract.answers`),
the hidden tests run in the notebook's kernel, and the grader's own process, which asks the student's
process for the values (the runners of :mod:`optilab.grading.labs.lab07`). ``hidden=True`` uses the
hidden inputs. A property that fails says where (the first wrong step, the first wrong array), and a
recognised mistake is named by what is wrong: each candidate is a wrong version of the reference
computed here (per-array clipping, another norm, an ascent without normalisation, ...) and is named
when the student's numbers are that version's."""

from __future__ import annotations

from typing import Any

import numpy as np

Params = dict[str, np.ndarray]


def dict_problem(got: Any, want: Params) -> str | None:
    if not isinstance(got, dict):
        return f"returns {type(got).__name__}; return a dict with the names of grads"
    if set(got) != set(want):
        return f"returns the names {sorted(got)}; expected {sorted(want)}"
    for k in want:
        value = np.asarray(got[k], dtype=float) if numeric(got[k]) else None
        if value is None or value.shape != want[k].shape:
            return f"{k!r} has shape {getattr(value, 'shape', None)}; expected {want[k].shape}"
        if not np.allclose(value, want[k], rtol=1e-9, atol=1e-14):
            i = np.unravel_index(np.argmax(np.abs(value - want[k])), value.shape) if value.ndim else ()
            return f"{k!r}{[int(j) for j in i] if i else ''}: yours {float(value[i]):.10g}, expected {float(want[k][i]):.10g}"
    return None


def numeric(x: Any) -> bool:
    try:
        np.asarray(x, dtype=float)
        return True
    except (TypeError, ValueError):
        return False


def steps_problem(got: Any, want: list[Params]) -> str | None:
    if not isinstance(got, (list, tuple)) or len(got) != len(want):
        return f"the run did not give {len(want)} steps (got {type(got).__name__})"
    for step, (g, w) in enumerate(zip(got, want), start=1):
        problem = dict_problem(g, w)
        if problem:
            return f"step {step}: {problem}"
    return None
