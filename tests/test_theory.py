"""The closed forms in optilab.theory agree with experiments: runs of the reference rules on quadratics."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from optilab import kernels, theory


def rotated_quadratic(eigenvalues, angle=0.6):
    """A = R diag(λ) Rᵀ for a 2-d rotation R (or a fixed random orthogonal Q in higher dimensions)."""
    lam = np.asarray(eigenvalues, dtype=float)
    if lam.size == 2:
        c, s = math.cos(angle), math.sin(angle)
        q = np.array([[c, -s], [s, c]])
    else:
        q, _ = np.linalg.qr(np.random.default_rng(0).normal(size=(lam.size, lam.size)))
    return q @ np.diag(lam) @ q.T


def distances(rule, a, steps, x0=None, **hyper):
    """‖p_t − p*‖ for t = 0..steps, running the reference ``rule`` on f = ½ pᵀAp (p* = 0)."""
    p = np.ones(a.shape[0]) if x0 is None else np.asarray(x0, dtype=float)
    state: dict = {}
    out = [np.linalg.norm(p)]
    for _ in range(steps):
        p, state = rule(p, a @ p, state, **hyper)
        out.append(np.linalg.norm(p))
        if not np.isfinite(out[-1]) or out[-1] > 1e100:
            break
    return np.array(out)


def measured_rate(rule, a, steps=400, window=30, **hyper):
    """The per-step contraction over the second half of a run, from the envelope of ‖p_t‖.

    Oscillating runs (complex roots) swing in and out, so compare the largest distance over
    the last ``window`` steps with the largest over the ``window`` steps before the half-way point.
    """
    d = distances(rule, a, steps, **hyper)
    if len(d) < steps + 1:
        return math.inf
    half = steps // 2
    ratio = d[steps - window + 1:].max() / d[half - window + 1:half + 1].max()
    return float(ratio ** (1.0 / (steps - half)))


def test_condition_number_and_hand_values():
    assert theory.condition_number([2.0, 0.5, 8.0]) == pytest.approx(16.0)
    assert theory.gd_max_lr([1.0, 10.0]) == pytest.approx(0.2)
    assert theory.gd_best_lr([1.0, 10.0]) == pytest.approx(2.0 / 11.0)
    assert theory.gd_rate([1.0, 10.0]) == pytest.approx(9.0 / 11.0)  # (κ−1)/(κ+1), κ = 10
    assert theory.momentum_max_lr([1.0, 10.0], 0.5) == pytest.approx(0.3)  # (2 + 2·0.5) / 10


def test_gd_rate_matches_the_measured_contraction():
    a = rotated_quadratic([1.0, 10.0])
    for lr in [0.01, 0.05, 0.1, theory.gd_best_lr([1.0, 10.0]), 0.19]:
        assert measured_rate(kernels.sgd, a, lr=lr) == pytest.approx(theory.gd_rate([1.0, 10.0], lr), abs=2e-3)


def test_gd_best_lr_is_the_fastest_step_found_by_search():
    a = rotated_quadratic([1.0, 10.0])
    lrs = np.linspace(0.02, 0.199, 180)
    rates = [measured_rate(kernels.sgd, a, steps=200, lr=lr) for lr in lrs]
    best = lrs[int(np.argmin(rates))]
    assert best == pytest.approx(theory.gd_best_lr([1.0, 10.0]), abs=lrs[1] - lrs[0])
    assert min(rates) == pytest.approx(9.0 / 11.0, abs=2e-3)


def test_gd_diverges_just_above_the_max_lr_and_converges_just_below():
    eig = [0.5, 4.0]
    a = rotated_quadratic(eig)
    edge = theory.gd_max_lr(eig)
    assert edge == pytest.approx(0.5)
    assert distances(kernels.sgd, a, 500, lr=0.98 * edge)[-1] < 1e-3
    assert distances(kernels.sgd, a, 500, lr=1.02 * edge)[-1] > 1e3
    assert theory.gd_stable(0.98 * edge, eig) and not theory.gd_stable(1.02 * edge, eig)


def test_momentum_best_gives_the_sqrt_kappa_rate_in_an_experiment():
    eig = np.linspace(1.0, 100.0, 6)
    a = rotated_quadratic(eig)
    lr, mu = theory.momentum_best(eig)
    expected = (10.0 - 1.0) / (10.0 + 1.0)  # (√κ−1)/(√κ+1) with κ = 100
    assert theory.momentum_rate(eig) == pytest.approx(expected)
    # critically damped extremes carry a factor t, so the measured rate is a little above √μ
    assert measured_rate(kernels.momentum, a, steps=600, lr=lr, momentum=mu) == pytest.approx(expected, abs=6e-3)
    # and it is far faster than the best plain gradient descent, (κ−1)/(κ+1) = 99/101
    assert measured_rate(kernels.sgd, a, steps=600, lr=theory.gd_best_lr(eig)) == pytest.approx(99 / 101, abs=1e-3)


def test_momentum_best_is_not_beaten_by_a_grid_search():
    eig = [1.0, 25.0]
    a = rotated_quadratic(eig)
    best_lr, best_mu = theory.momentum_best(eig)
    best = measured_rate(kernels.momentum, a, lr=best_lr, momentum=best_mu)
    grid = [(lr, mu) for lr in np.linspace(0.02, 0.2, 19) for mu in np.linspace(0.0, 0.95, 20)]
    others = [measured_rate(kernels.momentum, a, lr=lr, momentum=mu) for lr, mu in grid]
    assert best <= min(others) + 5e-3


@pytest.mark.parametrize("mu", [0.0, 0.5, 0.9])
def test_momentum_stability_edge_is_2_plus_2mu_over_lambda_max(mu):
    eig = [1.0, 10.0]
    a = rotated_quadratic(eig)
    edge = (2.0 + 2.0 * mu) / 10.0
    assert theory.momentum_max_lr(eig, mu) == pytest.approx(edge)
    assert distances(kernels.momentum, a, 3000, lr=0.97 * edge, momentum=mu)[-1] < 1e-2
    assert distances(kernels.momentum, a, 3000, lr=1.03 * edge, momentum=mu)[-1] > 1e2
    assert theory.momentum_stable(0.97 * edge, mu, eig) and not theory.momentum_stable(1.03 * edge, mu, eig)


@pytest.mark.parametrize("rule", ["sgd", "momentum", "nesterov"])
def test_iteration_matrix_is_one_step_of_the_reference_rule(rule):
    lam, lr, mu = 3.0, 0.07, 0.8
    m = theory.iteration_matrix(rule, lam, lr, mu)
    hyper = {} if rule == "sgd" else {"momentum": mu}
    p, state = np.array(1.3), {}
    for _ in range(5):
        before = np.array([float(p)]) if rule == "sgd" else np.array([float(p), float(state.get("velocity", 0.0))])
        p, state = kernels.RULES[rule](p, lam * p, state, lr=lr, **hyper)
        after = np.array([float(p)]) if rule == "sgd" else np.array([float(p), float(state["velocity"])])
        np.testing.assert_allclose(m @ before, after, rtol=1e-12, atol=1e-15)


def test_momentum_rate_with_given_hyperparameters_matches_experiment():
    eig = [1.0, 10.0]
    a = rotated_quadratic(eig)
    for lr, mu in [(0.05, 0.3), (0.1, 0.6), (0.02, 0.9)]:
        assert measured_rate(kernels.momentum, a, steps=800, lr=lr, momentum=mu) == pytest.approx(
            theory.momentum_rate(eig, lr, mu), abs=3e-3)


def test_nesterov_rate_matches_experiment():
    eig = [1.0, 10.0]
    a = rotated_quadratic(eig)
    for lr, mu in [(0.05, 0.5), (0.1, 0.8), (0.15, 0.3)]:
        assert measured_rate(kernels.nesterov, a, steps=800, lr=lr, momentum=mu) == pytest.approx(
            theory.nesterov_rate(eig, lr, mu), abs=3e-3)


def test_critical_momentum_is_the_fastest_momentum_for_one_direction():
    lam, lr = 1.0, 0.04  # a flat direction: α λ small, so momentum helps a lot
    a = np.array([[lam]])
    mus = np.linspace(0.3, 0.95, 131)
    rates = [measured_rate(kernels.momentum, a, steps=600, lr=lr, momentum=mu) for mu in mus]
    assert mus[int(np.argmin(rates))] == pytest.approx(theory.critical_momentum(lr, lam), abs=0.02)
    assert theory.critical_momentum(lr, lam) == pytest.approx(0.64)  # (1 − √0.04)²


def test_predicted_steps_matches_a_run():
    assert theory.predicted_steps(0.5, 1e-3) == 10
    lam, lr, tol = 2.0, 0.1, 1e-6  # 1-d gradient descent: the error shrinks by exactly 0.8 per step
    rate = theory.gd_rate([lam], lr)
    d = distances(kernels.sgd, np.array([[lam]]), 200, lr=lr)
    first = int(np.argmax(d / d[0] <= tol))
    assert theory.predicted_steps(rate, tol) == first


def test_minibatch_variance_factor_matches_exact_enumeration():
    rng = np.random.default_rng(1)
    per_example = rng.normal(size=(7, 3))  # seven examples' gradients
    n = len(per_example)
    single = per_example.var(axis=0).sum()  # E‖g_i − ḡ‖²
    for b in range(1, n + 1):
        means = np.array([per_example[list(c)].mean(axis=0) for c in itertools.combinations(range(n), b)])
        var_b = ((means - per_example.mean(axis=0)) ** 2).sum(axis=1).mean()
        assert theory.minibatch_variance_factor(b, n) == pytest.approx(var_b / single, abs=1e-12)


def test_ema_horizon_is_one_plus_the_mean_age_of_the_weights():
    for beta in [0.5, 0.9, 0.99]:
        k = np.arange(20000)
        weights = (1 - beta) * beta**k
        assert weights.sum() == pytest.approx(1.0)
        assert theory.ema_horizon(beta) == pytest.approx(1.0 + (weights * k).sum(), rel=1e-9)


@pytest.mark.parametrize("call, words", [
    (lambda: theory.gd_best_lr([-1.0, 2.0]), "positive"),
    (lambda: theory.gd_rate([]), "empty"),
    (lambda: theory.gd_rate([1.0, 2.0], lr=-0.1), "lr must be a positive"),
    (lambda: theory.momentum_max_lr([1.0], 1.0), "momentum must be in [0, 1)"),
    (lambda: theory.momentum_rate([1.0, 4.0], lr=0.1), "pass both"),
    (lambda: theory.iteration_matrix("adam", 1.0, 0.1), "unknown rule 'adam'"),
    (lambda: theory.critical_momentum(1.0, 5.0), "0 < lr * lam < 4"),
    (lambda: theory.minibatch_variance_factor(0, 10), "between 1 and n"),
])
def test_bad_inputs_raise_errors_that_say_what_to_do(call, words):
    with pytest.raises(ValueError, match=None) as info:
        call()
    assert words in str(info.value)
@pytest.mark.parametrize("mu", [0.0, 0.5, 0.9, 0.99])
def test_nesterov_max_lr_is_where_the_roots_leave_the_unit_circle(mu):
    lam = np.array([1.0, 50.0])
    edge = theory.nesterov_max_lr(lam, mu)

    def radius(lr):  # Nesterov along λmax: z² − (1 + μ)(1 − αλ) z + μ(1 − αλ)
        c = 1.0 - lr * lam.max()
        return float(np.max(np.abs(np.roots([1.0, -(1.0 + mu) * c, mu * c]))))

    assert radius(0.999 * edge) < 1 < radius(1.001 * edge)
    assert edge <= theory.momentum_max_lr(lam, mu)


def test_momentum_noise_floor_at_zero_momentum_is_sgds_and_at_equal_effective_step_barely_moves():
    from optilab import theory

    # SGD on ½λp² with noise σ: p' = (1 − αλ)p − ασξ, Var = α²σ²/(1 − (1 − αλ)²)
    lam, lr, sigma = 2.0, 0.1, 0.7
    assert theory.momentum_noise_floor(lam, lr, 0.0, sigma) == pytest.approx(
        0.5 * lam * (lr * sigma) ** 2 / (1 - (1 - lr * lam) ** 2))
    eta = 0.05
    floors = [theory.momentum_noise_floor(lam, eta * (1 - mu), mu, sigma) for mu in (0.0, 0.5, 0.9)]
    assert max(floors) / min(floors) < 1.06
    with pytest.raises(ValueError, match="stable range"):
        theory.momentum_noise_floor(1.0, 5.0, 0.5, 1.0)
