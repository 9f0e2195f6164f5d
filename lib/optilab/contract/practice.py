r"""Checks of lab 7's answers: a schedule as a function of the step, global-norm clipping, SAM.

Each check takes the student's code through a *runner* (a function that calls it and returns plain
values), so the same checks serve three places: the lab's visible checks (the student's function
called directly: :func:`check_schedule`, ...), the hidden tests run in the notebook's kernel, and
the grader's own process, which asks the student's process for the values (the runners of
:mod:`optilab.grading.labs.lab07`). ``hidden=True`` uses the hidden inputs.

A property that fails says where (the first wrong step, the first wrong array), and a recognised
mistake is named by what is wrong: each candidate is a wrong version of the reference computed
here (per-array clipping, another norm, an ascent without normalisation, ...) and is named when the
student's numbers are that version's.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from optilab import model_rules, schedules
from optilab.contract.diagnose import Diagnosis
from optilab.contract.visible import CheckResult, Property
from optilab.whole_model import global_norm

__all__ = ["check_schedule", "check_clip_grads", "check_clip", "check_sam", "schedule_result", "clip_grads_result",
           "clip_result", "sam_result", "SAM_SIZES"]

Params = dict[str, np.ndarray]

# ----------------------------------------------------------------------------------------- schedule
_SCHEDULE_CASES = {False: [dict(lr=0.1, warmup_steps=5, total_steps=25, lr_min=0.0)],
                   True: [dict(lr=0.3, warmup_steps=7, total_steps=40, lr_min=0.01),
                          dict(lr=2.0, warmup_steps=1, total_steps=9, lr_min=0.5),
                          dict(lr=0.05, warmup_steps=12, total_steps=13, lr_min=0.0)]}


def _cosine(lr: float, lr_min: float, fraction: float) -> float:
    return lr_min + 0.5 * (lr - lr_min) * (1 + math.cos(math.pi * fraction))


def _schedule_mistakes(lr: float, warmup_steps: int, total_steps: int, lr_min: float) -> dict[str, tuple[Callable, str]]:
    W, T = warmup_steps, total_steps

    def warm(t: int, shift: int = 1, over: int = W) -> float:
        return lr * (t + shift) / over

    right = schedules.warmup_cosine(lr, W, T, lr_min)
    return {
        "warmup-off-by-one": (lambda t: warm(t, 0) if t < W else right(t),
                              "the warm-up is one step late: step t = 0 is the first step and already moves, "
                              "lr·(t + 1)/warmup_steps, so that step warmup_steps − 1 reaches lr"),
        "warmup-reaches-peak-late": (lambda t: warm(t, 0, W - 1) if 0 < W - 1 and t < W else right(t),
                                     "the warm-up starts at 0: lr·(t + 1)/warmup_steps starts at lr/warmup_steps"),
        "no-warmup": (lambda t: lr if t < W else right(t), "there is no warm-up: the first warmup_steps steps ramp "
                                                           "up linearly, lr·(t + 1)/warmup_steps"),
        "cosine-from-zero": (lambda t: right(t) if t < W else _cosine(lr, lr_min, min(t, T) / T),
                             "the cosine's progress counts from the end of the warm-up: "
                             "(t − warmup_steps)/(total_steps − warmup_steps), not t/total_steps"),
        "cosine-to-zero": (lambda t: right(t) if t < W else _cosine(lr, 0.0, min(t - W, T - W) / (T - W)),
                           "the cosine must end at lr_min, not at 0"),
        "cosine-keeps-going": (lambda t: right(t) if t <= T else _cosine(lr, lr_min, (t - W) / (T - W)),
                               "after total_steps the lr must stay at lr_min: the cosine goes back up past π"),
        "linear-decay": (lambda t: right(t) if t < W else lr - (lr - lr_min) * min(t - W, T - W) / (T - W),
                         "the decay is linear; it must follow half a cosine, "
                         "lr_min + ½(lr − lr_min)(1 + cos(π·progress))"),
        "decay-off-by-one": (lambda t: right(t) if t < W else _cosine(lr, lr_min, min(t - W + 1, T - W) / (T - W)),
                             "the decay is one step early: at step warmup_steps the lr is still lr "
                             "(progress 0), and it reaches lr_min at step total_steps"),
    }


def schedule_result(value: Callable[..., Any], *, hidden: bool = False, part: str | None = None) -> CheckResult:
    """``value(step, **case)`` is the student's lr; ``part``: ``"warmup"``, ``"decay"`` or both (None)."""
    properties, diagnoses = [], []
    for case in _SCHEDULE_CASES[hidden]:
        W, T = case["warmup_steps"], case["total_steps"]
        right = schedules.warmup_cosine(**case)
        spans = {"warmup": range(0, W), "decay": range(W, T + 4)}
        for name in (("warmup", "decay") if part is None else (part,)):
            steps = list(spans[name])
            try:
                got = [value(t, **case) for t in steps]
                ok = all(isinstance(g, (int, float, np.floating, np.integer)) and np.ndim(g) == 0 for g in got)
                got = [float(g) for g in got] if ok else got
            except Exception as exc:  # the student's error, shown as theirs
                properties.append(Property(f"{name} ({_kw(case)})", False, f"{type(exc).__name__}: {exc}"))
                continue
            if not ok:
                properties.append(Property(f"{name} ({_kw(case)})", False,
                                           f"returns {type(got[0]).__name__}; a schedule returns one number (a float)"))
                continue
            want = [right(t) for t in steps]
            bad = [i for i, (g, w) in enumerate(zip(got, want)) if not math.isclose(g, w, rel_tol=1e-9, abs_tol=1e-12)]
            message = ""
            if bad:
                t = steps[bad[0]]
                message = f"at step {t}: yours {got[bad[0]]:.10g}, expected {want[bad[0]]:.10g}"
                for key, (wrong, text) in _schedule_mistakes(**case).items():
                    if all(math.isclose(g, wrong(s), rel_tol=1e-9, abs_tol=1e-12) for g, s in zip(got, steps)):
                        if key not in {d.id for d in diagnoses}:
                            diagnoses.append(Diagnosis(key, text))
                        break
            label = "warm-up: lr·(t + 1)/W for the steps t < W" if name == "warmup" else \
                "decay: half a cosine from lr at step W to lr_min at step T, then lr_min"
            properties.append(Property(f"{label} ({_kw(case)})", not bad, message))
    return CheckResult("warmup_cosine", properties, diagnoses, group=part)


def _kw(case: dict) -> str:
    return ", ".join(f"{k}={v:g}" for k, v in case.items())


def check_schedule(func: Callable, *, part: str | None = None, quiet: bool = False) -> CheckResult:
    """The visible check of your ``warmup_cosine(step, *, lr, warmup_steps, total_steps, lr_min)``."""
    return _shown(schedule_result(func, part=part), quiet)


def _shown(result: CheckResult, quiet: bool) -> CheckResult:
    if not quiet:
        print(result.report())
    return result


# ----------------------------------------------------------------------------------------- clipping
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
        problem = _dict_problem(got, want)
        if problem is None and _dict_problem(after, grads) is not None:
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


def _dict_problem(got: Any, want: Params) -> str | None:
    if not isinstance(got, dict):
        return f"returns {type(got).__name__}; return a dict with the names of grads"
    if set(got) != set(want):
        return f"returns the names {sorted(got)}; expected {sorted(want)}"
    for k in want:
        value = np.asarray(got[k], dtype=float) if _numeric(got[k]) else None
        if value is None or value.shape != want[k].shape:
            return f"{k!r} has shape {getattr(value, 'shape', None)}; expected {want[k].shape}"
        if not np.allclose(value, want[k], rtol=1e-9, atol=1e-14):
            i = np.unravel_index(np.argmax(np.abs(value - want[k])), value.shape) if value.ndim else ()
            return f"{k!r}{[int(j) for j in i] if i else ''}: yours {float(value[i]):.10g}, expected {float(want[k][i]):.10g}"
    return None


def _numeric(x: Any) -> bool:
    try:
        np.asarray(x, dtype=float)
        return True
    except (TypeError, ValueError):
        return False


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


def check_clip_grads(func: Callable, *, quiet: bool = False) -> CheckResult:
    """The visible check of your ``clip_grads(grads, max_norm)`` (which must leave ``grads`` unchanged)."""
    def clip(grads: Params, max_norm: float) -> tuple[Any, Params]:
        return func(grads, max_norm), grads
    return _shown(clip_grads_result(clip), quiet)


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
        problem = _steps_problem(got, want)
        if problem is not None and clip_grads is not None and _steps_problem(
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
            if _steps_problem(got, expected) is None:
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
        if any(_dict_problem(c, g) is not None and not isinstance(c, dict) for c, g in zip(clipped, grads)):
            return []
        clipped = [{k: np.asarray(c[k], dtype=float) for k in g} for c, g in zip(clipped, grads)]
        return wrapped_steps(model_rules.clip_by_global_norm, rule, 1e300, params, clipped, lrs, **hyper)
    except Exception:
        return []


def _steps_problem(got: Any, want: list[Params]) -> str | None:
    if not isinstance(got, (list, tuple)) or len(got) != len(want):
        return f"the run did not give {len(want)} steps (got {type(got).__name__})"
    for step, (g, w) in enumerate(zip(got, want), start=1):
        problem = _dict_problem(g, w)
        if problem:
            return f"step {step}: {problem}"
    return None


def check_clip(func: Callable, *, clip_grads: Callable | None = None, quiet: bool = False) -> CheckResult:
    """The visible check of your ``clip_by_global_norm(rule, max_norm)`` (the rule it returns); given your
    ``clip_grads``, it also accepts the rule's steps with your clipping (a mistake there is its own)."""
    from optilab.kernels import RULES
    from optilab.whole_model import wrapped_steps

    def run(rule: str, max_norm: float, params: Params, grads: list, lrs: list, **hyper: Any) -> list:
        return wrapped_steps(func, RULES[rule], max_norm, params, grads, lrs, **hyper)
    own = None if clip_grads is None else (lambda grads, max_norm: (clip_grads(grads, max_norm), grads))
    return _shown(clip_result(run, clip_grads=own), quiet)


# ----------------------------------------------------------------------------------------- SAM
#: The MLP the SAM checks run on.
SAM_SIZES = (3, 5, 2)


def _sam_case(hidden: bool) -> tuple[np.ndarray, np.ndarray, Params, list[float], dict]:
    from optilab.models import MLP

    rng = np.random.default_rng(7_307 + hidden)
    X = rng.normal(size=(12, 3))
    y = rng.integers(0, 2, 12)
    params = {k: v + 0.3 * rng.normal(size=v.shape) for k, v in MLP(SAM_SIZES).init(int(hidden)).items()}
    lrs = [0.3, 0.2, 0.25, 0.1] if hidden else [0.5, 0.5, 0.5]
    return X, y, params, lrs, ({"rho": 0.2} if hidden else {"rho": 0.1})


def _ascent_mistakes(p: Params, g: Params, rho: float) -> dict[str, tuple[Params, str]]:
    n = global_norm(g)
    return {
        "ascent-sign": ({k: p[k] - rho * g[k] / n for k in p},
                        "wrong sign: SAM climbs to the worst nearby point, p + ρ·g/‖g‖ (a plus)"),
        "ascent-not-normalised": ({k: p[k] + rho * g[k] for k in p},
                                  "the ascent is not normalised: move by ρ·g/‖g‖, a step of length ρ"),
        "ascent-per-array": ({k: p[k] + rho * g[k] / np.linalg.norm(g[k]) for k in p},
                             "each array is normalised by its own norm: divide by ‖g‖ over all the arrays together"),
        "ascent-squared-norm": ({k: p[k] + rho * g[k] / n**2 for k in p},
                                "divided by ‖g‖²: divide by ‖g‖, so that the step has length ρ"),
        "rho-ignored": ({k: p[k] + 0.05 * g[k] / n for k in p},
                        "the ascent uses ρ = 0.05 whatever rho is given: use the rho argument"),
    }


def sam_result(run: Callable[..., Any], *, hidden: bool = False, part: str | None = None) -> CheckResult:
    """``run(X, y, params, lrs, **hyper)`` is :func:`optilab.whole_model.sam_steps` with the student's
    ``sam`` on ``MLP(SAM_SIZES)``; ``part``: ``"ascent"`` (where grad_fn is called), ``"step"`` (the
    update and the defaults), or both."""
    from optilab.models import MLP

    model = MLP(SAM_SIZES)
    X, y, params, lrs, hyper = _sam_case(hidden)
    properties, diagnoses = [], []
    try:
        got = run(X, y, params, lrs, **hyper)
        points, steps = got["points"], got["params"]
    except Exception as exc:
        return CheckResult("sam", [Property("sam runs", False, f"{type(exc).__name__}: {exc}")], [], group=part)
    rho = hyper["rho"]
    if part in (None, "ascent"):
        problem, p = None, params
        for t, pts in enumerate(points, start=1):
            g = model.loss_and_grads(p, X, y)[1]
            if not isinstance(pts, (list, tuple)) or len(pts) != 1:
                count = len(pts) if isinstance(pts, (list, tuple)) else 0
                problem = f"step {t}: grad_fn was called {count} times; SAM calls it once per step"
                diagnoses.append(Diagnosis("no-second-gradient", "SAM takes one more gradient per step: call "
                                                                 "grad_fn once, at the perturbed parameters")
                                 if not count else
                                 Diagnosis("too-many-calls", "call grad_fn once per step: the first gradient is "
                                                             "given as grads"))
                break
            n = global_norm(g)
            right = {k: p[k] + rho * g[k] / (n + model_rules.SAM_EPS) for k in p}
            problem = _dict_problem(pts[0], right)
            if problem:
                problem = f"step {t}, the point where grad_fn is called: {problem}"
                for key, (wrong, text) in _ascent_mistakes(p, g, rho).items():
                    if _dict_problem(pts[0], wrong) is None:
                        diagnoses.append(Diagnosis(key, text))
                        break
                break
            following = steps[t - 1] if isinstance(steps, (list, tuple)) and t <= len(steps) else None
            if not (isinstance(following, dict) and set(following) == set(p) and all(_numeric(following[k]) for k in p)):
                break  # the next point comes from your next parameters, which are not a dict of arrays
            p = {k: np.asarray(steps[t - 1][k], dtype=float) for k in p}  # from your own parameters
        if len(points) != len(lrs) and problem is None:
            problem = f"the run gave {len(points)} steps, not {len(lrs)}"
        properties.append(Property(f"grad_fn is called once per step, at p + ρ·g/‖g‖ (ρ = {rho:g})", problem is None,
                                   problem or ""))
    if part in (None, "step"):
        problem = _sam_step_problem(model, X, y, params, lrs, rho, steps, points, diagnoses)
        if problem is None and any(got.get("changed", [])):
            problem = "params or grads was changed in place: return new arrays and leave the inputs as they were"
        properties.append(Property("p ← p − lr·∇L(p + ε), step after step", problem is None, problem or ""))
        try:  # your sam without rho, against your sam with rho=0.05: the same steps
            problem = _steps_problem(run(X, y, params, lrs[:2])["params"],
                                     [{k: np.asarray(v, dtype=float) for k, v in step.items()}
                                      for step in run(X, y, params, lrs[:2], rho=0.05)["params"]])
        except Exception as exc:
            problem = f"{type(exc).__name__}: {exc}"
        if problem:
            problem = "without rho, your sam does not take the steps it takes with rho=0.05: " + problem
            diagnoses.append(Diagnosis("default-rho", "the default of rho must be 0.05 (and lr's 0.01)"))
        properties.append(Property("rho defaults to 0.05", problem is None, problem or ""))
    return CheckResult("sam", properties, diagnoses, group=part)


def _sam_step_problem(model: Any, X: np.ndarray, y: np.ndarray, params: Params, lrs: list[float], rho: float,
                      steps: Any, points: Any, diagnoses: list[Diagnosis]) -> str | None:
    """Each step from the student's own previous parameters, with the gradient at the student's own
    point (where grad_fn was called; the right point if it was not called once): a wrong ascent
    costs the ascent's points, not these too."""
    if not isinstance(steps, (list, tuple)) or len(steps) != len(lrs):
        return f"the run did not give {len(lrs)} steps"
    p = params
    for t, lr in enumerate(lrs):
        g = model.loss_and_grads(p, X, y)[1]
        own = points[t] if isinstance(points, (list, tuple)) and t < len(points) else []
        if isinstance(own, (list, tuple)) and len(own) == 1 and isinstance(own[0], dict) and set(own[0]) == set(p):
            point = {k: np.asarray(own[0][k], dtype=float) for k in p}
        else:
            n = global_norm(g)
            point = {k: p[k] + rho * g[k] / (n + model_rules.SAM_EPS) for k in p}
        g2 = model.loss_and_grads(point, X, y)[1]
        want = {k: p[k] - lr * g2[k] for k in p}
        problem = _dict_problem(steps[t], want)
        if problem is None:
            p = {k: np.asarray(steps[t][k], dtype=float) for k in p}
            continue
        wrongs = {"step-first-gradient": ({k: p[k] - lr * g[k] for k in p},
                                          "the step uses the first gradient; SAM steps with the gradient at the "
                                          "perturbed point, the one grad_fn returns"),
                  "step-from-perturbed": ({k: point[k] - lr * g2[k] for k in p},
                                          "the step starts from the perturbed point; SAM steps from p: "
                                          "p ← p − lr·∇L(p + ε)"),
                  "step-sign": ({k: p[k] + lr * g2[k] for k in p}, "the step climbs: p ← p − lr·g' (a minus)")}
        for key, (wrong, text) in wrongs.items():
            if _dict_problem(steps[t], wrong) is None:
                diagnoses.append(Diagnosis(key, text))
                break
        return f"step {t + 1}: {problem}"
    return None


def check_sam(func: Callable, *, part: str | None = None, quiet: bool = False) -> CheckResult:
    """The visible check of your ``sam(params, grads, state, *, grad_fn, lr=0.01, rho=0.05)`` (which must
    leave its inputs unchanged)."""
    from optilab.whole_model import sam_steps

    def run(X: np.ndarray, y: np.ndarray, params: Params, lrs: list, **hyper: Any) -> dict:
        return sam_steps(func, SAM_SIZES, X, y, params, lrs, **hyper)
    return _shown(sam_result(run, part=part), quiet)
