"""Render an explorer's figure to PNG fast, by redrawing only what changed.

Drawing a two-panel figure with matplotlib's Agg backend takes 100-200 ms, most of it in tick
labels and other text, while an explorer usually moves only a few lines. :class:`FigureRenderer`
therefore keeps a rendered background (axes, ticks, labels, contours) and, while the static
parts are unchanged, paints the data artists over it: lines, markers, patches, texts, legends
and titles (matplotlib's blitting, as in its animation module). Anything static that changes
(limits, scales, axis labels, contour sets, the figure's size, or a layout engine that may move
the axes) falls back to a full draw. Both paths give the same picture (tests/test_render.py).
"""

from __future__ import annotations

import io
from typing import Any

from matplotlib.artist import Artist
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.contour import ContourSet
from matplotlib.figure import Figure
from PIL import Image

__all__ = ["FigureRenderer", "png_bytes"]


def png_bytes(rgba: Any) -> bytes:
    """Encode an RGBA buffer (height × width × 4, as ``canvas.buffer_rgba()``) as PNG, favouring speed over size."""
    height, width = rgba.shape[:2]
    image = Image.frombuffer("RGBA", (width, height), rgba, "raw", "RGBA", 0, 1)
    buffer = io.BytesIO()
    image.save(buffer, format="png", compress_level=1)
    return buffer.getvalue()


def _canvas(figure: Figure) -> FigureCanvasAgg:
    if not isinstance(figure.canvas, FigureCanvasAgg):
        FigureCanvasAgg(figure)  # attaches itself to the figure
    return figure.canvas


def _dynamic_artists(figure: Figure) -> list[Artist]:
    """The artists an explorer typically changes: everything but the axes' frames, ticks, labels and contours."""
    artists: list[Artist] = []
    for ax in figure.axes:
        inside = [*ax.lines, *ax.patches, *ax.texts, *ax.images, *ax.artists,
                  *(c for c in ax.collections if not isinstance(c, ContourSet))]
        artists.extend(sorted(inside, key=lambda a: a.get_zorder()))
        artists.extend([ax.title, ax._left_title, ax._right_title])
        if ax.get_legend() is not None:
            artists.append(ax.get_legend())
    artists.extend(figure.texts)
    artists.extend(figure.legends)
    if getattr(figure, "_suptitle", None) is not None and figure._suptitle not in figure.texts:
        artists.append(figure._suptitle)
    return artists


def _static_key(figure: Figure) -> tuple:
    """Everything whose change needs a full draw."""
    parts: list[Any] = [id(figure), tuple(figure.get_size_inches()), figure.dpi]
    for ax in figure.axes:
        parts.append((
            id(ax), ax.get_visible(), ax.axison, tuple(ax.get_position().bounds),
            ax.get_xlim(), ax.get_ylim(), ax.get_xscale(), ax.get_yscale(), ax.get_xlabel(), ax.get_ylabel(),
            id(ax.xaxis.get_major_locator()), id(ax.yaxis.get_major_locator()),
            id(ax.xaxis.get_major_formatter()), id(ax.yaxis.get_major_formatter()),
            tuple((id(c), c.get_visible(), c.get_alpha()) for c in ax.collections if isinstance(c, ContourSet)),
        ))
    return tuple(parts)


class FigureRenderer:
    """Turns a figure into PNG bytes, reusing the static background between calls.

    Attributes
    ----------
    full_draws, fast_draws : int
        How many renders drew everything, and how many only the data artists.
    """

    def __init__(self) -> None:
        self._key: tuple | None = None
        self._background: Any = None
        self.full_draws = 0
        self.fast_draws = 0

    def render(self, figure: Figure) -> bytes:
        """The figure as PNG bytes, at the figure's dpi."""
        canvas = _canvas(figure)
        dynamic = _dynamic_artists(figure)
        key = _static_key(figure)
        if figure.get_layout_engine() is not None:
            canvas.draw()  # a layout engine may move axes when texts change: always draw it all
            self._key = None
            self.full_draws += 1
            return png_bytes(canvas.buffer_rgba())
        if key != self._key or self._background is None:
            visible = [artist.get_visible() for artist in dynamic]
            for artist in dynamic:
                artist.set_visible(False)
            try:
                canvas.draw()
                self._background = canvas.copy_from_bbox(figure.bbox)
            finally:
                for artist, was_visible in zip(dynamic, visible):
                    artist.set_visible(was_visible)
            self._key = _static_key(figure)  # after the draw: autoscaling may have settled the limits
            self.full_draws += 1
        else:
            canvas.restore_region(self._background)
            self.fast_draws += 1
        renderer = canvas.get_renderer()
        for artist in dynamic:
            if artist.get_visible():
                artist.draw(renderer)
        return png_bytes(canvas.buffer_rgba())
