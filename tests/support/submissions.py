"""Student notebooks for lab 1, made from the released lab and the instructor's answers.

The grading tests build their submissions with these: the student version from ``labs/``,
filled with the answers of ``solutions/`` (a correct submission), then edited the way students
edit (a wrong rule, an endless loop, a kernel that kills itself, tampered or deleted cells).
Expected scores are worked out by hand from the lab's points below, never read from the grader.
"""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LAB = "lab01_gradient_descent"

# Lab 1's points, by test cell: sgd's three hidden groups (1 each), minibatches (2 + 1),
# the stability experiment (2); the written answer (2) is graded by hand, so autograding
# gives at most 8 of 10.
SGD, MINIBATCHES, STABLE, WRITTEN = 3, 3, 2, 2
FULL = SGD + MINIBATCHES + STABLE
MAX = FULL + WRITTEN
WRITTEN_CELL = "stable-lr-answer"


def load(path: Path) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def answers() -> dict[str, str]:
    """The instructor's answer cells of lab 1, by cell id."""
    solution = load(ROOT / "solutions" / LAB / f"{LAB}.ipynb")
    return {c["id"]: c["source"] for c in solution["cells"]
            if c["metadata"].get("nbgrader", {}).get("solution") and c["cell_type"] == "code"}


def student(edit=None, fill: bool = True) -> dict:
    """The released notebook, with the instructor's answers when ``fill``, then ``edit(cells_by_id)``."""
    nb = copy.deepcopy(load(ROOT / "labs" / LAB / f"{LAB}.ipynb"))
    if fill:
        given = answers()
        for cell in nb["cells"]:
            if cell["id"] in given:
                cell["source"] = given[cell["id"]]
    if edit:
        edit({c["id"]: c for c in nb["cells"]})
    return nb


def without(nb: dict, *ids: str) -> dict:
    nb["cells"] = [c for c in nb["cells"] if c["id"] not in ids]
    return nb


def wrong_sgd(cells) -> None:
    """Right values, but it changes the caller's array in place: fails only the "contract" group (1 point)."""
    cells["sgd-answer"]["source"] = ("def sgd(param, grad, state, *, lr=1e-2):\n"
                                     "    param -= lr * grad\n    return param, {}\n")


def tampered(cells) -> None:
    wrong_sgd(cells)
    for gid in ("test-sgd-first-step", "test-sgd-many-steps", "test-sgd-contract"):
        cells[gid]["source"] = "pass  # nothing to see here\n"


def endless(cells) -> None:
    cells["largest-stable-lr-answer"]["source"] = "while True:\n    pass\n"


def killer(cells) -> None:
    cells["sgd-answer"]["source"] = "import os\nos._exit(1)\n"


def write(path: Path, nb: dict | str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(nb if isinstance(nb, str) else json.dumps(nb, indent=1), encoding="utf-8")


def tree_digest(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` and its SHA-256."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(Path(folder).rglob("*")) if p.is_file()}
