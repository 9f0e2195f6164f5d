"""Lesson 03's explorer and figures."""

from __future__ import annotations

import numpy as np
import pytest

from optilab import widgets
from optilab.experiments import momentum as runs
from optilab.widgets import momentum


def _line(fig, axis: int, label: str):
    return next(l for l in fig.axes[axis].get_lines() if l.get_label() == label)


def test_explorer_is_registered():
    assert widgets.registry()["03-momentum-ravine"] is momentum.ravine_explorer


def test_moving_lr_redraws_every_path_and_the_title():
    explorer = momentum.ravine_explorer(lr=0.02, momentum=0.8)
    before = {label: _line(explorer.figure, 0, label).get_xydata().copy()
              for label in ("gradient descent", "heavy ball", "Nesterov")}
    redraws = explorer.redraws
    explorer.set(lr=0.01)
    assert explorer.redraws == redraws + 1
    for label, path in before.items():
        after = _line(explorer.figure, 0, label).get_xydata()
        assert after.shape == path.shape and not np.allclose(after, path), f"{label} did not move"
    assert "α = 0.01," in explorer.figure.get_suptitle()


def test_moving_mu_keeps_gradient_descents_run_and_every_line_shows_a_fresh_run_of_the_last_values():
    explorer = momentum.ravine_explorer(lr=0.02, momentum=0.8)
    figure = explorer.draw.__self__
    kept = figure.traces["gradient descent"]
    explorer.set(momentum=0.5)
    assert figure.traces["gradient descent"] is kept  # not run again: it has no μ
    explorer.set(lr=0.05)
    explorer.set(momentum=0.3)
    fresh = runs.ravine_runs(0.05, 0.3, steps=figure.steps)
    assert figure.traces["gradient descent"] is not kept
    for label, trace in fresh.items():
        np.testing.assert_array_equal(_line(explorer.figure, 0, label).get_xydata(), trace.params)
        np.testing.assert_array_equal(figure.traces[label].losses, trace.losses)


def test_ravine_runs_refuses_a_label_it_does_not_show():
    with pytest.raises(ValueError, match=r"no rule is shown as \['adam'\]; the labels are"):
        runs.ravine_runs(0.02, 0.8, labels=("adam",))


def test_zero_momentum_makes_the_heavy_ball_retrace_gradient_descent():
    explorer = momentum.ravine_explorer(lr=0.02, momentum=0.0)
    gd = _line(explorer.figure, 0, "gradient descent").get_xydata()
    np.testing.assert_allclose(_line(explorer.figure, 0, "heavy ball").get_xydata(), gd, rtol=0, atol=1e-12)
    explorer.set(momentum=0.5)
    assert not np.allclose(_line(explorer.figure, 0, "heavy ball").get_xydata(), gd)


def test_heavy_ball_diverges_just_past_two_plus_two_mu_and_the_title_says_so():
    mu, lam_max = 0.5, runs.KAPPA  # the ravine's eigenvalues are (1, KAPPA)
    edge = (2 + 2 * mu) / lam_max      # the bound, computed here from 0 < αλ < 2 + 2μ
    figure = momentum.RavineFigure()
    figure.draw(lr=0.95 * edge, momentum=mu)
    assert not figure.traces["heavy ball"].diverged
    assert figure.traces["gradient descent"].diverged  # 0.95 · 3/50 · 50 = 2.85 > 2
    assert "heavy ball diverges" not in figure.title.get_text()
    figure.draw(lr=1.05 * edge, momentum=mu)
    assert figure.traces["heavy ball"].diverged
    assert "heavy ball diverges" in figure.title.get_text()


def test_stability_figure_is_labelled():
    fig = momentum.stability_figure(np.linspace(0.1, 4.5, 30), np.linspace(0.0, 0.9, 10), steps=50)
    ax = fig.axes[0]
    assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title()
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "theory: αλ = 2 + 2μ" in labels and "measured: diverged" in labels


def test_at_every_end_of_its_sliders_no_legend_covers_data_no_text_is_cut_and_no_line_is_hidden():
    from tests.support.figures import legend_overlaps, text_outside, unseen_lines

    explorer = momentum.ravine_explorer()
    found = []
    for lr in (1e-3, 0.02, 0.2):
        for mu in (0.0, 0.5, 0.99):
            explorer.set(lr=lr, momentum=mu)
            found += [f"α = {lr}, μ = {mu}: {what}" for what in
                      legend_overlaps(explorer.figure) + text_outside(explorer.figure) + unseen_lines(explorer.figure)]
    assert not found, "\n".join(found)


def test_stability_figure_legend_covers_no_data():
    from tests.support.figures import legend_overlaps

    assert not legend_overlaps(momentum.stability_figure(np.linspace(0.1, 4.5, 30), np.linspace(0.0, 0.9, 10),
                                                         steps=50))


def test_heavy_ball_and_nesterov_differ_in_line_style_not_only_in_close_colours():
    figure = momentum.RavineFigure()
    figure.draw(lr=0.02, momentum=0.8)
    for axis in (0, 1):
        heavy, nesterov = _line(figure.figure, axis, "heavy ball"), _line(figure.figure, axis, "Nesterov")
        assert heavy.get_linestyle() != nesterov.get_linestyle()
