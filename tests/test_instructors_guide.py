"""Every command in INSTRUCTORS.md works exactly as written from a fresh clone.

Found when tried: the guide's `python -m optilab ...` and `nbgrader ...` failed from a fresh clone
(the course's Python lives in `.venv/`, never activated, and the guide never said so). Commands are
now `make` targets or `.venv/bin/...` paths: each `make` command must be a target that make accepts
(a dry run), and each `.venv/bin/` command must answer `--help`.
"""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

import pytest

from tests.support.validate import VALIDATE

ROOT = Path(__file__).resolve().parents[1]
GUIDE = ROOT / "INSTRUCTORS.md"


def _commands() -> list[str]:
    text = GUIDE.read_text(encoding="utf-8")
    found = []
    for block in re.findall(r"```[a-z]*\n(.*?)```", text, flags=re.S):
        found += [line.strip() for line in block.splitlines() if line.strip() and not line.startswith("#")]
    found += re.findall(r"`((?:make|\.venv/bin/)[^`]*)`", text)
    return sorted(set(found))


def test_the_guide_types_no_command_that_needs_an_activated_environment():
    bare = [c for c in _commands() if re.match(r"(python|nbgrader|jupyter|pip)\b", c)]
    assert not bare, f"use `make ...` or `.venv/bin/...` instead of: {bare}"
    assert all(c.startswith(("make ", ".venv/bin/", "cp ", "sudo apt-get install ", "sudo dnf install "))
               or c == "make" for c in _commands()), _commands()


@pytest.mark.parametrize("command", [c for c in _commands() if c.startswith("make ")])
def test_every_make_command_of_the_guide_is_a_target(command):
    words = [w for w in shlex.split(command) if not w.startswith("[")]
    done = subprocess.run(["make", "-n", *words[1:]], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, f"{command}: {done.stderr.strip()}"


@pytest.mark.parametrize("command", [c for c in _commands() if c.startswith(".venv/bin/")])
def test_every_venv_command_of_the_guide_answers_help(command):
    words = shlex.split(command)
    # the program and its subcommands, up to the first argument that is a placeholder or a value
    start = 3 if words[1:2] == ["-m"] else 1  # `.venv/bin/python -m optilab ...`
    head = words[:start]
    for word in words[start:]:
        if word.startswith(("-", "[")) or not re.fullmatch(r"[a-z_]+", word) or word.startswith("lab"):
            break
        head.append(word)
    done = subprocess.run([*head, "--help"], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, f"{' '.join(head)} --help: {done.stderr.strip()[-500:]}"


def test_make_clean_keeps_the_gradebook_and_submissions(tmp_path):
    """`make clean` once deleted grading/, and with it every grade entered by hand."""
    (tmp_path / "Makefile").write_text((ROOT / "Makefile").read_text())
    (tmp_path / "pyproject.toml").write_text("")
    for name in (".venv/bin/python", "build/bench.json", "grading/.cache/x", "grading/gradebook.db",
                 "grading/submitted/ann/lab01/lab01.ipynb", "grading/backups/gradebook-1-lab01.db"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("data")
    done = subprocess.run(["make", "clean"], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert not (tmp_path / ".venv").exists() and not (tmp_path / "build").exists()
    assert not (tmp_path / "grading" / ".cache").exists()
    for kept in ("grading/gradebook.db", "grading/submitted/ann/lab01/lab01.ipynb", "grading/backups/gradebook-1-lab01.db"):
        assert (tmp_path / kept).read_text() == "data", kept




def test_the_students_validate_button_works_without_bubblewrap(tmp_path):
    """Grading runs in the sandboxed kernel; Validate, which reads the same nbgrader_config.py from the
    folder JupyterLab serves (Binder, a laptop), must not need bubblewrap."""
    import json
    import os
    import sys

    from tests.support.submissions import WRITTEN_CELL, student, write

    notebook = tmp_path / "lab01_gradient_descent.ipynb"
    write(notebook, student(lambda cells: cells[WRITTEN_CELL].update(source="Close to 2/λ_max.")))
    no_bwrap = {**os.environ, "PATH": str(Path(sys.executable).parent)}  # the venv's tools, no bwrap
    done = subprocess.run([sys.executable, "-c", VALIDATE, str(notebook)], cwd=ROOT, env=no_bwrap,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert "failed" not in result and "changed" not in result, result
