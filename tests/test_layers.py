"""The library's rooms and their order: no module imports one above it, none reaches outside.

Each module of ``optilab`` has a layer. A module may import modules of its own layer or of
layers below, at the top of the file or inside a function alike; the rules and their table
share one layer (the table names each rule's function, and the functions are listed in the
table's order). The student-facing library is at the bottom, the contract's checks and the
explorers above it, then the package itself (``import optilab``), the sandbox, the grader and
the instructor's tools at the top.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

LIB = Path(__file__).resolve().parents[1] / "lib" / "optilab"

LAYERS = [
    # the student-facing library
    {"rules", "kernels", "kernels_adaptive", "kernels_modern", "schedules", "problems", "data", "models", "memory",
     "theory", "variants", "frameworks", "show", "curvature", "second_order"},
    {"optimizer", "training", "plots", "experiments", "whole_model", "lr_finder", "model_rules", "mixed_precision"},
    # what students check their rules with, and the lessons' explorers
    {"contract", "widgets"},
    # the Jupyter server's side of the explorers (imports nothing of optilab)
    {"websocket"},
    # the package: optilab.RULES, optilab.Optimizer, optilab.check
    {"__init__", "__main__"},
    # the sandbox, the grader, the instructor's tools
    {"isolate"},
    {"grading"},
    {"autograde", "release"},
]


def _room(path: Path) -> str:
    """The room of a file: its top-level module or package under optilab/."""
    rel = path.relative_to(LIB)
    return rel.parts[0].removesuffix(".py")


def _layer(room: str) -> int:
    found = [i for i, rooms in enumerate(LAYERS) if room in rooms]
    assert found, f"optilab/{room} has no layer in tests/test_layers.py: give it one"
    return found[0]


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, room) of every optilab module the file imports."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module] if node.module != "optilab" else [f"optilab.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        for name in names:
            parts = name.split(".")
            if parts[0] == "optilab":
                out.append((node.lineno, parts[1] if len(parts) > 1 else "__init__"))
    return out


FILES = sorted(LIB.rglob("*.py"))


def test_every_room_has_a_layer():
    rooms = {_room(p) for p in FILES}
    for room in rooms:
        _layer(room)


#: Names imported from the package itself that are not modules (``from optilab import RULES``).
ATTRIBUTES = {"RULES", "Optimizer", "check"}


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(LIB)))
def test_no_module_imports_one_above_it(path):
    own = _layer(_room(path))
    above = [(line, room) for line, room in _imports(path)
             if (_layer("__init__") if room in ATTRIBUTES else _layer(room)) > own]
    assert not above, f"optilab/{path.relative_to(LIB)} (layer {own}) imports from above: {above}"


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(LIB)))
def test_no_module_reaches_outside_the_package(path):
    """No path is built by climbing above the package from a module's own file."""
    text = path.read_text(encoding="utf-8")
    climbs = [line for line in text.splitlines()
              if "__file__" in line and (".parent.parent" in line or "parents[" in line
                                         or "dirname(os.path.dirname" in line)]
    allowed = {"properties.py": "the frames of the library itself, to leave out of a student's traceback",
               "preprocessors.py": "the folder holding the package, to shorten the paths a traceback shows"}
    if path.name in allowed:
        return
    assert not climbs, f"optilab/{path.relative_to(LIB)} climbs out of the package: {climbs}"


#: The most lines a module of the library has, unless it is listed in :data:`LONG` with the one
#: job it does.
MAX_LINES = 400

#: Modules over :data:`MAX_LINES`, each with the one job that makes it long (not two jobs).
LONG = {
    "rules.py": "the rule table: one record per update rule (its slots, spellings, colour, framework "
                "names), the lookups of it and the tables written from it",
    "problems.py": "the test problems: the Problem type and one constructor per landscape, each with "
                   "its loss, gradient and the formulas in its docstring",
    "training.py": "the training loops that drive an Optimizer: run on a Problem and train on a model, "
                   "with their one divergence rule and their records (Trace, History)",
    "contract/properties.py": "the contract's properties, one checking function each, and the call and "
                              "comparison they share (the hidden suites and the visible checks use them)",
    "contract/answers.py": "the visible checks of the labs' answers that are not rules: one small "
                           "predicate per property, one table of answers",
    "grading/notebook.py": "the grader's side of a notebook's process: StudentNotebook and the plain "
                           "values and references its requests carry",
    "grading/student_notebook.py": "the student's side of a notebook's process: its cells run under their "
                                   "time limits, the questions it asks the grader and its answers to the grader's",
    "grading/suites.py": "the graded suites: the shared parameterised tests and one data entry per rule",
    "isolate/__init__.py": "the bubblewrap command that sandboxes a student's process, and whether it can run",
    "mixed_precision.py": "training in float16 and bfloat16 as a GPU does it: the formats, the loss scale, fp32 "
                          "master weights, the training loop that uses them and what it costs in bytes",
    "widgets/explorer.py": "the Explorer: controls, the figure they redraw and how each frame reaches the screen",
    "experiments/practice.py": "lesson 08's one experiment: every optimizer tuned, chosen and tested the "
                               "way the lesson advises, its results saved and read",
}


def _lines(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines())


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(LIB)))
def test_no_module_is_long_unless_it_does_one_job(path):
    name = path.relative_to(LIB).as_posix()
    if name in LONG:
        return
    assert _lines(path) <= MAX_LINES, (
        f"optilab/{name} has {_lines(path)} lines (more than {MAX_LINES}): split it by job into "
        f"modules with honest names, or, if it does one job, add it to LONG in tests/test_layers.py "
        f"with that job")


@pytest.mark.parametrize("name", sorted(LONG))
def test_every_long_module_listed_is_still_long(name):
    """The list stays short: a module that is no longer long, or no longer exists, leaves it."""
    path = LIB / name
    assert path.is_file(), f"optilab/{name} is listed in LONG but does not exist: remove it from LONG"
    assert _lines(path) > MAX_LINES, (
        f"optilab/{name} has {_lines(path)} lines now, within {MAX_LINES}: remove it from LONG")
    assert len(LONG[name]) > 20, f"LONG[{name!r}] should say the one job that makes it long"
