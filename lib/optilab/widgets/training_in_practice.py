r"""Figures and the explorer of lesson 10 (Training in practice): drawing only.

The runs are :mod:`optilab.experiments.training_in_practice`'s, made once and cached, so the explorer
only chooses among them.

* :func:`range_test_figure` — the LR range test: loss against a growing learning rate, and its suggestions.
* :func:`schedules_figure` — four schedules of one peak rate, step by step.
* :func:`update_ratio_figure` — :math:`\|\Delta W\|/\|W\|` of the first layer at several learning rates.
* :func:`batch_size_figure` — steps to a target loss against the batch size with McCandlish et al.'s fit, and the
  tuned learning rate against the linear-scaling rule.
* :func:`schedule_explorer` — choose a peak rate: the schedules and their validation losses over five seeds.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import ipywidgets as widgets
import numpy as np
from matplotlib.figure import Figure

from optilab import plots
from optilab.experiments import batch_size as batch
from optilab.experiments import training_in_practice as runs
from optilab.lr_finder import RangeTest
from optilab.widgets.explorer import Explorer, register

__all__ = ["SCHEDULE_COLORS", "PEAKS", "range_test_figure", "schedules_figure", "update_ratio_figure",
           "batch_size_figure", "schedule_explorer"]

#: One colour per schedule (Okabe–Ito).
SCHEDULE_COLORS = {"constant": plots.OKABE_ITO["black"], "warm-up + cosine": plots.OKABE_ITO["blue"],
                   "one-cycle": plots.OKABE_ITO["orange"], "warm-up, stable, decay": plots.OKABE_ITO["bluish green"]}
#: The peak rates the explorer offers (their runs are made when it is built).
PEAKS = (1.0, 3.0)


def range_test_figure(result: RangeTest) -> Figure:
    """Minibatch loss (grey) and its smoothed value against the lr, with the two suggestions marked."""
    fig, ax = plots.new_figure(figsize=(7.6, 4.2))
    ax.semilogx(result.lrs, result.losses, color="#b0b0b0", linewidth=1.0, label="minibatch loss")
    ax.semilogx(result.lrs, result.smoothed, color=plots.OKABE_ITO["blue"], linewidth=2.0,
                label="smoothed (β = 0.98, debiased)")
    ax.axvline(result.steep, color=plots.OKABE_ITO["vermillion"], linestyle="--", linewidth=1.4,
               label=f"steepest fall: {result.steep:.2g}")
    ax.axvline(result.minimum, color=plots.OKABE_ITO["bluish green"], linestyle=":", linewidth=1.8,
               label=f"minimum / 10: {result.minimum:.2g}")
    top = 2.5 * float(np.nanmin(result.smoothed[:10]))
    ax.set_ylim(0.0, max(top, float(np.nanmax(result.smoothed[:-1]))))
    ax.set(xlabel="learning rate α (grows every step)", ylabel="training loss (cross-entropy)",
           title="Learning-rate range test: SGD on the breast-cancer MLP")
    plots.legend_below(ax)  # below, not beside: the figure keeps its width in the notebook column
    return fig


def schedules_figure(peak: float) -> Figure:
    """The learning rate of every step, for each schedule of :func:`~optilab.experiments.training_in_practice.schedules_at`."""
    fig, ax = plots.new_figure(figsize=(7.6, 4.0))
    steps = np.arange(runs.steps())
    for name, schedule in runs.schedules_at(peak).items():
        ax.plot(steps, [schedule(int(t)) for t in steps], color=SCHEDULE_COLORS[name], linewidth=1.8, label=name)
    ax.set(xlabel="step", ylabel="learning rate α", title=f"Four ways to use a peak rate of {peak:g}")
    plots.legend_below(ax)  # below, not beside: the figure keeps its width in the notebook column
    return fig


def update_ratio_figure(lrs: Sequence[float] = (0.1, 1.0, 10.0)) -> Figure:
    """:math:`\\|\\Delta W_1\\|/\\|W_1\\|` at every step, for each learning rate, with CS231n's 1e-3 dotted."""
    fig, ax = plots.new_figure(figsize=(7.6, 4.0))
    for lr, color in zip(lrs, (plots.OKABE_ITO["blue"], plots.OKABE_ITO["orange"], plots.OKABE_ITO["vermillion"],
                               plots.OKABE_ITO["reddish purple"])):
        ratios = runs.update_ratios(float(lr))["W1"]
        ax.semilogy(np.arange(1, len(ratios) + 1), ratios, color=color, linewidth=1.2, label=f"α = {lr:g}")
    ax.axhline(1e-3, color="#6b6b6b", linestyle=":", linewidth=1.2, label="1e-3 (a rule of thumb)")
    ax.set(xlabel="step", ylabel="‖ΔW₁‖ / ‖W₁‖ (log scale)", title="Update-to-weight ratio of the first layer")
    plots.legend_below(ax)  # below, not beside: the figure keeps its width in the notebook column
    return fig


def batch_size_figure(summary: Mapping) -> Figure:
    """Left: median steps to the target against B (bars: the seeds' interval), the fit S_min(1 + B_noise φ(B)), its
    floor S_min and perfect scaling (steps halve when B doubles). Right: the tuned rate against B, the linear-scaling
    rule from the smallest batch, and the full batch's tuned rate α_max.

    ``summary`` is :func:`optilab.experiments.batch_size.batch_size_summary`'s.
    """
    rows, n = summary["tuned"], summary["n"]
    s_min, b_noise = summary["fit"]
    sizes = np.array([r["batch size"] for r in rows], dtype=float)
    median = np.array([r["median"] for r in rows])
    low, high = np.array([r["low"] for r in rows]), np.array([r["high"] for r in rows])
    fig, (left, right) = plots.new_figure(figsize=(8.4, 4.5), ncols=2)
    fig.subplots_adjust(left=0.09, right=0.98, bottom=0.38, top=0.9, wspace=0.32)
    B = np.unique(np.concatenate([np.geomspace(sizes[0], n, 200), sizes]))
    left.loglog(B, [batch.predicted_steps(b, s_min, b_noise, n) for b in B], color=plots.OKABE_ITO["vermillion"],
                linewidth=1.8, label=f"fit: S_min (1 + B_noise φ(B)), B_noise ≈ {b_noise:.0f}")
    left.loglog(B, median[0] * sizes[0] / B, color=plots.OKABE_ITO["sky blue"], linestyle=":", linewidth=1.8,
                label="perfect scaling: steps ∝ 1/B")
    left.axhline(s_min, color="#6b6b6b", linestyle="--", linewidth=1.2, label=f"S_min ≈ {s_min:.0f}")
    left.axvline(b_noise, color=plots.OKABE_ITO["bluish green"], linestyle="-.", linewidth=1.4,
                 label="the critical batch, B = B_noise")
    finite_high = np.where(np.isfinite(high), high, median)
    left.errorbar(sizes, median, yerr=[median - low, finite_high - median], fmt="o", color=plots.color_of("sgd"),
                  capsize=3, markersize=5,
                  label=f"measured: median of {len(rows[0]['steps'])} seeds, {rows[0]['coverage']:.0%} interval")
    left.set_ylim(0.6 * min(s_min, low.min()), 1.6 * finite_high.max())
    left.set(xlabel="batch size B (the last: the whole fit set)",
             ylabel=f"SGD steps to a loss of {summary['target']:g}",
             title="Steps to the target, tuned rate per B")
    lr = np.array([r["lr"] for r in rows])
    right.loglog(B, lr[0] * B / sizes[0], color=plots.OKABE_ITO["sky blue"], linestyle=":", linewidth=1.8,
                 label="linear scaling: α ∝ B")
    right.axhline(summary["alpha max"], color="#6b6b6b", linestyle="--", linewidth=1.2,
                  label=f"α_max = {summary['alpha max']:.2g}, the full batch's")
    right.loglog(sizes, lr, "o", color=plots.color_of("sgd"), markersize=6, label="tuned (grid √2 apart)")
    right.set_ylim(0.5 * lr.min(), 3 * lr.max())
    right.set(xlabel="batch size B", ylabel="learning rate α with the fewest steps", title="The tuned learning rate")
    plots.legend_below(left, ncols=1, bbox_to_anchor=(0.5, -0.16))
    plots.legend_below(right, ncols=1, bbox_to_anchor=(0.5, -0.16))
    return fig


class _ScheduleFigure:
    """The explorer's figure: its artists are made once and moved by :meth:`draw`."""

    def __init__(self, losses: Mapping[tuple[float, str], np.ndarray]):
        self.losses = losses
        self.fig, (self.ax_lr, self.ax_val) = plots.new_figure(figsize=(10.5, 4.2), ncols=2)
        self.names = list(runs.schedules_at(1.0))
        self.lines = {name: self.ax_lr.plot([], [], color=SCHEDULE_COLORS[name], linewidth=1.8, label=name)[0]
                      for name in self.names}
        self.means = {name: self.ax_val.plot([], [], "o", color=SCHEDULE_COLORS[name], markersize=7)[0]
                      for name in self.names}
        self.bars = {name: self.ax_val.plot([], [], color=SCHEDULE_COLORS[name], linewidth=2.0)[0]
                     for name in self.names}
        self.seeds = {name: self.ax_val.plot([], [], ".", color=SCHEDULE_COLORS[name], alpha=0.5)[0]
                      for name in self.names}
        self.ax_lr.set(xlabel="step", ylabel="learning rate α", xlim=(0, runs.steps()), ylim=(0, 1.05 * max(PEAKS)))
        self.ax_val.set(xlabel="validation loss (cross-entropy)", yticks=range(len(self.names)),
                        yticklabels=self.names, ylim=(len(self.names) - 0.5, -0.5))
        finite = [v[np.isfinite(v)] for v in losses.values()]
        low = min(min(v.min(), runs.interval(v)[0] - runs.interval(v)[1]) for v in finite if v.size > 1)
        high = max(max(v.max(), runs.interval(v)[0] + runs.interval(v)[1]) for v in finite if v.size > 1)
        self.ax_val.set_xlim(low - 0.05 * (high - low), high + 0.05 * (high - low))
        self.ax_val.tick_params(axis="y", labelsize="small")
        for label, name in zip(self.ax_val.get_yticklabels(), self.names):  # the key to the left plot's colours
            label.set_color(SCHEDULE_COLORS[name])
        self.fig.subplots_adjust(wspace=0.5, top=0.88, bottom=0.13)
        steps = np.arange(runs.steps())
        self.rates = {(p, name): np.array([schedule(int(t)) for t in steps])
                      for p in PEAKS for name, schedule in runs.schedules_at(p).items()}
        # panel titles as texts: the explorer's renderer paints them over its cached background
        self.ax_val.text(0.5, 1.03, "final validation loss: 5 seeds, mean and 95 % interval", ha="center",
                         va="bottom", transform=self.ax_val.transAxes, fontsize="medium")
        self.lr_title = self.ax_lr.text(0.5, 1.03, "", ha="center", va="bottom", transform=self.ax_lr.transAxes,
                                        fontsize="medium")

    def draw(self, peak: float = 3.0) -> Figure:
        steps = np.arange(runs.steps())
        for i, name in enumerate(self.names):
            self.lines[name].set_data(steps, self.rates[peak, name])
            values = self.losses[peak, name]
            mean, half = runs.interval(values)
            self.means[name].set_data([mean], [i])
            self.bars[name].set_data([mean - half, mean + half], [i, i])
            self.seeds[name].set_data(values, np.full(len(values), i + 0.18))
        self.lr_title.set_text(f"the schedules at a peak rate of {peak:g} (colours as on the right)")
        return self.fig


@register("10-schedules")
def schedule_explorer(peak: float = 3.0) -> Explorer:
    """Choose the peak rate: how each schedule spends it, and where each ends on validation data."""
    losses = {(p, name): runs.validation_losses(p, name) for p in PEAKS for name in runs.schedules_at(p)}
    control = widgets.ToggleButtons(options=list(PEAKS), value=peak, description="peak α")
    return Explorer({"peak": control}, _ScheduleFigure(losses).draw,
                    title="Schedules of one peak rate: the rate per step, and the validation loss it ends at")
