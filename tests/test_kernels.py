"""The reference rules honour the update-rule contract, and their first steps are right by hand."""

from __future__ import annotations

import inspect
import re

import numpy as np
import pytest

from optilab import kernels, rules
from optilab.kernels import RULES

#: the contract's table, as CONTRACT.md first wrote it: rule -> (defaults, state keys after a step).
#: Rules added since are checked against their own record and, for their defaults, against torch.
CONTRACT = {
    "sgd": ({"lr": 1e-2}, set()),
    "momentum": ({"lr": 1e-2, "momentum": 0.9}, {"velocity"}),
    "nesterov": ({"lr": 1e-2, "momentum": 0.9}, {"velocity"}),
    "adagrad": ({"lr": 1e-2, "eps": 1e-10}, {"sum_sq"}),
    "rmsprop": ({"lr": 1e-2, "rho": 0.99, "eps": 1e-8}, {"sq_avg"}),
    "adam": ({"lr": 1e-3, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8}, {"t", "m", "v"}),
    "adamw": ({"lr": 1e-3, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weight_decay": 1e-2}, {"t", "m", "v"}),
    "amsgrad": ({"lr": 1e-3, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8}, {"t", "m", "v", "v_max"}),
}
SHAPES = [(), (1,), (7,), (3, 4), (2, 3, 2)]


def _steps(rule, param, grads, lr=0.05):
    state = {}
    for grad in grads:
        param, state = rule(param, grad, state, lr=lr)
    return param, state


def _contract(name):
    record = rules.get(name)
    return CONTRACT.get(name, (record.defaults, set(record.state_keys)))


def test_every_contract_rule_is_there():
    assert set(CONTRACT) <= set(RULES) == set(rules.names())


@pytest.mark.parametrize("name", list(RULES))
def test_defaults_and_keyword_only_hyperparameters_are_the_contracts(name):
    defaults, _ = _contract(name)
    signature = inspect.signature(RULES[name])
    positional = [p.name for p in signature.parameters.values() if p.kind is p.POSITIONAL_OR_KEYWORD]
    assert positional == ["param", "grad", "state"]
    keyword = {p.name: p.default for p in signature.parameters.values() if p.kind is p.KEYWORD_ONLY}
    for key, value in defaults.items():
        assert keyword[key] == value, f"{name}: default {key}={keyword[key]}, contract says {value}"


def _slot_shape(slot, shape):
    """CONTRACT.md, "Rules that do not fit one array": the shape of a state entry for a param of ``shape``."""
    return {"param": shape, "rows": shape[:-1], "cols": shape[:-2] + shape[-1:], "scalar": ()}[slot.shape]


#: Every rule with every shape it takes (a rule of matrices only: the matrices; the other shapes are
#: test_a_matrix_rule_refuses_other_shapes_naming_the_shape_and_another_rule's).
RULE_SHAPES = [pytest.param(name, shape, id=f"{name}-{shape}") for name in RULES for shape in SHAPES
               if rules.get(name).params == "any" or len(shape) == 2]


@pytest.mark.parametrize("name, shape", RULE_SHAPES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_shape_dtype_and_state_keys(name, shape, dtype):
    record = rules.get(name)
    rng = np.random.default_rng(0)
    param = rng.normal(size=shape).astype(dtype)
    grads = [rng.normal(size=shape).astype(dtype) for _ in range(3)]
    new, state = _steps(RULES[name], param, grads)
    new = np.asarray(new)
    assert new.shape == param.shape and new.dtype == dtype
    slots = [s for s in record.state if s.ndim == "any" or (s.ndim == "2+") == (len(shape) >= 2)]
    assert {s.name for s in slots} <= set(state)
    assert _contract(name)[1] - {s.name for s in record.state} <= set(state)
    for slot in slots:
        value = state[slot.name]
        if slot.kind == "count":
            assert value == 3 and isinstance(value, int)
        else:
            want = _slot_shape(slot, shape)
            assert np.asarray(value).shape == want and np.asarray(value).dtype == dtype, slot.name
    for key, value in state.items():  # entries beyond the record's: the parameter's shape
        if key not in record.state_keys:
            assert np.asarray(value).shape == shape and np.asarray(value).dtype == dtype, key


@pytest.mark.parametrize("name", list(RULES))
def test_inputs_are_never_modified(name):
    rng = np.random.default_rng(1)
    param, grad = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    _, state = RULES[name](param, grad, {}, lr=0.1)
    saved = [param.copy(), grad.copy(), {k: np.copy(v) for k, v in state.items()}]
    new, new_state = RULES[name](param, grad, state, lr=0.1)
    np.testing.assert_array_equal(param, saved[0])
    np.testing.assert_array_equal(grad, saved[1])
    for key, value in saved[2].items():
        np.testing.assert_array_equal(state[key], value)
    assert new is not param and not np.shares_memory(new, param) and not np.shares_memory(new, grad)
    for value in new_state.values():
        if isinstance(value, np.ndarray):
            assert not any(np.shares_memory(value, x) for x in (param, grad, *[v for v in state.values() if isinstance(v, np.ndarray)]))


@pytest.mark.parametrize("name", list(RULES))
def test_lr_given_on_each_call_is_the_one_used(name):
    """A schedule changes lr between calls: the second step must use the second lr."""
    rng = np.random.default_rng(2)
    shape = (5,) if rules.get(name).params == "any" else (5, 3)
    param, g1, g2 = rng.normal(size=shape), rng.normal(size=shape), rng.normal(size=shape)
    # each rule's step is lr times a vector that does not depend on lr; AdamW's decay p·(1 − lr·λ) is
    # switched off here so that holds for it too (its decay is checked by hand below)
    hyper = {"weight_decay": 0.0} if name == "adamw" else {}
    p1, s1 = RULES[name](param, g1, {}, lr=0.1, **hyper)
    small, _ = RULES[name](p1, g2, s1, lr=0.01, **hyper)
    large, _ = RULES[name](p1, g2, s1, lr=0.02, **hyper)
    np.testing.assert_allclose(large - p1, 2 * (small - p1), rtol=1e-10)


# First steps computed by hand from the contract's formulas, with numbers small enough to check on paper.
P, G = np.array([1.0, -2.0]), np.array([0.5, 4.0])


def test_sgd_by_hand():
    new, _ = kernels.sgd(P, G, {}, lr=0.1)
    np.testing.assert_allclose(new, [0.95, -2.4])


def test_momentum_by_hand_two_steps():
    p1, s1 = kernels.momentum(P, G, {}, lr=0.1, momentum=0.5)      # v = g = [.5, 4]
    p2, s2 = kernels.momentum(p1, G, s1, lr=0.1, momentum=0.5)     # v = .5 v + g = [.75, 6]
    np.testing.assert_allclose(s2["velocity"], [0.75, 6.0])
    np.testing.assert_allclose(p2, [1.0 - 0.05 - 0.075, -2.0 - 0.4 - 0.6])


def test_nesterov_by_hand():
    _, s1 = kernels.nesterov(P, G, {}, lr=0.1, momentum=0.5)       # v = [.5, 4]
    p2, s2 = kernels.nesterov(P, G, s1, lr=0.1, momentum=0.5)      # v = [.75, 6]; step g + .5 v = [.875, 7]
    np.testing.assert_allclose(s2["velocity"], [0.75, 6.0])
    np.testing.assert_allclose(p2, [1.0 - 0.0875, -2.0 - 0.7])


def test_adagrad_by_hand_two_steps():
    p1, s1 = kernels.adagrad(P, G, {}, lr=0.1, eps=0.0)            # s = g²; step = lr·sign(g)
    np.testing.assert_allclose(p1, [0.9, -2.1])
    p2, s2 = kernels.adagrad(p1, G, s1, lr=0.1, eps=0.0)           # s = 2g²; step = lr/√2
    np.testing.assert_allclose(s2["sum_sq"], [0.5, 32.0])
    np.testing.assert_allclose(p2, p1 - 0.1 / np.sqrt(2))


def test_rmsprop_by_hand():
    p1, s1 = kernels.rmsprop(P, G, {}, lr=0.1, rho=0.75, eps=0.0)  # s = .25 g²; step = lr·g/(.5|g|) = 2 lr
    np.testing.assert_allclose(s1["sq_avg"], [0.0625, 4.0])
    np.testing.assert_allclose(p1, [0.8, -2.2])


def test_adam_first_step_is_lr_times_sign_of_g():
    """With bias correction m̂ = g and v̂ = g² after one step, so the step is lr·g/(|g| + ε)."""
    new, state = kernels.adam(P, G, {}, lr=0.1, eps=0.0)
    np.testing.assert_allclose(new, [0.9, -2.1])
    assert state["t"] == 1
    np.testing.assert_allclose(state["m"], 0.1 * G)
    np.testing.assert_allclose(state["v"], 0.001 * G**2)


def test_adam_resumes_from_a_given_state():
    state = {"t": 5, "m": np.array([0.2, -0.1]), "v": np.array([0.04, 0.01])}
    new, out = kernels.adam(P, G, state, lr=0.1, beta1=0.5, beta2=0.5, eps=0.0)
    m = 0.5 * state["m"] + 0.5 * G
    v = 0.5 * state["v"] + 0.5 * G**2
    m_hat, v_hat = m / (1 - 0.5**6), v / (1 - 0.5**6)
    assert out["t"] == 6
    np.testing.assert_allclose(new, P - 0.1 * m_hat / np.sqrt(v_hat))


def test_adamw_decays_before_the_adam_step_scaled_by_lr():
    new, _ = kernels.adamw(P, G, {}, lr=0.1, eps=0.0, weight_decay=0.5)
    np.testing.assert_allclose(new, P * (1 - 0.05) - 0.1 * np.sign(G))


def test_amsgrad_never_lets_the_denominator_shrink():
    _, s1 = kernels.amsgrad(P, np.array([10.0, 10.0]), {}, lr=0.1)
    _, s2 = kernels.amsgrad(P, np.array([0.0, 0.0]), s1, lr=0.1)
    np.testing.assert_allclose(s2["v_max"], s1["v_max"])
    assert np.all(s2["v"] < s1["v"])


@pytest.mark.parametrize("name", [rule.name for rule in rules.TABLE if rule.params == "matrix"])
@pytest.mark.parametrize("shape", [(), (4,), (2, 3, 2)], ids=str)
def test_a_matrix_rule_refuses_other_shapes_naming_the_shape_and_another_rule(name, shape):
    param = np.ones(shape)
    with pytest.raises(ValueError, match=rf"matrices.*shape {re.escape(str(shape))}.*adamw"):
        RULES[name](param, param, {}, lr=0.1)


# The rules of issue 16, by hand where a hand can follow them.
def test_lion_moves_every_entry_by_lr_whatever_the_gradient():
    new, state = kernels.lion(P, np.array([1e-6, 40.0]), {}, lr=0.1)
    np.testing.assert_allclose(new, P - 0.1)
    np.testing.assert_allclose(state["m"], 0.01 * np.array([1e-6, 40.0]))


def test_adafactor_keeps_rows_and_columns_of_a_matrix():
    g = np.array([[1.0, 2.0, 2.0], [0.0, 0.0, 3.0]])
    _, state = kernels.adafactor(np.ones((2, 3)), g, {})
    np.testing.assert_allclose(state["row"], [3.0, 3.0])        # mean of g² over each row: 9/3, 9/3
    np.testing.assert_allclose(state["col"], [0.5, 2.0, 6.5])   # over each column: 1/2, 4/2, 13/2
    assert set(state) == {"t", "row", "col"}


def test_adafactor_first_step_is_relative_to_the_parameter():
    """At t = 1, v̂ = g² (a vector), so u = sign(g) with RMS 1: the step is RMS(p)·min(lr, 1) per entry."""
    p = np.array([3.0, -4.0])  # RMS 3.5355
    new, _ = kernels.adafactor(p, np.array([0.2, -7.0]), {}, lr=0.01)
    np.testing.assert_allclose(new, p - np.sqrt(12.5) * 0.01 * np.array([1.0, -1.0]))


def test_muons_step_keeps_the_singular_vectors_and_evens_out_the_singular_values():
    """A gradient U·diag(1 … 3)·Vᵀ: the step is U·S'·Vᵀ with S' in about [0.7, 1.2] (five iterations
    of Newton–Schulz do not reach 1 exactly), so the step's condition number falls from 3 to under 1.8."""
    rng = np.random.default_rng(3)
    u, _ = np.linalg.qr(rng.normal(size=(6, 6)))
    v, _ = np.linalg.qr(rng.normal(size=(6, 6)))
    sigma = np.linspace(1.0, 3.0, 6)
    new, _ = kernels.muon(np.zeros((6, 6)), u @ np.diag(sigma) @ v.T, {}, lr=1.0, weight_decay=0.0, momentum=0.0)
    inner = u.T @ -new @ v  # diagonal when the singular vectors are kept
    np.testing.assert_allclose(inner - np.diag(np.diag(inner)), 0.0, atol=1e-12)
    assert 0.68 < np.diag(inner).min() and np.diag(inner).max() < 1.22, np.diag(inner)
    assert np.diag(inner).max() / np.diag(inner).min() < 1.8


def test_schedule_free_x_is_the_average_of_z_for_a_constant_lr():
    rng = np.random.default_rng(4)
    param, state, zs = rng.normal(size=3), {}, []
    for _ in range(5):
        param, state = kernels.schedule_free_adamw(param, rng.normal(size=3), state, lr=0.1)
        zs.append(state["z"])
    np.testing.assert_allclose(state["x"], np.mean(zs, axis=0))
    np.testing.assert_allclose(param, 0.1 * state["z"] + 0.9 * state["x"])
