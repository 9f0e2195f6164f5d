r"""Lessons 04 and 05's experiments: per-parameter step sizes on rescaled and moving objectives.

* :func:`rescaled_regression` — least squares with one feature's data rescaled (lesson 04).
* :func:`rescaling_runs` — gradient descent at its best step and AdaGrad with one :math:`\alpha` on it.
* :func:`feature_conditioning` — condition numbers of a dataset raw, divided by σ (AdaGrad-like)
  and by σ² (standardised); :func:`rotated_ravine` — where any per-axis scaling loses.
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
    "SCALES",
    "TRUE_WEIGHTS",
    "rescaled_regression",
    "rescaling_runs",
    "in_original_units",
    "adagrad_as_per_weight_lr",
    "preconditioned_condition_number",
    "feature_conditioning",
    "RAVINE_ANGLES",
    "RAVINE_LRS",
    "rotated_ravine",
    "moving_target",
    "switching_target",
    "Tracking",
    "track",
    "shallow_error",
    "RHOS",
]

#: The decay rates lesson 05 compares (and its explorer offers).
RHOS: tuple[float, ...] = (0.5, 0.9, 0.99, 0.999, 0.9999)


#: The feature scales lesson 04's explorer offers.
SCALES: tuple[float, ...] = (0.1, 0.3, 1.0, 3.0, 10.0, 30.0)

#: The weights, per unit of the original features, that the regression of :func:`rescaled_regression` fits.
TRUE_WEIGHTS: tuple[float, float] = (2.0, 1.0)


def rescaled_regression(scale: float, n: int = 200, seed: int = 0) -> problems.Problem:
    r"""Least squares on two features, the second one measured in units ``scale`` :math:`= c` times smaller.

    The two original features :math:`z_1, z_2` are centred, have spread 1 and are exactly
    uncorrelated; the targets are :math:`y = 2 z_1 + z_2 + 	ext{noise}`. The data seen by the
    model has :math:`x_2 = c\, z_2`: the *data* is rescaled, the model is the same. With
    :math:`f(w) = 	frac{1}{2n}\lVert Xw - y
Vert^2` the Hessian is :math:`\operatorname{diag}(1, c^2)`
    (``problem.hessian``), the gradient along :math:`w_2` is :math:`c` times the original one, and
    the minimiser is :math:`(w_1^*, w_2^*/c)`: the same predictions, in the new unit. The start is
    :math:`w = 0` for every :math:`c`. ``problem.extras`` holds ``scale`` and ``X``, ``y``.
    """
    scale = float(scale)
    if not scale > 0:
        raise ValueError(f"scale must be a positive number, got {scale}")
    rng = np.random.default_rng(seed)
    Z = rng.standard_normal((int(n), 2))
    Z -= Z.mean(axis=0)
    Z = Z @ np.linalg.inv(np.linalg.cholesky(Z.T @ Z / len(Z))).T  # spread 1, correlation exactly 0
    y = Z @ np.array(TRUE_WEIGHTS) + 0.3 * rng.standard_normal(len(Z))
    X = Z * np.array([1.0, scale])
    H = X.T @ X / len(X)
    b = X.T @ y / len(X)
    w_star = np.linalg.solve(H, b)
    offset = 0.5 * float(y @ y) / len(X)

    def loss(w: np.ndarray, t: int) -> float:
        return 0.5 * float(w @ H @ w) - float(b @ w) + offset

    def grad(w: np.ndarray, t: int) -> np.ndarray:
        return H @ w - b

    def grid(W1: np.ndarray, W2: np.ndarray) -> np.ndarray:
        return 0.5 * (H[0, 0] * W1 * W1 + 2 * H[0, 1] * W1 * W2 + H[1, 1] * W2 * W2) - b[0] * W1 - b[1] * W2 + offset

    lo, hi = -1.0, 3.5
    return problems.Problem(
        name=f"least squares, feature 2 rescaled by c = {scale:g}", dim=2, x0=np.zeros(2), loss_fn=loss,
        grad_fn=grad, minimizer=w_star, minimizers=(w_star,), bounds=((lo, hi), (lo / scale, hi / scale)),
        grid_fn=grid, hessian=H, eigenvalues=np.linalg.eigvalsh(H), key=("rescaled_regression", scale, int(n), seed),
        extras={"scale": scale, "X": X, "y": y},
    )


def rescaling_runs(scale: float, *, adagrad_lr: float = 0.5, steps: int = 100) -> dict[str, training.Trace]:
    r"""Gradient descent at its best step and AdaGrad with one :math:`\alpha` on :func:`rescaled_regression`.

    Gradient descent gets :math:`2/(\lambda_{\min}+\lambda_{\max})` (:func:`optilab.theory.gd_best_lr`)
    for each scale, the fastest one step size allows; AdaGrad the same :math:`\alpha` = ``adagrad_lr``
    whatever the scale.

    Returns
    -------
    dict
        ``{"sgd": Trace, "adagrad": Trace}``.
    """
    problem = rescaled_regression(scale)
    return {"sgd": training.run("sgd", problem, steps=int(steps), lr=theory.gd_best_lr(problem.eigenvalues)),
            "adagrad": training.run("adagrad", problem, steps=int(steps), lr=float(adagrad_lr))}


def adagrad_as_per_weight_lr(scale: float, *, lr: float = 0.5, steps: int = 100) -> float:
    r"""How far AdaGrad on the rescaled data is from AdaGrad on the original data with :math:`\alpha c` on weight 2.

    Runs :func:`optilab.kernels.adagrad` on :func:`rescaled_regression` (``scale``) with
    :math:`\alpha` = ``lr``, and on the original data (``scale`` = 1) with the per-weight step
    :math:`(\alpha, \alpha c)`; returns the largest distance between the two paths in weights per
    original unit (:func:`in_original_units`): zero up to rounding when rescaling a feature by
    :math:`c` is, for AdaGrad, the same as multiplying that weight's :math:`\alpha` by :math:`c`.
    """
    scaled, original = rescaled_regression(scale), rescaled_regression(1.0)
    per_weight = lr * np.array([1.0, float(scale)])
    p, q, s_p, s_q, gap = np.zeros(2), np.zeros(2), {}, {}, 0.0
    for _ in range(int(steps)):
        p, s_p = RULES["adagrad"](p, scaled.grad(p), s_p, lr=lr, eps=0.0)
        q, s_q = RULES["adagrad"](q, original.grad(q), s_q, lr=per_weight, eps=0.0)
        gap = max(gap, float(np.max(np.abs(in_original_units(p, scale) - q))))
    return gap


def in_original_units(params: np.ndarray, scale: float) -> np.ndarray:
    r"""Weights :math:`(w_1, w_2)` of the rescaled data as weights per original unit, :math:`(w_1, c\,w_2)`.

    A model with these weights on the original features makes the same predictions, so paths at
    every scale can be drawn on one picture.
    """
    return np.asarray(params, dtype=float) * np.array([1.0, float(scale)])


def preconditioned_condition_number(hessian: np.ndarray, scales: np.ndarray) -> float:
    r"""The condition number after dividing each coordinate's step by ``scales``: :math:`\kappa(D^{-1/2} H D^{-1/2})`.

    A diagonal preconditioner :math:`D` (the step is :math:`-\alpha D^{-1} g`) turns gradient
    descent on :math:`H` into gradient descent on :math:`D^{-1/2} H D^{-1/2}`; its condition number
    says how fast it can go. ``scales`` = 1 gives :math:`\kappa(H)`.
    """
    d = 1.0 / np.sqrt(np.asarray(scales, dtype=float))
    eigenvalues = np.linalg.eigvalsh(hessian * np.outer(d, d))
    return float(eigenvalues.max() / eigenvalues.min())


def feature_conditioning(X: np.ndarray) -> dict[str, float]:
    r"""Condition numbers of the Gram matrix :math:`H = X_c^\top X_c / n` of centred features, three ways.

    * ``"raw"``: :math:`\kappa(H)`, what gradient descent faces on the unscaled features;
    * ``"divided by σ"``: each coordinate divided by its feature's spread :math:`\sigma_j` —
      AdaGrad's preconditioner when every gradient coordinate is proportional to :math:`\sigma_j`;
    * ``"divided by σ²"``: each coordinate divided by :math:`\sigma_j^2 = H_{jj}` — the same as
      standardising the features (it gives the correlation matrix), the best a per-axis scale does
      for a ravine that runs along the axes.

    (The Hessian of the logistic loss is :math:`X^\top W X / n` with weights :math:`W \le 1/4`; at
    the start :math:`W = 1/4` and it has the Gram matrix's condition number.)
    """
    Xc = np.asarray(X, dtype=float) - np.mean(X, axis=0)
    H = Xc.T @ Xc / len(Xc)
    sigma = np.sqrt(np.diag(H))
    return {"raw": preconditioned_condition_number(H, np.ones(len(H))),
            "divided by σ": preconditioned_condition_number(H, sigma),
            "divided by σ²": preconditioned_condition_number(H, sigma**2)}


#: The angles (degrees) of lesson 04's rotated ravine, and AdaGrad's learning rates tried on each.
RAVINE_ANGLES: tuple[float, ...] = (0.0, 15.0, 30.0, 45.0)
RAVINE_LRS: tuple[float, ...] = (1.0, 3.0, 10.0)


def rotated_ravine(angle: float, kappa: float = 100.0, *, steps: int = 2000, tol: float = 1e-6,
                   lrs: tuple[float, ...] = RAVINE_LRS) -> dict[str, Any]:
    r"""A ravine with curvatures :math:`(1, \kappa)` tilted by ``angle`` degrees: what a diagonal preconditioner can do.

    Returns the condition number after the best per-axis scaling (dividing by :math:`H_{jj}`,
    :func:`preconditioned_condition_number`), and the steps to bring the loss below ``tol`` for
    gradient descent at its best step and for AdaGrad at the best :math:`\alpha` of ``lrs``
    (None: not within ``steps``).

    Returns
    -------
    dict
        ``{"angle", "kappa", "kappa_diagonal", "gd_steps", "adagrad_steps", "adagrad_lr"}``.
    """
    problem = problems.quadratic((1.0, float(kappa)), angle=np.radians(angle))
    gd = training.run("sgd", problem, steps=steps, lr=theory.gd_best_lr(problem.eigenvalues))
    adagrad = {lr: training.steps_to_tolerance(training.run("adagrad", problem, steps=steps, lr=lr), tol) for lr in lrs}
    reached = {lr: n for lr, n in adagrad.items() if n is not None}
    best = min(reached, key=reached.get) if reached else None
    return {"angle": float(angle), "kappa": float(kappa),
            "kappa_diagonal": preconditioned_condition_number(problem.hessian, np.diag(problem.hessian)),
            "gd_steps": training.steps_to_tolerance(gd, tol),
            "adagrad_steps": None if best is None else reached[best], "adagrad_lr": best}


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
