"""How ``make test`` spreads the suite over its workers (tests/conftest.py) names tests that exist.

A renamed module or test would otherwise silently leave its unit to xdist's default order (a long
unit collected last is a tail that one worker runs alone) or split a module that computes once.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests import conftest

ROOT = Path(__file__).resolve().parents[1]


def _functions(module: str) -> set[str]:
    tree = ast.parse((ROOT / module).read_text(encoding="utf-8"))
    return {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)}


def _module_fixtures(module: str) -> set[str]:
    """The module-scoped fixtures ``module`` defines."""
    tree = ast.parse((ROOT / module).read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef):
            for decorator in node.decorator_list:
                if isinstance(decorator, ast.Call) and any(
                        k.arg == "scope" and getattr(k.value, "value", None) in ("module", "session")
                        for k in decorator.keywords):
                    found.add(node.name)
    return found


@pytest.mark.parametrize("module", sorted(conftest.WHOLE_MODULES | conftest.BY_PARAMETER))
def test_every_grouped_module_exists(module):
    assert (ROOT / module).is_file(), f"{module} is grouped in tests/conftest.py but does not exist"


@pytest.mark.parametrize("entry", conftest.START_FIRST)
def test_every_unit_started_first_exists_and_shares_no_module_fixture(entry):
    module, _, test = entry.partition("::")
    assert (ROOT / module).is_file(), f"START_FIRST names {module}, which does not exist"
    if test:
        assert test in _functions(module), f"START_FIRST names {entry}, which does not exist"
        assert not _module_fixtures(module), (f"{entry} is moved ahead of its module, whose module-scoped "
                                              f"fixtures {_module_fixtures(module)} would then be set up twice")


def test_units_are_modules_parameters_or_tests():
    assert conftest.scope_of("tests/test_wheel.py::test_the_installed_wheel_holds_its_data") == "tests/test_wheel.py"
    assert conftest.scope_of("tests/test_lessons.py::test_lesson_draws_figures_and_shows_an_explorer[03_momentum]") \
        == conftest.scope_of("tests/test_lessons.py::test_lesson_executes_without_errors_or_warnings[03_momentum]") \
        != conftest.scope_of("tests/test_lessons.py::test_lesson_executes_without_errors_or_warnings[04_adagrad]")
    assert conftest.scope_of("tests/test_data.py::test_x[1]") == "tests/test_data.py::test_x[1]"


def test_units_started_first_come_in_the_listed_order():
    first, second = conftest.START_FIRST[0], conftest.START_FIRST[1]
    ids = ["tests/test_data.py::test_x", f"{second}[a]" if "::" in second else f"{second}::test_y",
           f"{first}::test_z" if "::" not in first else first]
    assert sorted(ids, key=conftest.start_rank) == [ids[2], ids[1], ids[0]]


@pytest.mark.parametrize("number,module", sorted(conftest.LESSON_UNITS.items()))
def test_a_lessons_tests_join_the_module_that_reads_the_same_run(number, module):
    [lesson] = sorted((ROOT / "lessons").glob(f"{number}_*.ipynb"))
    text = (ROOT / module).read_text(encoding="utf-8")
    assert "lesson_runs.run(" in text, f"{module} does not read the lessons' shared runs"
    assert lesson.name in text or lesson.stem in text, f"{module} does not read lesson {number}"
    ids = [f"tests/test_lessons.py::{test}[{lesson.stem}]" for test in
           ("test_lesson_executes_without_errors_or_warnings", "test_every_figure_cell_of_a_lesson_shows_its_figure")]
    assert {conftest.scope_of(nodeid) for nodeid in ids} == {conftest.scope_of(f"{module}::test_any")} == {module}
