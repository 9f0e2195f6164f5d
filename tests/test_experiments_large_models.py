"""Lesson 09's experiments: every claim the lesson makes, asserted from the computed values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from optilab import kernels, memory
from optilab import rules as table
from optilab.experiments import large_models as lm


# -- Lion ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("beta1, beta2", [(0.9, 0.99), (0.0, 0.99), (0.9, 0.0), (0.5, 0.9), (0.99, 0.99)])
def test_lion_steps_have_length_alpha_in_every_coordinate(beta1, beta2):
    steps = lm.sign_steps(beta1, beta2)
    np.testing.assert_allclose(steps["lion"]["rms"], 1.0, rtol=1e-12)


@pytest.mark.parametrize("beta1, beta2", [(0.9, 0.99), (0.0, 0.99), (0.9, 0.0), (0.5, 0.9), (0.0, 0.0)])
def test_lions_progress_matches_the_sign_of_a_normal_mix(beta1, beta2):
    # E[sign(c)] for c = beta1 m + (1 - beta1) g normal: the formula, against the rule's runs
    measured = lm.sign_steps(beta1, beta2)["lion"]["progress"]
    np.testing.assert_allclose(measured, lm.lion_sign_agreement(lm.SNRS, beta1, beta2), atol=0.06)


def test_lion_with_zero_betas_is_sign_sgd():
    measured = lm.sign_steps(0.0, 0.0)["lion"]["progress"]
    expected = [math.erf(s / math.sqrt(2)) for s in lm.SNRS]  # E[sign(mu + xi)], xi ~ N(0, 1)
    np.testing.assert_allclose(measured, expected, atol=0.04)


def test_in_noise_adams_step_shrinks_and_lions_is_four_times_longer():
    steps = lm.sign_steps(0.9, 0.99)
    adam_noise = steps["adam"]["rms"][0]
    assert adam_noise == pytest.approx(math.sqrt(0.1 / 1.9), rel=0.05)  # sqrt((1 - b1)/(1 + b1))
    assert steps["lion"]["rms"][0] / adam_noise == pytest.approx(lm.rms_noise_step(0.9) ** -1, rel=0.05)
    assert 4 < steps["lion"]["rms"][0] / adam_noise < 5
    assert steps["adam"]["rms"][-1] == pytest.approx(1.0, abs=0.01)  # a clean gradient: full steps


def test_at_a_low_ratio_lions_long_momentum_beats_adam_and_the_current_sign():
    steps = lm.sign_steps(0.9, 0.99)
    i = int(np.argmin(abs(lm.SNRS - 0.1)))
    lion, adam = steps["lion"]["progress"][i], steps["adam"]["progress"][i]
    sign_alone = lm.lion_sign_agreement(lm.SNRS[i], 0.0, 0.0)[0]
    assert lion > 3 * adam and lion > 3 * sign_alone


def test_a_longer_momentum_lifts_lions_progress_in_noise():
    i = int(np.argmin(abs(lm.SNRS - 0.1)))
    progress = [lm.sign_steps(0.9, beta2)["lion"]["progress"][i] for beta2 in (0.0, 0.5, 0.9, 0.99)]
    assert np.all(np.diff(progress) > 0), progress


# -- memory -------------------------------------------------------------------------------------------------
def _measured_bytes(rule, shape):
    """The bytes of the arrays in the state a rule returns after two steps on a float32 parameter."""
    rng = np.random.default_rng(1)
    param, state = rng.standard_normal(shape).astype(np.float32), {}
    for _ in range(2):
        param, state = rule(param, rng.standard_normal(shape).astype(np.float32), state)
    return sum(v.nbytes for v in state.values() if isinstance(v, np.ndarray))


@pytest.mark.parametrize("name", table.names())
def test_state_bytes_equal_the_bytes_of_the_state_a_rule_returns(name):
    rule = kernels.RULES[name]
    layout = lm.state_layout(name)
    shapes = [(48, 80), (80, 48)] + ([(37,)] if layout["vector"] is not None else [])
    for shape in shapes:
        assert lm.state_bytes(name, [shape]) == _measured_bytes(rule, shape), shape


@pytest.mark.parametrize("name", table.names())
def test_the_measured_state_agrees_with_the_rule_tables_declared_slots(name):
    # state_layout reads the state a rule returns; optilab.memory.state_numbers reads its record's slots
    layout = lm.state_layout(name)
    for shape, kinds in (((48, 80), layout["matrix"]), ((37,), layout["vector"])):
        if kinds is None:
            with pytest.raises(ValueError):
                memory.state_numbers(name, shape)
        else:
            assert lm.state_bytes(name, [shape]) == 4 * memory.state_numbers(name, shape), shape


def test_the_memory_table_has_every_rule_of_the_rule_table():
    assert [row["rule"] for row in lm.memory_table()] == list(table.names())


def test_lion_keeps_half_of_adamws_state_and_muon_saves_less():
    rows = {row["rule"]: row for row in lm.memory_table(["lion", "adamw", lm.matrix_rule()])}
    assert rows["lion"]["matrix bytes/param"] == 4.0
    assert rows["lion"]["gpt2 bytes"] * 2 == rows["adamw"]["gpt2 bytes"]
    assert rows["lion"]["gpt2 bytes"] < rows[lm.matrix_rule()]["gpt2 bytes"] < rows["adamw"]["gpt2 bytes"]


def test_adafactor_keeps_rows_plus_columns_for_a_matrix_and_everything_for_a_vector():
    assert lm.state_layout("adafactor") == {"matrix": ("rows", "cols"), "vector": ("param",)}
    row = lm.memory_table(["adafactor"])[0]
    assert row["matrix bytes/param"] == pytest.approx(4 * (768 + 3072) / (768 * 3072))
    shapes = lm.gpt2_shapes()
    factored = sum(r + c for r, c in shapes["embeddings"] + shapes["matrices"])
    full = sum(s[0] for s in shapes["vectors"])
    assert row["gpt2 bytes"] == 4 * (factored + full)
    adamw = lm.memory_table(["adamw"])[0]["gpt2 bytes"]
    assert row["gpt2 bytes"] < adamw / 500 and row["gpt2 bytes/param"] < 0.05


def test_muon_takes_matrices_and_adamw_steps_the_rest_of_gpt2():
    name = lm.matrix_rule()
    assert lm.state_layout(name)["vector"] is None
    with pytest.raises(ValueError, match="adamw"):  # the error names the rule to use instead
        kernels.RULES[name](np.ones(3), np.ones(3), {})
    shapes = lm.gpt2_shapes()
    expected = (4 * sum(a * b for a, b in shapes["matrices"])
                + 8 * (sum(a * b for a, b in shapes["embeddings"]) + sum(s[0] for s in shapes["vectors"])))
    assert lm.memory_table([name])[0]["gpt2 bytes"] == expected


@pytest.mark.parametrize("size", memory.GPT2_SIZES)
def test_gpt2_shapes_count_the_parameters_of_gpt2(size):
    shapes = lm.gpt2_shapes(**memory.GPT2_SIZES[size])
    total = sum(int(np.prod(s)) for group in shapes.values() for s in group)
    assert total == memory.gpt2_parameters(**memory.GPT2_SIZES[size])


def test_gpt2s_embeddings_are_a_large_part_of_it():
    shapes = lm.gpt2_shapes()
    assert sum(a * b for a, b in shapes["embeddings"]) / memory.gpt2_parameters() > 0.25


def test_a_shape_outside_the_contract_is_named():
    def odd(param, grad, state, *, lr=0.1):
        return param - lr * grad, {"buffer": np.zeros(param.shape + (2,))}

    with pytest.raises(ValueError, match="none of the contract's shapes"):
        lm.state_layout(odd)


# -- Adafactor -----------------------------------------------------------------------------------------------
def test_the_factored_estimate_is_exact_for_rank_one_and_keeps_row_and_column_sums():
    rng = np.random.default_rng(0)
    V = np.outer(rng.random(7) + 0.1, rng.random(5) + 0.1)
    np.testing.assert_allclose(lm.factored(V), V, rtol=1e-12)
    W = rng.random((7, 5))
    estimate = lm.factored(W)
    np.testing.assert_allclose(estimate.sum(axis=1), W.sum(axis=1), rtol=1e-12)
    np.testing.assert_allclose(estimate.sum(axis=0), W.sum(axis=0), rtol=1e-12)
    assert lm.factored_errors(W)["relative error"] > 0.01


def test_the_factored_estimate_is_what_adafactor_divides_by():
    rng = np.random.default_rng(0)
    g = rng.standard_normal((6, 4))
    _, state = kernels.adafactor(rng.standard_normal((6, 4)), g, {})  # first step: the averages are g^2's
    estimate = np.outer(state["row"], state["col"]) / state["row"].mean()
    np.testing.assert_allclose(estimate, lm.factored(g * g), rtol=1e-12)


def test_on_a_real_gradient_the_factored_step_is_off_by_a_modest_factor():
    errors = lm.factored_errors(lm.squared_gradients("W2"))
    assert errors["relative error"] > 0.1  # not exact: the real v is not rank one
    assert 1.0 < errors["step ratio median"] < 1.6 and errors["step ratio 90%"] < 3.0
    assert errors["numbers kept"] == 128 and errors["numbers full"] == 4096


def test_factored_rejects_negative_or_non_matrix_input():
    with pytest.raises(ValueError, match="non-negative matrix"):
        lm.factored(np.array([[1.0, -1.0]]))
    with pytest.raises(ValueError, match="non-negative matrix"):
        lm.factored(np.ones(3))


# -- Muon's Newton–Schulz -----------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(6, 6), (9, 4), (4, 9)])
@pytest.mark.parametrize("name", list(lm.NS_COEFFICIENTS))
def test_newton_schulz_applies_the_polynomial_to_the_singular_values(shape, name):
    G = np.random.default_rng(2).standard_normal(shape)
    U, s, Vt = np.linalg.svd(G, full_matrices=False)
    coefficients = lm.NS_COEFFICIENTS[name]
    expected = (U * lm.singular_value_map(s / np.linalg.norm(G), 5, coefficients)) @ Vt
    np.testing.assert_allclose(lm.newton_schulz(G, 5, coefficients), expected, atol=1e-10)


def test_a_layers_gradient_is_dominated_by_a_few_directions():
    sigma = np.linalg.svd(lm.layer_gradient("W2"), compute_uv=False)
    assert (sigma[:3] ** 2).sum() / (sigma**2).sum() > 0.5
    assert sigma[0] / sigma[-1] > 1e3


def test_five_quintic_iterations_bring_singular_values_near_one_and_the_cubic_does_not():
    G = lm.layer_gradient("W2")
    sigma = np.linalg.svd(G / np.linalg.norm(G), compute_uv=False)
    kept = sigma[sigma > 1e-3 * sigma[0]]
    quintic, cubic = lm.NS_COEFFICIENTS.values()
    q = lm.singular_value_map(kept, 5, quintic)
    assert q.min() > 0.3 and q.max() < 1.25
    assert lm.singular_value_map(kept, 5, cubic).min() < 0.05


def test_the_cubic_converges_to_one_and_the_quintic_keeps_oscillating():
    sigma = np.logspace(-1, 0, 50)
    quintic, cubic = lm.NS_COEFFICIENTS.values()
    assert np.abs(lm.singular_value_map(sigma, 12, cubic) - 1).max() < 1e-3
    assert np.abs(lm.singular_value_map(sigma, 12, quintic) - 1).max() > 0.15


def test_muons_step_is_the_orthogonalised_momentum():
    rng = np.random.default_rng(3)
    param, grad = rng.standard_normal((8, 5)), rng.standard_normal((8, 5))
    new, state = kernels.RULES[lm.matrix_rule()](param, grad, {}, lr=0.01, weight_decay=0.0, nesterov=False)
    step = (param - new) / (0.01 * np.sqrt(8 / 5))  # torch's lr adjustment for a tall matrix
    np.testing.assert_allclose(step, lm.newton_schulz(state["m"]), atol=1e-12)


def test_newton_schulz_needs_a_matrix():
    with pytest.raises(ValueError, match="needs a matrix"):
        lm.newton_schulz(np.ones(3))


# -- preconditioning ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def kappas():
    return {rotation: lm.condition_numbers(lm.kronecker_problem(rotation=rotation)) for rotation in (0.0, 1.0)}


def test_the_kronecker_problem_has_the_product_condition_number(kappas):
    problem = lm.kronecker_problem()
    cond = lambda M: np.linalg.cond(M)
    assert cond(problem["A"]) == pytest.approx(100) and cond(problem["B"]) == pytest.approx(30)
    for rotation in (0.0, 1.0):
        assert kappas[rotation]["gradient descent"] == pytest.approx(3000, rel=1e-8)


def test_a_diagonal_preconditioner_is_exact_on_the_axes_and_poor_once_turned(kappas):
    assert kappas[0.0]["diagonal AdaGrad"] == pytest.approx(1.0, rel=1e-8)
    assert kappas[1.0]["diagonal AdaGrad"] > 100
    assert kappas[1.0]["diagonal AdaGrad"] > kappas[1.0]["gradient descent"] / 10


def test_shampoos_quarter_power_takes_the_square_root_and_the_half_power_is_exact(kappas):
    for rotation in (0.0, 1.0):
        k = kappas[rotation]
        assert k["Shampoo, exponent ¼"] == pytest.approx(math.sqrt(3000), rel=1e-6)
        for exact in ("Shampoo, exponent ½", "SOAP", "full-matrix AdaGrad"):
            assert k[exact] == pytest.approx(1.0, rel=1e-6), exact


def test_preconditioned_runs_are_ordered_by_their_condition_numbers():
    runs = lm.preconditioned_runs(lm.kronecker_problem(rotation=1.0))
    for exact in ("Shampoo, exponent ½", "SOAP", "full-matrix AdaGrad"):
        assert runs[exact][1] < 1e-20, exact  # kappa = 1: one step with eta = 1/lambda_max solves it
    final = {name: losses[-1] for name, losses in runs.items()}
    assert final["Shampoo, exponent ¼"] < final["diagonal AdaGrad"] < final["gradient descent"] < 1


def test_the_preconditioners_memory_ranks_from_diagonal_to_full():
    counts = {name: count(768, 3072) for name, count in lm.PRECONDITIONER_MEMORY.items()}
    assert counts["diagonal AdaGrad"] < counts["Shampoo, exponent ¼"] < counts["SOAP"] < 1e8 < counts["full-matrix AdaGrad"]


# -- the MLP comparison ----------------------------------------------------------------------------------
def test_interval_is_the_t_interval():
    assert lm.interval([1.0, 3.0]) == (2.0, pytest.approx(12.71))
    values = np.array([0.1, 0.2, 0.4, 0.3])
    mean, half = lm.interval(values)
    assert mean == pytest.approx(0.25) and half == pytest.approx(3.182 * values.std(ddof=1) / 2)
    with pytest.raises(ValueError, match="2 to 10 values"):
        lm.interval([1.0])


def test_the_splits_are_disjoint_and_standardised_on_training_only():
    (X, y), (X_val, y_val), (X_test, y_test) = lm.digits_splits()
    assert len(X) + len(X_val) + len(X_test) == 1797
    assert abs(len(X_val) - len(X_test)) <= 1
    np.testing.assert_allclose(X.mean(axis=0), 0.0, atol=1e-12)
    assert np.abs(X_val.mean(axis=0)).max() > 1e-3  # standardised with the training statistics, not its own
    rows = {row.tobytes() for row in X}
    assert not any(row.tobytes() in rows for row in X_test[:50] if np.any(row))  # no test example in training


def test_schedule_free_evaluates_at_the_state_entry_the_rule_table_names():
    name = lm.schedule_free_rule()
    key = table.get(name).evaluate_at
    rng = np.random.default_rng(0)
    p, state = rng.standard_normal(4), {}
    for _ in range(3):
        p, state = kernels.RULES[name](p, rng.standard_normal(4), state, lr=0.1)
    assert state[key].shape == p.shape and not np.allclose(state[key], p)


def test_with_a_constant_lr_schedule_free_evaluates_the_average_of_its_z_sequence():
    name = lm.schedule_free_rule()
    key = table.get(name).evaluate_at
    rng = np.random.default_rng(4)
    p, state, zs = rng.standard_normal(3), {}, []
    for _ in range(6):
        p, state = kernels.RULES[name](p, rng.standard_normal(3), state, lr=0.05)
        zs.append(state["z"])
        np.testing.assert_allclose(state[key], np.mean(zs, axis=0), rtol=1e-12)


def test_unknown_recipes_and_rules_are_named():
    with pytest.raises(ValueError, match="unknown recipe 'sgd'"):
        lm.train_mlp("sgd", 0.1, epochs=1)
    with pytest.raises(LookupError, match="no rule 'shampoo'"):
        lm.rule_named("shampoo")
