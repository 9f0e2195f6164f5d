"""Lesson 03's experiments: the momentum rule's measured rates are the roots of its characteristic polynomial."""

from __future__ import annotations

import numpy as np
import pytest

from optilab.experiments import momentum


def _largest_root(alpha_lambda: float, mu: float) -> float:
    """Spectral radius of one momentum step along an eigendirection: roots of z² − (1 + μ − αλ) z + μ."""
    return float(np.max(np.abs(np.roots([1.0, -(1.0 + mu - alpha_lambda), mu]))))


# -- the explorer ---------------------------------------------------------------------------------
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


def test_the_ravine_is_the_bowl_of_curvatures_1_and_kappa_turned_by_30_degrees():
    ravine = momentum.ravine()
    hessian = np.column_stack([ravine.grad(e) for e in np.eye(2)])  # ∇f(x) = A x, so A e_i is column i
    c, s = np.cos(np.pi / 6), np.sin(np.pi / 6)
    rotation = np.array([[c, -s], [s, c]])
    np.testing.assert_allclose(hessian, rotation @ np.diag([1.0, 50.0]) @ rotation.T, atol=1e-12)
    assert momentum.KAPPA == 50.0


def test_ravine_runs_are_gradient_descent_written_out_and_momentum_zero_retraces_it():
    c, s = np.cos(np.pi / 6), np.sin(np.pi / 6)
    rotation = np.array([[c, -s], [s, c]])
    A = rotation @ np.diag([1.0, 50.0]) @ rotation.T
    runs = momentum.ravine_runs(0.03, 0.0, steps=25)
    assert list(runs) == ["gradient descent", "heavy ball", "Nesterov"]
    x, path = runs["gradient descent"].params[0], [runs["gradient descent"].params[0]]
    for _ in range(25):
        x = x - 0.03 * (A @ x)  # p ← p − α ∇f(p), ∇f(p) = A p
        path.append(x)
    np.testing.assert_allclose(runs["gradient descent"].params, path, rtol=1e-12, atol=1e-12)
    for name in ("heavy ball", "Nesterov"):
        np.testing.assert_allclose(runs[name].params, path, rtol=1e-12, atol=1e-12)


def test_ravine_runs_give_momentum_to_heavy_ball_and_nesterov_only():
    runs = momentum.ravine_runs(0.02, 0.8, steps=40)
    assert runs["heavy ball"].hyperparameters == {"momentum": 0.8} == runs["Nesterov"].hyperparameters
    assert runs["gradient descent"].hyperparameters == {}
    assert not np.allclose(runs["heavy ball"].params, runs["gradient descent"].params)
