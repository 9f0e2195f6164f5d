r"""The machinery of whole-model rules (CONTRACT.md, "Whole-model steps"); the rules are in
:mod:`optilab.model_rules`.

A whole-model rule takes dicts from a parameter's name to its array::

    new_params, new_state = rule(params, grads, state, *, lr=..., <hyperparameters>)

with ``new_params`` and ``grads`` holding the names of ``params``; a rule that needs a second
gradient gets ``grad_fn(params) -> grads`` as a keyword argument. Here: :func:`global_norm` (the
norm of all the gradients together), :func:`per_parameter` (a per-parameter rule applied to every
array; its state is one state per parameter, by name, as :class:`optilab.Optimizer` keeps it),
:class:`ModelOptimizer` (a whole-model rule stepping a model, as :class:`optilab.Optimizer` steps each
parameter: :func:`optilab.training.train`'s loop runs either), :func:`train` (that loop with any rule
applied to the whole model, counting the backward passes), and the runs the labs' tests ask
a notebook for (:func:`wrapped_steps`, :func:`sam_steps`: plain arrays in, plain arrays out).

>>> grads = {"W": np.full((2, 2), 3.0), "b": np.array([0.0, 4.0])}
>>> round(global_norm(grads) ** 2, 12)
52.0
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from optilab import rules as _rules
from optilab.optimizer import Optimizer

__all__ = ["global_norm", "per_parameter", "train", "ModelOptimizer", "is_whole_model", "wrapped_steps", "sam_steps", "called"]

Params = dict[str, np.ndarray]


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


class ModelOptimizer(Optimizer):
    """A whole-model rule stepping every parameter at once, as :class:`~optilab.Optimizer` steps each
    one: the same learning rates (a number or a schedule, checked), hyperparameters (checked against the
    rule's signature) and step count; the state is the rule's own, and a rule that needs the gradient
    at other parameters (``rule.needs`` or a ``grad_fn`` keyword) gets ``grad_fn`` with each step."""

    def __init__(self, rule: Callable, lr: Any = None, **hyperparameters: Any):
        super().__init__(rule, lr, **hyperparameters)
        try:
            wants = "grad_fn" in inspect.signature(rule).parameters
        except (TypeError, ValueError):
            wants = False
        self.wants_grad_fn = wants or "grad_fn" in getattr(rule, "needs", ())

    def step(self, params: Params, grads: Params, grad_fn: Callable[[Params], Params] | None = None) -> Params:
        """One step of the rule on the whole model; ``grad_fn(p)`` is the gradient of the same minibatch at ``p``."""
        extra = {"grad_fn": grad_fn} if self.wants_grad_fn else {}
        params, self.state = self.rule(params, grads, self.state, lr=self.lr_at(self.t), **extra,
                                       **self.hyperparameters)
        self.t += 1
        return params

    @property
    def evaluate_at(self) -> None:
        return None


def train(rule: Callable | str, model: Any, data: Any, *, epochs: int = 10, batch_size: int | None = 32,
          lr: float | Callable[[int], float] = 1e-2, seed: int = 0, max_growth: float = 1e3,
          scope: str | None = None, **hyperparameters: Any):
    r"""Train ``model`` with a whole-model rule (or a per-parameter one, applied to each array).

    :func:`optilab.training.train` with the rule taking every parameter at once (the same data forms,
    minibatches, evaluation after each epoch and :class:`~optilab.training.History`; its loop), and,
    if it needs one (``rule.needs``), ``grad_fn``: the gradient of the same minibatch at other
    parameters. ``lr`` is a number or a schedule ``t -> lr`` (``t`` counts steps from 0).
    ``History.hyperparameters["gradient_calls"]`` counts the backward passes. A function of your
    own that takes the whole model says so with ``scope="model"`` (or a ``scope`` attribute); it
    gets ``grad_fn`` when its signature has that keyword.
    """
    from optilab.training import train as train_model

    if scope not in (None, "model", "parameter"):
        raise ValueError(f'scope must be "model" or "parameter"; got {scope!r}')
    step = rule if scope == "model" else per_parameter(rule)
    return train_model(step, model, data, epochs=epochs, batch_size=batch_size, lr=lr, seed=seed,
                       max_growth=max_growth, scope="model", **hyperparameters)


def wrapped_steps(wrapper: Callable, rule: Callable | str, max_norm: float, params: Params, grads: list[Params],
                  lrs: list[float], **hyperparameters: Any) -> list[Params]:
    """The parameters after each step of ``wrapper(rule, max_norm)`` (e.g. your
    ``clip_by_global_norm``), given the gradients of each step and its lr: what the labs' tests
    ask a notebook for, in plain arrays."""
    step = wrapper(rule, max_norm)
    state: dict = {}
    out = []
    for g, lr in zip(grads, lrs):
        params, state = step(params, g, state, lr=float(lr), **hyperparameters)
        out.append({name: np.asarray(value) for name, value in params.items()})
    return out


def sam_steps(rule: Callable, sizes: tuple[int, ...], X: np.ndarray, y: np.ndarray, params: Params,
              lrs: list[float], **hyperparameters: Any) -> dict[str, list]:
    """Run a SAM-like whole-model rule (``rule(params, grads, state, *, grad_fn, lr, ...)``) on
    ``optilab.models.MLP(sizes)`` with the full batch ``(X, y)``, one step per lr.

    Returns plain data: ``"params"``, the parameters after each step; ``"points"``, for each step
    the parameters at which the rule called ``grad_fn`` (a list, empty if it never did);
    ``"changed"``, for each step whether the rule changed the ``params`` or ``grads`` it was given.
    """
    from optilab.models import MLP

    model = MLP(tuple(int(s) for s in sizes))
    out: dict[str, list] = {"params": [], "points": [], "changed": []}
    state: dict = {}
    for lr in lrs:
        points: list[Params] = []

        def grad_fn(p: Params) -> Params:
            points.append({name: np.array(value, dtype=float) for name, value in p.items()})
            return model.loss_and_grads(p, X, y)[1]

        grads = model.loss_and_grads(params, X, y)[1]
        given = {name: (params[name].copy(), grads[name].copy()) for name in params}
        old = params
        params, state = rule(params, grads, state, grad_fn=grad_fn, lr=float(lr), **hyperparameters)
        out["changed"].append(any(not (np.array_equal(old[k], p) and np.array_equal(grads[k], g))
                                  for k, (p, g) in given.items()))
        out["params"].append({name: np.asarray(value) for name, value in params.items()})
        out["points"].append(points)
    return out


def called(func: Callable, *args: Any, **kwargs: Any) -> dict[str, Any]:
    """``func(*args, **kwargs)``, and its arguments after the call: ``{"value": ..., "args": [...]}``
    (a lab's tests see from it whether a function changed the dicts it was given)."""
    value = func(*args, **kwargs)
    return {"value": value, "args": list(args)}
