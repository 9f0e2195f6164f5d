r"""How PyTorch and Keras spell each optilab rule: class, argument names, defaults, differences.

One table, :data:`TABLE`, with a row per rule of the rule table (:mod:`optilab.rules`). Each row
says which ``torch.optim`` and ``keras.optimizers`` class computes the rule, the arguments
that reproduce optilab's defaults, the class's own defaults (which often differ), and what
differs in the maths. :func:`to_torch` and :func:`to_keras` translate optilab
hyperparameters into a framework's keyword arguments; :func:`markdown` renders the table.

The spellings are the rule table's (:class:`optilab.rules.Spelling`). Facts checked against
torch 2.13 (``inspect.signature(torch.optim.Adam)`` and a step of each class, in the tests) and against the Keras 3 sources (``keras/src/optimizers/*.py``).
For the rules torch.optim lacks, the PyTorch column names the package that has them
(``lion_pytorch.Lion`` 0.2.5, ``schedulefree.AdamWScheduleFree`` 1.4.1), checked the same way,
and an optax column names optax's function (0.2.8) where the course compares with it (Yogi, Lion).
Keras's Lion, Adafactor, Nadam, Adadelta and Muon are not compared: their Keras cells are "—".
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

from dataclasses import dataclass
from typing import Any

from optilab import rules as _table
from optilab.rules import Spelling

__all__ = ["Spelling", "Row", "TABLE", "our_defaults", "spelled_by", "to_torch", "to_keras", "to_optax", "torch_module",
           "markdown"]


@dataclass(frozen=True)
class Row:
    """One rule: its optilab name and its PyTorch, Keras and optax spellings (from the rule table).

    A spelling is None where that framework does not have the rule, or where the course has not
    compared it (Keras's Lion, Adafactor and Muon); ``torch`` may name a PyTorch package other than
    ``torch.optim`` (``lion_pytorch``, ``schedulefree``) in its ``module``.
    """

    rule: str
    torch: Spelling | None
    keras: Spelling | None
    optax: Spelling | None = None


_KERAS_NAMES = {"lr": "learning_rate", "beta1": "beta_1", "beta2": "beta_2", "eps": "epsilon"}

#: The table: one row per rule of :mod:`optilab.rules` that a framework has, in its order.
TABLE: tuple[Row, ...] = tuple(Row(rule.name, rule.torch, rule.keras, rule.optax) for rule in _table.TABLE
                               if (rule.torch, rule.keras, rule.optax) != (None, None, None))

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
    return _table.get(rule).signature_defaults


def _hyperparameters(rule: str, given: dict[str, Any]) -> dict[str, Any]:
    """optilab's defaults for ``rule`` overridden by ``given``; rejects unknown names."""
    values = our_defaults(rule)
    unknown = set(given) - set(values)
    if unknown:
        raise TypeError(f"{rule} has no hyperparameter {sorted(unknown)}; its hyperparameters are "
                        f"{sorted(values)}")
    values.update(given)
    return values


def spelled_by(rule: str, name: str) -> str:
    """What ``rule`` calls the hyperparameter a framework calls ``name``, as a sentence for an error
    message ('' when no framework of the table spells one of its hyperparameters so).

    >>> spelled_by("adam", "betas")
    "betas=(a, b) is PyTorch's pair; optilab's adam takes it as two arguments: beta1=a, beta2=b."
    >>> spelled_by("rmsprop", "alpha")
    "alpha is PyTorch's name; optilab's rmsprop calls it rho."
    """
    if rule not in _table.BY_NAME:
        return ""
    ours = our_defaults(rule)
    record = _table.BY_NAME[rule]
    for framework, label in (("torch", "PyTorch"), ("keras", "Keras"), ("optax", "optax")):
        spelling = getattr(record, framework)
        if spelling is None:
            continue
        pairs, names = _arguments(spelling, framework)
        if name in pairs and set(pairs[name]) <= set(ours):
            first, second = pairs[name]
            return (f"{name}=(a, b) is {label}'s pair; optilab's {rule} takes it as two arguments: "
                    f"{first}=a, {second}=b.")
        for mine, theirs in names.items():
            if theirs == name and mine in ours:
                return f"{name} is {label}'s name; optilab's {rule} calls it {mine}."
        for other in _table.TABLE:  # torch.optim.SGD(momentum=...) is another rule of optilab's
            theirs = getattr(other, framework)
            if other.name != rule and theirs is not None and theirs.cls == spelling.cls and theirs.module == \
                    spelling.module and (name in theirs.fixed or name in theirs.always):
                return (f"{label}'s {spelling.cls} with {name} is optilab's rule {other.name!r}: "
                        f"use that rule instead of {rule!r}.")
    return ""


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
    spelling = _spelling(rule, "torch")
    return spelling.cls, _translate(rule, spelling, hyperparameters, framework="torch")


def torch_module(rule: str) -> str:
    """The module that holds ``rule``'s PyTorch class: ``"torch.optim"``, or a package of its own.

    >>> torch_module("adam"), torch_module("lion")
    ('torch.optim', 'lion_pytorch')
    """
    return _spelling(rule, "torch").module or "torch.optim"


def to_optax(rule: str, **hyperparameters: Any) -> tuple[str, dict[str, Any]]:
    """The ``optax`` function and keyword arguments that compute ``rule`` (as :func:`to_torch`)."""
    spelling = _spelling(rule, "optax")
    return spelling.cls, _translate(rule, spelling, hyperparameters, framework="optax")


def _spelling(rule: str, framework: str) -> Spelling:
    spelling = getattr(_row(rule), framework)
    if spelling is None:
        has = [f for f in ("torch", "keras", "optax") if getattr(_row(rule), f) is not None]
        raise KeyError(f"{rule} has no {framework} spelling in the table; it has {', '.join(has)}")
    return spelling


def _arguments(spelling: Spelling, framework: str) -> tuple[dict[str, tuple[str, str]], dict[str, str]]:
    """How ``framework`` takes optilab's hyperparameters: its arguments that take a pair (argument ->
    the two hyperparameters; torch's ``betas`` always) and its other names (hyperparameter -> argument,
    where they differ; Keras's usual names first)."""
    pairs = dict(spelling.pairs)
    if framework == "torch":
        pairs.setdefault("betas", ("beta1", "beta2"))
    names = {**_KERAS_NAMES, **spelling.names} if framework == "keras" else dict(spelling.names)
    return pairs, names


def _translate(rule: str, spelling: Spelling, given: dict[str, Any], *, framework: str) -> dict[str, Any]:
    """optilab's hyperparameters ``given`` (and the spelling's ``always``) in the framework's names."""
    values = _hyperparameters(rule, given)
    pairs, names = _arguments(spelling, framework)
    in_pair = {name: (arg, pair) for arg, pair in pairs.items() for name in pair}
    kwargs: dict[str, Any] = {}
    for name in (*given, *spelling.always):
        if name in in_pair:
            arg, pair = in_pair[name]
            kwargs[arg] = tuple(values[n] for n in pair)
        else:
            kwargs[names.get(name, name)] = values[name]
    kwargs.update(spelling.fixed)
    return kwargs


def to_keras(rule: str, **hyperparameters: Any) -> tuple[str, dict[str, Any]]:
    """The ``keras.optimizers`` class and keyword arguments closest to ``rule``.

    As :func:`to_torch`; see the row's ``keras.exact`` and ``keras.differences`` for what
    Keras computes differently.
    """
    keras = _spelling(rule, "keras")
    values = _hyperparameters(rule, hyperparameters)
    _, names = _arguments(keras, "keras")
    kwargs = {names.get(name, name): values[name] for name in (*hyperparameters, *keras.always)}
    kwargs.update(keras.fixed)
    return keras.cls, kwargs


def _call(prefix: str, cls: str, kwargs: dict[str, Any]) -> str:
    arguments = ", ".join(["params"] * (prefix not in ("keras.optimizers", "optax"))
                          + [f"{k}={v!r}" for k, v in kwargs.items()])
    return f"`{prefix}.{cls}({arguments})`"


def _defaults(values: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in values.items())


def markdown() -> str:
    """The table as Markdown: each rule with optilab's defaults, and its PyTorch, Keras and optax calls.

    The calls reproduce optilab's defaults; the framework's own defaults and the differences
    are listed beside them. A rule a framework lacks (or that the course has not compared with
    it) shows "—" there.
    """
    lines = [
        "| optilab | PyTorch (with optilab's defaults) | PyTorch defaults | Keras (closest) | Keras defaults "
        "| Keras differs | optax | optax differs |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in TABLE:
        ours = {k: v for k, v in our_defaults(row.rule).items() if v not in (0.0, False) or k == "lr"}
        cells = []
        if row.torch is not None:
            torch_cls, torch_kwargs = to_torch(row.rule, **ours)
            differs = f" ({row.torch.differences})" if row.torch.differences else ""
            cells += [_call(torch_module(row.rule), torch_cls, torch_kwargs) + differs,
                      _defaults(row.torch.defaults)]
        else:
            cells += ["—", "—"]
        if row.keras is not None:
            keras_cls, keras_kwargs = to_keras(row.rule, **ours)
            cells += [_call("keras.optimizers", keras_cls, keras_kwargs), _defaults(row.keras.defaults),
                      row.keras.differences or "—"]
        else:
            cells += ["—", "—", "—"]
        if row.optax is not None:
            optax_fn, optax_kwargs = to_optax(row.rule, **ours)
            cells += [_call("optax", optax_fn, optax_kwargs), row.optax.differences or "—"]
        else:
            cells += ["—", "—"]
        lines.append(f"| `{row.rule}` | " + " | ".join(cells) + " |")
    return "\n".join(lines)
