r"""The course's figures: contours, trajectories, loss curves and learning-rate sweeps.

Every function draws into ``ax`` if one is given, otherwise into a new small figure, and
returns the :class:`~matplotlib.figure.Figure`. Figures are made without ``pyplot`` (no
global state, nothing to close, no figure shown twice); in a notebook, a figure that is
the last expression of a cell is shown, and ``display(fig)`` shows one anywhere.

Colours are the Okabe–Ito palette, which stays distinguishable under the common forms of
colour blindness (Okabe & Ito, 2008, "Color Universal Design"), and each optimizer always
has the same colour (:func:`color_of`) and line style (:func:`linestyle_of`), in every lesson.
Legends go where they cover no data: :func:`legend_below`, :func:`legend_outside`.

Drawing is fast enough for explorers (well under 100 ms a figure): contour grids are
computed once per problem and cached.
"""

from __future__ import annotations

import functools
import math
import zlib
from typing import Any, Iterable, Mapping

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from optilab import rules as _table
from optilab.problems import Problem

__all__ = [
    "COLORS",
    "OKABE_ITO",
    "RULE_COLORS",
    "color_of",
    "linestyle_of",
    "legend_below",
    "legend_outside",
    "new_figure",
    "contour",
    "trajectories",
    "loss_curves",
    "lr_sweep",
    "sweep_intervals",
    "intervals",
]

#: The Okabe–Ito palette by name.
OKABE_ITO: dict[str, str] = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky blue": "#56B4E9",
    "bluish green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish purple": "#CC79A7",
}

#: The palette as a sequence, in Okabe & Ito's order.
COLORS: tuple[str, ...] = tuple(OKABE_ITO.values())

#: The fixed colour of each reference rule (the rule table's, :attr:`optilab.rules.Rule.color`).
RULE_COLORS: dict[str, str] = {rule.name: rule.color for rule in _table.TABLE}

#: The fixed line style of each reference rule (the rule table's, :attr:`optilab.rules.Rule.linestyle`).
RULE_LINESTYLES: dict[str, str] = {rule.name: rule.linestyle for rule in _table.TABLE}

#: Names of rules in two words, as the lessons write them (matched at the start of a label).
_PHRASES = {"heavy ball": "momentum", "heavy-ball": "momentum", "gradient descent": "sgd"}

_ALIASES = {"gd": "sgd", "heavy_ball": "momentum", "heavy-ball": "momentum", "nag": "nesterov"}

#: Default size of a new figure, in inches, and its resolution.
FIGSIZE = (5.6, 4.2)
DPI = 100

#: The widest a figure is drawn, in pixels: JupyterLab's notebook column at a 1280 × 900 window with
#: the file browser open (its default layout) is 848 px wide for an output, 844 px inside an explorer
#: (measured in Chromium by tests/browser/explorers.mjs). A wider image is scaled down by the browser:
#: blurred, and its text smaller than the sizes below promise (1050 px images were shown at 80 %).
MAX_WIDTH_PX = 840

#: The smallest legend text, in pixels at 100 %: JupyterLab's smallest interface text (its status bar
#: and file browser details, ``--jp-ui-font-size0``) is about 10.8 px; "small" at 100 dpi is 11.6 px.
MIN_LEGEND_PX = 10.0


def _name_of(rule: Any) -> str:
    if isinstance(rule, str):
        return rule
    for attribute in ("rule", "name", "__name__"):
        value = getattr(rule, attribute, None)
        if isinstance(value, str):
            return value
    return str(rule)


def _known_rule(name: str) -> str | None:
    """The reference rule a name refers to ("Adam, lr=0.1" -> "adam"), or None."""
    key = name.strip().lower()
    for phrase, rule in _PHRASES.items():  # "heavy ball, α = 0.05" -> momentum
        if key.startswith(phrase):
            return rule
    if key in RULE_COLORS:
        return key
    if key in _ALIASES:
        return _ALIASES[key]
    words = key.replace("(", " ").replace(",", " ").replace("_", " ").replace("-", " ").split()
    for word in words:  # the first word that names a rule: "my adamw (lr=1e-3)" -> "adamw"
        if word in RULE_COLORS:
            return word
        if word in _ALIASES:
            return _ALIASES[word]
    return None


def color_of(rule: Any) -> str:
    """The fixed Okabe–Ito colour of an optimizer, as a hex string.

    Parameters
    ----------
    rule : str, callable or Trace
        A rule name (``"adam"``, also inside a label such as ``"adam (lr=0.01)"``), a rule
        function (its ``__name__`` is used), or anything with a ``rule`` attribute.

    Returns
    -------
    str
        The rule's colour from :data:`RULE_COLORS`; a name that is not a reference rule
        gets a colour of the palette picked by a stable hash of the name.

    Examples
    --------
    >>> color_of("adam") == color_of("Adam (lr=0.1)") == OKABE_ITO["blue"]
    True
    """
    name = _name_of(rule)
    known = _known_rule(name)
    if known is not None:
        return RULE_COLORS[known]
    return COLORS[zlib.crc32(name.encode()) % len(COLORS)]


def linestyle_of(rule: Any) -> str:
    """The fixed line style of an optimizer (the rule table's); ``"-"`` for a name that is not a reference rule.

    Examples
    --------
    >>> linestyle_of("Nesterov, α = 0.02"), linestyle_of("heavy ball")
    ('-.', '-')
    """
    known = _known_rule(_name_of(rule))
    return RULE_LINESTYLES[known] if known is not None else "-"


def legend_below(ax: Axes, ncols: int = 2, **kwargs: Any) -> Any:
    """Put ``ax``'s legend under the axes (below the x label), where it covers no data."""
    options = {"loc": "upper center", "bbox_to_anchor": (0.5, -0.2), "ncols": ncols, "fontsize": "small",
               "frameon": False, **kwargs}
    return ax.legend(**options)


def legend_outside(ax: Axes, **kwargs: Any) -> Any:
    """Put ``ax``'s legend to the right of the axes, where it covers no data."""
    options = {"loc": "upper left", "bbox_to_anchor": (1.02, 1.0), "fontsize": "small", "frameon": False,
               "borderaxespad": 0.0, **kwargs}
    return ax.legend(**options)


def _styles_for(items: Iterable[tuple[str, Any]]) -> list[tuple[str, str]]:
    """(colour, line style) per (label, curve): the rule's own unless two curves would share a colour."""
    items = list(items)
    colors = _colors_for(items)
    own = [color_of(getattr(curve, "rule", None) or label) for label, curve in items]
    return [(color, linestyle_of(getattr(curve, "rule", None) or label) if color == mine else "-")
            for (label, curve), color, mine in zip(items, colors, own)]


def _colors_for(items: Iterable[tuple[str, Any]]) -> list[str]:
    """One colour per (label, curve): the rule's colour unless two curves would share it."""
    items = list(items)
    wanted = [color_of(getattr(curve, "rule", None) or label) for label, curve in items]
    if len(set(wanted)) == len(wanted):
        return wanted
    if len(items) <= len(COLORS):  # same rule several times (an lr sweep): spread the palette
        return list(COLORS[: len(items)])
    return [COLORS[i % len(COLORS)] for i in range(len(items))]


def _line_kwargs(color: str) -> dict[str, Any]:
    """Plot style for a colour; the pale yellow gets a dark outline so it shows on white."""
    kwargs: dict[str, Any] = {"color": color, "linewidth": 1.6}
    if color == OKABE_ITO["yellow"]:
        from matplotlib import patheffects

        kwargs["path_effects"] = [patheffects.withStroke(linewidth=2.8, foreground="#6b6b6b"), patheffects.Normal()]
    return kwargs


def _enable_notebook_display() -> None:
    """Let IPython show a pyplot-free Figure as a PNG (matplotlib-inline does it only once pyplot is imported)."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with the course
        return
    shell = get_ipython()
    if shell is None:
        return
    formatter = shell.display_formatter.formatters["image/png"]
    try:
        formatter.lookup_by_type(Figure)
    except KeyError:
        formatter.for_type(Figure, _png)


def _png(figure: Figure) -> bytes:
    import io

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", bbox_inches="tight")
    return buffer.getvalue()


def fitted_size(figsize: tuple[float, float]) -> tuple[float, float]:
    """``figsize`` narrowed, if needed, to at most :data:`MAX_WIDTH_PX` pixels at :data:`DPI`, height kept.

    Narrowing (rather than a lower dpi) keeps every text at the size it was asked for.

    >>> fitted_size((10.5, 4.2))
    (8.4, 4.2)
    """
    width, height = (float(v) for v in figsize)
    return (min(width, MAX_WIDTH_PX / DPI), height)


def new_figure(figsize: tuple[float, float] = FIGSIZE, ncols: int = 1) -> tuple[Figure, Any]:
    """A new pyplot-free figure with ``ncols`` axes side by side: ``(fig, ax)`` or ``(fig, [ax, ...])``.

    No wider than the notebook shows at 100 % (:func:`fitted_size`).
    """
    _enable_notebook_display()
    figure = Figure(figsize=fitted_size(figsize), dpi=DPI)
    axes = figure.subplots(1, ncols)
    figure.subplots_adjust(left=0.12, right=0.97, bottom=0.12, top=0.9, wspace=0.3)
    return figure, axes


_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def power_of_ten(value: float, position: int | None = None) -> str:
    """A log-axis tick label such as 10⁻⁶, in plain text (faster to draw than mathtext).

    >>> power_of_ten(1e-6)
    '10⁻⁶'
    """
    return "10" + str(int(round(np.log10(value)))).translate(_SUPERSCRIPT) if value > 0 else ""


def plain_log_yaxis(ax: Axes, low: float, high: float, *, numticks: int = 8) -> None:
    """Make ``ax``'s y-axis logarithmic from ``low`` to ``high``, labelled 10ⁿ in plain text.

    Explorers redraw their figures often; mathtext tick labels are the slowest part of a draw.
    """
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    ax.set_yscale("log")
    ax.yaxis.set_major_locator(LogLocator(numticks=numticks))
    ax.yaxis.set_major_formatter(FuncFormatter(power_of_ten))
    ax.yaxis.set_minor_formatter(NullFormatter())
    ax.set_ylim(low, high)


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
              ax: Axes | None = None, *, xlabel: str = "value", zero_line: bool = False,
              colors: Mapping[str, str] | None = None) -> Figure:
    """One horizontal error bar per row: a mean and the half-width of its interval.

    Parameters
    ----------
    rows : dict of label to (mean, half_width)
        The rows, top to bottom; a label that names an optimizer gets its colour.
    title, xlabel : str
        The title and the x label.
    ax : Axes, optional
        Draw here instead of in a new figure.
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
    ax.set_title(title)
    return fig
