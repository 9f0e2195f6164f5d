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

Two modules: :mod:`optilab.plots.style` (colours, line styles, legends, figure sizes) and
:mod:`optilab.plots.figures` (the figures built with them); the lessons use both through
``optilab.plots``.
"""

from __future__ import annotations

from optilab.plots import figures, style
from optilab.plots.figures import contour, intervals, loss_curves, lr_sweep, sweep_intervals, trajectories
from optilab.plots.style import (COLORS, DPI, FIGSIZE, MAX_WIDTH_PX, MIN_LEGEND_PX, OKABE_ITO, RULE_COLORS,
                                 RULE_LINESTYLES, color_of, fitted_size, legend_below, legend_outside,
                                 linestyle_of, new_figure, plain_log_yaxis, power_of_ten)

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
