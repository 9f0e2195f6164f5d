"""Lesson 10's experiments: the claims the lesson will make, asserted from the computed values."""

from __future__ import annotations

import numpy as np
import pytest

from optilab.experiments import training_in_practice as E
from optilab.experiments import batch_size as BS

LRS = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)


@pytest.fixture(scope="module")
def by_lr():
    return {lr: E.interval(E.validation_losses(lr)) for lr in LRS}


def test_the_split_is_lab_7s_and_the_test_set_is_held_out():
    mlp, (X_fit, y_fit, X_val, y_val) = E.setup()
    assert mlp.sizes == E.SIZES and X_fit.shape[1] == 30
    assert len(X_fit) == 341 and len(X_val) == 114  # of 569: 455 to develop with (341 fit, 114 validation), 114 held out
    np.testing.assert_allclose(X_fit.mean(axis=0), 0.0, atol=1e-12)


def test_the_range_tests_suggestions_land_among_the_learning_rates_that_train_best(by_lr):
    """Both suggestions lie between the good rates, where the mean validation loss is within the best
    rate's 95 % interval, and away from the rates outside it."""
    result = E.range_test()
    best = min(by_lr, key=lambda lr: by_lr[lr][0])
    ceiling = by_lr[best][0] + by_lr[best][1]
    good = [lr for lr in LRS if by_lr[lr][0] <= ceiling]
    assert good == [0.1, 0.3, 1.0], by_lr
    for suggestion in (result.steep, result.minimum):
        assert min(good) * 0.9 <= suggestion <= max(good), (suggestion, good)
    assert result.stopped_early  # the loss blew up before lr = 100


def test_starting_low_rescues_a_peak_rate_too_large_for_a_constant_schedule(by_lr):
    constant = E.validation_losses(3.0)
    assert by_lr[3.0][0] > by_lr[0.3][0] + by_lr[0.3][1]  # 3 is too large held constant
    for name in ("warm-up + cosine", "one-cycle", "warm-up, stable, decay"):
        losses = E.validation_losses(3.0, name)
        assert losses.mean() < 0.75 * constant.mean(), name
        assert np.sum(losses < constant) >= 4, name  # paired by seed: better for (almost) every seed
    assert np.all(E.validation_losses(3.0, "warm-up + cosine") < constant)


def test_the_update_to_weight_ratio_grows_with_the_learning_rate():
    medians = {lr: np.median(E.update_ratios(lr)["W1"]) for lr in (0.1, 1.0, 10.0)}
    assert 1e-3 <= medians[0.1] <= 3e-2  # near CS231n's 1e-3 at a rate that trains well
    assert medians[0.1] < medians[1.0] < medians[10.0] and medians[10.0] > 5 * medians[0.1]


def test_unknown_schedules_are_refused():
    with pytest.raises(ValueError, match="unknown schedule"):
        E.validation_losses(1.0, "cosine with restarts")


def test_clipping_array_by_array_turns_the_step_and_global_clipping_does_not():
    steps = E.clipping_directions(weight_norm=100.0, bias_norm=0.5, max_norm=1.0)
    assert steps["global"][0] == pytest.approx(1.0, rel=1e-12) and steps["global"][1] == pytest.approx(1.0, rel=1e-12)
    # per array: the weight's part scaled to 1, the bias's kept at 0.5; cos = (100·1 + 0.5·0.5)/(‖(100, 0.5)‖·‖(1, 0.5)‖)
    expected = (100 * 1 + 0.5 * 0.5) / (np.hypot(100, 0.5) * np.hypot(1, 0.5))
    assert steps["per array"][1] == pytest.approx(expected, rel=1e-12) and steps["per array"][1] < 0.9


# -- batch size and the learning rate -------------------------------------------------------------
from optilab import data, kernels, models, theory  # noqa: E402


@pytest.fixture(scope="module")
def sweep():
    return BS.load_batch_sweep()


@pytest.fixture(scope="module")
def summary(sweep):
    return BS.batch_size_summary(sweep)


@pytest.fixture(scope="module")
def noise():
    return np.array([BS.noise_during_training(seed) for seed in E.SEEDS])  # (seeds, points, [trace, signal, b_simple])


def test_the_noise_scale_is_the_batch_size_where_a_minibatchs_noise_equals_the_signal():
    """tr Σ predicts the noise of random batches drawn without replacement: E‖g_B − G‖² = tr Σ (n − B)/((n − 1) B)."""
    mlp, (X, y, _, _) = E.setup()
    params = mlp.init(1)
    measured = BS.gradient_noise(mlp, params, X, y)
    G = np.concatenate([g.ravel() for g in mlp.loss_and_grads(params, X, y)[1].values()])
    assert measured["signal"] == pytest.approx(G @ G, rel=1e-10)
    rng = np.random.default_rng(0)
    for B in (1, 8, 64):
        squares = []
        for _ in range(1500):
            batch = rng.choice(len(X), size=B, replace=False)
            g = np.concatenate([v.ravel() for v in mlp.loss_and_grads(params, X[batch], y[batch])[1].values()])
            squares.append(np.sum((g - G) ** 2))
        expected = measured["trace"] * theory.minibatch_variance_factor(B, len(X))
        assert np.mean(squares) == pytest.approx(expected, rel=0.12), B
    assert measured["b_simple"] == pytest.approx(measured["trace"] / measured["signal"])


def test_lesson_02s_noise_scale_is_the_square_of_its_noise_to_signal_ratio_of_one_example():
    from optilab.experiments import sgd as lesson02

    split = lesson02.breast_cancer_split()
    model = models.LogisticRegression(split.X_train.shape[1])
    params = model.init(seed=0)
    G = np.concatenate([model.loss_and_grads(params, split.X_train, split.y_train)[1][k].ravel() for k in ("w", "b")])
    rng = np.random.default_rng(1)
    misses = []
    for i in rng.integers(0, len(split.X_train), size=3000):
        grads = model.loss_and_grads(params, split.X_train[i:i + 1], split.y_train[i:i + 1])[1]
        misses.append(np.sum((np.concatenate([grads["w"].ravel(), np.ravel(grads["b"])]) - G) ** 2))
    noise = BS.lesson02_noise()
    assert np.mean(misses) / (G @ G) == pytest.approx(noise["b_simple"], rel=0.1)
    assert 1 < noise["b_simple"] < 10  # at p = 0 a batch of a few examples has as much signal as noise


def test_the_noise_scale_of_the_mlp_grows_as_the_loss_falls(noise):
    b_simple = noise[:, :, 2]
    assert np.all(np.isfinite(b_simple))  # every seed reached every level
    assert np.all(b_simple[:, 0] < 10) and np.all(b_simple[:, 1] > 10 * b_simple[:, 0])
    assert np.all(b_simple[:, -1] > b_simple[:, 1])
    assert np.all(noise[:, -1, 1] < noise[:, 0, 1] / 100)  # the signal ‖G‖² falls by more than 100-fold
    signal_fall = noise[:, 0, 1].mean() / noise[:, -1, 1].mean()
    noise_fall = noise[:, 0, 0].mean() / noise[:, -1, 0].mean()
    assert 1 < noise_fall < signal_fall / 10  # while the examples' spread tr Σ falls far less


def _plain_steps(B, lr, seed, targets, max_steps):
    """Steps to each target of one SGD run, written plainly: models.MLP, kernels.sgd, data.minibatches."""
    mlp, (X, y, _, _) = E.setup()
    params, t, epoch, found = mlp.init(seed), 0, 0, {}
    while t < max_steps and len(found) < len(targets):
        for Xb, yb in data.minibatches(X, y, B, seed=seed, epoch=epoch):
            grads = mlp.loss_and_grads(params, Xb, yb)[1]
            params = {k: kernels.sgd(params[k], grads[k], {}, lr=lr)[0] for k in params}
            t += 1
            loss = mlp.loss(params, X, y)
            for target in targets:
                if loss <= target and target not in found:
                    found[target] = t
            if t >= max_steps or len(found) == len(targets):
                break
        epoch += 1
    return [found.get(target, np.inf) for target in targets]


def test_the_stacked_runs_are_the_plain_runs():
    lrs, seeds = (BS.LR_GRID[8], BS.LR_GRID[10]), (2, 7)
    stacked = BS.steps_to_targets(64, lrs, seeds, slack=np.inf, max_steps=400)
    for i, lr in enumerate(lrs):
        for j, seed in enumerate(seeds):
            np.testing.assert_array_equal(stacked[:, i, j], _plain_steps(64, lr, seed, BS.TARGETS, 400))
    assert np.all(np.isfinite(stacked))


def test_the_committed_sweep_is_of_the_lessons_settings_and_what_the_code_computes(sweep, summary):
    settings = sweep["settings"]
    n = len(E.setup()[1][0])
    assert settings["batch sizes"] == [n if B is None else B for B in BS.BATCH_SIZES] and settings["n"] == n
    np.testing.assert_allclose(settings["lrs"], BS.LR_GRID, rtol=1e-15)
    assert settings["seeds"] == list(BS.SWEEP_SEEDS) and settings["targets"] == list(BS.TARGETS)
    assert sweep["steps"].shape == (len(BS.TARGETS), len(BS.BATCH_SIZES), len(BS.LR_GRID), len(BS.SWEEP_SEEDS))
    for i in (3, len(BS.BATCH_SIZES) - 1):  # B = 32 and the full batch, at the tuned rate and its neighbours
        j = summary["tuned"][i]["lr index"]
        committed = sweep["steps"][:, i, j - 1:j + 2]
        cap = int(np.max(committed[np.isfinite(committed)])) + 1
        again = BS.steps_to_targets(BS.BATCH_SIZES[i], BS.LR_GRID[j - 1:j + 2], BS.SWEEP_SEEDS, slack=np.inf, max_steps=cap)
        finite = np.isfinite(committed)
        np.testing.assert_array_equal(again[finite], committed[finite])


def test_the_median_interval_covers_the_median_as_often_as_it_says():
    rng = np.random.default_rng(0)
    draws = rng.random((20000, 10))  # uniform on [0, 1]: the true median is 0.5
    hits = [low <= 0.5 <= high for low, high in (BS.median_interval(row)[1:3] for row in draws)]
    median, low, high, coverage = BS.median_interval(np.arange(10.0))
    assert (median, low, high) == (4.5, 1.0, 8.0)  # the 2nd and 9th of ten
    assert np.mean(hits) == pytest.approx(coverage, abs=0.005) and coverage >= 0.95


def test_the_fit_recovers_the_model_it_fits_and_phi_is_lesson_02s():
    n = 341
    for B in (1, 4, 100, n):
        assert BS.noise_factor(B, n) == pytest.approx(theory.minibatch_variance_factor(B, n), rel=1e-15)
    sizes = [4, 8, 16, 32, 64, 128, 256, n]
    steps = [20.0 * (1 + 60.0 * (n - B) / ((n - 1) * B)) for B in sizes]
    assert BS.fit_steps(sizes, steps, n) == pytest.approx((20.0, 60.0), rel=1e-9)
    with pytest.raises(ValueError, match="between 1 and n"):
        BS.noise_factor(0, n)


def test_steps_fall_with_the_batch_as_the_fit_says_and_stop_halving_past_the_critical_batch(summary):
    s_min, b_noise = summary["fit"]
    assert summary["fit inside"] and summary["fit error"] < 0.25
    mean, half = summary["interval"]
    assert mean - half < b_noise < mean + half and b_noise + 1 < summary["n"] / 2
    medians = [row["median"] for row in summary["tuned"]]
    assert medians[0] > 10 * medians[-1] and np.all(np.isfinite(medians))
    below = [ratio for B, ratio, _ in summary["doubling"] if B < b_noise]
    above = [ratio for B, ratio, _ in summary["doubling"] if B >= b_noise]
    assert below and above and min(below) > max(above) and min(below) > 1.4 and max(above) < 1.4


def test_the_critical_batch_and_the_noise_scale_both_grow_as_the_target_falls(sweep, noise):
    critical = [BS.batch_size_summary(sweep, target)["fit"][1] for target in BS.TARGETS]
    assert critical == sorted(critical) and critical[-1] > 2 * critical[0]
    b_simple = noise[:, 1:, 2].mean(axis=0)  # the mean over the seeds at each target
    assert np.all(b_simple > np.array(critical)) and np.all(np.diff(b_simple) > 0)


def test_linear_scaling_holds_until_the_scaled_rate_reaches_the_full_batchs_rate(summary):
    rows = summary["tuned"]
    assert summary["linear holds to"] == summary["crossing"]
    after = [(B, there / best) for B, _, there, best in summary["linear"] if B > summary["linear holds to"]]
    assert after and after[0][1] > 2 and all(not np.isfinite(ratio) for _, ratio in after[1:])
    plateau = [row["lr"] for row in rows if row["batch size"] > summary["crossing"]]
    assert plateau and all(lr == summary["alpha max"] for lr in plateau)
    growth_lr, growth_b = summary["alpha max"] / rows[0]["lr"], summary["n"] / rows[0]["batch size"]
    assert growth_lr < growth_b / 5
