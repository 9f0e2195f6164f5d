"""The checks of lab 7's clipping: ``clip_grads(grads, max_norm)`` and the whole-model rule of
``clip_by_global_norm(rule, max_norm)`` (see :mod:`optilab.contract._practice`)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from optilab import model_rules
from optilab.contract._practice import Params, dict_problem, steps_problem
from optilab.contract.diagnose import Diagnosis
from optilab.contract.visible import CheckResult, Property
from optilab.whole_model import global_norm

__all__ = ["clip_grads_result", "clip_result"]


def _grads(rng: np.random.Generator, scale: float) -> Params:
    return {"W1": scale * rng.normal(size=(3, 4)), "b1": scale * rng.normal(size=4),
            "W2": scale * 4 * rng.normal(size=(4, 2)), "b2": scale * 0.1 * rng.normal(size=2)}


_NORMS = {
    "l1": (lambda g: sum(float(np.sum(np.abs(a))) for a in g.values()), "the sum of |g| (an L1 norm)"),
    "max": (lambda g: max(float(np.max(np.abs(a))) for a in g.values()), "the largest |g| (a max norm)"),
    "sum-of-norms": (lambda g: sum(float(np.linalg.norm(a)) for a in g.values()), "the sum of each array's norm"),
    "squared": (lambda g: global_norm(g) ** 2, "Σ g² without the square root"),
    "mean-square": (lambda g: math.sqrt(sum(float(np.sum(a * a)) for a in g.values())
                                         / sum(a.size for a in g.values())), "the root mean square, not the root sum"),
}


def clip_grads_result(clip: Callable[[Params, float], Any], *, hidden: bool = False) -> CheckResult:
    """``clip(grads, max_norm)`` gives ``(the student's clip_grads(grads, max_norm), grads after the call)``."""
    rng = np.random.default_rng(7_107 + hidden)
    cases = [("large gradients are scaled to the norm max_norm", _grads(rng, 3.0), 1.5),
             ("small gradients are left as they are", _grads(rng, 0.01), 1.5),
             ("a zero gradient stays zero", {k: np.zeros_like(v) for k, v in _grads(rng, 1.0).items()}, 1.0)]
    if hidden:
        cases.insert(1, ("one factor for every array, from the norm of all of them", _grads(rng, 50.0), 0.3))
    properties, diagnoses = [], []
    for name, grads, max_norm in cases:
        norm = global_norm(grads)
        factor = min(1.0, max_norm / norm) if norm > 0 else 1.0
        want = {k: g * factor for k, g in grads.items()}
        try:
            got, after = clip({k: g.copy() for k, g in grads.items()}, max_norm)
        except Exception as exc:
            properties.append(Property(name, False, f"{type(exc).__name__}: {exc}"))
            continue
        problem = dict_problem(got, want)
        if problem is None and dict_problem(after, grads) is not None:
            problem = "grads was changed in place: return new arrays and leave grads as it was"
        if problem is None:
            properties.append(Property(name, True))
            continue
        properties.append(Property(name, False, problem))
        if isinstance(got, dict) and set(got) == set(want) and all(np.shape(got[k]) == np.shape(want[k]) for k in want):
            diagnosis = _clip_diagnosis(got, grads, max_norm)
            if diagnosis and diagnosis.id not in {d.id for d in diagnoses}:
                diagnoses.append(diagnosis)
    return CheckResult("clip_grads", properties, diagnoses)


def _clip_diagnosis(got: Params, grads: Params, max_norm: float) -> Diagnosis | None:
    """Name what is wrong from the factor each array was scaled by."""
    factors = {}
    for k, g in grads.items():
        scale = float(np.sum(g * g))
        if scale > 0:
            factors[k] = float(np.sum(np.asarray(got[k], dtype=float) * g)) / scale
    if not factors:
        return Diagnosis("zero-gradient", "a zero gradient must stay zero (and finite): leave it as it is")
    values = np.array(list(factors.values()))
    norm = global_norm(grads)
    if np.ptp(values) > 1e-9 * np.max(np.abs(values)):
        per_array = all(math.isclose(f, min(1.0, max_norm / float(np.linalg.norm(grads[k]))), rel_tol=1e-7)
                        for k, f in factors.items())
        if per_array:
            return Diagnosis("per-array", "each array is clipped by its own norm: global-norm clipping scales every "
                                          "array by one factor, min(1, max_norm/‖g‖), with ‖g‖ over all of them")
        return Diagnosis("factors-differ", "the arrays are scaled by different factors: one factor for all of them")
    factor = float(values[0])
    if norm <= max_norm and not math.isclose(factor, 1.0, rel_tol=1e-9):
        if math.isclose(factor, max_norm / norm, rel_tol=1e-7):
            return Diagnosis("scales-up", "small gradients are scaled up to max_norm: the factor is "
                                          "min(1, max_norm/‖g‖), so below max_norm they stay as they are")
        return Diagnosis("below-threshold", "gradients whose norm is below max_norm must be left as they are")
    for key, (norm_of, text) in _NORMS.items():
        other = norm_of(grads)
        if other > 0 and math.isclose(factor, min(1.0, max_norm / other), rel_tol=1e-7):
            return Diagnosis(f"norm-{key}", f"the norm is {text}; the global norm is √(Σ g²) over every entry of "
                                            "every array")
    return None


def _clip_cases(hidden: bool) -> list[tuple[str, float, dict, Params, list[Params], list[float]]]:
    rng = np.random.default_rng(7_207 + hidden)
    rules = [("sgd", {}), ("adam", {"beta1": 0.8})] if not hidden else \
        [("momentum", {"momentum": 0.5}), ("adam", {"beta2": 0.99, "eps": 1e-6}), ("sgd", {})]
    cases = []
    for rule, hyper in rules:
        params = _grads(rng, 1.0)
        grads = [_grads(rng, float(10 ** rng.uniform(-1.5, 1.5))) for _ in range(6)]
        cases.append((rule, 1.0, hyper, params, grads, list(np.linspace(0.05, 0.1, 6))))
    return cases


def _clip_mistakes(rule: str, max_norm: float, hyper: dict) -> dict[str, tuple[Callable, str]]:
    from optilab.kernels import RULES

    def per_array(params: Params, grads: Params, state: dict, *, lr: float, **kw: Any) -> tuple[Params, dict]:
        new, out = {}, {}
        for k in params:
            n = float(np.linalg.norm(grads[k]))
            g = grads[k] * (min(1.0, max_norm / n) if n > 0 else 1.0)
            new[k], out[k] = RULES[rule](params[k], g, state.get(k, {}), lr=lr, **kw)
        return new, out
    def one_state(params: Params, grads: Params, state: dict, *, lr: float, **kw: Any) -> tuple[Params, dict]:
        n = global_norm(grads)
        s, new = state, {}
        for k in params:
            new[k], s = RULES[rule](params[k], grads[k] * min(1.0, max_norm / n), s if s else {}, lr=lr, **kw)
        return new, s
    return {
        "per-array": (per_array, "each array is clipped by its own norm: scale every gradient by one factor, "
                                 "min(1, max_norm/‖g‖), with ‖g‖ over all the arrays together"),
        "never-clips": (model_rules.clip_by_global_norm(rule, 1e300),
                        "the gradients are not clipped: scale them before the rule steps"),
        "always-sgd": (model_rules.clip_by_global_norm("sgd", max_norm),
                       "the step is plain SGD: the wrapped rule must take the step, "
                       "rule(param, clipped grad, state[name], lr=lr, **hyperparameters)"),
        "hyperparameters-dropped": (model_rules.clip_by_global_norm(rule, max_norm),
                                    "the rule's hyperparameters are not passed on: give rule(...) the keyword "
                                    "arguments your step was called with"),
        "one-state": (one_state, "the state is shared by every array: keep one state per parameter, "
                                 "state[name], as the rule returned it for that parameter"),
    }


def clip_result(run: Callable[..., Any], *, hidden: bool = False,
                clip_grads: Callable[[Params, float], Any] | None = None) -> CheckResult:
    """``run(rule, max_norm, params, grads, lrs, **hyper)`` is :func:`optilab.whole_model.wrapped_steps`
    with the student's ``clip_by_global_norm``: the parameters after each step.

    With ``clip_grads`` (the runner of :func:`clip_grads_result`), a run is also right when it is the
    rule's steps with the gradients the student's own ``clip_grads`` returns: a mistake in
    ``clip_grads`` costs its own points, not these too."""
    from optilab.whole_model import wrapped_steps

    properties, diagnoses = [], []
    for rule, max_norm, hyper, params, grads, lrs in _clip_cases(hidden):
        name = f"clip_by_global_norm({rule!r}, {max_norm:g}) for {len(lrs)} steps" + (f", {hyper}" if hyper else "")
        want = wrapped_steps(model_rules.clip_by_global_norm, rule, max_norm, params, grads, lrs, **hyper)
        try:
            got = run(rule, max_norm, params, grads, lrs, **hyper)
        except Exception as exc:
            properties.append(Property(name, False, f"{type(exc).__name__}: {exc}"))
            continue
        problem = steps_problem(got, want)
        if problem is not None and clip_grads is not None and steps_problem(
                got, _with_own_clipping(clip_grads, rule, max_norm, params, grads, lrs, hyper)) is None:
            problem = None
        properties.append(Property(name, problem is None, problem or ""))
        if problem is None:
            continue
        for key, (wrong, text) in _clip_mistakes(rule, max_norm, hyper).items():
            kw = {} if key in ("hyperparameters-dropped", "always-sgd") else hyper
            if key == "hyperparameters-dropped" and not hyper:
                continue
            try:
                expected = wrapped_steps(lambda r, m, wrong=wrong: wrong, rule, max_norm, params, grads, lrs, **kw)
            except Exception:  # this mistake cannot even run these inputs
                continue
            if steps_problem(got, expected) is None:
                if key not in {d.id for d in diagnoses}:
                    diagnoses.append(Diagnosis(key, text))
                break
    return CheckResult("clip_by_global_norm", properties, diagnoses)


def _with_own_clipping(clip_grads: Callable, rule: str, max_norm: float, params: Params, grads: list[Params],
                       lrs: list[float], hyper: dict) -> list[Params]:
    """The rule's steps with the gradients as the student's ``clip_grads`` clips them ([] if it cannot)."""
    from optilab.whole_model import wrapped_steps

    try:
        clipped = [clip_grads({k: g.copy() for k, g in step.items()}, max_norm)[0] for step in grads]
        if any(dict_problem(c, g) is not None and not isinstance(c, dict) for c, g in zip(clipped, grads)):
            return []
        clipped = [{k: np.asarray(c[k], dtype=float) for k in g} for c, g in zip(clipped, grads)]
        return wrapped_steps(model_rules.clip_by_global_norm, rule, 1e300, params, clipped, lrs, **hyper)
    except Exception:
        return []

