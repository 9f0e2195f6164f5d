r"""How much memory an optimizer's state takes, for models of real sizes.

Most update rules keep their state in arrays the shape of each parameter: momentum keeps one
(the velocity :math:`v`), Adam two (:math:`m` and :math:`v`), AMSGrad three, Lion one. For a
model with :math:`n` parameters stored in ``b`` bytes each, the state takes :math:`k \cdot n \cdot b`
bytes, on top of the :math:`n b` of the parameters and the :math:`n b` of their gradients.

:func:`state_arrays` counts :math:`k` by running the rule for one step, so it holds for any
function that follows the update-rule contract, a student's included.

Some rules keep state of other shapes (CONTRACT.md, "Rules that do not fit one array"):
Adafactor keeps one number per row and one per column of a matrix (:math:`r + c` numbers for
:math:`r c` parameters), and Muon takes matrices only, the other parameters going to AdamW. Their
memory depends on the shapes of the parameters, not only on their number: :func:`state_numbers`
counts the numbers of state of one parameter, and :func:`model_state_bytes` those of a model given
as its parameters' shapes (:func:`gpt2_shapes` for GPT-2).

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

__all__ = ["state_arrays", "state_bytes", "state_numbers", "model_state_bytes", "gpt2_parameters", "gpt2_shapes",
           "GPT2_SIZES"]


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
    grads = (np.array([1.0, 2.0, -3.0]), np.array([0.5, -1.0, 1.0]))
    if isinstance(rule, str) and _matrix_only(rule):  # Muon: a 3×1 matrix of the same numbers
        param, grads = param[:, None], tuple(g[:, None] for g in grads)
    for grad in grads:
        param, state = function(param, grad, state)
    return sum(isinstance(value, np.ndarray) and value.shape == param.shape for value in state.values())


def _matrix_only(rule: str) -> bool:
    from optilab import rules

    return rules.get(rule).params == "matrix"


def state_numbers(rule: Callable | str, shape: tuple[int, ...]) -> int:
    """How many numbers of state ``rule`` keeps for one parameter of ``shape`` (the step count not counted).

    For a rule of the table, read from its record's state slots and their shapes (so it costs
    nothing for a large ``shape``); for a function, counted by running it for two steps on a
    parameter of ``shape``.

    >>> state_numbers("adam", (768, 3072)), state_numbers("adafactor", (768, 3072))
    (4718592, 3840)
    >>> state_numbers("adafactor", (768,))  # a vector is not factored
    768
    """
    shape = tuple(int(n) for n in shape)
    if not callable(rule):
        from optilab import rules

        record = rules.get(rule)
        if record.params == "matrix" and len(shape) != 2:
            raise ValueError(f"{rule} takes matrices only, and {shape} is not one: count it with the rule that "
                             "trains it (model_state_bytes(..., others='adamw'))")
        sizes = {"param": shape, "rows": shape[:-1], "cols": shape[:-2] + shape[-1:], "scalar": ()}
        present = [slot for slot in record.state if slot.kind != "count"
                   and (slot.ndim == "any" or (slot.ndim == "2+") == (len(shape) >= 2))]
        return sum(int(np.prod(sizes[slot.shape])) for slot in present)
    rng = np.random.default_rng(0)
    param, state = rng.standard_normal(shape), {}
    for _ in range(2):
        param, state = rule(param, rng.standard_normal(shape), state)
    return sum(int(np.size(value)) for value in state.values() if isinstance(value, (np.ndarray, np.floating)))


def model_state_bytes(shapes: list[tuple[int, ...]], rule: str, dtype: np.dtype | type | str = np.float32,
                      others: str = "adamw") -> int:
    """Bytes of optimizer state for a model whose parameters have ``shapes``, trained by ``rule``.

    A rule of matrices only (Muon) trains the 2-d parameters, and ``others`` the rest (Muon's recipe:
    AdamW for biases, gains and embeddings... here every parameter that is not 2-d).

    >>> model_state_bytes([(1000, 1000), (1000,)], "adafactor")  # 1000 + 1000 for the matrix, 1000 for the vector
    12000
    """
    total = 0
    for shape in shapes:
        by = others if (_matrix_only(rule) and len(tuple(shape)) != 2) else rule
        total += state_numbers(by, tuple(shape))
    return total * np.dtype(dtype).itemsize


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


def gpt2_shapes(n_layer: int = 12, d_model: int = 768, vocab: int = 50257, n_ctx: int = 1024) -> list[tuple[int, ...]]:
    """The shapes of GPT-2's parameters, in the order of :func:`gpt2_parameters`'s count (its sum).

    Embeddings ``(vocab, d)`` and ``(n_ctx, d)``; per block two layer norms (a gain and a bias of
    ``(d,)`` each), the attention's ``(d, 3d)`` and ``(3d,)``, ``(d, d)`` and ``(d,)``, the MLP's
    ``(d, 4d)``, ``(4d,)``, ``(4d, d)``, ``(d,)``; a final layer norm.

    >>> sum(int(np.prod(s)) for s in gpt2_shapes()) == gpt2_parameters()
    True
    """
    d = int(d_model)
    norm = [(d,), (d,)]
    block = [*norm, (d, 3 * d), (3 * d,), (d, d), (d,), *norm, (d, 4 * d), (4 * d,), (4 * d, d), (d,)]
    return [(vocab, d), (n_ctx, d), *block * int(n_layer), *norm]
