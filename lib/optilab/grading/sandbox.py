r"""Grade a rule written in a file, with the student's code in a separate, limited process.

:func:`grade_file` checks what can be checked without running the student's code (the rule's
name, the file, its syntax), then starts :mod:`optilab.grading.worker` in a new process
group with a wall-clock limit, a per-test time limit and an address-space limit, and reads
the results the worker wrote line by line. Whatever the student's code does — loop for ever,
call ``sys.exit`` or ``os._exit``, crash the interpreter, allocate 10 GB — the outcome is a
grade: the tests that ran keep their result, the test that was running fails with the cause,
and the tests after it fail as not run.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from optilab import isolate
from optilab.grading.diagnose import Diagnosis
from optilab.grading.mistakes import MISTAKES
from optilab.grading.runner import SUITE_ENV, TestResult, load_suite, score, suite_dir
from optilab.grading.spec import require_rule

__all__ = ["CannotGrade", "Outcome", "grade_file"]

class CannotGrade(Exception):
    """The file cannot be graded: no such file, a syntax error, no such function, unknown rule."""


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
        compile(source, str(path), "exec", dont_inherit=True)
    except SyntaxError as exc:
        raise CannotGrade(f"{path.name} has a syntax error at line {exc.lineno}: {exc.msg}.") from None
    except (ValueError, OSError) as exc:
        raise CannotGrade(f"{path.name} cannot be read as Python: {exc}") from None


def _signal_name(code: int) -> str:
    try:
        name = signal.Signals(-code).name
    except ValueError:
        name = f"signal {-code}"
    plain = {"SIGSEGV": "a segmentation fault", "SIGABRT": "an abort", "SIGBUS": "a bus error",
             "SIGKILL": "killed", "SIGFPE": "a floating-point exception", "SIGXFSZ": "a file too large"}
    return f"{plain.get(name, name)}, {name}" if name in plain else name


_noted: list[str] = []


def _note_unsandboxed(reason: str) -> None:
    """Say once on stderr that the student's code runs without bubblewrap here, and why."""
    if not _noted:
        _noted.append(reason)
        print(f"note: not sandboxed: {reason} The file still runs in a separate process with time and "
              "memory limits, but can read and write your files.", file=sys.stderr)


def grade_file(rule: str, file: str | os.PathLike, *, timeout: float = 30.0, per_test: float = 2.0,
               memory: int = 3 * 2**30) -> Outcome:
    """Run the hidden suite of ``rule`` on the function ``rule`` of ``file``, in a sandboxed process.

    Parameters
    ----------
    rule : str
        The contract's rule (``"sgd"``, ..., ``"adamw"``); the file must define a function of
        that name.
    file : path
        The student's Python file.
    timeout : float
        Wall-clock limit for the whole run, in seconds; the process group is killed after it.
    per_test : float
        Time limit of each test (and of loading the file: twice that), in seconds.
    memory : int
        Address-space limit of the process, in bytes.

    Raises
    ------
    CannotGrade
        Unknown rule, no such file, a syntax error, no function of that name.
    """
    start = time.perf_counter()
    path = Path(file).resolve()
    _preflight(rule, path)
    try:
        tests = load_suite(rule)
    except (FileNotFoundError, ValueError) as exc:
        raise CannotGrade(str(exc)) from None
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
           "MKL_NUM_THREADS": "1", "MPLBACKEND": "Agg"}
    sandboxed, why_not = isolate.available()
    if not sandboxed:
        _note_unsandboxed(why_not)
    with tempfile.TemporaryDirectory(prefix="optilab-check-") as tmp:
        def worker(file: str, results: str) -> list[str]:
            # -P: the student's folder is not put ahead of the library on sys.path
            return [sys.executable, "-P", "-m", "optilab.grading.worker", rule, file, results,
                    str(per_test), str(memory)]

        if sandboxed:  # a private copy of the file is the only folder it sees and may write
            work = Path(tmp) / "submission"
            work.mkdir()
            shutil.copyfile(path, work / path.name)
            results_file = work / "results.jsonl"
            results_file.touch()
            # The worker runs the suite in the student's process for now: it needs to read it.
            suites = suite_dir()
            argv = isolate.command(worker(f"{isolate.WORKDIR}/{path.name}", f"{isolate.WORKDIR}/results.jsonl"),
                                   workdir=work, readonly=[suites], env={SUITE_ENV: str(suites)},
                                   limits=isolate.Limits(memory=memory, cpu_seconds=int(timeout) + 5))
            env, cwd = {"PATH": os.environ.get("PATH", os.defpath)}, tmp
        else:
            results_file = Path(tmp) / "results.jsonl"
            results_file.touch()
            argv, cwd = worker(str(path), str(results_file)), str(path.parent)
        with open(Path(tmp) / "output.txt", "wb") as output:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=output, stderr=output, cwd=cwd,
                                    env=env, start_new_session=True)
            timed_out = False
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                timed_out = True
            finally:
                try:  # the whole group: the student's code may have started processes
                    os.killpg(proc.pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
                proc.wait()
        if results_file.stat().st_size == 0:  # the worker never started: the grader's fault
            tail = (Path(tmp) / "output.txt").read_bytes()[-2000:].decode("utf-8", "replace")
            last = tail.strip().splitlines()[-1] if tail.strip() else f"exit status {proc.returncode}"
            raise CannotGrade(f"the grading process did not start ({last}); is optilab installed "
                              "in this Python (pip install -e .)?")
        events = []
        for line in results_file.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                events.append(json.loads(line))
            except json.JSONDecodeError:
                continue  # a line cut short by a crash, or the student's own writing
    returncode = proc.returncode
    if sandboxed and returncode > 128:  # bwrap reports a child killed by signal N as 128 + N
        returncode = 128 - returncode
    outcome = _collect(rule, tests, events, returncode, timed_out, timeout)
    outcome.seconds = time.perf_counter() - start
    return outcome


def _collect(rule: str, tests: list, events: list[dict], returncode: int, timed_out: bool,
             timeout: float) -> Outcome:
    kinds = {e.get("type") for e in events}
    for e in events:
        if e.get("type") == "cannot-grade":
            raise CannotGrade(e.get("message", "cannot grade this file"))
    done = {e["name"]: e for e in events if e.get("type") == "test" and "name" in e}
    started = [e.get("name") for e in events if e.get("type") == "start"]
    running = started[-1] if started and started[-1] not in done else None
    diagnoses: list[Diagnosis] = []
    for e in events:
        if e.get("type") == "diagnoses":
            for item in e.get("items", []):
                mid = item.get("id", "")
                if mid in MISTAKES:  # never trust the process for the text
                    diagnoses.append(Diagnosis(mid, MISTAKES[mid].message))

    if "load-failed" in kinds:
        message = next(e["message"] for e in events if e.get("type") == "load-failed")
        cause, diag = message, "load-failed"
    elif "done" in kinds:
        cause, diag = "", None
    elif timed_out:
        cause = f"your code did not finish within the time limit ({timeout:g} s in all)"
        diag = "timeout"
    elif returncode < 0:
        sig = _signal_name(returncode)
        cause = f"your code crashed the Python process ({sig})"
        diag = "crashed"
    else:
        cause = f"your code ended the Python process (exit status {returncode})"
        diag = "exited"
    if cause and "loaded" not in kinds and "load-failed" not in kinds:
        cause = f"{cause} while Python loaded your file"

    results = []
    for t in tests:
        if t.name in done:
            e = done[t.name]
            results.append(TestResult(t.name, t.group, bool(e.get("passed")), str(e.get("message", "")),
                                      t.title))
        elif t.name == running:
            results.append(TestResult(t.name, t.group, False, f"{cause} during this test.", t.title))
        else:
            results.append(TestResult(t.name, t.group, False, f"not run: {cause}.", t.title))
    if diag is not None and diag not in {d.id for d in diagnoses}:
        diagnoses.insert(0, Diagnosis(diag, MISTAKES[diag].message))
    return Outcome(rule, results, diagnoses)
