r"""Lesson 10's mixed-precision experiments, on the breast-cancer MLP of the lesson: computations only.

* :func:`formats` — what float32, float16 and bfloat16 hold (:func:`optilab.mixed_precision.describe`).
* :func:`vanishing` — ``1 + 1e-4`` and Adam's ε = 1e-8 stored in each format.
* :func:`adam_step_in_float16` — the library's refusal of float16, and the step the reference Adam takes
  once it is opted in: −inf where the gradient is small.
* :func:`smallest_weight_losing` — the smallest weight of each format on which an update of a given
  size is rounded away.
* :func:`activation_gradients` — the hidden layer's gradients at the end of float32 training, and
  :func:`underflow` the fraction of them float16 stores as 0 or as subnormals, at a loss scale.
* :func:`run` / :func:`final_losses` / :func:`curves` — Adam trained in each recipe of :data:`RECIPES`, one run per
  seed of the lesson; :func:`compare` sets each against float32, paired by seed.
* :func:`static_scales` — a static loss scale: how many steps overflow and are skipped.
* :func:`bytes_per_parameter` — the memory each recipe holds per parameter, measured on real arrays, and
  :func:`activation_bytes` the bytes of one minibatch's activations in each format.

Every function here opts in to low precision (``allow_low_precision=True``): these are the lesson's
deliberate experiments. The figures are in :mod:`optilab.widgets.precision` (none here).
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from optilab import data, memory
from optilab import mixed_precision as mp
from optilab.experiments import training_in_practice as practice
from optilab.optimizer import Optimizer

__all__ = ["RULE", "LR", "GROWTH_INTERVAL", "SCALE", "RECIPES", "formats", "vanishing", "adam_step_in_float16",
           "smallest_weight_losing", "activation_gradients", "underflow", "run", "final_losses", "curves",
           "compare", "static_scales", "activation_bytes", "bytes_per_parameter"]

#: The rule and rate of the training runs: Adam at its default rate.
RULE, LR = "adam", 1e-3
#: Good steps before the dynamic scale doubles: 20 in a run of 220 steps (PyTorch's default, 2000, suits
#: runs of many thousand steps).
GROWTH_INTERVAL = 20
#: The first loss scale, PyTorch's ``GradScaler`` default.
SCALE = 2.0 ** 16

#: The recipes compared: what the passes are computed in, the format of the weights updated, the loss scale.
RECIPES: dict[str, dict[str, Any]] = {
    "float32": {"compute": "float32"},
    "float16": {"compute": "float16"},
    "float16 + fp32 master + dynamic scale": {"compute": "float16", "master": "float32",
                                              "loss_scale": mp.LossScale(SCALE, growth_interval=GROWTH_INTERVAL)},
    "bfloat16": {"compute": "bfloat16"},
    "bfloat16 + fp32 master": {"compute": "bfloat16", "master": "float32"},
}


def formats() -> dict[str, mp.Format]:
    """float32, float16 and bfloat16, described."""
    return {name: mp.describe(name) for name in mp.FORMATS}


def vanishing(small: float = 1e-4, eps: float = 1e-8) -> dict[str, tuple[float, float]]:
    """For each format: ``(1 + small, eps)`` computed and stored in it, as floats."""
    out = {}
    for name in mp.FORMATS:
        dtype = mp.dtype_of(name)
        one = np.ones((), dtype)
        out[name] = (float((one + np.asarray(small).astype(dtype)).astype(dtype)), float(np.asarray(eps).astype(dtype)))
    return out


def adam_step_in_float16(grad: tuple[float, ...] = (1e-4, 1.0), lr: float = 1e-3) -> tuple[str, np.ndarray]:
    """The library's refusal of a float16 step (its message), and the step it takes when opted in:
    reference Adam on weights of 1 with gradient ``grad``, in float16."""
    p, g = np.ones(len(grad), np.float16), np.array(grad, np.float16)
    try:
        Optimizer(RULE, lr=lr).step(p, g)
        message = ""
    except TypeError as error:
        message = str(error)
    with np.errstate(divide="ignore", invalid="ignore"):
        new = Optimizer(RULE, lr=lr, allow_low_precision=True).step(p, g)
    return message, new


def smallest_weight_losing(update: float = LR) -> dict[str, float]:
    """For each format, the power of two :math:`w` from which an update of ``update`` is rounded away: on
    weights of :math:`w` and above, half the gap to the next number of the format exceeds ``update``, so
    ``w - update`` rounds back to ``w`` (:func:`optilab.mixed_precision.spacing`)."""
    candidates = 2.0 ** np.arange(-30, 40)
    out = {}
    for name in mp.FORMATS:
        lost = (mp.spacing(candidates, name) / 2 > update) & (candidates <= mp.describe(name).largest)
        out[name] = float(candidates[np.argmax(lost)]) if lost.any() else float("inf")
    return out


@functools.lru_cache(maxsize=None)
def run(recipe: str, seed: int) -> mp.Run:
    """Adam at :data:`LR` on the lesson's MLP, trained in ``recipe`` (a name of :data:`RECIPES`) from ``seed``."""
    if recipe not in RECIPES:
        raise ValueError(f"unknown recipe {recipe!r}: choose one of {', '.join(RECIPES)}")
    mlp, tuning = practice.setup()
    return mp.train(RULE, mlp, tuning, epochs=practice.EPOCHS, batch_size=practice.BATCH, lr=LR, seed=seed,
                    allow_low_precision=True, **RECIPES[recipe])


def final_losses(recipe: str) -> np.ndarray:
    """The final validation loss of ``recipe``, one per seed of the lesson (inf where the weights became inf or NaN)."""
    return np.array([run(recipe, seed).final_val_loss for seed in practice.SEEDS])


def curves() -> dict[str, np.ndarray]:
    """Each recipe's validation loss after every epoch, the mean over the lesson's seeds (NaN after a failure)."""
    return {name: np.mean([run(name, seed).val_loss for seed in practice.SEEDS], axis=0) for name in RECIPES}


def compare(recipe: str, baseline: str = "float32") -> dict[str, Any]:
    """``recipe`` against ``baseline``, paired by seed (same initial weights, same minibatches).

    Returns ``"mean"`` and ``"half"`` (the 95 % interval of the recipe's mean; NaN if a run failed),
    ``"difference"`` and ``"difference half"`` (of the paired differences recipe − baseline), ``"worse"``
    (seeds on which the recipe ended higher), ``"failed"`` (seeds whose weights became inf or NaN) and
    ``"unchanged"`` (the mean fraction of updates rounded away).
    """
    losses, base = final_losses(recipe), final_losses(baseline)
    finite = bool(np.all(np.isfinite(losses)))
    mean, half = practice.interval(losses) if finite else (float("inf"), float("nan"))
    diff, diff_half = practice.interval(losses - base) if finite else (float("inf"), float("nan"))
    runs = [run(recipe, seed) for seed in practice.SEEDS]
    return {"mean": mean, "half": half, "difference": diff, "difference half": diff_half,
            "worse": int(np.sum(losses > base)), "failed": sum(r.first_nonfinite is not None for r in runs),
            "first non-finite steps": [r.first_nonfinite for r in runs],
            "unchanged": float(np.mean([r.unchanged_fraction for r in runs])),
            "skipped": int(sum(len(r.skipped) for r in runs))}


def activation_gradients(seed: int = 0) -> np.ndarray:
    r"""The gradient of the loss with respect to the hidden layer's pre-activations,
    :math:`\delta_1 = (\delta_2 W_2^\top) \odot (1 - h^2)` with :math:`\delta_2 = (P - Y)/n`, every entry
    for every minibatch of one epoch, in float64, at the weights float32 training ended with (``seed``)."""
    mlp, (X, y, _, _) = practice.setup()
    params = {k: v.astype(np.float64) for k, v in run("float32", seed).params.items()}
    out = []
    for X_batch, y_batch in data.minibatches(X, y, practice.BATCH, seed=seed, epoch=practice.EPOCHS):
        delta = mlp.predict_proba(params, X_batch)
        delta[np.arange(len(y_batch)), y_batch] -= 1.0
        delta /= len(y_batch)
        h = np.tanh(X_batch @ params["W1"] + params["b1"])
        out.append(((delta @ params["W2"].T) * (1.0 - h * h)).ravel())
    return np.concatenate(out)


def underflow(values: np.ndarray, scale: float = 1.0, dtype: str = "float16") -> dict[str, float]:
    """Of the nonzero ``values`` multiplied by ``scale`` and stored in ``dtype``: the fractions that
    become 0 (``"zero"``), that are subnormal, with fewer bits of precision (``"subnormal"``), and that
    overflow to inf (``"overflow"``)."""
    info = mp.describe(dtype)
    scaled = np.abs(np.asarray(values, dtype=np.float64)[np.asarray(values) != 0]) * float(scale)
    with np.errstate(over="ignore"):
        stored = scaled.astype(mp.dtype_of(dtype)).astype(np.float64)
    return {"zero": float(np.mean(stored == 0)),
            "subnormal": float(np.mean((stored > 0) & (stored < info.smallest_normal))),
            "overflow": float(np.mean(np.isinf(stored)))}


@functools.lru_cache(maxsize=None)
def static_scales(scales: tuple[float, ...] = (2.0 ** 10, 2.0 ** 24), seed: int = 0) -> dict[float, mp.Run]:
    """float16 with fp32 master weights and a static loss scale, one run per scale of ``scales``."""
    mlp, tuning = practice.setup()
    return {s: mp.train(RULE, mlp, tuning, compute="float16", master="float32", loss_scale=float(s),
                        epochs=practice.EPOCHS, batch_size=practice.BATCH, lr=LR, seed=seed, allow_low_precision=True)
            for s in scales}


def activation_bytes(formats: tuple[str, ...] = ("float32", "float16")) -> dict[str, int]:
    """Bytes of the activations one minibatch of the lesson keeps for the backward pass (the inputs, each
    layer's pre-activations and the hidden layer's outputs), stored in each of ``formats``."""
    mlp, (X, _, _, _) = practice.setup()
    params = mlp.init(0)
    out = {}
    for name in formats:
        dtype = mp.dtype_of(name)
        h0 = X[: practice.BATCH].astype(dtype)
        a1 = (h0.astype(np.float64) @ params["W1"] + params["b1"]).astype(dtype)
        h1 = np.tanh(a1.astype(np.float64)).astype(dtype)
        a2 = (h1.astype(np.float64) @ params["W2"] + params["b2"]).astype(dtype)
        out[name] = int(sum(a.nbytes for a in (h0, a1, h1, a2)))
    return out


def bytes_per_parameter() -> dict[str, dict[str, float]]:
    """For Adam in float32, float16 with fp32 master weights, and bfloat16 everywhere: bytes per
    parameter of the weights, gradients, master weights and optimizer state, measured on the lesson's
    MLP's real arrays (:func:`optilab.mixed_precision.training_bytes`), and ``"total"``; ``"GPT-2 small
    (GB)"`` is the total for GPT-2 small's parameter count."""
    mlp, _ = practice.setup()
    recipes = {"float32": {"compute": "float32"},
               "float16 + fp32 master": {"compute": "float16", "master": "float32"},
               "bfloat16 everywhere": {"compute": "bfloat16"}}
    out = {}
    for name, kwargs in recipes.items():
        sizes = mp.training_bytes(RULE, mlp, allow_low_precision=True, **kwargs)
        row = {k: v / mlp.n_params for k, v in sizes.items()}
        row["total"] = sum(sizes.values()) / mlp.n_params
        row["GPT-2 small (GB)"] = row["total"] * memory.gpt2_parameters() / 1e9
        out[name] = row
    return out
