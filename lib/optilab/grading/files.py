r"""Grade a rule written in a file (``python -m optilab check``) without running the student's code here.

The process that decides the grade (this one) runs the hidden suite exactly as nbgrader's
cells do (:func:`optilab.grading.runner.run_tests`, then :func:`~optilab.contract.diagnose`),
but the rule it hands them is a :class:`StudentRule`: a callable whose every call sends the
inputs — ``param``, ``grad``, the ``state`` dict, the hyperparameters — as plain data to a
separate process that loaded the student's file (:mod:`optilab.grading.student_file`),
and gets back plain values: the new param, the new state, what became of the inputs, or the
description of an exception. Arrays travel in ``.npy`` format, read without pickle; numbers
as JSON. Every value that comes back is checked before the suite sees it, so nothing in the
student's file — patched modules, builtins, NumPy, ``sys.modules``, forged output — can
change how it is judged: it can only change the values its rule returns.

The student's process has limits: each test's time (the parent stops waiting and kills the
process, then starts a fresh one for the next test), the whole run's time, its address space
(``RLIMIT_AS``: a 10 GB allocation raises MemoryError), the size of files it writes and of
each reply. Whatever it does — loop for ever, call ``sys.exit`` or ``os._exit``, crash the
interpreter, garble the channel — the outcome is a grade: the tests that ran keep their
result, the test that was running fails with the cause, and a process that ended makes the
tests after it fail as not run.

Where bubblewrap works (:func:`optilab.isolate.available`), the process runs inside it
(:func:`optilab.isolate.command`) on a private copy of the file: it sees a read-only system, the
Python environment and the library, and one folder of its own; no network, no other file of
the student's or the grader's. Elsewhere (macOS, Windows, a container without user namespaces)
it runs unsandboxed, with the limits above, and the command says so once on stderr.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from optilab import isolate
from optilab.contract.diagnose import Diagnosis, diagnose
from optilab.contract.mistakes import MISTAKES
from optilab.grading.runner import HiddenTest, TestResult, TimeLimit, load_suite, run_tests, score
from optilab.contract.spec import require_rule

from optilab.grading.process import StudentEnded
from optilab.grading.process import _Expired
from optilab.grading.proxy import CannotGrade, OutOfTime, StudentRule
from optilab.grading.replies import clean_name

__all__ = ["CannotGrade", "Outcome", "grade_file"]  # CannotGrade: optilab.grading.proxy's

#: How many tests may run out of time before the others are not run at all.
MAX_TIMEOUTS = 2

@dataclass
class Outcome:
    """A graded file: the tests' results, the diagnoses and the score."""

    rule: str
    results: list[TestResult]
    diagnoses: list[Diagnosis] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return bool(self.results) and all(r.passed for r in self.results)

    @property
    def score(self) -> tuple[int, int]:
        return score(self.rule, self.results)

    def as_dict(self) -> dict:
        """The ``--json`` object of CONTRACT.md."""
        points, total = self.score
        return {"rule": self.rule, "passed": self.passed, "score": points, "max_score": total,
                "tests": [r.as_dict() for r in self.results],
                "diagnoses": [d.as_dict() for d in self.diagnoses]}


# --------------------------------------------------------------------------- grading a file
def _preflight(rule: str, path: Path) -> None:
    try:
        require_rule(rule)
    except ValueError as exc:
        raise CannotGrade(str(exc)) from None
    if not path.exists():
        raise CannotGrade(f"no such file: {path}")
    if not path.is_file():
        raise CannotGrade(f"{path} is not a file")
    try:
        source = path.read_bytes()
        compile(source, str(path), "exec", dont_inherit=True)  # compiles only: runs nothing
    except SyntaxError as exc:
        raise CannotGrade(f"{path.name} has a syntax error at line {exc.lineno}: {exc.msg}.") from None
    except (ValueError, OSError, RecursionError, MemoryError) as exc:
        raise CannotGrade(f"{path.name} cannot be read as Python: {type(exc).__name__}: {exc}") from None


def _load_failure(path: Path, hello: dict) -> str:
    err = hello.get("error") if isinstance(hello.get("error"), dict) else {}
    if clean_name(err.get("type"), "") == "SystemExit":
        code = err.get("exit_code")
        code = code if code is None or type(code) in (int, str) else str(code)
        return f"{path.name} called sys.exit({code!r}) while Python loaded it"
    name = clean_name(err.get("type"), "Exception")
    message = err.get("message") if isinstance(err.get("message"), str) else ""
    line = err.get("line")
    where = f" (line {line})" if type(line) is int else ""
    return f"{path.name} raised {name}{': ' + message if message else ''}{where} while Python loaded it"


def _no_function(rule: str, path: Path, hello: dict) -> str:
    names = hello.get("defines")
    names = [n for n in names if isinstance(n, str) and n.isidentifier()][:20] \
        if isinstance(names, list) else []
    has = f"it defines {', '.join(names)}" if names else "it defines no functions"
    return f"{path.name} has no function named {rule!r} ({has})."


def _all_failed(rule: str, tests: list[HiddenTest], cause: str, diagnosis: str) -> Outcome:
    results = [TestResult(t.name, t.group, False, f"not run: {cause}.", t.title) for t in tests]
    return Outcome(rule, results, [Diagnosis(diagnosis, MISTAKES[diagnosis].message)])


_noted: list[str] = []


def _note_unsandboxed(reason: str) -> None:
    """Say once on stderr that the student's code runs without bubblewrap here, and why."""
    if not _noted:
        _noted.append(reason)
        print(f"note: not sandboxed: {reason} The file still runs in a separate process with time and "
              "memory limits, but can read and write your files.", file=sys.stderr)


def grade_file(rule: str, file: str | os.PathLike, *, timeout: float = 30.0, per_test: float = 2.0,
               memory: int = 3 * 2**30) -> Outcome:
    """Run the hidden suite of ``rule`` on the function ``rule`` of ``file``, in another process.

    Parameters
    ----------
    rule : str
        The contract's rule (``"sgd"``, ..., ``"adamw"``); the file must define a function of
        that name.
    file : path
        The student's Python file.
    timeout : float
        Wall-clock limit for the whole run, in seconds.
    per_test : float
        Time limit of each test (and of loading the file: twice that), in seconds.
    memory : int
        Address-space limit of the student's process, in bytes.

    Raises
    ------
    CannotGrade
        Unknown rule, no such file, a syntax error, no function of that name.
    """
    start = time.perf_counter()
    deadline = time.monotonic() + timeout
    path = Path(file).resolve()
    _preflight(rule, path)
    sandboxed, why_not = isolate.available()
    if not sandboxed:
        _note_unsandboxed(why_not)
    with tempfile.TemporaryDirectory(prefix="optilab-check-") as tmp, \
            open(Path(tmp) / "output.txt", "wb") as output:
        sandbox = None
        if sandboxed:  # a private copy of the file is the only folder it sees and may write
            sandbox = Path(tmp) / "submission"
            sandbox.mkdir()
            shutil.copyfile(path, sandbox / path.name)
        student = StudentRule(rule, path, memory=memory, output=output, load_seconds=2 * per_test,
                              deadline=deadline, sandbox=sandbox)
        student.start()  # it loads the file while this process loads the suite
        try:
            try:
                tests = load_suite(rule)
            except (FileNotFoundError, ValueError) as exc:
                raise CannotGrade(str(exc)) from None
            outcome = _grade(rule, path, tests, student, per_test, timeout)
        finally:
            student.close()
    outcome.seconds = time.perf_counter() - start
    return outcome


def _grade(rule: str, path: Path, tests: list[HiddenTest], student: StudentRule, per_test: float,
           timeout: float) -> Outcome:
    try:
        hello = student.hello()
    except _Expired:
        student.close()
        limit = (f"{timeout:g} s in all" if time.monotonic() >= student.deadline
                 else f"{student.load_seconds:g} s")
        return _all_failed(rule, tests, f"your file did not finish loading within the time limit "
                                        f"({limit}): look for a loop at its top level that never "
                                        "ends", "timeout")
    except StudentEnded as exc:
        return _all_failed(rule, tests, f"{exc.cause} while Python loaded your file", exc.diagnosis)
    if hello["status"] == "no-function":
        raise CannotGrade(_no_function(rule, path, hello))
    if hello["status"] == "load-failed":
        return _all_failed(rule, tests, _load_failure(path, hello), "load-failed")

    done: dict[str, TestResult] = {}
    running: list[str] = []

    def guard(test: HiddenTest):
        return student.limit(per_test, "This test")

    def skip(test: HiddenTest) -> str | None:
        if len(student.expired) >= MAX_TIMEOUTS:
            return (f"not run: {len(student.expired)} tests already ran out of time (is there a "
                    "loop that never ends?).")
        return None

    def on_result(result: TestResult) -> None:
        done[result.name] = result

    stopped: tuple[str, str] | None = None
    try:
        run_tests(rule, student, guard=guard, skip=skip, on_start=lambda t: running.append(t.name),
                  on_result=on_result)
    except StudentEnded as exc:
        stopped = (exc.cause, exc.diagnosis)
    except OutOfTime:
        stopped = (f"your code did not finish within the time limit ({timeout:g} s in all)", "timeout")

    diagnoses: list[Diagnosis] = []
    if stopped is None:
        if student.expired:  # running the rule again would only run out of time again
            diagnoses = [Diagnosis("timeout", MISTAKES["timeout"].message)]
        elif not all(r.passed for r in done.values()):
            try:
                with student.limit(2 * per_test, "Diagnosing"), np.errstate(all="ignore"):
                    diagnoses = diagnose(rule, student)
            except TimeLimit:
                diagnoses = []
            except StudentEnded as exc:
                diagnoses = [Diagnosis(exc.diagnosis, MISTAKES[exc.diagnosis].message)]
            except OutOfTime:
                diagnoses = [Diagnosis("timeout", MISTAKES["timeout"].message)]

    results = []
    current = running[-1] if running and running[-1] not in done else None
    for t in tests:
        if t.name in done:
            results.append(done[t.name])
        elif stopped and t.name == current:
            results.append(TestResult(t.name, t.group, False, f"{stopped[0]} during this test.", t.title))
        else:
            cause = stopped[0] if stopped else "the suite stopped"
            results.append(TestResult(t.name, t.group, False, f"not run: {cause}.", t.title))
    if stopped and stopped[1] not in {d.id for d in diagnoses}:
        diagnoses.insert(0, Diagnosis(stopped[1], MISTAKES[stopped[1]].message))
    return Outcome(rule, results, diagnoses)
