"""``python -m optilab check LAB.ipynb``: a self-learner grades a whole lab notebook as make grade does."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_outside_verdicts import FULL_MARKS, LAB4, _student

ROOT = Path(__file__).resolve().parents[1]


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "optilab", "check", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=600)


def _digest(folder: Path) -> dict[str, str]:
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.slow
def test_the_instructors_answers_get_every_autograded_point_and_nothing_is_written(tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    notebook = folder / f"{LAB4}.ipynb"
    notebook.write_text(json.dumps(_student(LAB4)), encoding="utf-8")
    before = _digest(tmp_path)
    done = _run(str(notebook), "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert report["score"] == report["max_score"] == FULL_MARKS[LAB4]
    assert all(c["earned"] == c["points"] and not c["message"] for c in report["cells"])
    assert _digest(tmp_path) == before


@pytest.mark.slow
def test_a_wrong_rule_loses_its_cells_and_the_report_says_why(tmp_path):
    wrong = {"adam-answer": ("def adam(param, grad, state, *, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):\n"
                             "    t = state.get('t', 0) + 1\n"
                             "    m = beta1 * state.get('m', 0.0) + (1 - beta1) * grad\n"
                             "    v = beta2 * state.get('v', 0.0) + (1 - beta2) * grad ** 2\n"
                             "    return param - lr * m / (np.sqrt(v) + eps), {'t': t, 'm': m, 'v': v}\n")}
    notebook = tmp_path / f"{LAB4}.ipynb"
    notebook.write_text(json.dumps(_student(LAB4, wrong)), encoding="utf-8")
    done = _run(str(notebook), cwd=tmp_path)
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    # adam without bias correction loses its 6 points (a first step from {} is already 3.16 lr),
    # and so does the instructor's adamw, which calls this adam; the helpers, run with optilab's
    # adam where the student's fails its check, keep their 4.
    assert "Autograded points: 4 of 16 (written answers are graded by hand)" in lines
    assert "✗ test-adam-first-step: 0 of 1" in lines and "✗ test-adamw-first-step: 0 of 1" in lines
    assert "✓ test-bias-correction: 2 of 2" in lines and "✓ test-decay: 2 of 2" in lines
    assert "bias" in done.stdout.lower()


def test_a_file_that_is_not_a_lab_is_refused_with_a_reason(tmp_path):
    other = tmp_path / "notes.ipynb"
    other.write_text(json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    done = _run(str(other), cwd=tmp_path)
    assert done.returncode == 2 and "notes.ipynb is not a lab of the course" in done.stderr
    done = _run(str(tmp_path / f"{LAB4}.ipynb"), cwd=tmp_path)
    assert done.returncode == 2 and "there is no notebook" in done.stderr


def test_a_machine_that_cannot_start_the_notebooks_process_is_reported_as_the_graders_failure(tmp_path):
    """A sandbox that cannot start the notebook's process (here a bwrap first on PATH that fails
    for it, and only for it, each time) is the machine's failure: one line that says so and to
    grade again, exit 2, no traceback and no score blamed on the notebook."""
    import shutil

    from optilab import isolate

    ok, reason = isolate.available()
    if not ok:
        if os.environ.get("OPTILAB_REQUIRE_SANDBOX"):
            pytest.fail(f"OPTILAB_REQUIRE_SANDBOX is set but {reason}")
        print(f"skipped: student code cannot be sandboxed here: {reason}")
        pytest.skip(f"student code cannot be sandboxed here: {reason}")
    real = shutil.which("bwrap")
    fake = tmp_path / "bin" / "bwrap"
    fake.parent.mkdir()
    fake.write_text(  # the real bwrap for everything else (as root, the sandbox starts bwrap in it again)
        f"#!{sys.executable}\nimport os, sys\nreal = {real!r}\n"
        "args = [real if a == sys.argv[0] else a for a in sys.argv[1:]]\n"
        "if any(a.endswith('student_side.py') for a in args) and 'notebook' in args:\n    sys.exit(3)\n"
        "os.execv(real, [real, *args])\n")
    fake.chmod(0o755)
    notebook = tmp_path / f"{LAB4}.ipynb"
    notebook.write_text(json.dumps(_student(LAB4)), encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "optilab", "check", str(notebook)], cwd=tmp_path,
                          capture_output=True, text=True, timeout=600,
                          env={**os.environ, "PATH": f"{fake.parent}{os.pathsep}{os.environ['PATH']}"})
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stdout == "" and "Traceback" not in done.stderr
    [line] = done.stderr.splitlines()
    assert line.startswith("optilab check: the grader could not start the process that runs the notebook "
                           "(exit status 3) before any of its code ran"), line
    assert line.endswith("not of the notebook: run the grading again"), line
