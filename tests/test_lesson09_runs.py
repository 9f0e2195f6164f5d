"""Lesson 09's slow comparison: running its runs again reproduces the results shipped with the library.

The runs are deterministic, so the slow test re-runs one seed of every recipe and learning rate (a reduced
``python lessons/results/compute.py 09``, as tests/test_comparison_08.py reduces lesson 08's) and checks them run
by run against the committed ones; the committed choices are checked to follow from the committed runs.

Every run agrees to 4 significant digits, except at the largest learning rate of each recipe's grid (AdamW at 0.1,
Muon at 0.3), which sits at the edge of stability: there a difference in the last digit of a matrix product grows
(measured on two machines other than the one that made the file, an Intel CPU with AVX-512 and an AMD CPU with
AVX2: single losses of those runs moved up to 73 % and 54 %, and every other run agreed to 6 digits). Of those
runs the comparison checks what the lesson reads: whether each run diverged, each recipe's chosen rate, and, over
all the seeds, the mean of the final validation loss (the tuning figure's point), to 5 %; a re-run of some seeds
is checked for divergence only there.
"""

from __future__ import annotations

import json
import math

import pytest

from optilab.experiments.large_models import mlp_comparison
from tests.support.notebooks import ROOT

COMMITTED = ROOT / "lib" / "optilab" / "datasets" / "lesson09_large_models.json"


def _close(a, b, path="results"):
    """Every number of ``a`` within 1e-4 (relative) of ``b``'s, and the same structure; the first difference if not."""
    if isinstance(a, dict):
        assert isinstance(b, dict) and set(a) == set(b), f"{path}: keys {sorted(a)} against {sorted(b)}"
        for key in a:
            _close(a[key], b[key], f"{path}[{key!r}]")
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), f"{path}: lengths {len(a)} against {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            _close(x, y, f"{path}[{i}]")
    elif isinstance(a, float) or isinstance(b, float):
        assert math.isclose(a, b, rel_tol=1e-4, abs_tol=1e-7), f"{path}: {a} against {b}"
    else:
        assert a == b, f"{path}: {a!r} against {b!r}"


def _mean_final_val_loss(runs: list[dict]) -> float:
    return sum(run["val loss"][-1] for run in runs) / len(runs)


def _compare(new: dict, committed: dict, *, edge_mean: bool = True) -> None:
    """``new`` reproduces ``committed``: see the module's docstring for what "reproduces" means at the edge
    (``edge_mean=False``: a re-run of some of the seeds, whose mean is not the figure's)."""
    assert set(new) == set(committed) and set(new["runs"]) == set(committed["runs"])
    _close({k: v for k, v in new.items() if k != "runs"}, {k: v for k, v in committed.items() if k != "runs"})
    for recipe, by_lr in committed["runs"].items():
        edge = repr(max(float(lr) for lr in by_lr))
        assert set(new["runs"][recipe]) == set(by_lr), recipe
        for lr, runs in by_lr.items():
            where = f"results['runs'][{recipe!r}][{lr!r}]"
            if lr != edge:
                _close(new["runs"][recipe][lr], runs, where)
                continue
            assert [r["diverged"] for r in new["runs"][recipe][lr]] == [r["diverged"] for r in runs], where
            if not edge_mean:
                continue
            ours, theirs = _mean_final_val_loss(new["runs"][recipe][lr]), _mean_final_val_loss(runs)
            assert math.isclose(ours, theirs, rel_tol=0.05), f"{where}: mean final validation loss {ours} against {theirs}"


#: The seed the slow test re-runs (not seed 0, so a seed that is not passed on shows).
RERUN_SEEDS = (3,)


def _seeds_of(results: dict, seeds: tuple[int, ...]) -> dict:
    """``results`` with only the runs of ``seeds`` (and those seeds)."""
    columns = [results["seeds"].index(s) for s in seeds]
    runs = {recipe: {lr: [by_lr[lr][c] for c in columns] for lr in by_lr} for recipe, by_lr in results["runs"].items()}
    return {**results, "runs": runs, "seeds": list(seeds)}


@pytest.mark.slow
def test_rerunning_a_seed_reproduces_the_committed_runs():
    """Every recipe at every rate of its grid, as ``comparison`` runs it (Muon's other parameters and
    schedule-free's at AdamW's committed choice), from :data:`RERUN_SEEDS`."""
    committed = json.loads(COMMITTED.read_text())
    runs = {recipe: {lr: [mlp_comparison.train_mlp(recipe, float(lr), seed=s, epochs=committed["epochs"],
                                                   other_lr=None if recipe == "adamw" else committed["chosen"]["adamw"])
                          for s in RERUN_SEEDS] for lr in by_lr}
            for recipe, by_lr in committed["runs"].items()}
    _compare({**committed, "runs": runs, "seeds": list(RERUN_SEEDS)}, _seeds_of(committed, RERUN_SEEDS),
             edge_mean=False)


def test_the_committed_choices_follow_from_the_committed_runs():
    """Each recipe's chosen rate is the one with the lowest mean final validation loss over all the seeds."""
    committed = json.loads(COMMITTED.read_text())
    assert committed["seeds"] == list(range(8)) and committed["grids"] == {k: list(v) for k, v in
                                                                            mlp_comparison.GRIDS.items()}
    for recipe, by_lr in committed["runs"].items():
        means = {float(lr): math.inf if any(r["diverged"] for r in runs) else _mean_final_val_loss(runs)
                 for lr, runs in by_lr.items()}
        assert committed["chosen"][recipe] == min(means, key=means.get), (recipe, means)


def _perturbed(results: dict, recipe: str, lr: str, key: str, factor: float) -> dict:
    changed = json.loads(json.dumps(results))
    for run in changed["runs"][recipe][lr]:
        run[key] = [v * factor for v in run[key]]
    return changed


def test_the_comparison_tells_a_run_that_moved_from_the_edges_chaos():
    """The check of the slow test, on the committed results changed by hand: it fails on what it must catch."""
    committed = json.loads(COMMITTED.read_text())
    _compare(committed, committed)
    # Below the edge, a change in the 4th digit fails.
    with pytest.raises(AssertionError, match=r"\['adamw'\]\['0.01'\].*train loss"):
        _compare(_perturbed(committed, "adamw", "0.01", "train loss", 1.0003), committed)
    # At the edge, a train loss far off passes, and a mean final validation loss 10 % off fails.
    _compare(_perturbed(committed, "muon", "0.3", "train loss", 1.5), committed)
    with pytest.raises(AssertionError, match="mean final validation loss"):
        _compare(_perturbed(committed, "muon", "0.3", "val loss", 1.1), committed)
    # A run that diverged, or a rate chosen otherwise, fails anywhere.
    diverged = json.loads(json.dumps(committed))
    diverged["runs"]["adamw"]["0.1"][3]["diverged"] = True
    with pytest.raises(AssertionError):
        _compare(diverged, committed)
    with pytest.raises(AssertionError, match="chosen"):
        _compare(dict(committed, chosen=dict(committed["chosen"], muon=0.03)), committed)
