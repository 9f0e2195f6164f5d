"""Lesson 08's experiment (optilab.experiments.practice): the protocol, its statistics and its diagnostics.

The committed results and the lesson's claims about them are tested in tests/test_comparison_08.py.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from optilab import data, models, training
from optilab.experiments import practice


def t_cdf(q: float, df: int) -> float:
    """Student's t distribution function, by integrating its density (independent of the table under test)."""
    x = np.linspace(0.0, q, 400_001)
    log_c = math.lgamma((df + 1) / 2) - math.lgamma(df / 2) - 0.5 * math.log(df * math.pi)
    density = np.exp(log_c) * (1 + x * x / df) ** (-(df + 1) / 2)
    return 0.5 + float(np.sum((density[1:] + density[:-1]) / 2 * np.diff(x)))


@pytest.mark.parametrize("df", sorted(practice.T95))
def test_t95_is_the_975_percent_quantile_of_students_t(df):
    assert t_cdf(practice.T95[df], df) == pytest.approx(0.975, abs=5e-5)


def test_the_interval_covers_the_true_mean_95_percent_of_the_time_with_five_values():
    rng = np.random.default_rng(0)
    samples = rng.normal(3.0, 2.0, size=(4000, 5))
    covered = [abs(m - 3.0) <= h for m, h in map(practice.interval, samples)]
    assert np.mean(covered) == pytest.approx(0.95, abs=0.011)
    # a normal quantile (1.96) in place of t's would cover only about 88 % with five values
    normal = [abs(s.mean() - 3.0) <= 1.96 * s.std(ddof=1) / math.sqrt(5) for s in samples]
    assert np.mean(normal) < 0.9


def test_interval_of_values_with_a_diverged_run_has_an_infinite_mean_and_no_width():
    mean, half = practice.interval([0.1, np.inf, 0.2])
    assert mean == np.inf and np.isnan(half)
    with pytest.raises(ValueError, match="2 to 31 values, got 1"):
        practice.interval([0.1])


def test_the_three_sets_are_disjoint_and_each_standardised_with_its_training_part():
    (X_fit, y_fit, X_val, y_val), (X_dev, y_dev, X_test, y_test) = practice.splits()
    X, y = data.load_digits()
    index = np.arange(len(y))  # split the example numbers the way the lesson splits the examples
    held_out = data.train_test_split(index, y, test_fraction=0.25, seed=0)
    dev = data.train_test_split(held_out.X_train, held_out.y_train, test_fraction=0.25, seed=1)
    fit, val, test = set(dev.X_train), set(dev.X_test), set(held_out.X_test)
    assert not (fit & val) and not (fit & test) and not (val & test) and len(fit | val | test) == len(y)
    assert len(test) == len(y_test) == math.ceil(0.25 * len(y)) and len(y_dev) == len(fit) + len(val)
    mean, std = X[dev.X_train].mean(axis=0), X[dev.X_train].std(axis=0)
    std = np.where(std > 0, std, 1.0)
    np.testing.assert_allclose(X_fit, (X[dev.X_train] - mean) / std, rtol=1e-12)
    np.testing.assert_allclose(X_val, (X[dev.X_test] - mean) / std, rtol=1e-12)  # the fit set's statistics
    np.testing.assert_array_equal(y_val, y[dev.X_test])
    np.testing.assert_array_equal(y_test, y[held_out.X_test])
    mean, std = X[held_out.X_train].mean(axis=0), X[held_out.X_train].std(axis=0)
    std = np.where(std > 0, std, 1.0)
    np.testing.assert_allclose(X_test, (X[held_out.X_test] - mean) / std, rtol=1e-12)


def test_a_run_is_the_library_training_run_of_the_lessons_mlp():
    (X_fit, y_fit, X_val, y_val), testing = practice.splits()
    net = models.MLP((64, 32, 10), activation="tanh")
    direct = training.train("adam", net, (X_fit, y_fit, X_val, y_val), epochs=1, batch_size=32, lr=0.01, seed=3)
    ours = practice.run("adam", 0.01, 3, epochs=1)
    np.testing.assert_allclose(ours.test_loss, direct.test_loss, rtol=1e-12)
    on_test = practice.run("adam", 0.01, 3, on="testing", epochs=1)
    assert len(on_test.step_loss) == math.ceil(len(testing[1]) / 32) > len(ours.step_loss)
    with pytest.raises(ValueError, match='on must be "tuning"'):
        practice.run("adam", 0.01, 0, on="test")


def test_the_grid_is_shared_half_a_decade_apart_and_every_optimizer_gets_the_same_budget():
    steps = np.diff(np.log10(practice.GRID))
    np.testing.assert_allclose(steps, 0.5)
    assert len(practice.RULES_COMPARED) == 8 and len(practice.SEEDS) >= 5 and practice.EPOCHS >= 20
    results = {"settings": {"grid": [0.1, 1.0], "seeds": [0, 1, 2], "epochs": 4},
               "tuning": {"sgd": {}, "adam": {}}}
    assert practice.budget(results) == {"sgd": 24, "adam": 24}


def test_choose_takes_the_lowest_mean_and_never_an_lr_where_a_seed_diverged():
    grid = (0.01, 0.1, 1.0)
    losses = np.array([[0.5, 0.6], [0.3, 0.4], [0.1, np.inf]])
    assert practice.choose(losses, grid) == 0.1
    assert practice.choose(np.array([[0.5, 0.6], [0.3, 0.4], [0.1, 0.2]]), grid) == 1.0
    assert practice.at_edge(1.0, grid) and practice.at_edge(0.01, grid) and not practice.at_edge(0.1, grid)
    with pytest.raises(ValueError, match="one row per learning rate"):
        practice.choose(losses[:2], grid)
    with pytest.raises(ValueError, match="extend the grid to smaller values"):
        practice.choose(np.full((3, 2), np.inf), grid)


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """The whole protocol at a toy size, saved and read back."""
    results = practice.compute(rules=("sgd", "adam"), grid=(0.003, 0.03, 0.3), seeds=(0, 1), epochs=2)
    path = practice.save(results, tmp_path_factory.mktemp("comparison") / "small.json")
    return results, practice.load(path)


def test_compute_chooses_on_validation_and_tests_only_the_chosen_lr(small):
    results, _ = small
    for rule in ("sgd", "adam"):
        tuning = results["tuning"][rule]
        assert tuning["loss"].shape == tuning["accuracy"].shape == (3, 2)
        assert tuning["curves"]["validation loss"].shape == (3, 3)
        assert results["chosen"][rule] == practice.choose(tuning["loss"], (0.003, 0.03, 0.3))
        lr = results["chosen"][rule]
        for j, seed in enumerate((0, 1)):
            again = practice.run(rule, lr, seed, on="testing", epochs=2)
            assert results["test"][rule]["loss"][j] == pytest.approx(again.test_loss[-1], rel=1e-12)
            i = (0.003, 0.03, 0.3).index(lr)
            tuned = practice.run(rule, lr, seed, on="tuning", epochs=2)
            assert tuning["loss"][i, j] == pytest.approx(tuned.test_loss[-1], rel=1e-12)
            assert tuning["loss"][i, j] != pytest.approx(again.test_loss[-1], rel=1e-3)  # another set


def test_saved_results_read_back_with_diverged_runs_as_inf(small, tmp_path):
    results, loaded = small
    for rule in ("sgd", "adam"):
        np.testing.assert_allclose(loaded["tuning"][rule]["loss"], results["tuning"][rule]["loss"], rtol=1e-15)
        np.testing.assert_allclose(loaded["test"][rule]["accuracy"], results["test"][rule]["accuracy"], rtol=1e-15)
        np.testing.assert_allclose(loaded["tuning"][rule]["curves"]["training loss"],
                                   results["tuning"][rule]["curves"]["training loss"], rtol=1e-5)
    assert loaded["chosen"] == results["chosen"] and loaded["settings"]["grid"] == [0.003, 0.03, 0.3]
    broken = dict(results, tuning={"sgd": dict(results["tuning"]["sgd"], loss=np.array([[np.inf, 1.0]]),
                                                accuracy=np.array([[np.nan, 0.5]]))})
    back = practice.load(practice.save(broken, tmp_path / "inf.json"))
    assert back["tuning"]["sgd"]["loss"][0, 0] == np.inf and np.isnan(back["tuning"]["sgd"]["accuracy"][0, 0])
    with pytest.raises(FileNotFoundError, match="results/compute.py 08"):
        practice.load(tmp_path / "missing.json")


def _results(test_losses: dict[str, list[float]]) -> dict:
    return {"test": {rule: {"loss": np.array(v)} for rule, v in test_losses.items()}}


def test_verdicts_claim_a_difference_only_when_the_paired_interval_excludes_zero():
    noise = np.array([0.0, 0.02, -0.01, 0.03, -0.02])  # shared by all runs of a seed
    results = _results({"a": 0.10 + noise, "b": 0.15 + noise + [0.001, -0.001, 0.0, 0.002, -0.002],
                        "c": 0.105 + noise + [0.01, -0.01, 0.012, -0.012, 0.0]})
    verdict = practice.verdicts(results)
    assert verdict["best"] == "a" and verdict["worse"] == ["b"] and verdict["unresolved"] == ["c"]
    # unpaired, the intervals of a and b overlap: the pairing is what separates them
    (ma, ha), (mb, hb) = (practice.interval(results["test"][r]["loss"]) for r in "ab")
    assert mb - hb < ma + ha
    # seed by seed, c sometimes beats a: one seed could crown either
    assert practice.winners_by_seed(results) == ["a", "c", "a", "c", "a"]
    assert practice.winners_by_seed(_results({"a": [1.0, 2.0], "b": [2.0, 1.0]})) == ["a", "b"]


def test_verdicts_on_accuracy_prefer_the_larger():
    results = {"test": {"a": {"accuracy": np.array([0.90, 0.91, 0.92])},
                        "b": {"accuracy": np.array([0.95, 0.96, 0.97])}}}
    verdict = practice.verdicts(results, "accuracy")
    assert verdict["best"] == "b" and verdict["worse"] == ["a"]


@pytest.fixture(scope="module")
def family():
    return practice.adam_family(0.01, seed=0, epochs=2)


def test_adam_family_runs_are_the_reference_rules(family):
    for name in ("adam", "adamw", "amsgrad"):
        again = practice.run(name, 0.01, 0, epochs=2)
        np.testing.assert_allclose(family["histories"][name].test_loss, again.test_loss, rtol=1e-13)
        assert family["validation loss"][name] == again.test_loss[-1]


def test_adam_family_measures_the_decay_and_the_binding_maximum(family):
    """The decay, the Adam steps and the binding entries, redone by hand over the same two epochs."""
    from optilab import kernels

    (X_fit, y_fit, _, _), _ = practice.splits()
    net = practice.model()
    batches = [b for epoch in (0, 1) for b in data.minibatches(X_fit, y_fit, practice.BATCH_SIZE, seed=0, epoch=epoch)]
    adamw, ams = net.init(0), net.init(0)
    w_state, a_state = {}, {}
    decay = steps = 0.0
    bound = total = 0
    for X_b, y_b in batches:
        _, w_grads = net.loss_and_grads(adamw, X_b, y_b)
        _, a_grads = net.loss_and_grads(ams, X_b, y_b)
        for key in adamw:
            new, w_state[key] = kernels.adamw(adamw[key], w_grads[key], w_state.get(key, {}), lr=0.01)
            decay += np.abs(0.01 * 0.01 * adamw[key]).sum()
            steps += np.abs(new - (adamw[key] - 0.01 * 0.01 * adamw[key])).sum()
            adamw[key] = new
            ams[key], a_state[key] = kernels.amsgrad(ams[key], a_grads[key], a_state.get(key, {}), lr=0.01)
            bound += int(np.sum(a_state[key]["v_max"] > a_state[key]["v"]))
            total += a_state[key]["v"].size
    assert family["decay"]["steps"] == len(batches)
    assert family["decay"]["shrink"] == pytest.approx((1 - 1e-4) ** len(batches))
    assert family["decay"]["ratio"] == pytest.approx(decay / steps, rel=1e-9)
    assert family["max"]["binds"] == pytest.approx(bound / total, rel=1e-12)
    assert 0 < family["max"]["smallest 1 %"] <= family["max"]["step ratio"] <= 1


def test_settled_measures_the_change_over_the_last_epochs_at_the_chosen_lr():
    flat = [3.0, 1.0, 0.52, 0.51, 0.50]
    steep = [3.0, 2.0, 1.5, 1.2, 1.0]
    results = {"settings": {"grid": [0.1, 1.0]}, "chosen": {"a": 1.0},
               "tuning": {"a": {"curves": {"validation loss": np.array([steep, flat])}}}}
    assert practice.settled(results, last=2) == {"a": pytest.approx(0.02 / 0.5)}
    results["chosen"]["a"] = 0.1
    assert practice.settled(results, last=2) == {"a": pytest.approx(0.5 / 1.0)}


def test_sensitivity_compares_the_choice_of_lr_with_the_choice_of_optimizer():
    grid = [0.01, 0.1, 1.0]
    results = {"settings": {"grid": grid}, "chosen": {"a": 0.1, "b": 1.0},
               "tuning": {"a": {"loss": np.array([[0.9, 1.1], [0.2, 0.2], [0.5, np.inf]])},
                          "b": {"loss": np.array([[3.0, 3.0], [0.6, 0.6], [0.25, 0.25]])}}}
    spread = practice.sensitivity(results)
    assert spread["best"] == {"a": pytest.approx(0.2), "b": pytest.approx(0.25)}
    assert spread["across optimizers"] == pytest.approx(0.05)
    assert spread["within"] == {"a": pytest.approx(0.8), "b": pytest.approx(2.75)}  # a's diverged α left out
    assert spread["factor 3"] == {"a": np.inf, "b": pytest.approx(0.35)}
    assert spread["shared"][0.01] == pytest.approx(2.0) and spread["shared"][0.1] == pytest.approx(0.4)


def test_shifted_compares_one_rule_at_lr_with_another_at_factor_times_lr():
    results = {"settings": {"grid": [0.01, 0.1, 1.0]},
               "tuning": {"a": {"loss": np.array([[0.5, 0.5], [0.2, 0.2], [9.0, 9.0]])},
                          "b": {"loss": np.array([[7.0, 7.0], [0.55, 0.45], [0.22, 0.22]])}}}
    out = practice.shifted(results, "a", "b", 10)
    assert out["pairs"] == [(0.01, 0.1), (0.1, 1.0)]
    assert out["relative"] == pytest.approx(0.02 / 0.22)
    with pytest.raises(ValueError, match="3·α"):
        practice.shifted(results, "a", "b", 3)
