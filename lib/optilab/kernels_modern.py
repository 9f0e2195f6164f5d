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

__all__ = ["lion", "adafactor", "muon", "schedule_free_adamw", "NS_COEFFICIENTS"]


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


#: The quintic's coefficients (a, b, c) of Muon's Newton–Schulz iteration (Jordan et al., 2024; torch's default).
NS_COEFFICIENTS = (3.4445, -4.7750, 2.0315)


def _newton_schulz(matrix: np.ndarray, steps: int = 5, coefficients: tuple[float, float, float] = NS_COEFFICIENTS,
                  eps: float = 1e-7) -> np.ndarray:
    r"""Orthogonalise ``matrix`` approximately: :math:`U S' V^\top` for :math:`U S V^\top` its SVD, :math:`S' \approx I`.

    .. math::
        X \leftarrow M / \max(\lVert M \rVert_F, \epsilon), \qquad
        X \leftarrow a X + (b A + c A^2) X \quad\text{with } A = X X^\top, \quad \text{``steps`` times}

    Each iteration applies the odd polynomial :math:`\varphi(\sigma) = a\sigma + b\sigma^3 + c\sigma^5` to
    every singular value :math:`\sigma` of :math:`X` and keeps its singular vectors. Dividing by the
    Frobenius norm puts every :math:`\sigma` in :math:`[0, 1]`; the coefficients make
    :math:`\varphi` steep at 0 (:math:`a \approx 3.4`), so five iterations take every
    :math:`\sigma` that is not tiny into about :math:`[0.7, 1.2]`, not exactly to 1. A tall matrix is
    transposed first, so that :math:`A` is the smaller Gram matrix. Computed in the matrix's dtype
    (torch.optim.Muon computes it in bfloat16).
    """
    a, b, c = coefficients
    x = np.asarray(matrix)
    tall = x.shape[0] > x.shape[1]
    if tall:
        x = x.T
    x = x / max(float(np.linalg.norm(x)), eps)
    for _ in range(steps):
        gram = x @ x.T
        x = a * x + (b * gram + c * (gram @ gram)) @ x
    return x.T if tall else x


def muon(param, grad, state, *, lr=1e-3, momentum=0.95, weight_decay=0.1, nesterov=True, ns_steps=5):
    r"""Muon: momentum, orthogonalised by Newton–Schulz, for matrix parameters only.

    .. math::
        m &\leftarrow \mu\, m + (1-\mu)\, g \qquad (m_0 = 0) \\
        B &= (1-\mu)\, g + \mu\, m \quad\text{(Nesterov; } B = m \text{ without)} \\
        O &= \mathrm{NS}_5(B) \quad\text{(:func:`_newton_schulz`: } B\text{'s singular values set to about 1)} \\
        p &\leftarrow p\,(1 - \alpha\lambda) - \alpha \sqrt{\max(1, n_\text{rows}/n_\text{cols})}\; O

    The step has the singular vectors of the momentum but (nearly) equal singular values: every
    direction the momentum points in moves by about the same amount, the rare ones as much as the
    common ones. The factor :math:`\sqrt{\max(1, \text{rows}/\text{cols})}` keeps the RMS of the
    step of a tall matrix like that of a wide one. The momentum is an average (torch's ``lerp``),
    not PyTorch SGD's buffer :math:`\mu m + g`.

    Only matrices: a parameter of any other shape is a ``ValueError`` (CONTRACT.md, "Rules that do
    not fit one array"); Muon's recipe trains biases, gains and embeddings with AdamW
    (:func:`optilab.kernels.adamw`), and each parameter of a model chooses its rule.

    Parameters
    ----------
    lr : float
        Step size :math:`\alpha` (1e-3, torch's default).
    momentum : float
        :math:`\mu` (0.95).
    weight_decay : float
        Decoupled decay :math:`\lambda` (0.1, torch's default), scaled by :math:`\alpha`.
    nesterov : bool
        Orthogonalise :math:`(1-\mu) g + \mu m` (True) or :math:`m`.
    ns_steps : int
        Iterations of Newton–Schulz (5).

    State: ``m``.

    PyTorch: ``torch.optim.Muon(params, lr=1e-3, weight_decay=0.1, momentum=0.95)``. torch runs
    Newton–Schulz in bfloat16 (8 significant bits), this rule in the parameter's dtype: they agree
    within the tolerance derived in tests/test_torch_agreement.py, not to round-off.
    Keras: ``keras.optimizers.Muon`` (Keras 3.10; not compared here).
    Reference: Jordan et al. (2024), "Muon: An optimizer for hidden layers in neural networks";
    Liu et al. (2025), "Muon is Scalable for LLM Training".
    """
    if np.ndim(param) != 2:
        raise ValueError(f"muon takes matrices (2-d parameters) only, and this parameter has shape "
                         f"{np.shape(param)}: train it with another rule, e.g. adamw (Muon's recipe uses AdamW "
                         "for biases, gains and embeddings)")
    m = state.get("m", 0.0)
    m = m + (1.0 - momentum) * (grad - m)
    direction = grad + momentum * (m - grad) if nesterov else m
    rows, cols = np.shape(param)
    ortho = _newton_schulz(direction, ns_steps).astype(np.asarray(param).dtype, copy=False)
    decayed = param - (lr * weight_decay) * param if weight_decay else param
    return decayed - (lr * max(1.0, rows / cols) ** 0.5) * ortho, {"m": m}


def schedule_free_adamw(param, grad, state, *, lr=2.5e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0,
                        warmup_steps=0, r=0.0, weight_lr_power=2.0):
    r"""Schedule-free AdamW: no learning-rate schedule, an average of the iterates instead.

    Three sequences: :math:`z` takes AdamW's steps with a constant lr, :math:`x` is a weighted average
    of the :math:`z`\ s (the model to evaluate), and the gradient is taken at :math:`y`, between them:

    .. math::
        t &\leftarrow t + 1, \qquad \gamma = \alpha \min(1, t/\text{warmup}), \qquad
        \gamma_{\max} \leftarrow \max(\gamma_{\max}, \gamma) \\
        v &\leftarrow \beta_2 v + (1-\beta_2)\, g^2, \qquad
        u = \frac{g}{\sqrt{v/(1-\beta_2^t)} + \epsilon} + \lambda\, y \\
        z &\leftarrow z - \gamma\, u \\
        w_t &= t^{\,r}\, \gamma_{\max}^{\text{power}}, \qquad W \leftarrow W + w_t, \qquad c = w_t / W \\
        x &\leftarrow (1 - c)\, x + c\, z \\
        y &\leftarrow (1-\beta_1)\, z + \beta_1\, x \qquad\text{(returned as the new parameter)}

    with :math:`y` the parameter given (where ``grad`` was taken) and :math:`x_0 = z_0 = y_0`. With
    a constant lr, :math:`c = 1/t`: :math:`x` is the plain average of every :math:`z` so far.
    :math:`\beta_1` plays momentum's part, as the interpolation between :math:`z` and :math:`x`.

    The rule returns :math:`y`, so a training loop runs it unchanged (CONTRACT.md, "Rules that do
    not fit one array": an evaluation point apart from the returned parameter). Report losses,
    validation and the final model at ``state["x"]``, the rule table's ``evaluate_at``.
    schedulefree's optimizer keeps :math:`y` in the parameter and :math:`x` implicit
    (:math:`x = (y - (1-\beta_1) z)/\beta_1`, what its ``eval()`` switches to); here :math:`x` is a
    state entry, and the step reads it (and :math:`z`) from the state, as the paper writes the method.

    Parameters
    ----------
    lr : float
        :math:`\alpha` (2.5e-3, schedulefree's default), constant: the method replaces the schedule.
    beta1 : float
        The interpolation :math:`\beta_1` between :math:`z` and :math:`x` (0.9).
    beta2, eps : float
        As in Adam (ε added after the square root of the bias-corrected :math:`v`).
    weight_decay : float
        :math:`\lambda`, applied at :math:`y` and added to the normalised gradient (as schedulefree).
    warmup_steps : int
        Linear warm-up of the lr over this many steps (0: none), inside the rule as in schedulefree.
    r, weight_lr_power : float
        The weights of the average, :math:`w_t = t^r \gamma_{\max}^{\text{power}}` (0 and 2).

    State: ``t``, ``z``, ``x``, ``v``, ``weight_sum`` (:math:`W`) and ``lr_max``
    (:math:`\gamma_{\max}`), the last two 0-d arrays of the parameter's dtype. That is three arrays of
    the parameter's shape where schedulefree keeps two (:math:`z`, :math:`v`, with :math:`x` implicit
    in the parameter): the contract keeps the point to evaluate in the state.

    PyTorch: ``schedulefree.AdamWScheduleFree(params, lr=0.0025, betas=(0.9, 0.999), eps=1e-8, weight_decay=0)`` (torch.optim has none).
    optax: ``optax.contrib.schedule_free_adamw`` (not compared here).
    Reference: Defazio, Yang, Mehta, Mishchenko, Khaled & Cutkosky (2024), "The Road Less
    Scheduled".
    """
    dtype = np.asarray(param).dtype
    k = int(state.get("t", 0))
    t = k + 1
    gamma = lr * (t / warmup_steps if k < warmup_steps else 1.0)
    lr_max = max(gamma, float(state.get("lr_max", -1.0)))
    weight = t**r * lr_max**weight_lr_power
    weight_sum = float(state.get("weight_sum", 0.0)) + weight
    c = weight / weight_sum if weight_sum else 0.0
    z = state["z"] if "z" in state else param
    x = state["x"] if "x" in state else param
    v = beta2 * state.get("v", 0.0) + (1.0 - beta2) * grad * grad
    u = grad / (np.sqrt(v / (1.0 - beta2**t)) + eps)
    if weight_decay:
        u = u + weight_decay * param
    z = z - gamma * u
    x = x + c * (z - x)
    y = (1.0 - beta1) * z + beta1 * x
    return y, {"t": t, "z": z, "x": x, "v": v, "weight_sum": np.asarray(weight_sum, dtype=dtype),
               "lr_max": np.asarray(lr_max, dtype=dtype)}
