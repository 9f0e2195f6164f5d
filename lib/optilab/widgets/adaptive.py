r"""Explorers and figures of lessons 04 (AdaGrad) and 05 (RMSProp): per-parameter step sizes.

* :func:`scaling_explorer` — a feature-scale slider: gradient descent at its best step slows
  down as one feature's scale :math:`c` grows, AdaGrad's path does not change at all.
* :func:`moving_target` — a quadratic whose minimum circles the origin: a non-stationary
  objective, on which AdaGrad's effective step decays and it falls behind, while RMSProp keeps up.
* :func:`switching_target` — a quadratic that jumps between a steep and a shallow version of itself.
* :func:`track` — run AdaGrad or RMSProp and record its effective learning rate
  :math:`\alpha/(\sqrt{s}+\epsilon)` at every step, read from the rule's state.
* :func:`decay_explorer` — a :math:`\rho` slider for RMSProp on the switching target.

In a notebook::

    from optilab.widgets import adaptive
    adaptive.scaling_explorer()
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import ipywidgets as widgets
import numpy as np
from matplotlib.figure import Figure

from optilab import plots, problems, theory, training
from optilab import rules as _table
from optilab.kernels import RULES
from optilab.widgets.explorer import Explorer, register

__all__ = [
    "scaled_quadratic",
    "ScalingFigure",
    "scaling_explorer",
    "moving_target",
    "Tracking",
    "track",
    "tracking_figure",
    "switching_target",
    "DecayFigure",
    "decay_explorer",
]

GREY = "#8c8c8c"


# -- lesson 04: one feature on another scale ------------------------------------------------------
def scaled_quadratic(scale: float) -> problems.Problem:
    r"""A bowl whose second feature is measured in units :math:`c` = ``scale`` times smaller.

    :math:`f(p) = \tfrac12 (p_1^2 + c^2 p_2^2)`: multiplying a feature by :math:`c` multiplies
    the curvature along its weight by :math:`c^2`, so :math:`\kappa = c^2`
    (:func:`optilab.problems.quadratic` with :math:`\lambda = (1, c^2)`).
    """
    if not scale >= 1:
        raise ValueError(f"scale must be at least 1, got {scale}")
    return problems.quadratic((1.0, float(scale) ** 2))


#: The feature scales the explorer offers.
SCALES: tuple[float, ...] = (1.0, 2.0, 3.0, 5.0, 10.0, 20.0, 30.0)


class ScalingFigure:
    r"""Gradient descent (best step for the scale) and AdaGrad (one :math:`\alpha`) on :func:`scaled_quadratic`.

    Left: the paths on the contours. Right: the distance to the minimum against the step.
    One figure is built per scale (the contours change with it) and reused; a redraw runs the
    two rules and moves their lines. The last traces are in :attr:`traces`.

    Parameters
    ----------
    adagrad_lr : float
        AdaGrad's :math:`\alpha`, the same for every scale.
    steps : int
        Steps per run.
    """

    def __init__(self, adagrad_lr: float = 0.5, steps: int = 100) -> None:
        self.adagrad_lr = float(adagrad_lr)
        self.steps = int(steps)
        self.traces: dict[str, training.Trace] = {}
        self._views: dict[float, dict[str, Any]] = {}

    def _view(self, scale: float) -> dict[str, Any]:
        if scale in self._views:
            return self._views[scale]
        problem = scaled_quadratic(scale)
        fig, (ax_path, ax_dist) = plots.new_figure(figsize=(10.5, 4.4), ncols=2)
        plots.contour(problem, ax=ax_path, title=f"f(p) = ½(p₁² + c²p₂²), c = {scale:g}")
        lr_gd = theory.gd_best_lr(problem.eigenvalues)
        labels = {"sgd": f"gradient descent, best α = {lr_gd:.3g}", "adagrad": f"AdaGrad, α = {self.adagrad_lr:g}"}
        lines = {}
        for rule in ("sgd", "adagrad"):
            style = {"color": plots.color_of(rule), "linewidth": 1.6, "label": labels[rule]}
            lines[rule] = (ax_path.plot([], [], marker="o", markersize=2, zorder=3, **style)[0],
                           ax_dist.plot([], [], **style)[0])
        ax_path.plot(*problem.x0, marker="o", markersize=7, color="white", markeredgecolor="black",
                     linestyle="none", label="start", zorder=5)
        for ax in (ax_path, ax_dist):
            ax.legend(loc="upper right", fontsize="small", framealpha=0.85)
        ax_path.set_xlabel("p₁ (weight of the feature on scale 1)")
        ax_path.set_ylabel("p₂ (weight of the feature on scale c)")
        d0 = float(np.linalg.norm(problem.x0))
        plots.plain_log_yaxis(ax_dist, 1e-4 * d0, 3 * d0)
        ax_dist.set_xlim(0, self.steps)
        ax_dist.set_xlabel("step t")
        ax_dist.set_ylabel("distance to the minimum ‖p − p*‖")
        ax_dist.set_title("progress")
        title = fig.suptitle("", fontsize="medium")
        fig.subplots_adjust(top=0.8)
        view = {"problem": problem, "figure": fig, "lines": lines, "title": title, "labels": labels, "lr_gd": lr_gd}
        self._views[scale] = view
        return view

    def draw(self, scale: float) -> Figure:
        """Run both rules on the problem of this ``scale`` and show them; returns the figure."""
        scale = float(scale)
        view = self._view(scale)
        problem, labels = view["problem"], view["labels"]
        runs = {"sgd": training.run("sgd", problem, steps=self.steps, lr=view["lr_gd"]),
                "adagrad": training.run("adagrad", problem, steps=self.steps, lr=self.adagrad_lr)}
        for rule, trace in runs.items():
            path, dist = view["lines"][rule]
            path.set_data(trace.params[:, 0], trace.params[:, 1])
            d = trace.distances()
            dist.set_data(np.arange(len(d)), np.where(d > 0, d, np.nan))
        self.traces = {labels[rule]: trace for rule, trace in runs.items()}
        view["title"].set_text(
            f"feature scale c = {scale:g}: κ = c² = {scale**2:g}.  Gradient descent's rate {theory.gd_rate(problem.eigenvalues):.3f} "
            f"per step;\nAdaGrad divides each coordinate's step by its own √s, so its path is the same for every c")
        return view["figure"]


@register("04-adagrad-scaling")
def scaling_explorer(scale: float = 10.0) -> Explorer:
    r"""A feature-scale slider: gradient descent at its best step against AdaGrad with a fixed :math:`\alpha`.

    Parameters
    ----------
    scale : float
        The first scale :math:`c`, one of :data:`SCALES`.
    """
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {SCALES}, got {scale}")
    slider = widgets.SelectionSlider(options=[(f"{c:g}", c) for c in SCALES], value=scale,
                                     description="scale c", continuous_update=False)
    return Explorer({"scale": slider}, ScalingFigure().draw,
                    title="Rescale one feature: who notices?")


# -- lesson 05: a moving target ---------------------------------------------------------------------
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
    eps = hyperparameters.get("eps", kernel.__kwdefaults__["eps"])
    p, state = np.array(problem.x0, dtype=float), {}
    params, effective = [p], []
    for t in range(int(steps)):
        p, state = kernel(p, problem.grad(p, t), state, lr=lr, **hyperparameters)
        effective.append(lr / (np.sqrt(state[_ACCUMULATOR[rule]]) + eps))
        params.append(p)
    params_array = np.array(params)
    distances = np.linalg.norm(params_array - np.array([target(t) for t in range(len(params))]), axis=1)
    return Tracking(params_array, distances, np.array(effective), rule, {"lr": lr, **hyperparameters})


def _colors(runs: list[Tracking]) -> list[str]:
    others = iter((plots.color_of("rmsprop"), plots.OKABE_ITO["orange"], plots.OKABE_ITO["sky blue"], "#000000"))
    return [plots.color_of("adagrad") if run.rule == "adagrad" else next(others) for run in runs]


def _curve_axes(ax_dist: Any, ax_lr: Any, steps: int, top: float) -> None:
    plots.plain_log_yaxis(ax_dist, 1e-4, 3 * top)
    ax_dist.set_xlim(0, steps)
    ax_dist.set_xlabel("step t")
    ax_dist.set_ylabel("distance to the target ‖p − c_t‖")
    ax_dist.set_title("tracking error")
    plots.plain_log_yaxis(ax_lr, 1e-4, 1e2)
    ax_lr.set_xlim(0, steps)
    ax_lr.set_xlabel("step t")
    ax_lr.set_ylabel("α / (√s + ε), first coordinate")
    ax_lr.set_title("effective learning rate")


def _draw_curves(ax_dist: Any, ax_lr: Any, run: Tracking, color: str) -> list[Any]:
    d = run.distances
    return [ax_dist.plot(np.arange(len(d)), np.where(d > 0, d, np.nan), color=color, linewidth=1.4, label=run.label)[0],
            ax_lr.plot(np.arange(1, len(run.effective_lr) + 1), run.effective_lr[:, 0], color=color,
                       linewidth=1.4, label=run.label)[0]]


def tracking_figure(problem: problems.Problem, runs: list[Tracking]) -> Figure:
    r"""Runs on :func:`moving_target`: the last lap of each path, the distance to the target, the effective learning rate."""
    fig, (ax_path, ax_dist, ax_lr) = plots.new_figure(figsize=(13.5, 4.2), ncols=3)
    period, radius = problem.extras["period"], problem.extras["radius"]
    circle = np.array([problem.extras["target"](t) for t in range(period + 1)])
    ax_path.plot(circle[:, 0], circle[:, 1], linestyle="--", color=GREY, linewidth=1.0, label="target's circle")
    steps = len(runs[0].distances) - 1
    _curve_axes(ax_dist, ax_lr, steps, radius)
    for run, color in zip(runs, _colors(runs)):
        lap = run.params[-(period + 1):]
        ax_path.plot(lap[:, 0], lap[:, 1], color=color, linewidth=1.2, label=run.label)
        _draw_curves(ax_dist, ax_lr, run, color)
    (x_min, x_max), (y_min, y_max) = problem.bounds
    ax_path.set(xlim=(x_min, x_max), ylim=(y_min, y_max), aspect="equal", xlabel="p₁", ylabel="p₂",
                title=f"last lap (steps {steps - period}–{steps})")
    for ax in (ax_path, ax_dist, ax_lr):
        ax.legend(loc="upper right", fontsize="small", framealpha=0.85)
    fig.subplots_adjust(left=0.06, right=0.98, wspace=0.35)
    return fig


class DecayFigure:
    r"""The :math:`\rho` explorer's figure: AdaGrad and RMSProp(:math:`\rho`) on :func:`switching_target`.

    Left, the distance to the target; right, the effective learning rate; shallow phases are
    shaded. AdaGrad's run is fixed and drawn once; a redraw runs RMSProp with the new
    :math:`\rho` and replaces its lines. The last RMSProp run is in :attr:`run`.
    """

    def __init__(self, lr: float = 0.05, steps: int = 800, problem: problems.Problem | None = None) -> None:
        self.problem = switching_target() if problem is None else problem
        self.lr, self.steps = float(lr), int(steps)
        fig, (ax_dist, ax_lr) = plots.new_figure(figsize=(11, 4.4), ncols=2)
        self.axes = (ax_dist, ax_lr)
        _curve_axes(ax_dist, ax_lr, self.steps, 3.0)
        every = self.problem.extras["every"]
        for ax in self.axes:
            for start in range(every, self.steps, 2 * every):
                ax.axvspan(start, min(start + every, self.steps), color=GREY, alpha=0.15, linewidth=0,
                           label="shallow phase (λ = 0.1)" if start == every else None)
        adagrad = track("adagrad", self.problem, steps=self.steps, lr=self.lr)
        _draw_curves(ax_dist, ax_lr, adagrad, plots.color_of("adagrad"))
        self.run: Tracking | None = None
        self._lines: list[Any] = []
        self.title = fig.suptitle("", fontsize="medium")
        fig.subplots_adjust(top=0.8)
        self.figure = fig

    def shallow_error(self, run: Tracking) -> float:
        """Mean distance to the target over the second half of every shallow phase."""
        every = self.problem.extras["every"]
        t = np.arange(len(run.distances))
        late_shallow = ((t // every) % 2 == 1) & (t % every >= every // 2)
        return float(run.distances[late_shallow].mean())

    def draw(self, rho: float) -> Figure:
        r"""Run RMSProp with decay rate :math:`\rho` = ``rho`` and show it against AdaGrad."""
        rho = float(rho)
        for line in self._lines:
            line.remove()
        self.run = track("rmsprop", self.problem, steps=self.steps, lr=self.lr, rho=rho)
        self._lines = _draw_curves(*self.axes, self.run, plots.color_of("rmsprop"))
        for ax in self.axes:
            ax.legend(loc="lower left", fontsize="small", framealpha=0.85)
        self.title.set_text(
            f"ρ = {rho:g}: RMSProp's average remembers about 1/(1 − ρ) = {theory.ema_horizon(rho):.4g} steps.\n"
            f"Mean distance to the target late in the shallow phases: {self.shallow_error(self.run):.3g}")
        return self.figure


#: The decay rates the explorer offers.
RHOS: tuple[float, ...] = (0.5, 0.9, 0.99, 0.999, 0.9999)


@register("05-rmsprop-decay")
def decay_explorer(rho: float = 0.9) -> Explorer:
    r"""A :math:`\rho` slider for RMSProp on a target whose curvature switches, with AdaGrad for comparison.

    Parameters
    ----------
    rho : float
        The first :math:`\rho`, one of :data:`RHOS`.
    """
    if rho not in RHOS:
        raise ValueError(f"rho must be one of {RHOS}, got {rho}")
    slider = widgets.SelectionSlider(options=[(f"{r:g}", r) for r in RHOS], value=rho, description="ρ",
                                     continuous_update=False)
    return Explorer({"rho": slider}, DecayFigure().draw, title="RMSProp's memory: move ρ")
