r"""Lesson 02's experiment: minibatch SGD on a real dataset, for many learning rates at once.

Logistic regression on the breast-cancer data (:func:`optilab.data.load_breast_cancer`,
standardized, 75 % for training), trained for a few epochs with

.. math::  p \leftarrow p - \alpha_t\, g_B, \qquad g_B = \frac1B \sum_{i \in \text{batch}} \nabla \ell_i(p),

for every learning rate of a grid. :func:`sgd_curves` trains all of them together, as one
array of weights, and measures the full training loss ten times per epoch: the whole grid of
the lesson's explorer (16 learning rates, 5 batch sizes, with and without decay) then costs
about a tenth of what 160 separate runs of :func:`optilab.training.train` would. This
vectorised form of :class:`optilab.models.LogisticRegression`'s loss and gradient is the only
one in the library; the tests check that each of its rows is the run ``train`` makes.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from optilab import data
from optilab.kernels import RULES

__all__ = ["Curves", "breast_cancer_split", "sgd_curves", "BATCH_SIZES", "LRS", "EPOCHS", "seconds_per_step", "Race", "race"]

#: The lesson's grid: batch sizes (the last one is the whole training set), learning rates, epochs.
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
    would make. The K weight vectors are the rows of one array :math:`W`; the gradient of the
    logistic loss is computed for all of them with one matrix product, and the step is the
    library's rule, ``RULES["sgd"]`` (:func:`optilab.kernels.sgd`), with one learning rate per row.

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
        Cached; its arrays are read-only.
    """
    split = breast_cancer_split()
    X, y = split.X_train, split.y_train.astype(float)
    n, d = X.shape
    if not 1 <= int(batch_size) <= n:
        raise ValueError(f"batch_size must be between 1 and {n} (the training set), got {batch_size}")
    sgd = RULES["sgd"]
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
            G = residual.T @ Xb / len(Xb)  # (K, d + 1): row k is ∇L_B of model k
            step = alpha / (1.0 + t / steps_per_epoch) if decay else alpha
            W, _ = sgd(W, G, {}, lr=step[:, None])  # p ← p − α g_B, for every α at once
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


# -- per second, not per epoch ------------------------------------------------------------------------
def seconds_per_step(batch_size: int, repeats: int = 3, min_steps: int = 30, seed: int = 0) -> float:
    r"""The measured wall time of one SGD step with batch size ``batch_size``, as :func:`optilab.training.train` takes it.

    One step is what ``train`` does per batch: cut the batch (:func:`optilab.data.minibatches`), compute
    the logistic loss and gradient on it (:class:`optilab.models.LogisticRegression`), and apply
    ``kernels.sgd`` through :class:`optilab.Optimizer`; the evaluation ``train`` makes once per epoch
    is left out. The steps of whole epochs (at least ``min_steps``) are timed together, ``repeats``
    times, and the fastest repeat is divided by its number of steps: the least disturbed measurement
    of a busy machine. A measurement, so it varies from machine to machine and from run to run.
    """
    import time

    from optilab import models
    from optilab.optimizer import Optimizer

    split = breast_cancer_split()
    X, y = split.X_train, split.y_train
    n = len(X)
    if not 1 <= int(batch_size) <= n:
        raise ValueError(f"batch_size must be between 1 and {n} (the training set), got {batch_size}")
    model = models.LogisticRegression(X.shape[1])
    per_epoch = -(-n // int(batch_size))
    epochs = -(-int(min_steps) // per_epoch)
    best = float("inf")
    for _ in range(int(repeats)):
        params, optimizer = model.init(seed), Optimizer("sgd", lr=1e-3)
        start = time.perf_counter()
        for epoch in range(epochs):
            for Xb, yb in data.minibatches(X, y, int(batch_size), seed=seed, epoch=epoch):
                _, grads = model.loss_and_grads(params, Xb, yb)
                params = optimizer.step(params, grads)
        best = min(best, time.perf_counter() - start)
    return best / (epochs * per_epoch)


@dataclass(frozen=True)
class Race:
    r"""Minibatch SGD against the clock: one batch size, at the learning rate that reaches ``target`` in the fewest steps.

    Attributes
    ----------
    batch_size : int
    lr : float
        The learning rate of the grid (:data:`LRS`) that reaches the target first, counted in steps.
    epochs, losses : ndarray
        The run's training-loss curve (:func:`sgd_curves`).
    steps : ndarray
        The steps taken at each point of the curve.
    seconds_per_step : float
        Measured (:func:`seconds_per_step`).
    target : float
        The training loss to reach.
    steps_to_target, epochs_to_target : float
        When the curve first reaches ``target`` (at the curve's resolution).
    """

    batch_size: int
    lr: float
    epochs: np.ndarray
    losses: np.ndarray
    steps: np.ndarray
    seconds_per_step: float
    target: float
    steps_to_target: float
    epochs_to_target: float

    @property
    def seconds(self) -> np.ndarray:
        """The time each point of the curve is reached: steps × measured seconds per step."""
        return self.steps * self.seconds_per_step

    @property
    def seconds_to_target(self) -> float:
        return self.steps_to_target * self.seconds_per_step


def race(batch_sizes: tuple[int, ...] = (1, 16, 426), target: float = 0.08, epochs: dict[int, int] | None = None,
         repeats: int = 3) -> dict[int, Race]:
    r"""Each batch size at its own best learning rate, against the epochs and against measured seconds.

    For each :math:`B` the curves of every learning rate of :data:`LRS` come from :func:`sgd_curves`
    (``epochs[B]`` epochs: by default 5, and 40 for the full batch, which takes one step per epoch);
    the learning rate that first reaches ``target`` in the fewest steps is kept (ties: the lower final
    loss), and the time axis is its steps times :func:`seconds_per_step`.
    """
    n = len(breast_cancer_split().X_train)
    out: dict[int, Race] = {}
    for B in batch_sizes:
        B = int(B)
        E = (epochs or {}).get(B, 40 if B == n else EPOCHS)
        curves = sgd_curves(B, LRS, E, points_per_epoch=10 if B < n else 1)
        per_epoch = -(-n // B)
        steps = np.round(curves.epochs * per_epoch)
        reached = curves.losses <= target
        first = np.where(reached.any(axis=1), reached.argmax(axis=1), len(steps))
        if np.all(first == len(steps)):
            raise ValueError(f"no learning rate of the grid reaches a training loss of {target} with B = {B} "
                             f"in {E} epochs; ask for a higher target or more epochs")
        k = min(range(len(LRS)), key=lambda i: (first[i], curves.final[i]))
        out[B] = Race(B, float(curves.lrs[k]), curves.epochs, curves.losses[k], steps, seconds_per_step(B, repeats),
                      float(target), float(steps[first[k]]), float(curves.epochs[first[k]]))
    return out
