r"""Whole-model rules: steps that need every parameter at once (CONTRACT.md, "Whole-model steps").

A whole-model rule takes dicts from a parameter's name to its array::

    new_params, new_state = rule(params, grads, state, *, lr=..., <hyperparameters>)

with ``new_params`` and ``grads`` holding the names of ``params``. Two kinds are here:

- :func:`clip_by_global_norm` wraps any rule (a per-parameter rule, its name, or a whole-model
  rule): every gradient is scaled by :math:`\min(1, c/\|g\|)` with :math:`\|g\|` the norm of *all*
  the gradients together (:func:`global_norm`), then the rule steps;
- :func:`sam` (sharpness-aware minimisation) takes a second gradient at a point it chooses: it
  receives ``grad_fn(params) -> grads`` as a keyword argument, one backward pass per call
  (the record's ``needs = ("grad_fn",)``).

:func:`per_parameter` turns a per-parameter rule into a whole-model one (state: one dict per
parameter, by name, as :class:`optilab.Optimizer` keeps it); :func:`train` trains a model of
:mod:`optilab.models` with a whole-model rule, as :func:`optilab.training.train` does with a
per-parameter one. :data:`RECORDS` holds the rule-table records of the whole-model rules.

>>> from optilab import models
>>> model, X, y = models.LinearRegression(2), np.array([[1.0, 0.0], [0.0, 2.0]]), np.array([1.0, -1.0])
>>> params = model.init()
>>> grads = model.loss_and_grads(params, X, y)[1]
>>> step = clip_by_global_norm("sgd", max_norm=0.1)
>>> new, state = step(params, grads, {}, lr=1.0)
>>> round(global_norm({k: params[k] - new[k] for k in params}), 12)
0.1
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from optilab import rules as _rules

__all__ = ["global_norm", "per_parameter", "clip_by_global_norm", "sam", "sharpness_aware", "train",
           "ModelRule", "RECORDS", "is_whole_model"]

Params = dict[str, np.ndarray]
#: torch's SAM (and Foret et al.'s code) divide by ‖g‖ + 1e-12, so that a zero gradient does not divide by 0.
SAM_EPS = 1e-12


@dataclass(frozen=True)
class ModelRule(_rules.Rule):
    """A rule-table record of a whole-model rule (``scope="model"``): its function lives in this module."""

    @property
    def function(self) -> Callable[..., tuple[Any, dict]]:
        return getattr(importlib.import_module("optilab.whole_model"), self.name)


#: The records of the whole-model rules, in the rule table's format (:class:`optilab.rules.Rule`).
RECORDS: tuple[ModelRule, ...] = (
    ModelRule("sam", "ε = ρ·g/‖g‖ (‖g‖ over all parameters); g' = ∇L(p + ε); p ← p − lr·g'", ("lr", "rho"),
              color="#882255",  # Tol's wine
              scope="model", needs=("grad_fn",),
              paper='Foret, Kleiner, Mobahi & Neyshabur (2021), "Sharpness-Aware Minimization for '
                    'Efficiently Improving Generalization"'),
)


def is_whole_model(rule: Any) -> bool:
    """True for a whole-model rule: one made here, or any function marked ``rule.scope = "model"``."""
    return getattr(rule, "scope", "parameter") == "model"


def _check_names(params: Mapping[str, np.ndarray], grads: Mapping[str, np.ndarray], what: str) -> None:
    if not isinstance(params, Mapping) or not isinstance(grads, Mapping):
        raise TypeError(f"{what} takes params and grads as dicts from a parameter's name to its array; got "
                        f"{type(params).__name__} and {type(grads).__name__}")
    if set(params) != set(grads):
        raise ValueError(f"{what}: grads must have the names of params; params has {sorted(params)}, "
                         f"grads has {sorted(grads)}")


def global_norm(grads: Mapping[str, np.ndarray]) -> float:
    r""":math:`\|g\| = \sqrt{\sum_k \sum_i g_{k,i}^2}`: the norm of all the arrays together, as one vector."""
    return float(np.sqrt(sum(float(np.sum(np.square(g, dtype=np.float64))) for g in grads.values())))


def per_parameter(rule: Callable | str) -> Callable:
    """A per-parameter rule (or the name of a reference rule) applied to every array of a model;
    the state is one state per parameter, by name."""
    if is_whole_model(rule):
        return rule  # already takes the whole model
    if isinstance(rule, str):
        from optilab.kernels import RULES

        _rules.get(rule, among=RULES)
        rule = RULES[rule]
    inner = rule

    def step(params: Params, grads: Params, state: dict, *, lr: float, **hyperparameters: Any) -> tuple[Params, dict]:
        _check_names(params, grads, getattr(inner, "__name__", "rule"))
        new_params, new_state = {}, {}
        for name in params:
            new_params[name], new_state[name] = inner(params[name], grads[name], state.get(name, {}), lr=lr,
                                                      **hyperparameters)
        return new_params, new_state

    step.scope = "model"
    step.__name__ = getattr(inner, "__name__", "rule")
    return step


def clip_by_global_norm(rule: Callable | str, max_norm: float) -> Callable:
    r"""A whole-model rule: scale every gradient by :math:`\min(1, c/\|g\|)`, then step with ``rule``.

    :math:`\|g\|` is :func:`global_norm` of all the gradients (zero gradients are left as they are);
    ``c = max_norm``. ``rule`` is a per-parameter rule, its name, or a whole-model rule; its state
    is the wrapped rule's. PyTorch: ``torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)``
    before ``optimizer.step()`` (torch divides by :math:`\|g\| + 10^{-6}`). Keyword arguments of the
    returned rule go to ``rule`` (``grad_fn`` too, for a rule that needs it).
    """
    if not max_norm > 0:
        raise ValueError(f"max_norm must be positive; got {max_norm}.")
    inner = per_parameter(rule)

    def clipped(params: Params, grads: Params, state: dict, *, lr: float, **hyperparameters: Any) -> tuple[Params, dict]:
        _check_names(params, grads, "clip_by_global_norm")
        norm = global_norm(grads)
        factor = min(1.0, max_norm / norm) if norm > 0 else 1.0
        scaled = {name: (g * factor).astype(np.asarray(g).dtype, copy=False) for name, g in grads.items()}
        return inner(params, scaled, state, lr=lr, **hyperparameters)

    clipped.scope = "model"
    clipped.needs = getattr(inner, "needs", ())
    clipped.__name__ = f"clip_by_global_norm({getattr(inner, '__name__', 'rule')}, {max_norm:g})"
    return clipped


def _ascent(params: Params, grads: Params, rho: float) -> Params:
    """The SAM point :math:`p + \\rho\\, g/(\\|g\\| + 10^{-12})`, with the global norm."""
    scale = rho / (global_norm(grads) + SAM_EPS)
    return {name: params[name] + scale * grads[name] for name in params}


def sam(params: Params, grads: Params, state: dict, *, grad_fn: Callable[[Params], Params], lr: float = 1e-2,
        rho: float = 0.05) -> tuple[Params, dict]:
    r"""One step of SAM with plain SGD (Foret et al. 2021, Algorithm 1); calls ``grad_fn`` once.

    .. math::
        \hat\epsilon = \rho\,\frac{g}{\|g\|}, \qquad g' = \nabla L(p + \hat\epsilon), \qquad p \leftarrow p - \alpha\, g'

    with :math:`\|g\|` over all parameters (:func:`global_norm`; the denominator is
    :math:`\|g\| + 10^{-12}`, as in the paper's code). ``grads`` is :math:`\nabla L(p)`, the step's
    first gradient; ``grad_fn`` gives the second, at :math:`p + \hat\epsilon` (the same minibatch).
    The state is empty. :func:`sharpness_aware` puts any other rule in place of SGD.
    """
    _check_names(params, grads, "sam")
    second = grad_fn(_ascent(params, grads, rho))
    _check_names(params, second, "sam's grad_fn")
    return {name: params[name] - lr * second[name] for name in params}, {}


sam.scope = "model"
sam.needs = ("grad_fn",)


def sharpness_aware(rule: Callable | str, rho: float = 0.05) -> Callable:
    """SAM around any rule: the gradient at :math:`p + ρ g/‖g‖` (one call of ``grad_fn``) is given
    to ``rule`` at :math:`p`. ``sharpness_aware("sgd", rho)`` is :func:`sam`."""
    if not rho >= 0:
        raise ValueError(f"rho must be >= 0; got {rho}.")
    inner = per_parameter(rule)

    def step(params: Params, grads: Params, state: dict, *, grad_fn: Callable[[Params], Params], lr: float,
             **hyperparameters: Any) -> tuple[Params, dict]:
        _check_names(params, grads, "sharpness_aware")
        return inner(params, grad_fn(_ascent(params, grads, rho)), state, lr=lr, **hyperparameters)

    step.scope, step.needs = "model", ("grad_fn",)
    step.__name__ = f"sam({getattr(inner, '__name__', 'rule')}, rho={rho:g})"
    return step


def train(rule: Callable | str, model: Any, data: Any, *, epochs: int = 10, batch_size: int | None = 32,
          lr: float | Callable[[int], float] = 1e-2, seed: int = 0, max_growth: float = 1e3,
          scope: str | None = None, **hyperparameters: Any):
    r"""Train ``model`` with a whole-model rule (or a per-parameter one, applied to each array).

    As :func:`optilab.training.train` (the same data forms, minibatches, evaluation after each epoch
    and :class:`~optilab.training.History`), except that the rule gets every parameter at once and,
    if it needs one (``rule.needs``), ``grad_fn``: the gradient of the same minibatch at other
    parameters. ``lr`` is a number or a schedule ``t -> lr`` (``t`` counts steps from 0).
    ``History.hyperparameters["gradient_calls"]`` counts the backward passes. A function of your
    own that takes the whole model says so with ``scope="model"`` (or a ``scope`` attribute); it
    gets ``grad_fn`` when its signature has that keyword.
    """
    import inspect

    from optilab.data import minibatches
    from optilab.training import History, _unpack

    if scope not in (None, "model", "parameter"):
        raise ValueError(f'scope must be "model" or "parameter"; got {scope!r}')
    step = rule if scope == "model" else per_parameter(rule)
    try:
        wants_grad_fn = "grad_fn" in inspect.signature(step).parameters
    except (TypeError, ValueError):
        wants_grad_fn = False
    wants_grad_fn = wants_grad_fn or "grad_fn" in getattr(step, "needs", ())
    schedule = lr if callable(lr) else (lambda t: float(lr))
    X_train, y_train, X_test, y_test = _unpack(data)
    params = model.init(seed)
    classifier = hasattr(model, "accuracy")
    size = len(X_train) if batch_size is None else int(batch_size)
    calls = 0

    def evaluate(p: Params) -> list[float]:
        row = [model.loss(p, X_train, y_train), model.loss(p, X_test, y_test) if X_test is not None else np.nan]
        if classifier:
            row += [model.accuracy(p, X_train, y_train),
                    model.accuracy(p, X_test, y_test) if X_test is not None else np.nan]
        return row + [np.nan] * (4 - len(row))

    rows, step_loss, lrs, state, diverged = [evaluate(params)], [], [], {}, False
    limit = max_growth * rows[0][0] if np.isfinite(rows[0][0]) and rows[0][0] > 0 else np.inf
    start = time.perf_counter()
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for epoch in range(int(epochs)):
            for X_batch, y_batch in minibatches(X_train, y_train, size, seed=seed, epoch=epoch):
                def grad_fn(p: Params, X_batch: np.ndarray = X_batch, y_batch: np.ndarray = y_batch) -> Params:
                    nonlocal calls
                    calls += 1
                    return model.loss_and_grads(p, X_batch, y_batch)[1]

                loss, grads = model.loss_and_grads(params, X_batch, y_batch)
                calls += 1
                if not (np.isfinite(loss) and all(np.all(np.isfinite(g)) for g in grads.values())) or loss > limit:
                    diverged = True
                    break
                step_loss.append(float(loss))
                lrs.append(float(schedule(len(lrs))))
                extra = {"grad_fn": grad_fn} if wants_grad_fn else {}
                params, state = step(params, grads, state, lr=lrs[-1], **extra, **hyperparameters)
            if diverged:
                break
            rows.append(evaluate(params))
            if not np.isfinite(rows[-1][0]) or rows[-1][0] > limit:
                diverged = True
                break
    table = np.array(rows, dtype=float)
    return History(train_loss=table[:, 0], test_loss=table[:, 1] if X_test is not None else np.array([]),
                   train_accuracy=table[:, 2] if classifier else None,
                   test_accuracy=table[:, 3] if classifier and X_test is not None else None,
                   step_loss=np.array(step_loss), lrs=np.array(lrs), params=params,
                   rule=getattr(step, "__name__", "rule"), diverged=diverged, seconds=time.perf_counter() - start,
                   hyperparameters={**hyperparameters, "gradient_calls": calls})
