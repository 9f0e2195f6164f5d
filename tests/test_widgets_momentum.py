"""Lesson 03's explorer and figures."""

from __future__ import annotations

import numpy as np

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


<<<<<<< HEAD
# -- the stability region ---------------------------------------------------------------------------
@pytest.mark.parametrize("alpha_lambda, mu", [(0.5, 0.3), (1.0, 0.1), (0.2, 0.0), (3.0, 0.7), (1.5, 0.9)])
def test_measured_rates_match_the_roots_of_the_characteristic_polynomial(alpha_lambda, mu):
    measured = momentum.measured_rates(np.array([alpha_lambda]), np.array([mu]), steps=400)[0]
    assert measured == pytest.approx(_largest_root(alpha_lambda, mu), rel=0.01)


def test_measured_divergence_agrees_with_the_stability_bound_away_from_the_edge():
    A, M = np.meshgrid(np.linspace(0.05, 4.5, 60), np.linspace(0.0, 0.95, 40))
    diverged = momentum.measured_rates(A, M) > 1
    clear = np.abs(A - (2 + 2 * M)) > 0.1
    np.testing.assert_array_equal(diverged[clear], (A > 2 + 2 * M)[clear])
    assert diverged.any() and (~diverged).any()


def test_measured_rates_rejects_momentum_outside_zero_to_one():
    with pytest.raises(ValueError, match="mu in"):
        momentum.measured_rates(np.array([1.0]), np.array([1.0]))


=======
>>>>>>> widgets
def test_stability_figure_is_labelled():
    fig = momentum.stability_figure(np.linspace(0.1, 4.5, 30), np.linspace(0.0, 0.9, 10), steps=50)
    ax = fig.axes[0]
    assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title()
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "theory: αλ = 2 + 2μ" in labels and "measured: diverged" in labels
