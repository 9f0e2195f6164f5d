r"""The inputs the contract's properties (:mod:`.properties`) are run on: random parameters,
gradients, states, hyperparameters and learning rates, seeded, and the shapes of a rule's state.

The hidden suites (:mod:`optilab.grading.suites`), the visible checks and the diagnosis of
mistakes all draw their inputs here, so that the same seed gives the same case everywhere. A
state is drawn slot by slot from the rule table (:class:`optilab.rules.Slot`): which slots a
parameter of a given shape has (:func:`slots_for`) and the shape of each (:func:`slot_shape`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from optilab.contract.spec import DEFAULTS, record

__all__ = ["draw", "given_state", "fit", "slots_for", "slot_shape", "case", "random_hyper", "random_lrs"]


def draw(rng: np.random.Generator, shape: tuple[int, ...], dtype: Any = np.float64,
         scale: float | np.ndarray = 1.0) -> np.ndarray:
    """A random array of ``shape`` and ``dtype``: normal entries times ``scale``."""
    return np.asarray(rng.standard_normal(shape) * scale).astype(dtype)


def given_state(rule: str, rng: np.random.Generator, shape: tuple[int, ...], dtype: Any = np.float64,
                t: int = 5) -> dict:
    """A plausible state after ``t`` steps, drawn at random (for resuming from a given state).

    Each entry is drawn by the kind of its slot in the rule table (:class:`optilab.rules.Slot`).
    """
    d = np.dtype(dtype)
    state: dict[str, Any] = {}
    for slot in slots_for(rule, shape):
        where = slot_shape(slot, shape)
        if slot.kind == "count":
            state[slot.name] = t
        elif slot.kind == "signed":
            state[slot.name] = draw(rng, where, d, slot.scale)
        elif slot.kind == "sum":
            state[slot.name] = (rng.uniform(0.05, 2.0, where) * t).astype(d)
        else:  # positive: an average of non-negative numbers
            state[slot.name] = rng.uniform(0.01, 1.0, where).astype(d)
    return state


def fit(rule: str, shape: tuple[int, ...]) -> tuple[int, ...]:
    """``shape``, or for a rule of matrices only (CONTRACT.md: ``params="matrix"``) a matrix of as
    many entries: (n,) becomes (2, n/2) for an even n and (n, 1) for an odd one, () becomes (1, 1)."""
    shape = tuple(shape)
    if record(rule).params == "any" or len(shape) == 2:
        return shape
    n = int(np.prod(shape)) if shape else 1
    return (2, n // 2) if n % 2 == 0 else (n, 1)


def slots_for(rule: str, shape: tuple[int, ...]) -> list:
    """The state slots of ``rule`` that a parameter of ``shape`` has (CONTRACT.md: ``ndim``)."""
    ndim = len(tuple(shape))
    return [slot for slot in record(rule).state
            if slot.ndim == "any" or (slot.ndim == "2+") == (ndim >= 2)]


def slot_shape(slot: Any, shape: tuple[int, ...]) -> tuple[int, ...]:
    """The shape of a state slot for a parameter of ``shape`` (CONTRACT.md: state that is not one array)."""
    shape = tuple(shape)
    if slot.shape == "rows":
        return shape[:-1]
    if slot.shape == "cols":
        return shape[:-2] + shape[-1:]
    if slot.shape == "scalar":
        return ()
    return shape


# --------------------------------------------------------------------------- input recipes
def case(seed: int, shape: tuple[int, ...] = (7,), steps: int = 1, dtype: Any = np.float64,
         scale: float | str = 1.0) -> tuple[np.ndarray, list[np.ndarray]]:
    """A random ``param`` and ``steps`` gradients, seeded.

    ``scale="mixed"`` gives every entry its own magnitude, from 1e-5 to 1, so that where ε
    goes and how small gradients are treated show in the result.
    """
    rng = np.random.default_rng(seed)
    param = draw(rng, shape, dtype)
    s = 10.0 ** rng.uniform(-5, 0, shape) if scale == "mixed" else scale
    return param, [draw(rng, shape, dtype, s) for _ in range(steps)]


def random_hyper(rule: str, seed: int) -> dict[str, float]:
    """Hyperparameters of ``rule`` other than lr, drawn away from their defaults (β₁ < β₂)."""
    rng = np.random.default_rng(seed)
    ranges = {"momentum": (0.4, 0.85), "rho": (0.5, 0.95), "beta1": (0.5, 0.85),
              "beta2": (0.9, 0.99), "weight_decay": (0.02, 0.3), "beta2_decay": (-0.95, -0.5),
              "d": (1.0, 2.0), "momentum_decay": (1e-3, 1e-2)}
    logs = {"eps": (-7, -4), "eps1": (-7, -4), "eps2": (-4, -2)}
    out = {}
    for name in DEFAULTS[rule]:
        if name in ranges:
            out[name] = round(float(rng.uniform(*ranges[name])), 4)
        elif name in logs:
            out[name] = float(f"{10.0 ** rng.uniform(*logs[name]):.2g}")
    return out


def random_lrs(seed: int, steps: int, low: float = 1e-3, high: float = 0.1) -> list[float]:
    """``steps`` learning rates drawn log-uniformly from [low, high]: a schedule that jumps."""
    rng = np.random.default_rng(seed)
    return [float(f"{x:.3g}") for x in 10.0 ** rng.uniform(np.log10(low), np.log10(high), steps)]
