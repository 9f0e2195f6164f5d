r"""Explorer of lesson 01: gradient descent's step size on a 2-D problem.

Move the learning rate :math:`\alpha` and watch the path of :math:`p \leftarrow p - \alpha g` on
the contours and its loss curve. On a quadratic the loss panel also draws the theory,
:math:`f(p_t) - f^* \le r^{2t}\,(f(p_0) - f^*)` with :math:`r = \max_i |1 - \alpha\lambda_i|`
(:func:`optilab.theory.gd_rate`) beside the rate measured on the run
(:func:`optilab.experiments.gradient_descent.measured_rate`), and the title says where
:math:`\alpha` sits relative to the best step :math:`2/(\lambda_{\min}+\lambda_{\max})` and the
edge of stability :math:`2/\lambda_{\max}`.

In a notebook::

    from optilab.widgets.gradient_descent import step_size_explorer
    step_size_explorer()
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import ipywidgets as widgets
import numpy as np
from matplotlib.figure import Figure

from optilab import plots, problems, theory, training
from optilab.experiments.gradient_descent import measured_rate
from optilab.widgets.explorer import Explorer, register

__all__ = ["PROBLEMS", "StepSizeFigure", "step_size_explorer"]


@dataclass(frozen=True)
class _Choice:
    build: Callable[[], problems.Problem]
    lr: float  # a step that works, set when the problem is chosen
    steps: int = 60  # enough to see where the run is going


#: The explorer's problems by display name, each with a learning rate that converges.
PROBLEMS: dict[str, _Choice] = {
    "quadratic (κ = 10)": _Choice(lambda: problems.quadratic((1.0, 10.0)), 0.1),
    "tilted quadratic (κ = 10)": _Choice(lambda: problems.quadratic((1.0, 10.0), angle=np.pi / 6), 0.1),
    "narrow ravine (κ = 50)": _Choice(lambda: problems.quadratic((1.0, 50.0)), 0.03),
    "Rosenbrock": _Choice(problems.rosenbrock, 1.5e-3, steps=400),
    "Himmelblau": _Choice(problems.himmelblau, 0.01, steps=100),
    "saddle x² − y²": _Choice(problems.saddle, 0.1),
}

_PROBLEM_CACHE: dict[str, problems.Problem] = {}


def _problem(name: str) -> problems.Problem:
    if name not in PROBLEMS:
        raise KeyError(f"unknown problem {name!r}; choose one of {list(PROBLEMS)}")
    if name not in _PROBLEM_CACHE:
        _PROBLEM_CACHE[name] = PROBLEMS[name].build()
    return _PROBLEM_CACHE[name]


def _status(problem: problems.Problem, lr: float) -> str:
    """One line on where α sits: against the best step and the edge of stability on a quadratic."""
    if problem.eigenvalues is None or np.any(problem.eigenvalues <= 0):
        return f"α = {lr:.3g}"
    best, edge = theory.gd_best_lr(problem.eigenvalues), theory.gd_max_lr(problem.eigenvalues)
    verdict = ("diverges" if lr > edge else "best step" if abs(lr / best - 1) < 0.03 else
               "above the best step: zig-zag" if lr > best else "below the best step")
    return f"α = {lr:.3g}: {verdict}   (best 2/(λmin+λmax) = {best:.3g}, edge 2/λmax = {edge:.3g})"


def _last_shown(params: np.ndarray, bounds) -> tuple[np.ndarray, np.ndarray]:
    """The last iterate that lies inside the window (a run that diverged leaves it): ([x], [y])."""
    (x0, x1), (y0, y1) = bounds
    inside = np.flatnonzero((params[:, 0] >= x0) & (params[:, 0] <= x1) & (params[:, 1] >= y0) & (params[:, 1] <= y1))
    last = params[inside[-1]] if inside.size else params[0]
    return np.array([last[0]]), np.array([last[1]])


class StepSizeFigure:
    """The explorer's figure: a path on the contours (left) and the loss against the step (right).

    The contours are drawn once per problem; moving α only updates the lines, so a redraw
    costs a run of gradient descent and a few ``set_data`` calls. :meth:`draw` returns the
    problem's figure, updated.

    Parameters
    ----------
    steps : int, optional
        Steps of gradient descent per run; by default each problem's own (:data:`PROBLEMS`).
    """

    def __init__(self, steps: int | None = None) -> None:
        self.steps = steps
        self.trace: training.Trace | None = None
        self._views: dict[str, dict[str, Any]] = {}

    def _view(self, name: str) -> dict[str, Any]:
        if name in self._views:
            return self._views[name]
        p = _problem(name)
        steps = PROBLEMS[name].steps if self.steps is None else int(self.steps)
        fig, (ax_path, ax_loss) = plots.new_figure(figsize=(10.5, 4.2), ncols=2)
        plots.contour(p, ax=ax_path, title=p.name)
        color = plots.color_of("sgd")
        path, = ax_path.plot([], [], marker="o", markersize=2.5, color=color, linewidth=1.6, label="GD path",
                             zorder=3)
        end, = ax_path.plot([], [], marker="s", markersize=6, color=color, markeredgecolor="black",
                            linestyle="none", zorder=5, label="last iterate")
        ax_path.plot(*p.x0, marker="o", markersize=7, color="white", markeredgecolor="black",
                     linestyle="none", label="start", zorder=5)
        plots.legend_below(ax_path, ncols=4)
        quadratic = p.eigenvalues is not None and bool(np.all(p.eigenvalues > 0))
        loss, = ax_loss.plot([], [], color=color, linewidth=1.6, label="gradient descent")
        theory_line = None
        if quadratic:
            theory_line, = ax_loss.plot([], [], linestyle="--", color=plots.OKABE_ITO["vermillion"], linewidth=1.4,
                                        label="theory: (f(p₀) − f*)·r^(2t)")
        if p.min_loss is not None:
            gap0 = p.loss(p.x0) - p.min_loss
            plots.plain_log_yaxis(ax_loss, 1e-12 * gap0, 1e4 * gap0, numticks=7)
            ax_loss.set_ylabel("f(p) − f*")
        else:
            ax_loss.set_ylabel("f(p)")
            ax_loss.set_ylim(-2.0, 1.5 * p.loss(p.x0))
        ax_loss.set_xlim(0, steps)
        ax_loss.set_xlabel("step t")
        ax_loss.set_title("loss")
        plots.legend_below(ax_loss, ncols=2)
        note = ax_loss.text(0.03, 0.04, "", transform=ax_loss.transAxes, fontsize="small",
                            bbox={"facecolor": "white", "alpha": 0.85, "edgecolor": "#cccccc"})
        title = fig.suptitle("", fontsize="medium")
        fig.subplots_adjust(top=0.86, bottom=0.3)
        view = {"problem": p, "steps": steps, "figure": fig, "path": path, "end": end, "loss": loss, "theory": theory_line,
                "note": note, "title": title, "ax_loss": ax_loss}
        self._views[name] = view
        return view

    def draw(self, problem: str, lr: float) -> Figure:
        """Run gradient descent with step ``lr`` on ``problem`` and show it; returns the figure."""
        view = self._view(problem)
        p, lr = view["problem"], float(lr)
        trace = self.trace = training.run("sgd", p, steps=view["steps"], lr=lr)
        view["path"].set_data(trace.params[:, 0], trace.params[:, 1])
        view["end"].set_data(*_last_shown(trace.params, p.bounds))
        view["end"].set_marker("X" if trace.diverged else "s")
        t = np.arange(len(trace.losses))
        if p.min_loss is not None:
            gap = trace.losses - p.min_loss
            view["loss"].set_data(t, np.where(gap > 0, gap, np.nan))
        else:
            view["loss"].set_data(t, trace.losses)
        note = "diverged: stopped at step %d (×: last iterate in view)" % trace.steps if trace.diverged else ""
        if view["theory"] is not None:
            rate = theory.gd_rate(p.eigenvalues, lr)
            t_all = np.arange(view["steps"] + 1)
            with np.errstate(over="ignore"):
                view["theory"].set_data(t_all, (p.loss(p.x0) - p.min_loss) * rate ** (2.0 * t_all))
            measured = measured_rate(trace, p.minimizer)
            note = f"rate r = max|1 − αλ|\ntheory {rate:.3f}, measured {measured:.3f}" + (f"\n{note}" if note else "")
        view["note"].set_text(note)
        view["note"].set_visible(bool(note))
        view["title"].set_text(_status(p, lr))
        return view["figure"]


@register("01-gd-step-size")
def step_size_explorer(problem: str = "quadratic (κ = 10)", lr: float | None = None,
                       steps: int | None = None) -> Explorer:
    """Gradient descent with a learning-rate slider (log scale) and a problem menu.

    Choosing a problem moves the slider to a step that works there; from it, move right to
    see oscillation and divergence, left to see the crawl.

    Parameters
    ----------
    problem : str
        The problem shown first, a key of :data:`PROBLEMS`.
    lr : float, optional
        The first learning rate (defaults to the problem's).
    steps : int, optional
        Steps per run; by default each problem's own.
    """
    _problem(problem)  # fail early on an unknown name
    menu = widgets.Dropdown(options=list(PROBLEMS), value=problem, description="problem")
    slider = widgets.FloatLogSlider(value=PROBLEMS[problem].lr if lr is None else lr, base=10, min=-4, max=0,
                                    step=0.02, description="α (lr)", readout_format=".3g",
                                    continuous_update=False)

    def reset_lr(change: dict) -> None:  # registered before the explorer's own observer, so it runs first
        slider.value = PROBLEMS[change["new"]].lr

    menu.observe(reset_lr, names="value")
    # each problem has its own figure: each one is built and its background painted once when built
    return Explorer({"problem": menu, "lr": slider}, StepSizeFigure(steps).draw,
                    title="Gradient descent: move the step size α",
                    warm=[{"problem": name, "lr": PROBLEMS[name].lr} for name in PROBLEMS if name != problem])
