"""Lesson 03's explorer and figures, and the other papers' forms of momentum in optilab.variants."""

from __future__ import annotations

import numpy as np
import pytest

from optilab import kernels, schedules, training, variants, widgets
from optilab.widgets import momentum


def _line(fig, axis: int, label: str):
    return next(l for l in fig.axes[axis].get_lines() if l.get_label() == label)


def _largest_root(alpha_lambda: float, mu: float) -> float:
    """Spectral radius of one momentum step along an eigendirection: roots of z² − (1 + μ − αλ) z + μ."""
    return float(np.max(np.abs(np.roots([1.0, -(1.0 + mu - alpha_lambda), mu]))))


# -- the explorer ---------------------------------------------------------------------------------
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
    mu, lam_max = 0.5, momentum.KAPPA  # the ravine's eigenvalues are (1, KAPPA)
    edge = (2 + 2 * mu) / lam_max      # the bound, computed here from 0 < αλ < 2 + 2μ
    figure = momentum.RavineFigure()
    figure.draw(lr=0.95 * edge, momentum=mu)
    assert not figure.traces["heavy ball"].diverged
    assert figure.traces["gradient descent"].diverged  # 0.95 · 3/50 · 50 = 2.85 > 2
    assert "heavy ball diverges" not in figure.title.get_text()
    figure.draw(lr=1.05 * edge, momentum=mu)
    assert figure.traces["heavy ball"].diverged
    assert "heavy ball diverges" in figure.title.get_text()


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


def test_stability_figure_is_labelled():
    fig = momentum.stability_figure(np.linspace(0.1, 4.5, 30), np.linspace(0.0, 0.9, 10), steps=50)
    ax = fig.axes[0]
    assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title()
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "theory: αλ = 2 + 2μ" in labels and "measured: diverged" in labels


# -- the three forms of momentum and Nesterov's look-ahead ------------------------------------------
def _run(rule, lrs, grads, **hyper):
    p, state, out = np.array([1.0, -2.0]), {}, []
    for lr, g in zip(lrs, grads):
        p, state = rule(p, g, state, lr=lr, **hyper)
        out.append(p)
    return np.array(out)


def test_sutskever_form_by_hand_with_an_lr_drop():
    # g = 1 on both steps, μ = 0.5, α = 1 then 0.1.
    # PyTorch: v = 1, p = -1; v = 1.5, p = -1 - 0.1·1.5 = -1.15.
    # Sutskever: u = -1, p = -1; u = 0.5·(-1) - 0.1 = -0.6, p = -1.6.
    g = np.array(1.0)
    p, s = variants.sutskever_momentum(np.array(0.0), g, {}, lr=1.0, momentum=0.5)
    p, s = variants.sutskever_momentum(p, g, s, lr=0.1, momentum=0.5)
    assert float(p) == pytest.approx(-1.6) and float(s["velocity"]) == pytest.approx(-0.6)
    q, t = kernels.momentum(np.array(0.0), g, {}, lr=1.0, momentum=0.5)
    q, t = kernels.momentum(q, g, t, lr=0.1, momentum=0.5)
    assert float(q) == pytest.approx(-1.15)


def test_three_forms_agree_for_a_constant_lr_and_only_two_under_a_schedule():
    rng = np.random.default_rng(0)
    grads = rng.standard_normal((40, 2))
    mu = 0.9
    for lrs, sutskever_agrees in ((np.full(40, 0.05), True), (np.array([schedules.step_decay(0.05, 10)(t) for t in range(40)]), False)):
        torch_form = _run(kernels.momentum, lrs, grads, momentum=mu)
        ema = _run(variants.ema_momentum, lrs / (1 - mu), grads, momentum=mu)
        sutskever = _run(variants.sutskever_momentum, lrs, grads, momentum=mu)
        np.testing.assert_allclose(ema, torch_form, rtol=1e-12, atol=1e-12)
        assert np.allclose(sutskever, torch_form, rtol=1e-12, atol=1e-12) is sutskever_agrees


def test_sutskever_form_matches_torch_sgd_for_a_constant_lr(torch):
    rng = np.random.default_rng(1)
    grads = rng.standard_normal((30, 3))
    p = torch.tensor([0.5, -1.0, 2.0], requires_grad=True)
    optimizer = torch.optim.SGD([p], lr=0.1, momentum=0.9)
    expected = []
    for g in grads:
        p.grad = torch.tensor(g)
        optimizer.step()
        expected.append(p.detach().numpy().copy())
    q, state, ours = np.array([0.5, -1.0, 2.0]), {}, []
    for g in grads:
        q, state = variants.sutskever_momentum(q, g, state, lr=0.1, momentum=0.9)
        ours.append(q)
    np.testing.assert_allclose(ours, expected, rtol=1e-12, atol=1e-12)


def test_nesterov_lookahead_point_is_torchs_parameter(torch):
    A = np.array([[3.0, 1.0], [1.0, 2.0]])
    p = torch.tensor([1.0, -1.0], requires_grad=True)
    optimizer = torch.optim.SGD([p], lr=0.05, momentum=0.9, nesterov=True)
    x, state = np.array([1.0, -1.0]), {}
    for _ in range(40):
        p.grad = torch.tensor(A) @ p.detach()
        optimizer.step()
        x, state = variants.nesterov_lookahead(x, lambda z: A @ z, state, lr=0.05, momentum=0.9)
        np.testing.assert_allclose(x + 0.9 * state["velocity"], p.detach().numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("rule", [variants.sutskever_momentum, variants.ema_momentum, variants.keras_rmsprop])
def test_variants_follow_the_contract(rule):
    p, g = np.array([1.0, -2.0], dtype=np.float32), np.array([0.5, 0.25], dtype=np.float32)
    p0, g0 = p.copy(), g.copy()
    new, state = rule(p, g, {}, lr=np.float32(0.1))
    new2, state2 = rule(new, g, state, lr=np.float32(0.1))
    assert new2.shape == p.shape and new2.dtype == p.dtype
    np.testing.assert_array_equal(p, p0)
    np.testing.assert_array_equal(g, g0)
    assert all(value.shape == p.shape for value in state2.values())
    assert state2 is not state and not np.shares_memory(state2[next(iter(state2))], state[next(iter(state))])


def test_training_run_accepts_a_variant_and_a_schedule():
    trace = training.run(variants.sutskever_momentum, momentum.ravine(), steps=20,
                         lr=schedules.step_decay(0.02, 10), momentum=0.9)
    assert trace.steps == 20 and not trace.diverged and trace.rule == "sutskever_momentum"


# -- theory.nesterov_max_lr (added to optilab.theory for this lesson) ---------------------------------
@pytest.mark.parametrize("mu", [0.0, 0.5, 0.9, 0.99])
def test_nesterov_max_lr_is_where_the_roots_leave_the_unit_circle(mu):
    from optilab import theory

    lam = np.array([1.0, 50.0])
    edge = theory.nesterov_max_lr(lam, mu)

    def radius(lr):  # Nesterov along λmax: z² − (1 + μ)(1 − αλ) z + μ(1 − αλ)
        c = 1.0 - lr * lam.max()
        return float(np.max(np.abs(np.roots([1.0, -(1.0 + mu) * c, mu * c]))))

    assert radius(0.999 * edge) < 1 < radius(1.001 * edge)
    assert edge <= theory.momentum_max_lr(lam, mu)
