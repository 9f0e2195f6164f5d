r"""Second-order and quasi-Newton methods: Newton's step, a backtracking line search, L-BFGS.

All of them work on a flat parameter vector :math:`x \in \mathbb R^d` and a function that gives the
loss and its gradient, so they serve both the 2-D problems of :mod:`optilab.problems`
(:func:`problem_objective`) and the models of :mod:`optilab.models` (:func:`model_objective`).

* :func:`newton_direction` — :math:`d = -(H + \lambda I)^{-1} g`, Newton's step (:math:`\lambda = 0`) or a
  damped/shifted one.
* :func:`hessian` — a problem's Hessian: exact for a quadratic, else central differences of the exact gradient.
* :func:`backtracking` — Armijo's sufficient-decrease line search.
* :func:`newton` — Newton's method, pure or *damped* (a line search on the Newton direction, and the
  Hessian shifted to be positive definite where it is not).
* :func:`gradient_descent` — with a fixed step or with :func:`backtracking`, to compare with.
* :func:`lbfgs` — limited-memory BFGS, the algorithm of ``torch.optim.LBFGS`` (the two-loop recursion,
  the same first step and update rule), with its fixed step or with Armijo backtracking.

>>> from optilab import problems
>>> p = problems.quadratic((1.0, 10.0))
>>> run = newton(problem_objective(p), p.x0, steps=1, hessian_fn=lambda x: hessian(p, x))
>>> bool(np.allclose(run.params[-1], p.minimizer))   # one Newton step solves a quadratic
True
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

__all__ = ["Run", "newton_direction", "hessian", "backtracking", "newton", "gradient_descent", "lbfgs",
           "problem_objective", "model_objective", "flatten", "unflatten"]

Objective = Callable[[np.ndarray], tuple[float, np.ndarray]]


@dataclass
class Run:
    """One run of a method of this module, one row per iterate (row 0 is the start).

    Attributes
    ----------
    params : ndarray of shape (iterations + 1, d)
    losses : ndarray of shape (iterations + 1,)
    grad_norms : ndarray of shape (iterations + 1,)
    steps : ndarray of shape (iterations,)
        The step length :math:`t` each iteration took along its direction.
    evaluations : int
        Calls of the objective (loss and gradient), line searches included.
    notes : list of str
        What happened on the way (a Hessian shifted, an ascent direction, a line search that gave up).
    """

    params: np.ndarray
    losses: np.ndarray
    grad_norms: np.ndarray
    steps: np.ndarray
    evaluations: int
    notes: list[str] = field(default_factory=list)

    @property
    def final(self) -> np.ndarray:
        """The last iterate."""
        return self.params[-1]


def _record(xs: list, losses: list, grads: list, steps: list, evaluations: int, notes: list) -> Run:
    return Run(np.array(xs), np.array(losses), np.array([float(np.linalg.norm(g)) for g in grads]),
               np.array(steps, dtype=float), evaluations, notes)


def problem_objective(problem: Any) -> Objective:
    """``x -> (f(x), ∇f(x))`` for a problem of :mod:`optilab.problems`."""
    return lambda x: (problem.loss(x), problem.grad(x))


def flatten(params: dict[str, np.ndarray]) -> np.ndarray:
    """A model's parameters as one vector, in the dict's order."""
    return np.concatenate([np.ravel(a) for a in params.values()]).astype(float)


def unflatten(x: np.ndarray, like: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The inverse of :func:`flatten`: ``x`` cut into arrays shaped like ``like``'s."""
    out, start = {}, 0
    for name, a in like.items():
        size = int(np.size(a))
        out[name] = np.asarray(x[start:start + size], dtype=float).reshape(np.shape(a))
        start += size
    if start != len(x):
        raise ValueError(f"x has {len(x)} entries but the parameters have {start}")
    return out


def model_objective(model: Any, X: np.ndarray, y: np.ndarray, like: dict[str, np.ndarray]) -> Objective:
    """``x -> (L(x), ∇L(x))``: a model's mean loss on ``(X, y)`` as a function of its flat parameters."""

    def objective(x: np.ndarray) -> tuple[float, np.ndarray]:
        loss, grads = model.loss_and_grads(unflatten(x, like), X, y)
        return float(loss), flatten({name: grads[name] for name in like})

    return objective


def hessian(problem: Any, x: np.ndarray, h: float = 1e-5) -> np.ndarray:
    r"""The Hessian :math:`\nabla^2 f(x)` of a problem of :mod:`optilab.problems`.

    A quadratic's own (constant) Hessian; otherwise central differences of the exact gradient,
    :math:`H_{:,j} \approx (\nabla f(x + h e_j) - \nabla f(x - h e_j)) / 2h` (error :math:`O(h^2)`),
    symmetrised.
    """
    x = np.asarray(x, dtype=float)
    if getattr(problem, "hessian", None) is not None:
        return np.array(problem.hessian, dtype=float)
    d = len(x)
    H = np.empty((d, d))
    for j in range(d):
        e = np.zeros(d)
        e[j] = h
        H[:, j] = (problem.grad(x + e) - problem.grad(x - e)) / (2.0 * h)
    return 0.5 * (H + H.T)


def newton_direction(grad: np.ndarray, hess: np.ndarray, damping: float = 0.0) -> np.ndarray:
    r"""The Newton direction :math:`d = -(H + \lambda I)^{-1} g`.

    With :math:`\lambda = 0` it is the minimizer of the quadratic model
    :math:`f(x) + g^\top d + \tfrac12 d^\top H d` when :math:`H` is positive definite, and a step
    towards the model's *stationary point* otherwise (a saddle or a maximum). :math:`\lambda > 0`
    (Levenberg's damping) shortens it and turns it towards :math:`-g`.

    Parameters
    ----------
    grad : ndarray of shape (d,)
    hess : ndarray of shape (d, d)
    damping : float
        :math:`\lambda \ge 0`.
    """
    grad, hess = np.asarray(grad, dtype=float), np.asarray(hess, dtype=float)
    if hess.shape != (len(grad), len(grad)):
        raise ValueError(f"the Hessian has shape {hess.shape} but the gradient has {len(grad)} entries; "
                         f"pass a ({len(grad)}, {len(grad)}) matrix")
    if damping < 0:
        raise ValueError(f"damping must be >= 0; got {damping}")
    return -np.linalg.solve(hess + damping * np.eye(len(grad)), grad)


def backtracking(objective: Objective, x: np.ndarray, loss: float, grad: np.ndarray, direction: np.ndarray, *,
                 t0: float = 1.0, c: float = 1e-4, shrink: float = 0.5,
                 max_halvings: int = 60) -> tuple[float, float, np.ndarray, int]:
    r"""Armijo's backtracking line search: the first :math:`t = t_0, \beta t_0, \beta^2 t_0, \dots` with

    .. math::  f(x + t d) \le f(x) + c\, t\, g^\top d

    (sufficient decrease: at least a fraction :math:`c` of what the slope promises). Needs a descent
    direction, :math:`g^\top d < 0`.

    Returns
    -------
    (t, loss, grad, evaluations)
        The step accepted, the loss and gradient at :math:`x + t d`, and how many evaluations it took.
        If no step passes in ``max_halvings`` tries, ``t = 0`` (the point does not move).
    """
    slope = float(np.dot(grad, direction))
    if not slope < 0:
        raise ValueError(f"backtracking needs a descent direction (gᵀd < 0); got gᵀd = {slope:.3g}. "
                         "Use -g, or a Newton direction with a positive definite Hessian.")
    if not (0 < c < 1 and 0 < shrink < 1):
        raise ValueError(f"need 0 < c < 1 and 0 < shrink < 1; got c={c}, shrink={shrink}")
    t = float(t0)
    for evaluations in range(1, int(max_halvings) + 1):
        new_loss, new_grad = objective(x + t * direction)
        if np.isfinite(new_loss) and new_loss <= loss + c * t * slope:
            return t, float(new_loss), np.asarray(new_grad, dtype=float), evaluations
        t *= shrink
    return 0.0, float(loss), np.asarray(grad, dtype=float), int(max_halvings)


def _shifted(hess: np.ndarray, margin: float) -> tuple[np.ndarray, float]:
    """H + λI with the smallest λ >= 0 that makes its smallest eigenvalue at least ``margin``."""
    smallest = float(np.linalg.eigvalsh(hess)[0])
    shift = max(0.0, margin - smallest)
    return hess + shift * np.eye(len(hess)), shift


def newton(objective: Objective, x0: np.ndarray, *, steps: int, hessian_fn: Callable[[np.ndarray], np.ndarray],
           damped: bool = False, margin: float = 1e-3, tol: float = 0.0, max_norm: float = 1e6) -> Run:
    r"""Newton's method, :math:`x \leftarrow x + t\,d` with :math:`d` the Newton direction.

    Pure (``damped=False``): :math:`t = 1` and :math:`d = -H^{-1} g`, whatever :math:`H`.
    Damped (``damped=True``): where :math:`H` is not positive definite it is shifted to
    :math:`H + \lambda I` with smallest eigenvalue ``margin`` (so :math:`d` descends), and :math:`t`
    comes from :func:`backtracking` starting at 1 (Boyd & Vandenberghe 2004, §9.5: "damped Newton";
    Nocedal & Wright 2006, §3.4).

    Stops after ``steps`` iterations, when :math:`\|g\| \le` ``tol``, or when :math:`\|x\|` passes
    ``max_norm`` (a run that diverged).
    """
    x = np.asarray(x0, dtype=float).copy()
    loss, grad = objective(x)
    xs, losses, grads, ts, notes, evaluations = [x.copy()], [float(loss)], [np.asarray(grad)], [], [], 1
    for k in range(int(steps)):
        if float(np.linalg.norm(grad)) <= tol:
            break
        H = hessian_fn(x)
        if damped:
            H, shift = _shifted(H, margin)
            if shift > 0:
                notes.append(f"step {k + 1}: Hessian shifted by {shift:.3g}")
        try:
            direction = newton_direction(grad, H)
        except np.linalg.LinAlgError:
            notes.append(f"step {k + 1}: the Hessian is singular; stopped")
            break
        if damped:
            t, loss, grad, used = backtracking(objective, x, loss, grad, direction)
            evaluations += used
        else:
            if float(np.dot(grad, direction)) > 0:
                notes.append(f"step {k + 1}: the Newton direction goes uphill (gᵀd > 0)")
            t = 1.0
            loss, grad = objective(x + direction)
            evaluations += 1
        x = x + t * direction
        xs.append(x.copy())
        losses.append(float(loss))
        grads.append(np.asarray(grad, dtype=float))
        ts.append(t)
        if not np.isfinite(loss) or float(np.linalg.norm(x)) > max_norm:
            notes.append(f"step {k + 1}: diverged")
            break
    return _record(xs, losses, grads, ts, evaluations, notes)


def gradient_descent(objective: Objective, x0: np.ndarray, *, steps: int, lr: float | None = None,
                     t0: float = 1.0, tol: float = 0.0, max_norm: float = 1e6) -> Run:
    r"""Gradient descent :math:`x \leftarrow x - t g`: a fixed step :math:`t` = ``lr``, or, with
    ``lr=None``, :func:`backtracking` from ``t0`` at every step (no step size to tune)."""
    x = np.asarray(x0, dtype=float).copy()
    loss, grad = objective(x)
    xs, losses, grads, ts, evaluations = [x.copy()], [float(loss)], [np.asarray(grad)], [], 1
    for _ in range(int(steps)):
        if float(np.linalg.norm(grad)) <= tol:
            break
        if lr is None:
            t, loss, grad, used = backtracking(objective, x, loss, grad, -grad, t0=t0)
            evaluations += used
        else:
            t = float(lr)
            loss, grad = objective(x - t * grad)
            evaluations += 1
        x = x - t * grads[-1]
        xs.append(x.copy())
        losses.append(float(loss))
        grads.append(np.asarray(grad, dtype=float))
        ts.append(t)
        if not np.isfinite(loss) or float(np.linalg.norm(x)) > max_norm:
            break
    return _record(xs, losses, grads, ts, evaluations, [])


def lbfgs(objective: Objective, x0: np.ndarray, *, iterations: int, lr: float = 1.0, history: int = 10,
          line_search: str | None = None, tolerance_grad: float = 1e-7, tolerance_change: float = 1e-9,
          max_evaluations: int | None = None) -> Run:
    r"""Limited-memory BFGS (Nocedal 1980; Liu & Nocedal 1989), as ``torch.optim.LBFGS`` runs it.

    Keeps the last ``history`` pairs :math:`s_i = x_{i+1} - x_i`, :math:`y_i = g_{i+1} - g_i` (a pair
    only if :math:`y_i^\top s_i > 10^{-10}`: the curvature condition) and applies the inverse-Hessian
    estimate they define to :math:`-g` with the two-loop recursion, starting from
    :math:`H_0 = \gamma I`, :math:`\gamma = s^\top y / y^\top y` of the newest pair::

        q = -g
        for i = newest … oldest:  a_i = ρ_i s_iᵀ q;  q -= a_i y_i          (ρ_i = 1 / y_iᵀ s_i)
        r = γ q
        for i = oldest … newest:  b = ρ_i y_iᵀ r;  r += (a_i − b) s_i
        d = r

    The step :math:`x \leftarrow x + t d`: ``line_search=None`` takes torch's fixed :math:`t` = ``lr``
    (the first iteration :math:`\min(1, 1/\|g\|_1)\,`\ ``lr``); ``line_search="armijo"`` takes
    :func:`backtracking` from that :math:`t`. Stops, as torch does, after ``iterations``, when
    :math:`\max|g_i| \le` ``tolerance_grad``, when :math:`g^\top d > -`\ ``tolerance_change``, when
    the step or the change of the loss falls below ``tolerance_change``, or once the objective has been
    evaluated ``max_evaluations`` times (torch's ``max_eval``, by default ``iterations * 5 // 4``; the
    first evaluation counts).

    PyTorch: ``torch.optim.LBFGS(params, lr=1, max_iter=iterations, history_size=10, tolerance_grad=1e-7,
    tolerance_change=1e-9, line_search_fn=None)`` and one ``optimizer.step(closure)``.
    """
    max_evaluations = int(iterations) * 5 // 4 if max_evaluations is None else int(max_evaluations)
    if line_search not in (None, "armijo"):
        raise ValueError(f'line_search must be None (torch\'s fixed step) or "armijo"; got {line_search!r}')
    if history < 1:
        raise ValueError(f"history must be >= 1; got {history}")
    x = np.asarray(x0, dtype=float).copy()
    loss, g = objective(x)
    g = np.asarray(g, dtype=float)
    xs, losses, grads, ts, notes, evaluations = [x.copy()], [float(loss)], [g], [], [], 1
    if np.max(np.abs(g)) <= tolerance_grad:
        return _record(xs, losses, grads, ts, evaluations, notes)
    S: list[np.ndarray] = []
    Y: list[np.ndarray] = []
    rho: list[float] = []
    gamma = 1.0
    d = -g
    t = 0.0
    prev_g = g
    for k in range(int(iterations)):
        if k > 0:
            y, s = g - prev_g, d * t
            ys = float(y @ s)
            if ys > 1e-10:  # the curvature condition: keep the pair
                if len(S) == history:
                    S.pop(0), Y.pop(0), rho.pop(0)
                S.append(s), Y.append(y), rho.append(1.0 / ys)
                gamma = ys / float(y @ y)
            q = -g
            a = [0.0] * len(S)
            for i in range(len(S) - 1, -1, -1):
                a[i] = float(S[i] @ q) * rho[i]
                q = q - a[i] * Y[i]
            r = q * gamma
            for i in range(len(S)):
                b = float(Y[i] @ r) * rho[i]
                r = r + (a[i] - b) * S[i]
            d = r
        prev_g, prev_loss = g, loss
        t = min(1.0, 1.0 / float(np.sum(np.abs(g)))) * lr if k == 0 else lr
        slope = float(g @ d)
        if slope > -tolerance_change:
            break
        if line_search == "armijo":
            t, loss, g, used = backtracking(objective, x, loss, g, d, t0=t)
        else:
            loss, g = objective(x + t * d)
            g, used = np.asarray(g, dtype=float), 1
        evaluations += used
        x = x + t * d
        xs.append(x.copy())
        losses.append(float(loss))
        grads.append(g)
        ts.append(t)
        if evaluations >= max_evaluations or np.max(np.abs(g)) <= tolerance_grad:
            break
        if np.max(np.abs(d * t)) <= tolerance_change or abs(loss - prev_loss) < tolerance_change:
            break
    return _record(xs, losses, grads, ts, evaluations, notes)
