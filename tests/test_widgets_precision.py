"""Lesson 10's mixed-precision figures: they draw optilab.experiments.precision's numbers, readably."""

from __future__ import annotations

import io

import numpy as np
import pytest
from matplotlib.figure import Figure

from optilab import mixed_precision as mp
from optilab import plots
from optilab.experiments import precision as runs
from optilab.widgets import precision as figures
from tests.support.figures import legend_overlaps, unseen_lines

MIXED = "float16 + fp32 master + dynamic scale"


@pytest.fixture(scope="module")
def drawn() -> dict[str, Figure]:
    run = runs.run(MIXED, 0)
    return {"spacing": figures.spacing_figure(1e-3),
            "histogram": figures.gradient_histogram(runs.activation_gradients(0), runs.SCALE),
            "training": figures.training_figure(runs.curves(), run.scales, run.skipped)}


@pytest.mark.parametrize("name", ["spacing", "histogram", "training"])
def test_every_figure_is_titled_labelled_fits_the_column_and_its_legend_covers_nothing(drawn, name):
    fig = drawn[name]
    for ax in fig.axes:
        assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel()
        assert ax.get_legend() is not None
    assert legend_overlaps(fig) == [] and unseen_lines(fig) == []
    png = io.BytesIO()
    fig.savefig(png, format="png", bbox_inches="tight")  # as the notebook shows it
    width = int.from_bytes(png.getvalue()[16:20], "big")
    assert width <= plots.MAX_WIDTH_PX


def test_spacing_figure_draws_half_the_gap_of_each_format_and_the_update(drawn):
    ax = drawn["spacing"].axes[0]
    lines = {line.get_label(): line for line in ax.get_lines()}
    for name in mp.FORMATS:
        line = lines[name]
        x, y = np.asarray(line.get_xdata()), np.asarray(line.get_ydata())
        shown = np.isfinite(y)
        np.testing.assert_allclose(y[shown], mp.spacing(x[shown], name) / 2)
        assert x[shown].max() <= mp.describe(name).largest
        assert line.get_color().lower() == figures.FORMAT_COLORS[name].lower()
    assert lines["an update of 0.001"].get_ydata()[0] == 1e-3
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"


def test_gradient_histogram_draws_the_gradients_unscaled_and_scaled_and_marks_float16s_limits(drawn):
    ax = drawn["histogram"].axes[0]
    assert len(ax.patches) == 2  # the unscaled and the scaled histogram
    marks = sorted(line.get_xdata()[0] for line in ax.get_lines())
    f16 = mp.describe("float16")
    assert marks == [f16.smallest_subnormal, f16.smallest_normal, f16.largest]


def test_training_figure_draws_each_recipes_mean_curve_and_the_scale_of_every_step(drawn):
    left, right = drawn["training"].axes
    curves = runs.curves()
    lines = {line.get_label().split(" (")[0]: line for line in left.get_lines()}
    assert set(lines) == set(runs.RECIPES)
    for name, curve in curves.items():
        np.testing.assert_allclose(lines[name].get_ydata(), curve)
    run = runs.run(MIXED, 0)
    scale, skipped = right.get_lines()
    np.testing.assert_array_equal(scale.get_ydata(), run.scales)
    np.testing.assert_array_equal(skipped.get_xdata(), run.skipped)
    assert "inf after step 1" in " ".join(line.get_label() for line in left.get_lines())
