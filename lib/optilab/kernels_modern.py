r"""The update rules large models train with: Lion, Adafactor, Muon and schedule-free AdamW.

Each follows the update-rule contract (CONTRACT.md), with the clauses of "Rules that do not fit
one array" where a rule needs them: Adafactor's state is factored (``row`` and ``col`` are not
the parameter's shape), Muon takes matrices only, and schedule-free AdamW evaluates the model at
a point (``x``) apart from the one it returns (``y``, where the next gradient is taken). The rule
table (:mod:`optilab.rules`) records each of these facts, and :mod:`optilab.kernels` imports the
functions, so ``optilab.kernels.lion`` and ``optilab.RULES["lion"]`` are these.

Each agrees with the implementation named in its docstring (tests/test_torch_agreement.py,
with values committed in tests/torch_reference/reference.npz by the script that made them).
Symbols as in :mod:`optilab.kernels`.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["lion", "adafactor"]


def lion(param, grad, state, *, lr=1e-4, beta1=0.9, beta2=0.99, weight_decay=0.0):
    r"""Lion: the sign of an interpolation of momentum and gradient, with decoupled weight decay.

    .. math::
        c &= \beta_1 m + (1-\beta_1)\, g \qquad (m_0 = 0) \\
        p &\leftarrow p\,(1 - \alpha\lambda) - \alpha\, \mathrm{sign}(c) \\
        m &\leftarrow \beta_2 m + (1-\beta_2)\, g

    Every entry moves by exactly :math:`\alpha` (or not at all where :math:`c = 0`), whatever the
    scale of the gradient: the step has the size of Adam's first steps, so Lion's lr is 3 to 10 times
    smaller than AdamW's, and its :math:`\lambda` as many times larger, for the same decay
    :math:`\alpha\lambda`. The state is one array (:math:`m`), half of Adam's.
    The step uses :math:`m` *before* this step's update, interpolated with :math:`\beta_1`; the
    stored :math:`m` is then updated with the other rate, :math:`\beta_2`.

    Parameters
    ----------
    lr : float
        Step size :math:`\alpha` (1e-4, lion-pytorch's default).
    beta1 : float
        The interpolation inside the sign.
    beta2 : float
        The decay rate of the momentum :math:`m` that is kept.
    weight_decay : float
        Decoupled decay :math:`\lambda`: the parameter is multiplied by :math:`1 - \alpha\lambda`
        before the step (0 by default, as in lion-pytorch; optax's default is 1e-3).

    State: ``m``.

    PyTorch: ``lion_pytorch.Lion(params, lr=1e-4, betas=(0.9, 0.99), weight_decay=0.0)`` (torch.optim has no Lion).
    optax: ``optax.lion(learning_rate, b1=0.9, b2=0.99, weight_decay=1e-3)``.
    Keras: ``keras.optimizers.Lion(learning_rate=1e-3, beta_1=0.9, beta_2=0.99)`` (not compared here).
    Reference: Chen et al. (2023), "Symbolic Discovery of Optimization Algorithms", Program 1.

    Examples
    --------
    >>> p, s = lion(np.array([1.0, 2.0]), np.array([0.5, -3.0]), {}, lr=0.1)
    >>> p
    array([0.9, 2.1])
    """
    m = state.get("m", 0.0)
    direction = np.sign(beta1 * m + (1.0 - beta1) * grad)
    decayed = param - (lr * weight_decay) * param if weight_decay else param
    return decayed - lr * direction, {"m": beta2 * m + (1.0 - beta2) * grad}


def _lerp(start, end, weight: float):
    """``start + weight·(end − start)``, torch's ``lerp`` (start may be the scalar 0 of an empty state)."""
    return start + weight * (end - start)


def _rms(x: np.ndarray) -> float:
    """The root mean square of every entry of ``x``: ``‖x‖₂ / √(size)``."""
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) if np.size(x) else 0.0


def adafactor(param, grad, state, *, lr=1e-2, beta2_decay=-0.8, eps1=None, eps2=1e-3, d=1.0, weight_decay=0.0):
    r"""Adafactor: a second moment stored as row and column averages, and a step relative to the parameter.

    With :math:`t \leftarrow t + 1` and :math:`w = t^{\,\text{beta2\_decay}}` (that is,
    :math:`1 - \hat\beta_{2,t}`: 1 at the first step, then smaller and smaller):

    .. math::
        \text{matrices:}\quad r &\leftarrow r + w\,(\mathrm{mean}_{\text{cols}}(g^2) - r), \quad
        c \leftarrow c + w\,(\mathrm{mean}_{\text{rows}}(g^2) - c), \quad
        \hat v = \frac{r\, c^\top}{\max(\mathrm{mean}(r), \epsilon_1)} \\
        \text{scalars, vectors:}\quad v &\leftarrow v + w\,(g^2 - v), \quad \hat v = v \\
        u &= g / \sqrt{\max(\hat v, \epsilon_1^2)}, \qquad
        \hat u = u / \max\!\big(1, \mathrm{RMS}(u)/d\big) \\
        p &\leftarrow p\,(1 - \alpha\lambda) - \max\!\big(\epsilon_2, \mathrm{RMS}(p)\big)\,
        \min\!\big(\alpha, 1/\sqrt{t}\big)\, \hat u

    A matrix of :math:`n \times k` keeps :math:`n + k` numbers of second moment instead of
    :math:`nk`: the rank-one :math:`r c^\top / \mathrm{mean}(r)` has the right row and column
    sums. A parameter of more dimensions is factored over its last two, one pair per leading index.
    No first moment is kept. The step is relative: :math:`\mathrm{RMS}(p)` (the parameter before
    the decay) times :math:`\rho_t = \min(\alpha, 1/\sqrt t)`, and the update's RMS is clipped to
    :math:`d`.

    Parameters
    ----------
    lr : float
        :math:`\alpha`, the cap of the relative step size :math:`\rho_t` (1e-2, the paper's and
        torch's default).
    beta2_decay : float
        The exponent of :math:`1 - \hat\beta_{2,t} = t^{\text{beta2\_decay}}` (≤ 0; -0.8).
    eps1 : float or None
        The floor of the second moment (:math:`\epsilon_1^2` under the square root, and
        :math:`\epsilon_1` under the mean of the rows). None, as in torch: the machine epsilon of
        the parameter's dtype. The paper adds :math:`\epsilon_1 = 10^{-30}` to :math:`g^2` instead.
    eps2 : float
        The smallest :math:`\mathrm{RMS}(p)` the step is relative to (1e-3), so that a parameter
        that starts at zero moves.
    d : float
        The clipping threshold of the update's RMS (1).
    weight_decay : float
        Decoupled decay :math:`\lambda`, scaled by :math:`\alpha` as in AdamW.

    State: ``t``; ``row`` (shape ``param.shape[:-1]``) and ``col`` (``param.shape[:-2] +
    param.shape[-1:]``) for parameters of two or more dimensions; ``v`` (the parameter's shape)
    for scalars and vectors. torch keeps ``row`` and ``col`` with a kept axis of size 1
    (``row_var``, ``col_var``); the numbers are the same.

    PyTorch: ``torch.optim.Adafactor(params, lr=1e-2, beta2_decay=-0.8, eps=(None, 1e-3), d=1.0)``.
    Keras: ``keras.optimizers.Adafactor(learning_rate=1e-3, beta_2_decay=-0.8, epsilon_1=1e-30, epsilon_2=1e-3)`` (not compared here).
    Reference: Shazeer & Stern (2018), "Adafactor: Adaptive Learning Rates with Sublinear Memory
    Cost", Algorithms 4 and 5, without the first moment (:math:`\beta_1 = 0`).
    """
    dtype = np.asarray(param).dtype
    eps1 = float(np.finfo(dtype).eps) if eps1 is None else eps1
    t = int(state.get("t", 0)) + 1
    w = float(t) ** beta2_decay
    alpha = max(eps2, _rms(param)) * min(lr, 1.0 / math.sqrt(t))
    decayed = param - (lr * weight_decay) * param if weight_decay else param
    g2 = grad * grad
    if np.ndim(param) >= 2:
        row = _lerp(state.get("row", 0.0), g2.mean(axis=-1), w)
        col = _lerp(state.get("col", 0.0), g2.mean(axis=-2), w)
        scale = np.maximum(row.mean(axis=-1), eps1)[..., None, None]
        v_hat = row[..., :, None] * col[..., None, :] / scale
        new_state = {"t": t, "row": row, "col": col}
    else:
        v = _lerp(state.get("v", 0.0), g2, w)
        v_hat = v
        new_state = {"t": t, "v": v}
    u = grad / np.sqrt(np.maximum(v_hat, eps1 * eps1))
    step = alpha / max(1.0, _rms(u) / d)
    return decayed - step * u, new_state
