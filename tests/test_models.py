"""The models' hand-written backward passes, checked against finite differences and torch."""

from __future__ import annotations

import numpy as np
import pytest

from optilab.models import MLP, LinearRegression, LogisticRegression


def numeric_grads(model, params, X, y, h=1e-6):
    """Central differences of model.loss for every entry of every parameter (float64)."""
    grads = {}
    for name, value in params.items():
        g = np.zeros_like(value)
        for index in np.ndindex(value.shape):
            plus = {k: v.copy() for k, v in params.items()}
            minus = {k: v.copy() for k, v in params.items()}
            plus[name][index] += h
            minus[name][index] -= h
            g[index] = (model.loss(plus, X, y) - model.loss(minus, X, y)) / (2 * h)
        grads[name] = g
    return grads


def random_params(model, seed):
    """Parameters away from the (often zero) initial ones, so every term of the backward pass matters."""
    rng = np.random.default_rng(seed)
    return {k: np.asarray(v + 0.5 * rng.standard_normal(v.shape)) for k, v in model.init(seed).items()}


def data(n, d, seed, labels=None):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    y = rng.standard_normal(n) if labels is None else rng.integers(0, labels, n)
    return X, y


CASES = {
    "linear": (LinearRegression(4), None),
    "linear without bias": (LinearRegression(3, bias=False), None),
    "logistic binary": (LogisticRegression(4), 2),
    "logistic 4 classes": (LogisticRegression(3, n_classes=4), 4),
    "mlp tanh 3 classes": (MLP((3, 5, 4, 3), "tanh"), 3),
    "mlp relu 3 classes": (MLP((3, 6, 3), "relu"), 3),
    "mlp tanh one output (binary)": (MLP((2, 4, 1), "tanh"), 2),
    "mlp relu regression": (MLP((3, 5, 2), "relu", task="regression"), None),
}


@pytest.mark.parametrize("name", CASES)
def test_backward_pass_matches_central_differences(name):
    model, labels = CASES[name]
    d = model.sizes[0] if isinstance(model, MLP) else model.n_features
    X, y = data(11, d, seed=1, labels=labels)
    if isinstance(model, MLP) and model.task == "regression":
        y = np.random.default_rng(2).standard_normal((11, model.sizes[-1]))
    for seed in range(3):
        params = random_params(model, seed)
        loss, grads = model.loss_and_grads(params, X, y)
        assert loss == pytest.approx(model.loss(params, X, y), rel=1e-14)
        expected = numeric_grads(model, params, X, y)
        assert list(grads) == list(params)
        for key in params:
            assert grads[key].shape == params[key].shape and grads[key].dtype == np.float64
            np.testing.assert_allclose(grads[key], expected[key], rtol=1e-5, atol=1e-8, err_msg=f"{name}: {key}")


def test_loss_is_a_mean_so_duplicating_the_batch_changes_nothing():
    model = MLP((2, 4, 3))
    params = model.init(0)
    X, y = data(7, 2, seed=3, labels=3)
    loss, grads = model.loss_and_grads(params, X, y)
    loss2, grads2 = model.loss_and_grads(params, np.concatenate([X, X]), np.concatenate([y, y]))
    assert loss2 == pytest.approx(loss, rel=1e-13)
    for key in grads:
        np.testing.assert_allclose(grads2[key], grads[key], rtol=1e-12, atol=1e-15)


def test_linear_regression_loss_is_half_the_mean_squared_error():
    model = LinearRegression(2)
    params = {"w": np.array([1.0, -2.0]), "b": np.array(0.5)}
    X = np.array([[1.0, 1.0], [0.0, 2.0]])
    y = np.array([0.0, 1.0])
    # predictions: 1 - 2 + 0.5 = -0.5 and -4 + 0.5 = -3.5; residuals -0.5 and -4.5
    assert model.loss(params, X, y) == pytest.approx(0.5 * (0.25 + 20.25) / 2)


def test_logistic_regression_binary_loss_at_zero_is_log_two():
    model = LogisticRegression(3)
    X, y = data(10, 3, seed=0, labels=2)
    assert model.loss(model.init(0), X, y) == pytest.approx(np.log(2.0))
    assert LogisticRegression(3, n_classes=5).loss(LogisticRegression(3, n_classes=5).init(0), X, y) == pytest.approx(np.log(5.0))


def test_binary_losses_do_not_overflow_for_confident_predictions():
    model = LogisticRegression(1)
    params = {"w": np.array([1000.0]), "b": np.array(0.0)}
    X = np.array([[1.0], [-1.0]])
    loss, grads = model.loss_and_grads(params, X, np.array([0, 1]))
    assert loss == pytest.approx(1000.0)
    assert np.all(np.isfinite(grads["w"]))


def test_predict_and_accuracy():
    model = LogisticRegression(2, n_classes=3)
    params = {"W": np.array([[1.0, 0.0, -1.0], [0.0, 1.0, 0.0]]), "b": np.zeros(3)}
    X = np.array([[2.0, 0.0], [0.0, 3.0], [-2.0, 0.0]])
    np.testing.assert_array_equal(model.predict(params, X), [0, 1, 2])
    assert model.accuracy(params, X, np.array([0, 1, 1])) == pytest.approx(2 / 3)
    proba = model.predict_proba(params, X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


@pytest.mark.parametrize("sizes", [(4, 5, 3), (4, 5, 1)])
def test_mlp_loss_and_accuracy_from_one_forward_pass_are_its_loss_and_accuracy(sizes):
    """What a training loop records after each epoch: the loss of the backward pass's forward pass, and the
    accuracy of its predictions, to the last bit (loss skips the backward pass; loss_and_accuracy shares one
    forward pass)."""
    model = MLP(sizes)
    params = model.init(3)
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(50, 4)), rng.integers(0, max(2, sizes[-1]), size=50)
    hits = int(np.sum(model.predict(params, X) == y))
    assert 0 < hits < 50
    loss, accuracy = model.loss_and_accuracy(params, X, y)
    assert loss == model.loss(params, X, y) == model.loss_and_grads(params, X, y)[0]
    assert accuracy == model.accuracy(params, X, y) == hits / 50
    with pytest.raises(ValueError, match="accuracy is for classifiers"):
        regression = MLP((4, 5, 1), task="regression")
        regression.loss_and_accuracy(regression.init(0), X, y.astype(float))


def test_integer_and_whole_float_labels_are_accepted_and_fractions_refused():
    model = MLP((2, 3, 3))
    params, X = model.init(0), np.zeros((3, 2))
    assert model.loss(params, X, np.array([0, 1, 2])) == model.loss(params, X, np.array([0.0, 1.0, 2.0]))
    with pytest.raises(ValueError, match="labels must be integers 0 .. 2"):
        model.loss(params, X, np.array([0.0, 1.5, 2.0]))
    with pytest.raises(ValueError, match="labels must be integers 0 .. 2"):
        model.loss(params, X, np.array([0, -1, 2], dtype=np.int8))


def test_mlp_init_is_seeded_and_scaled_for_its_activation():
    tanh, relu = MLP((400, 300, 2), "tanh"), MLP((400, 300, 2), "relu")
    a, b = tanh.init(5), tanh.init(5)
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])
    assert not np.allclose(tanh.init(6)["W1"], a["W1"])
    assert a["W1"].std() == pytest.approx(np.sqrt(1 / 400), rel=0.02)
    assert relu.init(5)["W1"].std() == pytest.approx(np.sqrt(2 / 400), rel=0.02)
    assert np.all(a["b1"] == 0) and a["W2"].shape == (300, 2)
    assert tanh.n_params == sum(v.size for v in a.values())


def test_bad_labels_and_shapes_are_reported():
    model = MLP((2, 3, 3))
    params = model.init(0)
    with pytest.raises(ValueError, match="labels must be integers 0 .. 2"):
        model.loss(params, np.zeros((2, 2)), np.array([0, 3]))
    with pytest.raises(ValueError, match=r"shape \(n_examples, 2\)"):
        model.loss(params, np.zeros((2, 5)), np.array([0, 1]))


@pytest.mark.torch
def test_mlp_loss_and_gradients_agree_with_torch(torch):
    model = MLP((3, 5, 4), "tanh")
    params = random_params(model, 0)
    X, y = data(9, 3, seed=4, labels=4)
    loss, grads = model.loss_and_grads(params, X, y)
    t = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    hidden = torch.tanh(torch.tensor(X) @ t["W1"] + t["b1"])
    logits = hidden @ t["W2"] + t["b2"]
    reference = torch.nn.functional.cross_entropy(logits, torch.tensor(y))
    reference.backward()
    assert loss == pytest.approx(reference.item(), rel=1e-12)
    for key in params:
        np.testing.assert_allclose(grads[key], t[key].grad.numpy(), rtol=1e-10, atol=1e-14)
