"""The minibatch-SGD explorer of lesson 02: its controls show the runs of optilab.experiments.sgd."""

from __future__ import annotations

import numpy as np
import pytest

import optilab.widgets
from optilab.experiments import sgd as runs
from optilab.widgets import sgd


@pytest.fixture(scope="module")
def explorer():
    return sgd.batch_size_explorer()


def test_registered_under_its_lesson_name():
    assert optilab.widgets.registry()["02-sgd-batch-size"] is sgd.batch_size_explorer


def lines(explorer):
    left, right = explorer.figure.axes
    minibatch = left.lines[1]
    full = left.lines[0]
    marker = right.lines[-1]
    return minibatch, full, marker


def test_moving_batch_size_and_lr_shows_that_run(explorer):
    explorer.set(batch_size=4, lr=runs.LRS[6], decay=False)
    minibatch, full, marker = lines(explorer)
    expected = runs.sgd_curves(4)
    np.testing.assert_array_equal(minibatch.get_xdata(), expected.epochs)
    np.testing.assert_array_equal(minibatch.get_ydata(), expected.losses[6])
    np.testing.assert_array_equal(full.get_ydata(), runs.sgd_curves(426).losses[6])
    assert marker.get_xdata()[0] == runs.LRS[6] and marker.get_ydata()[0] == expected.final[6]
    explorer.set(batch_size=1)
    np.testing.assert_array_equal(lines(explorer)[0].get_ydata(), runs.sgd_curves(1).losses[6])
    assert "B = 1, α = " in explorer.figure.axes[0].get_legend().get_texts()[1].get_text()


def test_decay_box_switches_to_the_decayed_runs(explorer):
    explorer.set(batch_size=16, lr=1.0, decay=False)
    constant = lines(explorer)[0].get_ydata().copy()
    explorer.set(decay=True)
    decayed = lines(explorer)[0].get_ydata()
    k = runs.LRS.index(1.0)
    np.testing.assert_array_equal(decayed, runs.sgd_curves(16, decay=True).losses[k])
    assert not np.array_equal(constant, decayed)
    assert "decays" in explorer.figure.axes[0].get_title()


def test_an_lr_off_the_grid_uses_the_nearest_run():
    figure = sgd.BatchSizeFigure()
    figure.draw(16, 0.11)
    assert figure.marker.get_xdata()[0] == 0.1


def test_a_batch_size_the_explorer_does_not_offer_is_a_clear_error():
    with pytest.raises(ValueError, match="batch_size must be one of"):
        sgd.batch_size_explorer(batch_size=3)


def test_at_every_end_of_its_controls_no_legend_covers_data_no_text_is_cut_and_no_line_is_hidden(explorer):
    from tests.support.figures import legend_overlaps, text_outside, unseen_lines

    found = []
    for batch_size in runs.BATCH_SIZES:
        for lr in (runs.LRS[0], runs.LRS[-1]):
            for decay in (False, True):
                explorer.set(batch_size=batch_size, lr=lr, decay=decay)
                found += [f"B = {batch_size}, α = {lr}, decay {decay}: {what}" for what in
                          legend_overlaps(explorer.figure) + text_outside(explorer.figure)
                          + unseen_lines(explorer.figure)]
    assert not found, "\n".join(found)
