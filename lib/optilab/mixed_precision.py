r"""Low-precision arithmetic and mixed-precision training, emulated exactly in NumPy.

A GPU trains in 16-bit floats because they halve the memory and double the speed of every matrix
product. Two 16-bit formats are used:

========== ====== ========== ================= ======================= ==================
format     bits   ε (1 ulp   smallest normal   smallest positive       largest
                  at 1)                        (subnormal)
========== ====== ========== ================= ======================= ==================
float32    32     1.2e-7     1.2e-38           1.4e-45                 3.4e38
float16    16     9.8e-4     6.1e-5            6.0e-8                  65504
bfloat16   16     7.8e-3     1.2e-38           9.2e-41                 3.4e38
========== ====== ========== ================= ======================= ==================

(:func:`describe` computes them.) float16 keeps 10 bits of mantissa and 5 of exponent: precise, but a
gradient below 6e-8 becomes 0 and a value above 65504 becomes inf. bfloat16 keeps float32's 8 bits of
exponent and only 7 of mantissa: it never underflows where float32 does not, but ``1 + 0.003 == 1``.
NumPy has float16; bfloat16 comes from the ``ml_dtypes`` package (:data:`BFLOAT16`).

Two remedies make 16-bit training work (Micikevicius et al. 2018, "Mixed precision training"), on hardware
that accumulates 16-bit products in float32 (tensor cores do; so does this emulation):

* **fp32 master weights**: keep a float32 copy of the weights and the optimizer's state; compute the
  forward and backward passes with a 16-bit copy of the weights; apply the update to the float32 copy,
  where a small update is not rounded away (:func:`update_is_lost`).
* **loss scaling**: multiply the loss by :math:`S` before the backward pass, so that small gradients are
  lifted above float16's underflow, then divide the gradients by :math:`S` (in float32) before the step.
  A *dynamic* scale (:class:`LossScale`, PyTorch's ``torch.amp.GradScaler``) starts large, skips a step
  whose gradients overflowed to inf or NaN and halves :math:`S`, and doubles :math:`S` after a run of
  good steps.

:func:`loss_and_grads` runs an MLP's forward and backward passes with every intermediate rounded to a
16-bit format; :func:`train` trains with any combination (compute format, master weights or not, a loss
scale or not); :func:`training_bytes` measures the memory each recipe holds per parameter.

The library refuses low precision by default (:func:`optilab.optimizer.check_dtype`): every function here
that trains or differentiates in 16 bits asks for ``allow_low_precision=True``.

Examples
--------
>>> import numpy as np
>>> bool(np.float16(1) + np.float16(1e-4) == 1), bool(np.float32(1) + np.float32(1e-4) == 1)
(True, False)
>>> float(np.float16(1e-8))  # Adam's default ε
0.0
>>> describe("bfloat16").eps
0.0078125
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Callable, Mapping

import ml_dtypes
import numpy as np

from optilab import data as _data
from optilab import models
from optilab.optimizer import Optimizer, check_dtype

__all__ = ["BFLOAT16", "FORMATS", "dtype_of", "Format", "describe", "spacing", "update_is_lost", "LossScale",
           "loss_and_grads", "Run", "train", "training_bytes"]

#: NumPy's dtype for bfloat16 (from ``ml_dtypes``).
BFLOAT16: np.dtype = np.dtype(ml_dtypes.bfloat16)
#: The formats the lesson compares, widest first.
FORMATS: tuple[str, ...] = ("float32", "float16", "bfloat16")
_ALIASES = {"fp64": "float64", "fp32": "float32", "fp16": "float16", "half": "float16", "bf16": "bfloat16"}
_KNOWN = ("float64", "float32", "float16", "bfloat16")

Params = dict[str, np.ndarray]


def dtype_of(name: Any) -> np.dtype:
    """The NumPy dtype of a format: ``"float32"``, ``"float16"``, ``"bfloat16"`` or ``"float64"`` (also
    ``"fp32"``, ``"fp16"``, ``"bf16"``, or a dtype).

    >>> dtype_of("bf16").name, dtype_of(np.float16).name
    ('bfloat16', 'float16')
    """
    if isinstance(name, str):
        key = _ALIASES.get(name.lower(), name.lower())
        if key == "bfloat16":
            return BFLOAT16
        if key in _KNOWN:
            return np.dtype(key)
        raise ValueError(f"unknown format {name!r}: choose one of {', '.join(_KNOWN)} (or fp32, fp16, bf16)")
    dtype = np.dtype(name)
    if dtype.name not in _KNOWN:
        raise ValueError(f"dtype {dtype.name} is not one of the formats compared here ({', '.join(_KNOWN)})")
    return dtype


@dataclass(frozen=True)
class Format:
    """What a floating-point format can hold (from ``ml_dtypes.finfo``)."""

    name: str
    bits: int
    exponent_bits: int
    mantissa_bits: int
    #: The gap between 1 and the next number: relative precision.
    eps: float
    #: The smallest positive number with full precision.
    smallest_normal: float
    #: The smallest positive number at all; anything below half of it rounds to 0.
    smallest_subnormal: float
    #: The largest finite number; anything beyond rounds to inf.
    largest: float


def describe(name: Any) -> Format:
    """The :class:`Format` of ``name`` (see :func:`dtype_of`).

    >>> f = describe("float16")
    >>> f.bits, f.mantissa_bits, f.largest
    (16, 10, 65504.0)
    """
    dtype = dtype_of(name)
    info = ml_dtypes.finfo(dtype)
    return Format(name=dtype.name, bits=int(info.bits), exponent_bits=int(info.bits - info.nmant - 1),
                  mantissa_bits=int(info.nmant), eps=float(info.eps), smallest_normal=float(info.smallest_normal),
                  smallest_subnormal=float(info.smallest_subnormal), largest=float(info.max))


def _uint(dtype: np.dtype) -> np.dtype:
    return np.dtype(f"uint{8 * dtype.itemsize}")


def spacing(x: Any, dtype: Any) -> np.ndarray:
    """The gap between :math:`|x|` (rounded to ``dtype``) and the next larger number of ``dtype``, in float64.

    An update smaller than half of it is rounded away: ``x - u == x``.

    >>> float(spacing(1.0, "float16")), float(spacing(1.0, "bfloat16"))
    (0.0009765625, 0.0078125)
    """
    dtype = dtype_of(dtype)
    with np.errstate(over="ignore", invalid="ignore"):  # beyond the largest number: inf, and a gap of NaN
        value = np.abs(np.asarray(x, dtype=np.float64)).astype(dtype)
        up = (value.view(_uint(dtype)) + np.ones((), _uint(dtype))).view(dtype)
        return up.astype(np.float64) - value.astype(np.float64)


def update_is_lost(param: Any, update: Any, dtype: Any) -> np.ndarray:
    """Where ``param - update`` stored in ``dtype`` equals ``param`` stored in ``dtype``, though ``update`` ≠ 0.

    >>> update_is_lost([1.0, 1.0], [1e-4, 1e-3], "float16").tolist()
    [True, False]
    """
    dtype = dtype_of(dtype)
    param, update = np.asarray(param, dtype=np.float64), np.asarray(update, dtype=np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        old = param.astype(dtype)
        new = (old.astype(np.float64) - update).astype(dtype)
    return (update != 0) & (new == old)


@dataclass(frozen=True)
class LossScale:
    r"""A loss scale :math:`S`, static or dynamic, as PyTorch's ``torch.amp.GradScaler`` keeps it.

    The loss is multiplied by :math:`S` before the backward pass and the gradients divided by :math:`S`
    before the step. After each step, :meth:`update` gives the next scale: a dynamic scale is multiplied
    by ``backoff_factor`` (and the step skipped) when the gradients were not all finite, and multiplied
    by ``growth_factor`` after ``growth_interval`` finite steps in a row. A static scale never changes.

    The defaults are ``GradScaler``'s: ``init_scale=2**16, growth_factor=2.0, backoff_factor=0.5,
    growth_interval=2000``.

    >>> s = LossScale(1024.0, growth_interval=2)
    >>> s.update(True).update(True).scale, s.update(False).scale, LossScale(8.0, dynamic=False).update(False).scale
    (2048.0, 512.0, 8.0)
    """

    scale: float = 2.0 ** 16
    dynamic: bool = True
    growth_factor: float = 2.0
    backoff_factor: float = 0.5
    growth_interval: int = 2000
    #: Finite steps in a row since the scale last changed.
    good_steps: int = 0

    def __post_init__(self) -> None:
        if not (np.isfinite(self.scale) and self.scale > 0):
            raise ValueError(f"the loss scale must be a positive finite number; got {self.scale}")
        if not self.growth_factor > 1.0:
            raise ValueError(f"growth_factor must be above 1 (it raises the scale); got {self.growth_factor}")
        if not 0.0 < self.backoff_factor < 1.0:
            raise ValueError(f"backoff_factor must be between 0 and 1 (it lowers the scale); got {self.backoff_factor}")
        if int(self.growth_interval) < 1:
            raise ValueError(f"growth_interval must be a number of steps >= 1; got {self.growth_interval}")

    def update(self, finite: bool) -> LossScale:
        """The scale for the next step, after a step whose gradients were ``finite`` (or not)."""
        if not self.dynamic:
            return self
        if not finite:
            return replace(self, scale=self.scale * self.backoff_factor, good_steps=0)
        good = self.good_steps + 1
        if good >= self.growth_interval:
            return replace(self, scale=self.scale * self.growth_factor, good_steps=0)
        return replace(self, good_steps=good)


def _formats(compute: Any, master: Any, allow_low_precision: bool) -> tuple[np.dtype, np.dtype | None, np.dtype]:
    """The compute format, the master format (None without master weights) and the format the update is
    taken in, each checked: a 16-bit one is refused unless ``allow_low_precision``."""
    compute_dtype = dtype_of(compute)
    check_dtype("the compute dtype", compute_dtype, allow_low_precision=allow_low_precision)
    if master is None:
        return compute_dtype, None, compute_dtype
    master_dtype = dtype_of(master)
    check_dtype("the master dtype", master_dtype, allow_low_precision=allow_low_precision)
    return compute_dtype, master_dtype, master_dtype


def loss_and_grads(model: models.MLP, params: Mapping[str, np.ndarray], X: np.ndarray, y: np.ndarray, *,
                   dtype: Any = "float16", loss_scale: float = 1.0,
                   allow_low_precision: bool = False) -> tuple[float, Params]:
    r"""An MLP classifier's loss and gradients computed in ``dtype``, the loss multiplied by ``loss_scale``.

    The same forward and backward passes as :meth:`optilab.models.MLP.loss_and_grads`, with every
    weight, activation and gradient stored in ``dtype``. Each product is accumulated in float32 and
    rounded once (as tensor cores do); the softmax cross-entropy and its gradient
    :math:`\delta_L = S\,(P - Y)/n` are computed in float32 (as ``torch.autocast`` does), and
    :math:`\delta_L` is rounded to ``dtype`` before it flows back: that is where a small gradient
    underflows to 0 unless :math:`S` lifts it. In float64 this is exactly ``MLP.loss_and_grads``.

    Parameters
    ----------
    model : optilab.models.MLP
        A classifier with a softmax output (``sizes[-1] >= 2``), tanh or ReLU.
    params : dict
        The weights (any float dtype; they are rounded to ``dtype``).
    dtype : str or dtype
        The compute format (:func:`dtype_of`).
    loss_scale : float
        :math:`S`. The gradients returned are those of :math:`S \cdot L` (divide them by :math:`S`).
    allow_low_precision : bool
        Must be True for float16 and bfloat16: the library refuses them by default.

    Returns
    -------
    (loss, grads)
        The unscaled loss (a float) and the scaled gradients, in ``dtype``; inf or NaN where they overflowed.
    """
    if not isinstance(model, models.MLP) or model.task != "classification" or model.sizes[-1] < 2:
        raise ValueError(f"loss_and_grads emulates an MLP classifier with a softmax output (sizes[-1] >= 2); "
                         f"got {model!r}")
    dtype = _formats(dtype, None, allow_low_precision)[0]
    if not (np.isfinite(loss_scale) and loss_scale > 0):
        raise ValueError(f"loss_scale must be a positive finite number; got {loss_scale}")
    wide = np.promote_types(dtype, np.float32)  # where products accumulate

    def rounded(a: Any) -> np.ndarray:
        return np.asarray(a, dtype=wide).astype(dtype).astype(wide)

    n_layers = model.n_layers
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        W = [rounded(params[f"W{i}"]) for i in range(1, n_layers + 1)]
        b = [rounded(params[f"b{i}"]) for i in range(1, n_layers + 1)]
        hs, pre = [rounded(models._features(X, model.sizes[0], "MLP"))], []
        for i in range(n_layers):
            a = rounded(hs[-1] @ W[i] + b[i])
            pre.append(a)
            if i < n_layers - 1:
                hs.append(rounded(np.tanh(a) if model.activation == "tanh" else np.maximum(a, 0.0)))
        n = len(hs[0])
        labels = models._labels(y, n, model.n_classes, "MLP")
        logits = pre[-1]  # already float32 or wider: the loss is computed there
        shifted = logits - logits.max(axis=1, keepdims=True)
        log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        loss = float(-np.mean(log_p[np.arange(n), labels]))
        delta = np.exp(log_p)
        delta[np.arange(n), labels] -= 1.0
        delta = rounded(delta * (float(loss_scale) / n))
        grads: Params = {}
        for i in range(n_layers - 1, -1, -1):
            grads[f"W{i + 1}"] = rounded(hs[i].T @ delta)
            grads[f"b{i + 1}"] = rounded(delta.sum(axis=0))
            if i > 0:
                back = rounded(delta @ W[i].T)
                slope = rounded(1.0 - hs[i] * hs[i]) if model.activation == "tanh" else (pre[i - 1] > 0).astype(wide)
                delta = rounded(back * slope)
    return loss, {name: grads[name].astype(dtype) for name in params}


@dataclass
class Run:
    """One training run of :func:`train`."""

    #: Validation loss of the weights (evaluated in float64) before training and after each epoch; NaN
    #: after the weights stopped being finite.
    val_loss: np.ndarray
    #: The loss scale used at each step (1 without loss scaling).
    scales: np.ndarray
    #: Steps (counted from 1) skipped because the gradients overflowed.
    skipped: np.ndarray
    #: The step (from 1) after which the weights first held inf or NaN, or None.
    first_nonfinite: int | None
    #: Of the weight entries whose gradient was not 0, summed over the steps taken, the fraction the step
    #: left exactly as they were: their update was rounded away.
    unchanged_fraction: float
    #: The final weights, in the format they were updated in (the master weights, if any).
    params: Params
    #: What was run: compute and master formats, loss scaling, rule, lr.
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def final_val_loss(self) -> float:
        """The last validation loss; inf if the run's weights stopped being finite."""
        return float("inf") if self.first_nonfinite is not None else float(self.val_loss[-1])


def _cast(params: Mapping[str, np.ndarray], dtype: np.dtype) -> Params:
    with np.errstate(over="ignore", invalid="ignore"):
        return {k: np.asarray(v).astype(dtype) for k, v in params.items()}


def _store_state(optimizer: Optimizer, params: Mapping[str, np.ndarray], dtype: np.dtype) -> None:
    """Keep the optimizer's state arrays (those the shape of a parameter) in ``dtype``, as a 16-bit
    optimizer stores them: NumPy would otherwise widen bfloat16 arithmetic with a Python float to float32."""
    for key, state in optimizer.state.items():
        optimizer.state[key] = {name: value.astype(dtype) if isinstance(value, np.ndarray)
                                and value.shape == params[key].shape else value for name, value in state.items()}


def _finite(arrays: Mapping[str, np.ndarray]) -> bool:
    return all(bool(np.all(np.isfinite(a.astype(np.float32)))) for a in arrays.values())


def train(rule: str | Callable, model: models.MLP, data: tuple, *, compute: Any = "float32", master: Any = None,
          loss_scale: LossScale | float | None = None, epochs: int = 10, batch_size: int = 32, lr: float = 1e-3,
          seed: int = 0, allow_low_precision: bool = False, **hyperparameters: Any) -> Run:
    r"""Train an MLP classifier with its passes computed in ``compute``, the update in ``master`` (if given).

    Each step: round the weights to ``compute`` (a copy, if there are master weights); compute the loss
    multiplied by :math:`S` and its gradients in ``compute`` (:func:`loss_and_grads`); convert the
    gradients to the update's format and divide by :math:`S`; if a loss scale is given and they are not
    all finite, skip the step (and let the scale back off); otherwise the ``rule``'s step, in the
    update's format, with its state stored in that format too.

    Parameters
    ----------
    rule : str or callable
        An update rule (``"adam"``, ``"sgd"``, or a function of the contract).
    model : optilab.models.MLP
        A classifier; its ``init(seed)`` gives the starting weights.
    data : tuple
        ``(X_train, y_train, X_val, y_val)``.
    compute : str or dtype
        The format of the forward and backward passes: ``"float32"``, ``"float16"``, ``"bfloat16"``.
    master : str, dtype or None
        The format of the weights the step updates (``"float32"``: fp32 master weights). None: the
        weights stay in ``compute`` and the step is taken there (pure low precision).
    loss_scale : LossScale, float or None
        A :class:`LossScale`, a number (a static scale), or None (no scaling, no skipped steps).
    epochs, batch_size, lr, seed
        As :func:`optilab.training.train` (the seed fixes the initial weights and the minibatch order).
    allow_low_precision : bool
        Must be True for a 16-bit ``compute`` or ``master``: the library refuses them by default.
    **hyperparameters
        The rule's other hyperparameters (``eps=...``).
    """
    compute_dtype, master_dtype, update_dtype = _formats(compute, master, allow_low_precision)
    scaler = LossScale(float(loss_scale), dynamic=False) if isinstance(loss_scale, (int, float)) else loss_scale
    if scaler is not None and not isinstance(scaler, LossScale):
        raise TypeError(f"loss_scale must be a LossScale, a number or None; got {type(loss_scale).__name__}")
    X_train, y_train, X_val, y_val = data
    weights = _cast(model.init(seed), update_dtype)
    optimizer = Optimizer(rule, lr=lr, allow_low_precision=allow_low_precision, **hyperparameters)

    def validation(params: Params) -> float:
        return model.loss(_cast(params, np.dtype(np.float64)), X_val, y_val)

    val_loss, scales, skipped = [validation(weights)], [], []
    changed = moved = 0
    first_nonfinite: int | None = None
    step = 0
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for epoch in range(int(epochs)):
            for X_batch, y_batch in _data.minibatches(X_train, y_train, int(batch_size), seed=seed, epoch=epoch):
                step += 1
                scale = 1.0 if scaler is None else scaler.scale
                scales.append(scale)
                low = weights if master_dtype is None else _cast(weights, compute_dtype)
                _, grads = loss_and_grads(model, low, X_batch, y_batch, dtype=compute_dtype, loss_scale=scale,
                                          allow_low_precision=allow_low_precision)
                grads = {k: (g.astype(update_dtype) / np.asarray(scale, update_dtype)).astype(update_dtype)
                         for k, g in grads.items()}
                if scaler is not None:
                    finite = _finite(grads)
                    scaler = scaler.update(finite)
                    if not finite:
                        skipped.append(step)
                        continue
                new = optimizer.step(weights, grads)
                _store_state(optimizer, weights, update_dtype)
                for k in weights:
                    nonzero = grads[k] != 0
                    moved += int(np.sum(nonzero))
                    changed += int(np.sum(nonzero & (new[k] != weights[k])))
                weights = new
                if not _finite(weights):
                    first_nonfinite = step
                    break
            val_loss.append(validation(weights) if first_nonfinite is None else np.nan)
            if first_nonfinite is not None:
                break
    val_loss += [np.nan] * (int(epochs) + 1 - len(val_loss))
    settings = {"rule": getattr(optimizer, "name", rule), "lr": lr, "compute": compute_dtype.name,
                "master": None if master_dtype is None else master_dtype.name,
                "loss_scale": None if scaler is None else ("dynamic" if scaler.dynamic else scaler.scale)}
    return Run(val_loss=np.array(val_loss, dtype=float), scales=np.array(scales), skipped=np.array(skipped, dtype=int),
               first_nonfinite=first_nonfinite, unchanged_fraction=(moved - changed) / moved if moved else 0.0,
               params=weights, settings=settings)


def training_bytes(rule: str | Callable, model: models.MLP, *, compute: Any = "float32", master: Any = None,
                   allow_low_precision: bool = False, **hyperparameters: Any) -> dict[str, int]:
    """The bytes of each kind of array a training step holds, measured on real arrays after one step.

    Runs one step of ``rule`` on ``model`` (random inputs) and adds up ``nbytes``: ``"weights"`` (in
    ``compute``), ``"gradients"`` (in ``compute``), ``"master weights"`` (in ``master``; 0 without) and
    ``"optimizer state"`` (the rule's arrays the shape of a parameter, in the update's format).
    Divide by ``model.n_params`` for bytes per parameter. Activations are not counted: they depend on
    the batch, not on the parameters.

    >>> from optilab.models import MLP
    >>> sizes = training_bytes("adam", MLP((4, 3, 2)))
    >>> {k: v // MLP((4, 3, 2)).n_params for k, v in sizes.items()}
    {'weights': 4, 'gradients': 4, 'master weights': 0, 'optimizer state': 8}
    """
    compute_dtype, master_dtype, update_dtype = _formats(compute, master, allow_low_precision)
    start = model.init(0)
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((4, model.sizes[0])), rng.integers(0, model.n_classes, 4)
    weights = _cast(start, compute_dtype)
    _, grads = loss_and_grads(model, weights, X, y, dtype=compute_dtype, allow_low_precision=allow_low_precision)
    master_weights = _cast(start, update_dtype) if master_dtype is not None else {}
    optimizer = Optimizer(rule, allow_low_precision=allow_low_precision, **hyperparameters)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        optimizer.step(master_weights or weights, {k: g.astype(update_dtype) for k, g in grads.items()})
    _store_state(optimizer, start, update_dtype)
    state = sum(v.nbytes for k, p in start.items() for v in optimizer.state[k].values()
                if isinstance(v, np.ndarray) and v.shape == p.shape)
    return {"weights": sum(a.nbytes for a in weights.values()), "gradients": sum(a.nbytes for a in grads.values()),
            "master weights": sum(a.nbytes for a in master_weights.values()), "optimizer state": int(state)}
