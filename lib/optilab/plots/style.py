r"""The course's figure style: colours, line styles, legends, figure sizes, plain log axes.

Colours are the Okabe–Ito palette, which stays distinguishable under the common forms of
colour blindness (Okabe & Ito, 2008, "Color Universal Design"), and each optimizer always
has the same colour (:func:`color_of`) and line style (:func:`linestyle_of`), in every lesson:
both come from the rule table (:mod:`optilab.rules`). Legends go where they cover no data:
:func:`legend_below`, :func:`legend_outside`. Figures are made without ``pyplot``
(:func:`new_figure`: no global state, nothing to close, no figure shown twice), no wider than
a notebook shows at 100 %. The figures built from these are :mod:`optilab.plots.figures`;
everything here is also :mod:`optilab.plots`'s.
"""

from __future__ import annotations

import zlib
from typing import Any, Iterable

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from optilab import rules as _table

__all__ = ["OKABE_ITO", "COLORS", "RULE_COLORS", "RULE_LINESTYLES", "FIGSIZE", "DPI", "MAX_WIDTH_PX",
           "MIN_LEGEND_PX", "color_of", "linestyle_of", "legend_below", "legend_outside", "fitted_size",
           "new_figure", "power_of_ten", "plain_log_yaxis"]

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
