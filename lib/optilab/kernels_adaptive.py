r"""More adaptive rules of torch.optim and optax: NAdam, RAdam, Adadelta and Yogi.

Each follows the update-rule contract (CONTRACT.md) and has one record in the rule table
(:mod:`optilab.rules`); :mod:`optilab.kernels` imports the functions, so ``optilab.kernels.nadam``
and ``optilab.RULES["nadam"]`` are these. Each agrees with the implementation named in its
docstring (tests/test_torch_agreement.py). Symbols as in :mod:`optilab.kernels`.
"""

from __future__ import annotations

import numpy as np

__all__ = ["nadam", "radam", "adadelta", "yogi"]


def _l2(grad, param, weight_decay):
    r"""Coupled (L2) weight decay: :math:`g \leftarrow g + \lambda p`, as torch.optim does it."""
    return grad + weight_decay * param if weight_decay else grad


def _mu(beta1: float, momentum_decay: float, t: int) -> float:
    r"""NAdam's momentum at step ``t``: :math:`\mu_t = \beta_1 (1 - \tfrac12\, 0.96^{t\psi})`."""
    return beta1 * (1.0 - 0.5 * 0.96 ** (t * momentum_decay))


def nadam(param, grad, state, *, lr=2e-3, beta1=0.9, beta2=0.999, eps=1e-8, momentum_decay=4e-3,
          weight_decay=0.0):
    r"""NAdam: Adam with Nesterov's look-ahead on the first moment, and a momentum that warms up.

    .. math::
        t &\leftarrow t + 1, \qquad \mu_t = \beta_1\big(1 - \tfrac12\, 0.96^{t\psi}\big), \qquad
        \Pi \leftarrow \Pi\, \mu_t \quad (\Pi_0 = 1) \\
        m &\leftarrow \beta_1 m + (1-\beta_1)\, g, \qquad v \leftarrow \beta_2 v + (1-\beta_2)\, g^2 \\
        p &\leftarrow p - \alpha\,\frac{1-\mu_t}{1-\Pi}\,\frac{g}{\sqrt{\hat v} + \epsilon}
              - \alpha\,\frac{\mu_{t+1}}{1-\Pi\,\mu_{t+1}}\,\frac{m}{\sqrt{\hat v} + \epsilon},
              \qquad \hat v = v / (1-\beta_2^t)

    The step mixes this step's gradient and the momentum as Nesterov's method does (the momentum
    weighted with the *next* step's :math:`\mu_{t+1}`). The product :math:`\Pi` of the momenta so far
    replaces Adam's :math:`1-\beta_1^t` in the bias correction. With :math:`\psi = 0.004` the
    momentum grows from :math:`\approx 0.45` towards :math:`\beta_1` over thousands of steps (Dozat's
    schedule, kept by torch and Keras).

    Parameters
    ----------
    lr : float
        Step size :math:`\alpha` (2e-3, torch's default).
    beta1, beta2 : float
        Decay rates of the first and second moment (torch: ``betas=(beta1, beta2)``).
    eps : float
        :math:`\epsilon`, added after the square root of :math:`\hat v`.
    momentum_decay : float
        :math:`\psi` of the momentum schedule (4e-3).
    weight_decay : float
        L2 penalty :math:`\lambda`, added to the gradient.

    State: ``t``, ``m``, ``v``, ``mu_product`` (:math:`\Pi`, a 0-d array of the parameter's dtype).

    PyTorch: ``torch.optim.NAdam(params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, momentum_decay=4e-3)``.
    Keras: ``keras.optimizers.Nadam(learning_rate=1e-3, beta_1=0.9, beta_2=0.999, epsilon=1e-7)`` (not compared here).
    Reference: Dozat (2016), "Incorporating Nesterov Momentum into Adam".
    """
    g = _l2(grad, param, weight_decay)
    t = int(state.get("t", 0)) + 1
    mu, mu_next = _mu(beta1, momentum_decay, t), _mu(beta1, momentum_decay, t + 1)
    product = float(state.get("mu_product", 1.0)) * mu
    m = beta1 * state.get("m", 0.0) + (1.0 - beta1) * g
    v = beta2 * state.get("v", 0.0) + (1.0 - beta2) * g * g
    denom = np.sqrt(v / (1.0 - beta2**t)) + eps
    new = param - (lr * (1.0 - mu) / (1.0 - product)) * g / denom \
        - (lr * mu_next / (1.0 - product * mu_next)) * m / denom
    return new, {"t": t, "m": m, "v": v, "mu_product": np.asarray(product, dtype=np.asarray(param).dtype)}


def radam(param, grad, state, *, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0):
    r"""RAdam: Adam whose adaptive step is switched on only once the variance of :math:`\hat v` is bounded.

    .. math::
        t &\leftarrow t + 1, \quad m \leftarrow \beta_1 m + (1-\beta_1)\, g, \quad
        v \leftarrow \beta_2 v + (1-\beta_2)\, g^2, \quad \hat m = m / (1-\beta_1^t) \\
        \rho_\infty &= \frac{2}{1-\beta_2} - 1, \qquad
        \rho_t = \rho_\infty - \frac{2 t \beta_2^t}{1-\beta_2^t} \\
        p &\leftarrow \begin{cases}
            p - \alpha\, r_t\, \hat m\, \dfrac{\sqrt{1-\beta_2^t}}{\sqrt{v} + \epsilon}, &
              r_t = \sqrt{\dfrac{(\rho_t-4)(\rho_t-2)\rho_\infty}{(\rho_\infty-4)(\rho_\infty-2)\rho_t}}
              \quad\text{if } \rho_t > 5 \\
            p - \alpha\, \hat m & \text{otherwise (SGD with momentum)}
        \end{cases}

    :math:`\rho_t` is the length of the average that :math:`v` approximates; while it is short
    (:math:`\rho_t \le 5`: the first 5 steps with :math:`\beta_2 = 0.999`), the adaptive step would
    have an unbounded variance, so RAdam takes plain momentum steps instead of a warm-up.

    Parameters
    ----------
    lr, beta1, beta2, weight_decay
        As in :func:`optilab.kernels.adam`.
    eps : float
        :math:`\epsilon`, added to :math:`\sqrt{v}` *before* the bias correction, as torch does
        (the same as :math:`\epsilon/\sqrt{1-\beta_2^t}` added to :math:`\sqrt{\hat v}`; Adam here adds it after).

    State: ``t``, ``m``, ``v``.

    PyTorch: ``torch.optim.RAdam(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8)``.
    Keras: none (Keras 3 has no RAdam).
    Reference: Liu et al. (2020), "On the Variance of the Adaptive Learning Rate and Beyond".
    """
    g = _l2(grad, param, weight_decay)
    t = int(state.get("t", 0)) + 1
    m = beta1 * state.get("m", 0.0) + (1.0 - beta1) * g
    v = beta2 * state.get("v", 0.0) + (1.0 - beta2) * g * g
    m_hat = m / (1.0 - beta1**t)
    correction2 = 1.0 - beta2**t
    rho_inf = 2.0 / (1.0 - beta2) - 1.0
    rho_t = rho_inf - 2.0 * t * beta2**t / correction2
    if rho_t > 5.0:
        rect = ((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
        new = param - m_hat * lr * (correction2**0.5 / (np.sqrt(v) + eps)) * rect
    else:
        new = param - m_hat * lr
    return new, {"t": t, "m": m, "v": v}


def adadelta(param, grad, state, *, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0):
    r"""Adadelta: RMSProp whose step has the units of the parameter, from an average of past steps.

    .. math::
        s &\leftarrow \rho\, s + (1-\rho)\, g^2 \qquad (s_0 = 0) \\
        \Delta &= \frac{\sqrt{u + \epsilon}}{\sqrt{s + \epsilon}}\; g \qquad (u_0 = 0) \\
        u &\leftarrow \rho\, u + (1-\rho)\, \Delta^2 \\
        p &\leftarrow p - \alpha\, \Delta

    The numerator :math:`\sqrt{u + \epsilon}` (an average of the squared steps *before* this one)
    replaces a learning rate: Zeiler's rule has none (:math:`\alpha = 1`), and :math:`\epsilon` sets
    the size of the first steps, :math:`\approx \sqrt{\epsilon / (1-\rho)}`. :math:`\epsilon` is added
    *inside* both square roots, as in the paper and torch.

    Parameters
    ----------
    lr : float
        :math:`\alpha`, a factor on the step (1.0: Zeiler's rule).
    rho : float
        Decay rate :math:`\rho` of both averages.
    eps : float
        :math:`\epsilon`, inside the square roots (1e-6).
    weight_decay : float
        L2 penalty :math:`\lambda`, added to the gradient.

    State: ``sq_avg`` (:math:`s`), ``delta_sq_avg`` (:math:`u`).

    PyTorch: ``torch.optim.Adadelta(params, lr=1.0, rho=0.9, eps=1e-6)``.
    Keras: ``keras.optimizers.Adadelta(learning_rate=1e-3, rho=0.95, epsilon=1e-7)`` (not compared here).
    Reference: Zeiler (2012), "ADADELTA: An Adaptive Learning Rate Method".
    """
    g = _l2(grad, param, weight_decay)
    s = rho * state.get("sq_avg", 0.0) + (1.0 - rho) * g * g
    u = state["delta_sq_avg"] if "delta_sq_avg" in state else np.zeros_like(s)  # an array: √(0.0 + ε) would be float64
    delta = np.sqrt(u + eps) / np.sqrt(s + eps) * g
    return param - lr * delta, {"sq_avg": s, "delta_sq_avg": rho * u + (1.0 - rho) * delta * delta}


def yogi(param, grad, state, *, lr=1e-2, beta1=0.9, beta2=0.999, eps=1e-3, initial=1e-6):
    r"""Yogi: Adam whose second moment moves towards :math:`g^2` by a fixed amount, never past it in one jump.

    .. math::
        t &\leftarrow t + 1 \\
        m &\leftarrow \beta_1 m + (1-\beta_1)\, g \\
        v &\leftarrow v - (1-\beta_2)\, \mathrm{sign}(v - g^2)\, g^2 \\
        p &\leftarrow p - \alpha\, \frac{m/(1-\beta_1^t)}{\sqrt{v/(1-\beta_2^t)} + \epsilon}
        \qquad (m_0 = v_0 = \text{initial} = 10^{-6})

    Adam's :math:`v - (1-\beta_2)(v - g^2)` moves :math:`v` by a fraction of :math:`v - g^2`: a burst
    of large gradients raises it quickly, and it falls as quickly. Yogi moves it by
    :math:`(1-\beta_2) g^2` in the direction of :math:`g^2`, so :math:`v` (and so the effective step)
    changes more slowly when :math:`v \gg g^2`.

    This is optax's Yogi (``optax.yogi``), which differs from the paper's Algorithm 2 in its
    start, its corrections and so where ε acts:

    - initialisation: optax starts both moments at ``initial`` = 1e-6 (its
      ``initial_accumulator_value``, as in the authors' TensorFlow code), where Algorithm 2 starts
      them at 0;
    - ε: Algorithm 2 takes no bias correction, :math:`p \leftarrow p - \alpha\, m/(\sqrt{v} + \epsilon)`,
      so its ε is added to the uncorrected :math:`\sqrt v`; optax divides both moments by
      :math:`1-\beta^t` as Adam does and adds ε to :math:`\sqrt{\hat v}` (the same as
      :math:`\epsilon\sqrt{1-\beta_2^t}` added to :math:`\sqrt v`: a far smaller ε in the first
      steps). Its default, :math:`10^{-3}`, is far larger than Adam's :math:`10^{-8}`: Yogi's ε is
      part of the method (it bounds the step by :math:`\alpha/\epsilon` times :math:`|\hat m|`),
      not only a guard against division by zero.

    Parameters
    ----------
    lr : float
        Step size :math:`\alpha` (optax has no default; 1e-2 here).
    beta1, beta2 : float
        Decay rates of the first and second moment (optax: ``b1``, ``b2``).
    eps : float
        :math:`\epsilon`, added after the square root (1e-3).
    initial : float
        The value both moments start at (optax's ``initial_accumulator_value``; > 0).

    State: ``t``, ``m``, ``v``.

    optax: ``optax.yogi(learning_rate, b1=0.9, b2=0.999, eps=1e-3)``.
    Reference: Zaheer, Reddi, Sachan, Kale & Kumar (2018), "Adaptive Methods for Nonconvex Optimization".
    """
    t = int(state.get("t", 0)) + 1
    m0 = state["m"] if "m" in state else np.full_like(param, initial)
    v0 = state["v"] if "v" in state else np.full_like(param, initial)
    m = beta1 * m0 + (1.0 - beta1) * grad
    g2 = grad * grad
    v = v0 - (1.0 - beta2) * np.sign(v0 - g2) * g2
    m_hat = m / (1.0 - beta1**t)
    v_hat = v / (1.0 - beta2**t)
    return param - lr * m_hat / (np.sqrt(v_hat) + eps), {"t": t, "m": m, "v": v}
