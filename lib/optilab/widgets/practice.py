r"""Figures and the explorer of lesson 08 (Choosing an optimizer in practice).

They draw the results of :func:`optilab.experiments.practice.compute` (computed by
``python lessons/results/compute.py 08`` and read with :func:`~optilab.experiments.practice.load`);
nothing here trains, so the explorer redraws in milliseconds.

* :func:`sweep_figure` — each optimizer's tuning: mean final validation loss ± interval against α.
* :func:`test_figure` — the test set, used once: test loss ± interval, and each optimizer's paired
  difference from the best.
* :func:`optimizer_explorer` — choose the optimizers, an α of the grid (or each one's chosen α) and a metric.

In a notebook::

    from optilab.experiments import practice
    from optilab.widgets import practice as practice_widgets
    practice_widgets.optimizer_explorer(practice.load())
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import ipywidgets as widgets
import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure

from optilab import plots
from optilab.experiments.practice import interval, load, paired, verdicts
from optilab.widgets.explorer import Explorer, register

__all__ = ["sweep_figure", "test_figure", "optimizer_explorer", "METRICS"]

#: The explorer's metrics: name -> (key of the per-seed finals in the tuning results, key of the
#: mean curves, larger is better, log scale).
METRICS: dict[str, tuple[str, str, bool, bool]] = {
    "validation loss": ("loss", "validation loss", False, True),
    "validation accuracy": ("accuracy", "validation accuracy", True, False),
    "training loss": ("train loss", "training loss", False, True),
}
_CHOSEN = "chosen for each"


def _line_style(rule: str) -> dict[str, Any]:
    style: dict[str, Any] = {"color": plots.color_of(rule), "linewidth": 1.8}
    if style["color"] == plots.OKABE_ITO["yellow"]:  # outline the pale yellow so it shows on white
        from matplotlib import patheffects

        style["path_effects"] = [patheffects.withStroke(linewidth=3.2, foreground="#6b6b6b"), patheffects.Normal()]
    return style


def _sweep_stats(results: Mapping[str, Any], rule: str, key: str = "loss") -> np.ndarray:
    """(mean, half-width) of the final ``key`` at every α of the grid, shape (len(grid), 2)."""
    return np.array([interval(row) for row in np.asarray(results["tuning"][rule][key], dtype=float)])


def _error_segments(lrs: Sequence[float], stats: np.ndarray, log: bool) -> list[np.ndarray]:
    """Vertical segments mean ± half-width; on a log axis the lower end stays above 0."""
    segments = []
    for lr, (mean, half) in zip(lrs, stats):
        if not (np.isfinite(mean) and np.isfinite(half)):
            continue
        low = max(mean - half, mean / 10) if log else mean - half
        segments.append(np.array([[lr, low], [lr, mean + half]]))
    return segments


def sweep_figure(results: Mapping[str, Any]) -> Figure:
    """One panel per optimizer: the mean final validation loss over the seeds, with its 95 % interval,
    at every α of the grid; the star is the chosen α (the lowest mean). The panels share their axes,
    so the optimizers can be compared by eye; their titles name them, so there is no legend."""
    rules = list(results["tuning"])
    grid = np.asarray(results["settings"]["grid"], dtype=float)
    ncols = 4
    nrows = -(-len(rules) // ncols)
    fig, _ = plots.new_figure(figsize=(8.4, 2.3 * nrows + 0.5))
    fig.clear()
    axes = fig.subplots(nrows, ncols, sharex=True, sharey=True, squeeze=False)
    for ax, rule in zip(axes.flat, rules):
        stats = _sweep_stats(results, rule)
        ok = np.isfinite(stats[:, 0])
        style = _line_style(rule)
        ax.plot(grid[ok], stats[ok, 0], marker="o", markersize=3.5, **style)
        ax.add_collection(LineCollection(_error_segments(grid, stats, log=True), colors=style["color"], linewidths=1.4))
        chosen = results["chosen"][rule]
        i = list(grid).index(chosen)
        ax.plot([chosen], [stats[i, 0]], marker="*", markersize=13, color=style["color"], markeredgecolor="black",
                linestyle="none", zorder=4)
        ax.set_title(f"{rule}: α = {chosen:.2g}", fontsize="medium")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.grid(True, which="major", alpha=0.3)
    for ax in axes.flat[len(rules):]:
        ax.set_visible(False)
    for ax in axes[-1]:
        ax.set_xlabel("learning rate α")
    for ax in axes[:, 0]:
        ax.set_ylabel("final validation loss")
    fig.suptitle(f"Tuning on the validation set: mean ± 95 % interval over {len(results['settings']['seeds'])} seeds "
                 f"(★ chosen)", fontsize="medium")
    fig.tight_layout()
    return fig


def test_figure(results: Mapping[str, Any], metric: str = "loss") -> Figure:
    """The test set, used once: each optimizer's mean final test ``metric`` at its chosen α with its 95 %
    interval (left), and its difference from the best, paired by seed (right; an interval that crosses 0
    does not tell which of the two is better)."""
    verdict = verdicts(results, metric)
    label = {"loss": "final test loss (cross-entropy)", "accuracy": "final test accuracy"}[metric]
    fig, (left, right) = plots.new_figure(figsize=(8.4, 3.6), ncols=2)
    rows = {rule: interval(results["test"][rule][metric]) for rule in results["test"]}
    plots.intervals(rows, ax=left, xlabel=label, title=f"Test {metric}, each at its chosen α")
    differences = {f"{rule} − {verdict['best']}": paired(results, rule, verdict["best"], metric)
                   for rule in results["test"] if rule != verdict["best"]}
    plots.intervals(differences, ax=right, xlabel=f"difference in {label.split(' (')[0]}", ylabel="pair", zero_line=True,
                    colors={f"{rule} − {verdict['best']}": plots.color_of(rule) for rule in results["test"]},
                    title=f"Paired difference from {verdict['best']}")
    fig.tight_layout()
    return fig


class _ExplorerFigure:
    """The figure of :func:`optimizer_explorer`: every line drawn once, shown or hidden on demand."""

    def __init__(self, results: Mapping[str, Any]) -> None:
        self.results = results
        self.rules = list(results["tuning"])
        self.grid = list(results["settings"]["grid"])
        self.epochs = int(results["settings"]["epochs"])
        self.fig, (self.ax_curve, self.ax_sweep) = plots.new_figure(figsize=(8.4, 3.8), ncols=2)
        self.fig.subplots_adjust(left=0.08, right=0.75, bottom=0.14, top=0.88, wspace=0.3)
        self.curves, self.sweeps, self.bars, self.marks = {}, {}, {}, {}
        for rule in self.rules:
            style = _line_style(rule)
            self.curves[rule], = self.ax_curve.plot([], [], label=rule, **style)
            self.sweeps[rule], = self.ax_sweep.plot([], [], marker="o", markersize=3.5, label=rule, **style)
            self.bars[rule] = self.ax_sweep.add_collection(LineCollection([], colors=style["color"], linewidths=1.4))
            self.marks[rule], = self.ax_sweep.plot([], [], marker="o", markersize=11, fillstyle="none",
                                                   color="black", linestyle="none")
        self.ax_curve.set_xlabel("epoch")
        self.ax_curve.set_xlim(0, self.epochs)
        self.ax_sweep.set_xscale("log")
        self.ax_sweep.set_xlabel("learning rate α")
        self.ax_sweep.set_xlim(self.grid[0] / 2, self.grid[-1] * 2)
        self._limits: dict[str, tuple[float, float]] = {}

    def limits(self, metric: str) -> tuple[float, float]:
        """The y-range of ``metric`` over every run: the same axes whatever is selected."""
        if metric not in self._limits:
            key, curve, _, log = METRICS[metric]
            values = np.concatenate([np.concatenate([np.ravel(r["curves"][curve]), np.ravel(r[key])])
                                     for r in self.results["tuning"].values()])
            values = values[np.isfinite(values)]
            if log:
                values = values[values > 0]
                self._limits[metric] = (values.min() / 1.5, values.max() * 1.5)
            else:
                self._limits[metric] = (max(0.0, values.min() - 0.05), min(1.0, values.max()) + 0.02)
        return self._limits[metric]

    def draw(self, rules: Sequence[str] = ("sgd", "momentum", "adam"), lr: Any = _CHOSEN,
             metric: str = "validation loss") -> Figure:
        key, curve_key, _, log = METRICS[metric]
        scale = "log" if log else "linear"
        for ax in (self.ax_curve, self.ax_sweep):
            if ax.get_yscale() != scale:  # setting it anew would replace the tick locators
                ax.set_yscale(scale)
        self.ax_curve.set_ylabel(f"{metric} (mean over seeds)")
        self.ax_sweep.set_ylabel(f"final {metric} (mean ± 95 %)")
        for rule in self.rules:
            shown = rule in rules
            for artist in (self.curves[rule], self.sweeps[rule], self.bars[rule], self.marks[rule]):
                artist.set_visible(shown)
            if not shown:
                continue
            tuning = self.results["tuning"][rule]
            rate = self.results["chosen"][rule] if lr == _CHOSEN else float(lr)
            i = self.grid.index(rate)
            curve = np.asarray(tuning["curves"][curve_key][i], dtype=float)
            self.curves[rule].set_data(np.arange(len(curve)), curve)
            self.curves[rule].set_label(f"{rule}, α = {rate:.2g}" + (" (chosen)" if lr == _CHOSEN else ""))
            stats = _sweep_stats(self.results, rule, key)
            ok = np.isfinite(stats[:, 0])
            self.sweeps[rule].set_data(np.asarray(self.grid)[ok], stats[ok, 0])
            self.bars[rule].set_segments(_error_segments(self.grid, stats, log))
            self.marks[rule].set_data([rate], [stats[i, 0]])
        limits = self.limits(metric)
        self.ax_curve.set_ylim(*limits)
        self.ax_sweep.set_ylim(*limits)
        chosen = "each at its chosen α" if lr == _CHOSEN else f"all at α = {float(lr):.2g}"
        self.ax_curve.set_title(f"tuning runs, {chosen}", fontsize="medium")
        self.ax_sweep.set_title("every α of the grid (○: shown left)", fontsize="medium")
        visible = [self.curves[rule] for rule in self.rules if rule in rules]
        self.ax_sweep.legend(handles=visible, fontsize="small", loc="upper left", bbox_to_anchor=(1.03, 1.0),
                             borderaxespad=0.0)
        return self.fig


@register("08-optimizers")
def optimizer_explorer(results: Mapping[str, Any] | None = None, rules: Sequence[str] = ("sgd", "momentum", "adam"),
                       lr: Any = _CHOSEN, metric: str = "validation loss") -> Explorer:
    """Choose optimizers, an α of the grid (or each one's chosen α) and a metric of the tuning runs.

    ``results`` are :func:`optilab.experiments.practice.load`'s (by default the committed ones).
    """
    results = load() if results is None else results
    names = list(results["tuning"])
    picker = widgets.SelectMultiple(options=names, value=tuple(rules), rows=len(names), description="optimizers")
    rate = widgets.Dropdown(options=[(_CHOSEN, _CHOSEN), *((f"{g:.2g}", g) for g in results["settings"]["grid"])],
                            value=lr, description="α (lr)")
    which = widgets.ToggleButtons(options=list(METRICS), value=metric, description="metric")
    # each metric has its own y-range and scale: each one's background is painted once when built
    return Explorer({"rules": picker, "lr": rate, "metric": which}, _ExplorerFigure(results).draw,
                    title="Every optimizer's tuning runs on the validation set: choose what to compare",
                    warm=[{"metric": m} for m in METRICS if m != metric])
