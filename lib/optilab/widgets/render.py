"""Render an explorer's figure to PNG fast, by redrawing only what changed.

Drawing a two-panel figure with matplotlib's Agg backend takes 100-300 ms, most of it in tick
labels and other text, while an explorer usually moves only a few lines. :class:`FigureRenderer`
therefore keeps a rendered background (each Axes' face, spines, ticks, tick and axis labels, and
contour sets) and, while those are unchanged, paints everything else over it in the order a full
draw uses (by zorder): lines, markers, patches, texts, titles and legends (matplotlib's blitting:
those artists are marked *animated* while the background is drawn, so they are laid out but not
painted, and a title keeps the place a full draw gives it). Anything in the background that
changes (limits, scales, axis labels, locators, contour sets, the figure's size, or a layout
engine that may move the axes) falls back to a full draw. Both paths give the same picture, texts
and legends included (tests/test_render.py compares them text by text and region by region).
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.contour import ContourSet
from matplotlib.figure import Figure
from PIL import Image

__all__ = ["FigureRenderer", "png_bytes"]


def png_bytes(rgba: Any, opaque: bool = False) -> bytes:
    """Encode an RGBA buffer (height × width × 4, as ``canvas.buffer_rgba()``) as PNG, favouring speed over size.

    ``opaque``: every pixel is opaque, so the alpha channel is left out (a quarter less to encode and send).
    zlib level 1: line art compresses well even so, and a higher level costs more time than it saves
    in transfer on a local or campus network.
    """
    rgba = np.asarray(rgba)
    height, width = rgba.shape[:2]
    image = Image.frombuffer("RGBA", (width, height), rgba, "raw", "RGBA", 0, 1)
    if opaque:
        image = image.convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, format="png", compress_level=1)
    return buffer.getvalue()


def _canvas(figure: Figure) -> FigureCanvasAgg:
    if not isinstance(figure.canvas, FigureCanvasAgg):
        FigureCanvasAgg(figure)  # attaches itself to the figure
    return figure.canvas


def _axes_key(ax: Any) -> tuple:
    return (
        id(ax), ax.get_visible(), ax.axison, tuple(ax.get_position().bounds),
        ax.get_xlim(), ax.get_ylim(), ax.get_xscale(), ax.get_yscale(), ax.get_xlabel(), ax.get_ylabel(),
        id(ax.xaxis.get_major_locator()), id(ax.yaxis.get_major_locator()),
        id(ax.xaxis.get_major_formatter()), id(ax.yaxis.get_major_formatter()),
        tuple((id(c), c.get_visible(), c.get_alpha()) for c in ax.collections if isinstance(c, ContourSet)),
    )


class FigureRenderer:
    """Turns a figure into PNG bytes, reusing the static background between calls.

    Attributes
    ----------
    full_draws, fast_draws : int
        How many renders drew everything, and how many only the data artists.
    """

    #: how many backgrounds to keep: an explorer may switch between a few figures (one per problem)
    cache_size = 8

    def __init__(self) -> None:
        # key -> (figure, background); holding the figure keeps its id from being reused by a new one
        self._backgrounds: dict[tuple, tuple[Figure, Any]] = {}
        self.full_draws = 0
        self.fast_draws = 0

    @staticmethod
    def _split(figure: Figure) -> tuple[list[Artist], tuple]:
        """The artists to draw over the background, in a full draw's order, and the key of the background.

        The background is each Axes' patch, spines, axes (ticks, tick labels, axis labels) and contour
        sets; everything else in an Axes (lines, patches, texts, titles, legends, images, other
        collections) is drawn over it in the order a full draw uses: by zorder, ties in
        ``get_children()`` order. So a legend still covers the lines under it.
        """
        dynamic: list[Artist] = []
        for ax in figure.axes:
            if not ax.get_visible():
                continue
            static = {id(ax.patch), id(ax.xaxis), id(ax.yaxis), *(id(s) for s in ax.spines.values())}
            inside = [a for a in ax.get_children()
                      if id(a) not in static and not isinstance(a, (ContourSet, Axes))]
            dynamic.extend(sorted(inside, key=lambda a: a.get_zorder()))
        dynamic.extend(sorted([*figure.texts, *figure.legends], key=lambda a: a.get_zorder()))
        key = (id(figure), tuple(figure.get_size_inches()), figure.dpi,
               tuple(_axes_key(ax) for ax in figure.axes))
        return dynamic, key

    def render(self, figure: Figure) -> bytes:
        """The figure as PNG bytes, at the figure's dpi."""
        self.paint(figure)
        return self.encode(figure)

    @staticmethod
    def encode(figure: Figure) -> bytes:
        """The figure's canvas, as last painted, as PNG bytes (RGB when the figure's face is opaque)."""
        rgba = figure.canvas.buffer_rgba()
        face = figure.patch
        opaque = face.get_visible() and face.get_facecolor()[3] == 1.0 and (face.get_alpha() in (None, 1.0))
        return png_bytes(rgba, opaque=opaque)

    def paint(self, figure: Figure) -> None:
        """Paint the figure on its Agg canvas: only what changed, over the cached background, when it can."""
        canvas = _canvas(figure)
        if figure.get_layout_engine() is not None:
            canvas.draw()  # a layout engine may move axes when texts change: always draw it all
            self.full_draws += 1
            return
        dynamic, key = self._split(figure)
        cached = self._backgrounds.get(key)
        if cached is None:
            # Left out of the background as matplotlib's blitting does it: animated artists are laid out
            # but not drawn. (Hiding them instead would lay titles out as if they had no size: an Axes
            # moves a title that seems to overlap its top edge, and an invisible one always does.)
            animated = [artist.get_animated() for artist in dynamic]
            for artist in dynamic:
                artist.set_animated(True)
            try:
                canvas.draw()
                background = canvas.copy_from_bbox(figure.bbox)
            finally:
                for artist, was_animated in zip(dynamic, animated):
                    artist.set_animated(was_animated)
            if len(self._backgrounds) >= self.cache_size:
                self._backgrounds.pop(next(iter(self._backgrounds)))
            _, key = self._split(figure)  # after the draw: autoscaling may have moved the limits
            self._backgrounds[key] = (figure, background)
            self.full_draws += 1
        else:
            canvas.restore_region(cached[1])
            self.fast_draws += 1
        renderer = canvas.get_renderer()
        for artist in dynamic:
            if artist.get_visible():
                artist.draw(renderer)
