"""The figure checks of tests/support/figures.py find what they are for, and only that."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from tests.support.figures import legend_overlaps, text_outside, unseen_lines


def _figure(loc, **legend):
    fig = Figure(figsize=(5, 4))
    ax = fig.subplots()
    x = np.linspace(0, 1, 50)
    ax.plot(x, x, label="diagonal")  # crosses the lower-left and upper-right corners
    ax.plot([0.9], [0.1], "o", label="a point")
    ax.legend(loc=loc, **legend)
    return fig


def test_a_legend_over_a_line_is_found():
    assert any("diagonal" in found for found in legend_overlaps(_figure("upper right")))


def test_a_legend_over_a_marker_is_found():
    assert any("a point" in found for found in legend_overlaps(_figure("lower right")))


def test_a_legend_in_an_empty_corner_or_outside_covers_nothing():
    assert legend_overlaps(_figure("upper left")) == []
    assert legend_overlaps(_figure("upper left", bbox_to_anchor=(1.02, 1.0))) == []


def test_a_line_that_a_log_axis_hides_is_found_and_a_shown_one_is_not():
    fig = Figure()
    ax = fig.subplots()
    ax.plot([0, 1, 2], [-1.0, 0.0, -2.0], label="never positive")
    ax.plot([0, 1, 2], [1.0, 0.5, 0.2], label="shown")
    ax.set_yscale("log")
    ax.set_ylim(0.1, 2)
    found = unseen_lines(fig)
    assert len(found) == 1 and "never positive" in found[0]


def test_a_title_wider_than_the_canvas_is_cut():
    fig = Figure(figsize=(3, 2))
    fig.subplots().set_title("a title far too long for a figure three inches wide, so it is cut")
    assert text_outside(fig)
    fig = Figure(figsize=(3, 2))
    fig.subplots().set_title("short")
    assert text_outside(fig) == []


def test_an_axis_shared_by_panels_is_labelled_once_for_all_of_them():
    from tests.support.figures import describe

    fig = Figure()
    axs = fig.subplots(2, 2, sharex=True, sharey=True)
    for ax in axs.flat:
        ax.plot([0, 1], [1, 0])
    for ax in axs[1]:
        ax.set_xlabel("step")
    axs[0, 0].set_ylabel("loss")
    assert describe(fig)["labels"] == [("step", "loss")] * 4
    fig = Figure()
    left, right = fig.subplots(1, 2)  # not shared: each panel needs its own labels
    left.plot([0, 1], [1, 0]), right.plot([0, 1], [1, 0])
    left.set_xlabel("step"), left.set_ylabel("loss")
    assert describe(fig)["labels"] == [("step", "loss"), ("", "")]


def test_a_right_hand_title_and_a_figure_legends_entry_that_are_cut_are_found():
    fig = Figure(figsize=(3, 2))
    fig.subplots().set_title("a right-hand title far too long for this figure", loc="right")
    assert any("right-hand title" in found for found in text_outside(fig))
    fig = Figure(figsize=(3, 2))
    ax = fig.subplots()
    ax.plot([0, 1], [0, 1], label="an entry of a figure legend far too long to fit beside the panel")
    fig.legend(loc="center left", bbox_to_anchor=(0.9, 0.5))
    assert any("figure legend" in found for found in text_outside(fig))


def test_a_line_drawn_across_the_view_shows_and_a_lone_point_without_a_marker_does_not():
    fig = Figure()
    ax = fig.subplots()
    ax.plot([-1.0, 2.0], [0.5, 0.5], label="across")  # both ends outside the view, the segment inside
    ax.plot([0.5], [0.5], label="lone point")  # a line style but one point: nothing is drawn
    ax.plot([0.2], [0.2], "o", label="marker")
    ax.set_xlim(0, 1), ax.set_ylim(0, 1)
    found = unseen_lines(fig)
    assert len(found) == 1 and "lone point" in found[0], found


def test_a_panel_with_a_legend_and_no_line_shown_is_found():
    fig = Figure()
    ax = fig.subplots()
    ax.plot([5.0, 6.0], [5.0, 6.0], label="outside the limits")
    ax.set_xlim(0, 1), ax.set_ylim(0, 1)
    ax.legend()
    found = unseen_lines(fig)
    assert any("shows no line" in f for f in found) and any("outside the limits" in f for f in found), found
