"""The checks of lab 7's SAM: ``sam(params, grads, state, *, grad_fn, lr=0.01, rho=0.05)``, run on a small
MLP by :func:`optilab.whole_model.sam_steps` (see :mod:`optilab.contract._practice`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from optilab import model_rules
from optilab.contract._practice import Params, dict_problem, numeric, steps_problem
from optilab.contract.diagnose import Diagnosis
from optilab.contract.visible import CheckResult, Property
from optilab.whole_model import global_norm

__all__ = ["SAM_SIZES", "sam_result"]

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
            problem = dict_problem(pts[0], right)
            if problem:
                problem = f"step {t}, the point where grad_fn is called: {problem}"
                for key, (wrong, text) in _ascent_mistakes(p, g, rho).items():
                    if dict_problem(pts[0], wrong) is None:
                        diagnoses.append(Diagnosis(key, text))
                        break
                break
            following = steps[t - 1] if isinstance(steps, (list, tuple)) and t <= len(steps) else None
            if not (isinstance(following, dict) and set(following) == set(p) and all(numeric(following[k]) for k in p)):
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
            problem = steps_problem(run(X, y, params, lrs[:2])["params"],
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
        problem = dict_problem(steps[t], want)
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
            if dict_problem(steps[t], wrong) is None:
                diagnoses.append(Diagnosis(key, text))
                break
        return f"step {t + 1}: {problem}"
    return None

