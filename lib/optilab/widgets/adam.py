r"""Explorers and figures of lesson 06 (Adam): bias correction, ε, and AMSGrad on Reddi et al.'s problem.

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

import functools
from typing import Any, Sequence

import ipywidgets as widgets
import numpy as np
from matplotlib.figure import Figure

from optilab import kernels, plots, problems, training
from optilab.widgets.explorer import Explorer, register

__all__ = [
    "adam_without_bias_correction",
    "step_ratios",
    "draw_bias_correction",
    "bias_correction_explorer",
    "steady_step_ratio",
    "eps_figure",
    "reddi_runs",
    "average_regret",
    "draw_reddi",
    "reddi_explorer",
]

BLUE, VERMILLION, GREY = plots.OKABE_ITO["blue"], plots.OKABE_ITO["vermillion"], "#8c8c8c"


def adam_without_bias_correction(param: np.ndarray, grad: np.ndarray, state: dict[str, Any], *,
                                 lr: float = 1e-3, beta1: float = 0.9, beta2: float = 0.999,
                                 eps: float = 1e-8) -> tuple[np.ndarray, dict[str, Any]]:
    r"""Adam with the bias corrections left out: the step uses :math:`m` and :math:`v` as they are.

    .. math::
        m \leftarrow \beta_1 m + (1-\beta_1) g, \quad
        v \leftarrow \beta_2 v + (1-\beta_2) g^2, \quad
        p \leftarrow p - \alpha\, \frac{m}{\sqrt{v} + \epsilon}

    Follows the update-rule contract (state ``t``, ``m``, ``v``), so it runs anywhere a rule
    does. For comparison with :func:`optilab.kernels.adam` only.
    """
    t = int(state.get("t", 0)) + 1
    m = beta1 * state.get("m", 0.0) + (1.0 - beta1) * grad
    v = beta2 * state.get("v", 0.0) + (1.0 - beta2) * grad * grad
    return param - lr * m / (np.sqrt(v) + eps), {"t": t, "m": m, "v": v}


def _adam(bias_correction: bool):
    return kernels.adam if bias_correction else adam_without_bias_correction


def step_ratios(steps: int, *, bias_correction: bool = True, beta1: float = 0.9, beta2: float = 0.999,
                eps: float = 0.0) -> np.ndarray:
    r"""Adam's step length in units of :math:`\alpha` for a constant gradient :math:`g = 1`, steps 1..``steps``.

    With bias correction every step is :math:`\alpha` exactly (:math:`\hat m = g`,
    :math:`\hat v = g^2`); without it, step :math:`t` is
    :math:`\alpha (1-\beta_1^t)/\sqrt{1-\beta_2^t}`. Computed by running the rule.
    """
    rule, p, state = _adam(bias_correction), np.zeros(1), {}
    ratios = np.empty(steps)
    for t in range(steps):
        new, state = rule(p, np.ones(1), state, lr=1.0, beta1=beta1, beta2=beta2, eps=eps)
        ratios[t], p = abs(float(new[0] - p[0])), new
    return ratios


_PATH_PROBLEM = problems.quadratic((1.0, 10.0))


@functools.lru_cache(maxsize=32)
def _path(bias_correction: bool, beta1: float, beta2: float, lr: float, steps: int) -> training.Trace:
    return training.run(_adam(bias_correction), _PATH_PROBLEM, steps=steps, lr=lr, beta1=beta1, beta2=beta2)


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
        plots.contour(_PATH_PROBLEM, ax=self.ax_path, title=f"Adam, α = {lr:g}: the first {steps} steps")
        for variant in (True, False):
            self.path_lines[variant], = self.ax_path.plot([], [], marker="o", markersize=2.5,
                                                          color=_COLORS[variant], label=_NAMES[variant])
        self.ax_path.plot(*_PATH_PROBLEM.x0, marker="o", markersize=7, color="white", markeredgecolor="black",
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
            points = _path(variant, self.beta1, beta2, self.lr, self.steps).params
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
def steady_step_ratio(grad_scales: Sequence[float], eps: float, *, steps: int = 50) -> np.ndarray:
    r"""Adam's step over :math:`\alpha` after ``steps`` steps of a constant gradient of each size.

    Bias correction makes :math:`\hat m = g` and :math:`\hat v = g^2` exactly, so this is
    :math:`|g| / (|g| + \epsilon)`: about 1 when :math:`|g| \gg \epsilon`, and
    :math:`|g|/\epsilon` (SGD with learning rate :math:`\alpha/\epsilon`) when :math:`|g| \ll \epsilon`.
    Computed by running :func:`optilab.kernels.adam` on all sizes at once.
    """
    g = np.asarray(grad_scales, dtype=float)
    p, state = np.zeros_like(g), {}
    for _ in range(steps):
        new, state = kernels.adam(p, g, state, lr=1.0, eps=eps)
        step, p = np.abs(new - p), new
    return step


def eps_figure(eps_values: Sequence[float] = (1e-8, 1e-4, 1e-1)) -> Figure:
    """Adam's steady step over α against the gradient's size, one line per ε."""
    scales = np.logspace(-12, 1, 80)
    fig, ax = plots.new_figure()
    for color, eps in zip(plots.COLORS[1:], eps_values):
        ax.loglog(scales, steady_step_ratio(scales, eps), color=color, linewidth=1.8, label=f"ε = {eps:g}")
        ax.axvline(eps, color=color, linewidth=0.8, linestyle=":")
    ax.set_xlabel("gradient size |g|")
    ax.set_ylabel("step length / α")
    ax.set_title("Adam's step: α when |g| ≫ ε, α|g|/ε when |g| ≪ ε")
    ax.legend(fontsize="small", loc="lower right")
    return fig


# -- Reddi et al. --------------------------------------------------------------------------------
def _decaying(lr: float):
    def schedule(t: int) -> float:
        return lr / np.sqrt(t + 1)

    schedule.__name__ = f"{lr:g}/sqrt(t+1)"
    return schedule


def reddi_runs(beta2: float, C: float = 3.0, steps: int = 400, lr: float = 0.5) -> dict[str, training.Trace]:
    r"""Adam and AMSGrad (:math:`\beta_1 = 0`, :math:`\alpha_t = \alpha/\sqrt{t+1}`) on
    :func:`optilab.problems.reddi_online`, from :math:`x_0 = 0`. Cached: the explorer reuses them.
    """
    return _reddi_runs(float(beta2), float(C), int(steps), float(lr))


@functools.lru_cache(maxsize=32)
def _reddi_runs(beta2: float, C: float, steps: int, lr: float) -> dict[str, training.Trace]:
    problem = problems.reddi_online(C)
    return {rule: training.run(rule, problem, steps=steps, lr=_decaying(lr), beta1=0.0, beta2=float(beta2))
            for rule in ("adam", "amsgrad")}


def average_regret(trace: training.Trace, C: float = 3.0) -> np.ndarray:
    r"""The average regret :math:`R_T/T = \frac1T\sum_{t<T} \big(f_t(x_t) - f_t(x^*)\big)`, for T = 1, 2, ...

    On :func:`optilab.problems.reddi_online` the best fixed point is :math:`x^* = -1`. An
    algorithm that converges to it has :math:`R_T/T \to 0`; one that sits at :math:`x = +1`
    keeps :math:`R_T/T \to 2(C-2)/3`.
    """
    problem = problems.reddi_online(C)
    x_star = problem.minimizer
    steps = len(trace.losses) - 1
    best = np.array([problem.loss(x_star, t) for t in range(steps)])
    return np.cumsum(trace.losses[:-1] - best) / np.arange(1, steps + 1)


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
