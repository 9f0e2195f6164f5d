"""Lesson 09 (the optimizers of large models): it runs, it shows its figures and explorers, every number it
prints is the one the library computes, and the comparison it reads is the one its script makes."""

from __future__ import annotations

import numpy as np
import pytest

from optilab.experiments import large_models as lm
from optilab.widgets import large_models as lw
from tests.support import lesson_runs
from tests.support.notebooks import ROOT, WIDGET_VIEW

LESSON = ROOT / "lessons" / "09_optimizers_of_large_models.ipynb"
RESULTS = ROOT / "lib" / "optilab" / "datasets" / "lesson09_large_models.json"


@pytest.fixture(scope="module")
def run():
    executed = lesson_runs.run(LESSON.name).run  # the run test_lessons.py checks, made once
    assert not executed.errors, executed.errors
    return executed


@pytest.fixture(scope="module")
def results():
    return lm.load_comparison(RESULTS)


def _text(run, cell_id: str) -> str:
    cell = next(c for c in run.notebook.cells if c.id == cell_id)
    return "\n".join(o.get("data", {}).get("text/markdown", "") + o.get("text", "") for o in cell.get("outputs", []))


def _has(run, cell_id: str, mime: str) -> bool:
    cell = next(c for c in run.notebook.cells if c.id == cell_id)
    return any(mime in o.get("data", {}) for o in cell.get("outputs", []))


# -- the committed comparison is the one the code makes --------------------------------------------------
def test_the_committed_results_come_from_the_current_experiment(results):
    assert results["grids"] == {k: list(v) for k, v in lm.GRIDS.items()}
    assert results["seeds"] == list(range(8)) and results["epochs"] == 20
    for recipe, by_lr in results["runs"].items():
        assert sorted(float(lr) for lr in by_lr) == sorted(lm.GRIDS[recipe])
        assert all(len(seeds) == 8 for seeds in by_lr.values())
        assert results["chosen"][recipe] == lm.mlp_comparison._choose(by_lr)  # the lowest mean validation loss


def test_every_chosen_learning_rate_is_inside_its_grid(results):
    for row in lm.summary(results):
        assert row["inside grid"], row["recipe"]
        assert row["lr"] not in row["diverged at"]


# -- the executed lesson ----------------------------------------------------------------------------------
@pytest.mark.slow
def test_lesson_runs_without_errors_or_warnings(run):
    assert not run.stderr(), run.stderr()


@pytest.mark.slow
def test_every_figure_and_explorer_is_shown(run):
    for cell_id in ("adafactor-numbers", "comparison-curves", "comparison-differences"):
        assert _has(run, cell_id, "image/png"), cell_id
    for cell_id in ("lion-explorer", "muon-explorer", "preconditioning-explorer"):
        assert _has(run, cell_id, WIDGET_VIEW), cell_id


@pytest.mark.slow
def test_lions_printed_numbers_are_the_computed_ones(run):
    text = _text(run, "lion-numbers")
    steps = lm.sign_steps(0.9, 0.99)
    ratio = steps["lion"]["rms"][0] / steps["adam"]["rms"][0]
    assert f"a ratio of {ratio:.2f}" in text and f"= {1 / lm.rms_noise_step(0.9):.2f})" in text
    i = int(np.argmin(abs(lm.SNRS - 0.1)))
    assert f"Lion {steps['lion']['progress'][i]:.2f} α" in text and f"Adam {steps['adam']['progress'][i]:.2f} α" in text


@pytest.mark.slow
def test_the_memory_table_is_the_computed_one(run):
    text = _text(run, "memory-table")
    for row in lm.memory_table():
        assert f"| `{row['rule']}` |" in text and f"| {row['gpt2 bytes'] / 1e6:,.0f} MB | {row['gpt2 bytes/param']:.3g} |" in text


@pytest.mark.slow
def test_the_condition_numbers_are_the_computed_ones(run):
    text = _text(run, "preconditioning-table")
    axes = lm.condition_numbers(lm.kronecker_problem(rotation=0.0))
    turned = lm.condition_numbers(lm.kronecker_problem(rotation=1.0))
    for name in lm.PRECONDITIONER_MEMORY:
        assert f"| {name} | {axes[name]:,.3g} | {turned[name]:,.3g} |" in text, name


@pytest.mark.slow
def test_the_comparison_table_is_the_committed_one(run, results):
    text = _text(run, "comparison-table")
    for row in lm.summary(results):
        label = lw.RECIPE_LABELS[row["recipe"]]
        assert f"| {label} | {row['lr']:g} | yes | {row['val loss'][0]:.3f} ± {row['val loss'][1]:.3f} |" in text


# -- the claims the lesson's reading of the comparison makes ----------------------------------------------
def test_muon_ends_with_a_lower_test_loss_and_an_indistinguishable_accuracy(results):
    loss = lm.paired_difference(results, "muon", metric="test loss")
    accuracy = lm.paired_difference(results, "muon", metric="test accuracy")
    assert loss[0] + loss[1] < 0
    assert accuracy[0] - accuracy[1] < 0 < accuracy[0] + accuracy[1]


def test_schedule_free_ends_where_the_tuned_schedule_ends(results):
    for metric in ("val loss", "test loss"):
        mean, half = lm.paired_difference(results, "schedule-free", metric=metric)
        assert mean - half < 0 < mean + half, metric
    mean, half = lm.paired_difference(results, "schedule-free", metric="test accuracy")
    assert 0.002 < -mean < 0.0035 and abs(mean + half) < 0.0005  # a quarter of a point; the interval just reaches 0


def test_schedule_free_lags_for_the_first_half_while_adamw_levels_off_by_a_third(results):
    checkpoints = len(results["runs"]["adamw"][repr(results["chosen"]["adamw"])][0]["steps"])
    for i in range(checkpoints // 2):
        mean, half = lm.paired_difference(results, "schedule-free", metric="val loss", checkpoint=i)
        assert mean - half > 0, i
    adamw = lm.curves(results)["adamw"]["mean"]
    settled = np.abs(adamw - adamw[-1]) < 0.005
    first = next(i for i in range(len(adamw)) if settled[i:].all())
    assert (first + 1) / checkpoints <= 0.35
