"""Lab 7 (training in practice): the checks of its test cells, run in the grader's process.

Each check runs the lab's visible check (``optilab.check("sam", sam)``, :mod:`optilab.contract.answers`),
then the same check with its hidden inputs, given the student's functions through plain-data requests
to the notebook's process: the notebook's ``warmup_cosine`` for each step, its ``clip_grads`` through
``called`` (which also returns the arguments after the call, to see changes in place), its
``clip_by_global_norm`` through :func:`optilab.whole_model.wrapped_steps` and its ``sam`` through
:func:`optilab.whole_model.sam_steps`. The experiment's numbers are recomputed here from the lab's own
settings (:func:`reference_runs`).

The lab's hidden test cells run the same checks in the notebook's own kernel (:func:`run_here`).
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any

import numpy as np

from optilab.contract.clip_check import clip_grads_result, clip_result
from optilab.contract.sam_check import SAM_SIZES, sam_result
from optilab.contract.schedule_check import schedule_result
from optilab.grading import labs
from optilab.grading.labs import given
from optilab.grading.notebook import Ref, Reference

#: The experiment's settings (its setup cell).
EPOCHS, BATCH, PEAK_LR, RHO, MAX_NORM = 20, 32, 3.0, 0.05, 1.0
SEEDS = (0, 1, 2, 3, 4)
SETUPS = ("constant lr", "warm-up + cosine", "warm-up + cosine, clipped", "warm-up + cosine, SAM")


def _passed(*results: Any) -> None:
    """Raise AssertionError with the first failing result's report."""
    for result in results:
        if result.passed:
            continue
        if any("NotImplementedError" in p.message for p in result.properties if not p.passed):
            raise AssertionError(f"{result.rule} is not written yet (it raises NotImplementedError)")
        raise AssertionError("\n" + result.report())


# --------------------------------------------------------------------------- how each answer is called
def _schedule(notebook: Any):
    return lambda step, **case: notebook.call("warmup_cosine", step, **case)


def _clip_grads(notebook: Any):
    def clip(grads: dict, max_norm: float) -> tuple[Any, Any]:
        out = notebook.call("called", Ref("clip_grads"), grads, max_norm)
        if not isinstance(out, dict) or "value" not in out:
            raise AssertionError("the lab's helper `called` does not answer: run the setup cell unchanged")
        return out["value"], out["args"][0]
    return clip


def _clip(notebook: Any):
    def run(rule: str, max_norm: float, params: dict, grads: list, lrs: list, **hyper: Any) -> Any:
        return notebook.call("wrapped_steps", Ref("clip_by_global_norm"), Reference(rule), max_norm, params, grads,
                             [float(lr) for lr in lrs], **hyper)
    return run


def _sam(notebook: Any):
    def run(X: np.ndarray, y: np.ndarray, params: dict, lrs: list, **hyper: Any) -> Any:
        out = notebook.call("sam_steps", Ref("sam"), list(SAM_SIZES), X, y, params,
                            [float(lr) for lr in lrs], **hyper)
        if not isinstance(out, dict) or not {"params", "points"} <= set(out):
            raise AssertionError("the lab's helper `sam_steps` does not answer: run the setup cell unchanged")
        return out
    return run


# --------------------------------------------------------------------------- the checks
def test_schedule_warmup(notebook: Any) -> None:
    """warmup_cosine's warm-up (1 point)."""
    run = _schedule(notebook)
    _passed(schedule_result(run, part="warmup"), schedule_result(run, hidden=True, part="warmup"))


def test_schedule_decay(notebook: Any) -> None:
    """warmup_cosine's cosine decay, and lr_min after it (2 points)."""
    run = _schedule(notebook)
    _passed(schedule_result(run, part="decay"), schedule_result(run, hidden=True, part="decay"))


def _float32_problem(run: Any) -> str | None:
    """A hidden case: float32 gradients above the norm come back float32 (CONTRACT.md: every array
    of a whole-model step keeps its dtype; a float64 factor would turn the parameters float64)."""
    grads = {"W": (np.arange(12.0).reshape(3, 4) - 5.5).astype(np.float32), "b": np.array([3.0, -4.0], np.float32)}
    got, _ = run(grads, 1.0)
    if not isinstance(got, dict) or set(got) != set(grads):
        return None  # the other checks say what is wrong with the dict
    for name, value in got.items():
        dtype = getattr(value, "dtype", None)
        if dtype != np.float32:
            return (f"float32 gradients come back as {dtype} ({name!r}): scale each array by a Python float "
                    "(e.g. float(max_norm / norm)), so that it keeps its dtype; a NumPy float64 factor turns float32 "
                    "arrays into float64")
    return None


def test_clip_grads(notebook: Any) -> None:
    """clip_grads: one factor from the norm of all the gradients (2 points)."""
    run = _clip_grads(notebook)
    _passed(clip_grads_result(run), clip_grads_result(run, hidden=True))
    problem = _float32_problem(run)
    assert problem is None, problem


def _changed_inputs_problem(notebook: Any) -> str | None:
    """A hidden case: the step of ``clip_by_global_norm`` leaves the dicts it is given as they were
    (CONTRACT.md: a rule never modifies its inputs), seen through ``called`` around ``wrapped_steps``."""
    rng = np.random.default_rng(11)
    params = {"W": rng.normal(size=(3, 2)), "b": rng.normal(size=2)}
    grads = [{name: 3.0 * rng.normal(size=value.shape) for name, value in params.items()} for _ in range(2)]
    out = notebook.call("called", Ref("wrapped_steps"), Ref("clip_by_global_norm"), Reference("momentum"), 1.0,
                        params, grads, [0.1, 0.2])
    if not isinstance(out, dict) or not isinstance(out.get("args"), list) or len(out["args"]) < 4:
        raise AssertionError("the lab's helper `called` does not answer: run the setup cell unchanged")

    def same(a: Any, b: dict) -> bool:
        return isinstance(a, dict) and set(a) == set(b) and all(
            np.shape(a[k]) == np.shape(b[k]) and np.array_equal(a[k], b[k]) for k in b)

    # (grads are not compared: a clip_grads that scales them in place costs clip_grads' points only)
    if not same(out["args"][3], params):
        return ("the step of clip_by_global_norm changed the params dict it was given: build new dicts "
                "(new_params, new_state = {}, {}) and leave params, grads and state as they came")
    return None


def test_clip(notebook: Any) -> None:
    """clip_by_global_norm around any rule (2 points); judged with the student's own clip_grads too."""
    run, own = _clip(notebook), _clip_grads(notebook)
    _passed(clip_result(run, clip_grads=own), clip_result(run, hidden=True, clip_grads=own))
    problem = _changed_inputs_problem(notebook)
    assert problem is None, problem


def _zero_gradient_problem(run: Any) -> str | None:
    """A hidden case: at a point where the gradient is exactly zero (the MLP with all-zero parameters
    and balanced labels) the ascent is zero, so grad_fn is called at p itself and p stays finite."""
    from optilab.models import MLP

    params = {name: np.zeros_like(value) for name, value in MLP(tuple(SAM_SIZES)).init(0).items()}
    X = np.random.default_rng(7).normal(size=(6, SAM_SIZES[0]))
    y = np.array([0, 1, 0, 1, 1, 0])
    out = run(X, y, params, [0.1], rho=0.05)
    points = out["points"][0] if out["points"] else []
    finite = all(np.all(np.isfinite(np.asarray(v, dtype=float))) for p in [*points, out["params"][0]] for v in p.values())
    if finite:
        return None
    return ("with a zero gradient (‖g‖ = 0) your sam computes NaN or inf: divide by ‖g‖ + 1e-12, as the paper's code "
            "does, so that the ascent is zero and grad_fn is called at p itself")


def test_sam_ascent(notebook: Any) -> None:
    """sam: grad_fn called once per step, at p + ρ·g/‖g‖ (2 points)."""
    run = _sam(notebook)
    _passed(sam_result(run, part="ascent"), sam_result(run, hidden=True, part="ascent"))
    problem = _zero_gradient_problem(run)
    assert problem is None, problem


def test_sam_step(notebook: Any) -> None:
    """sam: the step from p with the second gradient, the default ρ, inputs unchanged (2 points)."""
    run = _sam(notebook)
    _passed(sam_result(run, part="step"), sam_result(run, hidden=True, part="step"))


@lru_cache(maxsize=1)
def _tuning() -> tuple[Any, tuple, int]:
    """The lab's MLP, its (fit, validation) split of the breast-cancer data and its number of steps."""
    from optilab import data, models

    X, y = data.load_breast_cancer()
    held_out = data.train_test_split(X, y, test_fraction=0.2, seed=0)
    dev = data.train_test_split(held_out.X_train, held_out.y_train, test_fraction=0.25, seed=1)
    X_fit, X_val = data.standardize(dev.X_train, dev.X_test)
    steps = EPOCHS * math.ceil(len(X_fit) / BATCH)
    return models.MLP(sizes=(X.shape[1], 16, 2)), (X_fit, dev.y_train, X_val, dev.y_test), steps


@lru_cache(maxsize=None)
def reference_runs(setup: str) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """(final validation losses, final training losses) of ``setup``, one per seed, trained as the
    lab trains it (with the library's schedule, clipping and SAM)."""
    from optilab import model_rules, schedules, whole_model

    key = _key(setup)
    run = given.lookup(key)
    if run is not None:  # in a graded kernel: the grader's
        return tuple(map(float, run[0])), tuple(map(float, run[1]))
    mlp, tuning, steps = _tuning()
    schedule = schedules.warmup_cosine(PEAK_LR, warmup_steps=steps // 10, total_steps=steps)
    rule, lr, hyper = {
        "constant lr": ("sgd", PEAK_LR, {}),
        "warm-up + cosine": ("sgd", schedule, {}),
        "warm-up + cosine, clipped": (model_rules.clip_by_global_norm("sgd", max_norm=MAX_NORM), schedule, {}),
        "warm-up + cosine, SAM": (model_rules.sam, schedule, {"rho": RHO}),
    }[setup]
    val, fit = [], []
    for seed in SEEDS:
        h = whole_model.train(rule, mlp, tuning, epochs=EPOCHS, batch_size=BATCH, lr=lr, seed=seed, **hyper)
        val.append(np.inf if h.diverged else float(h.test_loss[-1]))
        fit.append(np.inf if h.diverged else float(h.train_loss[-1]))
    given.record(key, [val, fit])
    return tuple(val), tuple(fit)


def _key(setup: str) -> str:
    return f"lab07 {setup}"


def warm() -> list[str]:
    """Compute the reference runs of every set-up, which every notebook's check of ``val_loss`` reads:
    grading workers forked afterwards share them; their keys name what the sandboxed kernels are given."""
    for setup in SETUPS:
        reference_runs(setup)
    return [_key(setup) for setup in SETUPS]


def _shown(values: Any) -> list:
    return np.round(np.asarray(values, dtype=float), 5).tolist()


def test_experiment(notebook: Any) -> None:
    """val_loss: the final validation loss of every set-up and seed (2 points)."""
    val_loss = notebook.get("val_loss")
    labs.visible("val_loss", val_loss, setups=SETUPS, seeds=SEEDS)
    for setup in SETUPS:
        try:
            yours = np.asarray(val_loss[setup], dtype=float)
        except (TypeError, ValueError):
            yours = None
        assert yours is not None and yours.shape == (len(SEEDS),), \
            f"val_loss[{setup!r}] needs one final validation loss per seed in SEEDS ({len(SEEDS)} numbers)"
        expected, fit = (np.array(v) for v in reference_runs(setup))
        if np.allclose(yours, expected, rtol=1e-8):
            continue
        hint = ""
        if np.allclose(yours, fit, rtol=1e-8):
            hint = " You read the training loss: the validation loss is history.test_loss[-1] of a run on tuning."
        elif np.allclose(yours, yours[0]) and not np.allclose(expected, expected[0]):
            hint = " Every seed gives the same number: pass seed=seed to whole_model.train."
        raise AssertionError(
            f"val_loss[{setup!r}] is {_shown(yours)}, expected {_shown(expected)}: train with whole_model.train(rule, "
            "mlp, tuning, epochs=EPOCHS, batch_size=BATCH, lr=lr, seed=seed, **hyper) for each (rule, lr, hyper) of "
            "SETUPS and each seed, and read history.test_loss[-1] (inf for a run that diverged)." + hint)


CHECKS = {
    "test-schedule-warmup": test_schedule_warmup,
    "test-schedule-decay": test_schedule_decay,
    "test-clip-grads": test_clip_grads,
    "test-clip": test_clip,
    "test-sam-ascent": test_sam_ascent,
    "test-sam-step": test_sam_step,
    "test-experiment": test_experiment,
}


def run_here(grade_id: str, namespace: dict) -> None:
    """The hidden tests of the test cell ``grade_id``: its check, on the notebook's own namespace."""
    labs.run_here(CHECKS, grade_id, namespace)


#: The test cells these checks were written from (:func:`~optilab.grading.labs.cell_digest` of
#: each cell's source in ``solutions/``): a changed cell needs its check changed too.
DERIVED_FROM = {
    "test-schedule-warmup": "fbf113d87a087486",
    "test-schedule-decay": "40545e1983639486",
    "test-clip-grads": "a9b9749e14fb083a",
    "test-clip": "0049936f2ce90588",
    "test-sam-ascent": "65e10d70fc55e5b0",
    "test-sam-step": "bc6e8c3f98845449",
    "test-experiment": "6ca4db0ec986c866",
}

#: The library's own versions of this lab's answers and the pieces they are made of: the lab's
#: experiment uses them while the notebook's cells run; while the grader judges the student's
#: answers they refuse (:func:`optilab.grading.labs.guarded_for`), so that an answer cannot hand
#: its work to them.
LIBRARY_ANSWERS = {
    "optilab.model_rules": ("clip_by_global_norm", "sam", "sharpness_aware"),
    "optilab.whole_model": ("global_norm", "per_parameter"),
    "optilab.schedules": ("warmup_cosine", "cosine", "linear_warmup", "join", "warmup_stable_decay", "one_cycle"),
}
