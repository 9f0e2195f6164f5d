r"""Name the mistakes in a student's rule.

Two kinds of evidence:

- **Values.** The student's rule and every mutant of :mod:`optilab.contract.mutants` (one or
  two knobs turned wrong) run on the same probe inputs: five steps from an empty state with
  a changing lr, then two steps from a given state with ``t = 5``. The probes are built to
  tell the conventions apart: non-default hyperparameters with β₁ ≠ β₂, and gradients from
  1e-5 to 2 beside ε = 1e-4, so that where ε goes shows. A student's rule is named with the
  mistakes of the mutants it matches (the fewest mistakes that explain it), and only if it
  does not match the reference.
- **Measurements**, when no mutant matches (:mod:`optilab.contract.explain`): which default,
  which step and which state quantity first differ and by what factor, which hyperparameter
  the rule ignores.
- **The contract's other clauses**, checked directly: inputs left unchanged, state keys,
  dtype and shape kept, no returned array shared with an input.

Student code may be wrong in any way, so every call is guarded; a probe the rule cannot run
is skipped.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from optilab.contract import inputs
from optilab.contract import properties as P
from optilab.contract.mistakes import KNOBS, MISTAKES, configurations, mistakes_of
from optilab.contract.mutants import mutant
from optilab.contract.spec import DEFAULTS, STATE_KEYS, record, require_rule

__all__ = ["Diagnosis", "diagnose", "PROBE_HYPER"]

#: Hyperparameters of the probes: none at its default, β₁ ≠ β₂, ε large beside tiny gradients.
PROBE_HYPER = {"momentum": 0.7, "rho": 0.8, "beta1": 0.8, "beta2": 0.95, "eps": 1e-4,
               "weight_decay": 0.1}
PROBE_HYPER["eps1"] = 1e-4  # Adafactor's floor under √v̂, large beside the tiny gradients too
_LRS = (0.03, 0.07, 0.02, 0.05, 0.04)
_RESUME_LRS = (0.05, 0.01)
_SCALES = np.array([1.0, 0.3, 3e-2, 1e-3, 1e-5, 2.0])


@dataclass(frozen=True)
class Diagnosis:
    """A recognised mistake: its ``id``, the ``message`` for the student, and what showed it."""

    id: str
    message: str
    evidence: str = ""

    def as_dict(self) -> dict[str, str]:
        """The ``{"id", "message"}`` object of the ``--json`` report."""
        return {"id": self.id, "message": self.message}


def _probe_inputs(rule: str) -> tuple[dict, np.ndarray, list, dict, np.ndarray, list]:
    rng = np.random.default_rng(20_260_001)
    hyper = {k: v for k, v in PROBE_HYPER.items() if k in DEFAULTS[rule]}
    shape = inputs.fit(rule, _SCALES.shape)  # a matrix of as many entries for a rule of matrices only
    scales = _SCALES.reshape(shape)
    if any(slot.shape in ("rows", "cols") for slot in record(rule).state):
        # a factored second moment (Adafactor) shows its mistakes on a matrix; a square one, so that
        # row and col averages taken over the wrong axes still have the right shapes
        shape, scales = (3, 3), np.resize(_SCALES, 9).reshape(3, 3)
    p0 = rng.standard_normal(shape)
    grads = [rng.standard_normal(shape) * scales for _ in _LRS]
    state = inputs.given_state(rule, rng, shape, t=5)
    p1 = rng.standard_normal(shape)
    grads1 = [rng.standard_normal(shape) * scales for _ in _RESUME_LRS]
    if rule == "lion":
        # A signed step hides most mistakes in m: the first resumed gradient opposes the given m at
        # 0.5 to 10 times its size, so that sign(β₁m + (1−β₁)g) flips between neighbouring entries
        # (at 4 times for β₁ = 0.8) and an m taken before or after its update gives other signs.
        grads1[0] = -state["m"] * np.array([0.5, 2.0, 3.5, 3.9, 5.0, 10.0]).reshape(shape)
    return hyper, p0, grads, state, p1, grads1


def _steps(func: Callable, inputs: tuple) -> Iterator[tuple[np.ndarray, np.ndarray, dict]]:
    """(param before, param after, state after) of each step of the two probes, one by one.

    Raises :class:`~.properties.RuleFailure` if the rule fails or returns the wrong shape.
    """
    hyper, p0, grads, state0, p1, grads1 = inputs
    for p, gs, lrs, s in ((p0, grads, _LRS, {}), (p1, grads1, _RESUME_LRS, state0)):
        p, s = p.copy(), copy.deepcopy(s)
        for g, lr in zip(gs, lrs):
            new_p, new_s = P.call(func, p.copy(), g.copy(), copy.deepcopy(s),
                                  {"lr": lr, **hyper}, where="probe")
            new_p = np.asarray(new_p, dtype=np.float64)
            if new_p.shape != p.shape:
                raise P.RuleFailure("probe: wrong shape")
            yield p, new_p, new_s
            p, s = new_p, new_s


def _close(a: Any, b: Any, base: np.ndarray | None) -> bool:
    try:
        a = np.asarray(a, dtype=np.float64)
        b = np.asarray(b, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    if a.shape != b.shape:
        return False
    return P.first_difference(a, b, base, np.dtype(np.float64)) is None


def _matches(rule: str, mine: list, theirs: Iterator) -> bool:
    """Does the student's trace (``mine``) match a mutant's (``theirs``, computed as needed)?

    Parameters must match at every step; the contract's state keys are compared where the
    student's state has them (a missing key is a contract diagnosis of its own).
    """
    try:
        for (_, y, s_y), (q, e, s_e) in zip(mine, theirs):
            if not _close(y, e, q):
                return False
            for key in STATE_KEYS[rule]:
                if key in s_y and key in s_e and not _close(s_y[key], s_e[key], None):
                    return False
    except P.RuleFailure:
        return False
    return True


def _value_diagnoses(rule: str, func: Callable) -> list[Diagnosis]:
    if rule not in KNOBS:
        return []  # no catalogue of mutants for this rule yet: the failed tests speak alone
    inputs = _probe_inputs(rule)
    try:
        mine = list(_steps(func, inputs))
    except P.RuleFailure:
        return []  # the contract diagnoses say why
    found: list[dict] = []
    fewest = None
    for knobs in configurations(rule):
        if fewest is not None and len(knobs) > fewest:
            break
        if _matches(rule, mine, _steps(mutant(rule, **knobs), inputs)):
            if not knobs:
                return []  # it is the contract's rule on these probes
            fewest = len(knobs)
            found.append(knobs)
    ids: list[str] = []
    for knobs in found:
        for mid in mistakes_of(rule, knobs):
            if mid not in ids:
                ids.append(mid)
    return [Diagnosis(mid, MISTAKES[mid].message, "values") for mid in ids]


def _contract_diagnoses(rule: str, func: Callable) -> list[Diagnosis]:
    rng = np.random.default_rng(20_260_002)
    hyper = {k: v for k, v in PROBE_HYPER.items() if k in DEFAULTS[rule]}
    hyper["lr"] = 0.05
    out: dict[str, Diagnosis] = {}

    def record(check: Callable[[], None]) -> None:
        try:
            with np.errstate(all="ignore"):
                check()
        except P.RuleFailure as exc:
            if exc.kind and exc.kind not in out:
                out[exc.kind] = Diagnosis(exc.kind, MISTAKES[exc.kind].message, str(exc))

    shapes = list(dict.fromkeys(inputs.fit(rule, shape) for shape in [(5,), (), (2, 3)]))
    for shape in shapes:
        p = inputs.draw(rng, shape)
        gs = [inputs.draw(rng, shape) for _ in range(3)]
        record(lambda: P.no_mutation(rule, func, param=p, grads=gs, hyper=hyper))
        record(lambda: P.keeps_dtype_and_shape(rule, func, param=p, grads=gs, hyper=hyper))
    four = inputs.fit(rule, (4,))
    p32 = inputs.draw(rng, four, np.float32)
    gs32 = [inputs.draw(rng, four, np.float32) for _ in range(2)]
    record(lambda: P.keeps_dtype_and_shape(rule, func, param=p32, grads=gs32, hyper=hyper))
    p = inputs.draw(rng, four)
    gs = [inputs.draw(rng, four) for _ in range(2)]
    record(lambda: P.returns_new_arrays(rule, func, param=p, grads=gs, hyper=hyper))
    return list(out.values())


def diagnose(rule: str, func: Callable[..., Any]) -> list[Diagnosis]:
    """The recognised mistakes of ``func`` as the contract's rule ``rule`` (empty: none found).

    Parameters
    ----------
    rule : str
        One of the contract's rules (``"sgd"``, ..., ``"adamw"``).
    func : callable
        The student's rule, ``func(param, grad, state, *, lr, ...) -> (new_param, new_state)``.

    Returns
    -------
    list of Diagnosis
        Value mistakes first (matched against the mutants or, when none matches, measured:
        :mod:`optilab.contract.explain`), then broken contract clauses.
    """
    require_rule(rule)
    with np.errstate(all="ignore"):
        values = _value_diagnoses(rule, func)
        contract = _contract_diagnoses(rule, func)
        if not values and not any(d.id == "missing-state-key" for d in contract):
            # no known mistake matches: say what is wrong from the evidence (a state without the
            # contract's keys cannot be read step by step: that diagnosis says it already)
            from optilab.contract.explain import explain
            values = explain(rule, func, PROBE_HYPER)
    ids = {d.id for d in values} | {d.id for d in contract}
    if ids & {"mutates-param", "mutates-grad", "mutates-state"}:
        ids.discard("shares-memory")  # returning the array it changed in place: one mistake
    if ids & {"mutates-param", "shares-memory"}:
        ids -= {"zero-gradient-same-array", "zero-gradient"}  # the same mistake, seen on every step
    if "state-shape" in ids:
        ids.discard("dtype")  # a number where an array belongs also promotes float32: one mistake
    if "adafactor-axes-swapped" in ids:
        ids.discard("raises")  # row and col of swapped shapes cannot broadcast on a non-square matrix
    if "adafactor-not-factored" in ids:
        ids.discard("missing-state-key")  # a full v where row and col belong: one mistake
    seen = set()
    out = []
    for d in values + contract:
        if d.id in ids and d.id not in seen:
            seen.add(d.id)
            out.append(d)
    return out
