r"""The machinery of whole-model rules (CONTRACT.md, "Whole-model steps"); the rules are in
:mod:`optilab.model_rules`.

A whole-model rule takes dicts from a parameter's name to its array::

    new_params, new_state = rule(params, grads, state, *, lr=..., <hyperparameters>)

with ``new_params`` and ``grads`` holding the names of ``params``; a rule that needs a second
gradient gets ``grad_fn(params) -> grads`` as a keyword argument. Here: :func:`global_norm` (the
norm of all the gradients together), :func:`per_parameter` (a per-parameter rule applied to every
array; its state is one state per parameter, by name, as :class:`optilab.Optimizer` keeps it),
:func:`train` (a model of :mod:`optilab.models` trained with a whole-model rule, as
:func:`optilab.training.train` trains with a per-parameter one), and the runs the labs' tests ask
a notebook for (:func:`wrapped_steps`, :func:`sam_steps`: plain arrays in, plain arrays out).

>>> grads = {"W": np.full((2, 2), 3.0), "b": np.array([0.0, 4.0])}
>>> round(global_norm(grads) ** 2, 12)
52.0
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from optilab import rules as _rules

__all__ = ["global_norm", "per_parameter", "train", "is_whole_model", "wrapped_steps", "sam_steps", "called"]

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
    from optilab.training import History, _all_finite, _evaluation, _unpack

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
    evaluate = _evaluation(model, X_train, y_train, X_test, y_test)

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
                if not (np.isfinite(loss) and _all_finite(grads)) or loss > limit:
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
