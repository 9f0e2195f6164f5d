r"""The course's figures: contours, trajectories, loss curves and learning-rate sweeps.

Every function draws into ``ax`` if one is given, otherwise into a new small figure
(:func:`optilab.plots.style.new_figure`), and returns the :class:`~matplotlib.figure.Figure`;
in a notebook, a figure that is the last expression of a cell is shown, and ``display(fig)``
shows one anywhere. Each optimizer has its colour and line style (:mod:`optilab.plots.style`).

Drawing is fast enough for explorers (well under 100 ms a figure): contour grids are
computed once per problem and cached.
"""

from __future__ import annotations

import functools
import math
from typing import Any, Mapping

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from optilab.plots.style import _colors_for, _line_kwargs, _name_of, _styles_for, color_of, new_figure
from optilab.problems import Problem

__all__ = ["contour", "trajectories", "loss_curves", "lr_sweep", "sweep_intervals", "intervals"]


def _figure_and_axes(ax: Axes | None) -> tuple[Figure, Axes]:
    if ax is not None:
        return ax.figure, ax
    return new_figure()


# -- contours -----------------------------------------------------------------------------------
@functools.lru_cache(maxsize=64)
def _grid(problem: Problem, bounds: tuple, resolution: int, n_levels: int):
    (x_min, x_max), (y_min, y_max) = bounds
    X, Y = np.meshgrid(np.linspace(x_min, x_max, resolution), np.linspace(y_min, y_max, resolution))
    with np.errstate(over="ignore", invalid="ignore"):
        Z = problem.loss_grid(X, Y)
    finite = Z[np.isfinite(Z)]
    low, high = float(finite.min()), float(finite.max())
    if low >= 0:  # log-spaced levels: as many rings near the minimum as on the walls
        positive = finite[finite > 0]
        floor = max(float(positive.min()) if positive.size else high * 1e-6, high * 1e-6)
        levels = np.geomspace(floor, high, n_levels)
    else:  # a loss that goes negative (the saddle): evenly spaced levels
        levels = np.linspace(low, high, n_levels)
    for array in (X, Y, Z, levels):
        array.setflags(write=False)
    return X, Y, Z, levels


def _check_2d(problem: Problem, what: str) -> None:
    if not isinstance(problem, Problem):
        raise TypeError(f"{what} needs a Problem (from optilab.problems), got {type(problem).__name__}")
    if problem.dim != 2 or problem.bounds is None:
        raise ValueError(f"{what} draws 2-D problems; {problem.name} is {problem.dim}-dimensional. "
                         "Plot its loss with loss_curves instead.")


def contour(problem: Problem, ax: Axes | None = None, *, levels: int = 16, resolution: int = 100,
            bounds: tuple | None = None, title: str | None = None, show_minimum: bool = True) -> Figure:
    """Contour lines of a 2-D problem's loss, log-spaced, with its minima marked.

    Parameters
    ----------
    problem : Problem
        A 2-D problem (it has ``bounds`` and ``loss_grid``).
    ax : Axes, optional
        Draw here instead of in a new figure.
    levels : int
        Number of contour levels (log-spaced when the loss is never negative).
    resolution : int
        Grid points per axis. The grid is cached per problem, bounds and resolution.
    bounds : ((xmin, xmax), (ymin, ymax)), optional
        The window; defaults to ``problem.bounds``.
    title : str, optional
        Defaults to the problem's name.
    show_minimum : bool
        Mark the known minimizers with a star.

    Returns
    -------
    Figure
    """
    _check_2d(problem, "contour")
    fig, ax = _figure_and_axes(ax)
    window = tuple(tuple(map(float, pair)) for pair in (bounds or problem.bounds))
    X, Y, Z, lv = _grid(problem, window, int(resolution), int(levels))
    ax.contourf(X, Y, Z, levels=lv, cmap="Greys_r", alpha=0.25, extend="both")
    ax.contour(X, Y, Z, levels=lv, colors="#8c8c8c", linewidths=0.6)
    if show_minimum and problem.minimizers:
        points = np.array(problem.minimizers)
        ax.plot(points[:, 0], points[:, 1], linestyle="none", marker="*", markersize=13,
                color="white", markeredgecolor="black", markeredgewidth=0.6,
                label="minimum" if len(points) == 1 else "minima", zorder=4)
    ax.set_xlim(window[0])
    ax.set_ylim(window[1])
    ax.set_xlabel("x₁")
    ax.set_ylabel("x₂")
    ax.set_title(title if title is not None else problem.name)
    if show_minimum and problem.minimizers:
        ax.legend(loc="upper right", fontsize="small", framealpha=0.85)
    return fig


def _points(path: Any) -> tuple[np.ndarray, bool]:
    """(positions of shape (n, 2), diverged) from a Trace or an array of points."""
    if hasattr(path, "params"):
        return np.asarray(path.params, dtype=float), bool(getattr(path, "diverged", False))
    points = np.asarray(path, dtype=float)
    if points.ndim != 2 or points.shape[1] != 2:
        raise ValueError(f"a trajectory must be a Trace or an array of shape (n, 2); got shape {points.shape}")
    return points, False


def trajectories(problem: Problem, traces: Mapping[str, Any] | Any, title: str | None = None,
                 ax: Axes | None = None, *, markers: bool = True, levels: int = 16,
                 resolution: int = 100) -> Figure:
    """The paths of one or more runs on the contours of a 2-D problem.

    Parameters
    ----------
    problem : Problem
        The 2-D problem the runs were made on.
    traces : dict of label to Trace (or to an array of points of shape (n, 2)), or one Trace
        Each path is drawn in its optimizer's colour (:func:`color_of`), or in distinct
        palette colours when several paths share an optimizer.
    title : str, optional
        Defaults to "<labels> on <problem>".
    ax : Axes, optional
        Draw here instead of in a new figure.
    markers : bool
        Mark every iterate with a dot (paths longer than 200 steps are drawn without them).

    Returns
    -------
    Figure
        Start marked with a circle, end with a square (a cross when the run diverged), known
        minima with a star; the window is ``problem.bounds``.
    """
    _check_2d(problem, "trajectories")
    if not isinstance(traces, Mapping):
        traces = {_name_of(traces): traces}
    fig = contour(problem, ax, levels=levels, resolution=resolution, title="")
    ax = ax if ax is not None else fig.axes[0]
    start_drawn = False
    for (label, path), (color, linestyle) in zip(traces.items(), _styles_for(traces.items())):
        points, diverged = _points(path)
        style = {**_line_kwargs(color), "linestyle": linestyle}
        dots = markers and len(points) <= 201
        ax.plot(points[:, 0], points[:, 1], marker="o" if dots else None, markersize=2.5,
                label=f"{label} (diverged)" if diverged else str(label), zorder=3, **style)
        ax.plot(points[-1, 0], points[-1, 1], marker="X" if diverged else "s", markersize=6,
                color=color, markeredgecolor="black", markeredgewidth=0.5, linestyle="none", zorder=5)
        if not start_drawn:
            ax.plot(points[0, 0], points[0, 1], marker="o", markersize=7, color="white",
                    markeredgecolor="black", linestyle="none", label="start", zorder=5)
            start_drawn = True
    if title is None:
        title = f"{', '.join(map(str, traces))} on {problem.name}"
    ax.set_title(title)
    ax.legend(loc="upper right", fontsize="small", framealpha=0.85)
    return fig


# -- curves -------------------------------------------------------------------------------------
def _curves_of(label: str, curve: Any) -> list[tuple[str, np.ndarray, np.ndarray, bool, str]]:
    """[(label, x, y, diverged, linestyle)] for a Trace, a History or an array."""
    if hasattr(curve, "train_loss"):  # a History: train loss per epoch, test loss dashed
        train = np.asarray(curve.train_loss, dtype=float)
        epochs = np.arange(len(train))
        out = [(f"{label} (train)", epochs, train, bool(curve.diverged), "-")]
        test = getattr(curve, "test_loss", None)
        if test is not None and len(test):
            out.append((f"{label} (test)", np.arange(len(test)), np.asarray(test, dtype=float), False, "--"))
        return out
    if hasattr(curve, "losses"):  # a Trace
        y = np.asarray(curve.losses, dtype=float)
        return [(label, np.arange(len(y)), y, bool(curve.diverged), "-")]
    y = np.asarray(curve, dtype=float).reshape(-1)
    return [(label, np.arange(len(y)), y, False, "-")]


def loss_curves(curves: Mapping[str, Any] | Any, log: bool = True, title: str = "Loss",
                xlabel: str | None = None, ax: Axes | None = None, *, ylabel: str = "loss") -> Figure:
    """Loss against step (for Traces and arrays) or epoch (for Histories), one line per run.

    Parameters
    ----------
    curves : dict of label to Trace, History or 1-D array (or one of them)
        A History draws its training loss solid and its test loss dashed, in one colour.
    log : bool
        Logarithmic y axis. Falls back to a linear one when a loss is negative (the saddle,
        the online problem).
    title : str
        The figure's title.
    xlabel : str, optional
        Defaults to "epoch" when every curve is a History, else "step".
    ax : Axes, optional
        Draw here instead of in a new figure.
    ylabel : str
        The y label.

    Returns
    -------
    Figure
        A run that diverged ends with a cross.
    """
    if not isinstance(curves, Mapping):
        curves = {_name_of(curves): curves}
    fig, ax = _figure_and_axes(ax)
    lowest = math.inf
    for (label, curve), (color, own) in zip(curves.items(), _styles_for(curves.items())):
        for name, x, y, diverged, linestyle in _curves_of(str(label), curve):
            linestyle = own if linestyle == "-" else linestyle
            finite = y[np.isfinite(y)]
            if finite.size:
                lowest = min(lowest, float(finite.min()))
            ax.plot(x, y, linestyle=linestyle, label=f"{name} (diverged)" if diverged else name, **_line_kwargs(color))
            if diverged and finite.size:
                last = np.flatnonzero(np.isfinite(y))[-1]
                ax.plot(x[last], y[last], marker="X", markersize=8, color=color,
                        markeredgecolor="black", markeredgewidth=0.5, linestyle="none")
    if log and lowest >= 0:  # exact zeros (a run that reached the minimum) are left off the log axis
        ax.set_yscale("log")
    if xlabel is None:
        xlabel = "epoch" if all(hasattr(c, "train_loss") for c in curves.values()) else "step"
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize="small", framealpha=0.85)
    return fig


def lr_sweep(results: Mapping[Any, Any], title: str = "Final loss against learning rate",
             ax: Axes | None = None, *, ylabel: str = "final loss", log_y: bool = True) -> Figure:
    """Final loss against learning rate (both log scales); runs that diverged are crosses on top.

    Parameters
    ----------
    results : dict of lr to final loss, or dict of label to such dicts
        What :func:`optilab.training.sweep_lr` returns, or several of them by label (one line
        per optimizer). A non-finite loss means the run diverged.
    title : str
        The figure's title.
    ax : Axes, optional
        Draw here instead of in a new figure.
    ylabel : str
        The y label.
    log_y : bool
        Logarithmic y axis (when every finite loss is positive).

    Returns
    -------
    Figure
    """
    if results and all(isinstance(v, Mapping) for v in results.values()):
        series = {str(label): sweep for label, sweep in results.items()}
    else:
        series = {"final loss": results}
    fig, ax = _figure_and_axes(ax)
    colors = _colors_for(series.items())
    finite_values: list[float] = []
    failed: list[tuple[float, str]] = []
    for (label, sweep), color in zip(series.items(), colors):
        lrs = np.array([float(lr) for lr in sweep], dtype=float)
        losses = np.array([float(v) for v in sweep.values()], dtype=float)
        order = np.argsort(lrs)
        lrs, losses = lrs[order], losses[order]
        ok = np.isfinite(losses)
        finite_values.extend(losses[ok].tolist())
        ax.plot(lrs[ok], losses[ok], marker="o", markersize=4, label=label, **_line_kwargs(color))
        failed.extend((lr, color) for lr in lrs[~ok])
    ax.set_xscale("log")
    if log_y and finite_values and min(finite_values) > 0:
        ax.set_yscale("log")
    if failed:
        ax.set_ymargin(0.15)  # room under the top edge for the crosses
        transform = ax.get_xaxis_transform()  # x in data units, y in axes units: crosses on the top edge
        for i, (lr, color) in enumerate(failed):
            ax.plot(lr, 0.97, marker="X", markersize=8, color=color, markeredgecolor="black",
                    markeredgewidth=0.5, linestyle="none", transform=transform, clip_on=False,
                    label="diverged" if i == 0 else None)
    ax.set_xlabel("learning rate α")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize="small", framealpha=0.85)
    return fig


# -- experiments with several seeds ---------------------------------------------------------------
def sweep_intervals(results: Mapping[str, Mapping[float, tuple[float, float]]],
                    title: str = "Mean final loss against learning rate", ax: Axes | None = None, *,
                    ylabel: str = "mean final loss", best: Mapping[str, float] | None = None,
                    log_y: bool = False) -> Figure:
    """A learning-rate sweep over several seeds: the mean with its interval, one line per optimizer.

    Parameters
    ----------
    results : dict of label to {lr: (mean, half_width)}
        For each optimizer and learning rate, the mean over the seeds and the half-width of its
        interval (drawn as an error bar). A non-finite mean (some run diverged) is left out.
    title, ylabel : str
        The title and the y label.
    ax : Axes, optional
        Draw here instead of in a new figure.
    best : dict of label to lr, optional
        The chosen learning rate of each optimizer, marked with a star.
    log_y : bool
        Logarithmic y axis; by default linear from 0, where an interval wider than its mean
        does not squash the others.

    Returns
    -------
    Figure
        The legend sits outside the axes, so it never covers a point.
    """
    fig, ax = _figure_and_axes(ax)
    for label, sweep in results.items():
        color = color_of(label)
        lrs = np.array(sorted(float(lr) for lr in sweep))
        stats = np.array([[float(v) for v in sweep[lr]] for lr in sorted(sweep, key=float)], dtype=float)
        ok = np.isfinite(stats[:, 0]) & np.isfinite(stats[:, 1])
        ax.errorbar(lrs[ok], stats[ok, 0], yerr=stats[ok, 1], marker="o", markersize=4, capsize=3,
                    label=str(label), **_line_kwargs(color))
        if best is not None and label in best:
            chosen = float(best[label])
            mean = dict(zip(lrs.tolist(), stats[:, 0].tolist())).get(chosen)
            if mean is not None and np.isfinite(mean):
                ax.plot(chosen, mean, marker="*", markersize=14, color=color, markeredgecolor="black",
                        linestyle="none", label=f"{label}: chosen", zorder=4)
    ax.set_xscale("log")
    if log_y:
        ax.set_yscale("log")
    else:
        ax.set_ylim(bottom=0.0)
    ax.set_xlabel("learning rate α")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0)
    return fig


def intervals(rows: Mapping[str, tuple[float, float]], title: str = "Means and intervals",
              ax: Axes | None = None, *, xlabel: str = "value", ylabel: str = "optimizer",
              zero_line: bool = False, colors: Mapping[str, str] | None = None) -> Figure:
    """One horizontal error bar per row: a mean and the half-width of its interval.

    Parameters
    ----------
    rows : dict of label to (mean, half_width)
        The rows, top to bottom; a label that names an optimizer gets its colour.
    title, xlabel : str
        The title and the x label.
    ax : Axes, optional
        Draw here instead of in a new figure.
    ylabel : str
        What the rows are (their labels are the y axis's tick labels).
    zero_line : bool
        Draw a dotted line at 0 (for differences: an interval that crosses it does not tell
        the sign of the difference).
    colors : dict of label to colour, optional
        Colours for some rows (a difference between two optimizers is better in a neutral grey).

    Returns
    -------
    Figure
        The labels are the y axis's tick labels: there is no legend to cover anything.
    """
    fig, ax = _figure_and_axes(ax)
    labels = list(rows)
    for i, label in enumerate(labels):
        mean, half = (float(v) for v in rows[label])
        color = (colors or {}).get(label) or color_of(label)
        ax.errorbar(mean, i, xerr=half, marker="o", markersize=6, capsize=4, color=color, linewidth=1.6)
    if zero_line:
        ax.axvline(0.0, color="#6b6b6b", linestyle=":", linewidth=1.2)
    ax.set_yticks(range(len(labels)), labels)
    ax.set_ylim(len(labels) - 0.5, -0.5)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    return fig
