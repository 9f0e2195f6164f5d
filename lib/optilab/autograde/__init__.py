"""``python -m optilab grade LAB SUBMISSIONS``: autograde a folder of submissions with nbgrader.

``make grade LAB=lab04 SUBMISSIONS=path`` runs this. It accepts one folder, zip or notebook
per student (as a learning-management system exports them) or nbgrader's ``submitted/``
layout, runs nbgrader's ``autograde``, ``generate_feedback`` and ``export`` through nbgrader's
Python API, and writes, in the grading workspace (``grading/`` unless ``--out`` says otherwise):

- ``reports/<lab>/grades.csv``  (nbgrader's CSV export, one row per student);
- ``reports/<lab>/report.txt``  (every score, with renamed notebooks, edited or deleted test
  cells, cells stopped at the time limit, and submissions that could not be graded);
- ``feedback/<student>/<lab>/<lab>.html``  (one feedback page per student).

The submissions are only read: copies are graded. Re-running is safe and gives the same grades.

Usage::

    python -m optilab grade LAB SUBMISSIONS [--out DIR] [--timeout SECONDS] [--jobs N]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from optilab.autograde.lazy_imports import defer_rfc3987_syntax

defer_rfc3987_syntax()  # before nbformat imports jsonschema: saves about 1.5 s at start-up

from optilab.autograde.pipeline import GradingRun, StudentResult, grade_lab  # noqa: E402

__all__ = ["main", "grade_lab", "GradingRun", "StudentResult"]


def main(argv: list[str] | None = None) -> int:
    """Run the command; return 0 when every submission got a grade, 2 on a usage error."""
    parser = argparse.ArgumentParser(prog="python -m optilab grade",
                                     description="Autograde a folder of submissions for one lab with nbgrader.")
    parser.add_argument("lab", help="the lab: lab04 or lab04_adam_adamw")
    parser.add_argument("submissions", type=Path,
                        help="folder with one folder, zip or notebook per student, or nbgrader's submitted/")
    parser.add_argument("--out", type=Path, default=None,
                        help="grading workspace (default: grading/ in the course folder)")
    parser.add_argument("--timeout", type=float, default=None,
                        help="seconds a cell may run before it is stopped (default: nbgrader_config.py)")
    parser.add_argument("--jobs", type=int, default=None,
                        help="worker processes (default: one more than the cores, at most 4)")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    try:
        run = grade_lab(args.lab, args.submissions, out=args.out, timeout=args.timeout, jobs=args.jobs)
    except (FileNotFoundError, ValueError) as error:
        print(f"optilab grade: {error}", file=sys.stderr)
        return 2
    except RuntimeError as error:
        print(f"optilab grade: {error}", file=sys.stderr)
        return 1
    broken = [r for r in run.results if not r.graded]
    print(f"\n{run.lab}: graded {len(run.results)} submission(s) in {run.seconds:.1f} s "
          f"({run.seconds_per_submission:.2f} s per submission); "
          f"{len(broken)} could not be graded and scored 0.")
    print(f"grades:   {run.grades_csv}\nreport:   {run.report}\n"
          f"feedback: {run.workspace / 'feedback'}/<student>/{run.lab}/{run.lab}.html")
    return 0
