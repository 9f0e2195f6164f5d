"""Figures under test: does a legend cover data? And a lesson run that keeps every figure it showed.

:func:`legend_overlaps` works on any matplotlib figure (a lesson's, an explorer's, a lab's): for each legend
it lists the data it covers, in display coordinates, as drawn:

* lines: every segment between consecutive finite points, clipped to the axes (what is clipped is not
  drawn), with the line's width; markers: each marker's box;
* scatter points and quiver arrows (their anchor points), images and colour meshes (their extent);
* contour sets are background (the landscape under a path), not data.

:func:`execute_keeping_figures` runs a notebook like :func:`tests.support.notebooks.execute`, with one cell
before the lesson that keeps every Figure the notebook displays (through IPython's public
``display_formatter.formatters[...].for_type``, the plug-in point for showing an object) and one cell after
it that checks those figures and evaluates expressions in the lesson's namespace, so that a test can assert
a lesson's claim from the value the lesson computed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.collections import PathCollection, QuadMesh
from matplotlib.contour import ContourSet
from matplotlib.figure import Figure
from matplotlib.image import AxesImage
from matplotlib.lines import Line2D
from matplotlib.quiver import Quiver
from matplotlib.text import Text

#: A legend may touch data by this many pixels (anti-aliasing, a frame's line width).
SLACK = 1.0


def _renderer(fig: Figure):
    if not hasattr(fig.canvas, "get_renderer"):
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        FigureCanvasAgg(fig)
    fig.canvas.draw()  # positions legends ("best") and texts as they are shown
    return fig.canvas.get_renderer()


def _intersect(a: tuple[float, float, float, float], b: tuple[float, float, float, float]):
    x0, y0, x1, y1 = max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])
    return (x0, y0, x1, y1) if x0 < x1 and y0 < y1 else None


def _segments_hit(points: np.ndarray, box: tuple[float, float, float, float]) -> bool:
    """Whether any segment between consecutive finite points crosses ``box`` (Liang–Barsky, all at once)."""
    if len(points) < 2:
        return False
    p0, p1 = points[:-1], points[1:]
    ok = np.all(np.isfinite(p0), axis=1) & np.all(np.isfinite(p1), axis=1)
    p0, p1 = p0[ok], p1[ok]
    if not len(p0):
        return False
    d = p1 - p0
    lo, hi = np.zeros(len(p0)), np.ones(len(p0))
    inside = np.ones(len(p0), dtype=bool)
    for axis, (low, high) in enumerate(((box[0], box[2]), (box[1], box[3]))):
        for p, q in ((-d[:, axis], p0[:, axis] - low), (d[:, axis], high - p0[:, axis])):
            parallel = p == 0
            inside &= ~(parallel & (q < 0))
            with np.errstate(divide="ignore", invalid="ignore"):
                r = np.where(parallel, 0.0, q / np.where(parallel, 1.0, p))
            lo = np.where(~parallel & (p < 0), np.maximum(lo, r), lo)
            hi = np.where(~parallel & (p > 0), np.minimum(hi, r), hi)
    return bool(np.any(inside & (lo <= hi)))


def _points_hit(points: np.ndarray, box, radius: float) -> bool:
    points = points[np.all(np.isfinite(points), axis=1)]
    return bool(np.any((points[:, 0] >= box[0] - radius) & (points[:, 0] <= box[2] + radius)
                       & (points[:, 1] >= box[1] - radius) & (points[:, 1] <= box[3] + radius)))


def _no_style(style) -> bool:
    return style in (None, "None", "none", "", " ")


def _covered(artist: Any, box, renderer) -> bool:
    """Whether ``artist``, as drawn, has data inside ``box`` (display coordinates)."""
    if isinstance(artist, Line2D):
        xy = np.asarray(artist.get_xydata(), dtype=float)
        if not len(xy):
            return False
        with np.errstate(all="ignore"):
            points = artist.get_transform().transform(xy)
        dpi = artist.figure.dpi
        pad = artist.get_linewidth() * dpi / 72 / 2
        grown = (box[0] - pad, box[1] - pad, box[2] + pad, box[3] + pad)
        if not _no_style(artist.get_linestyle()) and _segments_hit(points, grown):
            return True
        if not _no_style(artist.get_marker()):
            return _points_hit(points, box, artist.get_markersize() * dpi / 72 / 2)
        return False
    if isinstance(artist, (PathCollection, Quiver)):
        offsets = np.asarray(artist.get_offsets(), dtype=float)
        if not len(offsets):
            return False
        transform = artist.get_offset_transform()
        return _points_hit(transform.transform(offsets), box, 3.0)
    if isinstance(artist, (QuadMesh, AxesImage)):
        extent = artist.get_window_extent(renderer)
        return _intersect((extent.x0, extent.y0, extent.x1, extent.y1), box) is not None
    return False


def legend_overlaps(fig: Figure, renderer=None) -> list[str]:
    """What each legend of ``fig`` covers: one line per (legend, data artist), empty when nothing is covered.

    An axes' legend is checked against its axes' data; a figure legend against every axes'.
    ``renderer``: the figure's, when it is already drawn as shown (else it is drawn here)."""
    renderer = renderer or _renderer(fig)
    legends = [(ax.get_legend(), [ax]) for ax in fig.axes] + [(legend, list(fig.axes)) for legend in fig.legends]
    found = []
    for legend, axes in legends:
        if legend is None or not legend.get_visible():
            continue
        lb = legend.get_window_extent(renderer)
        for ax in axes:
            ab = ax.get_window_extent(renderer)
            box = _intersect((lb.x0 + SLACK, lb.y0 + SLACK, lb.x1 - SLACK, lb.y1 - SLACK), (ab.x0, ab.y0, ab.x1, ab.y1))
            if box is None:  # the legend sits outside these axes
                continue
            artists = [a for a in (*ax.lines, *ax.collections, *ax.images)
                       if a.get_visible() and not isinstance(a, ContourSet)]
            for artist in artists:
                if _covered(artist, box, renderer):
                    label = artist.get_label() or type(artist).__name__
                    found.append(f"axes {ax.get_title()!r}: the legend covers {label!r}")
    return found


def _legend_texts(legend) -> list[Text]:
    return [legend.get_title(), *legend.get_texts()] if legend is not None and legend.get_visible() else []


def text_outside(fig: Figure, renderer=None) -> list[str]:
    """Titles (centre, left and right), axis labels, notes and legend entries of ``fig`` that are cut:
    partly outside the figure's canvas.

    (Tick labels are left out: matplotlib keeps labels of ticks outside the view, undrawn.)
    """
    renderer = renderer or _renderer(fig)
    width, height = fig.canvas.get_width_height()
    texts = list(fig.texts)  # the suptitle is one of them
    for legend in fig.legends:
        texts += _legend_texts(legend)
    for ax in fig.axes:
        # an Axes' own texts: its notes and its three titles
        texts += [child for child in ax.get_children() if isinstance(child, Text)]
        texts += [ax.xaxis.label, ax.yaxis.label, *_legend_texts(ax.get_legend())]
    cut = []
    for text in texts:
        if text is None or not text.get_visible() or not str(text.get_text()).strip():
            continue
        box = text.get_window_extent(renderer)
        if box.x0 < -1 or box.y0 < -1 or box.x1 > width + 1 or box.y1 > height + 1:
            cut.append(f"{text.get_text()!r} at {box.x0:.0f}..{box.x1:.0f} × {box.y0:.0f}..{box.y1:.0f} "
                       f"on a {width}×{height} canvas")
    return cut


# -- a lesson run that keeps its figures --------------------------------------------------------------
_KEEP = """\
from IPython import get_ipython as __get_ipython
from matplotlib.figure import Figure as __Figure
__shown_figures = []

def __keep(fig):
    import io
    __shown_figures.append(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight")
    return buffer.getvalue()

__get_ipython().display_formatter.formatters["image/png"].for_type(__Figure, __keep)
"""

_REPORT = """\
import json as __json, sys as __sys
__sys.path.insert(0, {root!r})
from tests.support.figures import legend_overlaps as __overlaps, describe as __describe

def __plain(value):
    import numpy as __np
    if isinstance(value, dict):
        return {{str(k): __plain(v) for k, v in value.items()}}
    if isinstance(value, (list, tuple)):
        return [__plain(v) for v in value]
    if isinstance(value, __np.ndarray):
        return __plain(value.tolist())
    if isinstance(value, (__np.floating, __np.integer, __np.bool_)):
        return value.item()
    if isinstance(value, complex):
        return [value.real, value.imag]
    return value

__values = {{}}
for __name, __expr in {exprs!r}.items():
    __values[__name] = __plain(eval(__expr))
print("@@REPORT@@" + __json.dumps({{"figures": [__describe(f) for f in __shown_figures], "values": __values}}))
"""


def _labels(ax) -> tuple[str, str]:
    """The panel's x and y labels; an axis shared with other panels (``sharex``, ``sharey``) is
    labelled once for all of them, on any of them."""
    def label(shared, own) -> str:
        return own(ax) or next((own(other) for other in shared.get_siblings(ax) if own(other)), "")
    return (label(ax.get_shared_x_axes(), lambda a: a.get_xlabel()),
            label(ax.get_shared_y_axes(), lambda a: a.get_ylabel()))


def describe(fig: Figure) -> dict[str, Any]:
    """A figure's titles, axis labels, legend overlaps and cut texts, as plain data (drawn once)."""
    renderer = _renderer(fig)
    return {"titles": [ax.get_title() for ax in fig.axes] + [fig.get_suptitle()],
            "labels": [_labels(ax) for ax in fig.axes if ax.has_data() and ax.get_label() != "<colorbar>"],
            "overlaps": legend_overlaps(fig, renderer), "cut": text_outside(fig, renderer)}


@dataclass
class Report:
    """What :func:`execute_keeping_figures` found: each shown figure described, and the values asked for."""

    figures: list[dict[str, Any]] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    stderr: list[str] = field(default_factory=list)
    #: The notebook's own cells as executed, without the two cells that keep and report the figures.
    run: Any = None


def execute_keeping_figures(path: Path, exprs: dict[str, str], timeout: int = 60) -> Report:
    """Run the notebook at ``path``; describe every figure it displayed and evaluate ``exprs`` in its namespace."""
    import nbformat

    from tests.support.notebooks import ROOT, Executed, run_notebook

    notebook = nbformat.read(path, as_version=4)
    notebook.cells.insert(0, nbformat.v4.new_code_cell(_KEEP))
    notebook.cells.append(nbformat.v4.new_code_cell(_REPORT.format(root=str(ROOT), exprs=dict(exprs))))
    run = run_notebook(notebook, path, timeout=timeout, allow_errors=True)
    own = nbformat.from_dict(dict(notebook, cells=notebook.cells[1:-1]))
    report = Report(errors=run.errors, stderr=run.stderr(), run=Executed(path, own, run.seconds))
    for _, output in run.outputs("stream"):
        for line in output.get("text", "").splitlines():
            if line.startswith("@@REPORT@@"):
                data = json.loads(line[len("@@REPORT@@"):])
                report.figures, report.values = data["figures"], data["values"]
    return report


def unseen_lines(fig: Figure, renderer=None) -> list[str]:
    """Labelled lines that show nothing, and panels with a legend but no line shown.

    A line shows when a drawn segment between two finite points crosses its axes' view, or a marker
    sits in it. This catches a curve that a log axis hides (its values are all ≤ 0 or NaN), a curve
    that runs entirely outside the axis limits, a lone point without a marker, and so an empty panel
    with a legend.
    """
    renderer = renderer or _renderer(fig)
    found = []
    for ax in fig.axes:
        extent = ax.get_window_extent(renderer)
        box = (extent.x0 - 1, extent.y0 - 1, extent.x1 + 1, extent.y1 + 1)
        shown = 0
        for line in ax.lines:
            xy = np.asarray(line.get_xydata(), dtype=float)
            if not line.get_visible() or not len(xy):
                continue  # nothing to show is not a hidden line
            with np.errstate(all="ignore"):
                points = line.get_transform().transform(xy)
            if (not _no_style(line.get_linestyle()) and _segments_hit(points, box)) \
                    or (not _no_style(line.get_marker()) and _points_hit(points, box, 0.0)):
                shown += 1
            elif not str(line.get_label()).startswith("_"):
                found.append(f"axes {ax.get_title()!r}: {line.get_label()!r} has {len(xy)} points, none shown")
        others = [a for a in (*ax.collections, *ax.images) if a.get_visible()]  # scatter points, meshes
        if ax.get_legend() is not None and ax.get_legend().get_visible() and shown == 0 and not others:
            found.append(f"axes {ax.get_title()!r} has a legend but shows no line")
    return found
