r"""The sandboxed process of ``python -m optilab check``: runs a student's file, reports as it goes.

Started by :mod:`optilab.grading.sandbox` as
``python -P -m optilab.grading.worker RULE FILE RESULTS PER_TEST_SECONDS MEMORY_BYTES``.
It limits its own address space (a 10 GB allocation raises MemoryError instead of swapping
the machine), imports the student's file as a module named ``submission``, runs the hidden
suite with a time limit per test, and appends one JSON line per event to ``RESULTS``, flushed
at once, so that the parent knows how far it got even if the student's code kills the process.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import signal
import sys
import traceback
from pathlib import Path

import numpy as np

from optilab.grading.diagnose import diagnose
from optilab.grading.runner import TimeLimit, run_tests

__all__ = ["main"]


def _limit_resources(memory: int) -> None:
    try:
        import resource
    except ImportError:  # not POSIX: the wall-clock limit still holds
        return
    for limit, value in ((resource.RLIMIT_AS, memory), (resource.RLIMIT_CORE, 0),
                         (resource.RLIMIT_FSIZE, 64 * 2**20)):
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(limit, (value, value))


#: How many tests may run out of time before the others are not run at all.
MAX_TIMEOUTS = 2
_expired: list[str] = []


@contextlib.contextmanager
def _time_limit(seconds: float, what: str):
    def expire(signum, frame):
        _expired.append(what)
        raise TimeLimit(f"{what} did not finish within {seconds:g} s: is there a loop that never ends?")
    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}{': ' + text[0] if text else ''}"


def main(argv: list[str]) -> int:
    rule, file, results, per_test, memory = argv
    per_test_s = float(per_test)
    out = open(results, "a", buffering=1, encoding="utf-8")

    def emit(kind: str, **data) -> None:
        out.write(json.dumps({"type": kind, **data}) + "\n")
        out.flush()

    sys.dont_write_bytecode = True
    sys.stdin = open(os.devnull)
    path = Path(file).resolve()
    sys.path.append(str(path.parent))  # the student's own modules, never ahead of the library's
    _limit_resources(int(memory))
    emit("loading")
    try:
        with _time_limit(2 * per_test_s, "Loading your file"):
            spec = importlib.util.spec_from_file_location("submission", path)
            module = importlib.util.module_from_spec(spec)
            sys.modules["submission"] = module
            spec.loader.exec_module(module)
    except SyntaxError as exc:
        emit("cannot-grade", message=f"{path.name} has a syntax error at line {exc.lineno}: {exc.msg}.")
        return 0
    except BaseException as exc:  # SystemExit, TimeLimit, MemoryError, any error at import
        if isinstance(exc, SystemExit):
            why = f"called sys.exit({exc.code!r}) while Python loaded it"
        else:
            frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == str(path)]
            line = f" (line {frames[-1].lineno})" if frames else ""
            why = f"raised {_first_line(exc)}{line} while Python loaded it"
        emit("load-failed", message=f"{path.name} {why}")
        return 0
    func = getattr(module, rule, None)
    if not callable(func):
        names = sorted(n for n, v in vars(module).items() if callable(v) and not n.startswith("_")
                       and getattr(v, "__module__", None) == "submission")
        has = f"it defines {', '.join(names)}" if names else "it defines no functions"
        emit("cannot-grade", message=f"{path.name} has no function named {rule!r} ({has}).")
        return 0
    emit("loaded")

    def guard(test):
        return _time_limit(per_test_s, "This test")

    def skip(test):
        if len(_expired) >= MAX_TIMEOUTS:
            return (f"not run: {len(_expired)} tests already ran out of time (is there a loop that "
                    "never ends?).")
        return None

    found = run_tests(rule, func, guard=guard, skip=skip,
                      on_start=lambda t: emit("start", name=t.name),
                      on_result=lambda r: emit("test", name=r.name, group=r.group, passed=r.passed,
                                               message=r.message, title=r.title))
    if _expired:  # running the rule again would only run out of time again
        emit("diagnoses", items=[{"id": "timeout"}])
    elif not all(r.passed for r in found):
        emit("start", name=":diagnoses")
        try:
            with _time_limit(2 * per_test_s, "Diagnosing"), np.errstate(all="ignore"):
                items = [d.as_dict() for d in diagnose(rule, func)]
        except BaseException as exc:  # the student's code misbehaved again: no diagnoses
            items = []
            emit("diagnoses-failed", message=_first_line(exc))
        emit("diagnoses", items=items)
    emit("done")
    return 0


if __name__ == "__main__":
    code = main(sys.argv[1:])
    sys.stdout.flush()
    os._exit(code)  # skip the student's atexit handlers and lingering threads
