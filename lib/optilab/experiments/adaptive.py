r"""Lessons 04 and 05's experiments: per-parameter step sizes on rescaled and moving objectives.

* :func:`scaled_quadratic` — a bowl with one feature on another scale (lesson 04).
* :func:`scaling_runs` — gradient descent at its best step and AdaGrad with one :math:`\alpha` on it.
* :func:`moving_target` — a quadratic whose minimum circles the origin: a non-stationary
  objective, on which AdaGrad's effective step decays and it falls behind, while RMSProp keeps up.
* :func:`switching_target` — a quadratic that jumps between a steep and a shallow version of itself.
* :func:`track` — run AdaGrad or RMSProp and record its effective learning rate
  :math:`\alpha/(\sqrt{s}+\epsilon)` at every step, read from the rule's state.
* :func:`shallow_error` — how far a run stays from the target late in the shallow phases.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from optilab import problems, theory, training
from optilab import rules as _table
from optilab.kernels import RULES

__all__ = [
    "scaled_quadratic",
    "scaling_runs",
    "moving_target",
    "switching_target",
    "Tracking",
    "track",
    "shallow_error",
    "RHOS",
]

#: The decay rates lesson 05 compares (and its explorer offers).
RHOS: tuple[float, ...] = (0.5, 0.9, 0.99, 0.999, 0.9999)


def scaled_quadratic(scale: float) -> problems.Problem:
    r"""A bowl whose second feature is measured in units :math:`c` = ``scale`` times smaller.

    :math:`f(p) = \tfrac12 (p_1^2 + c^2 p_2^2)`: multiplying a feature by :math:`c` multiplies
    the curvature along its weight by :math:`c^2`, so :math:`\kappa = c^2`
    (:func:`optilab.problems.quadratic` with :math:`\lambda = (1, c^2)`).
    """
    if not scale >= 1:
        raise ValueError(f"scale must be at least 1, got {scale}")
    return problems.quadratic((1.0, float(scale) ** 2))


def scaling_runs(scale: float, *, adagrad_lr: float = 0.5, steps: int = 100) -> dict[str, training.Trace]:
    r"""Gradient descent and AdaGrad on :func:`scaled_quadratic` of this ``scale``, from its start.

    Gradient descent gets the best step for the problem, :math:`2/(\lambda_{\min}+\lambda_{\max})
    = 2/(1 + c^2)` (:func:`optilab.theory.gd_best_lr`), so it is as fast as one step size can make
    it; AdaGrad gets the same :math:`\alpha` = ``adagrad_lr`` whatever the scale.

    Returns
    -------
    dict
        ``{"sgd": Trace, "adagrad": Trace}``; ``trace.lrs`` holds the step each used.
    """
    problem = scaled_quadratic(scale)
    return {"sgd": training.run("sgd", problem, steps=int(steps), lr=theory.gd_best_lr(problem.eigenvalues)),
            "adagrad": training.run("adagrad", problem, steps=int(steps), lr=float(adagrad_lr))}


def moving_target(radius: float = 3.0, period: int = 300) -> problems.Problem:
    r"""A bowl whose minimum moves round a circle: a non-stationary objective.

    .. math::
        f_t(p) = \tfrac12 \lVert p - c_t \rVert^2, \qquad \nabla f_t(p) = p - c_t, \qquad
        c_t = r\,(\cos(2\pi t/T), \sin(2\pi t/T))

    with radius :math:`r` and period :math:`T` steps. The start is :math:`p_0 = c_0`; the loss
    :math:`f_t(p_t)` is half the squared distance to the target. The target :math:`c_t` is
    ``problem.extras["target"](t)``.
    """
    radius, period = float(radius), int(period)
    if radius <= 0 or period < 2:
        raise ValueError(f"need radius > 0 and period >= 2 steps, got radius={radius}, period={period}")

    def target(t: int) -> np.ndarray:
        angle = 2.0 * np.pi * t / period
        return radius * np.array([np.cos(angle), np.sin(angle)])

    def loss(p: np.ndarray, t: int) -> float:
        d = p - target(t)
        return 0.5 * float(d @ d)

    def grad(p: np.ndarray, t: int) -> np.ndarray:
        return p - target(t)

    return problems.Problem(
        name=f"moving target (r = {radius:g}, period {period} steps)", dim=2, x0=target(0),
        loss_fn=loss, grad_fn=grad, bounds=((-1.4 * radius, 1.4 * radius), (-1.4 * radius, 1.4 * radius)),
        key=("moving_target", radius, period), extras={"target": target, "radius": radius, "period": period},
    )


def switching_target(points: tuple = ((2.0, 1.0), (-2.0, -1.0)), curvatures: tuple = (10.0, 0.1),
                     every: int = 200) -> problems.Problem:
    r"""A bowl that jumps, every ``every`` steps, between a steep and a shallow version of itself.

    .. math::
        f_t(p) = \tfrac{\lambda_k}{2} \lVert p - c_k \rVert^2, \qquad \nabla f_t(p) = \lambda_k (p - c_k),
        \qquad k = \lfloor t / \text{every} \rfloor \bmod 2

    With the defaults the curvature alternates between 10 and 0.1: gradients near the target
    shrink a hundredfold when the shallow phase starts. An accumulator that remembers the
    steep phase (AdaGrad's sum, RMSProp's average with :math:`\rho` near 1) then keeps the
    steps small long after the gradients have become small. Starts at the origin; the target
    at step :math:`t` is ``problem.extras["target"](t)``.
    """
    centres = np.array(points, dtype=float)
    lams = np.array(curvatures, dtype=float)
    every = int(every)
    if centres.shape != (2, 2) or lams.shape != (2,) or np.any(lams <= 0) or every < 1:
        raise ValueError("need two 2-D points, two positive curvatures and every >= 1 step")

    def phase(t: int) -> int:
        return (t // every) % 2

    def target(t: int) -> np.ndarray:
        return centres[phase(t)]

    def loss(p: np.ndarray, t: int) -> float:
        d = p - centres[phase(t)]
        return 0.5 * lams[phase(t)] * float(d @ d)

    def grad(p: np.ndarray, t: int) -> np.ndarray:
        return lams[phase(t)] * (p - centres[phase(t)])

    return problems.Problem(
        name=f"switching target (λ = {lams[0]:g} / {lams[1]:g} every {every} steps)", dim=2, x0=np.zeros(2),
        loss_fn=loss, grad_fn=grad, bounds=((-3.0, 3.0), (-3.0, 3.0)),
        key=("switching_target", tuple(map(tuple, centres)), tuple(lams), every),
        extras={"target": target, "curvatures": tuple(lams), "every": every},
    )


#: The state key each rule divides by, for the rules that have one (the rule table's).
_ACCUMULATOR = {rule.name: rule.accumulator for rule in _table.TABLE if rule.accumulator}


@dataclass
class Tracking:
    r"""One run of :func:`track`.

    Attributes
    ----------
    params : ndarray of shape (steps + 1, dim)
        :math:`p_0, p_1, \dots`
    distances : ndarray of shape (steps + 1,)
        :math:`\lVert p_t - c_t \rVert`, the distance to the target of step :math:`t`.
    effective_lr : ndarray of shape (steps, dim)
        :math:`\alpha/(\sqrt{s}+\epsilon)` after each step, per coordinate, from the rule's state.
    rule : str
    hyperparameters : dict
        ``lr`` and the rule's other hyperparameters.
    """

    params: np.ndarray
    distances: np.ndarray
    effective_lr: np.ndarray
    rule: str
    hyperparameters: dict[str, Any]

    @property
    def label(self) -> str:
        """'RMSProp, α = 0.1, ρ = 0.9' and the like."""
        names = {"lr": "α", "rho": "ρ", "eps": "ε"}
        hyper = ", ".join(f"{names.get(k, k)} = {v:g}" for k, v in self.hyperparameters.items())
        return f"{'AdaGrad' if self.rule == 'adagrad' else 'RMSProp'}, {hyper}"


def track(rule: str, problem: problems.Problem, *, steps: int, lr: float, **hyperparameters: Any) -> Tracking:
    r"""Run AdaGrad or RMSProp on a moving-target problem and record its effective learning rate.

    The effective learning rate is the factor in front of :math:`g` in the step,
    :math:`\alpha/(\sqrt{s}+\epsilon)`, with :math:`s` the rule's accumulator (``sum_sq`` for
    AdaGrad, ``sq_avg`` for RMSProp) read from the state the rule returns after each step.

    Parameters
    ----------
    rule : {"adagrad", "rmsprop"}
    problem : Problem
        With ``extras["target"]``, a function of the step giving the current minimum
        (:func:`moving_target`, :func:`switching_target`).
    steps : int
    lr : float
        :math:`\alpha`.
    **hyperparameters
        ``rho``, ``eps``.
    """
    if rule not in _ACCUMULATOR:
        raise ValueError(f"track records AdaGrad's or RMSProp's accumulator; got rule {rule!r}. "
                         f"Use one of {sorted(_ACCUMULATOR)}, or training.run for other rules.")
    if "target" not in problem.extras:
        raise ValueError(f"{problem.name} has no moving target; use moving_target() or switching_target()")
    kernel, target = RULES[rule], problem.extras["target"]
    eps = hyperparameters.get("eps", _table.get(rule).defaults["eps"])
    p, state = np.array(problem.x0, dtype=float), {}
    params, effective = [p], []
    for t in range(int(steps)):
        p, state = kernel(p, problem.grad(p, t), state, lr=lr, **hyperparameters)
        effective.append(lr / (np.sqrt(state[_ACCUMULATOR[rule]]) + eps))
        params.append(p)
    params_array = np.array(params)
    distances = np.linalg.norm(params_array - np.array([target(t) for t in range(len(params))]), axis=1)
    return Tracking(params_array, distances, np.array(effective), rule, {"lr": lr, **hyperparameters})


def shallow_error(run: Tracking, problem: problems.Problem) -> float:
    """Mean distance to the target over the second half of every shallow phase of :func:`switching_target`.

    ``problem`` is the switching target ``run`` was made on (its ``extras["every"]`` says how long
    a phase lasts; the odd-numbered phases are the shallow ones).
    """
    if "every" not in problem.extras:
        raise ValueError(f"{problem.name} has no phases; shallow_error needs the problem of switching_target()")
    every = problem.extras["every"]
    t = np.arange(len(run.distances))
    late_shallow = ((t // every) % 2 == 1) & (t % every >= every // 2)
    return float(run.distances[late_shallow].mean())
