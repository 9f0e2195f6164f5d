"""Lesson 09's explorers and figures: what moving each control changes, and figures that show everything they draw."""

from __future__ import annotations

import math

import numpy as np
import pytest
from matplotlib.colors import to_hex

from optilab import plots, widgets
from optilab.experiments import large_models as runs
from optilab.widgets import large_models as lw
from tests.support.figures import legend_overlaps


def _assert_readable(fig):
    for ax in fig.axes:
        if ax.get_label() == "<colorbar>":
            continue
        assert ax.get_title() or fig.get_suptitle(), "an axes without a title"
        assert ax.get_xlabel() and (ax.get_ylabel() or ax.get_yticklabels()), "an unlabelled axis"
    assert legend_overlaps(fig) == []
    width, height = fig.get_size_inches() * fig.dpi
    assert width <= 920, f"the figure is {width:.0f} px wide: it would be shrunk in JupyterLab's default layout"


def test_explorers_are_registered():
    names = widgets.registry()
    assert names["09-lion-sign"] is lw.lion_explorer
    assert names["09-newton-schulz"] is lw.newton_schulz_explorer
    assert names["09-preconditioners"] is lw.preconditioner_explorer


def test_lion_explorer_moves_the_lion_lines_and_keeps_adams():
    explorer = lw.lion_explorer(beta1=0.9, beta2=0.99)
    progress = explorer.figure.axes[0]
    lion = next(l for l in progress.get_lines() if l.get_label() == "Lion")
    adam = next(l for l in progress.get_lines() if l.get_label().startswith("Adam"))
    before, adam_before = lion.get_ydata().copy(), adam.get_ydata().copy()
    explorer.set(beta1=0.0, beta2=0.0)
    expected = [math.erf(s / math.sqrt(2)) for s in runs.SNRS]
    np.testing.assert_allclose(lion.get_ydata(), expected, atol=0.04)  # signSGD
    assert np.all(lion.get_ydata()[5:15] < before[5:15])  # a shorter average: fewer right signs in noise
    np.testing.assert_array_equal(adam.get_ydata(), adam_before)
    assert "β₁ = 0, β₂ = 0" in explorer.figure.legends[0].get_texts()[0].get_text()
    _assert_readable(explorer.figure)


def test_lion_and_adam_have_their_rule_colours():
    fig = lw.draw_lion()
    colours = {l.get_label(): to_hex(l.get_color()) for l in fig.axes[0].get_lines()}
    assert colours["Lion"] == plots.color_of("lion").lower()
    assert colours["Adam (β₁ = 0.9, β₂ = 0.999)"] == plots.color_of("adam").lower()


def test_newton_schulz_explorer_maps_the_singular_values():
    explorer = lw.newton_schulz_explorer(steps=0)
    left, right = explorer.figure.axes[:2]
    points = next(l for l in left.get_lines() if str(l.get_label()).endswith("gradient"))
    np.testing.assert_allclose(points.get_ydata(), points.get_xdata())  # k = 0: nothing changes
    explorer.set(steps=5)
    sigma = points.get_xdata()
    np.testing.assert_allclose(points.get_ydata(), runs.singular_value_map(sigma, 5, runs.NS_COEFFICIENTS[
        explorer.values()["polynomial"]]))
    after = next(l for l in right.get_lines() if l.get_label() == "after k iterations").get_ydata()
    G = runs.layer_gradient("W2")
    np.testing.assert_allclose(after, np.linalg.svd(runs.newton_schulz(G, 5), compute_uv=False), rtol=1e-6, atol=1e-12)
    assert "k = 5" in left.get_title()
    explorer.set(polynomial=list(runs.NS_COEFFICIENTS)[1])
    assert "1.5σ" in left.get_title()
    _assert_readable(explorer.figure)


def test_preconditioner_explorer_moves_only_the_diagonal():
    explorer = lw.preconditioner_explorer(rotation=1.0)
    bars = explorer.figure.axes[0].patches
    names = list(runs.PRECONDITIONER_MEMORY)
    turned = [bar.get_width() for bar in bars]
    explorer.set(rotation=0.0)
    on_axes = [bar.get_width() for bar in bars]
    diagonal = names.index("diagonal AdaGrad")
    assert turned[diagonal] > 100 and on_axes[diagonal] == pytest.approx(1.0)
    for i, name in enumerate(names):
        if i != diagonal:
            assert on_axes[i] == pytest.approx(turned[i], rel=1e-6), name
    assert "0%" in explorer.figure.get_suptitle()
    _assert_readable(explorer.figure)


def test_factored_figure_shows_both_matrices_on_one_scale():
    V = runs.squared_gradients("W2")
    fig = lw.factored_figure(V)
    images = [ax.get_images()[0] for ax in fig.axes[:2]]
    assert images[0].get_clim() == images[1].get_clim()
    np.testing.assert_allclose(images[1].get_array(), np.log10(runs.factored(V)))
    assert "128 numbers" in fig.axes[1].get_title()
    _assert_readable(fig)


@pytest.fixture(scope="module")
def results():
    """The comparison the lesson reads (made by lessons/results/compute.py 09)."""
    return runs.load_comparison()


def test_comparison_figures_draw_the_chosen_runs(results):
    fig = lw.comparison_figure(results)
    ax = fig.axes[0]
    curves = runs.curves(results)
    lines = [l for l in ax.get_lines()]
    assert len(lines) == 3
    for line, (recipe, curve) in zip(lines, curves.items()):
        np.testing.assert_allclose(line.get_ydata(), curve["mean"])
        assert f"α = {results['chosen'][recipe]:g}" in line.get_label()
    _assert_readable(fig)
    fig = lw.differences_figure(results)
    _assert_readable(fig)
    labels = [t.get_text() for t in fig.axes[1].get_yticklabels()]
    assert labels == ["Muon − AdamW", "schedule-free − AdamW"]
    assert [line.get_xdata()[0] for line in fig.axes[1].get_lines()[:1]] == [runs.paired_difference(results, "muon")[0]]



@pytest.mark.parametrize("factory", [lw.lion_explorer, lw.newton_schulz_explorer, lw.preconditioner_explorer],
                         ids=lambda f: f.__name__)
def test_no_control_value_puts_data_under_a_legend(factory):
    explorer = factory()
    for name, control in explorer.controls.items():
        values = list(getattr(control, "options", None) or range(control.min, control.max + 1))
        for value in values:
            explorer.set(**{name: value})
            assert legend_overlaps(explorer.figure) == [], f"{name} = {value}"


def test_the_legend_check_finds_a_line_under_a_legend():
    fig, ax = plots.new_figure()
    ax.plot([0, 1], [1, 1], label="under the legend")  # along the top, where loc="upper right" puts the legend
    ax.plot([0, 1], [0, 0], label="clear")
    ax.set_ylim(-0.1, 1.1)
    ax.legend(loc="upper right")
    found = legend_overlaps(fig)
    assert len(found) == 1 and "'under the legend'" in found[0], found
