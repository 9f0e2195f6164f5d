r"""Explorers and figures of lessons 04 (AdaGrad) and 05 (RMSProp): per-parameter step sizes.

The runs are :mod:`optilab.experiments.adaptive`'s; this module draws them.

* :func:`scaling_explorer` — a feature-scale slider: gradient descent at its best step slows
  down as one feature's scale :math:`c` grows, AdaGrad's path does not change at all.
* :func:`tracking_figure` — runs on a target that circles the origin: AdaGrad's effective step
  decays and it falls behind, while RMSProp keeps up.
* :func:`decay_explorer` — a :math:`\rho` slider for RMSProp on a target whose curvature switches.

In a notebook::

    from optilab.widgets import adaptive
    adaptive.scaling_explorer()
"""

from __future__ import annotations

from typing import Any

import ipywidgets as widgets
import numpy as np
from matplotlib.figure import Figure

from optilab import plots, problems, theory, training
from optilab.experiments.adaptive import (RHOS, Tracking, scaled_quadratic, scaling_runs, shallow_error,
                                          switching_target, track)
from optilab.widgets.explorer import Explorer, register

__all__ = [
    "SCALES",
    "ScalingFigure",
    "scaling_explorer",
    "tracking_figure",
    "DecayFigure",
    "decay_explorer",
]

GREY = "#8c8c8c"


# -- lesson 04: one feature on another scale ------------------------------------------------------
#: The feature scales the explorer offers.
SCALES: tuple[float, ...] = (1.0, 2.0, 3.0, 5.0, 10.0, 20.0, 30.0)


class ScalingFigure:
    r"""Gradient descent (best step for the scale) and AdaGrad (one :math:`\alpha`) on :func:`scaled_quadratic`.

    Left: the paths on the contours. Right: the distance to the minimum against the step.
    One figure is built per scale (the contours change with it) and reused; a redraw runs the
    two rules (:func:`optilab.experiments.adaptive.scaling_runs`) and moves their lines. The last traces are in :attr:`traces`.

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
        runs = scaling_runs(scale, adagrad_lr=self.adagrad_lr, steps=self.steps)
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
            f"Mean distance to the target late in the shallow phases: {shallow_error(self.run, self.problem):.3g}")
        return self.figure


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
