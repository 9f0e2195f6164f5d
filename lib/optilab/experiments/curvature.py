r"""Lesson 11's experiments (curvature): computations only, every run cached; the figures are in
:mod:`optilab.widgets.curvature`.

* Newton's method on the 2-D problems: where it wins (:func:`newton_runs`) and where it fails — a saddle
  (:func:`saddle_runs`), a maximum (:func:`himmelblau_runs`), far from the minimum (:func:`soft_abs`).
* L-BFGS, Newton and gradient descent on the (L2-regularised) logistic regression of the breast-cancer
  data (:func:`logistic_runs`).
* Sharpness :math:`\lambda_{\max}(H)` during full-batch gradient descent on an MLP (:func:`gd_sharpness`),
  Adam's preconditioned sharpness :math:`\lambda_{\max}(P^{-1}H)` (:func:`adam_sharpness`), and SAM's
  (:func:`sam_sharpness`).
* Sharpness is not invariant to a reparameterisation that leaves the function unchanged
  (:func:`rescaled_sharpness`; Dinh et al. 2017).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import numpy as np

from optilab import curvature, data, kernels, model_rules, models, problems, second_order

__all__ = ["soft_abs", "NEWTON_METHODS", "method_run", "newton_runs", "saddle_runs", "himmelblau_runs",
           "soft_abs_runs", "logistic_setup", "logistic_runs", "iterations_to", "EOS_SIZES", "EOS_STEPS",
           "EOS_EVERY", "GD_LRS", "ADAM_LRS", "BETA1", "eos_setup", "SharpnessRun", "gd_sharpness",
           "adam_sharpness", "adam_threshold", "sam_sharpness", "settled", "rescaled_sharpness", "SAM_RHO",
           "held_out", "logistic_objective", "L2", "HIMMELBLAU_START"]


# -- Newton's method on 2-D problems ---------------------------------------------------------------------

def soft_abs() -> problems.Problem:
    r""":math:`f(x, y) = \sqrt{1 + x^2 + y^2} - 1`: convex, smooth, minimum 0 at the origin, but nearly
    linear far from it, where its curvature :math:`(1 + r^2)^{-3/2}` vanishes. Newton's step from radius
    :math:`r` lands at radius :math:`r^3` on the other side (Boyd & Vandenberghe's example, in 2-D):
    it converges only from :math:`r < 1`."""

    def grid(X: np.ndarray, Y: np.ndarray) -> np.ndarray:
        return np.sqrt(1.0 + X * X + Y * Y) - 1.0

    def loss(p: np.ndarray, t: int) -> float:
        return float(grid(p[0], p[1]))

    def grad(p: np.ndarray, t: int) -> np.ndarray:
        return p / np.sqrt(1.0 + p @ p)

    origin = np.zeros(2)
    return problems.Problem(name="√(1 + x² + y²) − 1", dim=2, x0=np.array([1.2, 0.4]), loss_fn=loss, grad_fn=grad,
                            minimizer=origin, minimizers=(origin,), bounds=((-3.0, 3.0), (-3.0, 3.0)), grid_fn=grid,
                            key=("soft_abs",))


#: The methods compared on the 2-D problems: pure Newton, damped Newton, gradient descent with backtracking.
NEWTON_METHODS = ("Newton", "damped Newton", "gradient descent + line search")


def method_run(problem: problems.Problem, method: str, x0: Any, steps: int) -> second_order.Run:
    """One of :data:`NEWTON_METHODS` on ``problem`` from ``x0`` (uncached: the explorer's runs)."""
    objective = second_order.problem_objective(problem)
    x0 = np.asarray(x0, dtype=float)
    if method not in NEWTON_METHODS:
        raise ValueError(f"unknown method {method!r}: choose one of {NEWTON_METHODS}")
    with np.errstate(over="ignore", invalid="ignore"):
        if method == "gradient descent + line search":
            return second_order.gradient_descent(objective, x0, steps=steps, max_norm=1e3, tol=1e-10)
        return second_order.newton(objective, x0, steps=steps, hessian_fn=lambda x: second_order.hessian(problem, x),
                                   damped=method == "damped Newton", max_norm=1e3, tol=1e-10)


def _runs(problem: problems.Problem, x0: tuple[float, ...], steps: int) -> dict[str, second_order.Run]:
    return {m: method_run(problem, m, np.array(x0), steps) for m in NEWTON_METHODS}


@functools.lru_cache(maxsize=None)
def newton_runs(steps: int = 1000) -> dict[str, second_order.Run]:
    """The three methods on Rosenbrock's valley from its usual start (−1.2, 1)."""
    p = problems.rosenbrock()
    return _runs(p, tuple(p.x0), steps)


@functools.lru_cache(maxsize=None)
def saddle_runs(steps: int = 20) -> dict[str, second_order.Run]:
    """The three methods on the saddle x² − y² from (1, 0.001)."""
    p = problems.saddle()
    return _runs(p, tuple(p.x0), steps)


#: A start on Himmelblau's function near its local maximum, where the Hessian is negative definite.
HIMMELBLAU_START = (-0.6, -0.4)


@functools.lru_cache(maxsize=None)
def himmelblau_runs(steps: int = 30) -> dict[str, second_order.Run]:
    """The three methods on Himmelblau's function from :data:`HIMMELBLAU_START`."""
    return _runs(problems.himmelblau(), HIMMELBLAU_START, steps)


@functools.lru_cache(maxsize=None)
def soft_abs_runs(start: tuple[float, float] = (1.2, 0.4), steps: int = 30) -> dict[str, second_order.Run]:
    """The three methods on :func:`soft_abs` from ``start`` (radius > 1: far from the minimum)."""
    return _runs(soft_abs(), start, steps)


def iterations_to(run: second_order.Run, target: float) -> int | None:
    """The first iteration whose loss is at most ``target`` (None if the run never got there)."""
    hit = np.flatnonzero(run.losses <= target)
    return int(hit[0]) if hit.size else None


# -- L-BFGS on the logistic regression --------------------------------------------------------------------

#: L2 penalty of the logistic regression: the minimum is unique and finite.
L2 = 1e-3


@functools.lru_cache(maxsize=1)
def logistic_setup() -> tuple[models.LogisticRegression, np.ndarray, np.ndarray]:
    """The breast-cancer data (all 569 examples, standardised) and a binary logistic regression."""
    X, y = data.load_breast_cancer()
    X = data.standardize(X)[0]
    return models.LogisticRegression(X.shape[1]), X, y


def logistic_objective(l2: float = L2) -> tuple[second_order.Objective, np.ndarray, Any]:
    r"""``(objective, x0, hessian_fn)`` of :math:`L(w, b) + \tfrac{\lambda}{2}\|w\|^2` on the flat parameters
    (``w`` then ``b``), from zero; ``hessian_fn`` builds :math:`H` column by column from
    :func:`optilab.curvature.hvp`."""
    model, X, y = logistic_setup()
    like = model.init()
    base = second_order.model_objective(model, X, y, like)
    mask = np.r_[np.ones(X.shape[1]), 0.0]  # the bias is not penalised

    def objective(x: np.ndarray) -> tuple[float, np.ndarray]:
        loss, grad = base(x)
        return loss + 0.5 * l2 * float(np.sum((mask * x) ** 2)), grad + l2 * mask * x

    def hessian_fn(x: np.ndarray) -> np.ndarray:
        params = second_order.unflatten(x, like)
        columns = []
        for j in range(len(x)):
            e = np.zeros(len(x))
            e[j] = 1.0
            columns.append(second_order.flatten(curvature.hvp(model, params, X, y, second_order.unflatten(e, like))))
        return np.array(columns).T + l2 * np.diag(mask)

    return objective, second_order.flatten(like), hessian_fn


@functools.lru_cache(maxsize=None)
def logistic_runs(iterations: int = 300) -> dict[str, second_order.Run]:
    """Gradient descent (backtracking), L-BFGS (torch's fixed step, and with backtracking), and Newton
    (damped), on the regularised logistic regression, from zero."""
    objective, x0, hessian_fn = logistic_objective()
    return {
        "gradient descent + line search": second_order.gradient_descent(objective, x0, steps=iterations),
        "L-BFGS (fixed step, as torch)": second_order.lbfgs(objective, x0, iterations=iterations, tolerance_grad=0,
                                                            tolerance_change=0),
        "L-BFGS + line search": second_order.lbfgs(objective, x0, iterations=iterations, line_search="armijo",
                                                   tolerance_grad=0, tolerance_change=0),
        "Newton (damped)": second_order.newton(objective, x0, steps=min(iterations, 30), hessian_fn=hessian_fn,
                                               damped=True, tol=1e-13),
    }


# -- sharpness during training ----------------------------------------------------------------------------

#: The MLP of the sharpness experiments (three tanh layers of 16), its steps, and how often sharpness is measured.
EOS_SIZES, EOS_STEPS, EOS_EVERY = (2, 16, 16, 16, 2), 1000, 20
#: Full-batch GD's step sizes, Adam's, and Adam's β₁.
GD_LRS, ADAM_LRS, BETA1 = (0.1, 0.15, 0.2), (0.02, 0.04), 0.9
#: SAM's radius (Foret et al. 2021's default is 0.05).
SAM_RHO = 0.05


@functools.lru_cache(maxsize=1)
def eos_setup() -> tuple[models.MLP, np.ndarray, np.ndarray]:
    """100 two-moons points, one-hot targets, and a tanh MLP trained on half the squared error (Cohen et al.
    2021 use the squared error too: sharpening is clearest with it)."""
    X, y = data.two_moons(n=100, noise=0.1, seed=0)
    return models.MLP(EOS_SIZES, activation="tanh", task="regression"), X, np.eye(2)[y]


@dataclass(frozen=True)
class SharpnessRun:
    """A training run with its (preconditioned) sharpness measured every :data:`EOS_EVERY` steps.

    ``losses[t]`` is the training loss at step ``t``; ``sharpness[i]`` is measured at step ``at[i]``;
    ``threshold`` is the stability threshold (:math:`2/\\eta` for GD, :func:`adam_threshold` for Adam).
    """

    rule: str
    lr: float
    losses: np.ndarray
    at: np.ndarray
    sharpness: np.ndarray
    threshold: float
    params: dict


def _train(rule: str, lr: float, steps: int, every: int, seed: int, rho: float = 0.0) -> SharpnessRun:
    model, X, Y = eos_setup()
    params = model.init(seed)
    rng = np.random.default_rng([seed, 11])
    v = {k: rng.standard_normal(a.shape) for k, a in params.items()}
    state: dict[str, dict] = {k: {} for k in params}
    losses, at, values = [], [], []
    threshold = 2.0 / lr if rule != "adam" else adam_threshold(lr)

    def grad_fn(p: dict) -> dict:
        return model.loss_and_grads(p, X, Y)[1]

    for t in range(steps + 1):
        loss, grads = model.loss_and_grads(params, X, Y)
        losses.append(loss)
        if t % every == 0 and t > 0 or t == 0 and rule != "adam":
            scale = None
            if rule == "adam":  # P = (1 − β₁ᵗ)(√v̂ + ε): Cohen et al. 2022, eq. (2)
                scale = {k: 1.0 / np.sqrt((1 - BETA1 ** s["t"]) * (np.sqrt(s["v"] / (1 - 0.999 ** s["t"])) + 1e-8))
                         for k, s in state.items()}
            value, v = curvature.power_iteration(model, params, X, Y, v, iterations=20 if not at else 8, scale=scale)
            at.append(t), values.append(value)
        if t == steps or not np.isfinite(loss):
            break
        if rule == "sgd":
            params = {k: params[k] - lr * grads[k] for k in params}
        elif rule == "sam":
            params = model_rules.sam(params, grads, {}, grad_fn=grad_fn, lr=lr, rho=rho)[0]
        else:
            for k in params:
                params[k], state[k] = kernels.adam(params[k], grads[k], state[k], lr=lr, beta1=BETA1)
    return SharpnessRun(rule, lr, np.array(losses), np.array(at), np.array(values), threshold, params)


@functools.lru_cache(maxsize=None)
def gd_sharpness(lr: float, steps: int = EOS_STEPS, every: int = EOS_EVERY, seed: int = 0) -> SharpnessRun:
    r"""Full-batch gradient descent at step ``lr`` on :func:`eos_setup`'s MLP; :math:`\lambda_{\max}(H)`
    every ``every`` steps (power iteration on :func:`optilab.curvature.hvp`, warm-started)."""
    return _train("sgd", float(lr), steps, every, seed)


def adam_threshold(lr: float, beta1: float = BETA1) -> float:
    r"""Adam's stability threshold :math:`(2 + 2\beta_1) / ((1 - \beta_1)\eta)` (38/η at β₁ = 0.9): the largest
    preconditioned curvature that momentum with preconditioner :math:`P` keeps stable (Cohen et al. 2022)."""
    return (2.0 + 2.0 * beta1) / ((1.0 - beta1) * lr)


@functools.lru_cache(maxsize=None)
def adam_sharpness(lr: float, steps: int = EOS_STEPS, every: int = EOS_EVERY, seed: int = 0) -> SharpnessRun:
    r"""Full-batch Adam at ``lr``; the preconditioned sharpness :math:`\lambda_{\max}(P^{-1}H)`, with
    :math:`P = (1 - \beta_1^t)\,\mathrm{diag}(\sqrt{\hat v_t} + \epsilon)` the step's own preconditioner."""
    return _train("adam", float(lr), steps, every, seed)


@functools.lru_cache(maxsize=None)
def sam_sharpness(lr: float, rho: float = SAM_RHO, steps: int = EOS_STEPS, every: int = EOS_EVERY,
                  seed: int = 0) -> SharpnessRun:
    """Full-batch SAM (:func:`optilab.model_rules.sam`, two gradients per step) at ``lr`` and radius ``rho``."""
    return _train("sam", float(lr), steps, every, seed, rho=float(rho))


def settled(run: SharpnessRun) -> np.ndarray:
    """The sharpness measured after it first reached 90 % of the threshold (empty if it never did)."""
    reached = np.flatnonzero(run.sharpness >= 0.9 * run.threshold)
    return run.sharpness[reached[0]:] if reached.size else np.array([])


def held_out(run: SharpnessRun, n: int = 1000, seed: int = 1) -> tuple[float, float]:
    """(squared-error loss, accuracy) of a run's final parameters on ``n`` fresh two-moons points."""
    model, _, _ = eos_setup()
    X, y = data.two_moons(n=n, noise=0.1, seed=seed)
    loss = model.loss(run.params, X, np.eye(2)[y])
    accuracy = float(np.mean(np.argmax(model.output(run.params, X), axis=1) == y))
    return float(loss), accuracy


# -- sharpness is not reparameterisation-invariant --------------------------------------------------------

@functools.lru_cache(maxsize=None)
def rescaled_sharpness(alphas: tuple[float, ...] = (1.0, 10.0, 0.1), steps: int = 300) -> dict[float, tuple[float, float]]:
    r"""A ReLU MLP (2, 16, 2) trained by GD on :func:`eos_setup`'s data, then rescaled: :math:`W_1, b_1`
    times :math:`\alpha`, :math:`W_2` divided by :math:`\alpha`. :math:`\mathrm{relu}(\alpha a) =
    \alpha\,\mathrm{relu}(a)` for :math:`\alpha > 0`, so the network computes exactly the same function;
    for each :math:`\alpha`, (training loss, sharpness)."""
    _, X, Y = eos_setup()
    model = models.MLP((2, 16, 2), activation="relu", task="regression")
    params = model.init(0)
    for _ in range(steps):
        grads = model.loss_and_grads(params, X, Y)[1]
        params = {k: params[k] - 0.1 * grads[k] for k in params}
    out = {}
    for alpha in alphas:
        scaled = {"W1": alpha * params["W1"], "b1": alpha * params["b1"], "W2": params["W2"] / alpha,
                  "b2": params["b2"]}
        out[float(alpha)] = (float(model.loss(scaled, X, Y)),
                             float(curvature.sharpness(model, scaled, X, Y, iterations=500, tol=1e-10)))
    return out
