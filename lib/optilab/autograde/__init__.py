"""``python -m optilab grade LAB SUBMISSIONS``: autograde a folder of submissions with nbgrader.

``make grade LAB=lab04 SUBMISSIONS=path`` runs this. ``SUBMISSIONS`` is either

- a folder outside the grading workspace with one folder, zip or notebook per student (as a
  learning-management system exports them) or nbgrader's ``submitted/`` layout: copies are
  staged into the workspace and graded; or
- the workspace's own ``submitted/`` folder (``grading/submitted`` after ``nbgrader collect``):
  graded in place, read only.

Any other folder that overlaps the workspace is refused. It runs nbgrader's ``autograde``,
``generate_feedback`` and ``export`` through nbgrader's Python API and writes, in the grading
workspace (``grading/`` unless ``--out`` says otherwise):

- ``reports/<lab>/grades.csv``  (nbgrader's CSV export, the whole class in the gradebook);
- ``reports/<lab>/report.txt``  (the whole class: scores, points pending a manual grade,
  lateness, and why each grade is what it is; who this run graded is marked);
- ``feedback/<student>/<lab>/<lab>.html``  (one feedback page per student);
- ``backups/gradebook-<time>-<lab>.db`` (the gradebook as it was before the run).

``python -m optilab report LAB`` writes the two reports again from the gradebook, without
grading (after manual grading in formgrader, say).

Each notebook runs in the course's sandboxed kernel (bubblewrap, :mod:`optilab.isolate`). Where
bubblewrap cannot run, grading is refused with a message saying how to install it; ``--no-sandbox``
grades in the plain kernel anyway, and every line of ``report.txt`` says so.

Exit status: 0 when the run finished (a submission that could not be graded scores 0 for that
attempt and is listed); 2 for a usage error (no such lab or folder, an overlapping folder, no
sandbox); 3 when another run is grading the same lab in the same workspace.

Usage::

    python -m optilab grade LAB SUBMISSIONS [--out DIR] [--timeout SECONDS] [--jobs N] [--no-sandbox]
    python -m optilab report LAB [--out DIR]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from optilab.autograde.pipeline import grade_lab, report_lab
from optilab.autograde.reports import GradingRun, StudentResult
from optilab.autograde.workspace import IN_PLACE, Busy
from optilab.isolate import Unavailable

__all__ = ["main", "report_main", "grade_lab", "report_lab", "GradingRun", "StudentResult", "Busy"]


def main(argv: list[str] | None = None) -> int:
    """Run ``grade``; return 0 when the run finished, 2 on a usage error, 3 when the lab is busy."""
    parser = argparse.ArgumentParser(prog="python -m optilab grade",
                                     description="Autograde a folder of submissions for one lab with nbgrader.")
    parser.add_argument("lab", help="the lab: lab04 or lab04_adam_adamw")
    parser.add_argument("submissions", type=Path,
                        help="a folder outside the workspace with one folder, zip or notebook per student; "
                             "or the workspace's submitted/ folder (graded in place)")
    parser.add_argument("--out", type=Path, default=None,
                        help="grading workspace (default: grading/ in the course folder)")
    parser.add_argument("--timeout", type=float, default=None,
                        help="seconds a cell may run before it is stopped (default: nbgrader_config.py)")
    parser.add_argument("--jobs", type=int, default=None,
                        help="worker processes (default: one more than the cores, at most 4)")
    parser.add_argument("--no-sandbox", action="store_true",
                        help="grade without bubblewrap, in the plain kernel, with the grader's rights "
                             "(every line of report.txt says so)")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    try:
        run = grade_lab(args.lab, args.submissions, out=args.out, timeout=args.timeout, jobs=args.jobs,
                        sandbox=not args.no_sandbox)
    except Unavailable as error:
        print(f"optilab grade: {error}\nTo grade anyway, without a sandbox (every line of the report will "
              "say so): add --no-sandbox.", file=sys.stderr)
        return 2
    except Busy as error:
        print(f"optilab grade: {error}", file=sys.stderr)
        return 3
    except (FileNotFoundError, ValueError) as error:
        print(f"optilab grade: {error}", file=sys.stderr)
        return 2
    except RuntimeError as error:
        print(f"optilab grade: {error}", file=sys.stderr)
        return 1
    broken = [r for r in run.results if not r.graded]
    how = "in place" if run.mode == IN_PLACE else "from copies"
    print(f"\n{run.lab}: graded {len(run.results)} submission(s) {how} in {run.seconds:.1f} s "
          f"({run.seconds_per_submission:.2f} s per submission); "
          f"{len(broken)} could not be graded and scored 0 for this attempt.")
    if run.backup:
        print(f"backup:   {run.backup} (the gradebook before this run)")
    print(f"grades:   {run.grades_csv} (the whole class)\nreport:   {run.report}\n"
          f"feedback: {run.workspace / 'feedback'}/<student>/{run.lab}/{run.lab}.html")
    return 0


def report_main(argv: list[str] | None = None) -> int:
    """``python -m optilab report LAB [--out DIR]``: write grades.csv and report.txt from the gradebook."""
    parser = argparse.ArgumentParser(prog="python -m optilab report",
                                     description="Write a lab's grades.csv and report.txt again from the "
                                                 "gradebook (after manual grading), without grading.")
    parser.add_argument("lab", help="the lab: lab04 or lab04_adam_adamw")
    parser.add_argument("--out", type=Path, default=None,
                        help="grading workspace (default: grading/ in the course folder)")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    try:
        run = report_lab(args.lab, out=args.out)
    except (FileNotFoundError, ValueError) as error:
        print(f"optilab report: {error}", file=sys.stderr)
        return 2
    print(f"grades:   {run.grades_csv}\nreport:   {run.report}")
    return 0
