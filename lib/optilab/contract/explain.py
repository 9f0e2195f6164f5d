r"""What is wrong in a rule that no known mistake explains: the evidence, in the student's terms.

:mod:`optilab.contract.diagnose` names a rule's mistakes by matching it with known wrong
versions of the rule (:mod:`optilab.contract.mistakes`). A student can be wrong in a way no
catalogue lists; this module says what is wrong by measuring instead, on the same probes:

- **defaults**: called without hyperparameters, does the rule take the contract's step? If
  not, which hyperparameter's default does it use instead (among the values students use)?
- **the first step that differs**, from an empty state and from a given state (``t = 5``), and
  **which part of it**: a state quantity (which key, by what factor, at which entry), or the
  step taken from a right state (by what factor: a sign, a bias correction, ``lr``);
- **the hyperparameters' effects**: a hyperparameter the rule ignores, or one whose change moves
  the step the wrong way.

Each finding is a :class:`~optilab.contract.diagnose.Diagnosis` whose message names the part
and what to look at. Student code may be wrong in any way: every call is guarded.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import numpy as np

from optilab import rules as _table
from optilab.contract import inputs
from optilab.contract import properties as P
from optilab.contract.spec import DEFAULTS, STATE_KEYS, reference

__all__ = ["explain", "COMMON_VALUES"]

#: The values students put in place of a default: the frameworks' and the papers' (Keras's
#: ε = 1e-7, ρ = 0.9, β₂ = 0.99, ...), round numbers.
COMMON_VALUES = {
    "lr": (1e-1, 1e-2, 1e-3, 1e-4, 2e-3, 5e-3),
    "momentum": (0.9, 0.99, 0.95, 0.5, 0.8, 0.0),
    "rho": (0.9, 0.99, 0.95, 0.999),
    "beta1": (0.9, 0.99, 0.95, 0.8, 0.5),
    "beta2": (0.999, 0.99, 0.9, 0.9999, 0.95),
    "eps": (1e-8, 1e-7, 1e-6, 1e-10, 1e-5, 1e-4, 1e-3, 1e-12, 0.0),
    "weight_decay": (1e-2, 0.0, 1e-4, 4e-3, 1e-3, 0.1, 5e-4),
}

_SYMBOL = _table.SYMBOLS


def _d(id_: str, message: str, evidence: str = "") -> Any:
    from optilab.contract.diagnose import Diagnosis
    return Diagnosis(id_, message, evidence)


def _num(x: float) -> str:
    return P._num(x)


def _run(func: Callable, param: np.ndarray, grads: list, lrs: list, state: dict, hyper: dict,
         *, omit: bool = False) -> list[tuple[np.ndarray, np.ndarray, dict]] | None:
    """(param before, after, state after) of each step, or None if the rule fails or misshapes."""
    out, p, s = [], param.copy(), copy.deepcopy(state)
    try:
        for g, lr in zip(grads, lrs):
            given = {} if omit else {"lr": lr, **hyper}
            new_p, new_s = P.call(func, p.copy(), g.copy(), copy.deepcopy(s), given, where="probe")
            new_p = np.asarray(new_p, dtype=np.float64)
            if new_p.shape != p.shape or not isinstance(new_s, dict):
                return None
            out.append((p, new_p, new_s))
            p, s = new_p, new_s
    except P.RuleFailure:
        return None
    return out


def _close(a: Any, b: Any) -> bool:
    try:
        a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=1e-6, atol=1e-12, equal_nan=True))


def _ratio(mine: Any, expected: Any) -> float | None:
    """The one factor c with mine ≈ c·expected at every entry (where expected is not tiny), or None."""
    try:
        y, e = np.asarray(mine, dtype=np.float64).ravel(), np.asarray(expected, dtype=np.float64).ravel()
    except (TypeError, ValueError):
        return None
    if y.shape != e.shape or not y.size:
        return None
    big = np.abs(e) > 1e-9 * max(1.0, float(np.max(np.abs(e))))
    if not big.any() or not np.all(np.isfinite(y)):
        return None
    c = y[big] / e[big]
    if np.allclose(c, c[0], rtol=1e-6) and np.allclose(y[~big], c[0] * e[~big], atol=1e-12):
        return float(c[0])
    return None


def _factor_words(c: float, hyper: dict, t: int) -> str:
    """What a factor c between the student's value and the expected one probably is."""
    candidates = [(-1.0, "the sign is flipped")]
    for name in ("beta1", "beta2", "rho", "momentum"):
        if name in hyper:
            b, sym = hyper[name], _SYMBOL.get(name, name)
            if name in ("beta1", "beta2"):  # first: at t = 1 these equal the (1 − β) factors below
                candidates += [
                    (1 / (1 - b**t), f"a bias correction 1/(1 − {sym}ᵗ) that does not belong here"),
                    (1 - b**t, f"a missing bias correction 1/(1 − {sym}ᵗ)"),
                    (1 / np.sqrt(1 - b**t), f"a bias correction 1/√(1 − {sym}ᵗ) that does not belong here"),
                    (np.sqrt(1 - b**t), f"a missing bias correction 1/√(1 − {sym}ᵗ)"),
                ]
            candidates += [
                (1 - b, f"an extra factor (1 − {sym})"), (1 / (1 - b), f"a missing factor (1 − {sym})"),
                (b, f"an extra factor {sym}"), (1 / b, f"a missing factor {sym}"),
            ]
    if "beta1" in hyper and "beta2" in hyper:
        b1, b2 = hyper["beta1"], hyper["beta2"]
        candidates += [(np.sqrt(1 - b2**t) / (1 - b1**t), "both bias corrections are missing"),
                       ((1 - b1**t) / np.sqrt(1 - b2**t), "the bias corrections are applied twice")]
    for value, words in candidates:
        if np.isclose(c, value, rtol=1e-5):
            return words
    return f"{_num(c)} times the expected value"


def _defaults(rule: str, func: Callable, rng: np.random.Generator) -> list:
    """The rule called without hyperparameters against the same rule given the contract's
    defaults: where they differ, which of its defaults is not the contract's (and what it is,
    when it is one of :data:`COMMON_VALUES`). The maths need not be right for this."""
    defaults = DEFAULTS[rule]
    six = inputs.fit(rule, (6,))  # a matrix of as many entries for a rule of matrices only
    p = rng.standard_normal(six)
    scales = np.array([1.0, 0.3, 1e-2, 1e-4, 1e-6, 1e-8]).reshape(six)  # tiny gradients show where ε is
    grads = [rng.standard_normal(six) * scales for _ in range(3)]

    def steps(given: dict, omit: bool = False) -> list | None:
        return _run(func, p, grads, [given["lr"]] * len(grads), {},
                    {k: v for k, v in given.items() if k != "lr"}, omit=omit)

    mine, explicit = steps(defaults, omit=True), steps(defaults)
    if mine is None or explicit is None or all(_close(a[1], b[1]) for a, b in zip(mine, explicit)):
        return []
    for name, default in defaults.items():
        for value in COMMON_VALUES.get(name, ()):
            if value == default:
                continue
            theirs = steps({**defaults, name: value})
            if theirs is not None and all(_close(a[1], b[1]) for a, b in zip(mine, theirs)):
                return [_d(f"default-{name}", (
                    f"Your default {name} is {_num(value)}; the contract's is {_num(default)}. Called without "
                    f"hyperparameters, your {rule} steps as it does when given {name}={_num(value)}: change "
                    "the default in your function's signature."), "defaults")]
    shown = ", ".join(f"{k}={_num(v)}" for k, v in defaults.items())
    return [_d("defaults", (
        f"Called without hyperparameters your {rule} does not step as it does when given the contract's "
        f"defaults ({shown}): check every default in your function's signature against CONTRACT.md."),
        "defaults")]


def _first_difference(rule: str, mine: list, expected: list, hyper: dict, where: str, t0: int) -> list:
    for k, ((_, y, s_y), (q, e, s_e)) in enumerate(zip(mine, expected), start=1):
        t = t0 + k
        for key in STATE_KEYS[rule]:
            if key not in s_y or key not in s_e or _close(s_y[key], s_e[key]):
                continue
            c = _ratio(s_y[key], s_e[key])
            if key == "t":
                return [_d("state-t", (
                    f"At step {k} {where}, your state's 't' is {s_y[key]!r} where {s_e[key]!r} was expected: t counts "
                    "the steps taken, this one included (it is 1 after the first step from an empty state)."),
                    "values")]
            how = _factor_words(c, hyper, t) if c is not None else _entry_words(s_y[key], s_e[key])
            return [_d(f"state-{key}", (
                f"At step {k} {where}, your state's '{key}' is wrong: {how}. Look at the line that computes "
                f"'{key}' (the state keeps the raw quantity of the formula, before any correction)."), "values")]
        if not _close(y, e):
            step_mine, step_expected = y - q, e - q
            c = _ratio(step_mine, step_expected)
            how = _factor_words(c, hyper, t) if c is not None else _entry_words(y, e)
            state_words = "your state is right, so the step taken from it is wrong" if STATE_KEYS[rule] \
                else "the step is wrong"
            return [_d("step", (
                f"At step {k} {where}, {state_words}: {how}. Compare the line that computes the new "
                "parameter with the formula."), "values")]
    return []


def _entry_words(mine: Any, expected: Any) -> str:
    try:
        y, e = np.asarray(mine, dtype=np.float64), np.asarray(expected, dtype=np.float64)
        if y.shape != e.shape:
            return f"its shape is {y.shape}, not {e.shape}"
        i = int(np.argmax(np.abs(y - e) > 1e-6 * (np.abs(e) + 1e-12)))
        return f"entry {i} is {_num(y.ravel()[i])}, expected {_num(e.ravel()[i])}"
    except (TypeError, ValueError):
        return "it cannot be read as numbers"


def _ignored(rule: str, func: Callable, p: np.ndarray, grads: list, lrs: list, hyper: dict) -> list:
    """Hyperparameters whose change moves the reference's steps but not the student's."""
    ref = reference(rule)
    out = []
    mine0 = _run(func, p, grads, lrs, {}, hyper)
    ref0 = _run(ref, p, grads, lrs, {}, hyper)
    if mine0 is None or ref0 is None or not all(np.all(np.isfinite(y)) for _, y, _ in mine0):
        return []  # (a rule that overflows says nothing about what it ignores)
    for name in hyper:
        changed = {**hyper, name: hyper[name] * 0.5 if hyper[name] else 0.1}
        mine1 = _run(func, p, grads, lrs, {}, changed)
        ref1 = _run(ref, p, grads, lrs, {}, changed)
        if mine1 is None or ref1 is None:
            continue
        ref_moves = not all(_close(a[1], b[1]) for a, b in zip(ref0, ref1))
        mine_moves = not all(_close(a[1], b[1]) for a, b in zip(mine0, mine1))
        if ref_moves and not mine_moves:
            out.append(_d(f"ignores-{name}", (
                f"Your {rule} ignores {name}: changing it does not change your steps, but it changes the "
                f"contract's. Use the argument {name} where the formula has {_SYMBOL.get(name, name)}."), "values"))
    return out


def _zero_gradient(rule: str, func: Callable, rng: np.random.Generator, hyper: dict) -> list:
    """One step with a zero gradient from a given state: a rule that skips it must still return
    new arrays and advance its state as the formula does."""
    five = inputs.fit(rule, (5,))
    p, g = rng.standard_normal(five), np.zeros(five)
    state = inputs.given_state(rule, rng, five, t=5)
    given = {"lr": 0.05, **hyper}
    mine = p.copy()
    try:
        new_p, new_s = P.call(func, mine, g.copy(), copy.deepcopy(state), given, where="zero gradient")
    except P.RuleFailure:
        return []
    if new_p is mine or (isinstance(new_p, np.ndarray) and np.shares_memory(new_p, mine)):
        return [_d("zero-gradient-same-array", (
            f"With a zero gradient your {rule} returns the parameter array it was given, not a new one: "
            "return a new array on every step, even when nothing changes (param.copy())."), "values")]
    expected_p, expected_s = reference(rule)(p, g, copy.deepcopy(state), **given)
    wrong = [k for k in STATE_KEYS[rule] if isinstance(new_s, dict) and k in new_s and not _close(new_s[k], expected_s[k])]
    if not _close(new_p, expected_p) or wrong:
        what = f"its state's {', '.join(repr(k) for k in wrong)}" if wrong else "the new parameter"
        return [_d("zero-gradient", (
            f"With a zero gradient your {rule} gets {what} wrong: a step with g = 0 still follows the formula "
            "(t advances, the moments decay); do not skip it."), "values")]
    return []


def explain(rule: str, func: Callable, probe_hyper: dict) -> list:
    """The evidence of what is wrong in ``func`` as ``rule``, when no known mistake matches."""
    rng = np.random.default_rng(20_260_003)
    hyper = {k: v for k, v in probe_hyper.items() if k in DEFAULTS[rule] and k != "lr"}
    with np.errstate(all="ignore"):
        found = _defaults(rule, func, rng)
        six = inputs.fit(rule, (6,))
        p = rng.standard_normal(six)
        grads = [rng.standard_normal(six) * s for s in (1.0, 0.3, 2.0, 0.05)]
        lrs = [0.03, 0.07, 0.02, 0.05]
        found += _ignored(rule, func, p, grads, lrs, hyper)
        mine = _run(func, p, grads, lrs, {}, hyper)
        expected = _run(reference(rule), p, grads, lrs, {}, hyper)
        if mine is not None and expected is not None:
            found += _first_difference(rule, mine, expected, hyper, "from an empty state", 0)
            if not any(d.evidence == "values" and not d.id.startswith("ignores-") for d in found):
                state = inputs.given_state(rule, rng, six, t=5)
                p1 = rng.standard_normal(six)
                mine = _run(func, p1, grads[:2], lrs[:2], state, hyper)
                expected = _run(reference(rule), p1, grads[:2], lrs[:2], state, hyper)
                if mine is not None and expected is not None:
                    found += _first_difference(rule, mine, expected, hyper, "from a given state (t = 5)", 5)
        if not any(d.evidence == "values" for d in found):
            found += _zero_gradient(rule, func, rng, hyper)
    return found
