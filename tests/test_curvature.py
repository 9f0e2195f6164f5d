"""Hessian-vector products of the models, checked against central differences of the gradient
(torch's double backward: tests/test_practice_torch.py), and the sharpness they measure."""

from __future__ import annotations

import numpy as np
import pytest

from optilab import curvature, models
from tests.torch_reference.practice_torch import HVP_MODELS, hvp_case


def _fd_hvp(model, params, X, y, v, h=1e-5):
    """(∇L(p + h v) − ∇L(p − h v)) / 2h: the directional derivative of the hand-written gradient."""
    plus = model.loss_and_grads({k: params[k] + h * v[k] for k in params}, X, y)[1]
    minus = model.loss_and_grads({k: params[k] - h * v[k] for k in params}, X, y)[1]
    return {k: (plus[k] - minus[k]) / (2 * h) for k in params}


@pytest.mark.parametrize("name", list(HVP_MODELS))
@pytest.mark.parametrize("seed", range(3))
def test_hvp_matches_finite_differences_of_the_gradient(name, seed):
    case = hvp_case(name, np.random.default_rng([seed, 11]))
    model = HVP_MODELS[name][0]
    exact = curvature.hvp(model, case["params"], case["X"], case["y"], case["v"])
    approx = _fd_hvp(model, case["params"], case["X"], case["y"], case["v"])
    scale = max(np.max(np.abs(a)) for a in approx.values())
    for k in exact:
        assert exact[k].shape == case["params"][k].shape
        np.testing.assert_allclose(exact[k], approx[k], atol=1e-7 * scale, rtol=0, err_msg=f"{name} {k}")


def test_hvp_of_least_squares_is_the_covariance_times_v():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(10, 3)), rng.normal(size=10)
    model = models.LinearRegression(3)
    v = {"w": rng.normal(size=3), "b": np.array(0.7)}
    A = np.c_[X, np.ones(10)]
    expected = A.T @ A @ np.r_[v["w"], v["b"]] / 10
    Hv = curvature.hvp(model, model.init(), X, y, v)
    np.testing.assert_allclose(np.r_[Hv["w"], Hv["b"]], expected, rtol=1e-13)


def test_sharpness_is_the_largest_eigenvalue_of_the_hessian_built_column_by_column():
    case = hvp_case("mlp_tanh", np.random.default_rng(5))
    model, params, X, y = HVP_MODELS["mlp_tanh"][0], case["params"], case["X"], case["y"]
    names = list(params)
    sizes = [params[k].size for k in names]
    n = sum(sizes)
    H = np.empty((n, n))
    for j in range(n):
        e = np.zeros(n)
        e[j] = 1.0
        parts = np.split(e, np.cumsum(sizes)[:-1])
        Hv = curvature.hvp(model, params, X, y, {k: p.reshape(params[k].shape) for k, p in zip(names, parts)})
        H[:, j] = np.concatenate([Hv[k].ravel() for k in names])
    np.testing.assert_allclose(H, H.T, atol=1e-12)  # a Hessian is symmetric: each column is independent
    eigenvalues = np.linalg.eigvalsh(H)
    top = eigenvalues[np.argmax(np.abs(eigenvalues))]
    assert curvature.sharpness(model, params, X, y, iterations=2000, tol=1e-14) == pytest.approx(top, rel=1e-6)


def test_bad_directions_and_unknown_models_are_refused():
    model = models.LogisticRegression(2)
    X, y = np.ones((3, 2)), np.array([0, 1, 0])
    with pytest.raises(ValueError, match="names"):
        curvature.hvp(model, model.init(), X, y, {"w": np.ones(2)})
    with pytest.raises(ValueError, match="shape"):
        curvature.hvp(model, model.init(), X, y, {"w": np.ones(3), "b": np.array(0.0)})
    with pytest.raises(TypeError, match="LinearRegression, LogisticRegression, MLP"):
        curvature.hvp(object(), {}, X, y, {})
