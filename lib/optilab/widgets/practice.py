r"""Figures and the explorer of lesson 08 (Choosing an optimizer in practice).

The runs are :func:`optilab.experiments.practice.sweep`'s, made once and cached; the figures
and the explorer only choose among them, so the explorer redraws in milliseconds.

* :func:`curves_figure`, :func:`sweep_figure` — what the lesson shows.
* :func:`optimizer_explorer` — choose the optimizers to show, the learning rate and the metric.

In a notebook::

    from optilab.widgets import practice
    practice.optimizer_explorer()
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import ipywidgets as widgets
import numpy as np
from matplotlib.figure import Figure

from optilab import plots, training
from optilab.experiments.practice import LRS, METRICS, RULES_COMPARED, best_lr, describe_metric, final, sweep
from optilab.widgets.explorer import Explorer, register

__all__ = [
    "curves_figure",
    "sweep_figure",
    "optimizer_explorer",
]

def _line_style(rule: str) -> dict[str, Any]:
    style: dict[str, Any] = {"color": plots.color_of(rule), "linewidth": 1.8}
    if style["color"] == plots.OKABE_ITO["yellow"]:  # outline the pale yellow so it shows on white
        from matplotlib import patheffects

        style["path_effects"] = [patheffects.withStroke(linewidth=3.2, foreground="#6b6b6b"), patheffects.Normal()]
    return style


def curves_figure(results: Mapping[tuple[str, float], training.History], lrs: Mapping[str, float]) -> Figure:
    """Training loss and test accuracy against the epoch, for each rule at its learning rate in ``lrs``."""
    fig, (ax_loss, ax_acc) = plots.new_figure(figsize=(10.5, 4.2), ncols=2)
    for rule, lr in lrs.items():
        history = results[rule, lr]
        epochs = np.arange(len(history.train_loss))
        ax_loss.semilogy(epochs, history.train_loss, marker="o", markersize=3, label=f"{rule} (α = {lr:g})",
                         **_line_style(rule))
        ax_acc.plot(epochs, history.test_accuracy, marker="o", markersize=3, label=f"{rule} (α = {lr:g})",
                    **_line_style(rule))
    ax_loss.set(xlabel="epoch", ylabel="training loss (cross-entropy)", title="training loss, each at its best α")
    ax_acc.set(xlabel="epoch", ylabel="test accuracy", title="test accuracy, each at its best α")
    ax_acc.set_ylim(0, 1)
    for ax in (ax_loss, ax_acc):
        ax.set_xticks(np.arange(len(history.train_loss)))
    ax_acc.legend(fontsize="small", loc="lower right", ncol=2)
    return fig


def sweep_figure(results: Mapping[tuple[str, float], training.History], metric: str = "test accuracy") -> Figure:
    """The final ``metric`` against the learning rate, one line per rule; diverged runs are left out."""
    _, label, _ = describe_metric(metric)
    fig, ax = plots.new_figure(figsize=(6.4, 4.2))
    for rule in dict.fromkeys(r for r, _ in results):
        lrs = sorted(lr for r, lr in results if r == rule)
        ax.plot(lrs, [final(results[rule, lr], metric) for lr in lrs], marker="o", label=rule, **_line_style(rule))
    ax.set_xscale("log")
    if metric == "training loss":
        ax.set_yscale("log")
    ax.set(xlabel="learning rate α", ylabel=f"final {label}", title=f"Learning-rate sweep: final {metric}")
    ax.legend(fontsize="small", ncol=2)
    return fig


class _ExplorerFigure:
    """The figure of :func:`optimizer_explorer`: every line drawn once, shown or hidden on demand."""

    def __init__(self, results: Mapping[tuple[str, float], training.History]) -> None:
        self.results = results
        self.rules = list(dict.fromkeys(r for r, _ in results))
        self.fig, (self.ax_curve, self.ax_sweep) = plots.new_figure(figsize=(10.5, 4.2), ncols=2)
        self.curves, self.sweeps, self.marks = {}, {}, {}
        self._limit_cache: dict[str, tuple[float, float]] = {}
        for rule in self.rules:
            self.curves[rule], = self.ax_curve.plot([], [], marker="o", markersize=3, label=rule, **_line_style(rule))
            self.sweeps[rule], = self.ax_sweep.plot([], [], marker="o", markersize=4, label=rule, **_line_style(rule))
            self.marks[rule], = self.ax_sweep.plot([], [], marker="o", markersize=11, fillstyle="none",
                                                   color="black", linestyle="none")
        self.ax_curve.set_xlabel("epoch")
        self.ax_sweep.set_xscale("log")
        self.ax_sweep.set_xlabel("learning rate α")
        lrs = sorted({lr for _, lr in results})
        self.ax_sweep.set_xlim(lrs[0] / 2, lrs[-1] * 2)
        epochs = max(len(h.train_loss) for h in results.values()) - 1
        self.ax_curve.set_xlim(0, epochs)
        self.ax_curve.set_xticks(np.arange(epochs + 1))

    def _limits(self, metric: str) -> tuple[float, float]:
        """The y-range of ``metric`` over every run of the sweep: the same axes whatever is selected."""
        if metric == "test accuracy":
            return (0.0, 1.0)
        if metric not in self._limit_cache:
            attribute, _, _ = describe_metric(metric)
            values = np.concatenate([np.asarray(getattr(h, attribute), dtype=float) for h in self.results.values()])
            values = values[np.isfinite(values) & (values > 0)]
            self._limit_cache[metric] = (values.min() / 1.5, values.max() * 1.5) if values.size else (1e-2, 10.0)
        return self._limit_cache[metric]

    def draw(self, rules: Sequence[str] = ("sgd", "momentum", "adam"), lr: Any = "best for each",
             metric: str = "test accuracy") -> Figure:
        attribute, label, _ = describe_metric(metric)
        scale = "log" if metric == "training loss" else "linear"
        for ax in (self.ax_curve, self.ax_sweep):
            if ax.get_yscale() != scale:  # setting it anew would replace the tick locators
                ax.set_yscale(scale)
            ax.set_ylabel(label if ax is self.ax_curve else f"final {label}")
        for rule in self.rules:
            shown = rule in rules
            for artist in (self.curves[rule], self.sweeps[rule], self.marks[rule]):
                artist.set_visible(shown)
            if not shown:
                continue
            rate = best_lr(self.results, rule) if lr == "best for each" else float(lr)
            history = self.results[rule, rate]
            curve = np.asarray(getattr(history, attribute), dtype=float)
            self.curves[rule].set_data(np.arange(len(curve)), curve)
            self.curves[rule].set_label(f"{rule}, α = {rate:g}" + (" (diverged)" if history.diverged else ""))
            lrs = sorted(r for name, r in self.results if name == rule)
            finals = [final(self.results[rule, r], metric) for r in lrs]
            self.sweeps[rule].set_data(lrs, finals)
            self.marks[rule].set_data([rate], [final(history, metric)])
        limits = self._limits(metric)
        self.ax_curve.set_ylim(*limits)
        self.ax_sweep.set_ylim(*limits)
        chosen = "each at its best α" if lr == "best for each" else f"α = {float(lr):g}"
        self.ax_curve.set_title(f"{metric} per epoch, {chosen}", fontsize="medium")
        self.ax_sweep.set_title("final value for every α of the grid (circled: shown left)", fontsize="medium")
        visible = [self.curves[rule] for rule in self.rules if rule in rules]
        self.ax_curve.legend(handles=visible, fontsize="small",
                             loc="lower right" if metric == "test accuracy" else "upper right")
        return self.fig


@register("08-optimizers")
def optimizer_explorer(rules: Sequence[str] = ("sgd", "momentum", "adam"), lr: Any = "best for each",
                       metric: str = "test accuracy") -> Explorer:
    """Choose optimizers, a learning rate of the grid (or each one's best) and a metric.

    Reuses the cached :func:`sweep`, so only the first call trains anything.
    """
    results = sweep()
    picker = widgets.SelectMultiple(options=list(RULES_COMPARED), value=tuple(rules), rows=len(RULES_COMPARED),
                                    description="optimizers")
    rate = widgets.Dropdown(options=["best for each", *LRS], value=lr, description="α (lr)")
    which = widgets.ToggleButtons(options=list(METRICS), value=metric, description="metric")
    return Explorer({"rules": picker, "lr": rate, "metric": which}, _ExplorerFigure(results).draw,
                    title="Every optimizer on the digits: choose what to compare")
