r"""Lesson 08 (Choosing an optimizer in practice): every rule trains one MLP on the digits.

The runs are made once, for every rule and every learning rate of a coarse grid, and cached
(:func:`sweep`); the figures and the explorer only choose among them, so the explorer redraws
in milliseconds.

* :func:`sweep` — ``{(rule, lr): History}`` for the rules the lessons teach (:data:`RULES`, from :mod:`optilab.rules`) and the
  learning rates of :data:`LRS`.
* :func:`summary`, :func:`curves_figure`, :func:`sweep_figure` — what the lesson shows.
* :func:`optimizer_explorer` — choose the optimizers to show, the learning rate and the metric.

In a notebook::

    from optilab.widgets import practice
    practice.optimizer_explorer()
"""

from __future__ import annotations

import functools
from typing import Any, Mapping, Sequence

import ipywidgets as widgets
import numpy as np
from matplotlib.figure import Figure

from optilab import data, models, plots, training
from optilab import rules as _table
from optilab.widgets.explorer import Explorer, register

__all__ = [
    "RULES",
    "LRS",
    "SIZES",
    "EPOCHS",
    "BATCH_SIZE",
    "METRICS",
    "digits",
    "model",
    "sweep",
    "final",
    "best_lr",
    "summary",
    "curves_figure",
    "sweep_figure",
    "optimizer_explorer",
]

#: The optimizers compared: every rule a lesson teaches (the rule table's ``lesson``).
RULES: tuple[str, ...] = tuple(rule.name for rule in _table.TABLE if rule.lesson is not None)
#: The learning-rate grid of the sweep: one point per decade.
LRS: tuple[float, ...] = (1e-3, 1e-2, 1e-1, 1.0)
#: The MLP: 64 pixels, one hidden layer of 32 tanh units, 10 classes.
SIZES: tuple[int, ...] = (64, 32, 10)
#: Passes over the training set per run, and examples per step.
EPOCHS, BATCH_SIZE = 4, 128
#: The metrics of the explorer: name -> (History attribute, y label, larger is better).
METRICS: dict[str, tuple[str, str, bool]] = {
    "test accuracy": ("test_accuracy", "test accuracy", True),
    "training loss": ("train_loss", "training loss (cross-entropy)", False),
}


@functools.lru_cache(maxsize=1)
def digits(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The UCI digits split 75/25 and standardised with the training set's statistics.

    Returns ``(X_train, y_train, X_test, y_test)``, as :func:`optilab.training.train` takes it.
    """
    X, y = data.load_digits()
    split = data.train_test_split(X, y, test_fraction=0.25, seed=seed)
    X_train, X_test = data.standardize(split.X_train, split.X_test)
    return X_train, split.y_train, X_test, split.y_test


def model() -> models.MLP:
    """The lesson's classifier, ``MLP(SIZES)`` with tanh."""
    return models.MLP(SIZES, activation="tanh")


@functools.lru_cache(maxsize=4)
def sweep(rules: tuple[str, ...] = RULES, lrs: tuple[float, ...] = LRS, epochs: int = EPOCHS,
          batch_size: int = BATCH_SIZE, seed: int = 0) -> dict[tuple[str, float], training.History]:
    """Train :func:`model` on :func:`digits` with every rule at every learning rate, once.

    Every run starts from the same initial parameters and sees the same minibatches (``seed``),
    so the runs differ only in the optimizer and its learning rate. Cached.

    Returns
    -------
    dict of (rule, lr) to History
    """
    net, split = model(), digits()
    return {(rule, lr): training.train(rule, net, split, epochs=epochs, batch_size=batch_size, lr=lr, seed=seed)
            for rule in rules for lr in lrs}


def final(history: training.History, metric: str = "test accuracy") -> float:
    """The metric after the last epoch; NaN for a run that diverged."""
    attribute, _, _ = _metric(metric)
    values = getattr(history, attribute)
    return float("nan") if history.diverged or values is None else float(values[-1])


def _metric(metric: str) -> tuple[str, str, bool]:
    if metric not in METRICS:
        raise KeyError(f"unknown metric {metric!r}; choose one of {list(METRICS)}")
    return METRICS[metric]


def best_lr(results: Mapping[tuple[str, float], training.History], rule: str, metric: str = "test accuracy") -> float:
    """The grid learning rate with the best final ``metric`` for ``rule`` (diverged runs never win)."""
    _, _, larger = _metric(metric)
    candidates = {lr: final(h, metric) for (r, lr), h in results.items() if r == rule}
    if not candidates:
        raise KeyError(f"no runs of {rule!r} in the results; they have {sorted({r for r, _ in results})}")
    scores = {lr: (v if larger else -v) for lr, v in candidates.items() if np.isfinite(v)}
    if not scores:
        raise ValueError(f"every run of {rule!r} diverged")
    return max(scores, key=scores.get)


def summary(results: Mapping[tuple[str, float], training.History], tolerance: float = 0.02) -> list[dict[str, Any]]:
    """One row per rule: the best lr, its test accuracy, and how many grid lrs come within ``tolerance`` of it.

    The count measures sensitivity to the learning rate: the more grid points within
    ``tolerance`` (in accuracy) of the best, the wider the range of learning rates that work.
    """
    rows = []
    for rule in dict.fromkeys(r for r, _ in results):
        lr = best_lr(results, rule)
        best = final(results[rule, lr])
        accuracies = [final(h) for (r, _), h in results.items() if r == rule]
        rows.append({"rule": rule, "best lr": lr, "test accuracy": best,
                     "training loss": final(results[rule, lr], "training loss"),
                     "lrs within tolerance": int(sum(np.isfinite(a) and a >= best - tolerance for a in accuracies)),
                     "lrs tried": len(accuracies)})
    return rows


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
    _, label, _ = _metric(metric)
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
            attribute, _, _ = _metric(metric)
            values = np.concatenate([np.asarray(getattr(h, attribute), dtype=float) for h in self.results.values()])
            values = values[np.isfinite(values) & (values > 0)]
            self._limit_cache[metric] = (values.min() / 1.5, values.max() * 1.5) if values.size else (1e-2, 10.0)
        return self._limit_cache[metric]

    def draw(self, rules: Sequence[str] = ("sgd", "momentum", "adam"), lr: Any = "best for each",
             metric: str = "test accuracy") -> Figure:
        attribute, label, _ = _metric(metric)
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
    picker = widgets.SelectMultiple(options=list(RULES), value=tuple(rules), rows=len(RULES),
                                    description="optimizers")
    rate = widgets.Dropdown(options=["best for each", *LRS], value=lr, description="α (lr)")
    which = widgets.ToggleButtons(options=list(METRICS), value=metric, description="metric")
    return Explorer({"rules": picker, "lr": rate, "metric": which}, _ExplorerFigure(results).draw,
                    title="Every optimizer on the digits: choose what to compare")
