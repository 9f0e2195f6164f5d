r"""Closed-form facts about the update rules on a quadratic, used across the lessons.

On :math:`f(p) = \tfrac12 p^\top A p` with eigenvalues :math:`\lambda_{\min} \le \dots \le \lambda_{\max}`
of :math:`A`, every rule in this module is linear, and each eigendirection evolves on its own:
the error along an eigenvector with eigenvalue :math:`\lambda` is multiplied, step after step,
by a fixed matrix whose spectral radius is the *rate* of that direction. The slowest direction
sets the rate of the whole run: after :math:`t` steps the distance to the minimum has shrunk
roughly by :math:`\text{rate}^t` (and the loss, which is quadratic in the distance, by
:math:`\text{rate}^{2t}`).

Symbols, as in the lessons: :math:`\alpha` learning rate (``lr``), :math:`\mu` momentum
(:math:`\beta` in Goh's article), :math:`\lambda` an eigenvalue of the Hessian,
:math:`\kappa = \lambda_{\max}/\lambda_{\min}` the condition number, :math:`B` a batch size.

Gradient descent, :math:`p \leftarrow p - \alpha g`:

* stable iff :math:`0 < \alpha\lambda < 2` for every :math:`\lambda` (:func:`gd_max_lr`);
* rate :math:`\max_i |1 - \alpha\lambda_i|` (:func:`gd_rate`), smallest at
  :math:`\alpha^* = 2/(\lambda_{\min}+\lambda_{\max})` (:func:`gd_best_lr`), where it is
  :math:`(\kappa-1)/(\kappa+1)`.

Heavy-ball momentum, PyTorch's form :math:`v \leftarrow \mu v + g,\ p \leftarrow p - \alpha v`:

* stable iff :math:`0 \le \mu < 1` and :math:`0 < \alpha\lambda < 2 + 2\mu` (:func:`momentum_stable`);
* best :math:`\alpha^* = \big(2/(\sqrt{\lambda_{\max}}+\sqrt{\lambda_{\min}})\big)^2`,
  :math:`\mu^* = \big((\sqrt\kappa-1)/(\sqrt\kappa+1)\big)^2` (:func:`momentum_best`), with rate
  :math:`(\sqrt\kappa-1)/(\sqrt\kappa+1)`: the :math:`\sqrt\kappa` speed-up
  (Polyak 1964; Goh, "Why Momentum Really Works", Distill 2017).

References: Nocedal & Wright, *Numerical Optimization* (2006), ch. 3; Polyak, *Introduction to
Optimization* (1987), ch. 3; Goh (2017), https://distill.pub/2017/momentum/.
"""

from __future__ import annotations

import math
from typing import Iterable

import numpy as np

__all__ = [
    "condition_number",
    "gd_max_lr",
    "gd_best_lr",
    "gd_rate",
    "gd_stable",
    "iteration_matrix",
    "spectral_radius",
    "momentum_best",
    "momentum_rate",
    "momentum_stable",
    "momentum_max_lr",
    "nesterov_max_lr",
    "critical_momentum",
    "nesterov_rate",
    "predicted_steps",
    "minibatch_variance_factor",
    "ema_horizon",
    "momentum_noise_floor",
]


def _eigenvalues(eigenvalues: float | Iterable[float]) -> np.ndarray:
    """The eigenvalues as a 1-d float array, all positive, or a clear error."""
    lam = np.atleast_1d(np.asarray(eigenvalues, dtype=float)).ravel()
    if lam.size == 0:
        raise ValueError("eigenvalues is empty; pass the Hessian's eigenvalues, e.g. (1.0, 10.0)")
    if not np.all(np.isfinite(lam)) or np.any(lam <= 0):
        raise ValueError(
            f"eigenvalues must be finite and positive (a convex quadratic), got {lam.tolist()}; "
            "for a saddle or a flat direction these closed forms do not apply"
        )
    return lam


def _check_lr(lr: float) -> float:
    if not (isinstance(lr, (int, float, np.floating, np.integer)) and math.isfinite(lr) and lr > 0):
        raise ValueError(f"lr must be a positive number, got {lr!r}")
    return float(lr)


def _check_momentum(momentum: float) -> float:
    if not (isinstance(momentum, (int, float, np.floating, np.integer)) and 0 <= momentum < 1):
        raise ValueError(f"momentum must be in [0, 1), got {momentum!r}")
    return float(momentum)


def condition_number(eigenvalues: float | Iterable[float]) -> float:
    r"""The condition number :math:`\kappa = \lambda_{\max} / \lambda_{\min}`.

    Examples
    --------
    >>> condition_number([1.0, 10.0])
    10.0
    """
    lam = _eigenvalues(eigenvalues)
    return float(lam.max() / lam.min())


def gd_max_lr(eigenvalues: float | Iterable[float]) -> float:
    r"""The largest stable step of gradient descent, :math:`2/\lambda_{\max}`.

    For :math:`\alpha` above it the steepest direction is multiplied by
    :math:`|1-\alpha\lambda_{\max}| > 1` on every step and the run diverges; at exactly
    :math:`2/\lambda_{\max}` it oscillates forever without converging.

    Examples
    --------
    >>> gd_max_lr([1.0, 10.0])
    0.2
    """
    return float(2.0 / _eigenvalues(eigenvalues).max())


def gd_best_lr(eigenvalues: float | Iterable[float]) -> float:
    r"""The step that makes gradient descent fastest on a quadratic, :math:`2/(\lambda_{\min}+\lambda_{\max})`.

    It balances the slowest direction against the steepest one:
    :math:`1-\alpha\lambda_{\min} = -(1-\alpha\lambda_{\max})`.

    Examples
    --------
    >>> round(gd_best_lr([1.0, 10.0]), 6)
    0.181818
    """
    lam = _eigenvalues(eigenvalues)
    return float(2.0 / (lam.min() + lam.max()))


def gd_rate(eigenvalues: float | Iterable[float], lr: float | None = None) -> float:
    r"""The per-step contraction of gradient descent, :math:`\max_i |1 - \alpha\lambda_i|`.

    Parameters
    ----------
    eigenvalues : float or sequence of float
        The Hessian's eigenvalues :math:`\lambda_i` (positive).
    lr : float, optional
        The step :math:`\alpha`; by default the best one, :func:`gd_best_lr`, for which the
        rate is :math:`(\kappa - 1)/(\kappa + 1)`.

    Returns
    -------
    float
        The factor by which the distance to the minimum shrinks per step, asymptotically
        (exactly, for the slowest eigendirection). A value :math:`\ge 1` means no convergence.

    Examples
    --------
    >>> round(gd_rate([1.0, 10.0]), 6)   # (10 - 1) / (10 + 1)
    0.818182
    >>> gd_rate([1.0, 10.0], lr=0.01)    # too small: the flat direction barely moves
    0.99
    """
    lam = _eigenvalues(eigenvalues)
    alpha = gd_best_lr(lam) if lr is None else _check_lr(lr)
    return float(np.max(np.abs(1.0 - alpha * lam)))


def gd_stable(lr: float, eigenvalues: float | Iterable[float]) -> bool:
    r"""Whether gradient descent with step :math:`\alpha` converges: :math:`0 < \alpha\lambda_i < 2` for all :math:`i`."""
    return bool(0 < _check_lr(lr) < gd_max_lr(eigenvalues))


def iteration_matrix(rule: str, lam: float, lr: float, momentum: float = 0.0) -> np.ndarray:
    r"""The matrix that one step of ``rule`` applies along an eigendirection with eigenvalue :math:`\lambda`.

    With :math:`g = \lambda p` the rules are linear. The state is :math:`(p, v)` for the
    momentum rules (PyTorch's buffer, :math:`v \leftarrow \mu v + g`) and :math:`p` for ``"sgd"``:

    * ``"sgd"``: :math:`p' = (1 - \alpha\lambda)\,p`, a 1×1 matrix;
    * ``"momentum"``: :math:`v' = \mu v + \lambda p`, :math:`p' = p - \alpha v'`, so
      :math:`\begin{pmatrix}1-\alpha\lambda & -\alpha\mu\\ \lambda & \mu\end{pmatrix}`,
      whose eigenvalues solve :math:`z^2 - (1 + \mu - \alpha\lambda) z + \mu = 0`;
    * ``"nesterov"``: :math:`v' = \mu v + \lambda p`, :math:`p' = p - \alpha(\lambda p + \mu v')`, so
      :math:`\begin{pmatrix}1-\alpha\lambda(1+\mu) & -\alpha\mu^2\\ \lambda & \mu\end{pmatrix}`,
      whose eigenvalues solve :math:`z^2 - (1+\mu)(1-\alpha\lambda) z + \mu(1-\alpha\lambda) = 0`.

    Parameters
    ----------
    rule : {"sgd", "momentum", "nesterov"}
    lam : float
        The eigenvalue :math:`\lambda` (any real number: negative for a saddle direction).
    lr : float
        :math:`\alpha > 0`.
    momentum : float
        :math:`\mu \in [0, 1)`; ignored by ``"sgd"``.
    """
    alpha, lam = _check_lr(lr), float(lam)
    if rule == "sgd":
        return np.array([[1.0 - alpha * lam]])
    mu = _check_momentum(momentum)
    if rule == "momentum":
        return np.array([[1.0 - alpha * lam, -alpha * mu], [lam, mu]])
    if rule == "nesterov":
        return np.array([[1.0 - alpha * lam * (1.0 + mu), -alpha * mu * mu], [lam, mu]])
    raise ValueError(f"unknown rule {rule!r}; iteration_matrix knows 'sgd', 'momentum' and 'nesterov'")


def spectral_radius(rule: str, eigenvalues: float | Iterable[float], lr: float,
                    momentum: float = 0.0) -> float:
    r"""The rate of ``rule`` on a quadratic: the largest :math:`|z|` over the iteration matrices of all eigenvalues.

    Below 1 the run converges (the distance shrinks by about this factor per step); at or
    above 1 it does not.
    """
    lam = _eigenvalues(eigenvalues)
    return float(max(np.max(np.abs(np.linalg.eigvals(iteration_matrix(rule, l, lr, momentum)))) for l in lam))


def momentum_best(eigenvalues: float | Iterable[float]) -> tuple[float, float]:
    r"""The fastest heavy-ball hyperparameters for a quadratic: :math:`(\alpha^*, \mu^*)`.

    .. math::
        \alpha^* = \Big(\frac{2}{\sqrt{\lambda_{\max}} + \sqrt{\lambda_{\min}}}\Big)^2, \qquad
        \mu^* = \Big(\frac{\sqrt{\kappa} - 1}{\sqrt{\kappa} + 1}\Big)^2

    These are for PyTorch's buffer (:math:`v \leftarrow \mu v + g`, :math:`p \leftarrow p - \alpha v`),
    which on a constant :math:`\alpha` is the same iteration as Polyak's
    :math:`p \leftarrow p - \alpha g + \mu (p - p_{\text{prev}})`.

    Examples
    --------
    >>> lr, mu = momentum_best([1.0, 100.0])
    >>> round(lr, 6), round(mu, 6)
    (0.033058, 0.669421)
    """
    lam = _eigenvalues(eigenvalues)
    lo, hi = math.sqrt(lam.min()), math.sqrt(lam.max())
    root_kappa = hi / lo
    return float((2.0 / (hi + lo)) ** 2), float(((root_kappa - 1.0) / (root_kappa + 1.0)) ** 2)


def momentum_rate(eigenvalues: float | Iterable[float], lr: float | None = None,
                  momentum: float | None = None) -> float:
    r"""The per-step contraction of heavy-ball momentum on a quadratic.

    With both ``lr`` and ``momentum`` left out it uses :func:`momentum_best` and returns
    :math:`(\sqrt\kappa - 1)/(\sqrt\kappa + 1)`; otherwise pass both and it returns
    :func:`spectral_radius` for ``"momentum"``.

    Examples
    --------
    >>> round(momentum_rate([1.0, 100.0]), 6)   # (10 - 1) / (10 + 1)
    0.818182
    """
    lam = _eigenvalues(eigenvalues)
    if lr is None and momentum is None:
        root_kappa = math.sqrt(condition_number(lam))
        return float((root_kappa - 1.0) / (root_kappa + 1.0))
    if lr is None or momentum is None:
        raise ValueError("pass both lr and momentum, or neither (for the best pair)")
    return spectral_radius("momentum", lam, lr, momentum)


def momentum_stable(lr: float, momentum: float, eigenvalues: float | Iterable[float]) -> bool:
    r"""Whether heavy-ball momentum converges: :math:`0 \le \mu < 1` and :math:`0 < \alpha\lambda < 2 + 2\mu` for all :math:`\lambda`."""
    return bool(0 < _check_lr(lr) < momentum_max_lr(eigenvalues, momentum))


def momentum_max_lr(eigenvalues: float | Iterable[float], momentum: float) -> float:
    r"""The largest stable step of heavy-ball momentum, :math:`(2 + 2\mu)/\lambda_{\max}`.

    Momentum widens the stable range of :math:`\alpha` by the factor :math:`1 + \mu`.

    Examples
    --------
    >>> momentum_max_lr([1.0, 10.0], 0.9)
    0.38
    """
    mu = _check_momentum(momentum)
    return float((2.0 + 2.0 * mu) / _eigenvalues(eigenvalues).max())


def critical_momentum(lr: float, lam: float) -> float:
    r"""The momentum that critically damps the direction with eigenvalue :math:`\lambda` at step :math:`\alpha`.

    .. math::  \mu = (1 - \sqrt{\alpha\lambda})^2

    It makes the two roots of :math:`z^2 - (1+\mu-\alpha\lambda)z + \mu` equal, the fastest
    convergence for that direction (rate :math:`\sqrt\mu = |1-\sqrt{\alpha\lambda}|`); less momentum
    is over-damped (slow), more is under-damped (oscillates). Requires :math:`0 < \alpha\lambda < 4`
    for the result to lie in :math:`[0, 1)`.
    """
    alpha = _check_lr(lr)
    lam = float(_eigenvalues(lam)[0])
    if not 0 < alpha * lam < 4:
        raise ValueError(f"lr * lam = {alpha * lam:g}; critical damping needs 0 < lr * lam < 4")
    return float((1.0 - math.sqrt(alpha * lam)) ** 2)


def nesterov_rate(eigenvalues: float | Iterable[float], lr: float, momentum: float) -> float:
    r"""The per-step contraction of Nesterov's method (PyTorch's form) on a quadratic.

    The largest root over all :math:`\lambda` of :math:`z^2 - (1+\mu)(1-\alpha\lambda) z + \mu(1-\alpha\lambda) = 0`.
    """
    return spectral_radius("nesterov", eigenvalues, lr, momentum)


def predicted_steps(rate: float, tol: float) -> int:
    r"""How many steps at a per-step contraction ``rate`` shrink an error by the factor ``tol``.

    The prediction; :func:`optilab.training.steps_to_tolerance` counts the steps on a run.

    .. math::  t = \Big\lceil \frac{\ln(\text{tol})}{\ln(\text{rate})} \Big\rceil

    Examples
    --------
    >>> predicted_steps(0.5, 1e-3)   # 0.5**10 = 0.00098 < 1e-3 < 0.5**9
    10
    """
    if not 0 < tol < 1:
        raise ValueError(f"tol must be in (0, 1) (a reduction factor, e.g. 1e-6), got {tol!r}")
    if not 0 <= rate < 1:
        raise ValueError(f"rate must be in [0, 1) for the error to shrink, got {rate!r}")
    if rate == 0:
        return 1
    return int(math.ceil(math.log(tol) / math.log(rate) - 1e-12))


def minibatch_variance_factor(batch_size: int, n: int) -> float:
    r"""How much a minibatch shrinks gradient noise: Var[minibatch gradient] / Var[one example's gradient].

    For a batch of :math:`B` distinct examples drawn without replacement from :math:`n`,

    .. math::  \frac{n - B}{(n - 1)\,B},

    which is about :math:`1/B` for :math:`B \ll n` and exactly 0 for the full batch (:math:`B = n`):
    the noise's standard deviation falls like :math:`1/\sqrt{B}`.

    Examples
    --------
    >>> minibatch_variance_factor(1, 100)
    1.0
    >>> minibatch_variance_factor(100, 100)
    0.0
    """
    if not (isinstance(n, (int, np.integer)) and n >= 2):
        raise ValueError(f"n must be an integer >= 2 (the number of examples), got {n!r}")
    if not (isinstance(batch_size, (int, np.integer)) and 1 <= batch_size <= n):
        raise ValueError(f"batch_size must be an integer between 1 and n = {n}, got {batch_size!r}")
    return float((n - batch_size) / ((n - 1) * batch_size))


def ema_horizon(beta: float) -> float:
    r"""The number of recent steps an exponential moving average mostly remembers, :math:`1/(1-\beta)`.

    The weights :math:`(1-\beta)\beta^k` of :math:`m \leftarrow \beta m + (1-\beta) g` sum to 1 and have
    mean age :math:`\beta/(1-\beta)`; :math:`1/(1-\beta)` is the usual rule of thumb
    (10 steps for :math:`\beta = 0.9`, 1000 for :math:`\beta = 0.999`).

    Examples
    --------
    >>> round(ema_horizon(0.9), 9)
    10.0
    """
    if not 0 <= beta < 1:
        raise ValueError(f"beta must be in [0, 1), got {beta!r}")
    return float(1.0 / (1.0 - beta))


def nesterov_max_lr(eigenvalues: float | Iterable[float], momentum: float) -> float:
    r"""The largest stable step of Nesterov's method (PyTorch's form), :math:`\frac{2 + 2\mu}{(1 + 2\mu)\,\lambda_{\max}}`.

    From :math:`P(z) = z^2 - (1+\mu)(1-\alpha\lambda) z + \mu(1-\alpha\lambda)`: :math:`P(-1) > 0` is
    :math:`\alpha\lambda < (2+2\mu)/(1+2\mu)`, while :math:`P(1) = \alpha\lambda > 0`. The range shrinks
    as :math:`\mu` grows, where the heavy ball's (:func:`momentum_max_lr`) widens.

    Examples
    --------
    >>> round(nesterov_max_lr([1.0, 10.0], 0.5), 6)   # (2 + 1) / (1 + 1) / 10
    0.15
    """
    mu = _check_momentum(momentum)
    return float((2.0 + 2.0 * mu) / ((1.0 + 2.0 * mu) * _eigenvalues(eigenvalues).max()))


def momentum_noise_floor(lam: float, lr: float, momentum: float, sigma: float) -> float:
    r"""The stationary loss gap :math:`\mathbb E[f] - f^*` of heavy ball on :math:`f = \tfrac12\lambda p^2` with gradient noise.

    With :math:`g = \lambda p + \sigma\xi` (:math:`\xi` independent, mean 0, variance 1), Polyak's form
    :math:`p_{t+1} = (1 + \mu - \alpha\lambda) p_t - \mu p_{t-1} - \alpha\sigma\xi_t` is an AR(2)
    process; its stationary variance gives

    .. math::  \mathbb E[f] - f^* = \frac{\lambda}{2}\operatorname{Var}[p]
               = \frac{(1+\mu)\,\alpha\,\sigma^2}{2\,(1-\mu)\,\big(2(1+\mu) - \alpha\lambda\big)} .

    At :math:`\mu = 0` this is SGD's :math:`\alpha\sigma^2/(2(2-\alpha\lambda))`. With the effective
    step :math:`\eta = \alpha/(1-\mu)` held fixed it is
    :math:`\eta\sigma^2 / \big(2(2 - \eta\lambda\,\tfrac{1-\mu}{1+\mu})\big)`: for small :math:`\eta\lambda`
    momentum leaves the floor where SGD with step :math:`\eta` has it.

    Examples
    --------
    >>> round(momentum_noise_floor(1.0, 0.1, 0.0, 1.0), 6)   # 0.1 / (2 · 1.9)
    0.026316
    """
    alpha, mu, lam, sigma = _check_lr(lr), _check_momentum(momentum), float(lam), float(sigma)
    if not 0 < alpha * lam < 2 + 2 * mu:
        raise ValueError(f"lr * lam = {alpha * lam:g} is outside the stable range (0, 2 + 2μ): no stationary floor")
    return float((1 + mu) * alpha * sigma**2 / (2 * (1 - mu) * (2 * (1 + mu) - alpha * lam)))
