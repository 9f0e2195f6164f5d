"""Schedules, global-norm clipping, SAM and Hessian-vector products agree with torch.

As tests/test_torch_agreement.py: against values torch computed, committed in
``torch_reference/practice_reference.npz`` with the script that made them
(``torch_reference/make_practice_reference.py``), which runs without torch; and against the live
torch where it is installed (CI installs ``torch==2.13.0``).

Tolerances (float64), each step's largest difference relative to its largest value: schedules to
1e-12 of the peak lr; SAM and Hessian-vector products to 1e-10; clipping to 1e-5 over 30 steps, because ``clip_grad_norm_`` divides by
‖g‖ + 1e-6 where the contract (and optilab) divides by ‖g‖ — the exact formula is checked by hand
in tests/test_whole_model.py.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.torch_reference import make_practice_reference as M
from tests.torch_reference import practice_torch as P

SCHEDULE_ATOL = 1e-12   # times the schedule's peak lr
CLIP_RTOL = 1e-5
RTOL = 1e-10


def _committed():
    with np.load(M.PATH) as data:
        return {k: data[k] for k in data.files}


COMMITTED = _committed()
CASES = M.cases()


def _flat(values: dict) -> np.ndarray:
    return np.concatenate([np.ravel(values[k]) for k in sorted(values)])


def _close(ours: np.ndarray, theirs: np.ndarray, rtol: float, what: str) -> None:
    """Each step's (row's) largest difference, relative to that step's largest value."""
    ours, theirs = np.atleast_2d(ours), np.atleast_2d(theirs)
    assert ours.shape == theirs.shape, (what, ours.shape, theirs.shape)
    worst = float(np.max(np.max(np.abs(ours - theirs), axis=1) / np.max(np.abs(theirs), axis=1)))
    assert worst <= rtol, f"{what}: relative difference {worst:.3g} > {rtol}"


def test_the_committed_cases_are_the_ones_the_script_draws():
    index = json.loads(str(COMMITTED["index"]))
    assert index["torch"].startswith("2.13.0")
    assert sorted(index["cases"]) == sorted(CASES)
    for key, case in CASES.items():
        for name, value in case["params"].items():
            np.testing.assert_array_equal(COMMITTED[f"{key}/params/{name}"], value, err_msg=key)


@pytest.mark.parametrize("case", list(P.SCHEDULE_CASES))
def test_schedule_matches_committed_torch(case):
    theirs = COMMITTED[f"schedule-{case}/torch"]
    ours = P.ours_schedule(case)
    assert ours.shape == theirs.shape
    assert np.max(np.abs(ours - theirs)) <= SCHEDULE_ATOL * theirs.max(), (case, ours - theirs)


@pytest.mark.parametrize("key", [k for k in CASES if k.startswith("clip-")])
def test_clipping_matches_committed_torch(key):
    _close(P.ours_clip(CASES[key]), COMMITTED[f"{key}/torch"], CLIP_RTOL, key)


@pytest.mark.parametrize("key", [k for k in CASES if k.startswith("sam-")])
def test_sam_matches_committed_torch(key):
    _close(P.ours_sam(CASES[key]), COMMITTED[f"{key}/torch"], RTOL, key)


@pytest.mark.parametrize("key", [k for k in CASES if k.startswith("hvp-")])
def test_hvp_matches_committed_torch_double_backward(key):
    ours = P.ours_hvp(CASES[key])
    theirs = {name: COMMITTED[f"{key}/torch/{name}"] for name in ours}
    _close(_flat(ours), _flat(theirs), RTOL, key)


def test_clipping_changes_the_run_so_the_comparison_can_fail():
    """Some steps of every clip case are clipped and some are not: per-array clipping or none differ."""
    from optilab import whole_model

    for key in (k for k in CASES if k.startswith("clip-")):
        case = CASES[key]
        norms = [whole_model.global_norm(g) for g in case["grads"]]
        assert min(norms) < case["max_norm"] < max(norms), key
        unclipped = dict(case, max_norm=1e300)
        assert not np.allclose(P.ours_clip(unclipped), COMMITTED[f"{key}/torch"], rtol=1e-3), key


# --------------------------------------------------------------------------- live torch
@pytest.mark.torch
@pytest.mark.parametrize("case", list(P.SCHEDULE_CASES))
def test_schedule_matches_live_torch(case, torch):
    theirs = P.torch_schedule(case)
    assert np.max(np.abs(P.ours_schedule(case) - theirs)) <= SCHEDULE_ATOL * theirs.max()


@pytest.mark.torch
@pytest.mark.parametrize("seed", range(3))
def test_clipping_sam_and_hvp_match_live_torch_on_fresh_cases(seed, torch):
    rng = np.random.default_rng([seed, 7])
    for rule in M.CLIP_RULES:
        case = P.clip_case(rng, rule)
        _close(P.ours_clip(case), P.torch_clip(case), CLIP_RTOL, f"clip {rule}")
    for base in M.SAM_BASES:
        case = P.sam_case(rng, base)
        _close(P.ours_sam(case), P.torch_sam(case), RTOL, f"sam {base}")
    for name in P.HVP_MODELS:
        case = P.hvp_case(name, rng)
        ours, theirs = P.ours_hvp(case), P.torch_hvp(case)
        _close(_flat(ours), _flat(theirs), RTOL, f"hvp {name}")


@pytest.mark.torch
@pytest.mark.parametrize("scale", [1e-3, 1.0, 1e4])
def test_clipped_gradients_are_torchs_up_to_its_own_epsilon(scale, torch):
    """The gradients after clipping are exactly torch's, once torch's ‖g‖ + 1e-6 is accounted for."""
    from optilab import model_rules, whole_model

    rng = np.random.default_rng(3)
    grads = {k: scale * rng.normal(size=s) for k, s in P.SHAPES.items()}
    seen = {}

    def record(params, grads, state, *, lr):
        seen.update(grads)
        return params, state
    record.scope = "model"
    max_norm = 0.5 * whole_model.global_norm(grads)
    model_rules.clip_by_global_norm(record, max_norm)(dict(grads), grads, {}, lr=1.0)
    tensors = [torch.tensor(grads[k]) for k in sorted(grads)]
    for t in tensors:
        t.grad = t.clone()
    torch.nn.utils.clip_grad_norm_(tensors, max_norm)
    norm = whole_model.global_norm(grads)
    for k, t in zip(sorted(grads), tensors):
        np.testing.assert_allclose(seen[k], t.grad.numpy() * (norm + 1e-6) / norm, rtol=1e-12, err_msg=k)


@pytest.mark.torch
def test_committed_reference_is_what_the_script_makes(torch):
    fresh = M.build()
    assert sorted(fresh) == sorted(COMMITTED)
    for name, value in fresh.items():
        if name != "index":
            np.testing.assert_allclose(COMMITTED[name], value, rtol=1e-12, atol=0, err_msg=name)
