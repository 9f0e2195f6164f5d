r"""Figures of lesson 10's mixed-precision section: drawing only.

The numbers are :mod:`optilab.experiments.precision`'s (and :mod:`optilab.mixed_precision`'s).

* :func:`spacing_figure` — the smallest update a weight of each size can take, in each format.
* :func:`gradient_histogram` — the hidden layer's gradients against float16's range, with and without a loss scale.
* :func:`training_figure` — validation loss of each recipe over the epochs, and the dynamic loss scale step by step.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
from matplotlib.axis import Axis
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from optilab import mixed_precision as mp
from optilab import plots
from optilab.experiments import precision as runs

__all__ = ["FORMAT_COLORS", "RECIPE_STYLES", "spacing_figure", "gradient_histogram", "training_figure"]

#: One colour and line style per format (Okabe–Ito).
FORMAT_COLORS = {"float32": plots.OKABE_ITO["blue"], "float16": plots.OKABE_ITO["vermillion"],
                 "bfloat16": plots.OKABE_ITO["bluish green"]}
_FORMAT_STYLES = {"float32": "-", "float16": "--", "bfloat16": "-."}
#: (colour, line style) of each recipe of :data:`optilab.experiments.precision.RECIPES`.
RECIPE_STYLES = {"float32": (plots.OKABE_ITO["blue"], "-"),
                 "float16": (plots.OKABE_ITO["vermillion"], "--"),
                 "float16 + fp32 master + dynamic scale": (plots.OKABE_ITO["orange"], ":"),
                 "bfloat16": (plots.OKABE_ITO["bluish green"], "-."),
                 "bfloat16 + fp32 master": (plots.OKABE_ITO["reddish purple"], (0, (5, 1, 1, 1)))}


def _plain_log(axis: Axis, base: int = 10, numticks: int = 9) -> None:
    """Label a log axis 10ⁿ (or 2ⁿ) in plain text: faster to draw than mathtext."""
    axis.set_major_locator(LogLocator(base=base, numticks=numticks))
    axis.set_major_formatter(FuncFormatter(plots.power_of_ten if base == 10 else _power_of_two))
    axis.set_minor_formatter(NullFormatter())


_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def _power_of_two(value: float, position: int | None = None) -> str:
    """A tick label such as 2¹⁶, in plain text."""
    return "2" + str(int(round(np.log2(value)))).translate(_SUPERSCRIPT) if value > 0 else ""


def spacing_figure(update: float = runs.LR) -> Figure:
    """Half the gap to the next number (the smallest update not rounded away) against the weight's size,
    for each format, with an update of size ``update`` as a horizontal line."""
    fig, ax = plots.new_figure(figsize=(7.6, 4.2))
    w = np.geomspace(1e-9, 1e6, 1200)
    for name in mp.FORMATS:
        half = mp.spacing(w, name) / 2
        half[w > mp.describe(name).largest] = np.nan
        ax.loglog(w, half, color=FORMAT_COLORS[name], linestyle=_FORMAT_STYLES[name], linewidth=1.8, label=name)
    ax.axhline(update, color="#6b6b6b", linestyle=":", linewidth=1.4, label=f"an update of {update:g}")
    _plain_log(ax.xaxis)
    _plain_log(ax.yaxis)
    ax.set(xlabel="size of the weight |w|", ylabel="smallest update that changes w",
           title="How small an update each format can add to a weight")
    plots.legend_below(ax, ncols=4)
    return fig


def gradient_histogram(values: np.ndarray, scale: float = runs.SCALE) -> Figure:
    """Histogram of ``|values|`` (log bins) and of ``scale·|values|``, with float16's smallest subnormal,
    smallest normal and largest number marked."""
    fig, ax = plots.new_figure(figsize=(7.6, 4.2))
    values = np.abs(np.asarray(values, dtype=float))
    values = values[values > 0]
    bins = np.geomspace(1e-14, 1e7, 85)
    ax.hist(values, bins=bins, histtype="step", color=plots.OKABE_ITO["blue"], linewidth=1.8, label="unscaled")
    ax.hist(values * scale, bins=bins, histtype="step", color=plots.OKABE_ITO["orange"], linewidth=1.8,
            linestyle="--", label=f"× S = {_power_of_two(scale)}")
    info = mp.describe("float16")
    for x, style, label in ((info.smallest_subnormal, ":", "float16: below → 0"),
                            (info.smallest_normal, "-.", "float16: below → subnormal"),
                            (info.largest, "--", "float16: above → inf")):
        ax.axvline(x, color="#6b6b6b", linestyle=style, linewidth=1.3, label=label)
    ax.set_xscale("log")
    _plain_log(ax.xaxis)
    ax.set(xlabel="|gradient| of the hidden layer's pre-activations", ylabel="entries (one epoch)",
           title="The hidden layer's gradients against float16's range")
    plots.legend_below(ax, ncols=3)
    return fig


def training_figure(curves: Mapping[str, np.ndarray], scales: Sequence[float], skipped: Sequence[int]) -> Figure:
    """Left: the mean validation loss of each recipe after every epoch (a recipe whose weights became
    inf shows only its start). Right: the dynamic loss scale at every step of one run, its skipped steps marked."""
    fig, (left, right) = plots.new_figure(figsize=(8.4, 4.4), ncols=2)
    for name, curve in curves.items():
        color, style = RECIPE_STYLES.get(name, (plots.OKABE_ITO["black"], "-"))
        curve = np.asarray(curve, dtype=float)
        shown = int(np.sum(np.isfinite(curve)))
        label = name if shown > 1 else f"{name} (inf after step 1)"
        left.plot(np.arange(len(curve)), curve, color=color, linestyle=style, linewidth=1.8,
                  marker="x" if shown <= 1 else None, markersize=9, label=label)
    left.set_yscale("log")
    left.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
    left.yaxis.set_major_formatter(FuncFormatter(lambda value, position: f"{value:g}"))
    left.yaxis.set_minor_formatter(NullFormatter())
    left.set(xlabel="epoch", ylabel="validation loss (mean of the seeds)", title="Adam in five recipes")
    plots.legend_below(left, ncols=1)
    scales = np.asarray(scales, dtype=float)
    steps = np.arange(1, len(scales) + 1)
    right.semilogy(steps, scales, base=2, color=plots.OKABE_ITO["orange"], linewidth=1.6, drawstyle="steps-post",
                   label="loss scale S")
    skipped = np.asarray(skipped, dtype=int)
    right.plot(skipped, scales[skipped - 1], linestyle="none", marker="v", markersize=7,
               color=plots.OKABE_ITO["vermillion"], label="overflow: step skipped, S halved")
    _plain_log(right.yaxis, base=2)
    right.set(xlabel="step", ylabel="S (log scale)", title="The dynamic loss scale")
    plots.legend_below(right, ncols=1)
    return fig

