r"""Explorers and figures of lesson 07 (Beyond Adam): weight decay, schedules, generalisation.

The runs are :mod:`optilab.experiments.beyond_adam`'s; this module draws them.

* :func:`weight_decay_explorer` — Adam with L2 decay against AdamW, on weights whose
  gradients are pure noise of different sizes; move :math:`\lambda`.
* :func:`schedules_figure` and :func:`schedule_explorer` — SGD on a noisy Beale function under a
  learning-rate schedule; choose the schedule and its peak :math:`\alpha`.
* :func:`wilson_figure` — training and test error on the dataset of Wilson et al. (2017), where
  adaptive methods fit perfectly and generalise badly.

In a notebook::

    from optilab.widgets import beyond_adam
    beyond_adam.weight_decay_explorer()
"""

from __future__ import annotations

import functools

import ipywidgets as widgets
import numpy as np
from matplotlib.figure import Figure

from optilab import plots, problems, training
from optilab.experiments.beyond_adam import GRADIENT_SCALES, SCHEDULES, decay_runs, schedule_run, wilson_errors
from optilab.widgets.adaptive import legend_below
from optilab.widgets.explorer import Explorer, register

__all__ = [
    "weight_decay_explorer",
    "schedules_figure",
    "schedule_explorer",
    "wilson_figure",
]

GREY = "#8c8c8c"

# -- weight decay ---------------------------------------------------------------------------------
@functools.lru_cache(maxsize=64)
def _decay_runs(weight_decay: float, lr: float, steps: int) -> dict[str, np.ndarray]:
    return decay_runs(weight_decay, lr=lr, steps=steps)


class _DecayFigure:
    """The figure of :func:`weight_decay_explorer`, built once; :meth:`draw` updates its lines."""

    def __init__(self, lr: float = 0.02, steps: int = 300) -> None:
        self.lr, self.steps = lr, steps
        self.fig, axes = plots.new_figure(figsize=(10.5, 4.2), ncols=2)
        self.axes = dict(zip(("adam + L2", "adamw"), axes))
        self.lines: dict[str, list] = {}
        self.reference = {}
        t = np.arange(steps + 1)
        colors = (plots.OKABE_ITO["vermillion"], plots.OKABE_ITO["orange"], plots.OKABE_ITO["bluish green"],
                  plots.OKABE_ITO["blue"])
        for name, ax in self.axes.items():
            self.lines[name] = [ax.plot(t, np.ones_like(t, dtype=float), color=c, linewidth=1.8,
                                        label=f"gradient noise s = {s:g}")[0]
                                for c, s in zip(colors, GRADIENT_SCALES)]
            self.reference[name], = ax.plot(t, np.ones_like(t, dtype=float), color="black", linestyle="--",
                                            linewidth=1.0, label="(1 − αλ)ᵗ")
            ax.set_ylim(-0.05, 1.05)
            ax.set_xlim(0, steps)
            ax.set_xlabel("step t")
            ax.set_ylabel("mean weight")
        legend_below(self.fig, axes[:1], ncol=5, bottom=0.26)
        self.axes["adam + L2"].set_title("Adam + L2: λp added to g, then ÷ √v̂", fontsize="medium")
        self.axes["adamw"].set_title("AdamW: p shrunk by αλp, decoupled", fontsize="medium")

    def draw(self, weight_decay: float = 0.1) -> Figure:
        runs = _decay_runs(float(weight_decay), float(self.lr), int(self.steps))
        decay = (1 - self.lr * float(weight_decay)) ** np.arange(self.steps + 1)
        for name, means in runs.items():
            for line, column in zip(self.lines[name], means.T):
                line.set_ydata(column)
            self.reference[name].set_ydata(decay)
        self.fig.suptitle(f"Weights whose gradient is pure noise; α = {self.lr:g}, λ = {float(weight_decay):.3g}",
                          fontsize="medium")
        self.fig.subplots_adjust(top=0.84)
        return self.fig


@register("07-weight-decay")
def weight_decay_explorer(weight_decay: float = 0.1) -> Explorer:
    r"""L2 decay inside Adam against AdamW's decoupled decay, with a :math:`\lambda` slider.

    Under AdamW every group of weights follows :math:`(1-\alpha\lambda)^t`; under Adam + L2 the
    weights with large gradient noise are barely decayed and those with small noise collapse.
    """
    slider = widgets.SelectionSlider(options=[0.01, 0.03, 0.1, 0.3, 1.0], value=weight_decay, description="λ",
                                     continuous_update=False)
    return Explorer({"weight_decay": slider}, _DecayFigure().draw,
                    title="Weight decay: L2 inside Adam against AdamW")


# -- schedules --------------------------------------------------------------------------------------
def schedules_figure(lr: float = 0.04, steps: int = 300) -> Figure:
    """The learning rate of every schedule in :data:`SCHEDULES` against the step."""
    fig, ax = plots.new_figure(figsize=(6.4, 3.8))
    t = np.arange(steps)
    for color, (name, make) in zip(plots.COLORS, SCHEDULES.items()):
        schedule = make(lr, steps)
        ax.plot(t, [schedule(int(i)) for i in t], color=color, linewidth=1.8, label=name)
    ax.set_xlabel("step t")
    ax.set_ylabel("learning rate α_t")
    ax.set_ylim(0, 1.45 * lr)  # room for the legend above the lines
    ax.set_title(f"Learning-rate schedules, peak α = {lr:g}")
    ax.legend(fontsize="small", loc="upper right")
    return fig


def _outcome(trace: training.Trace) -> str:
    """'diverged', or the mean loss of the last 20 steps (the noise makes single values jumpy)."""
    return "diverged" if trace.diverged else f"final loss {np.mean(trace.losses[-20:]):.2g}"


def _finite_gap(losses: np.ndarray, low: float = 1e-5, high: float = 1e3) -> np.ndarray:
    """The losses clipped to the plot's range: a run that blew up runs into the top edge instead of vanishing."""
    return np.clip(np.where(np.isfinite(losses), losses, high), low, high)


class _ScheduleFigure:
    """The figure of :func:`schedule_explorer`, built once; :meth:`draw` updates it."""

    def __init__(self, steps: int = 300) -> None:
        self.steps = steps
        self.fig, (self.ax_lr, self.ax_loss) = plots.new_figure(figsize=(10.5, 4.0), ncols=2)
        self.fig.subplots_adjust(top=0.84)
        t, chosen = np.arange(steps), plots.color_of("sgd")  # the runs are SGD's
        self.lr_const, = self.ax_lr.plot(t, np.zeros(steps), color=GREY, linestyle="--", label="constant")
        self.lr_line, = self.ax_lr.plot(t, np.zeros(steps), color=chosen, linewidth=1.8, label="chosen schedule")
        self.ax_lr.set_xlabel("step t")
        self.ax_lr.set_ylabel("learning rate α_t")
        self.ax_lr.set_title("schedule")
        self.legend = None
        self.loss_const, = self.ax_loss.semilogy(np.arange(steps + 1), np.ones(steps + 1), color=GREY,
                                                 linestyle="--", label="constant")
        self.loss, = self.ax_loss.semilogy(np.arange(steps + 1), np.ones(steps + 1), color=chosen,
                                           linewidth=1.4, label="chosen schedule")
        self.ax_loss.set_xlim(0, steps)
        self.ax_loss.set_ylim(1e-5, 1e3)
        self.ax_loss.set_xlabel("step t")
        self.ax_loss.set_ylabel("loss f(x_t) (noise-free)")
        self.ax_loss.set_title("SGD on Beale's function, noise σ = 1")

    def draw(self, schedule: str = "warm-up (30 steps) + cosine", lr: float = 0.04) -> Figure:
        lr = float(lr)
        const, chosen = schedule_run("constant", lr, self.steps), schedule_run(schedule, lr, self.steps)
        make = SCHEDULES[schedule](lr, self.steps)
        self.lr_const.set_ydata(np.full(self.steps, lr))
        self.lr_line.set_ydata([make(int(i)) for i in range(self.steps)])
        self.ax_lr.set_ylim(0, 1.1 * lr)
        for line, trace in ((self.loss_const, const), (self.loss, chosen)):
            line.set_data(np.arange(len(trace.losses)), _finite_gap(trace.losses))
        self.loss_const.set_label(f"constant: {_outcome(const)}")
        self.loss.set_label(f"{schedule}: {_outcome(chosen)}")
        if self.legend is not None:
            self.legend.remove()
        self.legend = legend_below(self.fig, [self.ax_loss], ncol=2, bottom=0.24)
        self.fig.suptitle(f"{schedule}, peak α = {lr:.3g}", fontsize="medium")
        return self.fig


@register("07-schedules")
def schedule_explorer(schedule: str = "warm-up (30 steps) + cosine", lr: float = 0.04) -> Explorer:
    r"""SGD on a noisy Beale function: choose a schedule and its peak :math:`\alpha`.

    A constant :math:`\alpha` stalls at a noise floor or diverges; decaying schedules go lower;
    a warm-up lets a peak :math:`\alpha` that would diverge at the start work.
    """
    menu = widgets.Dropdown(options=list(SCHEDULES), value=schedule, description="schedule",
                            layout=widgets.Layout(width="340px"))
    slider = widgets.SelectionSlider(options=[0.005, 0.01, 0.02, 0.03, 0.04, 0.05, 0.06], value=lr,
                                     description="peak α", continuous_update=False)
    return Explorer({"schedule": menu, "lr": slider}, _ScheduleFigure().draw,
                    title="Learning-rate schedules on a noisy problem")


# -- generalisation: Wilson et al. ---------------------------------------------------------------------
def wilson_figure(data: problems.WilsonData, traces: dict[str, training.Trace]) -> Figure:
    """Training loss against the step (left); final training and test error of each rule (right)."""
    fig, (ax_loss, ax_error) = plots.new_figure(figsize=(10.5, 4.0), ncols=2)
    plots.loss_curves(traces, ax=ax_loss, title="training loss (least squares)")
    ax_loss.get_legend().remove()
    ax_loss.set_ylim(bottom=1e-20)
    x = np.arange(len(traces))
    finals = {rule: {split: errors[-1] for split, errors in wilson_errors(data, trace).items()}
              for rule, trace in traces.items()}
    colors = [plots.color_of(rule) for rule in traces]
    from matplotlib.patches import Patch

    for offset, split, hatch in ((-0.2, "train", ""), (0.2, "test", "//")):
        values = [f[split] for f in finals.values()]
        ax_error.bar(x + offset, values, width=0.4, color=colors, edgecolor="black", hatch=hatch)
        for xi, value in zip(x + offset, values):
            ax_error.text(xi, value + 0.015, f"{value:.0%}", ha="center", fontsize="x-small")
    ax_error.axhline(np.mean(data.y_test < 0), color=GREY, linestyle=":")
    ax_error.legend(handles=[Patch(facecolor="white", edgecolor="black", label="training error"),
                             Patch(facecolor="white", edgecolor="black", hatch="//", label="test error"),
                             ax_error.get_lines()[-1]], labels=["training error", "test error", "always predicting +1"],
                    fontsize="small", loc="upper left")
    ax_error.set_xticks(x, list(traces), rotation=25, ha="right", rotation_mode="anchor")
    ax_error.set_xlabel("optimizer")
    ax_error.set_ylim(0, 1)
    ax_error.set_ylabel("fraction misclassified")
    ax_error.set_title(f"error after {len(next(iter(traces.values())).losses) - 1} steps")
    legend_below(fig, [ax_loss], ncol=len(traces), bottom=0.3)
    return fig
