r"""Explorer of lesson 02: minibatch SGD on a real dataset, batch size against learning rate.

The runs are :func:`optilab.experiments.sgd.sgd_curves` (logistic regression on the
breast-cancer data, every learning rate of the grid at once), computed once per batch size
and cached, so moving a slider only redraws lines.

In a notebook::

    from optilab.widgets.sgd import batch_size_explorer
    batch_size_explorer()
"""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FixedFormatter, FixedLocator, NullFormatter, NullLocator

from optilab import plots
from optilab.experiments.sgd import BATCH_SIZES, EPOCHS, LRS, breast_cancer_split, sgd_curves
from optilab.widgets.explorer import Explorer, register

__all__ = ["BatchSizeFigure", "batch_size_explorer"]

_LOSS_TICKS = [0.02, 0.05, 0.1, 0.2, 0.5, 1.0]


def _loss_axis(ax) -> None:
    """A log loss axis with plain-text ticks (faster to render than mathtext)."""
    ax.set_yscale("log")
    ax.set_ylim(0.015, 1.5)
    ax.yaxis.set_major_locator(FixedLocator(_LOSS_TICKS))
    ax.yaxis.set_major_formatter(FixedFormatter([f"{v:g}" for v in _LOSS_TICKS]))
    ax.yaxis.set_minor_locator(NullLocator())


class BatchSizeFigure:
    """The explorer's figure: loss curves for the chosen (B, α) (left), final loss against α for every B (right).

    All runs are computed when the figure is built (:func:`sgd_curves`, cached); :meth:`draw`
    only moves lines.
    """

    def __init__(self, batch_sizes: tuple[int, ...] = BATCH_SIZES, lrs: tuple[float, ...] = LRS,
                 epochs: int = EPOCHS) -> None:
        self.batch_sizes, self.lrs, self.epochs = tuple(batch_sizes), tuple(lrs), int(epochs)
        self.curves = {(B, decay): sgd_curves(B, self.lrs, self.epochs, decay)
                       for B in self.batch_sizes for decay in (False, True)}
        self.full = max(self.batch_sizes)
        self.n = len(breast_cancer_split().X_train)
        fig, (left, right) = plots.new_figure(figsize=(10.5, 4.2), ncols=2)
        self.figure = fig
        self.colors = dict(zip(self.batch_sizes, [plots.OKABE_ITO[c] for c in
                                                  ("vermillion", "orange", "bluish green", "blue", "black")]))
        self.reference, = left.plot([], [], color="#999999", linewidth=2.2, label="full batch (GD)")
        self.curve, = left.plot([], [], linewidth=1.4, label="minibatch")
        left.set(xlabel="epoch (passes over the training set)", ylabel="training loss", xlim=(0, self.epochs))
        _loss_axis(left)
        self.left_legend = plots.legend_below(left, ncols=2)
        self.sweep = {}
        for B in self.batch_sizes:
            label = f"B = {B}" + (" (full)" if B == self.full else "")
            self.sweep[B], = right.plot([], [], marker="o", markersize=3, color=self.colors[B], label=label)
        self.marker, = right.plot([], [], marker="o", markersize=12, markerfacecolor="none", markeredgewidth=2,
                                  color="black", linestyle="none", label="shown left")
        right.set_xscale("log")
        decades = [v for v in (1e-3, 1e-2, 1e-1, 1.0, 10.0) if min(self.lrs) / 1.5 <= v <= max(self.lrs) * 1.5]
        right.xaxis.set_major_locator(FixedLocator(decades))
        right.xaxis.set_major_formatter(FixedFormatter([f"{v:g}" for v in decades]))  # plain text, fast to draw
        right.xaxis.set_minor_formatter(NullFormatter())
        right.set(xlabel="learning rate α", xlim=(min(self.lrs) / 1.5, max(self.lrs) * 1.5),
                  ylabel=f"training loss after {self.epochs} epochs")
        _loss_axis(right)
        plots.legend_below(right, ncols=3)
        self.left, self.right = left, right
        self.title = fig.suptitle("", fontsize="medium")
        fig.subplots_adjust(top=0.86, bottom=0.3)

    def draw(self, batch_size: int, lr: float, decay: bool = False) -> Figure:
        """Show the run with batch size ``batch_size`` and learning rate ``lr`` (the nearest on the grid)."""
        k = int(np.argmin(np.abs(np.log(np.asarray(self.lrs)) - np.log(float(lr)))))
        lr = self.lrs[k]
        ours, full = self.curves[(int(batch_size), bool(decay))], self.curves[(self.full, bool(decay))]
        self.curve.set_data(ours.epochs, ours.losses[k])
        self.curve.set_color(self.colors[int(batch_size)])
        self.reference.set_data(full.epochs, full.losses[k])
        self.left_legend.get_texts()[1].set_text(f"B = {batch_size}, α = {lr:.2g}")
        self.left_legend.legend_handles[1].set_color(self.colors[int(batch_size)])
        self.left.set_title("α decays as α/(1 + epoch)" if decay else "constant α")
        for B, line in self.sweep.items():
            line.set_data(self.lrs, self.curves[(B, bool(decay))].final)
        self.marker.set_data([lr], [ours.final[k]])
        self.right.set_title("final loss against α, per batch size")
        steps = -(-self.n // int(batch_size))  # ⌈n / B⌉
        self.title.set_text(f"B = {batch_size}: {steps} steps per epoch; after {self.epochs} epochs the "
                            f"training loss is {ours.final[k]:.3f} (full batch: {full.final[k]:.3f})")
        return self.figure


@register("02-sgd-batch-size")
def batch_size_explorer(batch_size: int = 16, lr: float = 0.1, decay: bool = False) -> Explorer:
    """Minibatch SGD on the breast-cancer data: a batch-size slider, a learning-rate slider, a decay box.

    Parameters
    ----------
    batch_size : int
        The batch size shown first, one of :data:`BATCH_SIZES`.
    lr : float
        The learning rate shown first (the nearest of :data:`LRS` is used).
    decay : bool
        Start with the :math:`1/t` decay on.
    """
    if batch_size not in BATCH_SIZES:
        raise ValueError(f"batch_size must be one of {BATCH_SIZES}, got {batch_size}")
    view = BatchSizeFigure()
    nearest = view.lrs[int(np.argmin(np.abs(np.log(np.asarray(view.lrs)) - np.log(float(lr)))))]
    controls = {
        "batch_size": widgets.SelectionSlider(options=list(BATCH_SIZES), value=batch_size, description="batch B",
                                              continuous_update=False),
        "lr": widgets.SelectionSlider(options=[(f"{v:.2g}", v) for v in view.lrs], value=nearest,
                                      description="α (lr)", continuous_update=False),
        "decay": widgets.Checkbox(value=bool(decay), description="decay α as α/(1 + epoch)", indent=False,
                                  layout=widgets.Layout(width="auto")),
    }
    return Explorer(controls, view.draw, title="Minibatch SGD on the breast-cancer data")
