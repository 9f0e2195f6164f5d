"""optilab.variants: the rules as other papers and frameworks write them, against the reference rules and torch."""

from __future__ import annotations

import numpy as np
import pytest

from optilab import kernels, problems, schedules, training, variants


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
    trace = training.run(variants.sutskever_momentum, problems.quadratic((1.0, 50.0), angle=np.pi / 6), steps=20,
                         lr=schedules.step_decay(0.02, 10), momentum=0.9)
    assert trace.steps == 20 and not trace.diverged and trace.rule == "sutskever_momentum"


# -- theory.nesterov_max_lr (added to optilab.theory for this lesson) ---------------------------------


# -- Keras's RMSProp -----------------------------------------------------------------------------------
def test_keras_rmsprop_reproduces_keras_docstring_example():
    # keras.optimizers.RMSprop(learning_rate=0.1) on loss = var1**2 / 2 from var1 = 10 gives 9.683772
    p, _ = variants.keras_rmsprop(np.array(10.0), np.array(10.0), {}, lr=0.1)
    assert float(p) == pytest.approx(9.683772, abs=5e-7)


def test_keras_rmsprop_puts_eps_inside_the_square_root():
    g = np.array([1e-5, 1e-3, 1.0])
    p, state = variants.keras_rmsprop(np.zeros(3), g, {}, lr=1.0, rho=0.9, eps=1e-7)
    np.testing.assert_allclose(-p, g / np.sqrt(0.1 * g**2 + 1e-7), rtol=1e-12)
    np.testing.assert_allclose(state["sq_avg"], 0.1 * g**2)
    # for |g| far below sqrt(eps / (1 - rho)) = 1e-3 the step is about g / sqrt(eps), not about ±lr
    assert -p[0] == pytest.approx(1e-5 / np.sqrt(1e-7), rel=1e-3)


# -- Adam without bias correction ---------------------------------------------------------------------
def test_adam_without_bias_correction_follows_the_contract_and_differs_from_adam():
    p, g = np.array([1.0, -2.0], dtype=np.float32), np.array([0.5, 0.1], dtype=np.float32)
    p0, g0 = p.copy(), g.copy()
    new, state = variants.adam_without_bias_correction(p, g, {}, lr=0.1)
    assert new.shape == p.shape and new.dtype == p.dtype and set(state) == {"t", "m", "v"}
    np.testing.assert_array_equal(p, p0)
    np.testing.assert_array_equal(g, g0)
    corrected, _ = kernels.adam(p, g, {}, lr=0.1)
    # first step: 0.1 * (1 - 0.9) g / sqrt((1 - 0.999) g^2) = 0.1 * 0.1 / sqrt(0.001) per coordinate
    np.testing.assert_allclose(p - new, 0.1 * 0.1 / np.sqrt(0.001) * np.sign(g), rtol=1e-4)
    np.testing.assert_allclose(p - corrected, 0.1 * np.sign(g), rtol=1e-4)


def test_adam_without_bias_correction_steps_grow_as_the_closed_form_says():
    """For a constant g = 1 step t is α(1 − β₁ᵗ)/√(1 − β₂ᵗ) (lesson 06), computed here by the formula."""
    p, state, steps = np.zeros(1), {}, []
    for _ in range(20):
        new, state = variants.adam_without_bias_correction(p, np.ones(1), state, lr=1.0, eps=0.0)
        steps.append(float(p[0] - new[0]))
        p = new
    t = np.arange(1, 21)
    np.testing.assert_allclose(steps, (1 - 0.9**t) / np.sqrt(1 - 0.999**t), rtol=1e-12)
