"""The explorers' renderer: the fast path paints the same picture as a full draw, and falls back when it must."""

from __future__ import annotations

import html
import io
import json

import ipywidgets as widgets
import numpy as np
import pytest
from matplotlib.figure import Figure
from matplotlib.text import Text
from PIL import Image

from optilab.widgets import registry
from optilab.widgets.render import FigureRenderer


def _pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGBA")).astype(int)


def _full_draw(figure: Figure) -> np.ndarray:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=figure.dpi)
    return _pixels(buffer.getvalue())


def _differing_fraction(a: np.ndarray, b: np.ndarray) -> float:
    assert a.shape == b.shape
    return float(np.mean(np.any(np.abs(a - b) > 40, axis=-1)))


def _texts(figure: Figure) -> list[tuple[str, str, tuple[float, ...]]]:
    """Every visible, non-empty text a reader sees: (where, content, bbox in pixels), as last drawn.

    Titles (of every Axes and the figure's), free texts, and legend entries and titles.
    """
    renderer = figure.canvas.get_renderer()
    found = []

    def add(where, text):
        if text is not None and text.get_visible() and text.get_text():
            box = text.get_window_extent(renderer)
            found.append((where, text.get_text(), tuple(round(v) for v in box.extents)))

    for i, ax in enumerate(figure.axes):
        if not ax.get_visible():
            continue
        for text in ax.get_children():  # its three titles and its notes (axis labels are the axes')
            if isinstance(text, Text):
                add(f"axes {i} title or text", text)
        legend = ax.get_legend()
        if legend is not None and legend.get_visible():
            add(f"axes {i} legend title", legend.get_title())
            for text in legend.get_texts():
                add(f"axes {i} legend", text)
    for text in figure.texts:
        add("figure text", text)
    for legend in figure.legends:
        if legend.get_visible():
            for text in legend.get_texts():
                add("figure legend", text)
    return sorted(found)


def _regions_differ(shown: np.ndarray, full: np.ndarray, texts) -> list[str]:
    """The texts whose region (from a full draw) is painted differently in ``shown``: more than 2 % of its pixels."""
    height = full.shape[0]
    out = []
    for where, content, (x0, y0, x1, y1) in texts:
        rows = slice(max(0, height - y1), max(0, height - y0))  # pixels count from the top, matplotlib from the bottom
        cols = slice(max(0, x0), max(0, x1))
        a, b = shown[rows, cols], full[rows, cols]
        if a.size == 0:
            continue
        fraction = float(np.mean(np.any(np.abs(a - b) > 40, axis=-1)))
        if fraction > 0.02:
            out.append(f"{where} {content!r}: {fraction:.0%} of its pixels differ")
    return out


def assert_same_as_full_draw(figure: Figure, png: bytes, what: str = "the figure") -> None:
    """``png`` (what the renderer painted) shows every title, text and legend where a full draw puts them.

    Compares the text artists' content and painted boxes with a full draw's, requires each to lie on
    the canvas, compares the pixels of each text's region, and allows at most 0.2 % of all pixels to differ.
    """
    painted = _texts(figure)
    full = _full_draw(figure)
    drawn = _texts(figure)
    # Titles and free texts: the same content in the same place. A legend rebuilt as a new object that looks
    # the same may be laid over from the renderer's cache without being laid out itself: its content is
    # compared here, its place by the pixels of its region below.
    assert [t for t in painted if "legend" not in t[0]] == [t for t in drawn if "legend" not in t[0]], \
        f"{what}: texts painted {painted}, a full draw has {drawn}"
    assert [t[:2] for t in painted] == [t[:2] for t in drawn], f"{what}: texts painted {painted}, a full draw has {drawn}"
    width, height = figure.canvas.get_width_height()
    off = [(where, content) for where, content, (x0, y0, x1, y1) in drawn
           if x1 < 0 or y1 < 0 or x0 > width or y0 > height]
    assert not off, f"{what}: texts off the canvas: {off}"
    shown = _pixels(png)
    differing = _regions_differ(shown, full, drawn)
    assert not differing, f"{what}: " + "; ".join(differing)
    fraction = _differing_fraction(shown, full)
    assert fraction < 0.002, f"{what}: {fraction:.2%} of pixels differ from a full draw"


def _figure():
    figure = Figure(figsize=(5, 3), dpi=80)
    ax = figure.subplots()
    ax.contourf(*np.meshgrid(np.linspace(-1, 1, 30), np.linspace(-1, 1, 30)), np.random.default_rng(0).random((30, 30)))
    line, = ax.plot([-1, 1], [-1, 1], label="path")
    ax.set(xlim=(-1, 1), ylim=(-1, 1), title="start", xlabel="x", ylabel="y")
    ax.legend()
    return figure, ax, line


def test_moving_a_line_takes_the_fast_path_and_matches_a_full_draw():
    figure, ax, line = _figure()
    renderer = FigureRenderer()
    renderer.render(figure)
    line.set_data([-1, 1], [1, -1])
    ax.set_title("moved")
    png = renderer.render(figure)
    assert (renderer.full_draws, renderer.fast_draws) == (1, 1)
    assert _differing_fraction(_pixels(png), _full_draw(figure)) < 0.002


def test_the_fast_path_shows_the_change():
    figure, ax, line = _figure()
    renderer = FigureRenderer()
    before = _pixels(renderer.render(figure))
    line.set_data([-1, 1], [1, -1])
    after = _pixels(renderer.render(figure))
    assert _differing_fraction(before, after) > 0.005


@pytest.mark.parametrize("change", [
    lambda ax: ax.set_xlim(-2, 2),
    lambda ax: ax.set_yscale("symlog"),
    lambda ax: ax.set_xlabel("another label"),
    lambda ax: ax.contour(*np.meshgrid(np.linspace(-1, 1, 9), np.linspace(-1, 1, 9)), np.ones((9, 9)).cumsum(0)),
])
def test_a_static_change_forces_a_full_draw(change):
    figure, ax, _ = _figure()
    renderer = FigureRenderer()
    renderer.render(figure)
    change(ax)
    png = renderer.render(figure)
    assert renderer.full_draws == 2
    assert _differing_fraction(_pixels(png), _full_draw(figure)) < 0.002


def _moves(control, k):
    if isinstance(control, widgets.SelectMultiple):
        return tuple(control.options[: 1 + k % len(control.options)])
    if getattr(control, "options", None):
        values = [o[1] if isinstance(o, tuple) else o for o in control.options]
        return values[k % len(values)]
    if isinstance(control.value, bool):
        return not control.value
    return type(control.value)(control.min + (control.max - control.min) * ((0.37 * k) % 1))


@pytest.mark.parametrize("name", sorted(registry()))
def test_every_explorer_renders_what_a_full_draw_shows(name):
    explorer = registry()[name]()
    explorer.render()
    for k in (1, 2):
        for control_name, control in explorer.controls.items():
            explorer.set(**{control_name: _moves(control, k)})
            assert_same_as_full_draw(explorer.figure, explorer.render(), f"{name}, after moving {control_name}")


def test_titles_stay_on_the_canvas_after_the_background_pass():
    """The bug of issue 15: after the background pass the titles sat at y = 2.14 axes units, off the canvas."""
    figure, ax, line = _figure()
    renderer = FigureRenderer()
    renderer.render(figure)
    line.set_data([-1, 1], [1, -1])  # the title stays as it was: only the line moved
    png = renderer.render(figure)
    assert renderer.fast_draws == 1
    assert ax.title.get_position()[1] == pytest.approx(1.0)
    assert_same_as_full_draw(figure, png)


def test_the_strict_comparison_catches_a_missing_title():
    """The check itself: a picture without its title (or legend) is told apart from a full draw."""
    figure, ax, line = _figure()
    ax.set_title("a title that must show")
    with_title = FigureRenderer().render(figure)
    for hide in (ax.title, ax.get_legend()):
        hide.set_visible(False)
        without = FigureRenderer().render(figure)
        hide.set_visible(True)
        _full_draw(figure)
        with pytest.raises(AssertionError, match="differ"):
            assert_same_as_full_draw(figure, without)
    assert_same_as_full_draw(figure, with_title)


def test_a_legend_covers_the_lines_under_it_and_may_change_without_a_full_draw():
    figure, ax, line = _figure()
    renderer = FigureRenderer()
    ax.legend(loc="upper right", framealpha=1.0)
    renderer.render(figure)
    line.set_data([-1, 1], [0.9, 0.9])  # right under the legend: a full draw hides it there
    png = renderer.render(figure)
    assert renderer.fast_draws == 1
    assert_same_as_full_draw(figure, png)
    for label in ("renamed", "renamed again"):
        line.set_label(label)
        ax.legend(loc="upper right")  # a new legend object with new labels
        png = renderer.render(figure)
        assert_same_as_full_draw(figure, png)
    assert (renderer.full_draws, renderer.fast_draws) == (1, 3)


def test_switching_between_figures_reuses_each_ones_background():
    (first, _, _), (second, _, _) = _figure(), _figure()
    renderer = FigureRenderer()
    for figure in (first, second, first, second):
        png = renderer.render(figure)
        assert _differing_fraction(_pixels(png), _full_draw(figure)) < 0.002
    assert (renderer.full_draws, renderer.fast_draws) == (2, 2)


# -- the Explorer around the renderer ----------------------------------------------------------------
def _toy(log):
    def draw(a, b):
        log.append((a, b))
        figure, ax, line = _figure()
        line.set_data([-1, 1], [a, b])
        return figure
    return draw


def test_a_change_that_moves_another_control_draws_once():
    from optilab.widgets.explorer import Explorer

    log = []
    a, b = widgets.FloatSlider(value=0.0, min=-1, max=1), widgets.FloatSlider(value=0.0, min=-1, max=1)
    a.observe(lambda change: setattr(b, "value", -change["new"]), names="value")  # runs before the explorer's own
    explorer = Explorer({"a": a, "b": b}, _toy(log))
    explorer.set(a=0.5)
    assert log == [(0.0, 0.0), (0.5, -0.5)]
    assert explorer.redraws == 2
    explorer.update()  # asked for explicitly: always draws
    assert explorer.redraws == 3


def test_a_registered_explorer_knows_its_name_and_shows_it_as_a_css_class():
    explorer = registry()["03-momentum-ravine"]()
    assert explorer.name == "03-momentum-ravine"
    box = explorer.widget()
    assert {"optilab-explorer", "optilab-explorer-03-momentum-ravine"} <= set(box._dom_classes)
    assert explorer.image in box.children and explorer.stats in box.children


def test_an_unknown_display_is_refused_with_the_choices():
    from optilab.widgets.explorer import Explorer

    with pytest.raises(ValueError, match="'image', 'output'"):
        Explorer({"a": widgets.FloatSlider()}, _toy([]), display="canvas")


def test_render_reports_its_parts_and_an_opaque_figure_is_encoded_without_alpha():
    explorer = registry()["03-momentum-ravine"]()
    png = explorer.render()
    assert set(explorer.timings) >= {"compute_ms", "render_ms", "encode_ms", "bytes"}
    assert explorer.timings["bytes"] == len(png)
    assert Image.open(io.BytesIO(png)).mode == "RGB"
    width = Image.open(io.BytesIO(png)).size[0]
    from optilab import plots
    assert width <= plots.MAX_WIDTH_PX


@pytest.mark.parametrize("opaque", [True, False])
def test_the_png_encoder_gives_back_every_pixel_in_a_standard_png(opaque):
    """Decoded by Pillow (zlib inflating the data), the image is the buffer, byte for byte."""
    from optilab.widgets.png import png_bytes

    rgba = np.random.default_rng(3).integers(0, 256, size=(37, 53, 4), dtype=np.uint8)
    rgba[:20, :, :] = (255, 255, 255, 255)  # a plain area, as a figure's background
    if opaque:
        rgba[..., 3] = 255
    image = Image.open(io.BytesIO(png_bytes(rgba, opaque=opaque)))
    assert image.mode == ("RGB" if opaque else "RGBA") and image.size == (53, 37)
    assert np.array_equal(np.asarray(image), rgba[..., :3] if opaque else rgba)
    with pytest.raises(ValueError, match="height × width × 4 array of uint8"):
        png_bytes(rgba[..., :3])


def test_unchanged_texts_laid_over_from_the_cache_match_a_full_draw_even_where_they_overlap():
    figure, ax, line = _figure()
    ax.legend(loc="upper right", framealpha=0.6)
    ax.text(0.62, 0.8, "a note that runs into the legend", transform=ax.transAxes, fontsize="small",
            bbox={"facecolor": "white", "alpha": 0.5})
    renderer = FigureRenderer()
    for k in range(4):  # the texts are laid over from the cache from the second render on
        line.set_data([-1, 1], [-0.9 + 0.1 * k, -0.5])
        png = renderer.render(figure)
        assert_same_as_full_draw(figure, png, f"render {k + 1}")
    assert renderer._patches and renderer.full_draws == 1


def test_cached_texts_stay_in_place_on_a_figure_whose_height_in_pixels_is_not_whole_in_floating_point():
    """8.4 × 4.6 inches at 100 dpi is 459.99999999999994 pixels high: the canvas places text by that height,
    so the layer cached texts are drawn on must be made the same way, or every one is a pixel off."""
    figure = Figure(figsize=(8.4, 4.6), dpi=100)
    assert figure.bbox.height != 460  # the case itself, as floating point gives it
    ax = figure.subplots()
    line, = ax.plot([0, 1], [0, 1], label="path")
    ax.set(xlim=(0, 1), ylim=(0, 1), title="a title that stays", xlabel="x", ylabel="y")
    figure.suptitle("a figure title that stays")
    figure.legend(loc="lower center", ncols=2)
    renderer = FigureRenderer()
    for k in range(3):  # laid over from the cache from the second render on
        line.set_data([0, 1], [0.1 * k, 1])
        assert_same_as_full_draw(figure, renderer.render(figure), f"render {k + 1}")
    assert renderer.overlay_draws > 0 and renderer.full_draws == 1


def test_a_text_that_changes_leaves_the_other_cached_texts_undrawn_and_a_look_that_comes_back_is_reused():
    """Each unchanged text or legend is laid over from its own cached patch: a title that changes does not
    make the renderer draw the other texts again, and a title that comes back is not drawn again either."""
    figure, ax, line = _figure()
    ax.legend(loc="upper right")
    ax.text(0.05, 0.05, "a note that stays", transform=ax.transAxes)
    renderer = FigureRenderer()
    titles = ["A", "A", "B", "B", "A", "A", "B", "B", "A"]
    draws = []
    for k, title in enumerate(titles):
        ax.set_title(title)
        line.set_data([-1, 1], [-0.9 + 0.1 * k, -0.5])
        png = renderer.render(figure)
        assert_same_as_full_draw(figure, png, f"render {k + 1} (title {title!r})")
        draws.append(renderer.overlay_draws)
    assert (renderer.full_draws, renderer.fast_draws) == (1, len(titles) - 1)
    # render 2 draws the legend, the note and title A for the overlay (each seen unchanged), render 4 title B;
    # from then on every look is cached, though the overlay changes whenever the title does
    assert draws[1] == 3 and draws[3] == 4, draws
    assert draws[3:] == [4] * (len(titles) - 3), draws


def test_a_scale_switched_back_and_forth_finds_its_background_again():
    """``set_yscale`` makes new tick locators and formatters each time; the background is keyed by the ticks
    they show, so switching back to a scale seen before paints over its cached background."""
    figure, ax, line = _figure()
    renderer = FigureRenderer()
    for k, scale in enumerate(["linear", "symlog", "linear", "symlog", "linear"]):
        if ax.get_yscale() != scale:
            ax.set_yscale(scale)
        line.set_data([-1, 1], [-0.9 + 0.1 * k, 0.5])
        png = renderer.render(figure)
        assert_same_as_full_draw(figure, png, f"render {k + 1} ({scale})")
    assert (renderer.full_draws, renderer.fast_draws) == (2, 3)


def _spans():
    """A draw function whose ``span`` control sets the x-limits (the background) and ``a`` moves a line."""
    figure, ax, line = _figure()

    def draw(a, span):
        ax.set_xlim(-span, span)
        ax.set_title(f"span {span}")
        line.set_data([-1, 1], [a, -a])
        return figure
    return draw


def test_warmed_values_find_their_backgrounds_cached():
    from optilab.widgets.explorer import Explorer

    a = widgets.FloatSlider(value=0.0, min=-1, max=1)
    span = widgets.Dropdown(options=[1.0, 2.0, 3.0], value=1.0)
    explorer = Explorer({"a": a, "span": span}, _spans(), warm=[{"span": 2.0}, {"span": 3.0}])
    explorer.render()
    assert explorer.renderer.full_draws == 1  # outside a notebook nothing is warmed unasked
    explorer.warm()
    assert explorer.renderer.full_draws == 3 and explorer.values() == {"a": 0.0, "span": 1.0}
    for values in ({"span": 3.0}, {"a": 0.5}, {"span": 2.0}, {"span": 1.0}):
        explorer.set(**values)
        png = explorer.render()
        assert_same_as_full_draw(explorer.figure, png, f"after {values}")
    assert explorer.renderer.full_draws == 3, "a warmed background was drawn again"


def test_warming_a_control_the_explorer_lacks_is_refused_with_its_controls():
    from optilab.widgets.explorer import Explorer

    with pytest.raises(KeyError, match=r"\['spam'\].*\['a', 'span'\]"):
        Explorer({"a": widgets.FloatSlider(), "span": widgets.Dropdown(options=[1.0, 2.0])}, _spans(),
                 warm=[{"spam": 1.0}])


def test_the_lessons_explorers_warm_every_background_a_menu_or_range_needs():
    """Lessons 01 and 08 (a continuous slider, a multiple choice: not painted ahead): after warming, moving
    to another problem or metric paints no full figure."""
    for name in ("01-gd-step-size", "08-optimizers"):
        explorer = registry()[name]()
        assert explorer.warm_values, name
        explorer.warm()
        explorer.update()
        explorer.render()
        before = explorer.renderer.full_draws
        for values in explorer.warm_values:
            explorer.set(**values)
            png = explorer.render()
        assert_same_as_full_draw(explorer.figure, png, f"{name} after {values}")
        assert explorer.renderer.full_draws == before, name


def test_frames_painted_ahead_are_shown_without_drawing_and_equal_a_full_draw():
    from optilab.widgets.explorer import Explorer

    calls = []
    draw = _spans()

    def logged(flip, span):
        calls.append((flip, span))
        return draw(0.5 if flip else -0.5, span)

    explorer = Explorer({"flip": widgets.Checkbox(value=False), "span": widgets.Dropdown(options=[1.0, 2.0, 3.0])},
                        logged)
    assert len(explorer.combinations()) == 6 and not explorer.frames  # outside a notebook: nothing painted ahead
    explorer.prerender()
    assert len(explorer.frames) == 6
    for values in ({"span": 3.0}, {"flip": True}, {"span": 1.0}, {"flip": False}, {"span": 2.0}):
        before = len(calls)
        explorer.set(**values)
        assert explorer.timings.get("from_memory") and len(calls) == before, "a frame painted ahead was drawn again"
        png = explorer.image.value
        shown = json.loads(html.unescape(explorer.stats.value))["shown"]  # as the controls' readouts show them
        assert shown == {"flip": explorer.values()["flip"], "span": str(explorer.values()["span"])}
        figure = explorer.figure  # drawn now, for the values shown
        assert calls[-1] == (explorer.values()["flip"], explorer.values()["span"])
        assert_same_as_full_draw(figure, png, f"the frame for {explorer.values()}")


def test_an_explorer_with_a_continuous_slider_or_a_multiple_choice_paints_nothing_ahead():
    from optilab.widgets.explorer import Explorer

    assert Explorer({"a": widgets.FloatSlider(), "span": widgets.Dropdown(options=[1.0, 2.0])}, _spans()).combinations() == []
    picks = widgets.SelectMultiple(options=[1.0, 2.0], value=(1.0,))
    assert Explorer({"span": picks}, lambda span: _spans()(0.0, span[0])).combinations() == []


@pytest.mark.parametrize("name", ["04-adagrad-scaling", "06-adam-bias-correction"])
def test_a_lesson_explorer_painted_ahead_shows_for_each_value_what_a_full_draw_shows(name):
    explorer = registry()[name]()
    explorer.prerender()
    assert len(explorer.frames) == len(explorer.combinations()) > 1
    for k in (1, 2):
        for control_name, control in explorer.controls.items():
            explorer.set(**{control_name: _moves(control, k)})
            assert explorer.timings.get("from_memory")
            assert_same_as_full_draw(explorer.figure, explorer.image.value, f"{name}, after moving {control_name}")


def test_in_a_notebook_a_frame_shown_before_is_shown_again_from_memory(monkeypatch):
    from optilab.widgets import explorer as module

    monkeypatch.setattr(module, "_in_kernel", lambda: True)  # as in a notebook: every change renders and shows
    calls = []
    draw = _spans()

    def logged(a, span):
        calls.append((a, span))
        return draw(a, span)

    explorer = module.Explorer({"a": widgets.FloatSlider(value=0.0, min=-1, max=1),
                                "span": widgets.Dropdown(options=[1.0, 2.0])}, logged)
    assert explorer.combinations() == [] and len(explorer.frames) == 1  # a continuous slider: only what was shown
    explorer.set(a=0.5)
    explorer.set(a=0.25)
    shown = explorer.image.value
    assert len(calls) == 3 and not explorer.timings.get("from_memory")
    explorer.set(a=0.5)
    assert len(calls) == 3 and explorer.timings.get("from_memory"), "a frame shown before was drawn again"
    assert explorer.image.value != shown
    assert_same_as_full_draw(explorer.figure, explorer.image.value, "the frame for a = 0.5, from memory")
    assert calls[-1] == (0.5, 1.0)  # drawn for the values shown, when asked for
    for k in range(module.Explorer.FRAMES_KEPT + 5):
        explorer.set(a=-1 + k / 100)
    assert len(explorer.frames) == module.Explorer.FRAMES_KEPT
