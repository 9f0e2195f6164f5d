r"""The whole-model rules (CONTRACT.md, "Whole-model steps"): global-norm clipping and SAM.

- :func:`clip_by_global_norm` wraps any rule (a per-parameter rule, its name, or a whole-model
  rule): every gradient is scaled by :math:`\min(1, c/\|g\|)` with :math:`\|g\|` the norm of *all*
  the gradients together (:func:`~optilab.whole_model.global_norm`), then the rule steps;
- :func:`sam` (sharpness-aware minimisation) takes a second gradient at a point it chooses: it
  receives ``grad_fn(params) -> grads`` as a keyword argument, one backward pass per call (the
  record's ``needs = ("grad_fn",)``); :func:`sharpness_aware` puts any rule in place of its SGD.

:data:`RECORDS` holds their rule-table records (:class:`optilab.rules.Rule` with ``scope="model"``).
The machinery they run on (dicts of arrays, the training loop) is :mod:`optilab.whole_model`.

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
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from optilab import rules as _rules
from optilab.whole_model import Params, _check_names, global_norm, per_parameter

__all__ = ["clip_by_global_norm", "sam", "sharpness_aware", "ModelRule", "RECORDS", "SAM_EPS"]

#: torch's SAM (and Foret et al.'s code) divide by ‖g‖ + 1e-12, so that a zero gradient does not divide by 0.
SAM_EPS = 1e-12


@dataclass(frozen=True)
class ModelRule(_rules.Rule):
    """A rule-table record of a whole-model rule (``scope="model"``): its function lives in this module."""

    @property
    def function(self) -> Callable[..., tuple[Any, dict]]:
        return getattr(importlib.import_module("optilab.model_rules"), self.name)


#: The records of the whole-model rules, in the rule table's format (:class:`optilab.rules.Rule`).
RECORDS: tuple[ModelRule, ...] = (
    ModelRule("sam", "ε = ρ·g/‖g‖ (‖g‖ over all parameters); g' = ∇L(p + ε); p ← p − lr·g'", ("lr", "rho"),
              color="#882255",  # Tol's wine
              scope="model", needs=("grad_fn",),
              paper='Foret, Kleiner, Mobahi & Neyshabur (2021), "Sharpness-Aware Minimization for '
                    'Efficiently Improving Generalization"'),
)


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
