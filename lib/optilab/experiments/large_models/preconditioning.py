r"""Lesson 09: AdaGrad's full and diagonal preconditioners, Shampoo's Kronecker factors and SOAP's
rotated diagonal, computed on a small matrix problem "on paper" (Shampoo and SOAP are not rules
of the library)."""

from __future__ import annotations

import math
from typing import Callable, Mapping

import numpy as np


__all__ = ["kronecker_problem", "preconditioners", "PRECONDITIONER_MEMORY", "condition_numbers",
           "preconditioned_runs"]


# -- preconditioning: AdaGrad, Shampoo, SOAP on paper ---------------------------------------------------
def _rotation(n: int, angle: float, rng: np.random.Generator) -> np.ndarray:
    """An orthogonal matrix that is the identity at ``angle`` 0 and a random rotation at 1."""
    Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    if np.linalg.det(Q) < 0:
        Q[:, 0] = -Q[:, 0]
    w, U = np.linalg.eig(Q)  # Q = U diag(e^{iθ}) U^H; a fraction of each angle
    return np.real(U @ np.diag(np.exp(1j * float(angle) * np.angle(w))) @ U.conj().T)


def kronecker_problem(m: int = 6, n: int = 4, kappa: tuple[float, float] = (100.0, 30.0), rotation: float = 1.0,
                      seed: int = 0) -> dict[str, np.ndarray]:
    r"""A matrix least-squares problem whose Hessian is a Kronecker product.

    :math:`f(W) = \tfrac12 \operatorname{tr}\big((W - W^\star)^\top A\, (W - W^\star)\, B\big)` for
    :math:`W \in \mathbb R^{m\times n}`, with gradient :math:`G = A(W - W^\star)B` and Hessian
    :math:`H = B \otimes A` (acting on :math:`\operatorname{vec} W`, columns stacked). :math:`A` and
    :math:`B` have eigenvalues spread log-evenly over ``kappa`` (their condition numbers) and
    eigenvectors turned by ``rotation`` (0: the coordinate axes, 1: a random rotation).

    Returns
    -------
    dict
        ``A``, ``B``, ``H``, ``W_star``.
    """
    rng = np.random.default_rng(seed)
    factors = []
    for size, k in zip((m, n), kappa):
        Q = _rotation(size, rotation, rng)
        factors.append(Q @ np.diag(np.logspace(0, math.log10(k), size)[::-1]) @ Q.T)
    A, B = factors
    return {"A": A, "B": B, "H": np.kron(B, A), "W_star": rng.standard_normal((m, n))}


def _power(S: np.ndarray, exponent: float) -> np.ndarray:
    w, U = np.linalg.eigh((S + S.T) / 2)
    return (U * np.maximum(w, 0.0) ** exponent) @ U.T


def preconditioners(problem: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    r"""Each method's preconditioner :math:`P` (the step is :math:`-\eta P^{-1} g`), from the gradients' statistics.

    The gradients are :math:`G = A E B` with :math:`E` of independent standard normal entries (the
    iterate at random distances from :math:`W^\star`); the statistics the methods accumulate are
    taken in expectation: :math:`E[gg^\top] = H^2`, :math:`L = E[GG^\top] = \operatorname{tr}(B^2)A^2`,
    :math:`R = E[G^\top G] = \operatorname{tr}(A^2) B^2`.

    * ``"gradient descent"``: :math:`P = I`.
    * ``"diagonal AdaGrad"``: :math:`P = \operatorname{diag}(E[g^2])^{1/2}`, what AdaGrad, RMSProp
      and Adam divide by.
    * ``"Shampoo, exponent ¼"``: :math:`P = R^{1/4} \otimes L^{1/4}`, the step
      :math:`L^{-1/4} G R^{-1/4}` of Gupta, Koren & Singer (2018).
    * ``"Shampoo, exponent ½"``: :math:`P = R^{1/2} \otimes L^{1/2}`, the exponent for which the
      Kronecker product approximates :math:`E[gg^\top]^{1/2}` (Morwani et al., 2024); on this problem
      it equals it up to a constant.
    * ``"SOAP"``: rotate by the eigenvectors :math:`Q_L, Q_R` of
      :math:`L, R`, divide by :math:`E[\tilde g^2]^{1/2}` there (Adam's diagonal), rotate back
      (Vyas et al., 2024).
    * ``"full-matrix AdaGrad"``: :math:`P = E[gg^\top]^{1/2}`.
    """
    A, B, H = problem["A"], problem["B"], problem["H"]
    second = H @ H  # E[g g^T] for g = H e, e ~ N(0, I)
    L, R = np.trace(B @ B) * A @ A, np.trace(A @ A) * B @ B
    _, QL = np.linalg.eigh(L)
    _, QR = np.linalg.eigh(R)
    Q = np.kron(QR, QL)
    rotated = np.diag(Q.T @ second @ Q)  # E[g~^2] of the rotated gradient's entries
    return {
        "gradient descent": np.eye(len(H)),
        "diagonal AdaGrad": np.diag(np.sqrt(np.diag(second))),
        "Shampoo, exponent ¼": np.kron(_power(R, 0.25), _power(L, 0.25)),
        "Shampoo, exponent ½": np.kron(_power(R, 0.5), _power(L, 0.5)),
        "SOAP": (Q * np.sqrt(rotated)) @ Q.T,
        "full-matrix AdaGrad": _power(second, 0.5),
    }


#: Numbers each preconditioner keeps for an :math:`m \times n` matrix parameter.
PRECONDITIONER_MEMORY: dict[str, Callable[[int, int], int]] = {
    "gradient descent": lambda m, n: 0,
    "diagonal AdaGrad": lambda m, n: m * n,
    "Shampoo, exponent ¼": lambda m, n: m * m + n * n,
    "Shampoo, exponent ½": lambda m, n: m * m + n * n,
    "SOAP": lambda m, n: 2 * (m * m + n * n) + m * n,
    "full-matrix AdaGrad": lambda m, n: (m * n) ** 2,
}


def _effective(P: np.ndarray, H: np.ndarray) -> np.ndarray:
    r""":math:`P^{-1/2} H P^{-1/2}`: the Hessian the preconditioned step sees (same eigenvalues as :math:`P^{-1}H`)."""
    root = _power(P, -0.5)
    return root @ H @ root


def condition_numbers(problem: Mapping[str, np.ndarray]) -> dict[str, float]:
    r"""The condition number :math:`\lambda_{\max}/\lambda_{\min}` of :math:`P^{-1}H` for each of :func:`preconditioners`."""
    out = {}
    for name, P in preconditioners(problem).items():
        w = np.linalg.eigvalsh(_effective(P, problem["H"]))
        out[name] = float(w.max() / w.min())
    return out


def preconditioned_runs(problem: Mapping[str, np.ndarray], steps: int = 100, seed: int = 1) -> dict[str, np.ndarray]:
    r"""The loss of :math:`w \leftarrow w - \eta P^{-1}\nabla f(w)` for each preconditioner, from one random start.

    Each run takes the step :math:`\eta = 1/\lambda_{\max}(P^{-1}H)`, the largest that never makes a
    direction overshoot, so the slowest direction shrinks by :math:`1 - 1/\kappa` per step.

    Returns
    -------
    dict of str to ndarray of shape (steps + 1,)
        :math:`f(w_t)/f(w_0)`.
    """
    H = problem["H"]
    w_star = problem["W_star"].reshape(-1, order="F")
    start = w_star + np.random.default_rng(seed).standard_normal(len(H))
    out = {}
    for name, P in preconditioners(problem).items():
        inverse = np.linalg.inv(P)
        eta = 1.0 / np.linalg.eigvalsh(_effective(P, H)).max()
        w, losses = start.copy(), []
        for _ in range(steps + 1):
            e = w - w_star
            losses.append(0.5 * e @ H @ e)
            w = w - eta * inverse @ (H @ e)
        out[name] = np.array(losses) / losses[0]
    return out
