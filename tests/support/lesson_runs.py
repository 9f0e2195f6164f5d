"""Each lesson executed in a kernel once per test process, for every test module that reads it.

``test_lessons.py`` checks that a lesson runs without errors or warnings and shows its figures;
other modules read the same run for the lesson's claims (``test_lesson_claims_01_03.py``,
``test_comparison_08.py``, ``test_lesson09.py``). They all call :func:`run`, which executes the
lesson once, keeping its figures (:func:`tests.support.figures.execute_keeping_figures`) and
evaluating every value that the imported test modules asked for with :func:`read`. pytest imports
every module before it runs a test, so the first run of a lesson already has them all. ``make test``
sends a lesson's tests in ``test_lessons.py`` to the worker that runs the module reading the same
lesson (tests/conftest.py, ``LESSON_UNITS``), so the suite runs that lesson once, not twice.
"""

from __future__ import annotations

from tests.support.figures import Report, execute_keeping_figures
from tests.support.notebooks import ROOT

#: Seconds a cell may run before it counts as hung (a safety net, not a speed target).
CELL_TIMEOUT = 120

_wanted: dict[str, dict[str, str]] = {}  # lesson file -> value name -> expression
_runs: dict[str, tuple[dict[str, str], Report]] = {}


def read(lesson: str, exprs: dict[str, str]) -> None:
    """Ask for ``exprs`` (name -> expression in the lesson's namespace) from the run of ``lesson``."""
    wanted = _wanted.setdefault(lesson, {})
    clash = sorted(name for name, expr in exprs.items() if wanted.get(name, expr) != expr)
    if clash:
        raise ValueError(f"{lesson}: {clash} are already asked for with other expressions")
    wanted.update(exprs)


def run(lesson: str) -> Report:
    """The run of ``lessons/<lesson>``: its figures described, the values asked for, and
    ``Report.run`` (its own cells as executed)."""
    wanted = dict(_wanted.get(lesson, {}))
    done = _runs.get(lesson)
    if done is None or not wanted.items() <= done[0].items():  # a value asked for after the run
        _runs[lesson] = (wanted, execute_keeping_figures(ROOT / "lessons" / lesson, wanted, timeout=CELL_TIMEOUT))
    return _runs[lesson][1]
