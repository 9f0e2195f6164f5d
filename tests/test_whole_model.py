"""Whole-model rules (CONTRACT.md, "Whole-model steps"): global-norm clipping and SAM, by hand, and the
machinery they run on."""

from __future__ import annotations

import numpy as np
import pytest

from optilab import data, kernels, model_rules, models, whole_model
from optilab.model_rules import clip_by_global_norm, sam, sharpness_aware
from optilab.whole_model import global_norm, per_parameter

PARAMS = {"W": np.ones((2, 2)), "b": np.zeros(2)}
GRADS = {"W": np.full((2, 2), 3.0), "b": np.array([0.0, 4.0])}  # ‖g‖ = √(4·9 + 16) = √52


def test_global_norm_is_the_norm_of_all_arrays_together():
    assert global_norm(GRADS) == pytest.approx(np.sqrt(52.0), rel=1e-15)
    assert global_norm({"a": np.array(3.0), "b": np.array([4.0])}) == 5.0


def test_clipping_scales_every_gradient_by_one_factor_from_the_global_norm():
    new, state = clip_by_global_norm("sgd", max_norm=1.0)(PARAMS, GRADS, {}, lr=1.0)
    factor = 1.0 / np.sqrt(52.0)
    np.testing.assert_allclose(new["W"], 1.0 - 3.0 * factor, rtol=1e-15)
    np.testing.assert_allclose(new["b"], [0.0, -4.0 * factor], rtol=1e-15)
    # per array, b's gradient (norm 4) would be scaled by 1/4 and W's (norm 6) by 1/6: not the same step
    assert not np.allclose(new["b"], [0.0, -1.0])
    assert set(state) == {"W", "b"}


def test_clipping_leaves_gradients_below_the_threshold_and_zero_gradients_alone():
    new, _ = clip_by_global_norm("sgd", max_norm=100.0)(PARAMS, GRADS, {}, lr=0.1)
    np.testing.assert_array_equal(new["W"], 1.0 - 0.1 * 3.0)
    zero = {k: np.zeros_like(v) for k, v in GRADS.items()}
    new, _ = clip_by_global_norm("sgd", max_norm=1.0)(PARAMS, zero, {}, lr=0.1)
    assert all(np.array_equal(new[k], PARAMS[k]) for k in PARAMS)


def test_clipping_wraps_a_rule_with_state_and_leaves_its_inputs_unchanged():
    grads = {k: v.copy() for k, v in GRADS.items()}
    step = clip_by_global_norm("adam", max_norm=2.0)
    new, state = step(PARAMS, grads, {}, lr=0.1, beta1=0.5)
    clipped = {k: g * 2.0 / np.sqrt(52.0) for k, g in GRADS.items()}
    for name in PARAMS:
        expected, expected_state = kernels.adam(PARAMS[name], clipped[name], {}, lr=0.1, beta1=0.5)
        np.testing.assert_allclose(new[name], expected, rtol=1e-14)
        np.testing.assert_allclose(state[name]["m"], expected_state["m"], rtol=1e-14)
    assert all(np.array_equal(grads[k], GRADS[k]) for k in GRADS)
    assert np.array_equal(PARAMS["W"], np.ones((2, 2)))


def test_clipping_wraps_a_whole_model_rule_and_passes_grad_fn_on():
    calls = []

    def grad_fn(p):
        calls.append(p)
        return {k: np.ones_like(v) for k, v in p.items()}

    new, _ = clip_by_global_norm(sam, max_norm=1.0)(PARAMS, GRADS, {}, lr=0.5, rho=0.1, grad_fn=grad_fn)
    assert len(calls) == 1  # the SAM point is computed from the clipped gradient: same direction
    np.testing.assert_allclose(new["W"], 0.5)


def test_names_that_differ_are_refused_in_the_students_terms():
    with pytest.raises(ValueError, match="grads must have the names of params"):
        clip_by_global_norm("sgd", 1.0)(PARAMS, {"W": GRADS["W"]}, {}, lr=0.1)
    with pytest.raises(TypeError, match="dicts from a parameter's name"):
        clip_by_global_norm("sgd", 1.0)(np.ones(2), np.ones(2), {}, lr=0.1)
    with pytest.raises(ValueError, match="max_norm must be positive"):
        clip_by_global_norm("sgd", 0.0)
    with pytest.raises(ValueError, match="unknown rule"):
        per_parameter("adma")


def test_sam_steps_with_the_gradient_at_the_normalised_ascent_point():
    seen = []

    def grad_fn(p):
        seen.append({k: v.copy() for k, v in p.items()})
        return {k: 2.0 * v for k, v in p.items()}  # the gradient of ‖p‖²

    new, state = sam(PARAMS, GRADS, {}, grad_fn=grad_fn, lr=0.1, rho=0.5)
    assert len(seen) == 1 and state == {}
    unit = {k: g / np.sqrt(52.0) for k, g in GRADS.items()}
    for k in PARAMS:
        np.testing.assert_allclose(seen[0][k], PARAMS[k] + 0.5 * unit[k], rtol=1e-12)
        np.testing.assert_allclose(new[k], PARAMS[k] - 0.1 * 2.0 * seen[0][k], rtol=1e-12)


def test_sam_with_rho_zero_is_gradient_descent_and_sharpness_aware_sgd_is_sam():
    model, (X, y) = models.MLP((3, 4, 2)), (np.random.default_rng(0).normal(size=(6, 3)), np.array([0, 1] * 3))
    params = model.init(1)
    grad_fn = lambda p: model.loss_and_grads(p, X, y)[1]  # noqa: E731
    g = grad_fn(params)
    flat, _ = sam(params, g, {}, grad_fn=grad_fn, lr=0.3, rho=0.0)
    for k in params:
        np.testing.assert_allclose(flat[k], params[k] - 0.3 * g[k], rtol=1e-14)
    ours, _ = sam(params, g, {}, grad_fn=grad_fn, lr=0.3, rho=0.2)
    other, _ = sharpness_aware("sgd", rho=0.2)(params, g, {}, grad_fn=grad_fn, lr=0.3)
    assert all(np.allclose(ours[k], other[k], rtol=1e-14) for k in params)
    assert not np.allclose(ours["W1"], flat["W1"])


def test_train_gives_sam_a_second_gradient_of_the_same_minibatch_per_step():
    X, y = data.load_breast_cancer()
    X, _ = data.standardize(X)
    model = models.MLP((X.shape[1], 8, 2))
    plain = whole_model.train("sgd", model, (X, y), epochs=2, batch_size=64, lr=0.1, seed=3)
    twice = whole_model.train(sam, model, (X, y), epochs=2, batch_size=64, lr=0.1, seed=3, rho=0.05)
    steps = len(plain.step_loss)
    assert plain.hyperparameters["gradient_calls"] == steps
    assert twice.hyperparameters["gradient_calls"] == 2 * steps
    # with rho = 0 SAM is SGD: the same run
    same = whole_model.train(sam, model, (X, y), epochs=2, batch_size=64, lr=0.1, seed=3, rho=0.0)
    np.testing.assert_allclose(same.train_loss, plain.train_loss, rtol=1e-12)


def test_train_takes_a_students_whole_model_function_and_a_schedule():
    X, y = data.load_breast_cancer()
    X, _ = data.standardize(X)
    model = models.LogisticRegression(X.shape[1])

    def my_clip_sgd(params, grads, state, *, lr):  # no scope attribute: said with scope="model"
        factor = min(1.0, 1.0 / global_norm(grads))
        return {k: params[k] - lr * factor * grads[k] for k in params}, state

    history = whole_model.train(my_clip_sgd, model, (X, y), epochs=1, batch_size=100, lr=lambda t: 0.1 * (t + 1),
                                scope="model")
    reference = whole_model.train(clip_by_global_norm("sgd", 1.0), model, (X, y), epochs=1, batch_size=100,
                                  lr=lambda t: 0.1 * (t + 1))
    np.testing.assert_allclose(history.lrs, 0.1 * np.arange(1, len(history.lrs) + 1))
    np.testing.assert_allclose(history.train_loss, reference.train_loss, rtol=1e-12)


def test_the_records_say_sam_takes_the_whole_model_and_a_grad_fn():
    record = model_rules.RECORDS[0]
    assert (record.name, record.scope, record.needs) == ("sam", "model", ("grad_fn",))
    assert record.function is sam and record.defaults == {"lr": 1e-2, "rho": 0.05}
    assert sam.scope == "model" and sam.needs == ("grad_fn",)


def test_the_runs_the_tests_ask_a_notebook_for_are_plain_arrays():
    grads = [{k: (t + 1.0) * v for k, v in GRADS.items()} for t in range(3)]
    steps = whole_model.wrapped_steps(clip_by_global_norm, "sgd", 1.0, PARAMS, grads, [0.1, 0.2, 0.3])
    assert len(steps) == 3 and set(steps[0]) == {"W", "b"}
    np.testing.assert_allclose(steps[0]["W"], 1.0 - 0.1 * 3.0 / np.sqrt(52.0))
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(5, 3)), np.array([0, 1, 0, 1, 1])
    params = models.MLP((3, 4, 2)).init(0)
    run = whole_model.sam_steps(sam, (3, 4, 2), X, y, params, [0.1, 0.1], rho=0.1)
    assert [len(points) for points in run["points"]] == [1, 1]
    g = models.MLP((3, 4, 2)).loss_and_grads(params, X, y)[1]
    np.testing.assert_allclose(run["points"][0][0]["W1"], params["W1"] + 0.1 * g["W1"] / global_norm(g))


def test_training_train_runs_a_whole_model_rule_in_its_own_loop():
    """One training loop: training.train takes a whole-model rule itself (it says so with its scope)
    and counts the backward passes; whole_model.train is that loop with a per-parameter rule wrapped."""
    from optilab import training

    X, y = data.load_breast_cancer()
    X, _ = data.standardize(X)
    model = models.MLP((X.shape[1], 8, 2))
    twice = training.train(sam, model, (X, y), epochs=2, batch_size=64, lr=0.1, seed=3, rho=0.05)
    same = whole_model.train(sam, model, (X, y), epochs=2, batch_size=64, lr=0.1, seed=3, rho=0.05)
    np.testing.assert_array_equal(twice.train_loss, same.train_loss)
    steps = len(twice.step_loss)
    assert steps == 2 * int(np.ceil(len(y) / 64))
    assert twice.hyperparameters == {"rho": 0.05, "gradient_calls": 2 * steps}
    # a per-parameter rule through both: the same run, and only the whole-model one counts gradients
    plain = training.train("sgd", model, (X, y), epochs=2, batch_size=64, lr=0.1, seed=3)
    wrapped = whole_model.train("sgd", model, (X, y), epochs=2, batch_size=64, lr=0.1, seed=3)
    np.testing.assert_array_equal(plain.train_loss, wrapped.train_loss)
    assert plain.hyperparameters == {} and wrapped.hyperparameters == {"gradient_calls": steps}
    with pytest.raises(ValueError, match='scope must be "model" or "parameter"'):
        training.train(sam, model, (X, y), epochs=1, scope="whole")


def test_a_whole_model_run_checks_its_learning_rate_and_hyperparameters_as_the_optimizer_does():
    X, y = data.load_breast_cancer()
    X, _ = data.standardize(X)
    model = models.LogisticRegression(X.shape[1])
    with pytest.raises(ValueError, match="lr must be positive"):
        whole_model.train(sam, model, (X, y), epochs=1, lr=-0.1)
    with pytest.raises(TypeError, match="sam has no hyperparameter 'rh'. Did you mean 'rho'"):
        whole_model.train(sam, model, (X, y), epochs=1, lr=0.1, rh=0.1)
