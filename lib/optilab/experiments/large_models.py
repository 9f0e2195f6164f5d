r"""Lesson 09's experiments: the optimizers of large models.

* :func:`sign_steps` — Lion's sign step against Adam's on gradients of every signal-to-noise
  ratio: how long the steps are and how much of them goes the right way.
* :func:`state_layout`, :func:`state_bytes`, :func:`memory_table` — the bytes of optimizer state
  of every rule of the rule table, read from the state each rule actually returns, for one
  matrix and for GPT-2 (:func:`gpt2_shapes`).
* :func:`factored` and :func:`factored_errors` — Adafactor's rank-one estimate of a matrix of
  squared gradients from its row and column sums.
* :func:`newton_schulz`, :func:`singular_value_map`, :data:`NS_COEFFICIENTS` — Muon's
  orthogonalisation, on a matrix and on each singular value.
* :func:`kronecker_problem`, :func:`preconditioners`, :func:`condition_numbers`,
  :func:`preconditioned_runs` — AdaGrad's full and diagonal preconditioners, Shampoo's Kronecker
  factors and SOAP's rotated diagonal, computed on a small matrix problem.
* :func:`digits_splits`, :func:`train_mlp`, :func:`comparison` — the MLP on the digits, trained
  with one rule per parameter (Muon on the hidden matrices, AdamW on the rest), several seeds, the
  learning rate chosen on a validation split, the result reported on a test split.
  :func:`comparison` takes minutes; ``lessons/09_large_models_runs.py`` runs it and commits its
  results (``lessons/09_large_models_runs.json``), which :func:`load_comparison` reads.

Every number comes from running the rules of :mod:`optilab.kernels`, except Shampoo and SOAP,
which the lesson computes "on paper" here (they are not rules of the library).
"""

from __future__ import annotations

import functools
import json
import math
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from optilab import data, kernels, kernels_modern, memory, models, schedules
from optilab import rules as _table

__all__ = [
    "rule_named",
    "schedule_free_rule",
    "matrix_rule",
    "sign_steps",
    "lion_sign_agreement",
    "SNRS",
    "rms_noise_step",
    "state_layout",
    "state_bytes",
    "bytes_per_parameter",
    "gpt2_shapes",
    "memory_table",
    "factored",
    "factored_errors",
    "squared_gradients",
    "NS_COEFFICIENTS",
    "newton_schulz",
    "singular_value_map",
    "layer_gradient",
    "kronecker_problem",
    "preconditioners",
    "condition_numbers",
    "preconditioned_runs",
    "PRECONDITIONER_MEMORY",
    "T95",
    "interval",
    "digits_splits",
    "SIZES",
    "train_mlp",
    "GRIDS",
    "comparison",
    "load_comparison",
    "summary",
    "paired_difference",
    "curves",
]


# -- the rules ---------------------------------------------------------------------------------------
def rule_named(name: str) -> Callable[..., tuple[np.ndarray, dict]]:
    """The reference rule ``optilab.kernels.<name>``, with a clear error when the library lacks it."""
    function = getattr(kernels, name, None)
    if function is None:
        raise LookupError(f"optilab.kernels has no rule {name!r}; the rules it has are {', '.join(kernels.RULES)}")
    return function


def schedule_free_rule() -> str:
    """The name of the rule table's schedule-free rule (the record with an ``evaluate_at``)."""
    found = [rule.name for rule in _table.TABLE if rule.evaluate_at]
    if not found:
        raise LookupError("the rule table has no schedule-free rule (no record with evaluate_at)")
    return found[0]


def matrix_rule() -> str:
    """The name of the rule table's matrix-only rule (Muon)."""
    found = [rule.name for rule in _table.TABLE if rule.params == "matrix"]
    if not found:
        raise LookupError("the rule table has no matrix-only rule (no record with params='matrix')")
    return found[0]


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


# -- memory ----------------------------------------------------------------------------------------
_PROBE_MATRIX, _PROBE_VECTOR = (3, 5), (7,)


def _probe_state(rule: Callable, shape: tuple[int, ...]) -> dict | None:
    """The rule's state after two steps on a parameter of ``shape``; None if the rule refuses the shape."""
    rng = np.random.default_rng(0)
    param, state = rng.standard_normal(shape), {}
    try:
        for _ in range(2):
            param, state = rule(param, rng.standard_normal(shape), state)
    except ValueError:
        return None
    return state


def _kind(value: Any, shape: tuple[int, ...]) -> str | None:
    """Which part of a parameter of ``shape`` a state entry is the size of, read from its shape."""
    if not isinstance(value, np.ndarray):
        return None  # the step count t, a Python number
    if value.shape == shape:
        return "param"
    if value.ndim == 0:
        return "scalar"
    if len(shape) >= 2 and value.shape == shape[:-1]:
        return "rows"
    if len(shape) >= 2 and value.shape == shape[:-2] + shape[-1:]:
        return "cols"
    raise ValueError(f"a state entry of shape {value.shape} for a parameter of shape {shape} is none of "
                     "the contract's shapes (param, rows, cols, scalar)")


def state_layout(rule: Callable | str) -> dict[str, tuple[str, ...] | None]:
    r"""What a rule keeps, read from the state it returns after two steps on a matrix and on a vector.

    Returns
    -------
    dict
        ``{"matrix": kinds, "vector": kinds}``, each a tuple of the state entries' kinds:
        ``"param"`` (an array the size of the parameter), ``"rows"``/``"cols"`` (one number per row
        or column: Adafactor's factored moments), ``"scalar"``; None when the rule refuses that
        shape (Muon takes matrices only).

    >>> state_layout("adam")
    {'matrix': ('param', 'param'), 'vector': ('param', 'param')}
    """
    function = rule_named(rule) if isinstance(rule, str) else rule
    out: dict[str, tuple[str, ...] | None] = {}
    for label, shape in (("matrix", _PROBE_MATRIX), ("vector", _PROBE_VECTOR)):
        state = _probe_state(function, shape)
        out[label] = None if state is None else tuple(k for k in (_kind(v, shape) for v in state.values()) if k)
    return out


def _numbers(kinds: Sequence[str], shape: tuple[int, ...]) -> int:
    size = int(np.prod(shape))
    rows = int(np.prod(shape[:-1])) if len(shape) >= 2 else 0
    cols = int(np.prod(shape[:-2] + shape[-1:])) if len(shape) >= 2 else 0
    return sum({"param": size, "rows": rows, "cols": cols, "scalar": 1}[k] for k in kinds)


def state_bytes(rule: Callable | str, shapes: Sequence[tuple[int, ...]], dtype: Any = np.float32,
                fallback: str | None = None) -> int:
    r"""Bytes of the rule's state for parameters of ``shapes`` stored as ``dtype``.

    The layout of :func:`state_layout` (measured on small arrays) applied to each shape: a
    matrix of :math:`r \times c` costs :math:`rc` numbers per ``"param"`` entry and :math:`r` or
    :math:`c` per factored one. Parameters the rule refuses (vectors for Muon) are counted under
    ``fallback`` instead (Muon's recipe: ``"adamw"``); without one they are an error.
    """
    layout = state_layout(rule)
    fallback_layout = state_layout(fallback) if fallback else None
    itemsize = np.dtype(dtype).itemsize
    total = 0
    for shape in shapes:
        shape = tuple(int(s) for s in shape)
        kinds = layout["matrix" if len(shape) >= 2 else "vector"]
        if kinds is None:
            if fallback_layout is None:
                raise ValueError(f"{rule} refuses parameters of shape {shape}; say which rule steps them (fallback=)")
            kinds = fallback_layout["matrix" if len(shape) >= 2 else "vector"]
        total += _numbers(kinds, shape) * itemsize
    return total


def bytes_per_parameter(rule: Callable | str, shape: tuple[int, ...], dtype: Any = np.float32) -> float:
    """Bytes of state per number of one parameter of ``shape``."""
    return state_bytes(rule, [shape], dtype) / int(np.prod(shape))


def gpt2_shapes(n_layer: int = 12, d_model: int = 768, vocab: int = 50257, n_ctx: int = 1024,
                ) -> dict[str, list[tuple[int, ...]]]:
    r"""GPT-2's parameter shapes (:func:`optilab.memory.gpt2_shapes`), in the three groups Muon's recipe tells apart.

    Returns
    -------
    dict
        ``"embeddings"`` (the token and position tables, which AdamW steps), ``"matrices"`` (the blocks'
        weight matrices, which Muon steps), ``"vectors"`` (biases and layer-norm gains).
    """
    shapes = memory.gpt2_shapes(n_layer, d_model, vocab, n_ctx)
    embeddings, rest = shapes[:2], shapes[2:]
    return {"embeddings": embeddings, "matrices": [s for s in rest if len(s) == 2],
            "vectors": [s for s in rest if len(s) == 1]}


def memory_table(rules: Sequence[str] | None = None, *, matrix: tuple[int, int] = (768, 3072),
                 gpt2: Mapping[str, int] | None = None, dtype: Any = np.float32) -> list[dict[str, Any]]:
    r"""One row per rule: bytes of state per parameter on one ``matrix`` and on GPT-2.

    A rule that takes matrices only (Muon) steps GPT-2's blocks' matrices, and AdamW steps the
    rest (embeddings, biases, gains), as Muon's authors do.

    Returns
    -------
    list of dict
        ``rule``, ``layout`` (:func:`state_layout`), ``matrix bytes/param``, ``gpt2 bytes``,
        ``gpt2 bytes/param``.
    """
    names = list(rules) if rules is not None else list(_table.names())
    shapes = gpt2_shapes(**dict(gpt2 or memory.GPT2_SIZES["small"]))
    everything = shapes["embeddings"] + shapes["matrices"] + shapes["vectors"]
    n = sum(int(np.prod(s)) for s in everything)
    rows = []
    for name in names:
        layout = state_layout(name)
        if layout["vector"] is None:  # matrix-only: Muon on the blocks, AdamW on the rest
            gpt2_bytes = (state_bytes(name, shapes["matrices"], dtype)
                          + state_bytes("adamw", shapes["embeddings"] + shapes["vectors"], dtype))
        else:
            gpt2_bytes = state_bytes(name, everything, dtype)
        rows.append({"rule": name, "layout": layout,
                     "matrix bytes/param": state_bytes(name, [matrix], dtype) / (matrix[0] * matrix[1]),
                     "gpt2 bytes": gpt2_bytes, "gpt2 bytes/param": gpt2_bytes / n})
    return rows


# -- Adafactor's factored second moment ---------------------------------------------------------------
def factored(V: np.ndarray) -> np.ndarray:
    r"""Adafactor's estimate of a non-negative matrix from its row and column sums.

    .. math:: \hat V = \frac{R\, C^\top}{\mathbf 1^\top R}, \qquad R = V\mathbf 1, \quad C = V^\top \mathbf 1

    It keeps :math:`r + c` numbers instead of :math:`rc`, and is exact when :math:`V` has rank one
    (Shazeer & Stern, 2018, section 3).
    """
    V = np.asarray(V, dtype=float)
    if V.ndim != 2 or np.any(V < 0):
        raise ValueError(f"factored needs a non-negative matrix; got shape {V.shape}")
    R, C = V.sum(axis=1), V.sum(axis=0)
    return np.outer(R, C) / R.sum()


def squared_gradients(layer: str = "W1", batches: int = 40, batch_size: int = 64, seed: int = 0) -> np.ndarray:
    r"""The mean of :math:`g^2` of one weight matrix of the lesson's MLP at its initial parameters,
    over ``batches`` minibatches of the digits: the :math:`v` that Adam would keep for it."""
    net, (X, y), _, _ = models.MLP(SIZES, activation="tanh"), *digits_splits()
    params = net.init(seed)
    rng = np.random.default_rng(seed)
    total = np.zeros_like(params[layer])
    for _ in range(batches):
        idx = rng.choice(len(X), batch_size, replace=False)
        _, grads = net.loss_and_grads(params, X[idx], y[idx])
        total += grads[layer] ** 2
    return total / batches


def factored_errors(V: np.ndarray) -> dict[str, float]:
    r"""How far Adafactor's :func:`factored` estimate is from ``V``, and what the preconditioner sees.

    Returns
    -------
    dict
        ``"relative error"``: :math:`\|\hat V - V\|_F/\|V\|_F`; ``"step ratio median"`` and
        ``"step ratio 90%"``: the median and 90th percentile, over the entries, of
        :math:`\max(r, 1/r)` with :math:`r = \sqrt{V/\hat V}`, by how much the factored step
        :math:`g/\sqrt{\hat V}` differs from the full one :math:`g/\sqrt{V}`;
        ``"numbers kept"`` and ``"numbers full"``.
    """
    V = np.asarray(V, dtype=float)
    estimate = factored(V)
    ratio = np.sqrt(V / estimate)
    ratio = np.maximum(ratio, 1.0 / ratio)
    return {"relative error": float(np.linalg.norm(estimate - V) / np.linalg.norm(V)),
            "step ratio median": float(np.median(ratio)), "step ratio 90%": float(np.quantile(ratio, 0.9)),
            "numbers kept": int(sum(V.shape)), "numbers full": int(V.size)}


# -- Muon's Newton–Schulz orthogonalisation ------------------------------------------------------------
#: Odd polynomials :math:`\varphi(\sigma) = a\sigma + b\sigma^3 + c\sigma^5` iterated on the singular values.
NS_COEFFICIENTS: dict[str, tuple[float, float, float]] = {
    "Muon's quintic (3.4445, −4.7750, 2.0315)": tuple(kernels_modern.NS_COEFFICIENTS),
    "cubic Newton–Schulz (1.5, −0.5, 0)": (1.5, -0.5, 0.0),
}


def newton_schulz(G: np.ndarray, steps: int = 5,
                  coefficients: tuple[float, float, float] = kernels_modern.NS_COEFFICIENTS,
                  eps: float = 1e-7) -> np.ndarray:
    r"""Muon's approximate orthogonalisation of a matrix: :math:`U\,\varphi^{k}(\Sigma)\,V^\top` for :math:`G = U\Sigma V^\top`.

    Scale :math:`X = G/\max(\|G\|_F, \epsilon)` so every singular value is at most 1, then ``steps``
    times :math:`A = XX^\top`, :math:`X \leftarrow aX + (bA + cA^2)X`, which applies
    :math:`\varphi(\sigma) = a\sigma + b\sigma^3 + c\sigma^5` to every singular value and keeps the
    singular vectors. A tall matrix is iterated transposed (so that :math:`A` is the smaller Gram
    matrix), as :func:`optilab.kernels.muon` does; with Muon's coefficients this is the direction of
    its step (tests/test_experiments_large_models.py checks it).
    """
    G = np.asarray(G, dtype=float)
    if G.ndim != 2:
        raise ValueError(f"newton_schulz needs a matrix; got shape {G.shape}")
    a, b, c = coefficients
    tall = G.shape[0] > G.shape[1]
    X = (G.T if tall else G) / max(float(np.linalg.norm(G)), eps)
    for _ in range(int(steps)):
        A = X @ X.T
        X = a * X + (b * A + c * A @ A) @ X
    return X.T if tall else X


def singular_value_map(sigma: np.ndarray, steps: int, coefficients: tuple[float, float, float]) -> np.ndarray:
    r""":math:`\varphi^{k}(\sigma)`: what ``steps`` Newton–Schulz iterations do to singular values ``sigma``."""
    a, b, c = coefficients
    s = np.asarray(sigma, dtype=float).copy()
    for _ in range(int(steps)):
        s = a * s + b * s**3 + c * s**5
    return s


@functools.lru_cache(maxsize=4)
def layer_gradient(layer: str = "W1", seed: int = 0) -> np.ndarray:
    """The gradient of one weight matrix of the lesson's MLP at its initial parameters, on the whole training split."""
    net, (X, y), _, _ = models.MLP(SIZES, activation="tanh"), *digits_splits()
    _, grads = net.loss_and_grads(net.init(seed), X, y)
    return grads[layer]


# -- preconditioning: AdaGrad, Shampoo, SOAP on paper ---------------------------------------------------
def _rotation(n: int, angle: float, rng: np.random.Generator) -> np.ndarray:
    """An orthogonal matrix that is the identity at ``angle`` 0 and a random rotation at 1."""
    Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    if np.linalg.det(Q) < 0:
        Q[:, 0] = -Q[:, 0]
    w, U = np.linalg.eig(Q)  # Q = U diag(e^{iθ}) U^H; a fraction of each angle
    return np.real(U @ np.diag(np.exp(1j * float(angle) * np.angle(w))) @ U.conj().T)


def kronecker_problem(m: int = 6, n: int = 4, kappa: tuple[float, float] = (100.0, 30.0), rotation: float = 1.0,
                      seed: int = 0) -> dict[str, np.ndarray]:
    r"""A matrix least-squares problem whose Hessian is a Kronecker product.

    :math:`f(W) = \tfrac12 \operatorname{tr}\big((W - W^\star)^\top A\, (W - W^\star)\, B\big)` for
    :math:`W \in \mathbb R^{m\times n}`, with gradient :math:`G = A(W - W^\star)B` and Hessian
    :math:`H = B \otimes A` (acting on :math:`\operatorname{vec} W`, columns stacked). :math:`A` and
    :math:`B` have eigenvalues spread log-evenly over ``kappa`` (their condition numbers) and
    eigenvectors turned by ``rotation`` (0: the coordinate axes, 1: a random rotation).

    Returns
    -------
    dict
        ``A``, ``B``, ``H``, ``W_star``.
    """
    rng = np.random.default_rng(seed)
    factors = []
    for size, k in zip((m, n), kappa):
        Q = _rotation(size, rotation, rng)
        factors.append(Q @ np.diag(np.logspace(0, math.log10(k), size)[::-1]) @ Q.T)
    A, B = factors
    return {"A": A, "B": B, "H": np.kron(B, A), "W_star": rng.standard_normal((m, n))}


def _power(S: np.ndarray, exponent: float) -> np.ndarray:
    w, U = np.linalg.eigh((S + S.T) / 2)
    return (U * np.maximum(w, 0.0) ** exponent) @ U.T


def preconditioners(problem: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    r"""Each method's preconditioner :math:`P` (the step is :math:`-\eta P^{-1} g`), from the gradients' statistics.

    The gradients are :math:`G = A E B` with :math:`E` of independent standard normal entries (the
    iterate at random distances from :math:`W^\star`); the statistics the methods accumulate are
    taken in expectation: :math:`E[gg^\top] = H^2`, :math:`L = E[GG^\top] = \operatorname{tr}(B^2)A^2`,
    :math:`R = E[G^\top G] = \operatorname{tr}(A^2) B^2`.

    * ``"gradient descent"``: :math:`P = I`.
    * ``"diagonal AdaGrad"``: :math:`P = \operatorname{diag}(E[g^2])^{1/2}`, what AdaGrad, RMSProp
      and Adam divide by.
    * ``"Shampoo, exponent ¼"``: :math:`P = R^{1/4} \otimes L^{1/4}`, the step
      :math:`L^{-1/4} G R^{-1/4}` of Gupta, Koren & Singer (2018).
    * ``"Shampoo, exponent ½"``: :math:`P = R^{1/2} \otimes L^{1/2}`, the exponent for which the
      Kronecker product approximates :math:`E[gg^\top]^{1/2}` (Morwani et al., 2024); on this problem
      it equals it up to a constant.
    * ``"SOAP"``: rotate by the eigenvectors :math:`Q_L, Q_R` of
      :math:`L, R`, divide by :math:`E[\tilde g^2]^{1/2}` there (Adam's diagonal), rotate back
      (Vyas et al., 2024).
    * ``"full-matrix AdaGrad"``: :math:`P = E[gg^\top]^{1/2}`.
    """
    A, B, H = problem["A"], problem["B"], problem["H"]
    second = H @ H  # E[g g^T] for g = H e, e ~ N(0, I)
    L, R = np.trace(B @ B) * A @ A, np.trace(A @ A) * B @ B
    _, QL = np.linalg.eigh(L)
    _, QR = np.linalg.eigh(R)
    Q = np.kron(QR, QL)
    rotated = np.diag(Q.T @ second @ Q)  # E[g~^2] of the rotated gradient's entries
    return {
        "gradient descent": np.eye(len(H)),
        "diagonal AdaGrad": np.diag(np.sqrt(np.diag(second))),
        "Shampoo, exponent ¼": np.kron(_power(R, 0.25), _power(L, 0.25)),
        "Shampoo, exponent ½": np.kron(_power(R, 0.5), _power(L, 0.5)),
        "SOAP": (Q * np.sqrt(rotated)) @ Q.T,
        "full-matrix AdaGrad": _power(second, 0.5),
    }


#: Numbers each preconditioner keeps for an :math:`m \times n` matrix parameter.
PRECONDITIONER_MEMORY: dict[str, Callable[[int, int], int]] = {
    "gradient descent": lambda m, n: 0,
    "diagonal AdaGrad": lambda m, n: m * n,
    "Shampoo, exponent ¼": lambda m, n: m * m + n * n,
    "Shampoo, exponent ½": lambda m, n: m * m + n * n,
    "SOAP": lambda m, n: 2 * (m * m + n * n) + m * n,
    "full-matrix AdaGrad": lambda m, n: (m * n) ** 2,
}


def _effective(P: np.ndarray, H: np.ndarray) -> np.ndarray:
    r""":math:`P^{-1/2} H P^{-1/2}`: the Hessian the preconditioned step sees (same eigenvalues as :math:`P^{-1}H`)."""
    root = _power(P, -0.5)
    return root @ H @ root


def condition_numbers(problem: Mapping[str, np.ndarray]) -> dict[str, float]:
    r"""The condition number :math:`\lambda_{\max}/\lambda_{\min}` of :math:`P^{-1}H` for each of :func:`preconditioners`."""
    out = {}
    for name, P in preconditioners(problem).items():
        w = np.linalg.eigvalsh(_effective(P, problem["H"]))
        out[name] = float(w.max() / w.min())
    return out


def preconditioned_runs(problem: Mapping[str, np.ndarray], steps: int = 100, seed: int = 1) -> dict[str, np.ndarray]:
    r"""The loss of :math:`w \leftarrow w - \eta P^{-1}\nabla f(w)` for each preconditioner, from one random start.

    Each run takes the step :math:`\eta = 1/\lambda_{\max}(P^{-1}H)`, the largest that never makes a
    direction overshoot, so the slowest direction shrinks by :math:`1 - 1/\kappa` per step.

    Returns
    -------
    dict of str to ndarray of shape (steps + 1,)
        :math:`f(w_t)/f(w_0)`.
    """
    H = problem["H"]
    w_star = problem["W_star"].reshape(-1, order="F")
    start = w_star + np.random.default_rng(seed).standard_normal(len(H))
    out = {}
    for name, P in preconditioners(problem).items():
        inverse = np.linalg.inv(P)
        eta = 1.0 / np.linalg.eigvalsh(_effective(P, H)).max()
        w, losses = start.copy(), []
        for _ in range(steps + 1):
            e = w - w_star
            losses.append(0.5 * e @ H @ e)
            w = w - eta * inverse @ (H @ e)
        out[name] = np.array(losses) / losses[0]
    return out


# -- the MLP on the digits, several seeds -----------------------------------------------------------------
#: Two-sided 95 % quantiles of Student's t distribution, by the number of values (n − 1 degrees of freedom).
T95: dict[int, float] = {2: 12.71, 3: 4.303, 4: 3.182, 5: 2.776, 6: 2.571, 7: 2.447, 8: 2.365, 9: 2.306, 10: 2.262}

#: The lesson's MLP: 64 pixels, two hidden layers of 64 tanh units, 10 classes.
SIZES: tuple[int, ...] = (64, 64, 64, 10)


def interval(values: Sequence[float]) -> tuple[float, float]:
    r"""The mean and the half-width of its 95 % t interval, :math:`t_{0.975, n-1}\, s/\sqrt n`."""
    values = np.asarray(values, dtype=float)
    n = len(values)
    if n not in T95:
        raise ValueError(f"interval needs 2 to 10 values; got {n}")
    return float(values.mean()), float(T95[n] * values.std(ddof=1) / math.sqrt(n))


@functools.lru_cache(maxsize=1)
def digits_splits(seed: int = 0) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """The UCI digits split 60/20/20 into training, validation and test sets, standardised with the training set's statistics.

    Returns ``((X_train, y_train), (X_val, y_val), (X_test, y_test))``.
    """
    X, y = data.load_digits()
    held = data.train_test_split(X, y, test_fraction=0.4, seed=seed)
    rest = data.train_test_split(held.X_test, held.y_test, test_fraction=0.5, seed=seed)
    X_train, _ = data.standardize(held.X_train)
    _, X_val = data.standardize(held.X_train, rest.X_train)
    _, X_test = data.standardize(held.X_train, rest.X_test)
    return (X_train, held.y_train), (X_val, rest.y_train), (X_test, rest.y_test)


def _setup(recipe: str, lr: float, total: int, other_lr: float | None) -> dict[str, tuple[Callable, Callable, dict]]:
    """For every parameter name pattern: (rule, schedule, hyperparameters) of a recipe."""
    warm = max(1, total // 20)
    if recipe == "adamw":
        return {"*": (rule_named("adamw"), schedules.warmup_cosine(lr, warm, total), {"weight_decay": 0.01})}
    if recipe == "muon":
        head = other_lr if other_lr is not None else lr
        return {"hidden": (rule_named(matrix_rule()), schedules.warmup_cosine(lr, warm, total), {"weight_decay": 0.01}),
                "*": (rule_named("adamw"), schedules.warmup_cosine(head, warm, total), {"weight_decay": 0.01})}
    if recipe == "schedule-free":
        return {"*": (rule_named(schedule_free_rule()), schedules.constant(lr), {"weight_decay": 0.01})}
    raise ValueError(f"unknown recipe {recipe!r}; choose adamw, muon or schedule-free")


def train_mlp(recipe: str, lr: float, *, seed: int = 0, epochs: int = 20, batch_size: int = 64,
              other_lr: float | None = None, checkpoints: int = 10) -> dict[str, Any]:
    r"""Train the lesson's MLP on :func:`digits_splits` with a recipe; evaluate at ``checkpoints`` points.

    * ``"adamw"``: AdamW on every parameter, warm-up (5 %) and cosine decay of :math:`\alpha`.
    * ``"muon"``: Muon on the hidden layers' weight matrices (every ``W`` but the last), AdamW on the
      output layer and the biases with ``other_lr`` (Muon's recipe), both with the same schedule.
    * ``"schedule-free"``: schedule-free AdamW with a constant :math:`\alpha`; the model is evaluated
      at the state entry the rule table names (``evaluate_at``), the gradient taken at the parameter.

    Every rule decays the weights with :math:`\lambda = 0.01` (decoupled) and keeps its other defaults.

    ``seed`` sets the initial parameters and the minibatches; every recipe sees the same ones.

    Returns
    -------
    dict
        ``"steps"`` (the step of each checkpoint), ``"train loss"``, ``"val loss"``, ``"val accuracy"``,
        ``"test loss"``, ``"test accuracy"`` (lists, one value per checkpoint), ``"diverged"``.
    """
    (X, y), (X_val, y_val), (X_test, y_test) = digits_splits()
    net = models.MLP(SIZES, activation="tanh")
    params = net.init(seed)
    per_epoch = math.ceil(len(X) / batch_size)
    total = epochs * per_epoch
    setup = _setup(recipe, float(lr), total, other_lr)
    last = f"W{net.n_layers}"
    evaluate_at = _table.get(schedule_free_rule()).evaluate_at if recipe == "schedule-free" else None
    states: dict[str, dict] = {name: {} for name in params}
    marks = {int(round(total * (i + 1) / checkpoints)) for i in range(checkpoints)}
    out: dict[str, Any] = {"steps": [], "train loss": [], "val loss": [], "val accuracy": [], "test loss": [],
                           "test accuracy": [], "diverged": False}
    t = 0
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for epoch in range(epochs):
            for X_batch, y_batch in data.minibatches(X, y, batch_size, seed=seed, epoch=epoch):
                loss, grads = net.loss_and_grads(params, X_batch, y_batch)
                if not np.isfinite(loss) or loss > 100:
                    out["diverged"] = True
                    return out
                for name in params:
                    key = "hidden" if ("hidden" in setup and name.startswith("W") and name != last) else "*"
                    rule, schedule, hyper = setup[key]
                    params[name], states[name] = rule(params[name], grads[name], states[name],
                                                      lr=schedule(t), **hyper)
                t += 1
                if t in marks:
                    judged = {k: states[k][evaluate_at] for k in params} if evaluate_at else params
                    out["steps"].append(t)
                    out["train loss"].append(net.loss(judged, X, y))
                    for split, (Xs, ys) in (("val", (X_val, y_val)), ("test", (X_test, y_test))):
                        out[f"{split} loss"].append(net.loss(judged, Xs, ys))
                        out[f"{split} accuracy"].append(net.accuracy(judged, Xs, ys))
    if not np.all(np.isfinite(out["train loss"])):
        out["diverged"] = True
    return out


#: The learning-rate grids of :func:`comparison`, one per recipe (a factor of about 3 apart).
GRIDS: dict[str, tuple[float, ...]] = {
    "adamw": (1e-3, 3e-3, 1e-2, 3e-2, 1e-1),
    "muon": (3e-3, 1e-2, 3e-2, 1e-1, 3e-1),
    "schedule-free": (1e-3, 3e-3, 1e-2, 3e-2, 1e-1),
}


def comparison(seeds: Sequence[int] = tuple(range(8)), grids: Mapping[str, Sequence[float]] = GRIDS,
               epochs: int = 20, progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    r"""AdamW with a tuned schedule, Muon, and schedule-free AdamW on the MLP: every seed, every grid point.

    AdamW is tuned first; Muon's run uses AdamW's chosen :math:`\alpha` for the parameters it does not
    step, and its own grid for the hidden matrices. For each recipe the learning rate with the
    lowest mean final *validation* loss over the seeds is chosen; the test split is only read at
    the chosen one.

    Returns
    -------
    dict
        ``"runs"``: recipe -> lr (as a string) -> list of :func:`train_mlp` results (one per seed);
        ``"chosen"``: recipe -> lr; ``"seeds"``, ``"epochs"``, ``"grids"``.
    """
    runs: dict[str, dict[str, list]] = {}
    chosen: dict[str, float] = {}
    for recipe in ("adamw", "muon", "schedule-free"):
        runs[recipe] = {}
        for lr in grids[recipe]:
            if progress:
                progress(f"{recipe} lr={lr:g}")
            runs[recipe][repr(float(lr))] = [train_mlp(recipe, lr, seed=s, epochs=epochs,
                                                       other_lr=chosen.get("adamw")) for s in seeds]
        chosen[recipe] = _choose(runs[recipe])
    return {"runs": runs, "chosen": chosen, "seeds": list(seeds), "epochs": epochs,
            "grids": {k: list(v) for k, v in grids.items()}}


def _final_val_loss(results: list[dict]) -> float:
    if any(r["diverged"] for r in results):
        return math.inf
    return float(np.mean([r["val loss"][-1] for r in results]))


def _choose(by_lr: Mapping[str, list[dict]]) -> float:
    scores = {float(lr): _final_val_loss(results) for lr, results in by_lr.items()}
    return min(scores, key=scores.get)


def load_comparison(path: str | Path) -> dict[str, Any]:
    """The results of :func:`comparison`, as ``lessons/09_large_models_runs.py`` saved them (JSON)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist: run lessons/09_large_models_runs.py to make it")
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def _at(results: Mapping[str, Any], recipe: str, lr: float | None = None) -> list[dict]:
    lr = results["chosen"][recipe] if lr is None else lr
    return results["runs"][recipe][repr(float(lr))]


def summary(results: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One row per recipe of :func:`comparison`: the chosen lr, whether it is inside the grid, and the
    final validation and test loss and accuracy at it, each a (mean, half-width) pair over the seeds."""
    rows = []
    for recipe, lr in results["chosen"].items():
        grid = sorted(float(x) for x in results["runs"][recipe])
        runs = _at(results, recipe)
        row = {"recipe": recipe, "lr": float(lr), "inside grid": grid[0] < float(lr) < grid[-1],
               "diverged at": [x for x in grid if any(r["diverged"] for r in results["runs"][recipe][repr(x)])]}
        for metric in ("val loss", "val accuracy", "test loss", "test accuracy"):
            row[metric] = interval([r[metric][-1] for r in runs])
        rows.append(row)
    return rows


def paired_difference(results: Mapping[str, Any], recipe: str, baseline: str = "adamw",
                      metric: str = "test loss", checkpoint: int = -1) -> tuple[float, float]:
    """``recipe`` minus ``baseline`` at their chosen learning rates, seed by seed: (mean, half-width).

    The same seed gives both runs the same initial parameters and minibatches, so the difference
    has less noise than the two means apart.
    """
    a, b = _at(results, recipe), _at(results, baseline)
    return interval([x[metric][checkpoint] - y[metric][checkpoint] for x, y in zip(a, b)])


def curves(results: Mapping[str, Any], metric: str = "val loss") -> dict[str, dict[str, np.ndarray]]:
    """For each recipe at its chosen lr: ``"steps"``, and the ``"mean"`` and ``"half width"`` of ``metric`` at every checkpoint."""
    out = {}
    for recipe in results["chosen"]:
        runs = _at(results, recipe)
        stats = np.array([interval([r[metric][i] for r in runs]) for i in range(len(runs[0][metric]))])
        out[recipe] = {"steps": np.array(runs[0]["steps"]), "mean": stats[:, 0], "half width": stats[:, 1]}
    return out
