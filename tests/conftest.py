"""Fixtures shared by the whole suite."""

from __future__ import annotations

import os

# One BLAS thread in each test process, set before NumPy loads: the workers already keep every core
# busy, and a second OpenBLAS thread per process only spins on a core another worker needs (lesson
# 09's re-run took 16 s of CPU for 8 s of work). The sandboxes, the grader's student processes and
# lessons/results/compute.py set the same.
for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import pytest  # noqa: E402


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

#: Modules whose tests share one computation per parameter (a lesson executed once for its four
#: tests, a lab's solution executed once for two): the tests of one parameter go to one worker
#: together, and the parameters spread over the workers, so no one worker runs every lesson.
BY_PARAMETER = {
    "tests/test_lessons.py",        # each lesson executed once for its tests
    "tests/test_labs_execute.py",   # each lab's solution executed once for its tests
}

#: Lessons whose run another module reads (tests/support/lesson_runs.py): their tests in
#: test_lessons.py join that module's unit, so one worker executes the lesson once for both.
LESSON_UNITS = {
    "01": "tests/test_lesson_claims_01_03.py",
    "02": "tests/test_lesson_claims_01_03.py",
    "03": "tests/test_lesson_claims_01_03.py",
    "08": "tests/test_comparison_08.py",
    "09": "tests/test_lesson09.py",
}

#: The longest units of work, started first (longest first): xdist hands out work in collection
#: order, so a long unit collected late is a tail that one worker runs while the other waits.
#: Each entry is a module (moved as a whole) or a test's id without its parameters (every
#: parametrisation moved). A test listed alone must share no module-scoped fixture with the rest
#: of its module, or a run in one process would set that fixture up twice. Lengths measured with
#: ``--durations``; the order matters, not the numbers.
START_FIRST = (
    "tests/test_comparison_08.py",  # its module fixture re-runs lesson 08's experiment: the longest unit
    "tests/test_outside_verdicts.py::test_every_rule_of_the_catalogue_gets_the_kernels_verdict_on_every_cell",
    "tests/test_lab06.py::test_make_grade_scores_a_class",
    "tests/test_lab07.py::test_make_grade_gives_the_same_points_and_no_tampering_note",
    "tests/test_lab05_students.py::test_make_grade_gives_the_same_points_and_no_tampering_note_to_honest_mistakes",
    "tests/test_grading_safety.py::test_a_class_graded_twice_keeps_every_manual_grade",
    "tests/test_grading_pipeline.py",
    "tests/test_feedback_pages.py",
    "tests/blind/test_blind_lab06_grading.py",  # 20 notebooks through the real grader
    "tests/blind/test_blind_lab07_grading.py",
    "tests/test_experiments_curvature.py",  # lesson 11 executed once for its claims
    "tests/test_bench.py::test_grading_group_grades_lab_4_in_the_sandboxed_kernel_both_ways_with_the_same_grades",
    "tests/test_bench.py::test_sandbox_group_grades_the_first_lab_alike_in_both_kernels",
    "tests/test_lessons.py",
)


def scope_of(nodeid: str) -> str:
    """The unit of work a test is scheduled in: its module, its module and parameter, the module
    that reads the same lesson run (:data:`LESSON_UNITS`), or itself."""
    module, _, name = nodeid.partition("::")
    if module in WHOLE_MODULES:
        return module
    parameter = name.split("[", 1)[1] if name.endswith("]") else None
    if module == "tests/test_lessons.py" and parameter and parameter[:2] in LESSON_UNITS:
        return LESSON_UNITS[parameter[:2]]
    if module in BY_PARAMETER and parameter:
        return f"{module}::[{parameter}"
    return nodeid


def start_rank(nodeid: str) -> int:
    """Where the test's unit stands in :data:`START_FIRST` (``len(START_FIRST)`` if not listed)."""
    module, test = nodeid.partition("::")[0], nodeid.split("[", 1)[0]
    for rank, entry in enumerate(START_FIRST):
        if entry in (module, test):
            return rank
    return len(START_FIRST)


def pytest_collection_modifyitems(config, items):
    """The tests of :data:`START_FIRST` first, in its order; every other test keeps its place."""
    items.sort(key=lambda item: start_rank(item.nodeid))


@pytest.hookimpl(optionalhook=True)  # a hook of pytest-xdist: runs without it (-p no:xdist) ignore it
def pytest_xdist_make_scheduler(config, log):
    """With ``--dist loadscope``: units as :func:`scope_of` says, handed out in collection order."""
    if config.getvalue("dist") != "loadscope":
        return None
    from xdist.scheduler import LoadScopeScheduling

    # xdist would otherwise sort the units by their number of tests, which says nothing of their length.
    config.option.loadscopereorder = False

    class UnitsOfSharedWork(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return scope_of(nodeid)

    return UnitsOfSharedWork(config, log)
