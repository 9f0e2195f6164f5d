"""The explorers' renderer: the fast path paints the same picture as a full draw, and falls back when it must."""

from __future__ import annotations

import io

import ipywidgets as widgets
import numpy as np
import pytest
from matplotlib.figure import Figure
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
            fraction = _differing_fraction(_pixels(explorer.render()), _full_draw(explorer.figure))
            assert fraction < 0.01, f"{name}: after moving {control_name}, {fraction:.2%} of pixels differ from a full draw"


def test_a_legend_rebuilt_with_the_same_labels_stays_in_the_background():
    figure, ax, line = _figure()
    renderer = FigureRenderer()
    ax.legend(loc="upper right")
    renderer.render(figure)
    ax.legend(loc="upper right")  # a new legend object, the same look
    line.set_data([-1, 1], [0, 0])
    png = renderer.render(figure)
    assert renderer.fast_draws == 1
    assert _differing_fraction(_pixels(png), _full_draw(figure)) < 0.002
    line.set_label("renamed")
    ax.legend(loc="upper right")  # its labels change: drawn with the data from now on
    png = renderer.render(figure)
    assert renderer.full_draws == 2
    assert _differing_fraction(_pixels(png), _full_draw(figure)) < 0.002
    line.set_label("renamed again")
    ax.legend(loc="upper right")
    png = renderer.render(figure)
    assert (renderer.full_draws, renderer.fast_draws) == (2, 2)
    assert _differing_fraction(_pixels(png), _full_draw(figure)) < 0.002


def test_switching_between_figures_reuses_each_ones_background():
    (first, _, line1), (second, _, line2) = _figure(), _figure()
    renderer = FigureRenderer()
    for figure in (first, second, first, second):
        png = renderer.render(figure)
        assert _differing_fraction(_pixels(png), _full_draw(figure)) < 0.002
    assert (renderer.full_draws, renderer.fast_draws) == (2, 2)
