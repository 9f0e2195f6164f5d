r"""Explorers and figures of lesson 06 (Adam): bias correction, ε, and AMSGrad on Reddi et al.'s problem.

The runs are :mod:`optilab.experiments.adam`'s; this module draws them.

* :func:`bias_correction_explorer` — a checkbox turns Adam's bias correction off: with the
  default :math:`\beta_2 = 0.999` the first steps become several times too large, with
  :math:`\beta_2 = \beta_1` too small.
* :func:`reddi_explorer` — Adam and AMSGrad on the online problem of Reddi et al. (2018);
  move :math:`\beta_2` to see where Adam stops going to the worst point.
* :func:`eps_figure` — how :math:`\epsilon` turns Adam's steps from :math:`\pm\alpha` into
  plain (momentum) SGD steps :math:`\alpha g/\epsilon` once :math:`|g| \ll \epsilon`.

In a notebook::

    from optilab.widgets import adam
    adam.bias_correction_explorer()
"""

from __future__ import annotations

from typing import Any, Sequence

import ipywidgets as widgets
import numpy as np
from matplotlib.figure import Figure

from optilab import plots
from optilab.experiments.adam import (PATH_PROBLEM, average_regret, bias_correction_run, reddi_runs,
                                      steady_step_ratio, step_ratios)
from optilab.widgets.adaptive import legend_outside
from optilab.widgets.explorer import Explorer, register

__all__ = [
    "draw_bias_correction",
    "bias_correction_explorer",
    "eps_figure",
    "draw_reddi",
    "reddi_explorer",
]

BLUE, VERMILLION, GREY = plots.OKABE_ITO["blue"], plots.OKABE_ITO["vermillion"], "#8c8c8c"


_NAMES = {True: "with bias correction", False: "without bias correction"}
_COLORS = {True: BLUE, False: VERMILLION}


class _BiasCorrectionFigure:
    """The figure of :func:`bias_correction_explorer`, built once; :meth:`draw` updates its lines."""

    def __init__(self, beta1: float = 0.9, lr: float = 0.2, steps: int = 40, horizon: int = 200) -> None:
        self.beta1, self.lr, self.steps = beta1, lr, steps
        self.t = np.arange(1, horizon + 1)
        self.fig, (self.ax_ratio, self.ax_path) = plots.new_figure(figsize=(10.5, 4.2), ncols=2)
        self.ratio_lines, self.path_lines = {}, {}
        for variant in (True, False):
            self.ratio_lines[variant], = self.ax_ratio.plot(self.t, np.ones_like(self.t, dtype=float),
                                                            color=_COLORS[variant], label=_NAMES[variant])
        self.ax_ratio.set_xscale("log")
        self.ax_ratio.set_xlabel("step t")
        self.ax_ratio.set_ylabel("step length / α  (constant gradient)")
        plots.contour(PATH_PROBLEM, ax=self.ax_path, title=f"Adam, α = {lr:g}: the first {steps} steps")
        for variant in (True, False):
            self.path_lines[variant], = self.ax_path.plot([], [], marker="o", markersize=2.5,
                                                          color=_COLORS[variant], label=_NAMES[variant])
        self.ax_path.plot(*PATH_PROBLEM.x0, marker="o", markersize=7, color="white", markeredgecolor="black",
                          linestyle="none", label="start")

    def draw(self, bias_correction: bool = True, beta2: float = 0.999) -> Figure:
        beta2 = float(beta2)
        for variant in (True, False):
            chosen = variant is bool(bias_correction)
            style = {"linewidth": 2.0 if chosen else 1.0, "alpha": 1.0 if chosen else 0.4,
                     "linestyle": "-" if chosen else "--", "zorder": 3 if chosen else 2}
            ratios = step_ratios(len(self.t), bias_correction=variant, beta1=self.beta1, beta2=beta2)
            self.ratio_lines[variant].set_ydata(ratios)
            self.ratio_lines[variant].set(**style)
            points = bias_correction_run(variant, beta1=self.beta1, beta2=beta2, lr=self.lr, steps=self.steps).params
            self.path_lines[variant].set_data(points[:, 0], points[:, 1])
            self.path_lines[variant].set(**style)
        uncorrected = self.ratio_lines[False].get_ydata()
        self.ax_ratio.set_ylim(0, max(1.5, uncorrected.max() * 1.2))
        self.ax_ratio.set_title(f"β₁ = {self.beta1:g}, β₂ = {beta2:g}: uncorrected steps "
                                f"{uncorrected[0]:.2f}α at t = 1, up to {uncorrected.max():.2f}α", fontsize="medium")
        self.ax_ratio.legend(fontsize="small", loc="upper right")
        self.ax_path.legend(fontsize="small", loc="upper right", framealpha=0.85)
        return self.fig


def draw_bias_correction(bias_correction: bool = True, beta2: float = 0.999, *, beta1: float = 0.9,
                         lr: float = 0.2, steps: int = 40) -> Figure:
    r"""Left: step length over :math:`\alpha` for a constant gradient, with and without bias correction.
    Right: the first ``steps`` steps of both on a quadratic (:math:`\lambda = 1, 10`). The chosen
    variant is drawn solid, the other faint.
    """
    return _BiasCorrectionFigure(beta1, lr, steps).draw(bias_correction, beta2)


@register("06-adam-bias-correction")
def bias_correction_explorer(bias_correction: bool = True, beta2: float = 0.999) -> Explorer:
    r"""A checkbox for Adam's bias correction and a choice of :math:`\beta_2`.

    Untick the box: with :math:`\beta_2 = 0.999` the first steps are several times
    :math:`\alpha`; with :math:`\beta_2 = 0.9 = \beta_1` they are smaller than :math:`\alpha`.
    """
    box = widgets.Checkbox(value=bias_correction, description="bias correction")
    slider = widgets.SelectionSlider(options=[0.9, 0.99, 0.999, 0.9999], value=beta2, description="β₂",
                                     continuous_update=False)
    return Explorer({"bias_correction": box, "beta2": slider}, _BiasCorrectionFigure().draw,
                    title="Adam's first steps, with and without bias correction")


# -- epsilon ----------------------------------------------------------------------------------------
def eps_figure(eps_values: Sequence[float] = (1e-8, 1e-4, 1e-1)) -> Figure:
    """Adam's steady step over α against the gradient's size, one line per ε."""
    scales = np.logspace(-12, 1, 80)
    fig, ax = plots.new_figure(figsize=(7.4, 4.2))
    for color, eps in zip(plots.COLORS[1:], eps_values):
        ax.loglog(scales, steady_step_ratio(scales, eps), color=color, linewidth=1.8, label=f"ε = {eps:g}")
        ax.axvline(eps, color=color, linewidth=0.8, linestyle=":")
    ax.set_xlabel("gradient size |g|")
    ax.set_ylabel("step length / α")
    ax.set_title("Adam's step: α when |g| ≫ ε, α|g|/ε when |g| ≪ ε")
    legend_outside(ax)
    fig.subplots_adjust(right=0.78)
    return fig


# -- Reddi et al. --------------------------------------------------------------------------------
class _ReddiFigure:
    """The figure of :func:`reddi_explorer`, built once; :meth:`draw` updates its lines."""

    def __init__(self, C: float = 3.0) -> None:
        from matplotlib import patheffects

        self.C = float(C)
        self.fig, (self.ax_x, self.ax_regret) = plots.new_figure(figsize=(10.5, 4.2), ncols=2)
        self.x_lines, self.regret_lines = {}, {}
        for rule in ("adam", "amsgrad"):
            style: dict[str, Any] = {"color": plots.color_of(rule), "linewidth": 1.8}
            if rule == "amsgrad":  # the palette's yellow, outlined so it shows on white
                style["path_effects"] = [patheffects.withStroke(linewidth=3.2, foreground="#6b6b6b"),
                                         patheffects.Normal()]
            self.x_lines[rule], = self.ax_x.plot([], [], label=rule, **style)
            self.regret_lines[rule], = self.ax_regret.plot([], [], label=rule, **style)
        for y, text in ((-1, "best point x* = −1"), (1, "worst point x = +1")):
            self.ax_x.axhline(y, color=GREY, linestyle=":", linewidth=1)
            self.ax_x.text(0.98, y + (0.06 if y < 0 else -0.11), text, transform=self.ax_x.get_yaxis_transform(),
                           ha="right", fontsize="small")
        self.ax_x.set_ylim(-1.15, 1.15)
        self.ax_x.set_xlabel("step t")
        self.ax_x.set_ylabel("x_t")
        stuck = 2 * (self.C - 2) / 3
        self.ax_regret.axhline(stuck, color=GREY, linestyle=":", linewidth=1, label="2(C−2)/3: stuck at +1")
        self.ax_regret.set_xscale("log")
        self.ax_regret.set_ylim(-0.05, 1.6 * stuck)
        self.ax_regret.set_xlabel("step T")
        self.ax_regret.set_ylabel("average regret R_T / T")
        self.ax_regret.set_title("Average regret: → 0 when converging to x*", fontsize="medium")
        self.ax_regret.legend(fontsize="small", loc="upper right")

    def draw(self, beta2: float = 0.1) -> Figure:
        runs = reddi_runs(float(beta2), self.C)
        for rule, trace in runs.items():
            x = trace.params[:, 0]
            self.x_lines[rule].set_data(np.arange(len(x)), x)
            self.x_lines[rule].set_label(f"{rule}: x = {x[-1]:+.2f} at the end")
            self.regret_lines[rule].set_data(np.arange(1, len(x)), average_regret(trace, self.C))
        self.ax_x.set_xlim(0, len(x) - 1)
        self.ax_regret.set_xlim(1, len(x) - 1)
        self.ax_x.set_title(f"Reddi et al. (C = {self.C:g}), β₁ = 0, β₂ = {float(beta2):g}", fontsize="medium")
        self.ax_x.legend(fontsize="small", loc="center right")
        return self.fig


def draw_reddi(beta2: float = 0.1, C: float = 3.0) -> Figure:
    """Left: :math:`x_t` of Adam and AMSGrad on :func:`optilab.problems.reddi_online`. Right: their average regret."""
    return _ReddiFigure(C).draw(beta2)


@register("06-amsgrad-reddi")
def reddi_explorer(beta2: float = 0.1) -> Explorer:
    r"""Adam and AMSGrad on Reddi et al.'s problem, with a :math:`\beta_2` slider.

    At the paper's :math:`\beta_2 = 1/(1+C^2) = 0.1` Adam goes to the worst point; from about
    :math:`\beta_2 = 0.5` it no longer does. AMSGrad goes to the best point for every :math:`\beta_2`.
    """
    slider = widgets.SelectionSlider(options=[0.1, 0.2, 0.3, 0.5, 0.9, 0.99], value=beta2, description="β₂",
                                     continuous_update=False)
    return Explorer({"beta2": slider}, _ReddiFigure().draw, title="Adam and AMSGrad on Reddi et al.'s online problem")
