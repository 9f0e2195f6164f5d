"""optilab.Optimizer: applies a rule to named parameters and reports bad input clearly."""

from __future__ import annotations

import numpy as np
import pytest

from optilab import Optimizer, kernels, schedules


def test_dict_of_parameters_keeps_one_state_per_parameter_and_matches_the_kernel():
    rng = np.random.default_rng(0)
    params = {"W": rng.normal(size=(3, 2)), "b": rng.normal(size=2)}
    grads = [{"W": rng.normal(size=(3, 2)), "b": rng.normal(size=2)} for _ in range(4)]
    opt = Optimizer("adam", lr=0.1, beta1=0.8)
    current = params
    for g in grads:
        current = opt.step(current, g)
    for key in params:
        p, s = params[key], {}
        for g in grads:
            p, s = kernels.adam(p, g[key], s, lr=0.1, beta1=0.8)
        np.testing.assert_array_equal(current[key], p)
        assert opt.state[key]["t"] == 4
    assert opt.t == 4 and list(current) == ["W", "b"]


def test_list_and_single_array_keep_their_structure():
    opt = Optimizer("sgd", lr=0.5)
    out = opt.step([np.ones(2), np.zeros(3)], [np.ones(2), np.ones(3)])
    assert isinstance(out, list) and [o.tolist() for o in out] == [[0.5, 0.5], [-0.5, -0.5, -0.5]]
    single = Optimizer("sgd", lr=0.5).step(np.ones(2), np.ones(2))
    assert single.tolist() == [0.5, 0.5]


def test_inputs_are_not_modified():
    params, grads = {"w": np.ones(3)}, {"w": np.ones(3)}
    Optimizer("momentum").step(params, grads)
    assert params["w"].tolist() == [1.0, 1.0, 1.0] and grads["w"].tolist() == [1.0, 1.0, 1.0]


def test_a_schedule_sets_the_lr_of_each_step():
    opt = Optimizer("sgd", lr=schedules.step_decay(1.0, step_size=2, gamma=0.5))
    p = np.zeros(1)
    moves = []
    for _ in range(5):
        new = opt.step(p, np.ones(1))
        moves.append(float(p[0] - new[0]))
        p = new
    assert moves == [1.0, 1.0, 0.5, 0.5, 0.25]


def test_a_student_rule_plugs_in_and_its_defaults_are_used():
    def my_sgd(param, grad, state, *, lr=0.25):
        return param - lr * grad, state

    assert Optimizer(my_sgd).step(np.ones(1), np.ones(1)).tolist() == [0.75]


def test_float32_stays_float32_even_with_a_numpy_lr():
    opt = Optimizer("adam", lr=lambda t: np.float64(0.1))
    out = opt.step(np.ones(3, dtype=np.float32), np.ones(3, dtype=np.float32))
    assert out.dtype == np.float32


@pytest.mark.parametrize(
    "make, error, words",
    [
        (lambda: Optimizer("adam", beta_1=0.9), TypeError, ["beta_1 is Keras's name", "calls it beta1"]),
        (lambda: Optimizer("adam", beta=0.9), TypeError, ["'beta'", "Did you mean 'beta2'"]),
        # a framework's spelling of a hyperparameter, or of another rule, gets optilab's
        (lambda: Optimizer("adam", betas=(0.9, 0.99)), TypeError, ["betas=(a, b) is PyTorch's pair", "beta1=a, beta2=b"]),
        (lambda: Optimizer("adafactor", eps=(1e-30, 1e-3)), TypeError, ["PyTorch's pair", "eps1=a, eps2=b"]),
        (lambda: Optimizer("rmsprop", alpha=0.9), TypeError, ["alpha is PyTorch's name", "calls it rho"]),
        (lambda: Optimizer("adam", epsilon=1e-7), TypeError, ["epsilon is Keras's name", "calls it eps"]),
        (lambda: Optimizer("lion", b1=0.9), TypeError, ["b1 is optax's name", "calls it beta1"]),
        (lambda: Optimizer("sgd", momentum=0.9), TypeError, ["PyTorch's SGD with momentum", "rule 'momentum'"]),
        (lambda: Optimizer("sgd", nesterov=True), TypeError, ["PyTorch's SGD with nesterov", "rule 'nesterov'"]),
        (lambda: Optimizer("adma"), ValueError, ["unknown rule 'adma'", "Did you mean 'adam'"]),
        (lambda: Optimizer("sgd", lr=0.0), ValueError, ["lr must be positive", "0.0"]),
        (lambda: Optimizer("sgd", lr=-1e-3), ValueError, ["lr must be positive"]),
        (lambda: Optimizer("sgd", lr=float("nan")), ValueError, ["finite"]),
        (lambda: Optimizer("sgd", lr="fast"), TypeError, ["must be a number"]),
    ],
)
def test_bad_construction_names_the_problem(make, error, words):
    with pytest.raises(error) as info:
        make()
    for word in words:
        assert word in str(info.value)


def test_grad_shape_mismatch_names_both_shapes():
    with pytest.raises(ValueError, match=r"grad 'W1' has shape \(3,\) but param 'W1' has shape \(3, 1\)"):
        Optimizer("sgd").step({"W1": np.zeros((3, 1))}, {"W1": np.zeros(3)})


def test_nan_gradient_names_the_step_and_the_parameter_and_keeps_the_state():
    opt = Optimizer("momentum", lr=0.1)
    params = {"w": np.ones(2), "b": np.ones(1)}
    params = opt.step(params, {"w": np.ones(2), "b": np.ones(1)})
    state_before = {k: {kk: vv.copy() for kk, vv in v.items()} for k, v in opt.state.items()}
    with pytest.raises(FloatingPointError) as info:
        opt.step(params, {"w": np.array([np.nan, 1.0]), "b": np.ones(1)})
    message = str(info.value)
    assert "'w'" in message and "step 1" in message and "NaN" in message and "learning rate" in message
    assert opt.t == 1
    np.testing.assert_array_equal(opt.state["w"]["velocity"], state_before["w"]["velocity"])


def test_infinite_gradient_is_reported_as_infinite():
    with pytest.raises(FloatingPointError, match="infinite"):
        Optimizer("sgd").step(np.ones(2), np.array([np.inf, 0.0]))


def test_integer_parameters_are_refused_with_the_fix():
    with pytest.raises(TypeError, match=r"dtype int64.*astype\(np.float64\)"):
        Optimizer("sgd").step(np.array([1, 2]), np.array([0.1, 0.2]))


def test_mismatched_structures_and_keys_are_reported():
    with pytest.raises(KeyError, match="missing"):
        Optimizer("sgd").step({"a": np.ones(1), "b": np.ones(1)}, {"a": np.ones(1)})
    with pytest.raises(ValueError, match="list of 2"):
        Optimizer("sgd").step([np.ones(1), np.ones(1)], [np.ones(1)])


def test_a_schedule_that_goes_negative_is_reported_at_its_step():
    opt = Optimizer("sgd", lr=lambda t: 0.1 - 0.1 * t)
    p = opt.step(np.ones(1), np.ones(1))
    p = opt.step(p, np.ones(1))  # lr = 0 at step 1 is allowed (a schedule may end at zero)
    with pytest.raises(ValueError, match="schedule at step 2"):
        opt.step(p, np.ones(1))


def test_a_rule_that_breaks_the_contract_is_reported():
    def bad_shape(param, grad, state, *, lr=0.1):
        return param.ravel()[:1], state

    def no_state(param, grad, state, *, lr=0.1):
        return param - lr * grad

    with pytest.raises(ValueError, match="shape"):
        Optimizer(bad_shape).step(np.ones((2, 2)), np.ones((2, 2)))
    with pytest.raises(TypeError, match=r"\(new_param, new_state\)"):
        Optimizer(no_state).step(np.ones(2), np.ones(2))
