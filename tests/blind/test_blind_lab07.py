"""Sanity checks of the frozen blind set of lab 7 (tests/blind/mistakes_lab07.py), against the
library's references only (``optilab.schedules``, ``optilab.model_rules``):

- every source compiles, imports nothing but math and numpy, and defines its part's functions;
- every entry marked correct agrees with the reference on every input below;
- every entry marked wrong differs from it on at least one of them (a value, a dtype, a changed input,
  a crash, or the number of gradients SAM takes), so no "mistake" is secretly correct.
"""

from __future__ import annotations

import ast
import collections
import warnings

import numpy as np
import pytest

import optilab
from optilab import model_rules, schedules
from tests.blind.mistakes_lab07 import BLIND, FUNCTIONS, LABELS

PARTS = ("schedule", "clip_grads", "clip", "sam", "wsd")


def load(entry):
    namespace: dict = {}
    exec(compile(entry["source"], f"<blind:{entry['id']}>", "exec"), namespace)
    return namespace[FUNCTIONS[entry["part"]][-1]]


# ------------------------------------------------------------------ schedules
SCHEDULES = [dict(lr=0.1, warmup_steps=100, total_steps=1000, lr_min=0.0),
             dict(lr=3.0, warmup_steps=10, total_steps=50, lr_min=0.2),
             dict(lr=1.0, warmup_steps=1, total_steps=5, lr_min=0.1),
             dict(lr=0.5, warmup_steps=7, total_steps=8, lr_min=0.0)]
WSD = [dict(lr=0.1, warmup_steps=100, total_steps=1000, decay_steps=200, lr_min=0.0),
       dict(lr=2.0, warmup_steps=5, total_steps=40, decay_steps=10, lr_min=0.3),
       dict(lr=1.0, warmup_steps=3, total_steps=10, decay_steps=7, lr_min=0.1)]


def schedule_differences(fn, part):
    found = []
    for settings in SCHEDULES if part == "schedule" else WSD:
        if part == "schedule":
            ref = schedules.warmup_cosine(settings["lr"], settings["warmup_steps"], settings["total_steps"],
                                          settings["lr_min"])
        else:
            ref = schedules.warmup_stable_decay(settings["lr"], settings["warmup_steps"], settings["total_steps"],
                                                settings["decay_steps"], settings["lr_min"])
        for t in range(settings["total_steps"] + 30):
            try:
                got = fn(t, **settings)
            except Exception as error:  # noqa: BLE001 - a crash is a difference
                return [f"{settings}, step {t}: raised {type(error).__name__}: {error}"]
            if not isinstance(got, (float, np.floating)) or not np.isclose(got, ref(t), rtol=1e-9, atol=1e-12):
                found.append(f"{settings}, step {t}: {got!r}, expected {ref(t)!r}")
                break
    return found


# ------------------------------------------------------------------ clipping
def _grads(seed, dtype, scale, zero=False):
    rng = np.random.default_rng(seed)
    shapes = {"W1": (3, 4), "b1": (4,), "W2": (4, 2), "s": ()}
    return {name: (np.zeros(shape) if zero else rng.normal(size=shape) * scale).astype(dtype)
            for name, shape in shapes.items()}


CLIP_CASES = [(np.float64, 1.0, 1.0, False), (np.float64, 0.05, 1.0, False), (np.float32, 3.0, 0.5, False),
              (np.float64, 1.0, 2.0, True), (np.float32, 0.01, 5.0, False), (np.float64, 10.0, 0.1, False)]


def _reference_clip(grads, max_norm):
    zeros = {name: np.zeros_like(g) for name, g in grads.items()}
    clipped, _ = model_rules.clip_by_global_norm("sgd", max_norm)(zeros, grads, {}, lr=-1.0)
    return clipped


def _compare(got, want, what):
    if not isinstance(got, dict) or set(got) != set(want):
        return f"{what}: names {sorted(got) if isinstance(got, dict) else type(got).__name__}, expected {sorted(want)}"
    for name in want:
        a, b = np.asarray(got[name]), np.asarray(want[name])
        if a.shape != b.shape or a.dtype != b.dtype:
            return f"{what}[{name!r}]: {a.dtype}{a.shape}, expected {b.dtype}{b.shape}"
        rtol, atol = (1e-9, 1e-12) if b.dtype == np.float64 else (1e-5, 1e-7)
        if not np.allclose(a, b, rtol=rtol, atol=atol):
            return f"{what}[{name!r}]: values differ from the reference"
    return None


def _copy(d):
    return {k: (_copy(v) if isinstance(v, dict) else np.array(v, copy=True) if isinstance(v, np.ndarray) else v)
            for k, v in d.items()}


def _unchanged(before, after):
    if not isinstance(after, dict) or set(before) != set(after):
        return False
    for k, v in before.items():
        w = after[k]
        if isinstance(v, dict):
            if not _unchanged(v, w):
                return False
        elif isinstance(v, np.ndarray):
            if not (isinstance(w, np.ndarray) and w.dtype == v.dtype and np.array_equal(v, w, equal_nan=True)):
                return False
        elif v != w:
            return False
    return True


def clip_grads_differences(fn):
    found = []
    for i, (dtype, scale, max_norm, zero) in enumerate(CLIP_CASES):
        grads = _grads(i, dtype, scale, zero)
        before = _copy(grads)
        try:
            with np.errstate(all="ignore"):
                got = fn(grads, max_norm)
        except Exception as error:  # noqa: BLE001
            return [f"case {i}: raised {type(error).__name__}: {error}"]
        if got is grads or not _unchanged(before, grads):
            found.append(f"case {i}: changed or returned the dict it was given")
        problem = _compare(got, _reference_clip(before, max_norm), f"case {i}")
        if problem:
            found.append(problem)
    return found


CLIP_RUNS = [("sgd", {}, 1.0, np.float64), ("momentum", {"momentum": 0.5}, 0.3, np.float64),
             ("adam", {"beta1": 0.8, "beta2": 0.9}, 2.0, np.float64), ("momentum", {}, 0.5, np.float32)]
LRS = [0.1, 0.3, 0.05, 0.2, 0.1]


def clip_differences(wrapper):
    for run, (rule, hyper, max_norm, dtype) in enumerate(CLIP_RUNS):
        ref = model_rules.clip_by_global_norm(optilab.RULES[rule], max_norm)
        try:
            step = wrapper(optilab.RULES[rule], max_norm)
        except Exception as error:  # noqa: BLE001
            return [f"{rule}: raised {type(error).__name__}: {error}"]
        params = _grads(100 + run, dtype, 1.0)
        ref_params, ref_state, state = params, {}, {}
        for k, lr in enumerate(LRS):
            grads = _grads(200 + 10 * run + k, dtype, [3.0, 0.1, 1.0, 5.0, 0.5][k])
            given = (_copy(params), _copy(grads), _copy(state))
            try:
                with np.errstate(all="ignore"), warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    new_params, new_state = step(params, grads, state, lr=lr, **hyper)
            except Exception as error:  # noqa: BLE001
                return [f"{rule}, step {k + 1}: raised {type(error).__name__}: {error}"]
            ref_params, ref_state = ref(ref_params, grads, ref_state, lr=lr, **hyper)
            where = f"{rule}, step {k + 1}"
            if not (_unchanged(given[0], params) and _unchanged(given[1], grads) and _unchanged(given[2], state)):
                return [f"{where}: changed the params, grads or state it was given"]
            problem = _compare(new_params, ref_params, f"{where}: params")
            if problem:
                return [problem]
            for name in ref_state:
                if not isinstance(new_state, dict) or name not in new_state:
                    return [f"{where}: no state for {name!r}"]
                for key, value in ref_state[name].items():
                    mine = new_state[name].get(key) if isinstance(new_state[name], dict) else None
                    if key == "t":
                        if mine != value:
                            return [f"{where}: state[{name!r}]['t'] = {mine}, expected {value}"]
                    elif mine is None or _compare({key: mine}, {key: value}, f"{where}: state[{name!r}]"):
                        return [f"{where}: state[{name!r}][{key!r}] differs from the reference"]
            params, state = new_params, new_state
    return []


# ------------------------------------------------------------------ SAM
def _loss_grad(params):
    """The gradient of L = Σ_k Σ_i (cos(p) + 0.3·p⁴ − c·p), a smooth loss whose gradient is not linear."""
    return {name: -np.sin(p) + 1.2 * p ** 3 - (0.5 if name.startswith("W") else -0.2) for name, p in params.items()}


SAM_RUNS = [({"lr": 0.1, "rho": 0.05}, np.float64, False), ({"lr": 0.3}, np.float64, False),
            ({"lr": 0.05, "rho": 0.5}, np.float64, False), ({"lr": 0.1, "rho": 0.2}, np.float64, True)]


def sam_differences(fn):
    for run, (kwargs, dtype, zero_first) in enumerate(SAM_RUNS):
        params = _grads(300 + run, dtype, 0.7)
        ref_params = params
        state = {}
        for k in range(4):
            grads = {n: g.astype(dtype) for n, g in _loss_grad(params).items()}
            if zero_first and k == 0:
                grads = {n: np.zeros_like(g) for n, g in grads.items()}
            points = []

            def grad_fn(p):
                points.append(_copy(p))
                return _loss_grad(p)

            ref_points = []

            def ref_grad_fn(p):
                ref_points.append(_copy(p))
                return _loss_grad(p)

            given = (_copy(params), _copy(grads))
            where = f"{kwargs}, step {k + 1}"
            try:
                with np.errstate(all="ignore"), warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    new_params, state = fn(params, grads, state, grad_fn=grad_fn, **kwargs)
            except Exception as error:  # noqa: BLE001
                return [f"{where}: raised {type(error).__name__}: {error}"]
            ref_new, _ = model_rules.sam(ref_params, grads, {}, grad_fn=ref_grad_fn, **kwargs)
            if not (_unchanged(given[0], params) and _unchanged(given[1], grads)):
                return [f"{where}: changed the params or grads it was given"]
            if len(points) != 1:
                return [f"{where}: grad_fn called {len(points)} times"]
            problem = _compare(points[0], ref_points[0], f"{where}: grad_fn's point") or \
                _compare(new_params, ref_new, f"{where}: params")
            if problem:
                return [problem]
            params = ref_params = ref_new
    return []


def differences(entry):
    fn = load(entry)
    part = entry["part"]
    if part in ("schedule", "wsd"):
        return schedule_differences(fn, part)
    return {"clip_grads": clip_grads_differences, "clip": clip_differences, "sam": sam_differences}[part](fn)


# ------------------------------------------------------------------ the tests
def test_shape_of_the_set():
    ids = [e["id"] for e in BLIND]
    assert len(ids) == len(set(ids))
    wrong = collections.Counter(e["part"] for e in BLIND if not e["correct"])
    right = collections.Counter(e["part"] for e in BLIND if e["correct"])
    assert set(wrong) == set(right) == set(PARTS), (wrong, right)
    graded = ("schedule", "clip_grads", "clip", "sam")
    assert sum(wrong[p] for p in graded) >= 30 and min(wrong[p] for p in graded) >= 7, wrong
    assert min(right.values()) >= 1 and sum(right[p] for p in graded) >= 8, right
    for e in BLIND:
        assert set(e) == {"id", "part", "source", "correct", "wrong_part", "label"}
        assert e["id"].startswith(e["part"] + "-")
        if e["correct"]:
            assert e["label"] is None and e["wrong_part"] is None
        else:
            assert e["label"] in LABELS and e["wrong_part"], e["id"]


@pytest.mark.parametrize("entry", BLIND, ids=[e["id"] for e in BLIND])
def test_source_compiles_and_defines_its_functions(entry):
    tree = ast.parse(entry["source"])
    imports = [node for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom))]
    assert all(isinstance(node, ast.Import) and node in tree.body for node in imports)
    assert {(a.name, a.asname) for node in imports for a in node.names} <= {("numpy", "np"), ("math", None)}
    namespace: dict = {}
    exec(compile(entry["source"], entry["id"], "exec"), namespace)
    for name in FUNCTIONS[entry["part"]]:
        assert callable(namespace.get(name)), name


@pytest.mark.parametrize("entry", [e for e in BLIND if e["correct"]], ids=[e["id"] for e in BLIND if e["correct"]])
def test_correct_entries_agree_with_reference(entry):
    assert differences(entry) == []


@pytest.mark.parametrize("entry", [e for e in BLIND if not e["correct"]],
                         ids=[e["id"] for e in BLIND if not e["correct"]])
def test_wrong_entries_differ_from_reference(entry):
    assert differences(entry), f"{entry['id']} behaves like the reference on every input"


def test_the_harness_accepts_the_references_themselves():
    assert schedule_differences(lambda t, **kw: schedules.warmup_cosine(
        kw["lr"], kw["warmup_steps"], kw["total_steps"], kw["lr_min"])(t), "schedule") == []
    assert clip_grads_differences(_reference_clip) == []
    assert clip_differences(model_rules.clip_by_global_norm) == []
    assert sam_differences(model_rules.sam) == []


def test_the_harness_catches_a_slip_in_each_part():
    """Each harness can fail: a reference with one slip is caught."""
    assert schedule_differences(lambda t, **kw: 1.01 * schedules.warmup_cosine(
        kw["lr"], kw["warmup_steps"], kw["total_steps"], kw["lr_min"])(t), "schedule")
    assert clip_grads_differences(lambda g, c: _reference_clip(g, 1.01 * c))
    assert clip_differences(lambda rule, c: model_rules.clip_by_global_norm(rule, 1.01 * c))
    assert sam_differences(lambda *a, **kw: model_rules.sharpness_aware("sgd", rho=0.06)(*a, **kw))
