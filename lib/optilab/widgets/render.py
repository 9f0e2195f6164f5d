"""Render an explorer's figure to PNG fast, by redrawing only what changed.

Drawing a two-panel figure with matplotlib's Agg backend takes 100-300 ms, most of it in tick
labels and other text, while an explorer usually moves only a few lines. :class:`FigureRenderer`
therefore keeps a rendered background (each Axes' face, spines, ticks, tick and axis labels, and
contour sets) and, while those are unchanged, paints everything else over it in the order a full
draw uses (by zorder): lines, markers, patches, texts, titles and legends (matplotlib's blitting:
those artists are marked *animated* while the background is drawn, so they are laid out but not
painted, and a title keeps the place a full draw gives it). Anything in the background that
changes (limits, scales, axis labels, the ticks shown, contour sets, the figure's size, or a layout
engine that may move the axes) falls back to a full draw; a few backgrounds are kept, so going back
to limits or a figure seen before is fast again. Texts and legends that stay as they were are laid
over from cached patches (each drawn once per look), since text is the costliest thing to draw.
Both paths give the same picture, texts and legends included (tests/test_render.py compares them
text by text and region by region).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg, RendererAgg
from matplotlib.contour import ContourSet
from matplotlib.legend import Legend
from matplotlib.lines import Line2D
from matplotlib.text import Text
from matplotlib.transforms import Bbox
from matplotlib.figure import Figure

from .png import png_bytes

__all__ = ["FigureRenderer"]


def _canvas(figure: Figure) -> FigureCanvasAgg:
    if not isinstance(figure.canvas, FigureCanvasAgg):
        FigureCanvasAgg(figure)  # attaches itself to the figure
    return figure.canvas


def _ticks(axis: Any) -> tuple:
    """What an axis' ticks show: major and minor tick places and labels, as its next draw computes them.

    Keyed by what they show rather than by the locator and formatter objects: ``set_yscale`` makes new ones
    each time, and a scale switched back and forth would otherwise never find its background again.
    """
    out = []
    for ticker, locs in ((axis.major, axis.get_majorticklocs()), (axis.minor, axis.get_minorticklocs())):
        locs = np.asarray(locs, dtype=float)
        out.append((locs.tobytes(), tuple(ticker.formatter.format_ticks(locs))))
    return tuple(out)


def _axes_key(ax: Any) -> tuple:
    return (
        id(ax), ax.get_visible(), ax.axison, tuple(ax.get_position().bounds),
        ax.get_xlim(), ax.get_ylim(), ax.get_xscale(), ax.get_yscale(), ax.get_xlabel(), ax.get_ylabel(),
        _ticks(ax.xaxis), _ticks(ax.yaxis),
        tuple((id(c), c.get_visible(), c.get_alpha()) for c in ax.collections if isinstance(c, ContourSet)),
    )


def _text_look(text: Text) -> tuple:
    """What a text looks like where it is: content, place, font, colour, alignment."""
    return ("text", text.get_visible(), text.get_text(), tuple(map(float, text.get_position())), text.get_color(),
            text.get_fontsize(), str(text.get_fontweight()), text.get_rotation(), text.get_ha(), text.get_va(),
            text.get_alpha(), text.get_zorder(), str(text.get_fontfamily()), _linespacing(text),
            None if text.get_bbox_patch() is None else id(text.get_bbox_patch()))


def _linespacing(text: Text) -> float:
    """A text's line spacing: ``Text.get_linespacing`` came with matplotlib 3.11; before it, the stored value."""
    getter = getattr(text, "get_linespacing", None)
    return getter() if getter is not None else text._linespacing


def _legend_look(legend: Legend) -> tuple:
    """What a legend looks like: its place, labels and handles (a rebuilt legend may look the same)."""
    handles = tuple(
        (type(h).__name__, *(str(getattr(h, f"get_{p}", lambda: None)()) for p in
                             ("color", "linestyle", "linewidth", "marker", "markersize", "facecolor", "edgecolor")),
         h.get_alpha())
        for h in legend.legend_handles
    )
    anchor = legend.get_bbox_to_anchor()
    return ("legend", legend.get_visible(), legend._loc, tuple(t.get_text() for t in legend.get_texts()), handles,
            anchor.bounds if anchor is not None else None, legend.get_zorder(),
            legend.get_frame().get_alpha(), legend.get_texts()[0].get_fontsize() if legend.get_texts() else None)


def _look(artist: Artist) -> tuple | None:
    """The look of a text or legend, or None for any other artist."""
    if isinstance(artist, Legend):
        return _legend_look(artist)
    if isinstance(artist, Text):
        return _text_look(artist)
    return None


def _extent(artist: Artist, renderer: Any) -> Bbox:
    """Where an artist paints, in display pixels: a text's box (its ``bbox`` patch) included."""
    box = artist.get_window_extent(renderer)
    if isinstance(artist, Text) and artist.get_bbox_patch() is not None:
        artist.update_bbox_position_size(renderer)
        box = Bbox.union([box, artist.get_bbox_patch().get_window_extent(renderer)])
    return box


def _covers(artist: Artist, box: Bbox, renderer: Any, extents: dict[int, Any]) -> bool:
    """Whether ``artist``, drawn now, may paint inside ``box`` (display pixels). When unsure: yes.

    ``extents`` caches, for one render and by id, the window extents of artists other than lines, and
    for lines their path in display pixels, its bounding box and the margin their width and markers add.
    """
    try:
        if not artist.get_visible():
            return False
        if id(artist) not in extents:
            if isinstance(artist, Line2D):
                if len(artist.get_xdata()) == 0:
                    extents[id(artist)] = None
                else:
                    marker = artist.get_marker() not in (None, "None", "", " ")
                    margin = artist.get_linewidth() + (artist.get_markersize() if marker else 0)
                    margin = margin * artist.figure.dpi / 72.0 + 2
                    path = artist.get_transform().transform_path(artist.get_path())
                    extents[id(artist)] = (path, margin, path.get_extents().padded(margin))
            else:
                extents[id(artist)] = _extent(artist, renderer)
        extent = extents[id(artist)]
        if isinstance(artist, Line2D):
            if extent is None:
                return False
            path, margin, reach = extent
            grown = box.expanded(1, 1).padded(margin)
            return bool(reach.overlaps(grown)) and bool(path.intersects_bbox(grown, filled=False))
        return bool(extent.overlaps(box))
    except Exception:  # noqa: BLE001 - an artist that cannot say where it paints covers everything
        return True


def _merged(boxes: list[tuple[slice, slice]]) -> list[tuple[slice, slice]]:
    """Pixel boxes (row slice, column slice), overlapping ones merged into their union's bounding box."""
    boxes = [(r.start, r.stop, c.start, c.stop) for r, c in boxes]
    merged = True
    while merged:
        merged = False
        out: list[tuple[int, int, int, int]] = []
        for box in boxes:
            for i, other in enumerate(out):
                if box[0] < other[1] and other[0] < box[1] and box[2] < other[3] and other[2] < box[3]:
                    out[i] = (min(box[0], other[0]), max(box[1], other[1]), min(box[2], other[2]), max(box[3], other[3]))
                    merged = True
                    break
            else:
                out.append(box)
        boxes = out
    return [(slice(r0, r1), slice(c0, c1)) for r0, r1, c0, c1 in boxes]


class FigureRenderer:
    """Turns a figure into PNG bytes, reusing the static background between calls.

    Attributes
    ----------
    full_draws, fast_draws : int
        How many renders drew everything, and how many only the data artists.
    """

    #: how many backgrounds to keep: an explorer may switch between a few figures (one per problem)
    cache_size = 8
    #: bytes of overlay patches to keep before starting afresh
    patch_budget = 32 * 2**20

    def __init__(self) -> None:
        # key -> (figure, background); holding the figure keeps its id from being reused by a new one
        self._backgrounds: dict[tuple, tuple[Figure, Any]] = {}
        self._looks: dict[tuple, tuple] = {}  # slot -> the look of its text or legend at the last render
        # (background key, (slot, look)) -> that text or legend drawn alone, ready to lay over (see _patch)
        self._patches: dict[tuple, list] = {}
        self._patch_bytes = 0
        self._scratch: tuple | None = None  # ((width, height, dpi), a transparent RendererAgg to draw patches on)
        self._places: dict[tuple, Bbox] = {}  # (background key, (slot, look)) -> where that text or legend sits
        self.full_draws = 0
        self.fast_draws = 0
        self.overlay_draws = 0  # texts and legends drawn for the overlay (each look once per background)

    def _slots(self, figure: Figure) -> dict[int, tuple]:
        """Where each text and legend sits (its Axes and its role), which outlives the artist itself:
        a draw function may replace a legend with a new one that looks the same."""
        slots: dict[int, tuple] = {}
        for ax in figure.axes:
            for part in ("title", "_left_title", "_right_title"):
                slots[id(getattr(ax, part))] = (id(ax), part)
            for i, text in enumerate(ax.texts):
                slots[id(text)] = (id(ax), "text", i)
            if ax.get_legend() is not None:
                slots[id(ax.get_legend())] = (id(ax), "legend")
        for i, text in enumerate(figure.texts):
            slots[id(text)] = (id(figure), "text", i)
        for i, legend in enumerate(figure.legends):
            slots[id(legend)] = (id(figure), "legend", i)
        return slots

    def _split(self, figure: Figure, renderer: Any = None,
               key: tuple | None = None) -> tuple[list[Artist], list[tuple[Artist, tuple]], tuple]:
        """What to draw over the background, what to lay over it from the cached overlay, and the
        background's key.

        The background is each Axes' patch, spines, axes (ticks, tick labels, axis labels) and contour
        sets. Texts and legends that have not changed since the last render (or look as they did when
        laid over this background before), and that nothing drawn after them in a full draw reaches, are
        the overlay: each drawn once per look on a transparent layer and laid over the picture. Everything else in an Axes (lines, markers, patches, changing texts and
        titles and legends, images, other collections) is drawn over the background in the order a
        full draw uses: by zorder, ties in ``get_children()`` order.
        """
        slots = self._slots(figure)
        drawn = self._drawn(figure)
        candidates: list[tuple[int, Artist, tuple]] = []
        for index, artist in enumerate(drawn):
            slot, look = slots.get(id(artist)), _look(artist)
            if slot is None or look is None:
                continue
            # unchanged since the last render, or a look drawn before over this background (a slider moved back)
            known = self._looks.get(slot) == look or (key is not None and (key, (slot, look)) in self._patches)
            self._looks[slot] = look
            is_best = isinstance(artist, Legend) and artist._loc == 0  # loc="best" moves with the data
            if known and not is_best and artist.get_visible():
                candidates.append((index, artist, (slot, look)))
        overlay: list[tuple[Artist, tuple]] = []
        if renderer is not None and candidates:
            chosen = {index for index, _, _ in candidates}
            extents: dict[int, Any] = {}
            background = key if key is not None else self._key(figure)
            if len(self._places) > 256:
                self._places.clear()
            for index, artist, slot_look in candidates:
                place = (background, slot_look)  # the same look over the same axes: the same place
                try:
                    if place not in self._places:
                        self._places[place] = _extent(artist, renderer).frozen()
                    box = self._places[place]
                except Exception:  # noqa: BLE001 - cannot say where it is: draw it with the rest
                    chosen.discard(index)
                    continue
                # drawn after it in a full draw (by zorder and order) and not in the overlay: must not reach it
                later = [m for j, m in enumerate(drawn) if j > index and j not in chosen]
                if any(_covers(m, box, renderer, extents) for m in later):
                    chosen.discard(index)
            overlay = [(artist, slot_look) for index, artist, slot_look in candidates if index in chosen]
        on_top = {id(artist) for artist, _ in overlay}
        dynamic = [a for a in drawn if id(a) not in on_top]
        return dynamic, overlay, key if key is not None else self._key(figure)

    @staticmethod
    def _drawn(figure: Figure) -> list[Artist]:
        """Every artist not in the background, in the order a full draw paints them."""
        drawn: list[Artist] = []
        for ax in figure.axes:
            if not ax.get_visible():
                continue
            static = {id(ax.patch), id(ax.xaxis), id(ax.yaxis), *(id(s) for s in ax.spines.values())}
            inside = [a for a in ax.get_children()
                      if id(a) not in static and not isinstance(a, (ContourSet, Axes))]
            drawn.extend(sorted(inside, key=lambda a: a.get_zorder()))
        drawn.extend(sorted([*figure.texts, *figure.legends], key=lambda a: a.get_zorder()))
        return drawn

    @staticmethod
    def _key(figure: Figure) -> tuple:
        """What the background depends on."""
        return (id(figure), tuple(figure.get_size_inches()), figure.dpi, tuple(_axes_key(ax) for ax in figure.axes))

    def _patch(self, figure: Figure, artist: Artist, place: tuple) -> list:
        """``artist`` drawn alone on a transparent layer, as the parts to lay over a picture: one per box.

        Cached by ``place`` (the background's key and the artist's slot and look): a text or legend that
        comes back looks as it did, where it did, over the same axes.
        """
        patch = self._patches.get(place)
        if patch is not None:
            return patch
        if self._patch_bytes > self.patch_budget:
            self._patches.clear()
            self._patch_bytes = 0
        patch: list = []
        self._patches[place] = patch
        if isinstance(artist, Text) and not artist.get_text():
            return patch  # paints nothing
        # The layer is made as the canvas makes its renderer: a figure whose size in pixels is not a whole
        # number in floating point (8.4 × 4.6 inches at 100 dpi is 459.99999999999994 pixels high) places
        # text by that size, and a layer one pixel shorter would move every text by a pixel.
        main = figure.canvas.get_renderer()
        size = (main.width, main.height, figure.dpi)
        if self._scratch is None or self._scratch[0] != size:
            self._scratch = (size, RendererAgg(*size))
        layer = self._scratch[1]
        layer.clear()
        artist.draw(layer)
        painted = np.asarray(layer.buffer_rgba())
        height, width = painted.shape[:2]
        self.overlay_draws += 1
        box = _extent(artist, layer)
        x0, x1 = max(0, int(box.x0) - 3), min(width, int(np.ceil(box.x1)) + 3)
        y0, y1 = max(0, height - int(np.ceil(box.y1)) - 3), min(height, height - int(box.y0) + 3)
        if x1 > x0 and y1 > y0:
            region = (slice(y0, y1), slice(x0, x1))
            top = painted[region]
            rows, cols = np.nonzero(top[..., 3])
            if rows.size:  # only the rows and columns it paints
                region = (slice(y0 + rows.min(), y0 + rows.max() + 1), slice(x0 + cols.min(), x0 + cols.max() + 1))
                top = top[rows.min():rows.max() + 1, cols.min():cols.max() + 1].astype(np.uint16)
                alpha = top[..., 3:4]
                # "over", with matplotlib's straight (not premultiplied) alpha; the layer's half computed once.
                # 16 bits suffice: a·top + (255 − a)·under + 127 <= 255·255 + 127.
                parts = (region, top[..., :3] * alpha + 127, 255 - alpha, top[..., 3].astype(np.uint8))
                patch.append(parts)
                self._patch_bytes += sum(part.nbytes for part in parts[1:])
        return patch

    def _lay_over(self, figure: Figure, overlay: list[tuple[Artist, tuple]], key: tuple) -> None:
        """Lay the overlay's texts and legends over the canvas, in drawing order, each drawn once per look."""
        picture = np.asarray(figure.canvas.buffer_rgba())
        for artist, slot_look in overlay:
            for region, weighted, rest, alpha in self._patch(figure, artist, (key, slot_look)):
                under = picture[region]
                under[..., :3] = (weighted + under[..., :3] * rest) // 255
                np.maximum(under[..., 3], alpha, out=under[..., 3])

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
        key = self._key(figure)
        cached = self._backgrounds.get(key)
        if cached is None:
            # Left out of the background as matplotlib's blitting does it: animated artists are laid out
            # but not drawn. (Hiding them instead would lay titles out as if they had no size: an Axes
            # moves a title that seems to overlap its top edge, and an invisible one always does.)
            moving = self._drawn(figure)
            animated = [artist.get_animated() for artist in moving]
            for artist in moving:
                artist.set_animated(True)
            try:
                canvas.draw()
                background = canvas.copy_from_bbox(figure.bbox)
            finally:
                for artist, was_animated in zip(moving, animated):
                    artist.set_animated(was_animated)
            if len(self._backgrounds) >= self.cache_size:
                self._backgrounds.pop(next(iter(self._backgrounds)))
            key = self._key(figure)  # after the draw: autoscaling may have moved the limits
            self._backgrounds[key] = (figure, background)
            self.full_draws += 1
        else:
            canvas.restore_region(cached[1])
            self.fast_draws += 1
        renderer = canvas.get_renderer()
        dynamic, overlay, _ = self._split(figure, renderer, key)
        for artist in dynamic:
            if artist.get_visible():
                artist.draw(renderer)
        if overlay:
            self._lay_over(figure, overlay, key)
