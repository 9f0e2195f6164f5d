r"""How much memory an optimizer's state takes, for models of real sizes.

An update rule keeps its state in arrays the shape of each parameter: momentum keeps one
(the velocity :math:`v`), Adam two (:math:`m` and :math:`v`), AMSGrad three. For a model with
:math:`n` parameters stored in ``b`` bytes each, the state takes :math:`k \cdot n \cdot b`
bytes, on top of the :math:`n b` of the parameters and the :math:`n b` of their gradients.

:func:`state_arrays` counts :math:`k` by running the rule for one step, so it holds for any
function that follows the update-rule contract, a student's included.

Examples
--------
>>> state_arrays("adam"), state_arrays("sgd")
(2, 0)
>>> gpt2_parameters()  # GPT-2 small: 12 layers of width 768
124439808
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from optilab.kernels import RULES

__all__ = ["state_arrays", "state_bytes", "gpt2_parameters", "GPT2_SIZES"]


def _rule(rule: Callable | str) -> Callable:
    if callable(rule):
        return rule
    if rule not in RULES:
        raise KeyError(f"no rule named {rule!r}; known rules are {sorted(RULES)}")
    return RULES[rule]


def state_arrays(rule: Callable | str) -> int:
    """How many arrays the size of the parameter ``rule`` keeps in its state.

    Counted, not looked up: the rule takes two steps on a parameter of shape (3,) and the
    state entries that are arrays of that shape are counted (the step count ``t`` is not).

    Parameters
    ----------
    rule : callable or str
        A function following the update-rule contract, or a name in :data:`optilab.kernels.RULES`.

    Returns
    -------
    int
    """
    function = _rule(rule)
    param, state = np.array([0.5, -1.0, 2.0]), {}
    for grad in (np.array([1.0, 2.0, -3.0]), np.array([0.5, -1.0, 1.0])):
        param, state = function(param, grad, state)
    return sum(isinstance(value, np.ndarray) and value.shape == param.shape for value in state.values())


def state_bytes(n_params: int, rule: Callable | str, dtype: np.dtype | type | str = np.float32) -> int:
    r"""Bytes of optimizer state for a model of ``n_params`` parameters stored as ``dtype``.

    :math:`k \cdot n \cdot b` with :math:`k` = :func:`state_arrays` and :math:`b` the bytes of
    one ``dtype`` number (4 for float32).

    >>> state_bytes(1_000_000, "adam")  # two float32 arrays of a million numbers
    8000000
    """
    if int(n_params) < 0:
        raise ValueError(f"n_params must be >= 0, got {n_params}")
    return state_arrays(rule) * int(n_params) * np.dtype(dtype).itemsize


#: GPT-2's published sizes (Radford et al., 2019): layers and width of each model.
GPT2_SIZES: dict[str, dict[str, int]] = {
    "small": {"n_layer": 12, "d_model": 768},
    "medium": {"n_layer": 24, "d_model": 1024},
    "large": {"n_layer": 36, "d_model": 1280},
    "xl": {"n_layer": 48, "d_model": 1600},
}


def gpt2_parameters(n_layer: int = 12, d_model: int = 768, vocab: int = 50257, n_ctx: int = 1024) -> int:
    r"""The number of parameters of a GPT-2 model, counted layer by layer.

    Token and position embeddings (:math:`V d + T d`), then per block: two layer norms
    (:math:`2 \cdot 2d`), the attention's query-key-value projection (:math:`d \cdot 3d + 3d`)
    and output projection (:math:`d^2 + d`), and the MLP (:math:`d \cdot 4d + 4d` and
    :math:`4d \cdot d + d`), that is :math:`12 d^2 + 13 d`; then a final layer norm
    (:math:`2d`). The output layer shares the token embedding's weights.

    Parameters
    ----------
    n_layer, d_model : int
        Number of blocks and width :math:`d` (see :data:`GPT2_SIZES`).
    vocab, n_ctx : int
        Vocabulary size :math:`V` and context length :math:`T`.

    Returns
    -------
    int
    """
    d = int(d_model)
    embeddings = vocab * d + n_ctx * d
    block = 2 * (2 * d) + (d * 3 * d + 3 * d) + (d * d + d) + (d * 4 * d + 4 * d) + (4 * d * d + d)
    return embeddings + n_layer * block + 2 * d
