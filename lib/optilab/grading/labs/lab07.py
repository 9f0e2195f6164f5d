"""Lab 7 (training in practice): the checks of its test cells, run in the grader's process.

The checks are those of :mod:`optilab.contract.practice` (the lab's visible checks, then its hidden
inputs), given the student's functions through plain-data requests to the notebook's process: the
notebook's ``warmup_cosine`` for each step, its ``clip_grads`` through ``called`` (which also returns
the arguments after the call, to see changes in place), its ``clip_by_global_norm`` through
:func:`optilab.whole_model.wrapped_steps` and its ``sam`` through :func:`optilab.whole_model.sam_steps`.
The experiment's numbers are recomputed here from the lab's own settings (:func:`reference_losses`).

The lab's hidden test cells run the same checks in the notebook's own kernel (:func:`run_here`).
"""

from __future__ import annotations

import copy
import math
from functools import lru_cache
from typing import Any

import numpy as np

from optilab.contract import practice
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
        out = notebook.call("sam_steps", Ref("sam"), list(practice.SAM_SIZES), X, y, params,
                            [float(lr) for lr in lrs], **hyper)
        if not isinstance(out, dict) or not {"params", "points"} <= set(out):
            raise AssertionError("the lab's helper `sam_steps` does not answer: run the setup cell unchanged")
        return out
    return run


# --------------------------------------------------------------------------- the checks
def test_schedule_warmup(notebook: Any) -> None:
    """warmup_cosine's warm-up (1 point)."""
    run = _schedule(notebook)
    _passed(practice.schedule_result(run, part="warmup"), practice.schedule_result(run, hidden=True, part="warmup"))


def test_schedule_decay(notebook: Any) -> None:
    """warmup_cosine's cosine decay, and lr_min after it (2 points)."""
    run = _schedule(notebook)
    _passed(practice.schedule_result(run, part="decay"), practice.schedule_result(run, hidden=True, part="decay"))


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
    _passed(practice.clip_grads_result(run), practice.clip_grads_result(run, hidden=True))
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
    _passed(practice.clip_result(run, clip_grads=own), practice.clip_result(run, hidden=True, clip_grads=own))
    problem = _changed_inputs_problem(notebook)
    assert problem is None, problem


def _zero_gradient_problem(run: Any) -> str | None:
    """A hidden case: at a point where the gradient is exactly zero (the MLP with all-zero parameters
    and balanced labels) the ascent is zero, so grad_fn is called at p itself and p stays finite."""
    from optilab.models import MLP

    params = {name: np.zeros_like(value) for name, value in MLP(tuple(practice.SAM_SIZES)).init(0).items()}
    X = np.random.default_rng(7).normal(size=(6, practice.SAM_SIZES[0]))
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
    _passed(practice.sam_result(run, part="ascent"), practice.sam_result(run, hidden=True, part="ascent"))
    problem = _zero_gradient_problem(run)
    assert problem is None, problem


def test_sam_step(notebook: Any) -> None:
    """sam: the step from p with the second gradient, the default ρ, inputs unchanged (2 points)."""
    run = _sam(notebook)
    _passed(practice.sam_result(run, part="step"), practice.sam_result(run, hidden=True, part="step"))


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
    return tuple(val), tuple(fit)


def _shown(values: Any) -> list:
    return np.round(np.asarray(values, dtype=float), 5).tolist()


def test_experiment(notebook: Any) -> None:
    """val_loss: the final validation loss of every set-up and seed (2 points)."""
    val_loss = notebook.get("val_loss")
    assert isinstance(val_loss, dict) and set(val_loss) == set(SETUPS), \
        f"val_loss needs one key per set-up of SETUPS: {list(SETUPS)}"
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


# --------------------------------------------------------------------------- in the notebook's own kernel
class _Here:
    """The notebook's namespace, asked as the grader asks the student's process (arguments copied)."""

    def __init__(self, namespace: dict):
        self.namespace = namespace

    def _argument(self, x: Any) -> Any:
        if isinstance(x, Ref):
            return self.namespace[x.name]
        if isinstance(x, Reference):
            import optilab
            return optilab.RULES[x.name]
        return copy.deepcopy(x)

    def call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        function = self.namespace[name]
        return function(*(self._argument(a) for a in args), **{k: self._argument(v) for k, v in kwargs.items()})

    def get(self, name: str, *path: Any) -> Any:
        value = self.namespace[name]
        for step in path:
            value = getattr(value, step[1:]) if isinstance(step, str) and step.startswith(".") else value[step]
        return value


def run_here(grade_id: str, namespace: dict) -> None:
    """Run the check of the test cell ``grade_id`` on the notebook's own namespace (the hidden tests
    of the lab's test cells): raises AssertionError with the check's message when it fails."""
    import warnings

    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        CHECKS[grade_id](_Here(namespace))
    print(f"✓ {grade_id}: the hidden tests hold")


#: The test cells these checks were written from (:func:`~optilab.grading.labs.cell_digest` of
#: each cell's source in ``solutions/``): a changed cell needs its check changed too.
DERIVED_FROM = {
    "test-schedule-warmup": "286b1bdd8a55ea54",
    "test-schedule-decay": "550e4146c6c54829",
    "test-clip-grads": "498885f434eacb1d",
    "test-clip": "4d236c77fca99a5f",
    "test-sam-ascent": "4e8b31c83d3fec6e",
    "test-sam-step": "b9544fe5a44889f2",
    "test-experiment": "5dacc42db23cd0e9",
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
