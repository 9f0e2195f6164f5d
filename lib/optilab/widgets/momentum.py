r"""Explorer and figures of lesson 03 (momentum and Nesterov).

* :func:`ravine_explorer` — sliders for :math:`\alpha` and :math:`\mu` redraw gradient descent,
  heavy-ball momentum and Nesterov on an ill-conditioned quadratic (contours and loss curves).
* :func:`stability_figure` — the rates :func:`optilab.experiments.momentum.measured_rates` measures
  over a grid of :math:`(\alpha\lambda, \mu)`, and where the runs diverge, against the stability
  region :math:`0 < \alpha\lambda < 2 + 2\mu`.

In a notebook::

    from optilab.widgets import momentum
    momentum.ravine_explorer()
"""

from __future__ import annotations

from typing import Any

import ipywidgets as widgets
import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from optilab import plots, problems, theory, training
from optilab.experiments.momentum import RULES_COMPARED, measured_rates, ravine, ravine_runs, ravine_settings
from optilab.widgets.explorer import Explorer, register

__all__ = [
    "stability_figure",
    "RavineFigure",
    "ravine_explorer",
]

STEPS = 100


def stability_figure(alpha_lambda: np.ndarray | None = None, mu: np.ndarray | None = None,
                     steps: int = 200) -> Figure:
    r"""Where heavy-ball momentum converges: measured rates, measured divergence and the theory's boundary.

    The colour is the rate measured by :func:`measured_rates` (darker is faster); the hatched
    area is where the runs diverged; the dashed line is :math:`\alpha\lambda = 2 + 2\mu` and the
    dotted one the critical damping :math:`\mu = (1 - \sqrt{\alpha\lambda})^2`, where for a given
    :math:`\alpha\lambda` the rate is smallest.
    """
    alpha_lambda = np.linspace(0.02, 4.5, 180) if alpha_lambda is None else np.asarray(alpha_lambda, float)
    mu = np.linspace(0.0, 0.98, 99) if mu is None else np.asarray(mu, float)
    A, M = np.meshgrid(alpha_lambda, mu)
    rates = measured_rates(A, M, steps=steps)
    fig, ax = plots.new_figure(figsize=(6.6, 4.4))
    mesh = ax.pcolormesh(A, M, np.minimum(rates, 1.0), cmap="cividis", vmin=0.0, vmax=1.0, shading="auto")
    fig.colorbar(mesh, ax=ax, label="measured rate per step (1 = no progress)")
    ax.contourf(A, M, (rates > 1).astype(float), levels=[0.5, 1.5], colors="none", hatches=["///"])
    ax.plot(2 + 2 * mu, mu, linestyle="--", color=plots.OKABE_ITO["vermillion"], linewidth=2.2,
            label="theory: αλ = 2 + 2μ")
    damped = alpha_lambda[(alpha_lambda > 0) & (alpha_lambda < 4)]
    ax.plot(damped, [theory.critical_momentum(a, 1.0) for a in damped], linestyle=":",
            color=plots.OKABE_ITO["sky blue"], linewidth=2.2, label="critical damping μ = (1 − √(αλ))²")
    ax.set_xlim(alpha_lambda.min(), alpha_lambda.max())
    ax.set_ylim(mu.min(), mu.max())
    ax.set_xlabel("αλ (step size × curvature)")
    ax.set_ylabel("momentum μ")
    ax.set_title(f"Heavy ball on f = ½λp², {steps} steps: where it converges")
    handles, labels = ax.get_legend_handles_labels()
    handles.insert(0, Patch(facecolor="white", edgecolor="black", hatch="///"))
    labels.insert(0, "measured: diverged")
    plots.legend_below(ax, ncols=2, handles=handles, labels=labels)
    fig.subplots_adjust(bottom=0.3)
    return fig


def _status(problem: problems.Problem, lr: float, momentum: float) -> str:
    """The title: αλmax against the heavy ball's bound 2 + 2μ, and each rule's rate from theory."""
    lam = problem.eigenvalues
    rates = {"GD": theory.gd_rate(lam, lr), "heavy ball": theory.momentum_rate(lam, lr, momentum),
             "Nesterov": theory.nesterov_rate(lam, lr, momentum)}
    said = ",  ".join(f"{name} {'diverges' if rate >= 1 else f'{rate:.3f}'}" for name, rate in rates.items())
    return (f"α = {lr:.3g}, μ = {momentum:.2f}:  αλmax = {lr * float(np.max(lam)):.2f}, "
            f"heavy ball stable below 2 + 2μ = {2 + 2 * momentum:.2f}\n"
            f"rate per step (theory): {said}")


class RavineFigure:
    r"""The explorer's figure: paths on the ravine's contours (left), :math:`f - f^*` against the step (right).

    The contours are drawn once; a redraw runs the three rules for :data:`STEPS` steps
    (:func:`optilab.experiments.momentum.ravine_runs`) and moves their lines. The traces of
    the last draw are kept in :attr:`traces`.
    """

    def __init__(self, problem: problems.Problem | None = None, steps: int = STEPS) -> None:
        self.problem = ravine() if problem is None else problem
        self.steps = int(steps)
        self.traces: dict[str, training.Trace] = {}
        self._made: dict[str, dict] = {}  # label -> the settings its trace was run with
        fig, (ax_path, ax_loss) = plots.new_figure(figsize=(10.5, 4.4), ncols=2)
        plots.contour(self.problem, ax=ax_path, title=f"paths on {self.problem.name}")
        self.paths: dict[str, Any] = {}
        self.losses: dict[str, Any] = {}
        for label, rule in RULES_COMPARED.items():
            style = {"color": plots.color_of(rule), "linestyle": plots.linestyle_of(rule),
                     "linewidth": 1.6 if rule != "sgd" else 1.2}
            self.paths[label], = ax_path.plot([], [], marker="o", markersize=2, label=label, zorder=3, **style)
            self.losses[label], = ax_loss.plot([], [], label=label, **style)
        ax_path.plot(*self.problem.x0, marker="o", markersize=7, color="white", markeredgecolor="black",
                     linestyle="none", label="start", zorder=5)
        plots.legend_below(ax_path, ncols=3)
        gap0 = self.problem.loss(self.problem.x0)
        plots.plain_log_yaxis(ax_loss, 1e-12 * gap0, 1e4 * gap0)
        ax_loss.set_xlim(0, self.steps)
        ax_loss.set_xlabel("step t")
        ax_loss.set_ylabel("f(p) − f*")
        ax_loss.set_title("loss")
        plots.legend_below(ax_loss, ncols=3)
        self.title = fig.suptitle("", fontsize="medium")
        fig.subplots_adjust(top=0.8, bottom=0.3)
        self.figure = fig

    def draw(self, lr: float, momentum: float) -> Figure:
        r"""Run the three rules with step :math:`\alpha` = ``lr`` (and :math:`\mu` = ``momentum``) and show them."""
        lr, momentum = float(lr), float(momentum)
        # A rule's trace is kept while its settings are unchanged: moving μ leaves gradient descent's.
        settings = ravine_settings(lr, momentum)
        stale = tuple(label for label, given in settings.items() if self._made.get(label) != given)
        self.traces = {**self.traces, **ravine_runs(lr, momentum, steps=self.steps, problem=self.problem, labels=stale)}
        self._made = settings
        for label, trace in self.traces.items():
            self.paths[label].set_data(trace.params[:, 0], trace.params[:, 1])
            gap = trace.losses - self.problem.min_loss
            self.losses[label].set_data(np.arange(len(gap)), np.where(gap > 0, gap, np.nan))
        self.title.set_text(_status(self.problem, lr, momentum))
        return self.figure


@register("03-momentum-ravine")
def ravine_explorer(lr: float = 0.02, momentum: float = 0.8) -> Explorer:
    r"""Gradient descent, heavy ball and Nesterov on the ravine, with sliders for :math:`\alpha` and :math:`\mu`.

    Parameters
    ----------
    lr : float
        The first :math:`\alpha` (log slider from 1e-3 to 0.2).
    momentum : float
        The first :math:`\mu` (slider from 0 to 0.99); gradient descent ignores it.
    """
    lr_slider = widgets.FloatLogSlider(value=lr, base=10, min=-3, max=np.log10(0.2), step=0.02,
                                       description="α (lr)", readout_format=".3g", continuous_update=False)
    mu_slider = widgets.FloatSlider(value=momentum, min=0.0, max=0.99, step=0.01, description="μ",
                                    readout_format=".2f", continuous_update=False)
    return Explorer({"lr": lr_slider, "momentum": mu_slider}, RavineFigure().draw,
                    title="Momentum on a ravine: move α and μ")
