"""The explorer: a figure that is redrawn whenever one of its controls moves.

Every explorer in the lessons is an :class:`Explorer`: a dict of ipywidgets controls, a
``draw`` function that turns the controls' values into a matplotlib Figure, and an
``ipywidgets.Image`` that shows the latest figure as a PNG. Explorers are testable without a
browser: ``explorer.set(lr=0.1)`` moves a control, runs the callback and leaves the new figure
in ``explorer.figure``.

How the figure gets to the screen, and why
------------------------------------------
Measured in JupyterLab in headless Chromium (``make bench``; ``tests/browser/explorers.mjs``), an
input's wait splits into: the message to the kernel (5-15 ms), the lesson's computation, drawing,
PNG encoding, the message to the browser, and decoding and painting (together 10-25 ms). On a shared,
busy machine the kernel's CPU time per input was 16-48 ms (98 ms for lesson 04's explorer, which
builds a figure per scale): the lesson's computation, then drawing (mostly text: titles, legends,
labels; lines are cheap) and PNG encoding (about 6 ms).
The choices, from those measurements:

* **matplotlib draws, in the kernel; only what moved.** :class:`~optilab.widgets.render.FigureRenderer`
  repaints lines and changing texts over a cached background (axes, ticks, labels, contours) and
  lays unchanged texts and legends over them from a cached layer, instead of a full draw (100-300
  ms). The picture is the one a full draw gives (tests/test_render.py, and in the browser), the same
  in JupyterLab, Binder, a hub and headless, and offline: no JavaScript of ours, nothing to install.
  Drawing in the browser from data (anywidget with a JS plotting library) would remove drawing and
  encoding from the kernel, but means a second implementation of every figure (fonts, layout,
  mathematical labels) to keep equal to the static figures and to the full draws the tests compare
  with; it is the next step if the kernel's time must go below what matplotlib can draw.
* **An** ``ipywidgets.Image`` **updated in place**, not an ``Output`` cleared and refilled: one comm
  message with the PNG as a binary buffer (no base64, no display message, no new DOM node). It was
  measured against the ``Output`` path in the same run (kept as ``display="output"``, the reference
  ``make bench`` reports): the browser's part is small either way (per-explorer ratios of the
  medians 0.54-1.42×, median 0.97×, within the noise of a busy machine). It is kept for what it
  does not do: no output area emptied and refilled (no flicker, no layout jump), no base64.
* **Coalescing is ipywidgets' own, kept intact by drawing inside the change's handler.** A widget
  model in the browser sends one change and holds later ones (merged: the latest value wins) until
  the kernel reports idle after it, then sends what it holds; so while the kernel draws, a burst of
  key presses collapses to the latest value, and the last one is never dropped (the browser test
  checks it). Drawing later (deferred to the event loop) would let the kernel report idle before
  drawing and defeat that throttle. A change that moves other controls (a menu that resets a slider)
  draws once, not once per control. Sliders keep the lessons' ``continuous_update=False``: a drag
  sends its value on release, a key press at once. (Continuous updates would follow the hand while
  dragging, but a slider whose value, set from Python, is off its step grid then sends a snapped
  value back unasked: a figure for a value the readout never showed, which the browser test caught.)
* **Images as wide as the notebook shows them** (:data:`optilab.plots.MAX_WIDTH_PX`, 840 px): a wider
  picture is scaled down by the browser (blurred, smaller text) and costs pixels to paint, encode,
  send and decode. PNG at zlib level 1, RGB, rows unfiltered: line art stays exact (JPEG would blur it), and
  this is the fastest encoding that still compresses it (50-90 kB a frame; about 3 ms, half of
  Pillow's encoder, which tries PNG's filters on every row for no smaller result on line art).
* **Frames painted ahead where the controls allow it**: an explorer whose controls all have a short
  list of values (selection sliders, menus, check boxes; at most :attr:`Explorer.PRERENDER_MAX`
  combinations) paints and encodes every frame when built in a notebook (0.2-1.5 s of CPU, 0.1-2 MB
  of PNG) and then answers a move with the frame from memory: the kernel's part drops to about a
  millisecond. Each frame is painted as a move would paint it, so it is the picture a full draw
  gives; :attr:`Explorer.figure` is drawn for the shown values when asked for.
* **Frames one input away painted while the kernel waits** (every other explorer): once a figure is
  shown and 0.1 s passed without another input, the kernel paints up to :attr:`Explorer.AHEAD` frames
  one key press or click away (the last control's next step, the other controls' next values, then
  the steps back), one per turn of its event loop. A student who looks at the figure and presses
  again gets the frame from memory; inputs that come faster never wait behind one. Measured at a
  person's pace (300 ms from a figure to the next input), the explorers that draw in the kernel went
  from 40-55 ms to 28-37 ms medians.
* **Each message leaves the server at once**: the Jupyter server's websocket to the browser keeps
  Nagle's algorithm on, which held the end of each frame until the browser's delayed
  acknowledgement (up to 40 ms on Linux); :mod:`optilab.websocket` turns it off (``make setup``,
  Binder and the hub recipe install it). Transfer went from 42-44 ms to about 10 ms.
* **Backgrounds warmed where a control changes them**: an explorer whose menu or slider changes
  the axes (another problem's figure, another y-range or scale) paints those backgrounds once when
  built (``warm=``), so the first move there paints only what moves.

Each frame also sends its timings (:attr:`Explorer.stats`, a hidden widget with JSON: what was
drawn, when, and how long computing, drawing and encoding took) so the browser harness can split
an input's wait into kernel and browser parts.
"""

from __future__ import annotations

import asyncio
import functools
import html
import json
import math
import os
import threading
import time
from typing import Any, Callable

import ipywidgets as widgets
from matplotlib.figure import Figure

from optilab.widgets.render import FigureRenderer

__all__ = ["Explorer", "register", "registry"]

_REGISTRY: dict[str, Callable[[], "Explorer"]] = {}


def register(name: str) -> Callable[[Callable[..., "Explorer"]], Callable[..., "Explorer"]]:
    """Register an explorer factory (callable with no arguments) under ``name``.

    The registry lets the tests and ``make bench`` build and time every explorer. The factory
    returned is the same function, but the explorers it builds know their ``name`` (shown to the
    browser tests as a CSS class ``optilab-explorer-<name>``).
    """

    def decorate(factory: Callable[..., "Explorer"]) -> Callable[..., "Explorer"]:
        @functools.wraps(factory)
        def named(*args: Any, **kwargs: Any) -> "Explorer":
            explorer = factory(*args, **kwargs)
            if isinstance(explorer, Explorer) and explorer.name is None:
                explorer.name = name
            return explorer

        _REGISTRY[name] = named
        return named

    return decorate


def registry() -> dict[str, Callable[[], "Explorer"]]:
    """All registered explorer factories, by name (imports every explorer module first)."""
    import importlib
    import pkgutil

    import optilab.widgets as package

    for info in pkgutil.iter_modules(package.__path__):
        importlib.import_module(f"{package.__name__}.{info.name}")
    return dict(_REGISTRY)


def _in_kernel() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with ipykernel
        return False
    shell = get_ipython()
    return shell is not None and hasattr(shell, "kernel")


def _shown(control: widgets.ValueWidget) -> Any:
    """A control's value as JSON, as its readout shows it: the label of a selection, else the value."""
    label = getattr(control, "label", None)
    if isinstance(label, str):
        return label
    labels = getattr(control, "label", None)
    if isinstance(labels, tuple):
        return list(labels)
    value = control.value
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value
    return repr(value)


def _option_values(options: Any) -> list[Any]:
    """The values of a selection's options (an option given as ``(label, value)`` stands for its value)."""
    return [o[1] if isinstance(o, tuple) and len(o) == 2 and isinstance(o[0], str) else o for o in options]


def _choices(control: widgets.ValueWidget) -> list[Any]:
    """A control's possible values if they are a short list (a selection of one, a check box, a short
    integer slider), else ``[]`` (continuous sliders, multiple selections)."""
    if isinstance(control, (widgets.SelectMultiple, widgets.SelectionRangeSlider)):
        return []
    options = getattr(control, "options", None)
    if options is not None:
        return _option_values(options)
    if isinstance(control.value, bool):
        return [False, True]
    if isinstance(control, widgets.IntSlider):
        values = list(range(control.min, control.max + 1, max(1, control.step)))
        return values if len(values) <= 64 else []
    return []


def _one_move_away(control: widgets.ValueWidget, direction: int) -> list[Any]:
    """The values one input moves ``control`` to: one step of a slider in ``direction`` (+1 or -1), the next
    or previous option of a menu (going round, as the bench's menus do), a check box flipped, each
    option of a multiple choice ticked or unticked (never none); ``[]`` where it cannot move that way."""
    value = control.value
    if isinstance(control, widgets.SelectMultiple):
        if direction < 0:
            return []
        out = []
        for option in _option_values(control.options):
            picked = tuple(v for v in value if v != option) if option in value else (*value, option)
            if picked:
                out.append(picked)
        return out
    if isinstance(value, bool):
        return [not value] if direction > 0 else []
    options = _choices(control) if getattr(control, "options", None) is not None else None
    if options:
        try:
            i = options.index(value)
        except ValueError:
            return []
        if isinstance(control, widgets.SelectionSlider):  # a slider stops at its ends
            j = i + direction
            return [options[j]] if 0 <= j < len(options) else []
        return [options[(i + direction) % len(options)]] if len(options) > 1 else []
    if isinstance(control, widgets.FloatLogSlider):
        exponent = math.log(value, control.base) + direction * control.step
        if control.min - 1e-9 <= exponent <= control.max + 1e-9:
            return [float(control.base ** round(exponent, 10))]
        return []
    if isinstance(control, (widgets.FloatSlider, widgets.IntSlider)):
        moved = value + direction * control.step
        return [type(value)(moved)] if control.min <= moved <= control.max else []
    return []


def _direction(old: Any, new: Any) -> int:
    """Which way a control moved: -1 if its value went down, else +1."""
    try:
        return -1 if new < old else 1
    except TypeError:
        return 1


def _frame_key(values: dict[str, Any]) -> tuple | None:
    """The controls' values as a dict key (each with its type: 1 and 1.0 and True are not the same value),
    or None if one cannot be one. Floats count to 10 significant digits: a slider's value computed in the
    browser (0.1 + 0.2, or 10 ** -1.98) finds the frame painted for the same value computed here."""
    try:
        key = tuple((name, type(value).__name__, float(f"{value:.10g}") if type(value) is float else value)
                    for name, value in values.items())
        hash(key)
    except TypeError:
        return None
    return key


def _same(values: dict[str, Any], drawn: dict[str, Any] | None) -> bool:
    """Whether two sets of control values are equal (values that cannot be compared are taken as different)."""
    if drawn is None or values.keys() != drawn.keys():
        return False
    try:
        return all(type(v) is type(drawn[k]) and bool(v == drawn[k]) for k, v in values.items())
    except Exception:  # noqa: BLE001 - arrays and other odd values: draw again
        return False


class Explorer:
    """Controls plus a figure that is redrawn when any control changes.

    Parameters
    ----------
    controls : dict of str to ipywidgets.ValueWidget
        The controls; their names are the keyword arguments of ``draw``.
    draw : callable
        ``draw(**values) -> Figure``: builds (or updates and returns) the figure for the values.
    title : str, optional
        A line shown above the controls.
    display : {"image", "output"}, optional
        How the figure is shown in a notebook: ``"image"`` (the default; an ``ipywidgets.Image``
        updated in place) or ``"output"`` (an ``ipywidgets.Output`` refilled with a PNG display,
        as before; the reference ``make bench`` compares with). The default may be changed for a
        whole kernel with the environment variable ``OPTILAB_EXPLORER_DISPLAY``.
    warm : list of dict, optional
        Control values (by name; the others keep their current values) whose figures are painted once,
        unseen, when the explorer is built in a notebook (see :meth:`warm`): the backgrounds they need
        (other axes limits, scales, another figure) are then cached, and the first move to them paints
        only what moves instead of the whole figure.
    prerender : bool, optional
        Whether, when built in a notebook, the explorer paints the frame for every combination of its
        controls' values and then shows each from memory (see :meth:`prerender`). By default it does
        when every control has a short list of values (selection sliders, menus, check boxes, short
        integer sliders) and there are at most :attr:`PRERENDER_MAX` combinations.

    Attributes
    ----------
    figure : matplotlib.figure.Figure
        The figure drawn for the controls' current values.
    redraws : int
        How many times a change has brought a new figure (drawn, or in a notebook a frame from memory).
    frames : dict
        Frames (PNG) by the controls' values: those painted ahead (:meth:`prerender`) and, in a notebook,
        the latest shown; a change to their values shows them without drawing.
    last_seconds : float
        Wall time of the last redraw, from the control's change to the figure sent (in a notebook
        this includes rendering the PNG; elsewhere only drawing, see :meth:`render`).
    timings : dict
        The last redraw's parts, in milliseconds: ``compute_ms`` (``draw``), ``render_ms``
        (painting the figure) and ``encode_ms`` (the PNG), the PNG's size in ``bytes``, and in a
        kernel ``cpu_ms``, the kernel's CPU time for the whole change.
    name : str or None
        The name it is registered under, when built by a registered factory.
    """

    DISPLAYS = ("image", "output")
    #: the most frames an explorer paints ahead by default (each costs one redraw when it is built)
    PRERENDER_MAX = 40
    #: how many frames shown in a notebook are kept, to be shown again at once when a control goes back
    FRAMES_KEPT = 64
    #: how many frames one input away from the shown one are painted while the kernel waits (see :meth:`paint_ahead`)
    AHEAD = 6
    #: seconds without a new input before painting ahead starts: inputs that come faster (a key held down)
    #: never wait behind a frame painted ahead
    AHEAD_AFTER = 0.1
    _built = 0  # explorers built in this process: each gets the next serial number

    def __init__(self, controls: dict[str, widgets.ValueWidget], draw: Callable[..., Figure],
                 title: str | None = None, *, display: str | None = None,
                 warm: list[dict[str, Any]] | None = None, prerender: bool | None = None) -> None:
        if not isinstance(controls, dict) or not controls:
            raise TypeError("Explorer needs a non-empty dict of name -> ipywidgets control")
        display = display or os.environ.get("OPTILAB_EXPLORER_DISPLAY") or "image"
        if display not in self.DISPLAYS:
            raise ValueError(f"display={display!r} is not one of {self.DISPLAYS}")
        self.controls = controls
        self.draw = draw
        self.title = title
        self.display = display
        self.name: str | None = None
        Explorer._built += 1
        self.serial = Explorer._built
        # Its own size, or smaller on a narrow screen; never stretched to the box's width (blurred).
        self.image = widgets.Image(format="png", layout=widgets.Layout(max_width="100%", height="auto",
                                                                       align_self="flex-start"))
        self.output = widgets.Output()
        self.stats = widgets.HTML(value="{}", layout=widgets.Layout(display="none"))
        self.image.add_class("optilab-explorer-image")
        self.stats.add_class("optilab-explorer-stats")
        self.renderer = FigureRenderer()
        self._figure: Figure | None = None
        self._stale: dict[str, Any] | None = None  # values shown from a painted frame but not drawn yet
        # JupyterLab sends widget messages to a kernel subshell: a change (and painting ahead) runs in the
        # subshell's thread while a cell may ask for the figure in the main one. The lock keeps the figure
        # whole; once code has asked for it, nothing is painted ahead until a control moves again.
        self._lock = threading.RLock()
        self._held = False
        self.frames: dict[tuple, bytes] = {}  # painted frames, by the controls' values (see prerender)
        self._kept, self._kept_keys = 0, []  # frames kept as shown (not painted ahead), oldest first
        self.redraws = 0
        self.last_seconds = float("nan")
        self.timings: dict[str, float] = {}
        self._frame = 0
        self._drawn: dict[str, Any] | None = None  # the values of the last draw
        self._moved: tuple[str, int] | None = None  # the control that moved last, and which way
        self._ahead_handle: asyncio.Handle | None = None  # the next frame of the round painting ahead, pending
        self.painted_ahead = 0  # frames painted ahead while the kernel waited
        self.ahead_error: Exception | None = None  # the last frame ahead that failed (its round stopped there)
        self.warm_values = [dict(values) for values in (warm or [])]
        unknown = sorted({name for values in self.warm_values for name in values} - set(controls))
        if unknown:
            raise KeyError(f"warm names controls {unknown} that this explorer does not have; it has {sorted(controls)}")
        # every warmed background, the current one and one more fit in the renderer's cache
        self.renderer.cache_size = max(FigureRenderer.cache_size, len(self.warm_values) + 2)
        for control in controls.values():
            control.observe(self._on_change, names="value")
        if _in_kernel():
            self.warm()
            if prerender or (prerender is None and 0 < len(self.combinations()) <= self.PRERENDER_MAX):
                self.prerender()
        self.update()

    @property
    def figure(self) -> Figure | None:
        """The figure drawn for the controls' current values (drawn now if a painted frame was shown instead)."""
        with self._lock:
            self._held = True
            return self._current()

    def _current(self) -> Figure | None:
        if self._stale is not None:
            values, self._stale = self._stale, None
            self._figure = self.draw(**values)
        return self._figure

    @figure.setter
    def figure(self, figure: Figure | None) -> None:
        self._stale = None
        self._figure = figure

    def combinations(self) -> list[dict[str, Any]]:
        """Every combination of the controls' values, or ``[]`` if a control's values are not a short list."""
        import itertools

        choices = []
        for control in self.controls.values():
            values = _choices(control)
            if not values:
                return []
            choices.append(values)
        count = 1
        for values in choices:
            count *= len(values)
        if count > 10 * self.PRERENDER_MAX:
            return []
        return [dict(zip(self.controls, combination)) for combination in itertools.product(*choices)]

    def _keep(self, values: dict[str, Any], png: bytes) -> None:
        """Keep a frame shown in a notebook, so that going back to its values shows it at once (the
        :attr:`FRAMES_KEPT` latest, besides those painted ahead)."""
        key = _frame_key(values)
        if key is None or key in self.frames:
            return
        if self._kept >= self.FRAMES_KEPT:
            self.frames.pop(self._kept_keys.pop(0), None)
            self._kept -= 1
        self.frames[key] = png
        self._kept_keys.append(key)
        self._kept += 1

    def prerender(self) -> None:
        """Paint and encode the frame for every combination of values (:meth:`combinations`), kept in :attr:`frames`.

        A control's move to any of them then shows its frame at once: no drawing, painting or encoding. The
        frames are painted as a move would paint them, so each is the picture a full draw gives; the figure
        itself is drawn again for the shown values only when asked for (:attr:`figure`).
        """
        for values in self.combinations():
            key = _frame_key(values)
            if key is None:
                continue
            self.frames[key] = self._painted(values)
        self._figure, self._stale, self._drawn = None, self.values(), None

    def _painted(self, values: dict[str, Any]) -> bytes:
        """The frame for ``values`` as a move there would paint it (PNG), without showing it."""
        figure = self.draw(**values)
        self.renderer.paint(figure)
        return self.renderer.encode(figure)

    def moves_ahead(self) -> list[dict[str, Any]]:
        """The values one input away from the current ones whose frames are not kept yet, likeliest first: the
        control that moved last, again the same way; every other control's next value; the last one back;
        every other control's previous value."""
        names = list(self.controls)
        moved, direction = self._moved or (names[0], 1)
        others = [name for name in names if name != moved]
        order = [(moved, direction), *((name, 1) for name in others), (moved, -direction), *((name, -1) for name in others)]
        current, out, seen = self.values(), [], set()
        for name, way in order:
            for value in _one_move_away(self.controls[name], way):
                values = {**current, name: value}
                key = _frame_key(values)
                if key is not None and key not in self.frames and key not in seen:
                    seen.add(key)
                    out.append(values)
        return out

    def paint_ahead(self, values: dict[str, Any]) -> None:
        """Paint and keep the frame for ``values`` (as a move there would show it), without showing it.

        The figure is left drawn for other values than the shown ones, so it is drawn again when asked for."""
        with self._lock:
            if self._held:  # code holds the figure: leave it as it is
                return
            # Said before drawing: from here the figure is drawn for ``values``, so a failure part-way
            # leaves it to be drawn again for the values shown when it is asked for.
            self._stale = self.values()
            self._keep(values, self._painted(values))
            self.painted_ahead += 1

    def _schedule_ahead(self) -> None:
        """In a kernel, once the change is answered and :attr:`AHEAD_AFTER` seconds passed without another:
        paint up to :attr:`AHEAD` frames one input away, one per turn of the kernel's event loop, so that a
        message that arrives meanwhile waits for one frame at most. A student who presses an arrow key
        again, or goes back, then gets the frame from memory. Any new update stops what is left of the
        round, or the round before it starts; so does a frame that fails (kept in :attr:`ahead_error`),
        and the figure is then drawn again for the values shown when it is asked for."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no event loop running (a script, a test): nothing is painted ahead
            return
        todo = self.moves_ahead()[:self.AHEAD]

        def next_frame() -> None:
            self._ahead_handle = None
            if self._held:
                return
            try:
                self.paint_ahead(todo.pop(0))
            except Exception as error:  # noqa: BLE001 - a frame ahead is only a head start: the round stops
                self.ahead_error = error
                return
            if todo:
                self._ahead_handle = loop.call_soon(next_frame)

        if self._ahead_handle is not None:  # what is left of the round before
            self._ahead_handle.cancel()
        self._ahead_handle = loop.call_later(self.AHEAD_AFTER, next_frame) if todo else None

    def values(self) -> dict[str, Any]:
        """The controls' current values, by name."""
        return {name: control.value for name, control in self.controls.items()}

    def set(self, **values: Any) -> "Explorer":
        """Move controls by name (as a person would), which redraws the figure once per control."""
        unknown = set(values) - set(self.controls)
        if unknown:
            raise KeyError(f"no control named {sorted(unknown)}; this explorer has {sorted(self.controls)}")
        for name, value in values.items():
            self.controls[name].value = value
        return self

    def warm(self) -> None:
        """Paint the figure for each of :attr:`warm_values` (not shown), caching their backgrounds.

        The controls do not move and nothing is sent; the next :meth:`update` draws the current values again.
        """
        for values in self.warm_values:
            figure = self.draw(**{**self.values(), **values})
            self.renderer.paint(figure)
        self._drawn = None

    def update(self) -> Figure:
        """Draw the figure for the current values and, in a notebook, show it."""
        with self._lock:
            self._held = False  # a control moved: painting ahead may go on
            return self._update()

    def _update(self) -> Figure:
        start, cpu = time.perf_counter(), time.process_time()
        received = time.time()
        values = self.values()
        key = _frame_key(values) if self.frames else None
        if key in self.frames:  # painted ahead: show it, draw the figure only when asked for
            png = self.frames[key]
            self._figure, self._stale, self._drawn = self._figure, values, values
            self.timings = {"compute_ms": 0.0, "render_ms": 0.0, "encode_ms": 0.0, "bytes": len(png), "from_memory": True}
            now = time.perf_counter()
            self.timings["cpu_ms"] = 1e3 * (time.process_time() - cpu)
            self._show(png, received, now, now)
            self.redraws += 1
            self.last_seconds = time.perf_counter() - start
            if _in_kernel():
                self._schedule_ahead()
            return self._figure
        self.figure = self.draw(**values)
        self._drawn = values
        computed = time.perf_counter()
        self.timings = {"compute_ms": 1e3 * (computed - start)}
        if _in_kernel():
            png = self.render()
            encoded = time.perf_counter()
            self._keep(values, png)
            # CPU time of this process for the whole change: what it would take on an idle core.
            self.timings["cpu_ms"] = 1e3 * (time.process_time() - cpu)
            self._show(png, received, computed, encoded)
            self._schedule_ahead()
        self.redraws += 1
        self.last_seconds = time.perf_counter() - start
        return self._current()

    def render(self) -> bytes:
        """The current figure as PNG bytes, as the notebook shows it; fills in :attr:`timings`."""
        with self._lock:
            start = time.perf_counter()
            figure = self._current()
            self.renderer.paint(figure)
            painted = time.perf_counter()
            png = self.renderer.encode(figure)
        self.timings.update(render_ms=1e3 * (painted - start), encode_ms=1e3 * (time.perf_counter() - painted),
                            bytes=len(png))
        return png

    def _show(self, png: bytes, received: float, computed: float, encoded: float) -> None:
        self._frame += 1
        stats = {"frame": self._frame, "serial": self.serial, "name": self.name, "display": self.display, "received": 1e3 * received,
                 "shown": {name: _shown(c) for name, c in self.controls.items()}, **self.timings,
                 "sent": 1e3 * time.time()}
        # The timings first: the browser applies messages in order, so a new image finds them there.
        self.stats.value = html.escape(json.dumps(stats), quote=False)  # shown as HTML: its text is the JSON
        if self.display == "image":
            self.image.value = png
        else:
            from IPython.display import Image, display

            with self.output:
                self.output.clear_output(wait=True)
                display(Image(data=png, format="png"))

    def _on_change(self, change: dict[str, Any]) -> None:
        # One hand movement can change several controls (a menu that also moves a slider): each change
        # notifies, the first already with every new value; the others would draw the same picture again.
        if not _same(self.values(), self._drawn):
            self._moved = (self._name_of(change["owner"]), _direction(change.get("old"), change.get("new")))
            self.update()

    def _name_of(self, control: widgets.ValueWidget) -> str:
        return next((name for name, c in self.controls.items() if c is control), next(iter(self.controls)))

    def widget(self) -> widgets.Widget:
        """The controls above the figure, as one ipywidgets box."""
        parts: list[widgets.Widget] = []
        if self.title:
            parts.append(widgets.HTML(f"<b>{self.title}</b>"))
        parts.append(widgets.HBox(list(self.controls.values()), layout=widgets.Layout(flex_flow="row wrap")))
        parts.append(self.image if self.display == "image" else self.output)
        parts.append(self.stats)
        classes = ["optilab-explorer"] + ([f"optilab-explorer-{self.name}"] if self.name else [])
        box = widgets.VBox(parts)
        for css_class in classes:
            box.add_class(css_class)
        return box

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget())
