r"""The properties a rule must have, as functions that raise :class:`RuleFailure`.

Each function runs a student's rule beside the reference rule of :mod:`optilab.kernels` on
inputs it is given and raises :class:`RuleFailure` (an ``AssertionError``) at the first
disagreement, with a message in the student's terms: which step, which array, which entry,
their number beside the expected one. The hidden suites (:mod:`.suites`) and the visible
checks (:func:`optilab.check`) are both written with these functions; only their inputs differ
(:mod:`.inputs`).

Values are compared on the *update*: an entry of the new parameter passes when
``|yours - expected| <= rtol * |expected - p| + 8 ulp(p)``, so a rule computed in another but
equivalent order (or in float64 and cast back) passes, and a wrong update fails even when
the update is small beside the parameter.
"""

from __future__ import annotations

import copy
import os
import traceback
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from optilab.contract.inputs import slot_shape, slots_for
from optilab.contract.spec import DEFAULTS, STATE_KEYS, reference

__all__ = [
    "RuleFailure",
    "first_difference",
    "call",
    "steps",
    "no_mutation",
    "returns_new_arrays",
    "keeps_dtype_and_shape",
    "uses_defaults",
]

Rule = Callable[..., Any]

#: Relative tolerance on the update, by dtype.
RTOL = {np.dtype(np.float64): 1e-6, np.dtype(np.float32): 2e-4}


#: Frames inside this package are the grader's, not the student's.
_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class RuleFailure(AssertionError):
    """A property of the contract does not hold; the message says where, in the student's terms.

    ``kind`` names the broken clause of the contract (``"mutates-param"``, ``"dtype"``, ...) when
    the failure itself is the diagnosis; it is ``None`` for a wrong value.
    """

    def __init__(self, message: str, kind: str | None = None):
        super().__init__(message)
        self.kind = kind


# --------------------------------------------------------------------------- formatting
def _num(x: Any) -> str:
    """A number printed so that two different ones look different."""
    x = float(x)
    if x == 0.0 or np.isnan(x) or np.isinf(x):
        return repr(x)
    return f"{x:.9g}"


def _hyper_text(hyper: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in hyper.items())


def _index_text(index: tuple[int, ...]) -> str:
    return "" if index == () else "[" + ", ".join(str(i) for i in index) + "]"


def _raised(exc: BaseException) -> str:
    """``ValueError: ... (line 12: v = ...)``: the exception and the student's line that raised it."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__)
              if not os.path.abspath(f.filename).startswith(_PACKAGE)]
    where = ""
    if frames:
        last = frames[-1]
        code = f": {last.line.strip()}" if last.line else ""
        where = f" (line {last.lineno}{code})"
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}{': ' + text if text else ''}{where}"


# --------------------------------------------------------------------------- calling
def call(func: Rule, param: Any, grad: Any, state: dict, hyper: Mapping[str, Any], *,
         where: str) -> tuple[Any, dict]:
    """Call ``func(param, grad, state, **hyper)`` and check the shape of what it returns.

    The rule gets the very objects it is given (copy them first if you need them intact).
    Raises :class:`RuleFailure` if the rule raises, or does not return a pair
    ``(new_param, new_state)`` with ``new_param`` an array of ``param``'s shape and
    ``new_state`` a dict.
    """
    try:
        out = func(param, grad, state, **hyper)
    except (KeyboardInterrupt, RuleFailure):
        raise
    except SystemExit as exc:
        raise RuleFailure(f"{where}: your rule called sys.exit({exc.code!r}); a rule must return "
                          "(new_param, new_state).", kind="raises") from None
    except MemoryError:
        raise RuleFailure(f"{where}: your rule ran out of memory (MemoryError); a step needs "
                          "arrays of param's size only.", kind="out-of-memory") from None
    except Exception as exc:  # the student's bug, reported in their terms
        raise RuleFailure(f"{where}: your rule raised {_raised(exc)}.", kind="raises") from None
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        got = f"a {type(out).__name__}" + (f" of length {len(out)}" if isinstance(out, (tuple, list)) else "")
        raise RuleFailure(f"{where}: your rule returned {got}; it must return a pair "
                          "(new_param, new_state), e.g. `return new_param, {'m': m}`.", kind="bad-return")
    new_param, new_state = out
    if not isinstance(new_param, (np.ndarray, np.generic)):
        raise RuleFailure(f"{where}: new_param is a {type(new_param).__name__}; return a NumPy array "
                          "(e.g. param - lr * grad).", kind="bad-return")
    if not isinstance(new_state, dict):
        raise RuleFailure(f"{where}: new_state is a {type(new_state).__name__}; return a dict "
                          "(an empty one, {}, if the rule keeps no state).", kind="bad-return")
    shape = np.shape(param)
    if np.shape(new_param) != shape:
        raise RuleFailure(f"{where}: new_param has shape {np.shape(new_param)} but param has shape "
                          f"{shape}; the update must keep param's shape.", kind="shape")
    return new_param, new_state


# --------------------------------------------------------------------------- comparing
def first_difference(yours: np.ndarray, expected: np.ndarray, base: np.ndarray | None,
               dtype: np.dtype) -> tuple[int, ...] | None:
    """Index of the first entry of ``yours`` that is not close to ``expected``, or None.

    With ``base`` (the parameter before the step) the tolerance is relative to the update
    ``expected - base``; without it (a state array), relative to ``expected`` itself.
    """
    y = np.asarray(yours, dtype=np.float64)
    e = np.asarray(expected, dtype=np.float64)
    rtol = RTOL.get(np.dtype(dtype), 1e-6)
    ulp = float(np.finfo(dtype).eps)
    with np.errstate(all="ignore"):
        return _first_difference_quiet(y, e, base, rtol, ulp)


def _first_difference_quiet(y: np.ndarray, e: np.ndarray, base: np.ndarray | None, rtol: float,
                     ulp: float) -> tuple[int, ...] | None:
    if base is None:  # a state array: relative to itself, plus round-off of its largest entry
        scale = np.max(np.abs(e)) if e.size else 0.0
        tol = rtol * np.abs(e) + 8 * ulp * scale + 1e-300
    else:
        b = np.asarray(base, dtype=np.float64)
        tol = rtol * np.abs(e - b) + 8 * ulp * np.maximum(np.abs(e), np.abs(b)) + 1e-300
    ok = (np.abs(y - e) <= tol) | (np.isnan(y) & np.isnan(e)) | (y == e)
    bad = np.argwhere(~ok)
    return None if bad.size == 0 else tuple(int(i) for i in bad[0])


def _check_state(rule: str, yours: dict, expected: dict, param_dtype: np.dtype, shape: tuple,
                 where: str) -> None:
    keys = tuple(slot.name for slot in slots_for(rule, shape))
    missing = [k for k in keys if k not in yours]
    if missing:
        has = ", ".join(repr(k) for k in yours) or "no keys"
        want = ", ".join(repr(k) for k in keys)
        raise RuleFailure(f"{where}: your state has no key {missing[0]!r} (it has {has}); "
                          f"the contract's state keys for {rule} are {want}.", kind="missing-state-key")
    for slot in slots_for(rule, shape):
        key = slot.name
        e, y = expected[key], yours[key]
        if slot.kind == "count":
            ok = isinstance(y, (int, np.integer, float, np.floating)) and not isinstance(y, bool) \
                and float(y) == float(e)
            if not ok:
                raise RuleFailure(f"{where}: state[{key!r}] is {y!r}; it must be the number of steps "
                                  f"taken so far, {e} ({key} is 1 after the first step).")
            continue
        want = slot_shape(slot, shape)
        if np.shape(y) != want:
            rule_of = "state arrays have param's shape," if slot.shape == "param" else "it must have shape"
            raise RuleFailure(f"{where}: state[{key!r}] has shape {np.shape(y)}; {rule_of} {want}.")
        bad = first_difference(y, e, None, param_dtype)
        if bad is not None:
            y_, e_ = np.asarray(y)[bad], np.asarray(e)[bad]
            raise RuleFailure(f"{where}:\n  state[{key!r}]{_index_text(bad)}: yours {_num(y_)}, "
                              f"expected {_num(e_)}")


# --------------------------------------------------------------------------- properties
def steps(rule: str, func: Rule, *, param: np.ndarray, grads: Sequence[np.ndarray],
          lrs: Sequence[float] | float, hyper: Mapping[str, Any] | None = None,
          state: dict | None = None, what: str = "", check_state: bool = True) -> None:
    """Run ``len(grads)`` steps of ``func`` and of the reference side by side and compare them.

    Each side carries its own state from step to step (``func`` gets back what it returned).
    After every step the new parameter, and the contract's state keys when ``check_state``,
    must match the reference's. ``lrs`` gives the lr of each step (a float: the same for all).
    """
    hyper = dict(hyper or {})
    ref = reference(rule)
    n = len(grads)
    lrs = [lrs] * n if np.isscalar(lrs) else list(lrs)
    p_ref = np.array(param, copy=True)
    p_you = np.array(param, copy=True)
    s_ref = copy.deepcopy(state or {})
    s_you = copy.deepcopy(state or {})
    dtype = np.asarray(param).dtype
    shape = np.shape(param)
    start = "" if not state else f", starting from state {_state_text(state)}"
    for k, (g, lr) in enumerate(zip(grads, lrs), start=1):
        kw = {"lr": lr, **hyper}
        where = (f"{what + ': ' if what else ''}step {k} of {n} ({_hyper_text(kw)}{start}, "
                 f"param shape {shape}, {dtype})")
        new_ref, s_ref_new = ref(p_ref.copy(), np.array(g, copy=True), copy.deepcopy(s_ref), **kw)
        new_you, s_you_new = call(func, p_you.copy(), np.array(g, copy=True), copy.deepcopy(s_you),
                                  kw, where=where)
        bad = first_difference(new_you, new_ref, p_ref, dtype)
        if bad is not None:
            y, e = np.asarray(new_you)[bad], np.asarray(new_ref)[bad]
            p0, g0 = np.asarray(p_ref)[bad], np.asarray(g)[bad]
            raise RuleFailure(f"{where}:\n  new param{_index_text(bad)}: yours {_num(y)}, expected "
                              f"{_num(e)} (param was {_num(p0)}, grad {_num(g0)})")
        if check_state:
            _check_state(rule, s_you_new, s_ref_new, dtype, shape, where)
        p_ref, s_ref = np.asarray(new_ref), s_ref_new
        p_you, s_you = np.asarray(new_you), s_you_new


def _state_text(state: Mapping[str, Any]) -> str:
    parts = []
    for k, v in state.items():
        parts.append(f"{k}={v!r}" if np.ndim(v) == 0 and not isinstance(v, np.ndarray)
                     else f"{k}=<array {np.shape(v)}>")
    return "{" + ", ".join(parts) + "}"


def _snapshot(x: Any) -> Any:
    if isinstance(x, dict):
        return {k: _snapshot(v) for k, v in x.items()}
    if isinstance(x, np.ndarray):
        return x.copy()
    return copy.deepcopy(x)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, dict) or isinstance(b, dict):
        return isinstance(a, dict) and isinstance(b, dict) and a.keys() == b.keys() and all(
            _same(a[k], b[k]) for k in a)
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.shape == b.shape
                and a.dtype == b.dtype and np.array_equal(a, b, equal_nan=True))
    try:
        return bool(a == b) or (a != a and b != b)
    except Exception:
        return a is b


def no_mutation(rule: str, func: Rule, *, param: np.ndarray, grads: Sequence[np.ndarray],
                hyper: Mapping[str, Any], state: dict | None = None) -> None:
    """``func`` leaves ``param``, ``grad``, ``state`` and every array in ``state`` unchanged."""
    s = copy.deepcopy(state or {})
    p = np.array(param, copy=True)
    for k, g in enumerate(grads, start=1):
        where = f"step {k} of {len(grads)} ({_hyper_text(hyper)})"
        p_in, g_in, s_in = p.copy(), np.array(g, copy=True), copy.deepcopy(s)
        before = (p_in.copy(), g_in.copy(), _snapshot(s_in))
        new_p, new_s = call(func, p_in, g_in, s_in, hyper, where=where)
        if not _same(p_in, before[0]):
            raise RuleFailure(f"{where}: your rule changed the param array it was given (an "
                              "in-place update such as `param -= ...`). Return a new array: "
                              "`new_param = param - ...`.", kind="mutates-param")
        if not _same(g_in, before[1]):
            raise RuleFailure(f"{where}: your rule changed the grad array it was given. "
                              "Compute with new arrays and leave grad as it came.", kind="mutates-grad")
        if not _same(s_in, before[2]):
            changed = sorted(set(s_in) ^ set(before[2])) or [
                k for k in s_in if not _same(s_in[k], before[2][k])]
            raise RuleFailure(f"{where}: your rule changed the state dict it was given (key "
                              f"{changed[0]!r}); build a new dict, e.g. `return new_param, "
                              "{'m': m, ...}`, and never update the old arrays in place.", kind="mutates-state")
        p, s = np.asarray(new_p), new_s


def returns_new_arrays(rule: str, func: Rule, *, param: np.ndarray, grads: Sequence[np.ndarray],
                       hyper: Mapping[str, Any]) -> None:
    """The returned parameter and state arrays share no memory with the inputs.

    A state array that *is* the caller's ``grad`` changes when the caller reuses that buffer.
    """
    s: dict = {}
    p = np.array(param, copy=True)
    for k, g in enumerate(grads, start=1):
        where = f"step {k} of {len(grads)} ({_hyper_text(hyper)})"
        g_in = np.array(g, copy=True)
        s_in = copy.deepcopy(s)
        inputs = {"param": p, "grad": g_in}
        inputs.update({f"state[{key!r}]": v for key, v in s_in.items() if isinstance(v, np.ndarray)})
        new_p, new_s = call(func, p, g_in, s_in, hyper, where=where)
        outputs = {"new_param": new_p}
        outputs.update({f"new_state[{key!r}]": new_s[key] for key in STATE_KEYS[rule] if key in new_s})
        for out_name, out in outputs.items():
            if not isinstance(out, np.ndarray) or out.size == 0:
                continue
            for in_name, arr in inputs.items():
                if np.shares_memory(out, arr):
                    raise RuleFailure(f"{where}: {out_name} is (or is a view of) the {in_name} array "
                                      "you were given; return a new array (e.g. `grad.copy()` or "
                                      "`mu * v + grad`), so that later changes to one do not change "
                                      "the other.", kind="shares-memory")
        p, s = np.array(new_p, copy=True), copy.deepcopy(new_s)


def keeps_dtype_and_shape(rule: str, func: Rule, *, param: np.ndarray, grads: Sequence[np.ndarray],
                          hyper: Mapping[str, Any]) -> None:
    """New param and state arrays keep param's dtype and shape for ``len(grads)`` steps; t is a count."""
    s: dict = {}
    p = np.array(param, copy=True)
    dtype, shape = p.dtype, p.shape
    for k, g in enumerate(grads, start=1):
        where = f"step {k} of {len(grads)} (param shape {shape}, {dtype})"
        new_p, new_s = call(func, p.copy(), np.array(g, copy=True), copy.deepcopy(s), hyper, where=where)
        if np.asarray(new_p).dtype != dtype:
            raise RuleFailure(f"{where}: new_param is {np.asarray(new_p).dtype} for a {dtype} param; "
                              "keep param's dtype (a float64 constant can promote float32: cast "
                              "back with `.astype(param.dtype)`).", kind="dtype")
        for slot in slots_for(rule, shape):
            key = slot.name
            if key not in new_s:
                raise RuleFailure(f"{where}: your state has no key {key!r}; the contract's state keys "
                                  f"for {rule} are {', '.join(map(repr, STATE_KEYS[rule]))}.", kind="missing-state-key")
            v = new_s[key]
            if slot.kind == "count":
                if isinstance(v, bool) or not isinstance(v, (int, np.integer, float, np.floating)) \
                        or float(v) != k:
                    raise RuleFailure(f"{where}: state[{key!r}] is {v!r}; it must be the number of steps "
                                      f"taken, {k}.")
                continue
            want = slot_shape(slot, shape)
            if np.shape(v) != want:
                what = (f"a single number ({type(v).__name__})" if np.ndim(v) == 0
                        else f"an array of shape {np.shape(v)}")
                raise RuleFailure(f"{where}: state[{key!r}] is {what}; "
                                  + ("state arrays have param's shape" if slot.shape == "param"
                                     else "it must have shape") + f" {want}: one value per entry.",
                                  kind="state-shape")
            if not isinstance(v, (np.ndarray, np.generic)):
                raise RuleFailure(f"{where}: state[{key!r}] is a {type(v).__name__}; keep it a NumPy "
                                  "array of param's shape and dtype.", kind="dtype")
            if np.asarray(v).dtype != dtype:
                raise RuleFailure(f"{where}: state[{key!r}] has shape {np.shape(v)} and dtype "
                                  f"{np.asarray(v).dtype}; "
                                  + ("state arrays have param's shape" if slot.shape == "param"
                                     else "it must have shape")
                                  + f" {want} and dtype {dtype}.", kind="dtype")
        p, s = np.asarray(new_p), new_s


def uses_defaults(rule: str, func: Rule, *, param: np.ndarray, grads: Sequence[np.ndarray]) -> None:
    """Called with no hyperparameters at all, ``func`` uses the contract's defaults."""
    defaults = DEFAULTS[rule]
    ref = reference(rule)
    p_ref, p_you = np.array(param, copy=True), np.array(param, copy=True)
    s_ref: dict = {}
    s_you: dict = {}
    for k, g in enumerate(grads, start=1):
        where = (f"step {k} of {len(grads)}, called as {rule}(param, grad, state) with no "
                 "hyperparameters")
        new_ref, s_ref = ref(p_ref, g, s_ref)
        new_you, s_you_new = call(func, p_you.copy(), g.copy(), copy.deepcopy(s_you), {}, where=where)
        bad = first_difference(new_you, new_ref, p_ref, p_ref.dtype)
        if bad is not None:
            wrong = _wrong_defaults(rule, func, np.array(param, copy=True), list(grads[:k]))
            named = (f"Your default {_and_text(wrong)} {'is' if len(wrong) == 1 else 'are'} not the contract's"
                     if wrong
                     else "One of your defaults (in the def line) is not the contract's")
            raise RuleFailure(f"{where}:\n  new param{_index_text(bad)}: yours "
                              f"{_num(np.asarray(new_you)[bad])}, expected "
                              f"{_num(np.asarray(new_ref)[bad])}.\n  {named}: the defaults are "
                              f"{_hyper_text(defaults)}.")
        p_ref, p_you, s_you = np.asarray(new_ref), np.asarray(new_you), s_you_new


def _wrong_defaults(rule: str, func: Rule, param: np.ndarray, grads: Sequence[np.ndarray]) -> list[str]:
    """The hyperparameters whose default in ``func`` is not the contract's: replaying the same
    steps with every hyperparameter passed explicitly but that one, the steps differ from the
    reference's."""
    defaults = DEFAULTS[rule]
    ref = reference(rule)
    wrong = []
    for name in defaults:
        others = {k: v for k, v in defaults.items() if k != name}
        p_ref, p_you, s_ref, s_you = param.copy(), param.copy(), {}, {}
        try:
            for g in grads:
                new_ref, s_ref = ref(p_ref.copy(), g.copy(), s_ref, **defaults)
                new_you, s_you = call(func, p_you.copy(), g.copy(), copy.deepcopy(s_you), others, where="")
                if first_difference(new_you, new_ref, p_ref, p_ref.dtype) is not None:
                    wrong.append(name)
                    break
                p_ref, p_you = np.asarray(new_ref), np.asarray(new_you)
        except RuleFailure:
            return []
    return wrong


def _and_text(words: Sequence[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]
