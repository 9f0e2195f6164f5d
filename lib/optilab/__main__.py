"""``python -m optilab COMMAND ...``: the course's command line.

- ``check RULE FILE.py [--json]``  grade one update rule written in a file (the hidden suite).
- ``check LAB.ipynb [--json]``      grade every autograded cell of a lab notebook, as ``make grade`` does.
- ``release``                      regenerate ``labs/`` from ``solutions/`` with nbgrader.
- ``grade LAB SUBMISSIONS``        autograde a folder of submissions; writes grades.csv and feedback.
- ``report LAB``                   write a lab's grades.csv and report.txt again from the gradebook.
"""

from __future__ import annotations

import importlib
import sys

COMMANDS = {
    "check": ("optilab.grading.cli", "grade a rule in a file (check RULE FILE.py) or a whole lab notebook (check LAB.ipynb)"),
    "release": ("optilab.release", "regenerate labs/ from solutions/ with nbgrader"),
    "grade": ("optilab.autograde", "autograde a folder of submissions with nbgrader"),
    "report": ("optilab.autograde", "write a lab's grades.csv and report.txt again from the gradebook"),
}
#: The function of each command's module that runs it (default: ``main``).
ENTRY = {"report": "report_main"}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in {"-h", "--help"} or argv[0] not in COMMANDS:
        lines = [f"  {name:<8} {help_}" for name, (_, help_) in COMMANDS.items()]
        usage = "usage: python -m optilab COMMAND ...\n\ncommands:\n" + "\n".join(lines)
        if argv and argv[0] not in {"-h", "--help"}:
            print(f"optilab: unknown command {argv[0]!r}.\n{usage}", file=sys.stderr)
            return 2
        print(usage)
        return 0
    module = importlib.import_module(COMMANDS[argv[0]][0])
    return int(getattr(module, ENTRY.get(argv[0], "main"))(argv[1:]) or 0)


if __name__ == "__main__":
    sys.exit(main())
