"""The reference rules agree with torch.optim, or with the package the rule table names for a
rule torch.optim lacks (lion-pytorch, schedulefree, optax).

Two ways, so that the agreement is checked everywhere:
- against values those implementations computed, committed in ``torch_reference/reference.npz``
  with the script that made them (``torch_reference/make_reference.py``): runs without them;
- against the live implementations, on fresh random cases: runs where they are installed (CI
  installs ``torch==2.13.0`` and the pinned packages of .ci/run, and sets ``OPTILAB_REQUIRE_TORCH=1``
  so that a missing one fails there instead of skipping).

Each case: a random shape (0-d to 3-d), random hyperparameters, gradients whose scale varies
from 1e-8 to 1e4, 60 steps, and an lr that changes at every step.
"""

from __future__ import annotations

import importlib
import json
import os
import re
from pathlib import Path

import numpy as np
import pytest

from optilab import rules

from tests.torch_reference.torch_rules import (HYPERPARAMETER_RANGES, package, random_case, run_muon_float32,
                                               run_optilab, run_reference)

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = Path(__file__).parent / "torch_reference" / "reference.npz"
RTOL = 1e-6  # relative, float64, over all 60 steps


def _assert_agree(ours: np.ndarray, theirs: np.ndarray, what: str) -> None:
    scale = np.maximum(np.abs(theirs), 1e-12)
    worst = np.max(np.abs(ours - theirs) / scale) if ours.size else 0.0
    step = int(np.argmax(np.max(np.abs(ours - theirs).reshape(len(ours), -1) / scale.reshape(len(ours), -1), axis=1))) if ours.size else 0
    assert worst <= RTOL, f"{what}: relative difference {worst:.3g} > {RTOL} (worst at step {step + 1})"


def _require(rule: str) -> None:
    """Skip (saying why) where the reference package of ``rule`` is not installed; fail instead
    where CI requires it (OPTILAB_REQUIRE_TORCH)."""
    module = package(rule)
    try:
        importlib.import_module(module)
        if module == "optax":
            importlib.import_module("jax")
    except ImportError as error:
        if os.environ.get("OPTILAB_REQUIRE_TORCH"):
            pytest.fail(f"OPTILAB_REQUIRE_TORCH is set but {module} is not installed ({error}); see .ci/run")
        pytest.skip(f"{module} is not installed ({error}); a test-only dependency, see .ci/run; "
                    "the committed reference values are still checked")


def _reference_cases():
    with np.load(REFERENCE) as data:
        index = json.loads(str(data["index"]))
        for case in index["cases"]:
            key = case["key"]
            yield pytest.param(case["rule"], case["hyper"], data[f"{key}/p0"], data[f"{key}/grads"],
                               data[f"{key}/lrs"], data[f"{key}/torch"], id=key)


# --- Muon: torch.optim.Muon computes its Newton–Schulz iteration in bfloat16 -----------------------
#: bfloat16's unit round-off: 8 significant bits, so one rounding errs by at most 2⁻⁸ of the number.
BF16_U = 2.0**-8
FLOAT32_EPS = float(np.finfo(np.float32).eps)


def _orthogonalised_steps(params: np.ndarray, p0: np.ndarray, lrs: np.ndarray, hyper: dict) -> np.ndarray:
    """Muon's orthogonalised update O of every step, recovered from the parameters before and after it:
    p_t = p_{t−1}(1 − lr·λ) − lr·√max(1, rows/cols)·O_t."""
    lam = hyper.get("weight_decay", 0.1)
    before = np.concatenate([p0[None], params[:-1]])
    rows, cols = p0.shape
    lr = lrs[:, None, None]
    return (before * (1 - lr * lam) - params) / (lr * max(1.0, rows / cols) ** 0.5)


def muon_bfloat16_tolerance(ns_steps: int) -> float:
    r"""How far torch's bfloat16 Newton–Schulz may be from this rule's, relative to the largest entry of O.

    Derivation. torch rounds the momentum to bfloat16 once on the way in, and each iteration rounds
    three results to bfloat16 (the Gram matrix A = XXᵀ, bA + cA², and aX + (bA + cA²)X; the products
    themselves accumulate in float32). A rounding errs by at most u = 2⁻⁸ of the entry, and the
    entries rounded are at most about |a| ≈ 3.4 times X's, so an iteration adds an error of at most
    about 4u·max|X|. Were each iteration to amplify the errors before it by the largest slope of
    φ(σ) = aσ + bσ³ + cσ⁵ on [0, 1.2] (3.9), k iterations would give ~3.9ᵏu, a bound too loose to
    catch anything. But once the singular values are in the band φ keeps them in (it maps [0.7, 1.2]
    into [0.68, 1.12]), its slope there is between −1.6 and 1.7 and changes sign, so an error is not
    amplified step after step, and the roundings are independent and partly cancel: the errors
    add, about 4u(k + 1) for k iterations and the input's rounding. The tolerance is
    twice that, 8u(k + 1), relative to the largest entry of O: 0.19 for torch's k = 5. Measured on
    40 random cases of 3 to 7 iterations: at most 4.6u per iteration (0.127 at k = 7), a median of
    about 5u over all steps; a Muon without Nesterov, or without orthogonalisation, differs by more
    (test_the_bfloat16_tolerance_is_far_below_what_a_wrong_muon_would_differ_by).
    """
    return 8 * BF16_U * (ns_steps + 1)


def _assert_muon_agrees_with_bfloat16(ours, theirs, p0, lrs, hyper, what: str) -> None:
    o_ours, o_theirs = (_orthogonalised_steps(x, p0, lrs, hyper) for x in (ours, theirs))
    steps = len(o_ours)
    err = np.max(np.abs(o_ours - o_theirs).reshape(steps, -1), axis=1) / np.max(np.abs(o_ours).reshape(steps, -1),
                                                                                 axis=1)
    tol = muon_bfloat16_tolerance(hyper.get("ns_steps", 5))
    assert err.max() <= tol, (f"{what}: the orthogonalised step differs from torch's by {err.max():.3g} of its "
                              f"largest entry > {tol:.3g} (step {int(np.argmax(err)) + 1})")


def _assert_muon_agrees_in_float32(ours: np.ndarray, theirs: np.ndarray, what: str) -> None:
    """Both in float32, step t may differ by 4·t·ε₃₂·max|p_t|: each step rounds p twice on each
    side (the decay and the update, at most ε₃₂·|p| together), doubled for the orthogonalised
    update's own round-off, which enters times lr ≤ 0.15. Measured: at most 2.5·t·ε₃₂·max|p_t|."""
    steps = len(ours)
    diff = np.max(np.abs(ours.astype(np.float64) - theirs).reshape(steps, -1), axis=1)
    scale = np.arange(1, steps + 1) * FLOAT32_EPS * np.max(np.abs(theirs).reshape(steps, -1), axis=1)
    worst = np.max(diff / scale)
    assert worst <= 4, f"{what}: float32 runs differ by {worst:.3g}·t·ε₃₂·max|p|, more than 4"


def _float32_cases():
    with np.load(REFERENCE) as data:
        for case in json.loads(str(data["index"]))["cases"]:
            if case["rule"] == "muon":
                key = case["key"]
                yield pytest.param(case["hyper"], data[f"{key}/p0"], data[f"{key}/grads"], data[f"{key}/lrs"],
                                   data[f"{key}/float32"], id=key)


@pytest.mark.parametrize("hyper, p0, grads, lrs, expected", list(_float32_cases()))
def test_muon_matches_torchs_algorithm_run_in_float32(hyper, p0, grads, lrs, expected):
    ours = run_optilab("muon", p0.astype(np.float32), grads.astype(np.float32), lrs, hyper)
    assert ours.dtype == np.float32
    _assert_muon_agrees_in_float32(ours, expected, f"muon {hyper}")


def test_the_bfloat16_tolerance_is_far_below_what_a_wrong_muon_would_differ_by():
    """The tolerance still catches the mistakes a Muon can have: no orthogonalisation (0 iterations
    of Newton–Schulz: the normalised momentum), no Nesterov."""
    with np.load(REFERENCE) as data:
        case = next(c for c in json.loads(str(data["index"]))["cases"] if c["rule"] == "muon" and c["hyper"]["nesterov"])
        key, hyper = case["key"], case["hyper"]
        p0, grads, lrs, expected = (data[f"{key}/{part}"] for part in ("p0", "grads", "lrs", "torch"))
    for wrong in ({"nesterov": False}, {"ns_steps": 0}):
        ours = run_optilab("muon", p0, grads, lrs, {**hyper, **wrong})
        with pytest.raises(AssertionError, match="differs from torch's"):
            _assert_muon_agrees_with_bfloat16(ours, expected, p0, lrs, hyper, f"muon {wrong}")


@pytest.mark.parametrize("rule, hyper, p0, grads, lrs, expected", list(_reference_cases()))
def test_kernel_matches_committed_torch_values(rule, hyper, p0, grads, lrs, expected):
    ours = run_optilab(rule, p0, grads, lrs, hyper)
    if rule == "muon":
        _assert_muon_agrees_with_bfloat16(ours, expected, p0, lrs, hyper, f"{rule} {hyper}")
    else:
        _assert_agree(ours, expected, f"{rule} {hyper}")


def test_committed_reference_covers_every_rule_and_regime():
    with np.load(REFERENCE) as data:
        index = json.loads(str(data["index"]))
        assert index["torch"].startswith("2.13.0")
        pinned = dict(re.findall(r'"([\w-]+)==([\w.]+)"', (ROOT / ".ci" / "run").read_text(encoding="utf-8")))
        assert index["packages"].items() <= pinned.items(), "the committed values come from the versions CI installs"
        rules = {case["rule"] for case in index["cases"]}
        assert rules == set(HYPERPARAMETER_RANGES)
        shapes = {data[f"{c['key']}/p0"].ndim for c in index["cases"]}
        assert {0, 1}.issubset(shapes) and max(shapes) >= 2
        for case in index["cases"]:
            lrs = data[f"{case['key']}/lrs"]
            assert len(lrs) >= 50 and len(np.unique(lrs)) == len(lrs)


@pytest.mark.torch
@pytest.mark.parametrize("rule", list(HYPERPARAMETER_RANGES))
@pytest.mark.parametrize("seed", range(5))
def test_kernel_matches_live_torch(rule, seed, torch):
    _require(rule)
    case = random_case(rule, np.random.default_rng([seed, len(rule)]))
    ours = run_optilab(rule, case["p0"], case["grads"], case["lrs"], case["hyper"])
    theirs = run_reference(rule, case["p0"], case["grads"], case["lrs"], case["hyper"])
    if rule == "muon":
        _assert_muon_agrees_with_bfloat16(ours, theirs, case["p0"], case["lrs"], case["hyper"], f"{rule} {case['hyper']}")
        float32 = run_optilab(rule, case["p0"].astype(np.float32), case["grads"].astype(np.float32), case["lrs"],
                              case["hyper"])
        _assert_muon_agrees_in_float32(float32, run_muon_float32(case["p0"], case["grads"], case["lrs"], case["hyper"]),
                                       f"{rule} {case['hyper']}")
    else:
        _assert_agree(ours, theirs, f"{rule} {case['hyper']}")


@pytest.mark.torch
@pytest.mark.parametrize("rule", list(HYPERPARAMETER_RANGES))
def test_default_hyperparameters_match_torch_defaults(rule, torch):
    """With no hyperparameters given, each rule is the contract's, which is the reference's with the
    lr set (where the reference's defaults differ, the rule table's spelling passes ours: ``always``)."""
    _require(rule)
    rng = np.random.default_rng(7)
    shape = (5,) if rules.get(rule).params == "any" else (5, 3)
    p0, grads = rng.normal(size=shape), rng.normal(size=(50, *shape))
    lrs = np.full(50, 0.01)
    ours, theirs = run_optilab(rule, p0, grads, lrs, {}), run_reference(rule, p0, grads, lrs, {})
    if rule == "muon":
        _assert_muon_agrees_with_bfloat16(ours, theirs, p0, lrs, {}, rule)
    else:
        _assert_agree(ours, theirs, rule)


@pytest.mark.torch
def test_committed_reference_is_what_the_script_makes(torch):
    """The committed values came from make_reference.py with these packages, not from anywhere else."""
    from tests.torch_reference import make_reference

    for rule in HYPERPARAMETER_RANGES:
        _require(rule)
    fresh = make_reference.build(keep=False)  # every case made again, none copied from the file
    with np.load(REFERENCE) as data:
        assert sorted(data.files) == sorted(fresh)
        index = {case["key"]: case for case in json.loads(str(data["index"]))["cases"]}
        for name in fresh:
            if name == "index":
                continue
            key, part = name.rsplit("/", 1)
            if index[key]["rule"] == "muon" and part == "torch":
                # bfloat16 products may round differently on another CPU: within the tolerance derived above
                case = index[key]
                _assert_muon_agrees_with_bfloat16(fresh[name], data[name], data[f"{key}/p0"], data[f"{key}/lrs"],
                                                  case["hyper"], name)
            elif part == "float32":  # float32 products: another CPU's BLAS may sum in another order
                np.testing.assert_allclose(data[name], fresh[name], rtol=1e-4, atol=1e-5, err_msg=name)
            else:
                np.testing.assert_allclose(data[name], fresh[name], rtol=1e-12, atol=0, err_msg=name)
