r"""Lesson 03's experiments: the ravine, and where heavy-ball momentum converges.

* :func:`ravine` — the lesson's ill-conditioned, tilted quadratic.
* :func:`ravine_runs` — gradient descent, heavy ball and Nesterov on it with one :math:`\alpha` and :math:`\mu`.
* :func:`measured_rates` — run the momentum rule itself on :math:`f = \tfrac12\lambda p^2` over a
  grid of :math:`(\alpha\lambda, \mu)` and measure its rate, to set beside the stability region
  :math:`0 < \alpha\lambda < 2 + 2\mu` (:func:`optilab.theory.momentum_rate`).
"""

from __future__ import annotations

import numpy as np

from optilab import problems, training
from optilab.kernels import RULES

__all__ = ["KAPPA", "RULES_COMPARED", "ravine", "ravine_runs", "measured_rates"]

#: The condition number of the lesson's ravine.
KAPPA = 50.0
#: The rules lesson 03 compares on the ravine: display name -> rule.
RULES_COMPARED: dict[str, str] = {"gradient descent": "sgd", "heavy ball": "momentum", "Nesterov": "nesterov"}


def ravine(kappa: float = KAPPA) -> problems.Problem:
    r"""The lesson's ravine: :func:`optilab.problems.quadratic` with :math:`\lambda = (1, \kappa)`, tilted by 30°."""
    return problems.quadratic((1.0, float(kappa)), angle=np.pi / 6)


def ravine_runs(lr: float, momentum: float, *, steps: int = 100,
                problem: problems.Problem | None = None) -> dict[str, training.Trace]:
    r"""Each rule of :data:`RULES_COMPARED` for ``steps`` steps on ``problem`` (default :func:`ravine`), from its start.

    All use the step :math:`\alpha` = ``lr``; heavy ball and Nesterov the momentum :math:`\mu` =
    ``momentum`` (gradient descent has none). Returns ``{display name: Trace}``.
    """
    problem = ravine() if problem is None else problem
    return {label: training.run(rule, problem, steps=int(steps), lr=float(lr),
                                **({} if rule == "sgd" else {"momentum": float(momentum)}))
            for label, rule in RULES_COMPARED.items()}


def measured_rates(alpha_lambda: np.ndarray, mu: np.ndarray, steps: int = 200, window: int = 20) -> np.ndarray:
    r"""The rate of the momentum rule on :math:`f(p) = \tfrac12 p^2`, for every pair :math:`(\alpha\lambda, \mu)`.

    The rule is the rule table's, ``RULES["momentum"]`` (:func:`optilab.kernels.momentum`).

    Along one eigendirection only the product :math:`\alpha\lambda` matters, so :math:`\lambda = 1`
    and :math:`\alpha` takes the values of ``alpha_lambda``. All pairs run at once: the kernel is
    NumPy code, and array-valued ``lr`` and ``momentum`` broadcast like any other array.

    Parameters
    ----------
    alpha_lambda, mu : array_like
        :math:`\alpha\lambda` and :math:`\mu`, broadcast against each other (e.g. from ``np.meshgrid``).
    steps : int
        Steps from :math:`p_0 = 1` (even, at least ``2 * window``).
    window : int
        :math:`|p_t|` oscillates, so each end of the measurement is the largest :math:`|p_t|` over
        ``window`` consecutive steps.

    Returns
    -------
    ndarray
        The rate :math:`(M_2 / M_1)^{2/T}`, where :math:`M_1` and :math:`M_2` are the largest
        :math:`|p_t|` over the windows ending at steps :math:`T/2` and :math:`T`: the factor by which
        :math:`|p|` shrinks per step (0 once :math:`p` is exactly 0); above 1 the run diverged.
    """
    a, m = np.broadcast_arrays(np.asarray(alpha_lambda, dtype=float), np.asarray(mu, dtype=float))
    if np.any(a <= 0) or np.any((m < 0) | (m >= 1)):
        raise ValueError("alpha_lambda must be positive and mu in [0, 1)")
    half = int(steps) // 2
    if not 0 < window <= half:
        raise ValueError(f"need 0 < window <= steps / 2, got window={window}, steps={steps}")
    momentum, p, state = RULES["momentum"], np.ones(a.shape), {}
    first, second = np.zeros(a.shape), np.zeros(a.shape)
    for t in range(1, 2 * half + 1):
        p, state = momentum(p, p, state, lr=a, momentum=m)  # g = λp with λ = 1
        if half - window < t <= half:
            first = np.maximum(first, np.abs(p))
        elif t > 2 * half - window:
            second = np.maximum(second, np.abs(p))
    with np.errstate(divide="ignore", invalid="ignore", under="ignore"):
        return np.where(first > 0, (second / np.where(first > 0, first, 1.0)) ** (1.0 / half), 0.0)
