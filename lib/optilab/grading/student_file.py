r"""The student's process of a rule file: where a student's rule runs while it is graded.

The grader (:mod:`optilab.grading.files`) never runs a student's code. It starts a separate
process, whose script (:mod:`~optilab.grading.student_side`) loads this file by its path and
calls :func:`main`::

    python -P .../optilab/grading/student_side.py file RULE FILE MEMORY_BYTES

:func:`main` loads ``FILE`` as a module named ``submission``, says whether it found the function
``RULE``, and then serves calls of that function, one request at a time, until its input
closes (:func:`optilab.grading.student_side.serve_call`: each reply holds what the rule
returned, what became of its inputs, which returned arrays share memory with an input, or the
exception it raised). The reference rules are hidden from the student's code
(:func:`optilab.grading.student_library.hide_reference_rules`).

This file imports nothing of optilab (so the grader's modules are not in the student's
process), only the standard library, NumPy and :mod:`~optilab.grading.student_side`, the script
that loaded it.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

import numpy as np


#: The student's side. In the student's process, the script that loaded this file, under the name its
#: :func:`~optilab.grading.student_side.sibling` gives it (nothing of the optilab package is imported there);
#: imported as a module of the package (its documentation, the tests), the package's own.
_side = sys.modules.get("optilab_student_student_side") or importlib.import_module("optilab.grading.student_side")


def _load(rule: str, path: str) -> tuple[Any, dict]:
    import importlib.util

    try:
        spec = importlib.util.spec_from_file_location("submission", path)
        module = importlib.util.module_from_spec(spec)
        sys.modules["submission"] = module
        spec.loader.exec_module(module)
    except BaseException as exc:  # SystemExit, MemoryError, SyntaxError in an import, any error
        return None, {"status": "load-failed", "error": _side.describe_exception(exc, path)}
    func = getattr(module, rule, None)
    if not callable(func):
        names = sorted(n for n, v in vars(module).items() if callable(v) and not n.startswith("_")
                       and getattr(v, "__module__", None) == "submission")
        return None, {"status": "no-function", "defines": [str(n)[:80] for n in names[:20]]}
    return func, {"status": "ready"}


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        raise SystemExit("usage: student_side.py file RULE FILE MEMORY_BYTES")
    rule, file, memory = argv
    wire_in, wire_out = _side.wire_ends()
    path = os.path.abspath(file)
    sys.path.append(os.path.dirname(path))  # the student's own modules, never ahead of NumPy's
    _side.limit_resources(int(memory))
    _side.write_all(wire_out, _side.pack({"status": "started"}))  # before any of the student's code runs
    _side.library.hide_reference_rules(rule)
    func, hello = _load(rule, path)
    _side.write_all(wire_out, _side.pack(hello))
    if func is None:
        return 0

    def answer(header: dict, blobs: list) -> tuple[dict, list]:
        with np.errstate(all="ignore"):
            return _side.serve_call(func, header, blobs, path)
    return _side.serve(wire_in, wire_out, answer)

