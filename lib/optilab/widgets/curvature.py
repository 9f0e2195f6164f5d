r"""Figures and the explorer of lesson 11 (Curvature): drawing only.

The runs are :mod:`optilab.experiments.curvature`'s.

* :func:`paths_figure` — Newton, damped Newton and gradient descent on one 2-D problem: paths and losses.
* :func:`failures_figure` — the three ways pure Newton fails: a saddle, a maximum, far from the minimum.
* :func:`convergence_figure` — the loss gap of each method on the logistic regression, iteration by iteration.
* :func:`sharpness_figure` — sharpness during full-batch GD (or Adam's preconditioned sharpness, or SAM's)
  against its stability threshold.
* :func:`newton_explorer` — choose a problem and a starting point: where each method goes.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import ipywidgets as widgets
import numpy as np
from matplotlib.figure import Figure

from optilab import plots, problems, second_order
from optilab.experiments import curvature as runs
from optilab.widgets.explorer import Explorer, register

__all__ = ["METHOD_COLORS", "RUN_COLORS", "paths_figure", "failures_figure", "convergence_figure",
           "sharpness_figure", "EXPLORER_PROBLEMS", "newton_explorer"]

#: One colour per method (Okabe–Ito; gradient descent keeps its rule's colour).
METHOD_COLORS = {"Newton": plots.OKABE_ITO["vermillion"], "damped Newton": plots.OKABE_ITO["bluish green"],
                 "gradient descent + line search": plots.color_of("sgd"),
                 "L-BFGS (fixed step, as torch)": plots.OKABE_ITO["orange"],
                 "L-BFGS + line search": plots.OKABE_ITO["reddish purple"],
                 "Newton (damped)": plots.OKABE_ITO["bluish green"]}
#: Colours of the runs of a sharpness figure, in order.
RUN_COLORS = (plots.OKABE_ITO["blue"], plots.OKABE_ITO["orange"], plots.OKABE_ITO["bluish green"],
              plots.OKABE_ITO["vermillion"])
_RULE_NAMES = {"sgd": "GD", "adam": "Adam", "sam": "SAM"}
_MARKERS = {"Newton": "o", "damped Newton": "s", "gradient descent + line search": "."}


def _draw_paths(ax, problem: problems.Problem, found: Mapping[str, second_order.Run], title: str,
                bounds=None) -> None:
    plots.contour(problem, ax=ax, title=title, bounds=bounds)
    for name, run in found.items():
        ax.plot(run.params[:, 0], run.params[:, 1], marker=_MARKERS[name], markersize=3.5, linewidth=1.4,
                color=METHOD_COLORS[name], label=name, zorder=3)
    x0 = next(iter(found.values())).params[0]
    ax.plot(*x0, marker="o", markersize=7, color="white", markeredgecolor="black", linestyle="none", label="start",
            zorder=5)


def paths_figure(problem: problems.Problem, found: Mapping[str, second_order.Run], target: float = 1e-10) -> Figure:
    """The methods' paths on the contours (left) and :math:`f(x_t) - f^*` against the iteration (right)."""
    fig, (ax_path, ax_loss) = plots.new_figure(figsize=(10.5, 4.6), ncols=2)
    _draw_paths(ax_path, problem, found, f"paths on {problem.name}")
    ax_path.get_legend().remove()
    for name, run in found.items():
        gap = run.losses - problem.min_loss
        ax_loss.semilogy(np.arange(len(gap)), np.where(gap > 0, gap, np.nan), color=METHOD_COLORS[name],
                         linewidth=1.6, label=name)
    ax_loss.axhline(target, color="#6b6b6b", linestyle=":", linewidth=1.0, label=f"target {target:g}")
    ax_loss.set_xscale("symlog", linthresh=10)
    ax_loss.set_xlim(0, max(len(run.losses) for run in found.values()))
    ax_loss.set(xlabel="iteration (linear to 10, then log)", ylabel="f(x) − f*", title="loss against iteration")
    handles, labels = ax_path.get_legend_handles_labels()
    extra = ax_loss.get_legend_handles_labels()
    fig.legend(handles + extra[0][-1:], labels + extra[1][-1:], loc="lower center", ncols=3, fontsize="small",
               frameon=False)
    fig.subplots_adjust(bottom=0.3, wspace=0.35)
    return fig


def failures_figure() -> Figure:
    """Three panels: the saddle, Himmelblau from near its maximum, and :func:`~optilab.experiments.curvature.soft_abs`
    from radius > 1 — each with the three methods' paths."""
    fig, axes = plots.new_figure(figsize=(10.5, 4.3), ncols=3)
    panels = ((problems.saddle(), runs.saddle_runs(), "saddle: stops on it", None),
              (problems.himmelblau(), runs.himmelblau_runs(), "Himmelblau: climbs", ((-5, 5), (-5, 5))),
              (runs.soft_abs(), runs.soft_abs_runs(), "√(1+r²)−1: overshoots", None))
    for ax, (problem, found, title, bounds) in zip(axes, panels):
        _draw_paths(ax, problem, found, title, bounds)
        if ax.get_legend() is not None:
            ax.get_legend().remove()
        ax.tick_params(labelsize="small")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncols=4, fontsize="small", frameon=False)
    fig.suptitle("Where pure Newton fails (paths cut at the window's edge)", fontsize="medium")
    fig.subplots_adjust(left=0.07, right=0.98, bottom=0.25, top=0.84, wspace=0.35)
    return fig


def convergence_figure(found: Mapping[str, second_order.Run], minimum: float) -> Figure:
    """:math:`L(x_t) - L^*` of each method on the logistic regression, against the iteration."""
    fig, ax = plots.new_figure(figsize=(7.6, 4.4))
    for name, run in found.items():
        gap = run.losses - minimum
        ax.semilogy(np.arange(len(gap)), np.where(gap > 0, gap, np.nan), color=METHOD_COLORS[name], linewidth=1.8,
                    label=f"{name} ({run.evaluations} evaluations)")
    ax.set(xlabel="iteration", ylabel="L(w) − L* (log scale)",
           title="Regularised logistic regression (breast cancer, 31 parameters)")
    ax.set_ylim(1e-15, 1.0)
    plots.legend_below(ax, ncols=2)
    fig.subplots_adjust(bottom=0.32)
    return fig


def sharpness_figure(found: Sequence[runs.SharpnessRun], title: str, ylabel: str = "sharpness λmax(H)",
                     threshold_label: str = "2/η") -> Figure:
    """Sharpness against the step for each run (solid), its threshold (dashed, same colour); the training
    loss on the right."""
    fig, (ax, ax_loss) = plots.new_figure(figsize=(10.5, 4.4), ncols=2)
    drawn: set[float] = set()
    for run, color in zip(found, RUN_COLORS):
        label = f"{_RULE_NAMES.get(run.rule, run.rule)}, η = {run.lr:g}"
        ax.plot(run.at, run.sharpness, color=color, linewidth=1.6, label=label)
        if run.threshold not in drawn:
            drawn.add(run.threshold)
            ax.axhline(run.threshold, color=color, linestyle="--", linewidth=1.2,
                       label=f"{threshold_label} = {run.threshold:.3g}")
        ax_loss.semilogy(np.arange(len(run.losses)), run.losses, color=color, linewidth=1.4, label=label)
    top = max(max(float(r.sharpness.max()), r.threshold) for r in found)
    ax.set_ylim(0, 1.15 * top)
    ax.set(xlabel="step", ylabel=ylabel, title=title)
    ax_loss.set(xlabel="step", ylabel="training loss (log scale)", title="training loss")
    plots.legend_below(ax, ncols=2)
    plots.legend_below(ax_loss, ncols=1)
    fig.subplots_adjust(bottom=0.36, wspace=0.35)
    return fig


# -- the explorer -----------------------------------------------------------------------------------------

#: The explorer's problems; the window of every one is the same square, so the start sliders fit all.
EXPLORER_PROBLEMS = {"Rosenbrock": problems.rosenbrock, "Himmelblau": problems.himmelblau,
                     "saddle x² − y²": problems.saddle, "√(1 + x² + y²) − 1": runs.soft_abs}
WINDOW = ((-3.0, 3.0), (-3.0, 3.0))
EXPLORER_STEPS = 40


def _kind(eigenvalues: np.ndarray) -> str:
    if np.all(eigenvalues > 0):
        return "a minimum"
    if np.all(eigenvalues < 0):
        return "a maximum"
    return "a saddle"


class _NewtonFigure:
    """Paths on the contours (left), gradient norm against the iteration (right); one view per problem."""

    def __init__(self) -> None:
        self._views: dict[str, dict] = {}
        self._problems = {name: build() for name, build in EXPLORER_PROBLEMS.items()}

    def _view(self, name: str) -> dict:
        if name in self._views:
            return self._views[name]
        problem = self._problems[name]
        fig, (ax_path, ax_grad) = plots.new_figure(figsize=(10.5, 4.8), ncols=2)
        plots.contour(problem, ax=ax_path, bounds=WINDOW, title="")
        lines, grads = {}, {}
        for method in runs.NEWTON_METHODS:
            lines[method], = ax_path.plot([], [], marker=_MARKERS[method], markersize=3.5, linewidth=1.4,
                                          color=METHOD_COLORS[method], label=method, zorder=3)
            grads[method], = ax_grad.semilogy([], [], color=METHOD_COLORS[method], linewidth=1.6, label=method)
        start, = ax_path.plot([], [], marker="o", markersize=7, color="white", markeredgecolor="black",
                              linestyle="none", label="start", zorder=5)
        plots.legend_below(ax_path, ncols=2)
        ax_grad.set(xlim=(0, EXPLORER_STEPS), ylim=(1e-12, 1e6), xlabel="iteration", ylabel="‖∇f(x)‖ (log scale)")
        plots.legend_below(ax_grad, ncols=1)
        ax_path.text(0.5, 1.03, problem.name, ha="center", va="bottom", transform=ax_path.transAxes,
                     fontsize="medium")
        ax_grad.text(0.5, 1.03, "gradient norm: 0 at any stationary point", ha="center", va="bottom",
                     transform=ax_grad.transAxes, fontsize="medium")
        report = fig.text(0.99, 0.02, "", ha="right", va="bottom", fontsize="small")
        fig.subplots_adjust(bottom=0.42, top=0.9, wspace=0.35)
        view = {"fig": fig, "lines": lines, "grads": grads, "start": start, "report": report, "problem": problem}
        self._views[name] = view
        return view

    def draw(self, problem: str, x0: float, y0: float) -> Figure:
        view = self._view(problem)
        p = view["problem"]
        start = np.array([x0, y0], dtype=float)
        view["start"].set_data([x0], [y0])
        ends = []
        for method in runs.NEWTON_METHODS:
            run = runs.method_run(p, method, start, EXPLORER_STEPS)
            view["lines"][method].set_data(run.params[:, 0], run.params[:, 1])
            view["grads"][method].set_data(np.arange(len(run.grad_norms)), np.maximum(run.grad_norms, 1e-12))
            end = run.final
            if "diverged" in " ".join(run.notes) or not np.all(np.isfinite(end)):
                ends.append(f"{method}: diverged")
            else:
                kind = _kind(np.linalg.eigvalsh(second_order.hessian(p, end)))
                still = run.grad_norms[-1] > 1e-6
                ends.append(f"{method}: f = {p.loss(end):.4g} at ({end[0]:.2f}, {end[1]:.2f})"
                            + (", still moving" if still else f", {kind}"))
        view["report"].set_text("\n".join(ends))
        return view["fig"]


@register("11-newton")
def newton_explorer(problem: str = "Himmelblau", x0: float = -0.6, y0: float = -0.4) -> Explorer:
    """Choose a problem and a start: Newton, damped Newton and gradient descent with a line search,
    40 iterations each, and what each ends at (the Hessian's eigenvalues there tell a minimum from a
    saddle or a maximum)."""
    if problem not in EXPLORER_PROBLEMS:
        raise KeyError(f"unknown problem {problem!r}; choose one of {list(EXPLORER_PROBLEMS)}")
    menu = widgets.Dropdown(options=list(EXPLORER_PROBLEMS), value=problem, description="problem")
    sliders = {name: widgets.FloatSlider(value=value, min=WINDOW[i][0], max=WINDOW[i][1], step=0.05,
                                         description=f"start {label}", readout_format=".2f",
                                         continuous_update=False)
               for i, (name, value, label) in enumerate((("x0", x0, "x₁"), ("y0", y0, "x₂")))}
    return Explorer({"problem": menu, **sliders}, _NewtonFigure().draw,
                    title="Newton, damped Newton, gradient descent: move the starting point",
                    warm=[{"problem": name} for name in EXPLORER_PROBLEMS if name != problem])
