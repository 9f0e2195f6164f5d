r"""The reference update rules.

Every rule follows one contract (CONTRACT.md at the root of the course)::

    new_param, new_state = rule(param, grad, state, *, lr=..., <hyperparameters>)

``param`` and ``grad`` are arrays of one shape and floating dtype; ``state`` is ``{}``
before the first step and afterwards whatever the rule returned last time. A rule
returns a *new* parameter array and a *new* state dict and never modifies its inputs.
Hyperparameters are keyword-only, and ``lr`` may change from call to call.

Symbols, as in the lessons: :math:`p` parameter, :math:`g` gradient, :math:`\alpha` (``lr``)
learning rate, :math:`\mu` momentum, :math:`\rho` and :math:`\beta_1, \beta_2` decay rates,
:math:`\epsilon` the constant that keeps a division finite, :math:`\lambda` weight decay,
:math:`t` the step count (1 after the first step).

Each rule agrees with ``torch.optim`` to float64 round-off (tests/test_torch_agreement.py), or, for
a rule torch.optim lacks, with the package its record names (lion-pytorch, schedulefree, optax);
Muon with torch's bfloat16 Newton–Schulz within a derived tolerance. NAdam, RAdam, Adadelta and
Yogi are written in :mod:`optilab.kernels_adaptive`, Lion, Adafactor, Muon and schedule-free AdamW
in :mod:`optilab.kernels_modern`; both are imported here, so every rule is ``optilab.kernels.<rule>``.
Extras beyond the contract (weight decay, dampening, centred RMSProp, AMSGrad) default
to values that reduce each rule to the contract's table.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from optilab import rules as _table

__all__ = [*_table.names(), "RULES"]

State = dict[str, Any]


def _l2(grad: np.ndarray, param: np.ndarray, weight_decay: float) -> np.ndarray:
    r"""Coupled (L2) weight decay: :math:`g \leftarrow g + \lambda p`, as torch.optim does it."""
    return grad + weight_decay * param if weight_decay else grad


def sgd(param, grad, state, *, lr=1e-2, weight_decay=0.0):
    r"""Plain (stochastic) gradient descent.

    .. math::  p \leftarrow p - \alpha\, g

    Parameters
    ----------
    lr : float
        Step size :math:`\alpha`.
    weight_decay : float
        L2 penalty :math:`\lambda`, added to the gradient as :math:`g + \lambda p`.

    State: none (the returned dict is a new, empty one).

    PyTorch: ``torch.optim.SGD(params, lr)`` (its default lr is 1e-3).
    Keras: ``keras.optimizers.SGD(learning_rate=0.01)``.
    Reference: Robbins & Monro (1951), "A Stochastic Approximation Method".

    Examples
    --------
    >>> p, s = sgd(np.array([1.0, 2.0]), np.array([0.5, -1.0]), {}, lr=0.1)
    >>> p
    array([0.95, 2.1 ])
    """
    g = _l2(grad, param, weight_decay)
    return param - lr * g, {}


def momentum(param, grad, state, *, lr=1e-2, momentum=0.9, dampening=0.0, weight_decay=0.0):
    r"""Gradient descent with heavy-ball momentum, in PyTorch's form.

    .. math::
        v &\leftarrow \mu\, v + g \qquad (v_0 = 0) \\
        p &\leftarrow p - \alpha\, v

    The velocity :math:`v` accumulates gradients without the learning rate in it, so a
    learning-rate schedule rescales the whole step at once. Two other forms are common:
    Sutskever et al. put :math:`\alpha` inside (:math:`v \leftarrow \mu v - \alpha g`,
    :math:`p \leftarrow p + v`), and some texts average (:math:`v \leftarrow \mu v + (1-\mu) g`).
    They agree with this one only for a constant :math:`\alpha` and after rescaling.

    Parameters
    ----------
    lr : float
        Step size :math:`\alpha`.
    momentum : float
        Momentum coefficient :math:`\mu \in [0, 1)`.
    dampening : float
        PyTorch's dampening :math:`d`: from the second step on, :math:`v \leftarrow \mu v + (1-d) g`
        (the first step sets :math:`v = g`, as in PyTorch).
    weight_decay : float
        L2 penalty :math:`\lambda`, added to the gradient.

    State: ``velocity`` (:math:`v`).

    PyTorch: ``torch.optim.SGD(params, lr, momentum=0.9)``.
    Keras: ``keras.optimizers.SGD(learning_rate, momentum=0.9)`` (Sutskever's form).
    Reference: Polyak (1964), "Some methods of speeding up the convergence of iteration methods".
    """
    g = _l2(grad, param, weight_decay)
    if "velocity" in state:
        v = momentum * state["velocity"] + (1.0 - dampening) * g
    else:
        v = g.copy()  # v = mu * 0 + g; PyTorch skips dampening on the first step
    return param - lr * v, {"velocity": v}


def nesterov(param, grad, state, *, lr=1e-2, momentum=0.9, weight_decay=0.0):
    r"""Nesterov's accelerated gradient, in PyTorch's form.

    .. math::
        v &\leftarrow \mu\, v + g \qquad (v_0 = 0) \\
        p &\leftarrow p - \alpha\,(g + \mu\, v)

    The step uses the gradient plus the *updated* velocity once more: a look-ahead written
    so that only the gradient at the current parameters is needed (Sutskever et al., 2013).

    Parameters
    ----------
    lr : float
        Step size :math:`\alpha`.
    momentum : float
        Momentum coefficient :math:`\mu \in [0, 1)`.
    weight_decay : float
        L2 penalty :math:`\lambda`, added to the gradient.

    State: ``velocity`` (:math:`v`).

    PyTorch: ``torch.optim.SGD(params, lr, momentum=0.9, nesterov=True)``.
    Keras: ``keras.optimizers.SGD(learning_rate, momentum=0.9, nesterov=True)``.
    Reference: Nesterov (1983); Sutskever, Martens, Dahl & Hinton (2013), "On the importance
    of initialization and momentum in deep learning".
    """
    g = _l2(grad, param, weight_decay)
    v = momentum * state.get("velocity", 0.0) + g
    return param - lr * (g + momentum * v), {"velocity": v}


def adagrad(param, grad, state, *, lr=1e-2, eps=1e-10, weight_decay=0.0):
    r"""AdaGrad: a per-parameter step that shrinks with the sum of squared gradients.

    .. math::
        s &\leftarrow s + g^2 \qquad (s_0 = 0) \\
        p &\leftarrow p - \alpha\, \frac{g}{\sqrt{s} + \epsilon}

    Because :math:`s` only grows, the effective step :math:`\alpha / (\sqrt{s}+\epsilon)` decays
    towards zero.

    Parameters
    ----------
    lr : float
        Step size :math:`\alpha`.
    eps : float
        :math:`\epsilon`, added after the square root.
    weight_decay : float
        L2 penalty :math:`\lambda`, added to the gradient.

    State: ``sum_sq`` (:math:`s`).

    PyTorch: ``torch.optim.Adagrad(params, lr=1e-2, eps=1e-10)``.
    Keras: ``keras.optimizers.Adagrad(learning_rate=1e-3, initial_accumulator_value=0.1, epsilon=1e-7)``.
    Reference: Duchi, Hazan & Singer (2011), "Adaptive Subgradient Methods for Online Learning
    and Stochastic Optimization".
    """
    g = _l2(grad, param, weight_decay)
    s = state.get("sum_sq", 0.0) + g * g
    return param - lr * g / (np.sqrt(s) + eps), {"sum_sq": s}


def rmsprop(param, grad, state, *, lr=1e-2, rho=0.99, eps=1e-8, momentum=0.0, centered=False,
            weight_decay=0.0):
    r"""RMSProp: divide by a moving average of squared gradients.

    .. math::
        s &\leftarrow \rho\, s + (1-\rho)\, g^2 \qquad (s_0 = 0) \\
        p &\leftarrow p - \alpha\, \frac{g}{\sqrt{s} + \epsilon}

    Parameters
    ----------
    lr : float
        Step size :math:`\alpha`.
    rho : float
        Decay rate :math:`\rho` of the average (PyTorch calls it ``alpha``).
    eps : float
        :math:`\epsilon`, added after the square root.
    momentum : float
        If nonzero, PyTorch's momentum on the scaled step:
        :math:`b \leftarrow \mu b + g/(\sqrt{s}+\epsilon)`, :math:`p \leftarrow p - \alpha b` (state ``momentum_buffer``).
    centered : bool
        If true, divide by an estimate of the variance instead: keep
        :math:`\bar g \leftarrow \rho \bar g + (1-\rho) g` (state ``grad_avg``) and use
        :math:`\sqrt{s - \bar g^2}` (Graves, 2013).
    weight_decay : float
        L2 penalty :math:`\lambda`, added to the gradient.

    State: ``sq_avg`` (:math:`s`), plus ``grad_avg`` and ``momentum_buffer`` when used.

    PyTorch: ``torch.optim.RMSprop(params, lr=1e-2, alpha=0.99, eps=1e-8)``.
    Keras: ``keras.optimizers.RMSprop(learning_rate=1e-3, rho=0.9, epsilon=1e-7)`` (ε differs too).
    Reference: Tieleman & Hinton (2012), Coursera "Neural Networks for Machine Learning", lecture 6.5.
    """
    g = _l2(grad, param, weight_decay)
    s = rho * state.get("sq_avg", 0.0) + (1.0 - rho) * g * g
    new_state = {"sq_avg": s}
    if centered:
        g_avg = rho * state.get("grad_avg", 0.0) + (1.0 - rho) * g
        new_state["grad_avg"] = g_avg
        scaled = g / (np.sqrt(s - g_avg * g_avg) + eps)
    else:
        scaled = g / (np.sqrt(s) + eps)
    if momentum:
        scaled = momentum * state.get("momentum_buffer", 0.0) + scaled
        new_state["momentum_buffer"] = scaled
    return param - lr * scaled, new_state


def adam(param, grad, state, *, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0,
         amsgrad=False):
    r"""Adam: momentum on the gradient, RMSProp on its square, both bias-corrected.

    .. math::
        t &\leftarrow t + 1 \\
        m &\leftarrow \beta_1 m + (1-\beta_1)\, g \qquad (m_0 = 0) \\
        v &\leftarrow \beta_2 v + (1-\beta_2)\, g^2 \qquad (v_0 = 0) \\
        \hat m &= m / (1-\beta_1^t), \qquad \hat v = v / (1-\beta_2^t) \\
        p &\leftarrow p - \alpha\, \frac{\hat m}{\sqrt{\hat v} + \epsilon}

    The bias corrections undo the pull towards the zero start: without them the first
    steps are :math:`(1-\beta_1)/\sqrt{1-\beta_2} \approx 3` times too large in a steady gradient.

    Parameters
    ----------
    lr : float
        Step size :math:`\alpha`.
    beta1, beta2 : float
        Decay rates of the first and second moment (PyTorch: ``betas=(beta1, beta2)``).
    eps : float
        :math:`\epsilon`, added after the square root of :math:`\hat v`.
    weight_decay : float
        L2 penalty :math:`\lambda`, added to the gradient (coupled; see :func:`adamw` for decoupled).
    amsgrad : bool
        If true, divide by the running maximum of :math:`v` (state ``v_max``) so the effective
        step never grows (Reddi, Kale & Kumar, 2018); see :func:`amsgrad`.

    State: ``t``, ``m``, ``v``, plus ``v_max`` with ``amsgrad=True``.

    PyTorch: ``torch.optim.Adam(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8)``.
    Keras: ``keras.optimizers.Adam(learning_rate=1e-3, beta_1=0.9, beta_2=0.999, epsilon=1e-7)``.
    Reference: Kingma & Ba (2015), "Adam: A Method for Stochastic Optimization".
    """
    g = _l2(grad, param, weight_decay)
    t = int(state.get("t", 0)) + 1
    m = beta1 * state.get("m", 0.0) + (1.0 - beta1) * g
    v = beta2 * state.get("v", 0.0) + (1.0 - beta2) * g * g
    new_state = {"t": t, "m": m, "v": v}
    if amsgrad:
        v = np.maximum(state.get("v_max", v), v)
        new_state["v_max"] = v
    m_hat = m / (1.0 - beta1**t)
    v_hat = v / (1.0 - beta2**t)
    return param - lr * m_hat / (np.sqrt(v_hat) + eps), new_state


def adamw(param, grad, state, *, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=1e-2,
          amsgrad=False):
    r"""AdamW: Adam with decoupled weight decay.

    .. math::
        p &\leftarrow p - \alpha\,\lambda\, p \\
        p &\leftarrow \text{the Adam step from } p \text{ with gradient } g

    The decay shrinks the parameter directly, scaled by :math:`\alpha` but not by Adam's
    per-parameter denominator. Adding :math:`\lambda p` to the gradient instead (L2, as
    :func:`adam` does with ``weight_decay``) lets the denominator weaken the decay exactly
    where gradients are large.

    Parameters
    ----------
    lr, beta1, beta2, eps, amsgrad
        As in :func:`adam`.
    weight_decay : float
        Decoupled decay rate :math:`\lambda`.

    State: ``t``, ``m``, ``v`` (and ``v_max`` with ``amsgrad=True``).

    PyTorch: ``torch.optim.AdamW(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2)``.
    Keras: ``keras.optimizers.AdamW(learning_rate=1e-3, weight_decay=4e-3, epsilon=1e-7)``.
    Reference: Loshchilov & Hutter (2019), "Decoupled Weight Decay Regularization".
    """
    decayed = param - lr * weight_decay * param
    return adam(decayed, grad, state, lr=lr, beta1=beta1, beta2=beta2, eps=eps, amsgrad=amsgrad)


def amsgrad(param, grad, state, *, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0):
    r"""AMSGrad: Adam that divides by the running maximum of the second moment.

    .. math::
        \hat v_{\max} \leftarrow \max(v_{\max}, v), \qquad
        p \leftarrow p - \alpha\, \frac{\hat m}{\sqrt{v_{\max}/(1-\beta_2^t)} + \epsilon}

    with :math:`t, m, v, \hat m` as in :func:`adam`. The maximum keeps the effective step from
    growing, which repairs Adam's non-convergence on the problem of Reddi et al.

    State: ``t``, ``m``, ``v``, ``v_max``.

    PyTorch: ``torch.optim.Adam(params, amsgrad=True)``. Keras: ``keras.optimizers.Adam(amsgrad=True)``.
    Reference: Reddi, Kale & Kumar (2018), "On the Convergence of Adam and Beyond".
    """
    return adam(param, grad, state, lr=lr, beta1=beta1, beta2=beta2, eps=eps,
                weight_decay=weight_decay, amsgrad=True)


def adamax(param, grad, state, *, lr=2e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0):
    r"""Adamax: Adam with the infinity norm of past gradients in place of the root mean square.

    .. math::
        t &\leftarrow t + 1 \\
        m &\leftarrow \beta_1 m + (1-\beta_1)\, g \qquad (m_0 = 0) \\
        u &\leftarrow \max(\beta_2\, u,\ |g| + \epsilon) \qquad (u_0 = 0) \\
        p &\leftarrow p - \frac{\alpha}{1-\beta_1^t}\, \frac{m}{u}

    :math:`u` is an exponentially weighted maximum of :math:`|g|`: it needs no bias correction
    (a maximum is not pulled towards its zero start the way an average is), and the step of each
    entry is at most about :math:`\alpha` whatever the scale of the gradients.

    Parameters
    ----------
    lr : float
        Step size :math:`\alpha` (2e-3, the paper's and PyTorch's default).
    beta1, beta2 : float
        Decay rates of the first moment and of the maximum (PyTorch: ``betas=(beta1, beta2)``).
    eps : float
        :math:`\epsilon`, added to :math:`|g|` inside the maximum, as PyTorch does, so that
        :math:`u > 0` (the paper has no ε).
    weight_decay : float
        L2 penalty :math:`\lambda`, added to the gradient.

    State: ``t``, ``m``, ``u``.

    PyTorch: ``torch.optim.Adamax(params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8)``.
    Keras: ``keras.optimizers.Adamax(learning_rate=1e-3, beta_1=0.9, beta_2=0.999, epsilon=1e-7)``.
    Reference: Kingma & Ba (2015), "Adam: A Method for Stochastic Optimization", section 7.1.
    """
    g = _l2(grad, param, weight_decay)
    t = int(state.get("t", 0)) + 1
    m = beta1 * state.get("m", 0.0) + (1.0 - beta1) * g
    u = np.maximum(beta2 * state.get("u", 0.0), np.abs(g) + eps)
    return param - (lr / (1.0 - beta1**t)) * m / u, {"t": t, "m": m, "u": u}


# The other adaptive rules and the rules of large models live in modules of their own; imported here,
# they are ``optilab.kernels.<rule>``.
from optilab.kernels_adaptive import adadelta, nadam, radam, yogi  # noqa: E402
from optilab.kernels_modern import adafactor, lion, muon, schedule_free_adamw  # noqa: E402

#: Every reference rule by name, in the order of the rule table (:mod:`optilab.rules`), which
#: holds each rule's other facts.
RULES: dict[str, Callable[..., tuple[np.ndarray, State]]] = {name: globals()[name] for name in _table.names()}
