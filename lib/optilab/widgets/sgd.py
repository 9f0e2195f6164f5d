r"""Explorer of lesson 02: minibatch SGD on a real dataset, batch size against learning rate.

Logistic regression on the breast-cancer data (:func:`optilab.data.load_breast_cancer`,
standardized, 75 % for training), trained for a few epochs with

.. math::  p \leftarrow p - \alpha_t\, g_B, \qquad g_B = \frac1B \sum_{i \in \text{batch}} \nabla \ell_i(p),

for every batch size and every learning rate on a grid. The runs are computed once (all
learning rates of one batch size at the same time, as one array of weights) and cached, so
moving a slider only redraws lines.

In a notebook::

    from optilab.widgets.sgd import batch_size_explorer
    batch_size_explorer()
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import ipywidgets as widgets
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FixedFormatter, FixedLocator, NullFormatter, NullLocator

from optilab import data, plots
from optilab.widgets.explorer import Explorer, register

__all__ = ["Curves", "breast_cancer_split", "sgd_curves", "BATCH_SIZES", "LRS", "EPOCHS", "batch_size_explorer"]

#: The explorer's grid: batch sizes (the last one is the whole training set), learning rates, epochs.
BATCH_SIZES: tuple[int, ...] = (1, 4, 16, 64, 426)
LRS: tuple[float, ...] = tuple(float(v) for v in np.round(10.0 ** np.arange(-3.0, 0.76, 0.25), 10))
EPOCHS = 5


@functools.lru_cache(maxsize=1)
def breast_cancer_split(seed: int = 0) -> data.Split:
    """The breast-cancer data, split 75/25 with ``seed`` and standardized with the training statistics."""
    X, y = data.load_breast_cancer()
    split = data.train_test_split(X, y, test_fraction=0.25, seed=seed)
    X_train, X_test = data.standardize(split.X_train, split.X_test)
    return data.Split(X_train, X_test, split.y_train, split.y_test)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # = 1/(1 + e^{-z}), without overflow for large |z|


@dataclass(frozen=True)
class Curves:
    r"""Training-loss curves of minibatch SGD for one batch size and many learning rates.

    Attributes
    ----------
    batch_size : int
        :math:`B`.
    lrs : ndarray of shape (K,)
        The learning rates :math:`\alpha` (the starting ones when ``decay`` is set).
    epochs : ndarray of shape (m,)
        When each loss was measured, in epochs (fractions within an epoch).
    losses : ndarray of shape (K, m)
        The loss on the whole training set at those moments, one row per learning rate.
    decay : bool
        Whether :math:`\alpha_t = \alpha / (1 + t/T)` with :math:`T` the steps per epoch was used.
    """

    batch_size: int
    lrs: np.ndarray
    epochs: np.ndarray
    losses: np.ndarray
    decay: bool

    @property
    def final(self) -> np.ndarray:
        """The training loss after the last epoch, one per learning rate."""
        return self.losses[:, -1]


@functools.lru_cache(maxsize=32)
def sgd_curves(batch_size: int, lrs: tuple[float, ...] = LRS, epochs: int = EPOCHS, decay: bool = False,
               seed: int = 0, points_per_epoch: int = 10) -> Curves:
    r"""Train logistic regression with minibatch SGD for every learning rate in ``lrs`` at once.

    Each of the K models starts at :math:`w = 0, b = 0` and sees the same batches, in the
    order of :func:`optilab.data.minibatches` (``seed``, one shuffle per epoch), so row k is the
    run ``optilab.training.train("sgd", LogisticRegression(30), split, batch_size=B, lr=lrs[k], seed=seed)``
    would make. The update is :func:`optilab.kernels.sgd` applied to K weight vectors at once:
    :math:`W \leftarrow W - \alpha_t\, G` row by row.

    Parameters
    ----------
    batch_size : int
        :math:`B`, between 1 and the number of training examples (426).
    lrs : tuple of float
        The learning rates.
    epochs : int
        Passes over the training set.
    decay : bool
        Use :math:`\alpha_t = \alpha/(1 + t/T)`, :math:`T` = steps per epoch (``optilab.schedules.inverse_time(α, 1, T)``).
    seed : int
        Seed of the split's shuffling of batches.
    points_per_epoch : int
        How often the full training loss is measured within an epoch (at most once per step).

    Returns
    -------
    Curves
    """
    split = breast_cancer_split()
    X, y = split.X_train, split.y_train.astype(float)
    n, d = X.shape
    if not 1 <= int(batch_size) <= n:
        raise ValueError(f"batch_size must be between 1 and {n} (the training set), got {batch_size}")
    alpha = np.asarray(lrs, dtype=float)
    X1 = np.hstack([X, np.ones((n, 1))])  # a column of ones: the bias b is the last weight
    W = np.zeros((len(alpha), d + 1))  # row k: the weights (w, b) of the run with lrs[k]
    steps_per_epoch = -(-n // int(batch_size))
    every = max(1, steps_per_epoch // points_per_epoch)
    times, snapshots = [0.0], [W]
    t = 0
    for epoch in range(epochs):
        for i, (Xb, yb) in enumerate(data.minibatches(X1, y, int(batch_size), seed=seed, epoch=epoch)):
            residual = _sigmoid(Xb @ W.T) - yb[:, None]  # (B, K): σ(z) − y for each model
            step = alpha / (1.0 + t / steps_per_epoch) if decay else alpha
            W = W - (step / len(Xb))[:, None] * (residual.T @ Xb)  # p ← p − α g_B, for every α at once
            t += 1
            if (i + 1) % every == 0 or i + 1 == steps_per_epoch:
                times.append(epoch + (i + 1) / steps_per_epoch)
                snapshots.append(W)
    Z = X1 @ np.concatenate(snapshots).T  # (n, m·K): every model at every measurement
    losses = np.mean(np.logaddexp(0.0, Z) - y[:, None] * Z, axis=0)
    curves = Curves(int(batch_size), alpha, np.array(times), losses.reshape(len(times), len(alpha)).T, bool(decay))
    for array in (curves.lrs, curves.epochs, curves.losses):
        array.setflags(write=False)
    return curves


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
        self.left_legend = left.legend(loc="upper right", fontsize="small", framealpha=0.85)
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
        right.legend(loc="lower left", fontsize="small", framealpha=0.85, ncols=2)
        self.left, self.right = left, right
        self.title = fig.suptitle("", fontsize="medium")
        fig.subplots_adjust(top=0.86)

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
