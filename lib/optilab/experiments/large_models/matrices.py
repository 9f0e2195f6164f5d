r"""Lesson 09: what the matrix rules do to one layer's gradient.

* :func:`factored` and :func:`factored_errors` — Adafactor's rank-one estimate of a matrix of
  squared gradients from its row and column sums.
* :func:`newton_schulz`, :func:`singular_value_map`, :data:`NS_COEFFICIENTS` — Muon's
  orthogonalisation, on a matrix and on each singular value.
"""

from __future__ import annotations

import functools

import numpy as np

from optilab import kernels_modern, models
from optilab.experiments.large_models.shared import SIZES, digits_splits


__all__ = ["factored", "squared_gradients", "factored_errors", "NS_COEFFICIENTS", "newton_schulz",
           "singular_value_map", "layer_gradient"]


# -- Adafactor's factored second moment ---------------------------------------------------------------
def factored(V: np.ndarray) -> np.ndarray:
    r"""Adafactor's estimate of a non-negative matrix from its row and column sums.

    .. math:: \hat V = \frac{R\, C^\top}{\mathbf 1^\top R}, \qquad R = V\mathbf 1, \quad C = V^\top \mathbf 1

    It keeps :math:`r + c` numbers instead of :math:`rc`, and is exact when :math:`V` has rank one
    (Shazeer & Stern, 2018, section 3).
    """
    V = np.asarray(V, dtype=float)
    if V.ndim != 2 or np.any(V < 0):
        raise ValueError(f"factored needs a non-negative matrix; got shape {V.shape}")
    R, C = V.sum(axis=1), V.sum(axis=0)
    return np.outer(R, C) / R.sum()


def squared_gradients(layer: str = "W1", batches: int = 40, batch_size: int = 64, seed: int = 0) -> np.ndarray:
    r"""The mean of :math:`g^2` of one weight matrix of the lesson's MLP at its initial parameters,
    over ``batches`` minibatches of the digits: the :math:`v` that Adam would keep for it."""
    net, (X, y), _, _ = models.MLP(SIZES, activation="tanh"), *digits_splits()
    params = net.init(seed)
    rng = np.random.default_rng(seed)
    total = np.zeros_like(params[layer])
    for _ in range(batches):
        idx = rng.choice(len(X), batch_size, replace=False)
        _, grads = net.loss_and_grads(params, X[idx], y[idx])
        total += grads[layer] ** 2
    return total / batches


def factored_errors(V: np.ndarray) -> dict[str, float]:
    r"""How far Adafactor's :func:`factored` estimate is from ``V``, and what the preconditioner sees.

    Returns
    -------
    dict
        ``"relative error"``: :math:`\|\hat V - V\|_F/\|V\|_F`; ``"step ratio median"`` and
        ``"step ratio 90%"``: the median and 90th percentile, over the entries, of
        :math:`\max(r, 1/r)` with :math:`r = \sqrt{V/\hat V}`, by how much the factored step
        :math:`g/\sqrt{\hat V}` differs from the full one :math:`g/\sqrt{V}`;
        ``"numbers kept"`` and ``"numbers full"``.
    """
    V = np.asarray(V, dtype=float)
    estimate = factored(V)
    ratio = np.sqrt(V / estimate)
    ratio = np.maximum(ratio, 1.0 / ratio)
    return {"relative error": float(np.linalg.norm(estimate - V) / np.linalg.norm(V)),
            "step ratio median": float(np.median(ratio)), "step ratio 90%": float(np.quantile(ratio, 0.9)),
            "numbers kept": int(sum(V.shape)), "numbers full": int(V.size)}


# -- Muon's Newton–Schulz orthogonalisation ------------------------------------------------------------
#: Odd polynomials :math:`\varphi(\sigma) = a\sigma + b\sigma^3 + c\sigma^5` iterated on the singular values.
NS_COEFFICIENTS: dict[str, tuple[float, float, float]] = {
    "Muon's quintic (3.4445, −4.7750, 2.0315)": tuple(kernels_modern.NS_COEFFICIENTS),
    "cubic Newton–Schulz (1.5, −0.5, 0)": (1.5, -0.5, 0.0),
}


def newton_schulz(G: np.ndarray, steps: int = 5,
                  coefficients: tuple[float, float, float] = kernels_modern.NS_COEFFICIENTS,
                  eps: float = 1e-7) -> np.ndarray:
    r"""Muon's approximate orthogonalisation of a matrix: :math:`U\,\varphi^{k}(\Sigma)\,V^\top` for :math:`G = U\Sigma V^\top`.

    Scale :math:`X = G/\max(\|G\|_F, \epsilon)` so every singular value is at most 1, then ``steps``
    times :math:`A = XX^\top`, :math:`X \leftarrow aX + (bA + cA^2)X`, which applies
    :math:`\varphi(\sigma) = a\sigma + b\sigma^3 + c\sigma^5` to every singular value and keeps the
    singular vectors. A tall matrix is iterated transposed (so that :math:`A` is the smaller Gram
    matrix), as :func:`optilab.kernels.muon` does; with Muon's coefficients this is the direction of
    its step (tests/test_experiments_large_models.py checks it).
    """
    G = np.asarray(G, dtype=float)
    if G.ndim != 2:
        raise ValueError(f"newton_schulz needs a matrix; got shape {G.shape}")
    a, b, c = coefficients
    tall = G.shape[0] > G.shape[1]
    X = (G.T if tall else G) / max(float(np.linalg.norm(G)), eps)
    for _ in range(int(steps)):
        A = X @ X.T
        X = a * X + (b * A + c * A @ A) @ X
    return X.T if tall else X


def singular_value_map(sigma: np.ndarray, steps: int, coefficients: tuple[float, float, float]) -> np.ndarray:
    r""":math:`\varphi^{k}(\sigma)`: what ``steps`` Newton–Schulz iterations do to singular values ``sigma``."""
    a, b, c = coefficients
    s = np.asarray(sigma, dtype=float).copy()
    for _ in range(int(steps)):
        s = a * s + b * s**3 + c * s**5
    return s


@functools.lru_cache(maxsize=4)
def layer_gradient(layer: str = "W1", seed: int = 0) -> np.ndarray:
    """The gradient of one weight matrix of the lesson's MLP at its initial parameters, on the whole training split."""
    net, (X, y), _, _ = models.MLP(SIZES, activation="tanh"), *digits_splits()
    _, grads = net.loss_and_grads(net.init(seed), X, y)
    return grads[layer]
