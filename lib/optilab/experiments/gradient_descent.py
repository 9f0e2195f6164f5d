r"""Lesson 01's measurement: how fast a run closes in on the minimum, per step.

On a quadratic, gradient descent contracts the error by :math:`r = \max_i |1 - \alpha\lambda_i|`
per step (:func:`optilab.theory.gd_rate`); :func:`measured_rate` reads the same number off a run,
so the lesson and its explorer can put theory and measurement side by side.
"""

from __future__ import annotations

import numpy as np

from optilab import training

__all__ = ["measured_rate"]


def measured_rate(trace: training.Trace, minimizer: np.ndarray) -> float:
    r"""The per-step contraction of a run, measured over its second half.

    .. math::  \big(\|p_T - p^*\| / \|p_{T/2} - p^*\|\big)^{1/(T - T/2)}

    Returns ``nan`` when the run is too short (it diverged early) or already sits at the
    minimum (distances of zero).

    Examples
    --------
    >>> from optilab import problems, theory, training
    >>> bowl = problems.quadratic((1.0, 10.0))
    >>> trace = training.run("sgd", bowl, steps=60, lr=0.1)
    >>> round(measured_rate(trace, bowl.minimizer), 3), round(theory.gd_rate(bowl.eigenvalues, 0.1), 3)
    (0.9, 0.9)
    """
    d = np.linalg.norm(np.asarray(trace.params) - np.asarray(minimizer), axis=1)
    steps = len(d) - 1
    half = steps // 2
    if steps < 4 or not np.all(np.isfinite(d[[half, steps]])) or d[half] == 0 or d[steps] == 0:
        return float("nan")
    return float((d[steps] / d[half]) ** (1.0 / (steps - half)))
