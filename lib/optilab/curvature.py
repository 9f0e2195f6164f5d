r"""Curvature of the models' losses: exact Hessian-vector products, and the sharpness they measure.

:func:`hvp` gives :math:`H v = \nabla^2 L(p)\, v` for the models of :mod:`optilab.models`
without forming :math:`H`: it is the directional derivative of the gradient,
:math:`Hv = \frac{d}{dr} \nabla L(p + r v)\big|_{r=0}`, computed exactly by pushing that derivative
through the forward and the backward pass (Pearlmutter's :math:`\mathcal R\{\cdot\}` operator,
1994): each quantity :math:`q` of the backward pass gets its derivative :math:`\mathcal R\{q\}`
along :math:`v`. The cost is about that of two gradients. The tests check it against central
differences of the gradient and against PyTorch's double backward on the same model.

:func:`sharpness` is :math:`\lambda_{\max}(H)`, by power iteration on :func:`hvp`: full-batch
gradient descent with step :math:`\eta` is stable on a quadratic only while
:math:`\lambda_{\max} < 2/\eta` (Cohen et al. 2021, "Gradient Descent on Neural Networks Typically
Occurs at the Edge of Stability").

>>> from optilab import models
>>> model = models.LinearRegression(2, bias=False)
>>> X, y = np.array([[1.0, 0.0], [0.0, 2.0]]), np.zeros(2)
>>> hvp(model, model.init(), X, y, {"w": np.array([1.0, 1.0])})["w"]  # H = XᵀX/n = diag(0.5, 2)
array([0.5, 2. ])
>>> round(sharpness(model, model.init(), X, y), 9)
2.0
"""

from __future__ import annotations

from typing import Any

import numpy as np

from optilab.models import MLP, LinearRegression, LogisticRegression, _features, _labels, _log_softmax, _sigmoid

__all__ = ["hvp", "power_iteration", "sharpness"]

Params = dict[str, np.ndarray]


def _check(params: Params, v: Params) -> None:
    if set(v) != set(params):
        raise ValueError(f"the direction v needs the parameters' names {sorted(params)}; got {sorted(v)}")
    for name in params:
        if np.shape(v[name]) != np.shape(params[name]):
            raise ValueError(f"v[{name!r}] has shape {np.shape(v[name])} but the parameter has shape "
                             f"{np.shape(params[name])}")


def _softmax_jvp(P: np.ndarray, R: np.ndarray) -> np.ndarray:
    r"""The derivative of softmax along :math:`R`, row by row: :math:`P \odot R - P\,(P \cdot R)`."""
    return P * R - P * np.sum(P * R, axis=1, keepdims=True)


def _linear_hvp(model: LinearRegression, params: Params, X: np.ndarray, y: np.ndarray, v: Params) -> Params:
    r""":math:`H = \frac1n [X\ 1]^\top [X\ 1]`: :math:`\mathcal R\{r\} = X v_w + v_b`."""
    X = _features(X, model.n_features, "LinearRegression")
    r = X @ v["w"] + (v["b"] if model.bias else 0.0)
    out = {"w": X.T @ r / len(X)}
    if model.bias:
        out["b"] = np.asarray(r.mean())
    return out


def _logistic_hvp(model: LogisticRegression, params: Params, X: np.ndarray, y: np.ndarray, v: Params) -> Params:
    r""":math:`\mathcal R\{z\} = X v_W + v_b`; :math:`\mathcal R\{\partial L/\partial z\}` is
    :math:`\sigma'(z)\,\mathcal R\{z\}/n` (binary) or the softmax's derivative along it (multinomial)."""
    X = _features(X, model.n_features, "LogisticRegression")
    n = len(X)
    _labels(y, n, model.n_classes, "LogisticRegression")
    z = model.logits(params, X)
    if model.binary:
        s = _sigmoid(z)
        dz = s * (1.0 - s) * (X @ v["w"] + v["b"]) / n
        return {"w": X.T @ dz, "b": np.asarray(dz.sum())}
    dz = _softmax_jvp(np.exp(_log_softmax(z)), X @ v["W"] + v["b"]) / n
    return {"W": X.T @ dz, "b": dz.sum(axis=0)}


def _mlp_hvp(model: MLP, params: Params, X: np.ndarray, y: np.ndarray, v: Params) -> Params:
    r"""The :math:`\mathcal R` operator through :meth:`MLP.loss_and_grads`.

    Forward: :math:`\mathcal R\{a_\ell\} = \mathcal R\{h_{\ell-1}\} W_\ell + h_{\ell-1} V_\ell + v_{b_\ell}`,
    :math:`\mathcal R\{h_\ell\} = \phi'(a_\ell) \odot \mathcal R\{a_\ell\}`. Output:
    :math:`\mathcal R\{\delta_L\}` = the loss's Hessian in :math:`a_L` times :math:`\mathcal R\{a_L\}`.
    Backward: :math:`\mathcal R\{\nabla W_\ell\} = \mathcal R\{h_{\ell-1}\}^\top \delta_\ell + h_{\ell-1}^\top \mathcal R\{\delta_\ell\}`,
    :math:`\mathcal R\{\delta_{\ell-1}\} = (\mathcal R\{\delta_\ell\} W_\ell^\top + \delta_\ell V_\ell^\top) \odot \phi'(a_{\ell-1})
    + (\delta_\ell W_\ell^\top) \odot \phi''(a_{\ell-1}) \odot \mathcal R\{a_{\ell-1}\}`.
    """
    hs, pre = model._forward(params, X)
    L = model.n_layers
    n = len(hs[0])
    tanh = model.activation == "tanh"

    def d_phi(layer: int) -> np.ndarray:  # φ'(a_layer), 1-based layer < L
        return 1.0 - hs[layer] ** 2 if tanh else (pre[layer - 1] > 0).astype(float)

    # forward R pass: R{h_0} = 0
    R_h = [np.zeros_like(hs[0])]
    R_a = []
    for layer in range(1, L + 1):
        R_a.append(R_h[-1] @ params[f"W{layer}"] + hs[layer - 1] @ v[f"W{layer}"] + v[f"b{layer}"])
        if layer < L:
            R_h.append(d_phi(layer) * R_a[-1])
    # the output's loss: δ_L and R{δ_L}
    _, delta = model._output_loss(pre[-1], y)
    out = pre[-1]
    if model.task == "regression":
        R_delta = R_a[-1] / n
    elif model.sizes[-1] == 1:
        s = _sigmoid(out[:, 0])
        R_delta = (s * (1.0 - s))[:, None] * R_a[-1] / n
    else:
        R_delta = _softmax_jvp(np.exp(_log_softmax(out)), R_a[-1]) / n
    result: Params = {}
    for layer in range(L, 0, -1):
        result[f"W{layer}"] = R_h[layer - 1].T @ delta + hs[layer - 1].T @ R_delta
        result[f"b{layer}"] = R_delta.sum(axis=0)
        if layer > 1:
            W, V = params[f"W{layer}"], v[f"W{layer}"]
            back = delta @ W.T
            R_back = R_delta @ W.T + delta @ V.T
            if tanh:
                h = hs[layer - 1]
                d2 = -2.0 * h * (1.0 - h * h)  # tanh'' = −2 tanh (1 − tanh²)
                R_delta = R_back * (1.0 - h * h) + back * d2 * R_a[layer - 2]
            else:  # relu'' = 0 (almost everywhere)
                R_delta = R_back * d_phi(layer - 1)
            delta = back * d_phi(layer - 1)
    return result


_HVP = {LinearRegression: _linear_hvp, LogisticRegression: _logistic_hvp, MLP: _mlp_hvp}


def hvp(model: Any, params: Params, X: np.ndarray, y: np.ndarray, v: Params) -> Params:
    r"""The Hessian-vector product :math:`\nabla^2 L(p)\, v` of the model's mean loss on ``(X, y)``.

    Parameters
    ----------
    model : LinearRegression, LogisticRegression or MLP
        From :mod:`optilab.models`.
    params : dict of str to ndarray
        Where the Hessian is taken.
    X, y : ndarray
        The examples (all of them: the full-batch loss; or a minibatch).
    v : dict of str to ndarray
        The direction, shaped like ``params``.

    Returns
    -------
    dict of str to ndarray
        :math:`Hv`, shaped like ``params`` (in their order and dtypes).
    """
    for kind, function in _HVP.items():
        if isinstance(model, kind):
            _check(params, v)
            result = function(model, params, X, y, {k: np.asarray(a, dtype=float) for k, a in v.items()})
            return {name: np.asarray(result[name], dtype=params[name].dtype) for name in params}
    raise TypeError(f"hvp knows the models of optilab.models (LinearRegression, LogisticRegression, MLP); "
                    f"got {type(model).__name__}")


def power_iteration(model: Any, params: Params, X: np.ndarray, y: np.ndarray, v: Params, *, iterations: int,
                    scale: Params | None = None, tol: float = 0.0) -> tuple[float, Params]:
    r"""The largest-magnitude eigenvalue of :math:`S H S` by power iteration on :func:`hvp`, from ``v``.

    :math:`H` is the Hessian of ``model``'s loss on ``(X, y)`` at ``params`` and :math:`S` is ``scale``
    (a dict like ``params``, entrywise; None for :math:`S = I`): with :math:`S = P^{-1/2}`, :math:`S H S`
    has the eigenvalues of the preconditioned Hessian :math:`P^{-1} H`. Stops after ``iterations``
    products, or once the Rayleigh quotient changes by at most ``tol`` (relative; 0 runs them all).
    Returns (the last Rayleigh quotient, the next vector), so that a run can warm-start its next
    measurement from it; (0, v) if ``v`` is zero.
    """
    value = 0.0
    for _ in range(int(iterations)):
        norm = np.sqrt(sum(float(np.sum(a * a)) for a in v.values()))
        if norm == 0:
            return 0.0, v
        v = {k: a / norm for k, a in v.items()}
        u = v if scale is None else {k: v[k] * scale[k] for k in v}
        Hu = hvp(model, params, X, y, u)
        w = {k: np.asarray(a, dtype=float) for k, a in Hu.items()} if scale is None else {k: Hu[k] * scale[k] for k in v}
        new = sum(float(np.sum(v[k] * w[k])) for k in v)
        v = w
        if tol > 0 and abs(new - value) <= tol * max(abs(new), 1e-300):
            return new, v
        value = new
    return value, v


def sharpness(model: Any, params: Params, X: np.ndarray, y: np.ndarray, *, iterations: int = 100,
              tol: float = 1e-10, seed: int = 0) -> float:
    r""":math:`\lambda_{\max}(\nabla^2 L(p))`, the largest eigenvalue, by power iteration on :func:`hvp`.

    Starts from a random direction (``seed``) and stops when the Rayleigh quotient changes by less
    than ``tol`` (relative) or after ``iterations`` products (:func:`power_iteration`). Power iteration
    finds the eigenvalue of largest *magnitude*; at a point where the Hessian has a larger negative
    eigenvalue it returns that (negative) one.
    """
    rng = np.random.default_rng(seed)
    v = {k: rng.standard_normal(np.shape(p)) for k, p in params.items()}
    return power_iteration(model, params, X, y, v, iterations=iterations, tol=tol)[0]
