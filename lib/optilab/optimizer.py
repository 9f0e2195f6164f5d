"""The optimizer: applies one update rule to many named parameters, checking every input.

The rules in :mod:`optilab.kernels` (and the ones students write) stay minimal: one array,
one state, no checks. :class:`Optimizer` is where inputs are validated, so a mistake is
reported in the student's terms ("grad 'W1' has shape (3,) but param 'W1' has shape (3, 1)")
before it turns into a wrong number three cells later.
"""

from __future__ import annotations

import difflib
import inspect
import math
from typing import Any, Callable, Mapping, Sequence, Union

import numpy as np

from optilab.kernels import RULES
from optilab.rules import BY_NAME, suggest
from optilab.schedules import Schedule

__all__ = ["Optimizer", "SUPPORTED_DTYPES", "LOW_PRECISION_DTYPES", "check_dtype"]

#: The dtypes the update-rule contract covers: every rule is written and checked for these.
SUPPORTED_DTYPES: tuple[str, ...] = ("float32", "float64")

#: Floating dtypes narrower than float32, accepted only with ``allow_low_precision=True``
#: (bfloat16 and the float8 types come from the ``ml_dtypes`` package, when it is installed).
LOW_PRECISION_DTYPES: tuple[str, ...] = ("float16", "bfloat16", "float8_e4m3fn", "float8_e5m2")


#: The supported dtypes as dtype objects: the check of every step looks them up first (reading a dtype's
#: name costs more than the rest of the check).
_SUPPORTED = frozenset(np.dtype(name) for name in SUPPORTED_DTYPES)


def check_dtype(what: str, dtype: Any, *, allow_low_precision: bool = False) -> None:
    """Raise a TypeError unless ``dtype`` is float32 or float64 (or, opted in, a low-precision float).

    ``what`` names the array in the message ("param 'w'", "X_train"). Low precision is refused by
    default because the reference rules are not written for it: in float16, Adam's default
    ε = 1e-8 rounds to 0 and a squared gradient below about 6e-8 underflows to 0, so a step can
    divide by zero and return -inf.

    >>> check_dtype("param 'w'", np.float16)
    Traceback (most recent call last):
    ...
    TypeError: param 'w' has dtype float16, but optilab's update rules support float32 and float64 only. ...
    """
    if isinstance(dtype, np.dtype) and dtype in _SUPPORTED:
        return
    name = np.dtype(dtype).name
    if name in SUPPORTED_DTYPES or (allow_low_precision and name in LOW_PRECISION_DTYPES):
        return
    start = f"{what} has dtype {name}, but optilab's update rules support float32 and float64 only."
    if name in LOW_PRECISION_DTYPES:
        raise TypeError(
            f"{start} In {name}, small values underflow to 0 (Adam's default eps=1e-8 is 0 in float16), so a step "
            f"can divide by zero. Convert with .astype(np.float32), or, to study low-precision (mixed-precision) "
            f"training on purpose, pass allow_low_precision=True."
        )
    if np.issubdtype(np.dtype(dtype), np.integer) or np.dtype(dtype).kind == "b":
        hint = "an integer array cannot take a fractional step"
    elif np.issubdtype(np.dtype(dtype), np.complexfloating):
        hint = "the rules minimise real-valued losses of real parameters"
    else:
        hint = "the rules do arithmetic in floating point"
    raise TypeError(f"{start} ({hint}). Convert with .astype(np.float64).")

Params = Union[Mapping[str, np.ndarray], Sequence[np.ndarray], np.ndarray]


def _rule_by_name(rule: Callable | str) -> tuple[Callable, str]:
    if callable(rule):
        return rule, getattr(rule, "__name__", "rule")
    if rule in RULES:
        return RULES[rule], rule
    close = suggest(str(rule), list(RULES))
    hint = f" Did you mean {close!r}?" if close else ""
    raise ValueError(f"unknown rule {rule!r}.{hint} Known rules: {', '.join(RULES)}.")


def _keyword_parameters(rule: Callable) -> tuple[dict[str, Any], bool]:
    """The rule's keyword hyperparameters with their defaults, and whether it takes **kwargs."""
    try:
        signature = inspect.signature(rule)
    except (TypeError, ValueError):  # a builtin or C function: accept anything
        return {}, True
    keywords = {
        name: p.default
        for name, p in signature.parameters.items()
        if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is not p.empty
    }
    takes_any = any(p.kind is p.VAR_KEYWORD for p in signature.parameters.values())
    return keywords, takes_any


class Optimizer:
    r"""Apply an update rule to a set of parameters, step after step.

    Parameters
    ----------
    rule : callable or str
        A function following the update-rule contract, or the name of a reference rule
        (``"adam"``, ...; see :data:`optilab.kernels.RULES`).
    lr : float or callable, optional
        The learning rate :math:`\alpha`: a positive number, or a schedule ``t -> lr`` with
        ``t = 0`` for the first step (see :mod:`optilab.schedules`). Defaults to the rule's own.
    allow_low_precision : bool
        Accept float16 (and bfloat16, float8 from ``ml_dtypes``) parameters and gradients. Off by
        default: the rules are written for float32 and float64 (:func:`check_dtype`), so any
        other dtype is refused with a message saying so. Turn it on only to study low precision.
    **hyperparameters
        The rule's other keyword arguments (``beta1=0.9``, ``momentum=0.5``, ...).

    Attributes
    ----------
    t : int
        Steps taken so far.
    state : dict
        Each parameter's state, by name (for a dict of parameters) or by position.

    Examples
    --------
    >>> opt = Optimizer("momentum", lr=0.1, momentum=0.9)
    >>> params = {"w": np.array([1.0, -2.0])}
    >>> params = opt.step(params, {"w": np.array([0.5, 0.5])})
    >>> params["w"], opt.state["w"]["velocity"]
    (array([ 0.95, -2.05]), array([0.5, 0.5]))
    """

    def __init__(self, rule: Callable | str, lr: float | Schedule | None = None, *,
                 allow_low_precision: bool = False, **hyperparameters: Any):
        self.rule, self.name = _rule_by_name(rule)
        self.allow_low_precision = bool(allow_low_precision)
        keywords, takes_any = _keyword_parameters(self.rule)
        if not takes_any:
            for key in hyperparameters:
                if key not in keywords:
                    from optilab.frameworks import spelled_by

                    known = [k for k in keywords if k != "lr"]
                    close = difflib.get_close_matches(key, known, n=1)
                    hint = spelled_by(self.name, key) or (f"Did you mean {close[0]!r}?" if close else "")
                    hint = f" {hint}" if hint else ""
                    raise TypeError(
                        f"{self.name} has no hyperparameter {key!r}.{hint} "
                        f"Its hyperparameters are: {', '.join(known) or 'none besides lr'}."
                    )
        if lr is None:
            if "lr" not in keywords:
                raise TypeError(f"{self.name} has no default learning rate: pass lr=... to Optimizer.")
            lr = keywords["lr"]
        if not callable(lr):
            lr = self._checked_lr(lr, constant=True)
        self.lr = lr
        self.hyperparameters = hyperparameters
        self.t = 0
        self.state: dict[Any, dict] = {}

    @staticmethod
    def _checked_lr(lr: Any, *, constant: bool, t: int | None = None) -> float:
        where = "" if t is None else f" at step {t}"
        source = "lr" if constant else f"the learning-rate schedule{where}"
        try:
            value = float(lr)
        except (TypeError, ValueError):
            raise TypeError(f"{source} must be a number; got {lr!r}.") from None
        if not math.isfinite(value):
            raise ValueError(f"{source} must be finite; got {value}.")
        if value < 0 or (constant and value == 0):
            raise ValueError(
                f"{source} must be positive; got {value}. A learning rate is a step size: "
                "try a small positive value such as 0.01."
            )
        return value

    def lr_at(self, t: int) -> float:
        """The learning rate used by step ``t`` (``t = 0`` is the first step)."""
        if callable(self.lr):
            return self._checked_lr(self.lr(t), constant=False, t=t)
        return self.lr

    def step(self, params: Params, grads: Params) -> Params:
        """Take one step: return new parameters in the structure given (a dict, a list or one array).

        The inputs are not modified; the state of each parameter is kept in :attr:`state`. Every
        parameter and gradient is checked before any state changes. A rule with a ``steps``
        method (a reference rule that the grader computes for a graded notebook) takes all the
        parameters' steps in one call: ``rule.steps([(param, grad, state), ...], lr=..., **hyperparameters)``.
        """
        named_params, named_grads, rebuild = _flatten(params, grads)
        lr = self.lr_at(self.t)
        for key, param in named_params.items():
            _check_pair(key, param, named_grads[key], self.t, self.allow_low_precision)
        steps = getattr(self.rule, "steps", None)
        if callable(steps) and len(named_params) > 1:
            # a rule computed elsewhere (the grader's, in a graded notebook) takes every parameter's
            # step in one call, each as it takes it alone (optilab.grading.student_notebook.served_rule)
            results = steps([(param, named_grads[key], self.state.get(key, {})) for key, param in named_params.items()],
                            lr=lr, **self.hyperparameters)
            if not isinstance(results, list) or len(results) != len(named_params):
                raise TypeError(f"{self.name}.steps must return one (new_param, new_state) per parameter, "
                                f"{len(named_params)} in all; it returned {type(results).__name__}.")
        else:
            results = (self.rule(param, named_grads[key], self.state.get(key, {}), lr=lr, **self.hyperparameters)
                       for key, param in named_params.items())
        new_params = {}
        for (key, param), result in zip(named_params.items(), results):
            new_param, new_state = _check_result(self.name, key, param, result)
            new_params[key] = new_param
            self.state[key] = new_state
        self.t += 1
        return rebuild(new_params)

    @property
    def evaluate_at(self) -> str | None:
        """The state entry where this rule's model is judged (CONTRACT.md, "An evaluation point apart
        from the returned parameter": schedule-free AdamW's ``x``), or None: the parameter itself."""
        record = BY_NAME.get(self.name)
        return record.evaluate_at if record is not None and RULES.get(self.name) is self.rule else None

    def evaluation_point(self, params: Params) -> Params:
        """The parameters at which the model is judged (losses reported, validation, the final
        model): ``params`` itself, or for a rule with an evaluation point (:attr:`evaluate_at`)
        that entry of each parameter's state (``params`` before the first step)."""
        key = self.evaluate_at
        if key is None:
            return params
        named, _, rebuild = _flatten(params, params)
        return rebuild({k: self.state.get(k, {}).get(key, p) for k, p in named.items()})

    def __repr__(self) -> str:
        hyper = "".join(f", {k}={v!r}" for k, v in self.hyperparameters.items())
        lr = getattr(self.lr, "__name__", "schedule") if callable(self.lr) else self.lr
        return f"Optimizer({self.name!r}, lr={lr}{hyper}, t={self.t})"


def _label(key: Any) -> str:
    return f"{key!r}" if isinstance(key, str) else f"#{key}"


def _flatten(params: Params, grads: Params):
    """Name every parameter (dict keys or positions) and return a function that rebuilds the structure."""
    if isinstance(params, Mapping):
        if not isinstance(grads, Mapping):
            raise TypeError(f"params is a dict, so grads must be a dict with the same keys; got {type(grads).__name__}.")
        missing, extra = set(params) - set(grads), set(grads) - set(params)
        if missing or extra:
            raise KeyError(
                f"grads must have the same keys as params: missing {sorted(map(str, missing))}, "
                f"unexpected {sorted(map(str, extra))}."
            )
        return dict(params), dict(grads), lambda new: {k: new[k] for k in params}
    if isinstance(params, (list, tuple)):
        if not isinstance(grads, (list, tuple)) or len(grads) != len(params):
            n = len(grads) if isinstance(grads, (list, tuple)) else type(grads).__name__
            raise ValueError(f"params is a list of {len(params)} arrays, so grads must be a list of {len(params)}; got {n}.")
        kind = type(params)
        return dict(enumerate(params)), dict(enumerate(grads)), lambda new: kind(new[i] for i in range(len(params)))
    return {0: params}, {0: grads}, lambda new: new[0]


def _check_pair(key: Any, param: Any, grad: Any, t: int, allow_low_precision: bool = False) -> None:
    # Every step of every run goes through here: the common case costs a few lookups, and the names
    # for the messages are made only for a message.
    grad_array = np.asarray(grad)
    if (isinstance(param, np.ndarray) and param.dtype in _SUPPORTED and grad_array.dtype in _SUPPORTED
            and grad_array.shape == param.shape and np.isfinite(grad_array).all()):
        return
    name = _label(key)
    if not isinstance(param, (np.ndarray, np.generic)):
        raise TypeError(f"param {name} must be a NumPy array; got {type(param).__name__}. Use np.asarray(..., dtype=float).")
    check_dtype(f"param {name}", param.dtype, allow_low_precision=allow_low_precision)
    if grad_array.shape != param.shape:
        raise ValueError(f"grad {name} has shape {grad_array.shape} but param {name} has shape {param.shape}.")
    check_dtype(f"grad {name}", grad_array.dtype, allow_low_precision=allow_low_precision)
    if not np.all(np.isfinite(grad_array)):
        bad = int(np.size(grad_array) - np.count_nonzero(np.isfinite(grad_array)))
        kinds = " and ".join(k for k, f in (("NaN", np.isnan), ("infinite", np.isinf)) if np.any(f(grad_array)))
        raise FloatingPointError(
            f"grad {name} has {bad} {kinds} value(s) of {np.size(grad_array)} at step {t}. "
            "The run has probably diverged: lower the learning rate, or check the gradient code."
        )


def _check_result(rule: str, key: Any, param: np.ndarray, result: Any) -> tuple[np.ndarray, dict]:
    if not (isinstance(result, tuple) and len(result) == 2):
        raise TypeError(f"{rule} must return (new_param, new_state); for param {_label(key)} it returned {type(result).__name__}.")
    new_param, new_state = result
    new_param = np.asarray(new_param)
    if new_param.shape != param.shape:
        raise ValueError(f"{rule} returned a param of shape {new_param.shape} for param {_label(key)} of shape {param.shape}.")
    if not isinstance(new_state, dict):
        raise TypeError(f"{rule} must return its state as a dict; for param {_label(key)} it returned {type(new_state).__name__}.")
    return new_param.astype(param.dtype, copy=False), new_state
