r"""The learning-rate range test (Smith 2017; fast.ai's ``lr_find``): one short run whose lr grows
geometrically, step after step, from tiny to far too large, recording the minibatch loss.

The loss first barely moves (lr too small), then falls fastest, then blows up. fast.ai smooths the
loss with a debiased exponential moving average (:math:`\beta = 0.98`), stops once it exceeds four
times its lowest value, and suggests a learning rate from the curve: where it falls steepest
(``steep``: the most negative slope against :math:`\log \alpha`), or a tenth of the lr at its
minimum (``minimum``: the rule of thumb of fast.ai's first course). Both are starting points for a
proper tuning on a validation set, not an answer.

>>> from optilab import data, models
>>> X, y = data.load_breast_cancer()
>>> X, _ = data.standardize(X)
>>> result = lr_range_test("adam", models.MLP((X.shape[1], 16, 2)), (X, y), start_lr=1e-4, end_lr=1e3)
>>> bool(result.lrs[0] < result.steep < result.lrs[-1]), result.stopped_early
(True, True)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from optilab.optimizer import Optimizer

__all__ = ["RangeTest", "lr_range_test", "smooth"]


def smooth(losses: np.ndarray, beta: float = 0.98) -> np.ndarray:
    r"""fast.ai's debiased moving average: :math:`m_t = \beta m_{t-1} + (1-\beta)\ell_t`, reported as
    :math:`m_t / (1 - \beta^{t+1})` (the same bias correction as Adam's)."""
    if not 0 <= beta < 1:
        raise ValueError(f"beta must be in [0, 1); got {beta}")
    out, m = np.empty(len(losses)), 0.0
    for t, loss in enumerate(np.asarray(losses, dtype=float)):
        m = beta * m + (1 - beta) * loss
        out[t] = m / (1 - beta ** (t + 1))
    return out


@dataclass
class RangeTest:
    """What one :func:`lr_range_test` recorded.

    Attributes
    ----------
    lrs, losses, smoothed : ndarray
        The lr of each step, the minibatch loss before it, and :func:`smooth` of the losses.
    stopped_early : bool
        True when the smoothed loss passed ``stop_factor`` times its lowest value (or stopped being
        finite) before the last step.
    """

    lrs: np.ndarray
    losses: np.ndarray
    smoothed: np.ndarray
    stopped_early: bool

    @property
    def minimum(self) -> float:
        """A tenth of the lr at which the smoothed loss is lowest."""
        return float(self.lrs[int(np.nanargmin(self.smoothed))] / 10)

    @property
    def steep(self) -> float:
        r"""The lr where the smoothed loss falls fastest against :math:`\log \alpha`, leaving out the
        first 10 and the last 5 steps as fast.ai's ``plot_lr_find`` does (the average has barely
        started, and the loss has left)."""
        lrs, smoothed = self.lrs[10:-5], self.smoothed[10:-5]
        if len(lrs) < 3:
            raise ValueError(f"the range test stopped after {len(self.lrs)} steps, too few for a slope: "
                             "start from a smaller start_lr or take more steps")
        slope = np.gradient(smoothed, np.log(lrs))
        return float(lrs[int(np.nanargmin(slope))])


def lr_range_test(rule: Callable | str, model: Any, data: Any, *, start_lr: float = 1e-6, end_lr: float = 10.0,
                  steps: int = 100, batch_size: int | None = 32, seed: int = 0, beta: float = 0.98,
                  stop_factor: float = 4.0, **hyperparameters: Any) -> RangeTest:
    r"""Run the range test: step :math:`t` uses :math:`\alpha_t = \alpha_0 (\alpha_1/\alpha_0)^{t/(T-1)}`.

    Parameters
    ----------
    rule : str or callable
        A per-parameter rule (or its name), as :func:`optilab.training.train` takes.
    model, data
        As :func:`optilab.training.train` (only the training part of ``data`` is used).
    start_lr, end_lr : float
        The first and the last learning rate :math:`\alpha_0, \alpha_1`.
    steps : int
        :math:`T`, the number of steps (minibatches; epochs are added as needed).
    batch_size : int or None
        Examples per step (None: full batch).
    seed : int
        The model's initialisation and the minibatches' order.
    beta, stop_factor : float
        The smoothing (:func:`smooth`) and the stop: once the smoothed loss exceeds
        ``stop_factor`` times its lowest value.
    **hyperparameters
        The rule's other hyperparameters.
    """
    from optilab.data import minibatches
    from optilab.training import _unpack

    if not 0 < start_lr < end_lr:
        raise ValueError(f"need 0 < start_lr < end_lr; got {start_lr} and {end_lr}")
    if int(steps) < 2:
        raise ValueError(f"steps must be at least 2; got {steps}")
    steps = int(steps)
    schedule = np.geomspace(start_lr, end_lr, steps)
    X, y, _, _ = _unpack(data)
    optimizer = Optimizer(rule, lr=lambda t: float(schedule[t]), **hyperparameters)
    params = model.init(seed)
    size = len(X) if batch_size is None else int(batch_size)
    losses: list[float] = []
    best, m, stopped = np.inf, 0.0, False
    epoch = 0
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        while len(losses) < steps and not stopped:
            for X_batch, y_batch in minibatches(X, y, size, seed=seed, epoch=epoch):
                loss, grads = model.loss_and_grads(params, X_batch, y_batch)
                t = len(losses)
                losses.append(float(loss))
                m = beta * m + (1 - beta) * loss
                smoothed = m / (1 - beta ** (t + 1))
                if not np.isfinite(smoothed) or (t > 0 and smoothed > stop_factor * best):
                    stopped = True
                    break
                best = min(best, smoothed)
                if t == steps - 1:
                    break
                params = optimizer.step(params, grads)
            epoch += 1
    n = len(losses)
    return RangeTest(lrs=schedule[:n], losses=np.array(losses), smoothed=smooth(np.array(losses), beta),
                     stopped_early=stopped)
