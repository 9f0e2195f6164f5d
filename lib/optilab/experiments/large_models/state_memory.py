r"""Lesson 09: the bytes of optimizer state of every rule of the rule table, read from the state
each rule actually returns, for one matrix and for GPT-2 (:func:`gpt2_shapes`)."""

from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

import numpy as np

from optilab import memory
from optilab import rules as _table
from optilab.experiments.large_models.shared import rule_named


__all__ = ["state_layout", "state_bytes", "bytes_per_parameter", "gpt2_shapes", "memory_table"]


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
