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

from tests.torch_reference.torch_rules import (HYPERPARAMETER_RANGES, package, random_case, run_optilab,
                                               run_reference)

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


@pytest.mark.parametrize("rule, hyper, p0, grads, lrs, expected", list(_reference_cases()))
def test_kernel_matches_committed_torch_values(rule, hyper, p0, grads, lrs, expected):
    ours = run_optilab(rule, p0, grads, lrs, hyper)
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
    _assert_agree(run_optilab(rule, p0, grads, lrs, {}), run_reference(rule, p0, grads, lrs, {}), rule)


@pytest.mark.torch
def test_committed_reference_is_what_the_script_makes(torch):
    """The committed values came from make_reference.py with these packages, not from anywhere else."""
    from tests.torch_reference import make_reference

    for rule in HYPERPARAMETER_RANGES:
        _require(rule)
    fresh = make_reference.build()
    with np.load(REFERENCE) as data:
        assert sorted(data.files) == sorted(fresh)
        for name in fresh:
            if name != "index":
                np.testing.assert_allclose(data[name], fresh[name], rtol=1e-12, atol=0, err_msg=name)
