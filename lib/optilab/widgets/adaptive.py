r"""Explorers and figures of lessons 04 (AdaGrad) and 05 (RMSProp): per-parameter step sizes.

The runs are :mod:`optilab.experiments.adaptive`'s; this module draws them.

* :func:`scaling_explorer` — a slider that rescales one feature of the data: gradient descent at
  its best step slows down as the condition number :math:`c^2` (or :math:`1/c^2`) grows; AdaGrad
  sees the rescaling as :math:`\alpha \times c` on that weight.
* :func:`spread_figure`, :func:`sweep_figure`, :func:`comparison_figure`, :func:`effective_lr_figure` —
  lesson 04's figures, legends outside the data, every AdaGrad line in AdaGrad's colour.
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
from optilab.experiments.adaptive import (RHOS, SCALES, Tracking, in_original_units, rescaled_regression,
                                          rescaling_runs, shallow_error, switching_target, track)
from optilab.widgets.explorer import Explorer, register

__all__ = [
    "SCALES",
    "legend_outside",
    "legend_below",
    "spread_figure",
    "sweep_figure",
    "comparison_figure",
    "effective_lr_figure",
    "ScalingFigure",
    "scaling_explorer",
    "tracking_figure",
    "DecayFigure",
    "decay_explorer",
]

GREY = "#8c8c8c"


# -- legends that cover no data ------------------------------------------------------------------
def legend_outside(ax: Any, **kwargs: Any) -> Any:
    """Put ``ax``'s legend to the right of the axes, where it covers nothing it describes."""
    return ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, fontsize="small", **kwargs)


def legend_below(fig: Figure, axes: Any, *, ncol: int = 3, bottom: float = 0.3) -> Any:
    """One legend for all ``axes``, centred under them (a run drawn in several panels once), with room made for it."""
    handles: list[Any] = []
    labels: list[str] = []
    for ax in axes:
        earlier = set(labels)  # a label already given by an earlier panel is the same run
        for handle, label in zip(*ax.get_legend_handles_labels()):
            if label not in earlier:
                handles.append(handle)
                labels.append(label)
    fig.subplots_adjust(bottom=bottom)
    return fig.legend(handles, labels, loc="lower center", ncol=ncol, fontsize="small",
                      frameon=False, bbox_to_anchor=(0.5, 0.0))


# -- lesson 04: figures ----------------------------------------------------------------------------
#: Line styles for several lines of one rule (its colour stays the rule's).
STYLES: tuple[str, ...] = ("-", "--", ":", "-.")


def spread_figure(spread: np.ndarray, names: Any) -> Figure:
    """Bar chart of each feature's standard deviation, log scale."""
    fig, ax = plots.new_figure(figsize=(11, 3.8))
    ax.bar(np.arange(len(spread)), spread, color=plots.OKABE_ITO["blue"])
    ax.set_yscale("log")
    ax.set_xticks(np.arange(len(spread)), list(names), rotation=90, fontsize=7)
    ax.set(xlabel="feature", ylabel="standard deviation",
           title="The spread of each feature, in its own unit (log scale)")
    fig.subplots_adjust(bottom=0.45)
    return fig


def sweep_figure(sweeps: dict, title: str) -> Figure:
    """:func:`optilab.plots.lr_sweep` with the legend outside the axes."""
    fig, ax = plots.new_figure(figsize=(7.5, 4.2))
    plots.lr_sweep(sweeps, title=title, ax=ax)
    legend_outside(ax)
    fig.subplots_adjust(right=0.75)
    return fig


def comparison_figure(runs: dict[str, Any], rules: dict[str, str], title: str) -> Figure:
    r"""Training (solid) and test (dashed) loss per epoch; each run in its rule's colour.

    ``rules`` maps each label of ``runs`` to its rule; runs of the same rule are told apart by
    their markers. A run whose label says "standardised" is drawn thinner, in grey.
    """
    fig, ax = plots.new_figure(figsize=(7.5, 4.4))
    markers: dict[str, int] = {}
    for label, history in runs.items():
        rule = rules[label]
        color = plots.color_of(rule)
        marker = ("", "o", "s")[markers.setdefault(rule, 0)]
        markers[rule] += 1
        for values, style, part in ((history.train_loss, "-", "train"), (history.test_loss, "--", "test")):
            ax.plot(np.arange(len(values)), values, linestyle=style, color=color, marker=marker, markersize=3.5,
                    markevery=2, linewidth=1.6, label=f"{label} ({part})")
    ax.set_yscale("log")
    ax.set(xlabel="epoch", ylabel="logistic loss", title=title)
    legend_outside(ax)
    fig.subplots_adjust(right=0.6)
    return fig


def effective_lr_figure(t: np.ndarray, rates: np.ndarray, labels: list[str], *, title: str,
                        reference: tuple[np.ndarray, str] | None = None, ylim: tuple | None = None) -> Figure:
    r"""AdaGrad's effective learning rates against the step (log-log), one column of ``rates`` per label.

    Every line is AdaGrad's, so every line has AdaGrad's colour, told apart by its style; an
    optional ``reference`` curve (values, label) is grey.
    """
    fig, ax = plots.new_figure(figsize=(8.5, 4.4))
    for j, (label, style) in enumerate(zip(labels, STYLES)):
        ax.loglog(t, rates[:, j], linestyle=style, color=plots.color_of("adagrad"), linewidth=1.6, label=label)
    if reference is not None:
        ax.loglog(t, reference[0], linestyle=(0, (1, 3)), color=GREY, linewidth=1.4, label=reference[1])
    if ylim is not None:
        ax.set_ylim(*ylim)
    ax.set(xlabel="step t", ylabel="effective learning rate α / (√s + ε)", title=title)
    legend_outside(ax)
    fig.subplots_adjust(right=0.58)
    return fig


# -- lesson 04: rescale one feature of the data -------------------------------------------------------
class ScalingFigure:
    r"""Gradient descent (best step for the data) and AdaGrad (one :math:`\alpha`) on :func:`rescaled_regression`.

    Left: the paths, drawn in weights per *original* unit :math:`(w_1, c\,w_2)`
    (:func:`~optilab.experiments.adaptive.in_original_units`), on the contours of the original
    problem: the picture stays put and only the paths move. Right: the loss gap against the
    step. A redraw runs the two rules and moves their lines; the last traces are in :attr:`traces`.
    """

    def __init__(self, adagrad_lr: float = 0.5, steps: int = 100) -> None:
        self.adagrad_lr = float(adagrad_lr)
        self.steps = int(steps)
        self.traces: dict[str, training.Trace] = {}
        original = rescaled_regression(1.0)
        fig, (ax_path, ax_gap) = plots.new_figure(figsize=(10.5, 4.8), ncols=2)
        plots.contour(original, ax=ax_path, show_minimum=False, title="paths, in weights per original unit")
        ax_path.plot(*original.minimizer, marker="*", markersize=13, color="white", markeredgecolor="black",
                     linestyle="none", label="minimum", zorder=4)
        ax_path.plot(0.0, 0.0, marker="o", markersize=7, color="white", markeredgecolor="black",
                     linestyle="none", label="start w = 0", zorder=5)
        self.lines = {}
        for rule in ("sgd", "adagrad"):
            style = {"color": plots.color_of(rule), "linewidth": 1.6}
            self.lines[rule] = (ax_path.plot([], [], marker="o", markersize=2, zorder=3, **style)[0],
                                ax_gap.plot([], [], **style)[0])
        ax_path.set_xlabel("w₁ (weight of feature 1)")
        ax_path.set_ylabel("c·w₂ (weight of feature 2, per original unit)")
        self.floor = 1e-8
        plots.plain_log_yaxis(ax_gap, self.floor, 10.0)
        ax_gap.set_xlim(0, self.steps)
        ax_gap.set(xlabel="step t", ylabel="loss gap f(w) − f(w*)", title="progress")
        self.figure, self.axes = fig, (ax_path, ax_gap)
        self.title = fig.suptitle("", fontsize="medium")
        fig.subplots_adjust(top=0.8, bottom=0.2, wspace=0.3)
        self.legend = None

    def draw(self, scale: float) -> Figure:
        """Run both rules on the data with feature 2 rescaled by ``scale`` and show them."""
        scale = float(scale)
        problem = rescaled_regression(scale)
        runs = rescaling_runs(scale, adagrad_lr=self.adagrad_lr, steps=self.steps)
        lr_gd = theory.gd_best_lr(problem.eigenvalues)
        labels = {"sgd": f"gradient descent, best α = {lr_gd:.3g}", "adagrad": f"AdaGrad, α = {self.adagrad_lr:g}"}
        for rule, trace in runs.items():
            path, gap = self.lines[rule]
            u = in_original_units(trace.params, scale)
            path.set_data(u[:, 0], u[:, 1])
            d = trace.losses - problem.min_loss
            gap.set_data(np.arange(len(d)), np.maximum(d, self.floor))  # a gap of 0 (exact) sits on the floor
            path.set_label(labels[rule])
            gap.set_label(labels[rule])
        if self.legend is None:
            self.legend = legend_below(self.figure, self.axes[:1], ncol=4, bottom=0.2)
        else:  # same lines, new labels: relabel the legend rather than build it again
            for text, label in zip(self.legend.get_texts(), self.axes[0].get_legend_handles_labels()[1]):
                text.set_text(label)
        self.traces = {labels[rule]: trace for rule, trace in runs.items()}
        steps = {rule: training.steps_to_tolerance(trace, 1e-6) for rule, trace in runs.items()}
        said = {rule: f"{n} steps" if n is not None else f"not in {self.steps} steps" for rule, n in steps.items()}
        self.title.set_text(
            f"feature 2 rescaled by c = {scale:g}: κ = {theory.condition_number(problem.eigenvalues):.3g}.\n"
            f"To a loss gap of 10⁻⁶: gradient descent {said['sgd']}, AdaGrad {said['adagrad']}.\n"
            f"For AdaGrad, rescaling a feature by c acts like α × c on its weight:\n{self.adagrad_lr:g} × {scale:g} "
            f"= {self.adagrad_lr * scale:.3g}")
        return self.figure


@register("04-adagrad-scaling")
def scaling_explorer(scale: float = 10.0) -> Explorer:
    r"""A slider that rescales one feature of the data: gradient descent at its best step against AdaGrad.

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
                    title="Rescale feature 2 of the data: who notices?")


# -- lesson 05: a moving target ---------------------------------------------------------------------
def _styles(runs: list[Tracking]) -> list[tuple[str, str]]:
    """(colour, line style) per run: the rule's colour, a new line style for each further run of a rule."""
    seen: dict[str, int] = {}
    out = []
    for run in runs:
        k = seen.setdefault(run.rule, 0)
        seen[run.rule] += 1
        out.append((plots.color_of(run.rule), STYLES[k % len(STYLES)]))
    return out


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


def _draw_curves(ax_dist: Any, ax_lr: Any, run: Tracking, color: str, linestyle: str = "-") -> list[Any]:
    d = run.distances
    style = {"color": color, "linestyle": linestyle, "linewidth": 1.4, "label": run.label}
    return [ax_dist.plot(np.arange(len(d)), np.where(d > 0, d, np.nan), **style)[0],
            ax_lr.plot(np.arange(1, len(run.effective_lr) + 1), run.effective_lr[:, 0], **style)[0]]


def tracking_figure(problem: problems.Problem, runs: list[Tracking]) -> Figure:
    r"""Runs on :func:`moving_target`: the last lap of each path, the distance to the target, the effective learning rate."""
    fig, (ax_path, ax_dist, ax_lr) = plots.new_figure(figsize=(13.5, 4.2), ncols=3)
    period, radius = problem.extras["period"], problem.extras["radius"]
    circle = np.array([problem.extras["target"](t) for t in range(period + 1)])
    ax_path.plot(circle[:, 0], circle[:, 1], linestyle="--", color=GREY, linewidth=1.0, label="target's circle")
    steps = len(runs[0].distances) - 1
    _curve_axes(ax_dist, ax_lr, steps, radius)
    for run, (color, linestyle) in zip(runs, _styles(runs)):
        lap = run.params[-(period + 1):]
        ax_path.plot(lap[:, 0], lap[:, 1], color=color, linestyle=linestyle, linewidth=1.2, label=run.label)
        _draw_curves(ax_dist, ax_lr, run, color, linestyle)
    (x_min, x_max), (y_min, y_max) = problem.bounds
    ax_path.set(xlim=(x_min, x_max), ylim=(y_min, y_max), aspect="equal", xlabel="p₁", ylabel="p₂",
                title=f"last lap (steps {steps - period}–{steps})")
    fig.subplots_adjust(left=0.06, right=0.98, wspace=0.35)
    legend_below(fig, (ax_path, ax_dist, ax_lr), ncol=4, bottom=0.25)
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
        self.legend = None

    def draw(self, rho: float) -> Figure:
        r"""Run RMSProp with decay rate :math:`\rho` = ``rho`` and show it against AdaGrad."""
        rho = float(rho)
        for line in self._lines:
            line.remove()
        self.run = track("rmsprop", self.problem, steps=self.steps, lr=self.lr, rho=rho)
        self._lines = _draw_curves(*self.axes, self.run, plots.color_of("rmsprop"))
        if self.legend is not None:
            self.legend.remove()
        self.legend = legend_below(self.figure, self.axes, ncol=3, bottom=0.25)
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
