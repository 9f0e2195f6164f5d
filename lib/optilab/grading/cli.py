r"""``python -m optilab check RULE FILE.py [--json]``: grade one update rule written in a file.

(``python -m optilab check LAB.ipynb [--json]`` grades a whole lab notebook instead:
:mod:`optilab.grading.whole_notebook`.)

Runs the whole hidden suite of ``RULE`` in this process on the function ``RULE`` of
``FILE.py``, which runs in a separate, limited process that only ever sends back plain values
(:mod:`optilab.grading.files`): nothing in the file can change how it is judged.

Exit status: 0 when every test passes; 1 when any test fails (an endless loop, a crash or
``sys.exit`` in the student's code is a failing grade); 2 when the file cannot be graded (no
such file, a syntax error, no function of that name, an unknown rule), with a one-line
message on stderr saying which. With ``--json`` the report is one JSON object,
``{"rule", "passed", "score", "max_score", "tests": [{"name", "passed", "message"}],
"diagnoses": [{"id", "message"}]}``; a file that cannot be graded gives the same keys with
``"tests": []`` and an ``"error"`` holding the message.
"""

from __future__ import annotations

import argparse
import json
import sys

from optilab.grading.runner import format_results
from optilab.grading.proxy import CannotGrade
from optilab.grading.files import Outcome, grade_file
from optilab.contract.spec import GROUPS, RULES

__all__ = ["main", "report"]


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, exit 2, instead of argparse's usage block
        raise _UsageError(message)


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m optilab check",
                description="Grade one update rule written in a file against its hidden test suite.")
    p.add_argument("rule", help=f"the rule to grade: one of {', '.join(RULES)}")
    p.add_argument("file", help="the Python file that defines a function named RULE")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of the report")
    p.add_argument("--timeout", type=float, default=30.0,
                   help="wall-clock limit of the whole run, in seconds (default 30)")
    p.add_argument("--test-timeout", type=float, default=2.0,
                   help="time limit of each test, in seconds (default 2)")
    return p


def report(outcome: Outcome, file: str) -> str:
    """The readable report: the tests group by group, the diagnoses, the score."""
    points, total = outcome.score
    lines = [f"{outcome.rule} in {file}: hidden test suite"]
    for grp, value in GROUPS[outcome.rule].items():
        mine = [r for r in outcome.results if r.group == grp]
        ok = all(r.passed for r in mine)
        lines.append("")
        lines.append(f"{grp} ({value} point{'s' if value != 1 else ''}): {'passed' if ok else 'FAILED'}")
        lines.append(format_results(mine))
    if outcome.diagnoses:
        lines.append("")
        lines.append("What looks wrong:")
        lines.extend(f"  • [{d.id}] {d.message}" for d in outcome.diagnoses)
    elif not outcome.passed:
        lines.append("")
        lines.append("No known mistake matches: compare your code with the formula line by line, "
                     "starting from the first ✗.")
    n_ok = sum(r.passed for r in outcome.results)
    lines.append("")
    lines.append(f"Score: {points}/{total} ({n_ok} of {len(outcome.results)} tests passed)"
                 f"{'' if outcome.passed else ' — FAILED'}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the command; return its exit status (0 passed, 1 failed, 2 cannot grade)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    want_json = "--json" in argv
    given = [a for a in argv if not a.startswith("-")]
    if len(given) == 1 and given[0].endswith(".ipynb"):  # a whole lab notebook
        from optilab.grading import whole_notebook
        return whole_notebook.main(given, want_json=want_json)
    rule = argv[0] if argv and not argv[0].startswith("-") else ""
    try:
        args = _parser().parse_args(argv)
        outcome = grade_file(args.rule, args.file, timeout=args.timeout, per_test=args.test_timeout)
    except (_UsageError, CannotGrade) as exc:
        message = str(exc).splitlines()[0] if str(exc) else "cannot grade"
        print(f"optilab check: {message}", file=sys.stderr)
        if want_json:
            total = sum(GROUPS[rule].values()) if rule in GROUPS else 0
            print(json.dumps({"rule": rule, "passed": False, "score": 0, "max_score": total,
                              "tests": [], "diagnoses": [], "error": message}))
        return 2
    if args.json:
        print(json.dumps(outcome.as_dict(), ensure_ascii=False))
    else:
        print(report(outcome, args.file))
    return 0 if outcome.passed else 1
