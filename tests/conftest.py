"""Fixtures shared by the whole suite."""

from __future__ import annotations

import os

import pytest


@pytest.fixture
def torch():
    """The real PyTorch, in float64; skips (saying why) where it is not installed.

    CI sets OPTILAB_REQUIRE_TORCH=1, which turns the skip into a failure: there the
    comparisons with torch must run.
    """
    try:
        import torch as torch_module
    except ImportError:
        if os.environ.get("OPTILAB_REQUIRE_TORCH"):
            pytest.fail("OPTILAB_REQUIRE_TORCH is set but torch is not installed: pip install -r tests/reference-requirements.txt")
        pytest.skip("torch is not installed (a test-only dependency: pip install -r tests/reference-requirements.txt); "
                    "the committed reference values are still checked")
    previous = torch_module.get_default_dtype()
    torch_module.set_default_dtype(torch_module.float64)
    yield torch_module
    torch_module.set_default_dtype(previous)


# --- how `make test` spreads the tests over pytest-xdist workers ------------------------------------
#: Modules whose tests share what the module computed once (a module-scoped fixture, or the lessons
#: executed once for two tests each): each goes to one worker as a whole. Every other test is sent on
#: its own, so the heaviest tests (a class graded per lab) spread over the workers.
#: (xdist's own `--dist loadgroup` would say this with marks, but with pytest 9.2 it silently stops
#: grouping: pytest-dev/pytest-xdist#1386.)
WHOLE_MODULES = {
    "tests/test_lessons.py",           # each lesson executed once for its tests
    "tests/test_lesson_claims_01_03.py",  # lessons 01-03 executed once, their claims read from them
    "tests/test_grading_pipeline.py",  # a class graded once
    "tests/test_feedback_pages.py",    # a course graded once, its pages written
    "tests/test_widgets_sgd.py",       # one explorer whose controls the tests move
    "tests/test_widgets_practice.py",  # one explorer, one sweep
    "tests/test_training.py",
    "tests/test_plots.py",
    "tests/test_experiments_sgd.py",       # the explorer's grid of runs, once
    "tests/test_experiments_practice.py",  # one sweep
    "tests/test_comparison_08.py",         # lesson 08's committed results, re-run once around each choice
    "tests/test_wheel.py",                 # one wheel, built and installed once
    "tests/blind/test_blind_lab06_grading.py",  # the blind set's notebooks, judged once
    "tests/blind/test_blind_lab07_grading.py",  # the blind set's notebooks, judged once
    "tests/test_lessons_adaptive_claims.py",  # lessons 04-07 executed once for their claims
    "tests/test_lesson09.py",              # lesson 09 executed once for its tests
    "tests/test_experiments_training_in_practice.py",  # the runs at every lr, once
    "tests/test_widgets_training_in_practice.py",      # one explorer, its runs made once
    "tests/test_experiments_curvature.py",  # lesson 11 executed once for its claims
    "tests/test_widgets_curvature.py",      # one explorer whose controls the tests move
    "tests/test_experiments_precision.py",  # lesson 10's mixed-precision runs, made once
    "tests/test_widgets_precision.py",      # the same runs, drawn
}


@pytest.hookimpl(optionalhook=True)  # a hook of pytest-xdist: runs without it (-p no:xdist) ignore it
def pytest_xdist_make_scheduler(config, log):
    """With ``--dist loadscope``: the modules of :data:`WHOLE_MODULES` as units, every other test alone."""
    if config.getvalue("dist") != "loadscope":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class WholeModulesOtherwiseEachTest(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0]
            return module if module in WHOLE_MODULES else nodeid

    return WholeModulesOtherwiseEachTest(config, log)
