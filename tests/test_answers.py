"""The visible ✓/✗ checks of the labs' helpers and results (optilab.check on an answer's name).

A correct answer passes; each realistic mistake fails, and the ✗ is on the property that names
what is wrong. Every answer cell of every lab is followed by a check cell, and its test cells
assert the same checks (so Validate fails exactly when a check fails).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import optilab
from optilab import kernels, problems, training
from optilab.contract.answers import ANSWERS

ROOT = Path(__file__).resolve().parents[1]


def failed(result) -> list[str]:
    return [p.name for p in result.properties if not p.passed]


# -- lab 1: minibatches, is_stable, largest_stable ------------------------------------------------

def minibatches(X, y, batch_size, seed):
    order = np.random.default_rng(seed).permutation(len(y))
    for start in range(0, len(y), batch_size):
        idx = order[start:start + batch_size]
        yield X[idx], y[idx]


def shuffles_in_place(X, y, batch_size, seed):
    rng = np.random.default_rng(seed)
    rng.shuffle(X)  # the rows of X move, the labels do not: the data is changed
    for start in range(0, len(y), batch_size):
        yield X[start:start + batch_size], y[start:start + batch_size]


def drops_last(X, y, batch_size, seed):
    order = np.random.default_rng(seed).permutation(len(y))
    for start in range(0, len(y) - batch_size + 1, batch_size):
        idx = order[start:start + batch_size]
        yield X[idx], y[idx]


def unseeded(X, y, batch_size, seed):
    order = np.random.permutation(len(y))
    for start in range(0, len(y), batch_size):
        idx = order[start:start + batch_size]
        yield X[idx], y[idx]


def unshuffled(X, y, batch_size, seed):
    for start in range(0, len(y), batch_size):
        yield X[start:start + batch_size], y[start:start + batch_size]


def unpaired(X, y, batch_size, seed):
    rng = np.random.default_rng(seed)
    ox, oy = rng.permutation(len(y)), rng.permutation(len(y))
    for start in range(0, len(y), batch_size):
        yield X[ox[start:start + batch_size]], y[oy[start:start + batch_size]]


def test_correct_minibatches_pass_and_the_group_filter_keeps_its_own_properties():
    assert optilab.check("minibatches", minibatches, quiet=True).passed
    cover = optilab.check("minibatches", minibatches, group="cover", quiet=True)
    assert len(cover.properties) == 4 and cover.passed


@pytest.mark.parametrize("mistake, wrong", [
    (shuffles_in_place, "X and y left unchanged"),
    (drops_last, "23 examples in batches of 5: sizes 5, 5, 5, 5, 3"),
    (unseeded, "the same seed gives the same order"),
    (unshuffled, "the order is shuffled"),
    (unpaired, "rows of X stay with their labels"),
])
def test_each_minibatches_mistake_fails_the_property_that_names_it(mistake, wrong):
    result = optilab.check("minibatches", mistake, quiet=True)
    assert wrong in failed(result), result.report()
    with pytest.raises(AssertionError, match="✗"):
        result.assert_passed()


def is_stable(rule, problem, lr, steps=100):
    trace = training.run(rule, problem, steps=steps, lr=lr)
    return bool(np.isfinite(trace.losses[-1]) and trace.losses[-1] < trace.losses[0])


BOWL = problems.quadratic(eigenvalues=(1.0, 10.0))


def ignores_problem(rule, problem, lr, steps=100):
    return is_stable(rule, BOWL, lr, steps)


def test_is_stable_and_largest_stable():
    assert optilab.check("is_stable", is_stable, quiet=True).passed
    assert "runs the problem it is given (eigenvalues 1 and 50)" in failed(
        optilab.check("is_stable", ignores_problem, quiet=True))
    lrs = np.geomspace(0.01, 1.0, 21)
    right = max(float(lr) for lr in lrs if is_stable("sgd", BOWL, lr))
    assert optilab.check("largest_stable", right, lrs=lrs, limit=0.2, quiet=True).passed
    assert failed(optilab.check("largest_stable", np.float32(right), lrs=lrs, limit=0.2, quiet=True)) == ["a float"]
    too_big = float(lrs[lrs > 0.2][0])
    assert failed(optilab.check("largest_stable", too_big, lrs=lrs, limit=0.2, quiet=True)) == [
        "below the stability limit 2/λmax"]


def test_a_value_answer_needs_the_labs_settings_by_name():
    with pytest.raises(TypeError, match="needs the lab's settings lrs, limit.*missing: limit"):
        optilab.check("largest_stable", 0.1, lrs=[0.1])


def test_an_answer_not_written_yet_says_so():
    def not_yet(X, y, batch_size, seed):
        raise NotImplementedError("replace this line with your code")

    result = optilab.check("minibatches", not_yet, quiet=True)
    assert not result.passed
    with pytest.raises(NotImplementedError, match="not written yet"):
        result.assert_passed()


# -- lab 2: steps_needed, best_gd, best_momentum -------------------------------------------------

RAVINE = problems.quadratic(eigenvalues=(1.0, 100.0))  # lab 2's ravine


def steps_needed(rule, lr, max_steps, **hyperparameters):
    trace = training.run(rule, RAVINE, steps=max_steps, lr=lr, **hyperparameters)
    return training.steps_to_tolerance(trace, 1e-6)


def drops_hyper(rule, lr, max_steps, **hyperparameters):
    return steps_needed(rule, lr, max_steps)


def test_steps_needed_and_the_best_settings():
    assert optilab.check("steps_needed", steps_needed, quiet=True).passed
    assert failed(optilab.check("steps_needed", drops_hyper, quiet=True)) == [
        "the hyperparameters passed on to training.run"]
    gd_lrs, momentum_lrs, mus = [0.005, 0.015, 0.0198], [0.01, 0.02], [0.5, 0.8]
    runs = [(lr, steps_needed("sgd", lr, 600)) for lr in gd_lrs]
    best_gd = min((r for r in runs if r[1] is not None), key=lambda r: r[1])
    hb = [(lr, mu, steps_needed("momentum", lr, 150, momentum=mu)) for lr in momentum_lrs for mu in mus]
    best_hb = min((r for r in hb if r[2] is not None), key=lambda r: r[2])
    settings = dict(steps_needed=steps_needed, gd_lrs=gd_lrs)
    assert optilab.check("best_gd", best_gd, **settings, quiet=True).passed
    worst_gd = max((r for r in runs if r[1] is not None), key=lambda r: r[1])
    assert failed(optilab.check("best_gd", worst_gd, **settings, quiet=True)) == ["the fewest steps on gd_lrs"]
    hb_settings = dict(steps_needed=steps_needed, momentum_rule="momentum", momentum_lrs=momentum_lrs, mus=mus,
                       best_gd=best_gd)
    assert optilab.check("best_momentum", best_hb, **hb_settings, quiet=True).passed
    assert "the triple (lr, mu, steps)" in failed(optilab.check("best_momentum", best_hb[:2], **hb_settings,
                                                                quiet=True))


# -- lab 3: best_final_loss, results -------------------------------------------------------------

def test_best_final_loss_counts_a_diverged_run_as_infinite():
    rng = np.random.default_rng(0)  # lab 3's badly scaled features
    X = rng.normal(size=(200, 3)) * np.array([0.1, 1.0, 10.0])
    split = optilab.data.train_test_split(X, X @ np.array([10.0, 1.0, 0.1]) + 0.1 * rng.normal(size=200), seed=0)
    model = optilab.models.LinearRegression(n_features=3)

    def right(rule, lrs):
        finals = {}
        for lr in lrs:
            h = training.train(rule, model, split, epochs=100, batch_size=None, lr=float(lr))
            finals[float(lr)] = np.inf if h.diverged else float(h.train_loss[-1])
        best = min(finals, key=finals.get)
        return best, finals[best]

    def nan_blind(rule, lrs):  # a diverged run's loss is nan or huge: min() of raw losses picks it
        finals = {float(lr): float(training.train(rule, model, split, epochs=100, batch_size=None,
                                                  lr=float(lr)).train_loss[-1]) for lr in lrs}
        best = max(finals, key=lambda lr: finals[lr] if np.isfinite(finals[lr]) else np.inf)
        return best, finals[best]

    assert optilab.check("best_final_loss", right, quiet=True).passed, \
        optilab.check("best_final_loss", right, quiet=True).report()
    assert "picks the best lr (a diverged run counts as inf)" in failed(
        optilab.check("best_final_loss", nan_blind, quiet=True))


def test_results():
    good = {"sgd": (0.01, 1.0), "adagrad": (0.1, 0.01), "rmsprop": (0.01, 0.02)}
    assert optilab.check("results", good, quiet=True).passed
    assert failed(optilab.check("results", {**good, "rmsprop": (0.01, 0.5)}, quiet=True)) == [
        "adagrad and rmsprop end ten times below sgd"]
    assert "the three rules' results" in failed(optilab.check("results", {"sgd": (0.01, 1.0)}, quiet=True))


# -- lab 4: adam_uncorrected, first_steps, adam_l2, after_decay -----------------------------------

def adam_uncorrected(param, grad, state, *, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    t = state.get("t", 0) + 1
    m = beta1 * state.get("m", np.zeros_like(param)) + (1 - beta1) * grad
    v = beta2 * state.get("v", np.zeros_like(param)) + (1 - beta2) * grad * grad
    return param - lr * m / (np.sqrt(v) + eps), {"t": t, "m": m, "v": v}


def still_corrected(param, grad, state, *, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    return kernels.adam(param, grad, state, lr=lr, beta1=beta1, beta2=beta2, eps=eps)


def first_steps(rule, n):
    param, state, sizes = np.array(0.0), {}, []
    for _ in range(n):
        new, state = rule(param, np.array(1.0), state, lr=1e-3)
        sizes.append(abs(float(new - param)))
        param = new
    return np.array(sizes)


def fresh_state_each_step(rule, n):
    return np.array([abs(float(rule(np.array(0.0), np.array(1.0), {}, lr=1e-3)[0])) for _ in range(n)]
                    ) * np.linspace(1.0, 0.5, n)


def adam_l2(param, grad, state, *, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=1e-2):
    return kernels.adam(param, grad + weight_decay * param, state, lr=lr, beta1=beta1, beta2=beta2, eps=eps)


def after_decay(rule, weight_decay):
    param, state = np.array(1.0), {}
    for _ in range(100):
        param, state = rule(param, np.array(0.0), state, lr=0.01, weight_decay=weight_decay)
    return float(param)


def test_lab4_helpers():
    assert optilab.check("adam_uncorrected", adam_uncorrected, quiet=True).passed
    assert "the first step is lr·(1−β₁)/(√(1−β₂) + ε)" in failed(
        optilab.check("adam_uncorrected", still_corrected, quiet=True))
    assert optilab.check("first_steps", first_steps, quiet=True).passed
    assert failed(optilab.check("first_steps", fresh_state_each_step, quiet=True)) == [
        "Adam's steps of a constant gradient are all lr"]
    assert optilab.check("adam_l2", adam_l2, quiet=True).passed
    assert not optilab.check("adam_l2", lambda p, g, s, **k: kernels.adamw(p, g, s, **k), quiet=True).passed
    assert optilab.check("after_decay", after_decay, quiet=True).passed
    assert failed(optilab.check("after_decay", lambda rule, wd: np.float64(after_decay(rule, wd) * 0.5),
                                quiet=True)) == ["AdamW's decay: (1 − lr·λ) per step"]


# -- lab 5: interval and the experiment's values --------------------------------------------------

def test_lab5_answers():
    def interval(values):
        values = np.asarray(values, dtype=float)
        return float(values.mean()), float(12.71 * values.std(ddof=1) / np.sqrt(len(values)))

    assert optilab.check("interval", interval, quiet=True).passed
    assert failed(optilab.check("interval", lambda v: (np.mean(v), 12.71 * np.std(v) / np.sqrt(len(v))),
                                quiet=True)) == ["the half-width T95[n]·s/√n"]
    grids, seeds = {"sgd": [0.1, 0.3], "adam": [0.01, 0.03]}, [0, 1, 2]
    losses = {"sgd": {0.1: np.array([1.0, 1.1, 0.9]), 0.3: np.array([0.5, 0.6, 0.4])},
              "adam": {0.01: np.array([0.2, 0.2, 0.2]), 0.03: np.array([0.3, 0.3, 0.3])}}
    assert optilab.check("tuning_losses", losses, grids=grids, seeds=seeds, quiet=True).passed
    one_seed = {**losses, "adam": {0.01: 0.2, 0.03: 0.3}}
    assert not optilab.check("tuning_losses", one_seed, grids=grids, seeds=seeds, quiet=True).passed
    assert optilab.check("best_lr", {"sgd": 0.3, "adam": 0.01}, grids=grids, quiet=True).passed
    assert failed(optilab.check("best_lr", {"sgd": 0.2, "adam": 0.01}, grids=grids, quiet=True)) == [
        "a learning rate of each grid"]


# -- labs 5 and 6: the experiment's values, one set of checks for both labs ---------------------

LAB6_LRS = {"lion": 0.003, "adafactor": 0.03}
LAB6_GRIDS = {"adamw": [1e-3, 1e-2], "lion": [1e-3, 1e-2], "adafactor": [1e-2, 1e-1]}


def test_histories_takes_its_rules_from_the_labs_lrs():
    lab5 = {"sgd": 0.3, "momentum": 0.03, "adam": 0.01}
    right = {f"{who} {name}": object() for who in ("your", "reference") for name in lab5}
    assert optilab.check("histories", right, lrs=lab5, quiet=True).passed
    lab6 = {f"{who} {name}": object() for who in ("your", "reference") for name in LAB6_LRS}
    assert optilab.check("histories", lab6, lrs=LAB6_LRS, quiet=True).passed
    # lab 5's six curves are not lab 6's: the names come from LRS, not from the check
    result = optilab.check("histories", right, lrs=LAB6_LRS, quiet=True)
    assert failed(result) == ["the reference's run of each rule of LRS", "your run of each rule of LRS"]
    assert "'reference lion'" in result.report()
    only_yours = {k: v for k, v in lab6.items() if k.startswith("your")}
    result = optilab.check("histories", only_yours, lrs=LAB6_LRS, group="reference-curves", quiet=True)
    assert not result.passed and "no key 'reference lion'" in result.report()
    assert optilab.check("histories", only_yours, lrs=LAB6_LRS, group="your-curves", quiet=True).passed
    assert "must be a dict" in optilab.check("histories", [], lrs=LAB6_LRS, quiet=True).report()


def test_the_tuning_values_of_lab_6_and_an_empty_answer():
    seeds = (0, 1, 2)
    losses = {name: {lr: np.full(3, 0.5) for lr in grid} for name, grid in LAB6_GRIDS.items()}
    assert optilab.check("tuning_losses", losses, grids=LAB6_GRIDS, seeds=seeds, quiet=True).passed
    empty = optilab.check("tuning_losses", {}, grids=LAB6_GRIDS, seeds=seeds, quiet=True)
    assert not empty.passed and "tuning_losses is empty" in empty.report()
    missing_rule = {k: v for k, v in losses.items() if k != "adafactor"}
    assert "'adamw', 'lion', 'adafactor'" in optilab.check("tuning_losses", missing_rule, grids=LAB6_GRIDS,
                                                           seeds=seeds, quiet=True).report()
    missing_lr = {**losses, "lion": {1e-3: np.full(3, 0.5)}}
    assert "tuning_losses['lion'] needs every lr" in optilab.check(
        "tuning_losses", missing_lr, grids=LAB6_GRIDS, seeds=seeds, quiet=True).report()
    best = {"adamw": 1e-3, "lion": 1e-2, "adafactor": 1e-1}
    assert optilab.check("best_lr", best, grids=LAB6_GRIDS, quiet=True).passed
    assert "best_lr is empty" in optilab.check("best_lr", {}, grids=LAB6_GRIDS, quiet=True).report()
    assert "best_lr['adafactor'] = 0.001 is not a learning rate" in optilab.check(
        "best_lr", {**best, "adafactor": 1e-3}, grids=LAB6_GRIDS, quiet=True).report()


def test_final_takes_its_rules_from_the_labs_grids():
    seeds = (0, 1, 2, 3, 4)
    final = {name: {"train": np.ones(5), "test": np.ones(5)} for name in LAB6_GRIDS}
    assert optilab.check("final", final, grids=LAB6_GRIDS, seeds=seeds, quiet=True).passed
    lab5 = {name: {"train": np.ones(5), "test": np.ones(5)} for name in ("sgd", "momentum", "adam")}
    assert not optilab.check("final", lab5, grids=LAB6_GRIDS, seeds=seeds, quiet=True).passed
    one_number = {**final, "lion": {"train": np.ones(5), "test": 0.3}}
    assert "final['lion']['test'] needs one value per seed" in optilab.check(
        "final", one_number, grids=LAB6_GRIDS, seeds=seeds, quiet=True).report()
    with pytest.raises(TypeError, match="missing: grids"):
        optilab.check("final", final, seeds=seeds)


def _state_numbers(rule, params):
    total = 0
    for param in params.values():
        _, state = rule(param, np.ones_like(param), {}, lr=1e-3)
        total += sum(v.size for v in state.values() if isinstance(v, np.ndarray) and np.issubdtype(v.dtype, np.floating))
    return int(total)


def _counts_every_array(rule, params):  # counts t too (an int, not state the rule keeps per entry)
    total = 0
    for param in params.values():
        _, state = rule(param, np.ones_like(param), {}, lr=1e-3)
        total += sum(np.size(v) for v in state.values())
    return total


def _counts_the_parameters(rule, params):  # the parameters, not their state
    return sum(p.size for p in params.values())


def _one_parameter(rule, params):  # the first parameter's state only
    _, state = rule(next(iter(params.values())), np.ones(4 * 3).reshape(4, 3), {}, lr=1e-3)
    return sum(v.size for v in state.values() if isinstance(v, np.ndarray))


def test_state_numbers_counts_each_rules_state():
    result = optilab.check("state_numbers", _state_numbers, quiet=True)
    assert result.passed and len(result.properties) == 3
    # the expected counts, worked out by hand: AdamW m and v (2 × 15), Lion m (15), Adafactor row 4 + col 3 + v 3
    assert [p.name.rsplit(": ", 1)[1] for p in result.properties] == ["30", "15", "10"]
    assert failed(optilab.check("state_numbers", _counts_every_array, quiet=True)) == [
        "state_numbers(adamw) on a 4×3 matrix and a 3-vector: 30",
        "state_numbers(adafactor) on a 4×3 matrix and a 3-vector: 10"]
    wrong = optilab.check("state_numbers", _counts_the_parameters, quiet=True)
    assert len(failed(wrong)) == 2 and "state_numbers(adamw) on a 4×3 matrix and a 3-vector is 15, expected 30" \
        in wrong.report()
    assert len(failed(optilab.check("state_numbers", _one_parameter, quiet=True))) == 3
    assert "an int" in optilab.check("state_numbers", lambda rule, params: "30", quiet=True).report()


def test_lab7_val_loss_has_every_set_up_and_seed():
    setups, seeds = ("constant lr", "warm-up + cosine"), (0, 1, 2)
    right = {name: np.ones(3) for name in setups}
    assert optilab.check("val_loss", right, setups=setups, seeds=seeds, quiet=True).passed
    assert "one key per set-up" in optilab.check("val_loss", {"constant lr": np.ones(3)}, setups=setups,
                                                 seeds=seeds, quiet=True).report()
    assert "val_loss['warm-up + cosine'] has shape ()" in optilab.check(
        "val_loss", {**right, "warm-up + cosine": 0.3}, setups=setups, seeds=seeds, quiet=True).report()


# -- the labs: a check after every answer, the same checks in the test cells ----------------------

def _cells(lab: Path) -> list[dict]:
    return json.loads(lab.read_text())["cells"]


SOLUTIONS = sorted((ROOT / "solutions").glob("lab0[1-7]*/*.ipynb"))


@pytest.mark.parametrize("lab", SOLUTIONS, ids=lambda p: p.stem)
def test_every_answer_cell_is_followed_by_a_check_of_that_answer(lab):
    cells = _cells(lab)
    for i, cell in enumerate(cells):
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell["cell_type"] != "code" or not meta.get("solution"):
            continue
        following = []  # the cells up to the next answer or test cell
        for after in cells[i + 1:]:
            if after.get("metadata", {}).get("nbgrader", {}).get("grade_id"):
                break
            following.append("".join(after["source"]))
        assert any("optilab.check(" in source for source in following), \
            f"{lab.name}: answer cell {cell['id']} is not followed by a check cell before its test cell"


def test_every_checked_answer_name_is_used_by_a_lab():
    used = "".join("".join(c["source"]) for lab in SOLUTIONS for c in _cells(lab))
    assert all(f'optilab.check("{name}"' in used for name in ANSWERS), \
        [name for name in ANSWERS if f'optilab.check("{name}"' not in used]


@pytest.mark.parametrize("lab", SOLUTIONS, ids=lambda p: p.stem)
def test_every_visible_check_is_asserted_by_a_test_cell(lab):
    """So Validate fails exactly when a check a student sees fails."""
    import re

    cells = _cells(lab)
    graded = ["".join(c["source"]) for c in cells if c.get("metadata", {}).get("nbgrader", {}).get("grade")]
    shown = {name for c in cells if not c.get("metadata", {}).get("nbgrader", {}).get("grade")
             for name in re.findall(r'optilab\.check\("(\w+)"', "".join(c["source"]))}
    asserted = {name for source in graded
                for name in re.findall(r'optilab\.check\("(\w+)"(?:(?!optilab\.check).)*?\.assert_passed\(\)', source, re.S)}
    assert shown <= asserted, sorted(shown - asserted)
