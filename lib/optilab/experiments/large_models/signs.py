r"""Lesson 09: Lion's sign step against Adam's on gradients of every signal-to-noise ratio: how
long the steps are and how much of them goes the right way."""

from __future__ import annotations

import functools
import math

import numpy as np

from optilab.experiments.large_models.shared import rule_named


__all__ = ["SNRS", "rms_noise_step", "lion_sign_agreement", "sign_steps"]


# -- Lion's sign step against Adam's ----------------------------------------------------------------------
#: The signal-to-noise ratios :math:`\mu/\sigma` of :func:`sign_steps`.
SNRS: np.ndarray = np.logspace(-2, 1, 25)


def rms_noise_step(beta1: float) -> float:
    r"""Adam's root-mean-square step over :math:`\alpha` on pure noise, for :math:`\beta_2 \to 1`.

    :math:`m` is an average of independent gradients with weights :math:`(1-\beta_1)\beta_1^k`, so
    its variance is :math:`\sigma^2 (1-\beta_1)/(1+\beta_1)`, while :math:`\hat v \to \sigma^2`:
    the step is :math:`\alpha\sqrt{(1-\beta_1)/(1+\beta_1)}`. Lion's step is :math:`\alpha` in every
    coordinate, so on noise it is :math:`\sqrt{(1+\beta_1)/(1-\beta_1)}` times Adam's.
    """
    return math.sqrt((1.0 - beta1) / (1.0 + beta1))


def lion_sign_agreement(snr: np.ndarray, beta1: float, beta2: float) -> np.ndarray:
    r"""Lion's mean step against the gradient over :math:`\alpha`, from the formula, for :func:`sign_steps`'s streams.

    Lion steps along :math:`-\operatorname{sign}(c)` with :math:`c = \beta_1 m + (1-\beta_1) g`. In the
    steady state :math:`m` averages earlier gradients with weights :math:`(1-\beta_2)\beta_2^k`, so
    :math:`c` is normal with mean :math:`\mu` and variance
    :math:`\sigma^2\big(\beta_1^2 (1-\beta_2)/(1+\beta_2) + (1-\beta_1)^2\big)`, and
    :math:`E[\operatorname{sign} c] = \operatorname{erf}\big(\mu / (\sqrt2\, \mathrm{sd}(c))\big)`.
    """
    sd = math.sqrt(beta1**2 * (1.0 - beta2) / (1.0 + beta2) + (1.0 - beta1) ** 2)
    return np.array([math.erf(float(s) / (math.sqrt(2.0) * sd)) for s in np.atleast_1d(snr)])


def sign_steps(beta1: float = 0.9, beta2: float = 0.99, *, adam_betas: tuple[float, float] = (0.9, 0.999),
               seed: int = 0) -> dict[str, dict[str, np.ndarray]]:
    r"""Lion's and Adam's steps on gradients :math:`g = \mu + \sigma\xi` for every ratio in :data:`SNRS`.

    Each coordinate sees its own stream of gradients with mean :math:`\mu` = its ratio
    (:math:`\sigma = 1`, :math:`\xi \sim \mathcal N(0, 1)`); many coordinates share each ratio.
    Both rules (:func:`optilab.kernels.lion` with :math:`\beta_1, \beta_2` as given, no weight
    decay; :func:`optilab.kernels.adam` with ``adam_betas`` and :math:`\epsilon = 0`) take 500 steps
    with :math:`\alpha = 1`; the last 200 are measured.

    Returns
    -------
    dict
        For ``"lion"`` and ``"adam"``, a dict with ``"progress"``: the mean step against the mean
        gradient, :math:`-E[\Delta p]/\alpha` (1 when every step has full length and the right
        sign), and ``"rms"``: the root-mean-square step :math:`\sqrt{E[\Delta p^2]}/\alpha`; each of
        shape ``(len(SNRS),)``.
    """
    return {"lion": _steps("lion", (("beta1", float(beta1)), ("beta2", float(beta2)), ("weight_decay", 0.0)), seed),
            "adam": _steps("adam", (("beta1", float(adam_betas[0])), ("beta2", float(adam_betas[1])), ("eps", 0.0)),
                           seed)}


@functools.lru_cache(maxsize=256)
def _steps(name: str, hyper: tuple[tuple[str, float], ...], seed: int, steps: int = 500, burn_in: int = 300,
           replicas: int = 96) -> dict[str, np.ndarray]:
    noise = np.random.default_rng(seed).standard_normal((steps, len(SNRS), replicas))
    mu = SNRS[:, None]
    rule, p, state = rule_named(name), np.zeros((len(SNRS), replicas)), {}
    moved, squared = np.zeros_like(p), np.zeros_like(p)
    for t in range(steps):
        new, state = rule(p, mu + noise[t], state, lr=1.0, **dict(hyper))
        if t >= burn_in:
            step = new - p
            moved -= step
            squared += step * step
        p = new
    n = steps - burn_in
    return {"progress": (moved / n).mean(axis=1), "rms": np.sqrt((squared / n).mean(axis=1))}
