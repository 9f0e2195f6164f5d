r"""Lesson 03's experiments: the ravine, and where heavy-ball momentum converges.

* :func:`ravine` — the lesson's ill-conditioned, tilted quadratic.
* :func:`ravine_runs` — gradient descent, heavy ball and Nesterov on it with one :math:`\alpha` and :math:`\mu`
  (:func:`ravine_settings`: which rule takes which).
* :func:`measured_rates` — run the momentum rule itself on :math:`f = \tfrac12\lambda p^2` over a
  grid of :math:`(\alpha\lambda, \mu)` and measure its rate, to set beside the stability region
  :math:`0 < \alpha\lambda < 2 + 2\mu` (:func:`optilab.theory.momentum_rate`).
* :func:`eigen_split`, :func:`transient` — a run's loss gap split by eigendirection, and what one
  direction does (its first factor, its roots, its peak).
* :func:`nesterov_chain`, :func:`reach_bound`, :func:`lower_bound_runs` — Nesterov's worst function
  for first-order methods, the distance no gradient method beats on it, and GD and the tuned heavy ball there.
* :func:`noise_floor` — heavy ball's stationary loss under gradient noise, measured.
"""

from __future__ import annotations

import numpy as np

from optilab import problems, theory, training
from optilab.kernels import RULES

__all__ = ["KAPPA", "RULES_COMPARED", "ravine", "ravine_settings", "ravine_runs", "measured_rates", "eigen_split",
           "transient", "nesterov_chain", "reach_bound", "lower_bound_runs", "noise_floor"]

#: The condition number of the lesson's ravine.
KAPPA = 50.0
#: The rules lesson 03 compares on the ravine: display name -> rule.
RULES_COMPARED: dict[str, str] = {"gradient descent": "sgd", "heavy ball": "momentum", "Nesterov": "nesterov"}


def ravine(kappa: float = KAPPA) -> problems.Problem:
    r"""The lesson's ravine: :func:`optilab.problems.quadratic` with :math:`\lambda = (1, \kappa)`, tilted by 30°."""
    return problems.quadratic((1.0, float(kappa)), angle=np.pi / 6)


def ravine_settings(lr: float, momentum: float) -> dict[str, dict[str, float]]:
    r"""The hyperparameters :func:`ravine_runs` gives each rule: ``{display name: {"lr": ..., ...}}``.

    All use the step :math:`\alpha` = ``lr``; heavy ball and Nesterov the momentum :math:`\mu` =
    ``momentum`` (gradient descent has none, so its run does not change with :math:`\mu`).
    """
    return {label: {"lr": float(lr), **({} if rule == "sgd" else {"momentum": float(momentum)})}
            for label, rule in RULES_COMPARED.items()}


def ravine_runs(lr: float, momentum: float, *, steps: int = 100, problem: problems.Problem | None = None,
                labels: tuple[str, ...] | None = None) -> dict[str, training.Trace]:
    r"""Each rule of :data:`RULES_COMPARED` for ``steps`` steps on ``problem`` (default :func:`ravine`), from its start.

    Each with its hyperparameters of :func:`ravine_settings`. Returns ``{display name: Trace}``, for the
    display names ``labels`` only if given (an explorer whose :math:`\mu` moved need not run gradient
    descent again).
    """
    problem = ravine() if problem is None else problem
    unknown = sorted(set(labels or ()) - set(RULES_COMPARED))
    if unknown:
        raise ValueError(f"ravine_runs: no rule is shown as {unknown}; the labels are {list(RULES_COMPARED)}")
    return {label: training.run(RULES_COMPARED[label], problem, steps=int(steps), **settings)
            for label, settings in ravine_settings(lr, momentum).items() if labels is None or label in labels}


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


# -- the error, one eigendirection at a time ---------------------------------------------------------
def eigen_split(trace: training.Trace, problem: problems.Problem) -> np.ndarray:
    r"""The loss gap of a run split by eigendirection: :math:`\tfrac12\lambda_i c_i(t)^2` for each :math:`i`.

    On a quadratic :math:`f(p) - f^* = \tfrac12 (p - p^*)^\top A (p - p^*) = \sum_i \tfrac12\lambda_i c_i^2`,
    where :math:`c_i` is the coordinate of :math:`p - p^*` along the :math:`i`-th eigenvector of
    :math:`A` (eigenvalues ascending). Returns an array of shape ``(steps + 1, dim)`` whose rows sum to the
    run's loss gap.
    """
    if problem.hessian is None or problem.minimizer is None:
        raise ValueError(f"eigen_split needs a quadratic with a minimizer (problems.quadratic); got {problem.name}")
    lam, vectors = np.linalg.eigh(np.asarray(problem.hessian, dtype=float))
    coords = (np.asarray(trace.params, dtype=float) - problem.minimizer) @ vectors
    return 0.5 * lam * coords**2


def transient(lr: float, momentum: float, lam: float, steps: int = 60) -> dict[str, object]:
    r"""What heavy-ball momentum does to one eigendirection with eigenvalue :math:`\lambda`, from :math:`c_0 = 1`.

    Returns a dict with

    * ``"first_factor"``: :math:`c_1/c_0 = 1 - \alpha\lambda` (the first step is a gradient step, :math:`v_1 = g_0`);
    * ``"roots"``: the two roots of :math:`z^2 - (1+\mu-\alpha\lambda) z + \mu` (complex when the
      direction oscillates; their modulus is :math:`\sqrt\mu` then, since their product is :math:`\mu`);
    * ``"coords"``: :math:`c_t` for :math:`t = 0 \dots` ``steps``, from the rule itself (``RULES["momentum"]``);
    * ``"peak_step"``, ``"peak"``: where :math:`|c_t|` is largest and that :math:`|c_t|`.
    """
    alpha, mu, lam = float(lr), float(momentum), float(lam)
    rule, p, state, coords = RULES["momentum"], np.array([1.0]), {}, [1.0]
    for _ in range(int(steps)):
        p, state = rule(p, lam * p, state, lr=alpha, momentum=mu)  # g = λ c along this direction
        coords.append(float(p[0]))
    coords = np.array(coords)
    peak = int(np.argmax(np.abs(coords)))
    return {"first_factor": 1.0 - alpha * lam, "roots": np.roots([1.0, -(1.0 + mu - alpha * lam), mu]),
            "coords": coords, "peak_step": peak, "peak": float(abs(coords[peak]))}


# -- the lower bound: no first-order method beats (√κ − 1)/(√κ + 1) ----------------------------------
def nesterov_chain(kappa: float, dim: int = 300) -> problems.Problem:
    r"""Nesterov's worst function for first-order methods (Nesterov 2004, *Introductory Lectures*, §2.1.4).

    .. math::  f(x) = \frac{L-m}{8}\Big(x_1^2 + \sum_{i=1}^{d-1}(x_i - x_{i+1})^2 - 2x_1\Big) + \frac m2\lVert x\rVert^2,
               \qquad m = 1,\ L = \kappa,

    started at :math:`x_0 = 0`. Its Hessian is tridiagonal, so the gradient at a point whose coordinates
    after :math:`k` are zero has coordinates after :math:`k+1` zero: any method that steps along
    gradients (gradient descent, heavy ball, Nesterov, Adam without its division...) has
    :math:`x_t \in \operatorname{span}(e_1,\dots,e_t)` after :math:`t` steps. The minimizer's coordinates
    fall like :math:`q^i`, :math:`q = (\sqrt\kappa-1)/(\sqrt\kappa+1)` (exactly so as :math:`d \to \infty`),
    so :math:`\lVert x_t - x^*\rVert \ge \lVert (x^*_{t+1}, x^*_{t+2}, \dots)\rVert` (:func:`reach_bound`).
    Its eigenvalues lie inside :math:`[m, L]`.
    """
    kappa, d = float(kappa), int(dim)
    if not kappa > 1 or d < 2:
        raise ValueError(f"need kappa > 1 and dim >= 2, got kappa={kappa}, dim={d}")
    c = (kappa - 1.0) / 4.0  # (L − m)/8 times 2: the Hessian of the bracket is 2 × (tridiagonal 2, −1; last 1)
    T = 2.0 * np.eye(d) - np.eye(d, k=1) - np.eye(d, k=-1)
    T[-1, -1] = 1.0
    A = c * T + np.eye(d)
    b = np.zeros(d)
    b[0] = c  # the linear term −(L − m)/4 · x₁
    x_star = np.linalg.solve(A, b)
    lam = np.linalg.eigvalsh(A)

    def loss(x: np.ndarray, t: int) -> float:
        e = x - x_star
        return float(0.5 * e @ A @ e)

    def grad(x: np.ndarray, t: int) -> np.ndarray:
        return A @ x - b

    return problems.Problem(name=f"Nesterov's chain (κ = {kappa:g}, d = {d})", dim=d, x0=np.zeros(d),
                            loss_fn=loss, grad_fn=grad, minimizer=x_star, hessian=A, eigenvalues=lam,
                            key=("nesterov-chain", kappa, d))


def reach_bound(problem: problems.Problem, steps: int) -> np.ndarray:
    r"""The distance no gradient method can beat on :func:`nesterov_chain`: :math:`\lVert (x^*_{t+1}, \dots, x^*_d)\rVert` for :math:`t = 0 \dots` ``steps``."""
    x_star = np.asarray(problem.minimizer, dtype=float)
    tails = np.sqrt(np.cumsum((x_star**2)[::-1])[::-1])  # tails[k] = ‖x*[k:]‖
    t = np.arange(int(steps) + 1)
    return np.where(t < len(tails), tails[np.minimum(t, len(tails) - 1)], 0.0)


def lower_bound_runs(kappa: float = 100.0, steps: int = 150, dim: int = 300) -> dict[str, object]:
    r"""Gradient descent and the tuned heavy ball on :func:`nesterov_chain`, beside the bound.

    Both use the chain's own extreme eigenvalues (:func:`optilab.theory.gd_best_lr`,
    :func:`optilab.theory.momentum_best`). Returns ``{"problem", "bound", "distances": {name: array},
    "rates": {name: measured rate}, "optimal_rate"}``: the rates are read off each run over
    its second half (:func:`optilab.experiments.gradient_descent.measured_rate`), and
    ``optimal_rate`` is :math:`(\sqrt\kappa-1)/(\sqrt\kappa+1)` for the chain's own :math:`\kappa`.
    """
    from optilab.experiments.gradient_descent import measured_rate

    chain = nesterov_chain(kappa, dim)
    lam = chain.eigenvalues
    lr_hb, mu_hb = theory.momentum_best(lam)
    runs = {"gradient descent": training.run("sgd", chain, steps=int(steps), lr=theory.gd_best_lr(lam)),
            "heavy ball": training.run("momentum", chain, steps=int(steps), lr=lr_hb, momentum=mu_hb)}
    distances = {name: np.linalg.norm(tr.params - chain.minimizer, axis=1) for name, tr in runs.items()}
    root = np.sqrt(theory.condition_number(lam))
    return {"problem": chain, "bound": reach_bound(chain, steps), "distances": distances,
            "rates": {name: measured_rate(tr, chain.minimizer) for name, tr in runs.items()},
            "optimal_rate": float((root - 1.0) / (root + 1.0))}


# -- momentum with noisy gradients ------------------------------------------------------------------
def noise_floor(lr: np.ndarray, momentum: np.ndarray, noise: np.ndarray, *, lam: float = 1.0,
                steps: int = 1500, burn_in: int = 500, chains: int = 2000, seed: int = 0) -> np.ndarray:
    r"""The measured stationary loss gap :math:`\mathbb E[f] - f^*` of heavy ball on :math:`f = \tfrac12\lambda p^2` with noisy gradients.

    Every step sees :math:`g = \lambda p + \sigma\xi`, :math:`\xi \sim \mathcal N(0, 1)` (a minibatch of
    :math:`B` examples has :math:`\sigma^2 \propto 1/B`, lesson 02). ``lr``, ``momentum`` and ``noise``
    (:math:`\sigma`) broadcast against each other; for every setting ``chains`` independent runs
    start at the minimum, take ``steps`` steps of ``RULES["momentum"]`` (all settings and chains at
    once), and the mean of :math:`\tfrac12\lambda p^2` over the chains and the steps after ``burn_in``
    is returned. Its closed form is :func:`optilab.theory.momentum_noise_floor`.
    """
    a, m, s = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (lr, momentum, noise)))
    if np.any(a <= 0) or np.any((m < 0) | (m >= 1)) or np.any(s < 0):
        raise ValueError("need lr > 0, momentum in [0, 1) and noise >= 0")
    if not 0 <= burn_in < steps:
        raise ValueError(f"need 0 <= burn_in < steps, got burn_in={burn_in}, steps={steps}")
    shape = a.shape + (int(chains),)
    a, m, s = (v[..., None] for v in (a, m, s))
    rng = np.random.default_rng(seed)
    rule, p, state, total = RULES["momentum"], np.zeros(shape), {}, np.zeros(shape)
    for t in range(int(steps)):
        g = lam * p + s * rng.standard_normal(shape)
        p, state = rule(p, g, state, lr=a, momentum=m)
        if t >= burn_in:
            total += 0.5 * lam * p**2
    return (total / (steps - burn_in)).mean(axis=-1)
