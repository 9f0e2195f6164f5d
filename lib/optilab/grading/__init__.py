r"""The grader: the graded suites, and grading a file or a notebook without running its code here.

- :data:`GROUPS`: rule -> {point group: points}; one nbgrader hidden-test cell per group.
- :func:`hidden`: run one group of a rule's hidden suite (:mod:`.suites`) on a student's rule
  (inside nbgrader's ``### BEGIN HIDDEN TESTS`` blocks); raises AssertionError naming the
  failed tests and the recognised mistakes (:func:`optilab.contract.diagnose`).
- ``python -m optilab check RULE FILE.py [--json]`` (:mod:`.cli`): the whole hidden suite on a
  rule written in a file, in a sandboxed process.
- :mod:`.verdicts`: the nbgrader preprocessor that decides every autograded test cell of the labs
  in the grader's process (checks in :mod:`.labs`), asking the student's notebook, run in its own
  process (:mod:`.notebook`), for plain values only.

Two sides. Where the grader needs a student's code run (a rule file's calls for ``check``, a
notebook's cells for the verdicts), it starts a process of the student's from one script that
imports nothing of optilab, :mod:`.student_side`, which loads by path the process's own module
(:mod:`.student_file` or :mod:`.student_notebook`), the wire (:mod:`.wire`) and the library the
student sees (:mod:`.student_library`). Every other module here is the grader's.
"""

from __future__ import annotations

from optilab.contract.spec import GROUPS, RULES
from optilab.grading.runner import group, hidden

__all__ = ["GROUPS", "RULES", "hidden", "group"]
