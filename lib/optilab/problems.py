r"""Test problems with exact gradients: the landscapes the lessons run optimizers on.

A :class:`Problem` is a loss :math:`f(x)` on :math:`\mathbb{R}^d` with its gradient
:math:`\nabla f(x)`, a good starting point ``x0``, the minimizer when it is known, and,
for 2-D problems, plot bounds and a vectorised ``loss_grid`` for contour plots::

    >>> p = rosenbrock()
    >>> p.loss(p.minimizer), p.grad(p.minimizer)
    (0.0, array([0., 0.]))

``loss(x, t)`` and ``grad(x, t)`` take the step number ``t`` (0 for the first step). Only
step-dependent problems use it: the online problem of Reddi et al., where the loss
changes every step, and :func:`noisy`, whose gradient noise is drawn afresh for every ``t``.

Every constructor's docstring gives :math:`f` and :math:`\nabla f`; the tests check each
gradient against central finite differences.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Callable, Sequence

import numpy as np

__all__ = [
    "Problem",
    "quadratic",
    "quadratic_nd",
    "rosenbrock",
    "beale",
    "himmelblau",
    "saddle",
    "noisy",
    "reddi_online",
    "WilsonData",
    "wilson_dataset",
    "PROBLEMS_2D",
]

Bounds = tuple[tuple[float, float], tuple[float, float]]


def _fmt(value: float) -> str:
    """A number as short as it can be written (10.0 -> '10', 0.5 -> '0.5')."""
    return f"{float(value):g}"


@dataclass(frozen=True, eq=False, repr=False)
class Problem:
    r"""A loss :math:`f: \mathbb{R}^d \to \mathbb{R}` with its exact gradient.

    Build problems with the constructors of this module (:func:`quadratic`,
    :func:`rosenbrock`, ...) rather than directly.

    Attributes
    ----------
    name : str
        Human-readable name, used in plot titles ("Rosenbrock (a=1, b=100)").
    dim : int
        Dimension :math:`d` of :math:`x`.
    x0 : ndarray of shape (dim,)
        A good starting point for the lessons' demonstrations.
    minimizer : ndarray of shape (dim,) or None
        A global minimizer :math:`x^*` (None when there is none, as on the saddle).
    bounds : ((xmin, xmax), (ymin, ymax)) or None
        The plotting window of a 2-D problem.
    hessian : ndarray of shape (dim, dim) or None
        The (constant) Hessian :math:`A` of a quadratic; None for other problems.
    eigenvalues : ndarray or None
        The eigenvalues of ``hessian``, in the order they were given.
    minimizers : tuple of ndarray
        Every known global minimizer (Himmelblau's function has four).
    key : tuple
        What identifies the problem: two problems with equal keys are equal. Plots use it to
        cache contour grids.
    extras : dict
        Constructor-specific data (``C`` of :func:`reddi_online`, ``sigma`` and ``seed`` of
        :func:`noisy`, ...).
    """

    name: str
    dim: int
    x0: np.ndarray
    loss_fn: Callable[[np.ndarray, int], float]
    grad_fn: Callable[[np.ndarray, int], np.ndarray]
    minimizer: np.ndarray | None = None
    bounds: Bounds | None = None
    grid_fn: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None
    project_fn: Callable[[np.ndarray], np.ndarray] | None = None
    hessian: np.ndarray | None = None
    eigenvalues: np.ndarray | None = None
    minimizers: tuple[np.ndarray, ...] = ()
    key: tuple = ()
    extras: dict[str, Any] = field(default_factory=dict)

    # -- evaluation -------------------------------------------------------------------------
    def _check(self, x: Any, what: str) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        if x.shape != (self.dim,):
            raise ValueError(
                f"{what}: x has shape {x.shape} but {self.name} is {self.dim}-dimensional; "
                f"pass an array of shape ({self.dim},)"
            )
        return x

    def loss(self, x: Any, t: int = 0) -> float:
        """The loss :math:`f(x)` (at step ``t`` for step-dependent problems), as a float."""
        return float(self.loss_fn(self._check(x, "loss"), int(t)))

    def grad(self, x: Any, t: int = 0) -> np.ndarray:
        r"""The gradient :math:`\nabla f(x)` (at step ``t``), a new array of shape (dim,)."""
        return np.asarray(self.grad_fn(self._check(x, "grad"), int(t)), dtype=float)

    def project(self, x: Any) -> np.ndarray:
        """Project ``x`` onto the feasible set (the identity unless the problem is constrained)."""
        x = np.asarray(x, dtype=float)
        return self.project_fn(x) if self.project_fn is not None else x

    def loss_grid(self, X: np.ndarray, Y: np.ndarray) -> np.ndarray:
        """The loss at every point of a grid (``X``, ``Y`` as from ``np.meshgrid``), vectorised.

        Only 2-D problems have it. For :func:`noisy` problems it is the noise-free loss.
        """
        if self.grid_fn is None:
            raise ValueError(f"{self.name} is {self.dim}-dimensional; loss_grid needs a 2-D problem")
        return self.grid_fn(np.asarray(X, dtype=float), np.asarray(Y, dtype=float))

    @property
    def min_loss(self) -> float | None:
        """:math:`f(x^*)` at the known minimizer (at step 0), or None if there is none."""
        return None if self.minimizer is None else self.loss(self.minimizer)

    @property
    def constrained(self) -> bool:
        """Whether :meth:`project` does anything."""
        return self.project_fn is not None

    # -- identity -----------------------------------------------------------------------------
    def __eq__(self, other: object) -> bool:
        if self is other:
            return True
        return isinstance(other, Problem) and bool(self.key) and self.key == other.key

    def __hash__(self) -> int:
        return hash(self.key) if self.key else id(self)

    def __repr__(self) -> str:
        return f"<Problem {self.name}, dim={self.dim}>"


def _vector(values: Sequence[float]) -> np.ndarray:
    return np.array(values, dtype=float).reshape(-1)


def _rotation(angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, -s], [s, c]])


def _quadratic_problem(name: str, A: np.ndarray, eigenvalues: np.ndarray, x0: np.ndarray,
                       key: tuple, bounds: Bounds | None) -> Problem:
    A = A.copy()
    A.setflags(write=False)

    def loss(x: np.ndarray, t: int) -> float:
        return 0.5 * x @ A @ x

    def grad(x: np.ndarray, t: int) -> np.ndarray:
        return A @ x

    grid = None
    if A.shape == (2, 2):
        def grid(X: np.ndarray, Y: np.ndarray) -> np.ndarray:
            return 0.5 * (A[0, 0] * X * X + (A[0, 1] + A[1, 0]) * X * Y + A[1, 1] * Y * Y)

    positive = bool(np.all(eigenvalues > 0))
    zero = np.zeros(len(A))
    return Problem(
        name=name, dim=len(A), x0=x0, loss_fn=loss, grad_fn=grad,
        minimizer=zero if positive else None, minimizers=(zero,) if positive else (),
        bounds=bounds, grid_fn=grid, hessian=A, eigenvalues=eigenvalues.copy(), key=key,
    )


def quadratic(eigenvalues: Sequence[float] = (1.0, 10.0), angle: float = 0.0) -> Problem:
    r"""A 2-D quadratic bowl with chosen curvatures: the lessons' model of a ravine.

    .. math::
        f(x) = \tfrac12\, x^\top A x, \qquad \nabla f(x) = A x, \qquad
        A = R_\theta \operatorname{diag}(\lambda_1, \lambda_2) R_\theta^\top

    where :math:`R_\theta` rotates by ``angle`` :math:`\theta` (radians). The eigenvectors of
    :math:`A` are the columns of :math:`R_\theta`; with :math:`\lambda_1 < \lambda_2` the
    valley runs along the first. The condition number is :math:`\kappa = \lambda_2/\lambda_1`.

    Parameters
    ----------
    eigenvalues : pair of float
        :math:`(\lambda_1, \lambda_2)`, the curvatures along the two axes of the ellipses.
        With both positive the minimizer is :math:`x^* = 0`; a negative one makes a saddle.
    angle : float
        Rotation :math:`\theta` in radians (``np.pi / 4`` tilts the valley by 45°).

    Returns
    -------
    Problem
        With ``hessian`` (:math:`A`) and ``eigenvalues``. The start ``x0`` is
        :math:`R_\theta\,(-4, 1)`: far along the valley and a little up its side.

    Examples
    --------
    >>> p = quadratic((1.0, 10.0))
    >>> p.grad(np.array([1.0, 1.0]))
    array([ 1., 10.])
    """
    lam = _vector(eigenvalues)
    if lam.shape != (2,):
        raise ValueError(f"quadratic needs 2 eigenvalues, got {len(lam)}; use quadratic_nd for other dimensions")
    R = _rotation(float(angle))
    A = R @ np.diag(lam) @ R.T
    A = 0.5 * (A + A.T)
    name = f"quadratic (λ = {_fmt(lam[0])}, {_fmt(lam[1])}" + (f", θ = {_fmt(round(np.degrees(angle), 2))}°)" if angle else ")")
    return _quadratic_problem(name, A, lam, R @ np.array([-4.0, 1.0]),
                              ("quadratic", tuple(lam), float(angle)), ((-5.0, 5.0), (-5.0, 5.0)))


def quadratic_nd(eigenvalues: Sequence[float], seed: int = 0) -> Problem:
    r"""A quadratic in any dimension with the given Hessian eigenvalues, in random axes.

    .. math::
        f(x) = \tfrac12\, x^\top A x, \qquad \nabla f(x) = A x, \qquad
        A = Q \operatorname{diag}(\lambda_1, \dots, \lambda_d) Q^\top

    with :math:`Q` a random orthogonal matrix drawn from ``seed`` (QR of a Gaussian matrix,
    signs fixed so that the draw is unique).

    Parameters
    ----------
    eigenvalues : sequence of float
        :math:`\lambda_1, \dots, \lambda_d`.
    seed : int
        Seed of the rotation :math:`Q`.

    Returns
    -------
    Problem
        With ``hessian`` and ``eigenvalues``. The start is :math:`x_0 = Q\,\mathbf{1}`: one
        unit of error along every eigenvector, so each eigenvalue's decay is visible.
    """
    lam = _vector(eigenvalues)
    if lam.size == 0:
        raise ValueError("quadratic_nd needs at least one eigenvalue")
    d = lam.size
    rng = np.random.default_rng(seed)
    Q, R = np.linalg.qr(rng.standard_normal((d, d)))
    Q = Q * np.sign(np.where(np.diag(R) == 0, 1.0, np.diag(R)))
    A = Q @ np.diag(lam) @ Q.T
    A = 0.5 * (A + A.T)
    bounds = ((-2.0, 2.0), (-2.0, 2.0)) if d == 2 else None
    name = f"quadratic in {d}-D (κ = {_fmt(lam.max() / lam.min())})" if np.all(lam > 0) else f"quadratic in {d}-D"
    return _quadratic_problem(name, A, lam, Q @ np.ones(d), ("quadratic_nd", tuple(lam), int(seed)), bounds)


def rosenbrock(a: float = 1.0, b: float = 100.0) -> Problem:
    r"""Rosenbrock's banana-shaped valley.

    .. math::
        f(x, y) &= (a - x)^2 + b\,(y - x^2)^2 \\
        \nabla f(x, y) &= \big(2(x - a) - 4 b x (y - x^2),\;\; 2 b (y - x^2)\big)

    The minimizer is :math:`(a, a^2)` with :math:`f = 0`, at the end of a long, curved,
    nearly flat valley: easy to find, slow to follow.

    Reference: Rosenbrock (1960), "An automatic method for finding the greatest or least
    value of a function".
    """
    a, b = float(a), float(b)

    def grid(X: np.ndarray, Y: np.ndarray) -> np.ndarray:
        return (a - X) ** 2 + b * (Y - X * X) ** 2

    def loss(p: np.ndarray, t: int) -> float:
        return grid(p[0], p[1])

    def grad(p: np.ndarray, t: int) -> np.ndarray:
        x, y = p
        return np.array([2.0 * (x - a) - 4.0 * b * x * (y - x * x), 2.0 * b * (y - x * x)])

    s = max(1.0, abs(a))
    x_star = np.array([a, a * a])
    return Problem(
        name=f"Rosenbrock (a = {_fmt(a)}, b = {_fmt(b)})", dim=2, x0=np.array([-1.2 * s, 1.0 * s * s]),
        loss_fn=loss, grad_fn=grad, minimizer=x_star, minimizers=(x_star,),
        bounds=((-2.0 * s, 2.0 * s), (-1.0 * s * s, 3.0 * s * s)), grid_fn=grid, key=("rosenbrock", a, b),
    )


def beale() -> Problem:
    r"""Beale's function: flat plateaus and sharp ridges.

    .. math::
        f(x, y) &= r_1^2 + r_2^2 + r_3^2, \qquad r_k = c_k - x + x y^k,
        \quad (c_1, c_2, c_3) = (1.5,\ 2.25,\ 2.625) \\
        \nabla f(x, y) &= \Big(\sum_k 2 r_k (y^k - 1),\;\; \sum_k 2 r_k\, k\, x\, y^{k-1}\Big)

    The minimizer is :math:`(3, 0.5)` with :math:`f = 0`.

    Reference: Beale (1958), "On an iterative method for finding a local minimum of a
    function of more than one variable".
    """
    c = (1.5, 2.25, 2.625)

    def grid(X: np.ndarray, Y: np.ndarray) -> np.ndarray:
        return sum((ck - X + X * Y ** k) ** 2 for k, ck in enumerate(c, start=1))

    def loss(p: np.ndarray, t: int) -> float:
        return grid(p[0], p[1])

    def grad(p: np.ndarray, t: int) -> np.ndarray:
        x, y = p
        gx = gy = 0.0
        for k, ck in enumerate(c, start=1):
            r = ck - x + x * y**k
            gx += 2.0 * r * (y**k - 1.0)
            gy += 2.0 * r * k * x * y ** (k - 1)
        return np.array([gx, gy])

    x_star = np.array([3.0, 0.5])
    return Problem(
        name="Beale", dim=2, x0=np.array([1.0, 1.5]), loss_fn=loss, grad_fn=grad,
        minimizer=x_star, minimizers=(x_star,), bounds=((-4.5, 4.5), (-4.5, 4.5)), grid_fn=grid,
        key=("beale",),
    )


#: Himmelblau's four minima (all with f = 0), to double precision.
_HIMMELBLAU_MINIMA = (
    (3.0, 2.0),
    (-2.805118086952745, 3.131312518250573),
    (-3.779310253377747, -3.283185991286170),
    (3.584428340330492, -1.848126526964404),
)


def himmelblau() -> Problem:
    r"""Himmelblau's function: four minima, so where you end up depends on where you start.

    .. math::
        f(x, y) &= (x^2 + y - 11)^2 + (x + y^2 - 7)^2 \\
        \nabla f(x, y) &= \big(4x(x^2 + y - 11) + 2(x + y^2 - 7),\;\;
                              2(x^2 + y - 11) + 4y(x + y^2 - 7)\big)

    All four minima have :math:`f = 0`: :math:`(3, 2)` (``minimizer``) and three others
    (``minimizers``). A local maximum sits near :math:`(-0.27, -0.92)`.

    Reference: Himmelblau (1972), "Applied Nonlinear Programming".
    """

    def grid(X: np.ndarray, Y: np.ndarray) -> np.ndarray:
        return (X * X + Y - 11.0) ** 2 + (X + Y * Y - 7.0) ** 2

    def loss(p: np.ndarray, t: int) -> float:
        return grid(p[0], p[1])

    def grad(p: np.ndarray, t: int) -> np.ndarray:
        x, y = p
        u, w = x * x + y - 11.0, x + y * y - 7.0
        return np.array([4.0 * x * u + 2.0 * w, 2.0 * u + 4.0 * y * w])

    minima = tuple(np.array(m) for m in _HIMMELBLAU_MINIMA)
    return Problem(
        name="Himmelblau", dim=2, x0=np.array([0.0, 0.0]), loss_fn=loss, grad_fn=grad,
        minimizer=minima[0], minimizers=minima, bounds=((-5.0, 5.0), (-5.0, 5.0)), grid_fn=grid,
        key=("himmelblau",),
    )


def saddle() -> Problem:
    r"""The saddle :math:`f(x, y) = x^2 - y^2`: a minimum along :math:`x`, a maximum along :math:`y`.

    .. math::  \nabla f(x, y) = (2x,\; -2y)

    The origin is a stationary point but not a minimum, and :math:`f` is unbounded below, so
    there is no minimizer. The start :math:`(1, 10^{-3})` lies almost on the ridge
    :math:`y = 0`: plain gradient descent first slides towards the saddle point and only slowly
    escapes along :math:`y`. Escaping runs eventually leave any window; :func:`optilab.training.run`
    stops them (``diverged=True``) once :math:`\|x\|` passes its ``max_norm``.
    """

    def grid(X: np.ndarray, Y: np.ndarray) -> np.ndarray:
        return X * X - Y * Y

    def loss(p: np.ndarray, t: int) -> float:
        return grid(p[0], p[1])

    def grad(p: np.ndarray, t: int) -> np.ndarray:
        return np.array([2.0 * p[0], -2.0 * p[1]])

    return Problem(
        name="saddle x² − y²", dim=2, x0=np.array([1.0, 1e-3]), loss_fn=loss, grad_fn=grad,
        minimizer=None, bounds=((-1.5, 1.5), (-1.5, 1.5)), grid_fn=grid, key=("saddle",),
    )


def noisy(problem: Problem, sigma: float, seed: int = 0) -> Problem:
    r"""The same problem with Gaussian noise on every gradient: a model of minibatch SGD.

    .. math::
        \tilde g_t(x) = \nabla f(x) + \sigma\, \xi_t, \qquad \xi_t \sim \mathcal N(0, I)

    where :math:`\xi_t` is drawn from ``np.random.default_rng((seed, t))``. The noise depends
    on ``(seed, t)`` only, never on call order: calling ``grad(x, t)`` twice gives the same
    answer, and two runs with one seed see the same noise. The loss is the noise-free
    :math:`f(x)`, so loss curves show true progress.

    Parameters
    ----------
    problem : Problem
        The noise-free problem.
    sigma : float
        Standard deviation :math:`\sigma \ge 0` of the noise in each coordinate.
    seed : int
        Non-negative seed of the noise.

    Returns
    -------
    Problem
        With ``extras`` ``{"sigma", "seed", "base"}`` (``base`` is ``problem``), so that
        ``noisy(p.extras["base"], p.extras["sigma"], seed=1)`` is the same problem with other
        noise; :func:`optilab.training.run` does this for its ``seed`` argument.
    """
    sigma = float(sigma)
    if not sigma >= 0:
        raise ValueError(f"sigma must be >= 0, got {sigma}")
    if int(seed) < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed}")
    seed = int(seed)
    base_grad = problem.grad_fn

    def grad(x: np.ndarray, t: int) -> np.ndarray:
        if t < 0:
            raise ValueError(f"the step t must be >= 0, got {t}")
        xi = np.random.default_rng((seed, t)).standard_normal(problem.dim)
        return base_grad(x, t) + sigma * xi

    return replace(
        problem, name=f"{problem.name}, noisy (σ = {_fmt(sigma)})", grad_fn=grad,
        key=("noisy", problem.key or (id(problem),), sigma, seed),
        extras={**problem.extras, "sigma": sigma, "seed": seed, "base": problem},
    )


def reddi_online(C: float = 3.0) -> Problem:
    r"""The online problem on which Adam fails to converge (Reddi, Kale & Kumar, 2018, §3).

    On the feasible set :math:`x \in [-1, 1]` the loss changes with the step :math:`t`
    (0 for the first step):

    .. math::
        f_t(x) = \begin{cases} C\,x & t \bmod 3 = 0 \\ -x & \text{otherwise} \end{cases}
        \qquad
        \nabla f_t(x) = \begin{cases} C & t \bmod 3 = 0 \\ -1 & \text{otherwise} \end{cases}

    Over each cycle of three steps the average loss is :math:`\tfrac{C-2}{3}\,x`, so for
    :math:`C > 2` the best point is :math:`x^* = -1`. Adam with :math:`\beta_1 = 0,
    \beta_2 = 1/(1 + C^2)` (the paper's choice) lets the rare large gradient :math:`C` fade
    from :math:`v` before it comes back, so each :math:`-1` step is barely damped while the
    :math:`C` step is divided by :math:`\sqrt{v} \approx C`: Adam drifts to :math:`x = +1`,
    the worst point. AMSGrad, dividing by the running maximum of :math:`v`, goes to :math:`-1`.

    ``project`` clips to :math:`[-1, 1]`; :func:`optilab.training.run` applies it after
    every step.

    Parameters
    ----------
    C : float
        The large gradient, :math:`C > 2`.

    Returns
    -------
    Problem
        One-dimensional, ``x0 = [0.0]``, ``minimizer = [-1.0]``; ``extras["C"]``,
        ``extras["beta2"]`` (the paper's :math:`1/(1+C^2)`).

    Reference: Reddi, Kale & Kumar (2018), "On the Convergence of Adam and Beyond", ICLR.
    """
    C = float(C)
    if not C > 2:
        raise ValueError(f"C must be > 2 for -1 to be the best point (the paper's setting), got {C}")

    def slope(t: int) -> float:
        return C if t % 3 == 0 else -1.0

    def loss(x: np.ndarray, t: int) -> float:
        return slope(t) * x[0]

    def grad(x: np.ndarray, t: int) -> np.ndarray:
        return np.array([slope(t)])

    def project(x: np.ndarray) -> np.ndarray:
        return np.clip(x, -1.0, 1.0)

    x_star = np.array([-1.0])
    return Problem(
        name=f"Reddi et al. online problem (C = {_fmt(C)})", dim=1, x0=np.array([0.0]),
        loss_fn=loss, grad_fn=grad, minimizer=x_star, minimizers=(x_star,), project_fn=project,
        key=("reddi_online", C), extras={"C": C, "beta2": 1.0 / (1.0 + C * C)},
    )


@dataclass(frozen=True, eq=False)
class WilsonData:
    r"""The dataset of Wilson et al. (2017), §3.3, with its least-squares problem.

    Attributes
    ----------
    X_train, y_train : ndarray
        Training features (n_train, d) and labels in {−1, +1}.
    X_test, y_test : ndarray
        Test features (n_test, d) and labels, drawn the same way with their own rare features.
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray

    def problem(self) -> Problem:
        r"""Least squares on the training set, :math:`f(w) = \frac{1}{2n}\|Xw - y\|^2`,
        :math:`\nabla f(w) = \frac1n X^\top (Xw - y)`, started at :math:`w_0 = 0`.

        Its ``minimizer`` is the minimum-norm solution :math:`X^+ y`, the one gradient
        descent converges to from zero; ``extras["adaptive_solution"]`` is
        :math:`\operatorname{sign}(X^\top y)/c`, the one AdaGrad, RMSProp and Adam converge to.
        """
        X, y = self.X_train, self.y_train
        n, d = X.shape

        def loss(w: np.ndarray, t: int) -> float:
            r = X @ w - y
            return 0.5 * (r @ r) / n

        def grad(w: np.ndarray, t: int) -> np.ndarray:
            return X.T @ (X @ w - y) / n

        s = np.sign(X.T @ y)
        c = float((X @ s)[0] / y[0])
        w_min_norm = np.linalg.lstsq(X, y, rcond=None)[0]
        return Problem(
            name="Wilson et al. least squares", dim=d, x0=np.zeros(d), loss_fn=loss, grad_fn=grad,
            minimizer=w_min_norm, minimizers=(w_min_norm,),
            key=("wilson", id(self)), extras={"adaptive_solution": s / c, "data": self},
        )

    def error(self, w: np.ndarray, split: str = "test") -> float:
        """Fraction of examples of ``split`` ("train" or "test") where sign(x·w) ≠ y (0 counts as wrong)."""
        if split not in ("train", "test"):
            raise ValueError(f'split must be "train" or "test", got {split!r}')
        X, y = (self.X_train, self.y_train) if split == "train" else (self.X_test, self.y_test)
        return float(np.mean(np.sign(X @ np.asarray(w, dtype=float)) != y))


def wilson_dataset(n_train: int = 50, n_test: int = 200, p_test: float = 0.5, seed: int = 0) -> WilsonData:
    r"""The construction where adaptive methods fit perfectly and generalise no better than chance.

    Wilson, Roelofs, Stern, Srebro & Recht (2017), "The Marginal Value of Adaptive Gradient
    Methods in Machine Learning", §3.3. Each example :math:`i` has a label
    :math:`y_i \in \{-1, +1\}` and features

    .. math::
        x_{i1} = y_i, \quad x_{i2} = x_{i3} = 1, \quad
        x_{ij} = 1 \text{ for the } 1 \text{ (if } y_i = +1) \text{ or } 5
        \text{ (if } y_i = -1) \text{ features } j \text{ of example } i \text{ alone},

    all other features 0. Feature 1 reveals the label; features 2–3 are constant; the rest are
    rare features that each belong to a single example. The training set has one more positive
    than negative example, so :math:`X^\top y` is positive on features 1–3 and
    :math:`X \operatorname{sign}(X^\top y) = 4y`. By the paper's Lemma 3.1, AdaGrad, RMSProp and
    Adam started at :math:`w = 0` then stay on the ray :math:`w \propto \operatorname{sign}(X^\top y)`
    and converge to :math:`w = \operatorname{sign}(X^\top y)/4`: zero training error, but on new
    data (whose rare features have weight 0) :math:`x \cdot w = (y + 2)/4 > 0` always, so they
    predict +1 everywhere: test error = the fraction of negatives, about ``1 - p_test``.
    Gradient descent from 0 converges to the minimum-norm solution, which leans on feature 1
    and classifies new data correctly.

    Parameters
    ----------
    n_train, n_test : int
        Number of training and test examples. Each example gets 5 columns of rare features,
        so :math:`d = 3 + 5\,(n_\text{train} + n_\text{test})`.
    p_test : float
        Probability that a test label is +1.
    seed : int
        Seed for the order of the training labels and the test labels.

    Returns
    -------
    WilsonData
        ``X_train, y_train, X_test, y_test``, ``.problem()`` (the least-squares
        :class:`Problem`, for :func:`optilab.training.run`) and ``.error(w, split)``. The same
        experiment runs through :func:`optilab.training.train` with
        ``models.LinearRegression(d, bias=False)`` and ``batch_size=None`` (full batch: the
        lemma needs exact gradients; with a bias the constant feature breaks its condition).

    Examples
    --------
    >>> data = wilson_dataset(n_train=10, n_test=4)
    >>> data.X_train.shape, data.X_test.shape
    ((10, 73), (4, 73))
    """
    if n_train < 1 or n_test < 1:
        raise ValueError(f"n_train and n_test must be >= 1, got {n_train} and {n_test}")
    rng = np.random.default_rng(seed)
    n_pos = n_train // 2 + 1
    y_train = np.array([1.0] * n_pos + [-1.0] * (n_train - n_pos))
    rng.shuffle(y_train)
    y_test = np.where(rng.random(n_test) < p_test, 1.0, -1.0)
    y = np.concatenate([y_train, y_test])
    n = n_train + n_test
    X = np.zeros((n, 3 + 5 * n))
    X[:, 0] = y
    X[:, 1:3] = 1.0
    for i in range(n):
        rare = 1 if y[i] > 0 else 5
        X[i, 3 + 5 * i: 3 + 5 * i + rare] = 1.0
    return WilsonData(X[:n_train], y_train, X[n_train:], y_test)


#: The 2-D problems by display name, for dropdowns: each value builds a fresh Problem.
PROBLEMS_2D: dict[str, Callable[[], Problem]] = {
    "quadratic (κ = 10)": lambda: quadratic((1.0, 10.0)),
    "tilted quadratic (κ = 10, 30°)": lambda: quadratic((1.0, 10.0), angle=np.pi / 6),
    "Rosenbrock": rosenbrock,
    "Beale": beale,
    "Himmelblau": himmelblau,
    "saddle x² − y²": saddle,
}
