"""Sanity checks of the frozen blind set of lab 6 (tests/blind/mistakes_lab06.py), against optilab's
reference rules only:

- every source compiles, imports nothing but numpy (and math), and defines its rule's function with
  the contract's signature;
- every entry marked correct agrees with the reference rule on every input set below;
- every entry marked wrong differs from the reference on at least one of them (in the new parameter,
  the state, a dtype or a shape, or by modifying or aliasing its inputs), so no "mistake" is secretly
  correct.
"""

from __future__ import annotations

import ast
import collections
import warnings
import zlib

import numpy as np
import pytest

import optilab
from tests.blind.mistakes_lab06 import BLIND, LABELS

RULES = ("lion", "adafactor")
CUSTOM = {"lion": {"beta1": 0.8, "beta2": 0.95, "weight_decay": 0.3},
          "adafactor": {"beta2_decay": -0.6, "eps1": 1e-3, "eps2": 1e-2, "d": 0.5}}
SCHEDULE = [0.1, 0.05, 0.2, 0.01, 0.1, 0.3]

# (name, dtype, shape, gradient scale, custom hyperparameters?, lrs (None: lr not passed), zero-gradient step,
#  parameter scale (0: the parameter starts at zero))
SCENARIOS = [
    ("default-f64-vector", np.float64, (3,), 1.0, False, None, 3, 1.0),
    ("default-f64-matrix", np.float64, (2, 3), 1.0, False, None, None, 1.0),
    ("custom-f32-matrix-schedule", np.float32, (2, 3), 1.0, True, SCHEDULE, None, 1.0),
    ("custom-f64-scalar-schedule", np.float64, (), 1.0, True, SCHEDULE, 2, 1.0),
    ("default-f32-square", np.float32, (3, 3), 0.5, False, None, None, 1.0),
    ("custom-f64-3d-const-lr", np.float64, (2, 3, 4), 2.0, True, [0.05] * 6, None, 1.0),
    ("default-f64-3d-large-lr", np.float64, (3, 2, 4), 1.0, False, [1.0] * 8, None, 1.0),
    ("default-f64-tiny-grads", np.float64, (4, 3), 1e-20, False, [0.5] * 4, None, 1.0),
    ("default-f64-zero-param", np.float64, (3, 2), 1.0, False, [0.1] * 3, None, 0.0),
    ("default-f64-first-grad-zero", np.float64, (4,), 1.0, False, None, 0, 1.0),
]


def load(entry):
    namespace: dict = {}
    exec(compile(entry["source"], f"<blind:{entry['id']}>", "exec"), namespace)
    return namespace[entry["rule"]]


def state_keys(rule, shape):
    if rule == "lion":
        return ("m",)
    return ("t", "row", "col") if len(shape) >= 2 else ("t", "v")


def _snapshot(x):
    return {k: np.array(v, copy=True) if isinstance(v, np.ndarray) else v for k, v in x.items()}


def _same(a, b):
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.shape == b.shape
                and a.dtype == b.dtype and np.array_equal(a, b, equal_nan=True))
    return a == b


def _close(a, b, dtype, what):
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        return f"{what}: shape {a.shape}, expected {b.shape}"
    if a.dtype != dtype:
        return f"{what}: dtype {a.dtype}, expected {np.dtype(dtype)}"
    rtol, atol = (1e-9, 1e-12) if dtype == np.float64 else (1e-4, 1e-6)
    if what != "param":
        atol = 1e-60
    if not np.allclose(a, b, rtol=rtol, atol=atol):
        return f"{what}: values differ from the reference"
    return None


def _arrays(*things):
    out = []
    for x in things:
        values = x.values() if isinstance(x, dict) else [x]
        out += [v for v in values if isinstance(v, np.ndarray)]
    return out


def differences(fn, rule, scenario):
    """The ways ``fn`` departs from the reference rule in one scenario (empty list: none)."""
    name, dtype, shape, scale, custom, lrs, zero_step, param_scale = scenario
    ref = optilab.RULES[rule]
    rng = np.random.default_rng(zlib.crc32(f"{name}:{rule}".encode()))
    hyper = dict(CUSTOM[rule]) if custom else {}
    param = (rng.normal(size=shape) * param_scale).astype(dtype)
    ref_state, state = {}, {}
    for step in range(len(lrs) if lrs else 6):
        grad = ((rng.normal(size=shape) + 0.3) * scale).astype(dtype)
        if step == zero_step:
            grad = np.zeros(shape, dtype)
        kwargs = dict(hyper)
        if lrs is not None:
            kwargs["lr"] = lrs[step]
        ref_param, ref_state = ref(param.copy(), grad.copy(), ref_state, **kwargs)
        p_in, g_in, s_in = param.copy(), grad.copy(), state
        before = (p_in.copy(), g_in.copy(), _snapshot(s_in))
        try:
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                new_param, new_state = fn(p_in, g_in, s_in, **kwargs)
        except Exception as error:  # noqa: BLE001 - a crash is a difference
            return [f"step {step + 1}: raised {type(error).__name__}: {error}"]
        where = f"step {step + 1}"
        found = []
        if not (_same(p_in, before[0]) and _same(g_in, before[1])):
            found.append(f"{where}: modified param or grad")
        snap = before[2]
        if set(s_in) != set(snap) or not all(_same(s_in[k], snap[k]) for k in snap):
            found.append(f"{where}: modified the state it was given")
        if not isinstance(new_state, dict) or new_state is s_in:
            found.append(f"{where}: did not return a new state dict")
            new_state = new_state if isinstance(new_state, dict) else {}
        inputs = _arrays(p_in, g_in, s_in)
        if any(np.shares_memory(out, x) for out in _arrays(new_param, new_state) for x in inputs):
            found.append(f"{where}: returned array shares memory with an input")
        problem = _close(new_param, ref_param, dtype, "param")
        if problem:
            found.append(f"{where}: {problem}")
        keys = state_keys(rule, shape)
        if set(new_state) != set(keys):
            found.append(f"{where}: state keys {sorted(new_state)}, expected {sorted(keys)}")
        for key in keys:
            if key not in new_state:
                continue
            if key == "t":
                if new_state["t"] != ref_state["t"]:
                    found.append(f"{where}: t = {new_state['t']}, expected {ref_state['t']}")
            else:
                problem = _close(new_state[key], ref_state[key], dtype, f"state[{key!r}]")
                if problem:
                    found.append(f"{where}: {problem}")
        if found:
            return found
        param, state = np.array(ref_param, dtype=dtype), new_state
    return []


def test_shape_of_the_set():
    ids = [e["id"] for e in BLIND]
    assert len(ids) == len(set(ids))
    wrong = collections.Counter(e["rule"] for e in BLIND if not e["correct"])
    right = collections.Counter(e["rule"] for e in BLIND if e["correct"])
    assert set(wrong) == set(RULES) and min(wrong.values()) >= 10, wrong
    assert set(right) == set(RULES) and min(right.values()) >= 2, right
    for e in BLIND:
        assert set(e) == {"id", "rule", "source", "correct", "wrong_part", "label"}
        assert e["id"].startswith(e["rule"] + "-")
        if e["correct"]:
            assert e["label"] is None and e["wrong_part"] is None
        else:
            assert e["label"] in LABELS and e["wrong_part"], e["id"]


@pytest.mark.parametrize("entry", BLIND, ids=[e["id"] for e in BLIND])
def test_source_compiles_and_defines_rule(entry):
    tree = ast.parse(entry["source"])
    imports = [node for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom))]
    assert imports and all(isinstance(node, ast.Import) for node in imports)
    assert {(a.name, a.asname) for node in imports for a in node.names} <= {("numpy", "np"), ("math", None)}
    assert all(node in tree.body[:len(imports)] for node in imports), "imports at the top only"
    fn = load(entry)
    assert callable(fn) and fn.__name__ == entry["rule"]
    assert fn.__code__.co_varnames[:fn.__code__.co_argcount] == ("param", "grad", "state")
    assert "lr" in fn.__kwdefaults__


@pytest.mark.parametrize("entry", [e for e in BLIND if e["correct"]], ids=[e["id"] for e in BLIND if e["correct"]])
def test_correct_entries_agree_with_reference(entry):
    fn = load(entry)
    for scenario in SCENARIOS:
        assert differences(fn, entry["rule"], scenario) == [], scenario[0]


@pytest.mark.parametrize("entry", [e for e in BLIND if not e["correct"]],
                         ids=[e["id"] for e in BLIND if not e["correct"]])
def test_wrong_entries_differ_from_reference(entry):
    fn = load(entry)
    found = {scenario[0]: differences(fn, entry["rule"], scenario) for scenario in SCENARIOS}
    assert any(found.values()), f"{entry['id']} behaves like the reference on every input set"


def test_the_harness_accepts_the_references_themselves():
    for rule in RULES:
        for scenario in SCENARIOS:
            assert differences(optilab.RULES[rule], rule, scenario) == [], (rule, scenario[0])
