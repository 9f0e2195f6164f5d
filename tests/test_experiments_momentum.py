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


# -- the error by eigendirection, and the heavy ball's transient -----------------------------------
def test_eigen_split_sums_to_the_loss_gap_and_its_columns_are_the_rotated_coordinates():
    ravine = momentum.ravine()
    trace = momentum.ravine_runs(0.02, 0.8, steps=30)["heavy ball"]
    split = momentum.eigen_split(trace, ravine)
    np.testing.assert_allclose(split.sum(axis=1), trace.losses, rtol=1e-10, atol=1e-12)
    c, s = np.cos(np.pi / 6), np.sin(np.pi / 6)
    along = trace.params @ np.array([[c, -s], [s, c]])  # the eigenvectors are the rotated axes
    np.testing.assert_allclose(split, 0.5 * np.array([1.0, 50.0]) * along**2, rtol=1e-9, atol=1e-12)


def test_transient_first_factor_roots_and_peak_of_one_direction():
    lr, mu, lam = 0.05, 0.6, 50.0
    out = momentum.transient(lr, mu, lam, steps=40)
    assert out["first_factor"] == pytest.approx(1 - lr * lam)
    assert out["coords"][1] == pytest.approx(1 - lr * lam)
    roots = np.asarray(out["roots"])
    assert np.prod(roots).real == pytest.approx(mu) and np.sum(roots).real == pytest.approx(1 + mu - lr * lam)
    # past the transient the coordinate shrinks like |z|^t
    c = np.abs(out["coords"])
    assert c[out["peak_step"]] == out["peak"] == c.max()


def test_transient_of_a_critically_damped_direction_grows_like_t_before_it_decays():
    # a double root z: c_t = (1 + k t) z^t with z = (1 + μ − αλ)/2 and k fixed by c_1 = 1 − αλ
    lr, lam = 0.06, 50.0
    z = -(np.sqrt(lr * lam) - 1)  # μ = (1 − √(αλ))² makes the roots equal to 1 − √(αλ) = z
    mu = z**2
    out = momentum.transient(lr, mu, lam, steps=12)
    k = (1 - lr * lam) / z - 1
    t = np.arange(13)
    np.testing.assert_allclose(out["coords"], (1 + k * t) * z**t, rtol=1e-9, atol=1e-12)


# -- the lower bound -----------------------------------------------------------------------------------
def test_nesterov_chain_minimizer_falls_geometrically_with_the_optimal_rate():
    chain = momentum.nesterov_chain(100.0, dim=400)
    q = (10 - 1) / (10 + 1)
    x = chain.minimizer
    np.testing.assert_allclose(x[:40], q ** np.arange(1, 41), rtol=1e-6)
    assert chain.eigenvalues.min() >= 1.0 - 1e-9 and chain.eigenvalues.max() <= 100.0 + 1e-9


def test_a_gradient_method_on_the_chain_reaches_one_more_coordinate_per_step():
    chain = momentum.nesterov_chain(30.0, dim=50)
    trace = momentum.ravine_runs(0.01, 0.5, steps=10, problem=chain)["heavy ball"]
    for t, p in enumerate(trace.params):
        assert np.all(p[t:] == 0.0), f"step {t} reached coordinate {np.flatnonzero(p)[-1] + 1}"


def test_no_method_beats_the_bound_and_the_tuned_heavy_ball_attains_its_rate():
    out = momentum.lower_bound_runs(kappa=100.0, steps=120, dim=300)
    for name, d in out["distances"].items():
        assert np.all(d >= out["bound"] * (1 - 1e-9)), name
    q = out["optimal_rate"]
    assert out["rates"]["heavy ball"] == pytest.approx(q, rel=0.01)
    kappa = float(np.max(out["problem"].eigenvalues) / np.min(out["problem"].eigenvalues))
    assert out["rates"]["gradient descent"] == pytest.approx((kappa - 1) / (kappa + 1), rel=0.01)


# -- noise -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("lr, mu, sigma", [(0.1, 0.0, 1.0), (0.02, 0.8, 1.0), (0.1, 0.9, 0.5), (1.0, 0.5, 1.0)])
def test_measured_noise_floor_is_the_stationary_variance_of_the_ar2_process(lr, mu, sigma):
    measured = momentum.noise_floor(lr, mu, sigma, steps=1500, burn_in=500, chains=2000)
    # the AR(2) p' = a₁p + a₂p₋ + e, written out here: Var = (1 − a₂) s² / ((1 + a₂)((1 − a₂)² − a₁²))
    a1, a2, s2 = 1 + mu - lr, -mu, (lr * sigma) ** 2
    variance = (1 - a2) * s2 / ((1 + a2) * ((1 - a2) ** 2 - a1**2))
    assert float(measured) == pytest.approx(0.5 * variance, rel=0.05)


def test_noise_floor_rejects_settings_outside_the_rule():
    with pytest.raises(ValueError, match="momentum in"):
        momentum.noise_floor(0.1, 1.0, 1.0)
