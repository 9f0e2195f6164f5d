r"""The same update rules written as other papers and frameworks write them.

The reference rules in :mod:`optilab.kernels` follow PyTorch. The forms here are for
comparison in the lessons: each one is what a reader meets elsewhere, written out so its
difference from the reference rule can be computed, not just described.

* :func:`sutskever_momentum`: the learning rate inside the velocity (Sutskever et al. 2013;
  Keras's ``SGD(momentum=...)``).
* :func:`ema_momentum`: the velocity as a moving average of gradients (many textbooks).
* :func:`nesterov_lookahead`: Nesterov's method with the gradient taken at the look-ahead point.
* :func:`keras_rmsprop`: Keras's RMSProp, with :math:`\epsilon` inside the square root.
* :func:`adam_without_bias_correction`: Adam as it would be without its bias corrections.

The contract-shaped ones (all but :func:`nesterov_lookahead`, which needs a gradient *function*)
take ``(param, grad, state, *, lr, ...)`` and return ``(new_param, new_state)`` without
modifying their inputs, like every rule in :mod:`optilab.kernels`.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

__all__ = ["sutskever_momentum", "ema_momentum", "nesterov_lookahead", "keras_rmsprop", "adam_without_bias_correction"]

State = dict[str, Any]


def sutskever_momentum(param: np.ndarray, grad: np.ndarray, state: State, *, lr: float = 1e-2,
                       momentum: float = 0.9) -> tuple[np.ndarray, State]:
    r"""Heavy-ball momentum with the learning rate inside the velocity.

    .. math::
        u &\leftarrow \mu\, u - \alpha\, g \qquad (u_0 = 0) \\
        p &\leftarrow p + u

    For a constant :math:`\alpha` this is :func:`optilab.kernels.momentum` with
    :math:`u = -\alpha v`. Under a schedule it is not: :math:`u` still carries the steps taken
    with earlier (larger) :math:`\alpha`, while PyTorch's :math:`p \leftarrow p - \alpha_t v`
    rescales the whole velocity by the current :math:`\alpha_t`.

    State: ``velocity`` (:math:`u`, in units of parameter change).

    Keras: ``keras.optimizers.SGD(learning_rate, momentum)``.
    Reference: Sutskever, Martens, Dahl & Hinton (2013), "On the importance of initialization
    and momentum in deep learning", eq. (1)-(2).
    """
    u = momentum * state.get("velocity", 0.0) - lr * grad
    return param + u, {"velocity": u}


def ema_momentum(param: np.ndarray, grad: np.ndarray, state: State, *, lr: float = 1e-1,
                 momentum: float = 0.9) -> tuple[np.ndarray, State]:
    r"""Heavy-ball momentum with the velocity as a moving average of gradients.

    .. math::
        m &\leftarrow \mu\, m + (1 - \mu)\, g \qquad (m_0 = 0) \\
        p &\leftarrow p - \alpha\, m

    Here :math:`m = (1-\mu)\,v` for PyTorch's :math:`v`, so this is
    :func:`optilab.kernels.momentum` with learning rate :math:`(1-\mu)\,\alpha`, at every step and
    for any schedule (neither buffer contains :math:`\alpha`). It is Adam's first moment without
    bias correction.

    State: ``average`` (:math:`m`).
    """
    m = momentum * state.get("average", 0.0) + (1.0 - momentum) * grad
    return param - lr * m, {"average": m}


def nesterov_lookahead(param: np.ndarray, grad_at: Callable[[np.ndarray], np.ndarray], state: State, *,
                       lr: float = 1e-2, momentum: float = 0.9) -> tuple[np.ndarray, State]:
    r"""Nesterov's method as Sutskever et al. write it: the gradient is taken where momentum is about to carry us.

    .. math::
        u &\leftarrow \mu\, u - \alpha\, \nabla f(p + \mu u) \qquad (u_0 = 0) \\
        p &\leftarrow p + u

    The look-ahead point :math:`\tilde p = p + \mu u` is exactly the parameter that
    :func:`optilab.kernels.nesterov` (PyTorch's form) keeps, for a constant :math:`\alpha`:
    PyTorch stores :math:`\tilde p` so that it only ever needs the gradient at its own parameters.

    Parameters
    ----------
    param : ndarray
        :math:`p`.
    grad_at : callable
        ``grad_at(x)`` returns :math:`\nabla f(x)`; it is called once, at :math:`p + \mu u`.
    state : dict
        ``{}`` at the start, then what the last call returned (``velocity``: :math:`u`).
    lr, momentum : float
        :math:`\alpha` and :math:`\mu`.

    Reference: Sutskever, Martens, Dahl & Hinton (2013), eq. (3)-(4).
    """
    u = state.get("velocity", np.zeros_like(param))
    u = momentum * u - lr * np.asarray(grad_at(param + momentum * u))
    return param + u, {"velocity": u}


def keras_rmsprop(param: np.ndarray, grad: np.ndarray, state: State, *, lr: float = 1e-3,
                  rho: float = 0.9, eps: float = 1e-7) -> tuple[np.ndarray, State]:
    r"""RMSProp as Keras 3 computes it: other defaults, and :math:`\epsilon` inside the square root.

    .. math::
        s &\leftarrow \rho\, s + (1-\rho)\, g^2 \qquad (s_0 = 0) \\
        p &\leftarrow p - \alpha\, \frac{g}{\sqrt{s + \epsilon}}

    Compare :func:`optilab.kernels.rmsprop` (PyTorch): :math:`g / (\sqrt{s} + \epsilon)`,
    :math:`\rho = 0.99`, :math:`\epsilon = 10^{-8}`. With :math:`\epsilon` inside, a gradient
    smaller than about :math:`\sqrt{\epsilon/(1-\rho)}` gets a visibly smaller step.

    State: ``sq_avg`` (:math:`s`).

    Keras: ``keras.optimizers.RMSprop(learning_rate=1e-3, rho=0.9, epsilon=1e-7)``
    (``keras/src/optimizers/rmsprop.py``: ``increment = lr * g / sqrt(velocity + epsilon)``).

    Examples
    --------
    Keras's own docstring example: :math:`f = p^2/2` from :math:`p = 10` with ``learning_rate=0.1``.

    >>> p, s = keras_rmsprop(np.array(10.0), np.array(10.0), {}, lr=0.1)
    >>> print(f"{p:.6f}")
    9.683772
    """
    s = rho * state.get("sq_avg", 0.0) + (1.0 - rho) * grad * grad
    return param - lr * grad / np.sqrt(s + eps), {"sq_avg": s}


def adam_without_bias_correction(param: np.ndarray, grad: np.ndarray, state: State, *, lr: float = 1e-3,
                                 beta1: float = 0.9, beta2: float = 0.999,
                                 eps: float = 1e-8) -> tuple[np.ndarray, State]:
    r"""Adam with the bias corrections left out: the step uses :math:`m` and :math:`v` as they are.

    .. math::
        m &\leftarrow \beta_1 m + (1-\beta_1) g, \qquad
        v \leftarrow \beta_2 v + (1-\beta_2) g^2 \qquad (m_0 = v_0 = 0) \\
        p &\leftarrow p - \alpha\, \frac{m}{\sqrt{v} + \epsilon}

    Compare :func:`optilab.kernels.adam`, which divides :math:`m` by :math:`1-\beta_1^t` and
    :math:`v` by :math:`1-\beta_2^t`. Without that, step :math:`t` of a constant gradient is
    :math:`\alpha(1-\beta_1^t)/\sqrt{1-\beta_2^t}` instead of :math:`\alpha` (lesson 06).

    State: ``t``, ``m``, ``v``, as :func:`optilab.kernels.adam`'s.

    Examples
    --------
    The first step of a constant gradient is :math:`(1-\beta_1)/\sqrt{1-\beta_2} \approx 3.16` times :math:`\alpha`:

    >>> p, s = adam_without_bias_correction(np.array(0.0), np.array(1.0), {}, lr=1.0, eps=0.0)
    >>> print(f"{-p:.4f}")
    3.1623
    """
    t = int(state.get("t", 0)) + 1
    m = beta1 * state.get("m", 0.0) + (1.0 - beta1) * grad
    v = beta2 * state.get("v", 0.0) + (1.0 - beta2) * grad * grad
    return param - lr * m / (np.sqrt(v) + eps), {"t": t, "m": m, "v": v}
