r"""How PyTorch and Keras spell each optilab rule: class, argument names, defaults, differences.

One table, :data:`TABLE`, with a row per rule in :data:`optilab.kernels.RULES`. Each row
says which ``torch.optim`` and ``keras.optimizers`` class computes the rule, the arguments
that reproduce optilab's defaults, the class's own defaults (which often differ), and what
differs in the maths. :func:`to_torch` and :func:`to_keras` translate optilab
hyperparameters into a framework's keyword arguments; :func:`markdown` renders the table.

Facts checked against torch 2.13 (``inspect.signature(torch.optim.Adam)`` and a step of each
class, in the tests) and against the Keras 3 sources (``keras/src/optimizers/*.py``).
Symbols as in the lessons: :math:`\alpha` lr, :math:`\mu` momentum, :math:`\rho`,
:math:`\beta_1, \beta_2` decay rates, :math:`\epsilon`, :math:`\lambda` weight decay.

Examples
--------
>>> to_torch("rmsprop", lr=0.01, rho=0.9)
('RMSprop', {'lr': 0.01, 'alpha': 0.9})
>>> to_keras("adam", lr=0.001, beta1=0.8)
('Adam', {'learning_rate': 0.001, 'beta_1': 0.8})
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any

from optilab.kernels import RULES

__all__ = ["Spelling", "Row", "TABLE", "our_defaults", "to_torch", "to_keras", "markdown"]


@dataclass(frozen=True)
class Spelling:
    """How one framework computes one optilab rule.

    Attributes
    ----------
    cls : str
        The class name in ``torch.optim`` or ``keras.optimizers``.
    fixed : dict
        Arguments that select the rule and are not optilab hyperparameters
        (e.g. ``{"nesterov": True}``, or Keras's ``initial_accumulator_value=0.0``).
    defaults : dict
        The class's own defaults for the arguments that matter, in the framework's names.
    exact : bool
        True when, with optilab's hyperparameters translated, the framework computes the same
        numbers as the optilab rule (to round-off, for a constant lr).
    differences : str
        What differs from optilab's rule, in one sentence ('' when nothing does).
    """

    cls: str
    fixed: dict[str, Any] = field(default_factory=dict)
    defaults: dict[str, Any] = field(default_factory=dict)
    exact: bool = True
    differences: str = ""


@dataclass(frozen=True)
class Row:
    """One rule: its optilab name and its PyTorch and Keras spellings."""

    rule: str
    torch: Spelling
    keras: Spelling


_TORCH_NAMES = {"rho": "alpha"}  # beta1, beta2 -> betas=(beta1, beta2), handled in to_torch
_KERAS_NAMES = {"lr": "learning_rate", "beta1": "beta_1", "beta2": "beta_2", "eps": "epsilon", "rho": "rho"}

_KERAS_EPS = "ε is added inside the square root (√(s + ε)), and Keras's default ε is 1e-7"

#: The table: one row per rule in :data:`optilab.kernels.RULES`, in the same order.
TABLE: tuple[Row, ...] = (
    Row("sgd",
        Spelling("SGD", defaults={"lr": 1e-3, "momentum": 0}),
        Spelling("SGD", defaults={"learning_rate": 0.01, "momentum": 0.0})),
    Row("momentum",
        Spelling("SGD", defaults={"lr": 1e-3, "momentum": 0, "dampening": 0}),
        Spelling("SGD", defaults={"learning_rate": 0.01, "momentum": 0.0},
                 differences="Sutskever's form, velocity ← μ·velocity − α·g; "
                             "the same steps for a constant α, not under a schedule")),
    Row("nesterov",
        Spelling("SGD", fixed={"nesterov": True}, defaults={"lr": 1e-3, "momentum": 0, "nesterov": False}),
        Spelling("SGD", fixed={"nesterov": True},
                 defaults={"learning_rate": 0.01, "momentum": 0.0, "nesterov": False},
                 differences="Sutskever's form, as for momentum; "
                             "the same steps for a constant α")),
    Row("adagrad",
        Spelling("Adagrad", defaults={"lr": 1e-2, "eps": 1e-10, "initial_accumulator_value": 0}),
        Spelling("Adagrad", fixed={"initial_accumulator_value": 0.0},
                 defaults={"learning_rate": 1e-3, "epsilon": 1e-7, "initial_accumulator_value": 0.1},
                 exact=False,
                 differences=_KERAS_EPS + "; the sum of squares starts at 0.1, not 0")),
    Row("rmsprop",
        Spelling("RMSprop", defaults={"lr": 1e-2, "alpha": 0.99, "eps": 1e-8}),
        Spelling("RMSprop", defaults={"learning_rate": 1e-3, "rho": 0.9, "epsilon": 1e-7},
                 exact=False, differences=_KERAS_EPS + "; ρ defaults to 0.9, not 0.99")),
    Row("adam",
        Spelling("Adam", defaults={"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0}),
        Spelling("Adam", defaults={"learning_rate": 1e-3, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7},
                 exact=False,
                 differences="ε is added to √v before bias correction (the same as ε/√(1−β₂ᵗ) added to √v̂), "
                             "default 1e-7; weight_decay= is decoupled, as in AdamW")),
    Row("adamw",
        Spelling("AdamW",
                 defaults={"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 1e-2}),
        Spelling("AdamW",
                 defaults={"learning_rate": 1e-3, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7,
                           "weight_decay": 0.004},
                 exact=False,
                 differences="ε as in Keras's Adam; λ defaults to 0.004, not 0.01")),
    Row("amsgrad",
        Spelling("Adam", fixed={"amsgrad": True},
                 defaults={"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "amsgrad": False}),
        Spelling("Adam", fixed={"amsgrad": True},
                 defaults={"learning_rate": 1e-3, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7,
                           "amsgrad": False},
                 exact=False, differences="ε as in Keras's Adam")),
)

_BY_RULE = {row.rule: row for row in TABLE}


def _row(rule: str) -> Row:
    try:
        return _BY_RULE[rule]
    except KeyError:
        raise KeyError(f"no rule named {rule!r}; the table has {sorted(_BY_RULE)}") from None


def our_defaults(rule: str) -> dict[str, Any]:
    """optilab's defaults for ``rule``, read from the reference rule's signature.

    >>> our_defaults("rmsprop")["rho"]
    0.99
    """
    _row(rule)
    parameters = inspect.signature(RULES[rule]).parameters.values()
    return {p.name: p.default for p in parameters if p.kind is inspect.Parameter.KEYWORD_ONLY}


def _hyperparameters(rule: str, given: dict[str, Any]) -> dict[str, Any]:
    """optilab's defaults for ``rule`` overridden by ``given``; rejects unknown names."""
    values = our_defaults(rule)
    unknown = set(given) - set(values)
    if unknown:
        raise TypeError(f"{rule} has no hyperparameter {sorted(unknown)}; its hyperparameters are "
                        f"{sorted(values)}")
    values.update(given)
    return values


def to_torch(rule: str, **hyperparameters: Any) -> tuple[str, dict[str, Any]]:
    """The ``torch.optim`` class and keyword arguments that compute ``rule``.

    Only the hyperparameters given are translated, plus the arguments that select the rule
    (``momentum``, ``nesterov=True``, ``amsgrad=True``); pass every hyperparameter to get
    optilab's defaults, since torch's own defaults differ (e.g. ``SGD``'s lr is 1e-3).

    Parameters
    ----------
    rule : str
        A name in :data:`optilab.kernels.RULES`.
    **hyperparameters
        optilab hyperparameters (``lr``, ``rho``, ``beta1``, ``beta2``, ``eps``, ...).

    Returns
    -------
    (str, dict)
        The class name in ``torch.optim`` and its keyword arguments.
    """
    row = _row(rule)
    values = _hyperparameters(rule, hyperparameters)
    kwargs: dict[str, Any] = {}
    for name in hyperparameters:
        if name in ("beta1", "beta2"):
            kwargs["betas"] = (values["beta1"], values["beta2"])
        else:
            kwargs[_TORCH_NAMES.get(name, name)] = values[name]
    if rule in ("momentum", "nesterov"):
        kwargs["momentum"] = values["momentum"]
    kwargs.update(row.torch.fixed)
    return row.torch.cls, kwargs


def to_keras(rule: str, **hyperparameters: Any) -> tuple[str, dict[str, Any]]:
    """The ``keras.optimizers`` class and keyword arguments closest to ``rule``.

    As :func:`to_torch`; see the row's ``keras.exact`` and ``keras.differences`` for what
    Keras computes differently.
    """
    row = _row(rule)
    values = _hyperparameters(rule, hyperparameters)
    kwargs = {_KERAS_NAMES.get(name, name): values[name] for name in hyperparameters}
    if rule in ("momentum", "nesterov"):
        kwargs["momentum"] = values["momentum"]
    kwargs.update(row.keras.fixed)
    return row.keras.cls, kwargs


def _call(prefix: str, cls: str, kwargs: dict[str, Any]) -> str:
    arguments = ", ".join(["params"] * (prefix == "torch.optim") + [f"{k}={v!r}" for k, v in kwargs.items()])
    return f"`{prefix}.{cls}({arguments})`"


def _defaults(values: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in values.items())


def markdown() -> str:
    """The table as Markdown: each rule with optilab's defaults, and its PyTorch and Keras calls.

    The calls reproduce optilab's defaults; the framework's own defaults and the differences
    are listed beside them.
    """
    lines = [
        "| optilab | PyTorch (with optilab's defaults) | PyTorch defaults | Keras (closest) | Keras defaults "
        "| Keras differs |",
        "|---|---|---|---|---|---|",
    ]
    for row in TABLE:
        ours = {k: v for k, v in our_defaults(row.rule).items() if v not in (0.0, False) or k == "lr"}
        torch_cls, torch_kwargs = to_torch(row.rule, **ours)
        keras_cls, keras_kwargs = to_keras(row.rule, **ours)
        lines.append(
            f"| `{row.rule}` | {_call('torch.optim', torch_cls, torch_kwargs)} | {_defaults(row.torch.defaults)} "
            f"| {_call('keras.optimizers', keras_cls, keras_kwargs)} | {_defaults(row.keras.defaults)} "
            f"| {row.keras.differences or '—'} |"
        )
    return "\n".join(lines)
