r"""Lesson 06's experiments: Adam's bias correction, its ε, and AMSGrad on Reddi et al.'s problem.

* :func:`step_ratios` — Adam's step over :math:`\alpha` for a constant gradient, with and
  without bias correction (:func:`optilab.variants.adam_without_bias_correction`).
* :func:`bias_correction_run` — Adam's first steps on a bowl, with and without it.
* :func:`steady_step_ratio` — the step for a steady gradient of each size, for one :math:`\epsilon`.
* :func:`step_bound`, :func:`worst_case_gradients`, :func:`step_after_silence` — the largest step
  Adam can take (about 7.27α with the defaults), the gradients that reach it, and Kingma & Ba's
  case of one gradient after many zeros (at most :math:`\alpha(1-\beta_1)/\sqrt{1-\beta_2}`).
* :func:`amsgrad_paper` and :func:`amsgrad_step_ratios` — AMSGrad as Reddi et al. wrote it
  (no bias correction) against PyTorch's form.
* :func:`reddi_runs` and :func:`average_regret` — Adam and AMSGrad on
  :func:`optilab.problems.reddi_online`, and what their choices cost.

Every number comes from running the rules (``RULES["adam"]``, ``RULES["amsgrad"]``); the lesson
compares them with the formulas.
"""

from __future__ import annotations

import functools
from typing import Sequence

import numpy as np

from optilab import problems, training, variants
from optilab.kernels import RULES

__all__ = [
    "step_ratios",
    "PATH_PROBLEM",
    "bias_correction_run",
    "steady_step_ratio",
    "reddi_runs",
    "average_regret",
    "step_bound",
    "worst_case_gradients",
    "adam_step_ratios",
    "step_after_silence",
    "amsgrad_paper",
    "amsgrad_step_ratios",
]


def _adam(bias_correction: bool):
    return RULES["adam"] if bias_correction else variants.adam_without_bias_correction


def step_ratios(steps: int, *, bias_correction: bool = True, beta1: float = 0.9, beta2: float = 0.999,
                eps: float = 0.0) -> np.ndarray:
    r"""Adam's step length in units of :math:`\alpha` for a constant gradient :math:`g = 1`, steps 1..``steps``.

    With bias correction every step is :math:`\alpha` exactly (:math:`\hat m = g`,
    :math:`\hat v = g^2`); without it, step :math:`t` is
    :math:`\alpha (1-\beta_1^t)/\sqrt{1-\beta_2^t}`. Computed by running the rule.
    """
    rule, p, state = _adam(bias_correction), np.zeros(1), {}
    ratios = np.empty(steps)
    for t in range(steps):
        new, state = rule(p, np.ones(1), state, lr=1.0, beta1=beta1, beta2=beta2, eps=eps)
        ratios[t], p = abs(float(new[0] - p[0])), new
    return ratios


#: The bowl on which lesson 06 shows Adam's first steps (:math:`\lambda = 1, 10`).
PATH_PROBLEM = problems.quadratic((1.0, 10.0))


def bias_correction_run(bias_correction: bool = True, *, beta1: float = 0.9, beta2: float = 0.999, lr: float = 0.2,
                        steps: int = 40) -> training.Trace:
    r"""The first ``steps`` steps of Adam on :data:`PATH_PROBLEM`, with or without its bias correction.

    Without it the rule is :func:`optilab.variants.adam_without_bias_correction`. Cached.
    """
    return _bias_correction_run(bool(bias_correction), float(beta1), float(beta2), float(lr), int(steps))


@functools.lru_cache(maxsize=32)
def _bias_correction_run(bias_correction: bool, beta1: float, beta2: float, lr: float, steps: int) -> training.Trace:
    return training.run(_adam(bias_correction), PATH_PROBLEM, steps=steps, lr=lr, beta1=beta1, beta2=beta2)


def steady_step_ratio(grad_scales: Sequence[float], eps: float, *, steps: int = 50) -> np.ndarray:
    r"""Adam's step over :math:`\alpha` after ``steps`` steps of a constant gradient of each size.

    Bias correction makes :math:`\hat m = g` and :math:`\hat v = g^2` exactly, so this is
    :math:`|g| / (|g| + \epsilon)`: about 1 when :math:`|g| \gg \epsilon`, and
    :math:`|g|/\epsilon` (SGD with learning rate :math:`\alpha/\epsilon`) when :math:`|g| \ll \epsilon`.
    Computed by running :func:`optilab.kernels.adam` on all sizes at once.
    """
    g = np.asarray(grad_scales, dtype=float)
    adam, p, state = RULES["adam"], np.zeros_like(g), {}
    for _ in range(steps):
        new, state = adam(p, g, state, lr=1.0, eps=eps)
        step, p = np.abs(new - p), new
    return step


def _decaying(lr: float):
    def schedule(t: int) -> float:
        return lr / np.sqrt(t + 1)

    schedule.__name__ = f"{lr:g}/sqrt(t+1)"
    return schedule


def reddi_runs(beta2: float, C: float = 3.0, steps: int = 400, lr: float = 0.5) -> dict[str, training.Trace]:
    r"""Adam and AMSGrad (:math:`\beta_1 = 0`, :math:`\alpha_t = \alpha/\sqrt{t+1}`) on
    :func:`optilab.problems.reddi_online`, from :math:`x_0 = 0`. Cached: the explorer reuses them.
    """
    return _reddi_runs(float(beta2), float(C), int(steps), float(lr))


@functools.lru_cache(maxsize=32)
def _reddi_runs(beta2: float, C: float, steps: int, lr: float) -> dict[str, training.Trace]:
    problem = problems.reddi_online(C)
    return {rule: training.run(rule, problem, steps=steps, lr=_decaying(lr), beta1=0.0, beta2=float(beta2))
            for rule in ("adam", "amsgrad")}


def average_regret(trace: training.Trace, C: float = 3.0) -> np.ndarray:
    r"""The average regret :math:`R_T/T = \frac1T\sum_{t<T} \big(f_t(x_t) - f_t(x^*)\big)`, for T = 1, 2, ...

    On :func:`optilab.problems.reddi_online` the best fixed point is :math:`x^* = -1`. An
    algorithm that converges to it has :math:`R_T/T \to 0`; one that sits at :math:`x = +1`
    keeps :math:`R_T/T \to 2(C-2)/3`.
    """
    problem = problems.reddi_online(C)
    x_star = problem.minimizer
    steps = len(trace.losses) - 1
    best = np.array([problem.loss(x_star, t) for t in range(steps)])
    return np.cumsum(trace.losses[:-1] - best) / np.arange(1, steps + 1)


def step_bound(t: int | None = None, *, beta1: float = 0.9, beta2: float = 0.999) -> float:
    r"""The largest :math:`|\Delta p|/\alpha` Adam's step ``t`` can have (bias-corrected, ε = 0); ``None``: :math:`t \to \infty`.

    The step is :math:`\hat m/\sqrt{\hat v}`. Writing :math:`\beta_1^{t-k} g_k = (\beta_1/\sqrt{\beta_2})^{t-k}\,
    \sqrt{\beta_2}^{\,t-k} g_k`, the Cauchy–Schwarz inequality gives

    .. math::
        \frac{|\hat m_t|}{\sqrt{\hat v_t}} \le \frac{1-\beta_1}{\sqrt{1-\beta_2}}\,
        \frac{\sqrt{1-\beta_2^t}}{1-\beta_1^t}\, \sqrt{\sum_{j=0}^{t-1} \Big(\frac{\beta_1^2}{\beta_2}\Big)^j},

    with equality for gradients that grow by :math:`\beta_2/\beta_1` per step
    (:func:`worst_case_gradients`). As :math:`t \to \infty` it tends to
    :math:`(1-\beta_1)/\sqrt{(1-\beta_2)(1-\beta_1^2/\beta_2)}` (about 7.27 with the defaults), and
    is infinite unless :math:`\beta_1^2 < \beta_2`. Kingma & Ba's (2015, §2.1) approximate bound
    :math:`(1-\beta_1)/\sqrt{1-\beta_2}` is smaller: it is the case of one gradient after many zeros
    (:func:`step_after_silence`).
    """
    r = beta1 * beta1 / beta2
    if t is None:
        return float("inf") if r >= 1 else (1 - beta1) / np.sqrt((1 - beta2) * (1 - r))
    t = int(t)
    if t < 1:
        raise ValueError(f"t counts steps from 1, got {t}")
    series = float(t) if r == 1 else (1 - r**t) / (1 - r)
    return float((1 - beta1) / np.sqrt(1 - beta2) * np.sqrt(1 - beta2**t) / (1 - beta1**t) * np.sqrt(series))


def worst_case_gradients(t: int, *, beta1: float = 0.9, beta2: float = 0.999) -> np.ndarray:
    r"""The ``t`` gradients whose last Adam step reaches :func:`step_bound`: :math:`g_k = (\beta_1/\beta_2)^{t-k}`, ending at 1."""
    return (beta1 / beta2) ** np.arange(int(t) - 1, -1, -1, dtype=float)


def adam_step_ratios(grads: Sequence[float], *, beta1: float = 0.9, beta2: float = 0.999,
                     bias_correction: bool = True) -> np.ndarray:
    r"""Every step's :math:`|\Delta p|/\alpha` of Adam (ε = 0) on one coordinate's gradient sequence, by running the rule."""
    rule, p, state, out = _adam(bias_correction), np.zeros(1), {}, []
    for g in grads:
        new, state = rule(p, np.array([float(g)]), state, lr=1.0, beta1=beta1, beta2=beta2, eps=1e-300)
        out.append(abs(float(new[0] - p[0])))
        p = new
    return np.array(out)


def step_after_silence(zeros: Sequence[int], *, beta1: float = 0.9, beta2: float = 0.999,
                       bias_correction: bool = True) -> np.ndarray:
    r"""Adam's step (in units of :math:`\alpha`) on a gradient :math:`g = 1` that follows ``k`` zero gradients, for each ``k``.

    After zeros, :math:`m` and :math:`v` hold only this one gradient: :math:`m = (1-\beta_1) g`,
    :math:`v = (1-\beta_2) g^2`, and with bias correction at step :math:`t = k + 1` the step is
    :math:`\alpha\,\frac{1-\beta_1}{\sqrt{1-\beta_2}} \cdot \frac{\sqrt{1-\beta_2^t}}{1-\beta_1^t}`.
    Computed by running the rule (ε = 0 on the step measured).
    """
    rule = _adam(bias_correction)
    out = []
    for k in zeros:
        p, state = np.zeros(1), {}
        for _ in range(int(k)):
            p, state = rule(p, np.zeros(1), state, lr=1.0, beta1=beta1, beta2=beta2, eps=1e-300)  # 0/0 -> 0
        new, _ = rule(p, np.ones(1), state, lr=1.0, beta1=beta1, beta2=beta2, eps=0.0)
        out.append(abs(float(new[0] - p[0])))
    return np.array(out)


def amsgrad_paper(param, grad, state, *, lr=1e-3, beta1=0.9, beta2=0.999, eps=0.0):
    r"""AMSGrad as Reddi, Kale & Kumar (2018, Algorithm 2) write it, to the update-rule contract.

    .. math::
        m \leftarrow \beta_1 m + (1-\beta_1) g, \quad v \leftarrow \beta_2 v + (1-\beta_2) g^2, \quad
        \hat v \leftarrow \max(\hat v, v), \quad p \leftarrow p - \alpha\, m/\sqrt{\hat v}

    No bias correction of :math:`m` or :math:`v`, and no ε (``eps`` is added to the root only to
    keep a zero gradient finite). PyTorch's ``Adam(amsgrad=True)`` (:func:`optilab.kernels.amsgrad`)
    instead divides :math:`m` by :math:`1-\beta_1^t` and the maximum by :math:`1-\beta_2^t`.
    State: ``t``, ``m``, ``v``, ``v_max``.
    """
    m = beta1 * state.get("m", np.zeros_like(param)) + (1 - beta1) * grad
    v = beta2 * state.get("v", np.zeros_like(param)) + (1 - beta2) * grad * grad
    v_max = np.maximum(state.get("v_max", v), v)
    new = param - lr * m / (np.sqrt(v_max) + eps)
    return new, {"t": state.get("t", 0) + 1, "m": m, "v": v, "v_max": v_max}


def amsgrad_step_ratios(grads: Sequence[float], *, beta1: float = 0.9, beta2: float = 0.999) -> dict[str, np.ndarray]:
    r"""Step lengths over :math:`\alpha` of the two AMSGrads on one coordinate's gradient sequence.

    Returns ``{"paper": ..., "pytorch": ...}`` (ε = 0), computed by running :func:`amsgrad_paper`
    and :func:`optilab.kernels.amsgrad`.
    """
    out = {}
    for name, rule in (("paper", amsgrad_paper), ("pytorch", RULES["amsgrad"])):
        p, state, steps = np.zeros(1), {}, []
        for g in grads:
            new, state = rule(p, np.array([float(g)]), state, lr=1.0, beta1=beta1, beta2=beta2, eps=0.0)
            steps.append(abs(float(new[0] - p[0])))
            p = new
        out[name] = np.array(steps)
    return out
