"""Render an explorer's figure to PNG fast, by redrawing only what changed.

Drawing a two-panel figure with matplotlib's Agg backend takes 100-200 ms, most of it in tick
labels and other text, while an explorer usually moves only a few lines. :class:`FigureRenderer`
therefore keeps a rendered background (axes, ticks, labels, contours, fixed legends) and, while
those are unchanged, paints the data artists over it: lines, markers, patches, texts and titles
(matplotlib's blitting, as in its animation module). Anything in the background that changes
(limits, scales, axis labels, contour sets, the figure's size, or a layout engine that may move
the axes) falls back to a full draw. A legend whose labels change from one render to the next is
redrawn with the data from then on. Both paths give the same picture (tests/test_render.py).
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


def _legend_look(legend: Any) -> tuple:
    """What a legend looks like: its place, labels and handles."""
    handles = tuple(
        (type(h).__name__, *(str(getattr(h, f"get_{p}", lambda: None)()) for p in ("color", "linestyle", "marker")),
         h.get_alpha())
        for h in legend.legend_handles
    )
    anchor = legend.get_bbox_to_anchor()
    return (legend.get_visible(), legend._loc, tuple(t.get_text() for t in legend.get_texts()), handles,
            anchor.bounds if anchor is not None else None)


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
        self._legend_looks: dict[int, tuple] = {}  # id(axes or figure) -> the look of its legend last time
        self._changing_legends: set[int] = set()  # ids whose legends changed: drawn with the data
        self.full_draws = 0
        self.fast_draws = 0

    def _legends(self, figure: Figure) -> tuple[list[Artist], list[tuple]]:
        """Split the figure's legends into those drawn with the data and the looks of those in the background."""
        owners = [(ax, ax.get_legend()) for ax in figure.axes] + [(figure, legend) for legend in figure.legends]
        dynamic, looks = [], []
        for owner, legend in owners:
            if legend is None:
                continue
            look = _legend_look(legend)
            previous = self._legend_looks.get(id(owner))
            self._legend_looks[id(owner)] = look
            if previous is not None and previous != look:
                self._changing_legends.add(id(owner))
            if legend._loc == 0 or id(owner) in self._changing_legends:  # loc="best" moves with the data
                dynamic.append(legend)
            else:
                looks.append(look)
        return dynamic, looks

    def _split(self, figure: Figure) -> tuple[list[Artist], tuple]:
        """The artists to draw over the background, and the key of everything in the background."""
        dynamic: list[Artist] = []
        for ax in figure.axes:
            inside = [*ax.lines, *ax.patches, *ax.texts, *ax.images, *ax.artists,
                      *(c for c in ax.collections if not isinstance(c, ContourSet))]
            dynamic.extend(sorted(inside, key=lambda a: a.get_zorder()))
            dynamic.extend([ax.title, ax._left_title, ax._right_title])
        legends, looks = self._legends(figure)
        dynamic.extend(legends)
        dynamic.extend(figure.texts)
        key = (id(figure), tuple(figure.get_size_inches()), figure.dpi,
               tuple(_axes_key(ax) for ax in figure.axes), tuple(looks))
        return dynamic, key

    def render(self, figure: Figure) -> bytes:
        """The figure as PNG bytes, at the figure's dpi."""
        canvas = _canvas(figure)
        if figure.get_layout_engine() is not None:
            canvas.draw()  # a layout engine may move axes when texts change: always draw it all
            self.full_draws += 1
            return png_bytes(canvas.buffer_rgba())
        dynamic, key = self._split(figure)
        cached = self._backgrounds.get(key)
        if cached is None:
            visible = [artist.get_visible() for artist in dynamic]
            for artist in dynamic:
                artist.set_visible(False)
            try:
                canvas.draw()
                background = canvas.copy_from_bbox(figure.bbox)
            finally:
                for artist, was_visible in zip(dynamic, visible):
                    artist.set_visible(was_visible)
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
        return png_bytes(canvas.buffer_rgba())
