"""Does a legend cover data? Checked on the drawn figure, in display pixels.

For every legend of a figure (an axes' own, or a figure legend), every visible line and marker
that is data (a ``Line2D`` with points, or a scatter's ``PathCollection``) is mapped to display
coordinates; a legend covers it when one of its segments (or markers), padded by half the line
width or marker size, enters the legend's box. Clipped artists count only inside their axes.
Contour lines and shaded spans are backgrounds, not data, and are not checked.
"""

from __future__ import annotations

from typing import Any, Iterator

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PathCollection
from matplotlib.figure import Figure
from matplotlib.legend import Legend
from matplotlib.lines import Line2D

__all__ = ["legend_overlaps"]


def _segments_hit_box(points: np.ndarray, box: tuple[float, float, float, float], joined: bool) -> bool:
    """Whether any point (or, ``joined``, any segment between consecutive points) enters ``box``."""
    x0, y0, x1, y1 = box
    if x0 >= x1 or y0 >= y1 or len(points) == 0:
        return False
    finite = np.all(np.isfinite(points), axis=1)
    inside = finite & (points[:, 0] >= x0) & (points[:, 0] <= x1) & (points[:, 1] >= y0) & (points[:, 1] <= y1)
    if inside.any():
        return True
    if not joined or len(points) < 2:
        return False
    a, b = points[:-1], points[1:]
    ok = finite[:-1] & finite[1:]
    a, b = a[ok], b[ok]
    d = b - a
    # Liang–Barsky: the part of each segment a + s d, 0 <= s <= 1, inside the box
    s_lo, s_hi = np.zeros(len(a)), np.ones(len(a))
    for p, q in ((-d[:, 0], a[:, 0] - x0), (d[:, 0], x1 - a[:, 0]), (-d[:, 1], a[:, 1] - y0), (d[:, 1], y1 - a[:, 1])):
        parallel = p == 0
        s_lo = np.where(parallel & (q < 0), 2.0, s_lo)  # parallel and outside: no part inside
        with np.errstate(divide="ignore", invalid="ignore"):
            s = q / p
        s_lo = np.where(~parallel & (p < 0), np.maximum(s_lo, s), s_lo)
        s_hi = np.where(~parallel & (p > 0), np.minimum(s_hi, s), s_hi)
    return bool(np.any(s_lo <= s_hi))


def _intersect(a: tuple, b: tuple) -> tuple[float, float, float, float]:
    return max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])


def _data_artists(ax: Any) -> Iterator[tuple[Any, np.ndarray, bool, float]]:
    """(artist, display points, joined, padding in px) for every visible line and scatter of ``ax``."""
    dpi = ax.figure.dpi
    for line in ax.get_lines():
        if not line.get_visible() or len(line.get_xydata()) == 0:
            continue
        points = line.get_transform().transform(np.asarray(line.get_xydata(), dtype=float))
        joined = line.get_linestyle() not in ("None", "none", "", " ") and line.get_linewidth() > 0
        has_marker = line.get_marker() not in (None, "None", "none", "", " ")
        if not joined and not has_marker:
            continue
        pad = max(line.get_linewidth() / 2, (line.get_markersize() / 2) if has_marker else 0) * dpi / 72
        yield line, points, joined, pad
    for collection in ax.collections:
        if isinstance(collection, PathCollection) and collection.get_visible():
            offsets = np.asarray(collection.get_offsets(), dtype=float)
            if len(offsets):
                points = collection.get_offset_transform().transform(offsets)
                sizes = collection.get_sizes()
                pad = (np.sqrt(sizes.max()) / 2 if len(sizes) else 3.0) * dpi / 72
                yield collection, points, False, pad


def _legends(figure: Figure) -> Iterator[tuple[Legend, list[Any]]]:
    for ax in figure.axes:
        legend = ax.get_legend()
        if legend is not None and legend.get_visible():
            yield legend, [ax]
    for legend in figure.legends:
        if legend.get_visible():
            yield legend, list(figure.axes)


def legend_overlaps(figure: Figure) -> list[str]:
    """Descriptions of every (legend, data artist) pair where the legend covers the data; empty if none.

    The figure is drawn first (with the Agg canvas) so that every position is final.
    """
    canvas = figure.canvas if isinstance(figure.canvas, FigureCanvasAgg) else FigureCanvasAgg(figure)
    canvas.draw()
    renderer = canvas.get_renderer()
    found = []
    for legend, axes in _legends(figure):
        frame = legend.get_window_extent(renderer)
        box = (frame.x0, frame.y0, frame.x1, frame.y1)
        for ax in axes:
            a = ax.get_window_extent(renderer)
            for artist, points, joined, pad in _data_artists(ax):
                padded = (box[0] - pad, box[1] - pad, box[2] + pad, box[3] + pad)
                region = _intersect(padded, (a.x0, a.y0, a.x1, a.y1)) if artist.get_clip_on() else padded
                if _segments_hit_box(points, region, joined):
                    found.append(f"the legend {[t.get_text() for t in legend.get_texts()][:3]} covers "
                                 f"{artist.get_label()!r} in the axes titled {ax.get_title()!r}")
    return found
