"""The training loops: what they record, reproducibility, divergence, and GD's textbook rate."""

from __future__ import annotations

import math

import numpy as np
import pytest

from optilab import data, problems
from optilab.models import LinearRegression, LogisticRegression, MLP
from optilab.training import MAX_GROWTH, History, Trace, run, steps_to_tolerance, sweep_lr, train


def test_trace_records_every_iterate_from_the_start():
    p = problems.quadratic((1.0, 4.0))
    trace = run("sgd", p, steps=30, lr=0.1)
    assert isinstance(trace, Trace) and trace.rule == "sgd" and not trace.diverged
    assert trace.params.shape == (31, 2) and trace.losses.shape == (31,)
    assert trace.grad_norms.shape == (31,) and trace.lrs.shape == (30,)
    np.testing.assert_array_equal(trace.params[0], p.x0)
    # the iterates are those of p ← p − α g, computed here by hand
    x = p.x0.copy()
    for t in range(30):
        assert trace.losses[t] == pytest.approx(0.5 * x @ p.hessian @ x, rel=1e-12)
        assert trace.grad_norms[t] == pytest.approx(np.linalg.norm(p.hessian @ x), rel=1e-12)
        x = x - 0.1 * (p.hessian @ x)
        np.testing.assert_allclose(trace.params[t + 1], x, rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(trace.lrs, 0.1)


def test_run_records_the_learning_rate_of_a_schedule():
    trace = run("momentum", problems.rosenbrock(), steps=5, lr=lambda t: 1e-3 / (t + 1), momentum=0.5)
    np.testing.assert_allclose(trace.lrs, [1e-3 / (t + 1) for t in range(5)])
    assert trace.hyperparameters == {"momentum": 0.5}


def test_run_accepts_a_students_rule_function():
    def my_sgd(param, grad, state, *, lr=0.01):
        return param - lr * grad, {}

    mine = run(my_sgd, problems.beale(), steps=20, lr=0.01)
    reference = run("sgd", problems.beale(), steps=20, lr=0.01)
    assert mine.rule == "my_sgd"
    np.testing.assert_array_equal(mine.params, reference.params)


def test_run_is_reproducible_and_seed_picks_the_noise():
    p = problems.noisy(problems.rosenbrock(), sigma=1.0, seed=0)
    a = run("adam", p, steps=50, lr=0.05)
    b = run("adam", p, steps=50, lr=0.05)
    np.testing.assert_array_equal(a.params, b.params)
    np.testing.assert_array_equal(a.losses, b.losses)
    c = run("adam", p, steps=50, lr=0.05, seed=1)
    assert not np.allclose(a.params, c.params)
    np.testing.assert_array_equal(c.params, run("adam", problems.noisy(problems.rosenbrock(), 1.0, seed=1), steps=50, lr=0.05).params)
    np.testing.assert_array_equal(run("adam", p, steps=50, lr=0.05, seed=0).params, a.params)


def test_divergence_is_detected_and_the_run_stops():
    p = problems.quadratic((1.0, 10.0))
    # GD is stable on λ = 10 only for α < 2/10
    assert not run("sgd", p, steps=500, lr=0.19).diverged
    blown = run("sgd", p, steps=5000, lr=0.21)
    assert blown.diverged
    assert blown.steps < 5000 and len(blown.params) == blown.steps + 1 == len(blown.lrs) + 1
    assert np.linalg.norm(blown.params[-1]) > 1e6
    assert blown.final_loss == math.inf


def test_divergence_on_non_finite_loss():
    p = problems.rosenbrock()
    trace = run("sgd", p, steps=1000, lr=0.1, max_norm=math.inf)
    assert trace.diverged and trace.steps < 1000
    assert not np.isfinite(trace.losses[-1]) or not np.all(np.isfinite(trace.grad_norms[-1]))


def test_projection_is_applied_after_every_step():
    trace = run("sgd", problems.reddi_online(), steps=60, lr=0.5)
    assert np.all(np.abs(trace.params) <= 1.0)
    assert trace.params.max() == 1.0 or trace.params.min() == -1.0


@pytest.mark.parametrize("eigenvalues", [(1.0, 10.0), (2.0, 3.0), (0.5, 50.0)])
def test_gd_with_the_best_step_contracts_by_kappa_minus_one_over_kappa_plus_one(eigenvalues):
    lo, hi = eigenvalues
    p = problems.quadratic(eigenvalues, angle=0.4)
    q = (hi / lo - 1) / (hi / lo + 1)
    trace = run("sgd", p, steps=800, lr=2.0 / (lo + hi))
    distances = np.linalg.norm(trace.params, axis=1)
    normal = distances[1:] > 1e-140  # before the squares in the norm underflow
    np.testing.assert_allclose(distances[1:][normal] / distances[:-1][normal], q, rtol=1e-9)
    d0, f0 = distances[0], trace.losses[0]
    for tol in (1e-2, 1e-5):
        expected = math.ceil(math.log(tol / d0) / math.log(q))
        assert steps_to_tolerance(trace, tol, measure="distance") == expected
        expected_loss = math.ceil(math.log(tol / f0) / (2 * math.log(q)))  # f ∝ ‖x‖² contracts by q²
        assert steps_to_tolerance(trace, tol) == expected_loss


def test_steps_to_tolerance_is_none_when_never_reached_and_zero_at_the_start():
    p = problems.quadratic((1.0, 10.0))
    slow = run("sgd", p, steps=10, lr=1e-4)
    assert steps_to_tolerance(slow, 1e-6) is None
    assert steps_to_tolerance(slow, 1e9) == 0
    assert steps_to_tolerance(slow, 1.0, measure="grad") is None
    with pytest.raises(ValueError, match="measure"):
        steps_to_tolerance(slow, 1.0, measure="speed")


def test_sweep_lr_reports_the_final_loss_and_inf_for_diverged_runs():
    p = problems.quadratic((1.0, 10.0))
    result = sweep_lr("sgd", p, [0.01, 0.1, 0.5], steps=200)
    assert list(result) == [0.01, 0.1, 0.5]
    assert result[0.5] == math.inf
    assert result[0.1] < result[0.01] < p.loss(p.x0)
    assert result[0.1] == run("sgd", p, steps=200, lr=0.1).losses[-1]


# -- train ----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def cancer():
    X, y = data.load_breast_cancer()
    X_train, X_test, y_train, y_test = data.train_test_split(X, y, seed=0)
    X_train, X_test = data.standardize(X_train, X_test)
    return X_train, y_train, X_test, y_test


def test_train_records_per_epoch_and_per_step(cancer):
    X_train = cancer[0]
    history = train("sgd", LogisticRegression(30), cancer, epochs=4, batch_size=50, lr=0.1)
    assert isinstance(history, History) and history.rule == "sgd" and not history.diverged
    steps_per_epoch = math.ceil(len(X_train) / 50)
    assert len(history.step_loss) == len(history.lrs) == 4 * steps_per_epoch
    for series in (history.train_loss, history.test_loss, history.train_accuracy, history.test_accuracy):
        assert series.shape == (5,)
    assert history.train_loss[0] == pytest.approx(math.log(2))  # zero weights: p = 1/2 for everyone
    assert history.train_loss[-1] < 0.2 and history.test_accuracy[-1] > 0.93


def test_train_is_reproducible_and_seeded(cancer):
    model = MLP((30, 8, 2), "relu")
    a = train("adam", model, cancer, epochs=3, batch_size=32, lr=1e-2, seed=0)
    b = train("adam", model, cancer, epochs=3, batch_size=32, lr=1e-2, seed=0)
    c = train("adam", model, cancer, epochs=3, batch_size=32, lr=1e-2, seed=1)
    np.testing.assert_array_equal(a.step_loss, b.step_loss)
    for key in a.params:
        np.testing.assert_array_equal(a.params[key], b.params[key])
    assert not np.allclose(a.step_loss, c.step_loss)


def test_full_batch_train_is_gradient_descent_by_hand():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((30, 3))
    y = X @ np.array([1.0, -2.0, 0.5]) + 0.3
    history = train("sgd", LinearRegression(3), (X, y), epochs=25, batch_size=None, lr=0.2)
    w, b = np.zeros(3), 0.0
    for _ in range(25):
        r = X @ w + b - y
        w, b = w - 0.2 * X.T @ r / 30, b - 0.2 * r.mean()
    np.testing.assert_allclose(history.params["w"], w, rtol=1e-12)
    assert float(history.params["b"]) == pytest.approx(b, rel=1e-12)
    assert history.test_accuracy is None and history.train_accuracy is None and len(history.test_loss) == 0


def test_train_fits_a_regression_mlp_and_records_no_accuracy():
    """An MLP with task="regression" has the classifier's methods but no accuracy: train records
    its losses (half the mean squared error) and leaves the accuracies out, as for LinearRegression."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 3))
    y = np.sin(X[:, 0]) + 0.5 * X[:, 1]
    model = MLP((3, 8, 1), task="regression")
    history = train("adam", model, (X[:30], y[:30], X[30:], y[30:]), epochs=30, batch_size=10, lr=0.02)
    assert history.train_accuracy is None and history.test_accuracy is None
    assert len(history.train_loss) == len(history.test_loss) == 31
    fitted = model.output(history.params, X[:30])[:, 0]
    assert history.train_loss[-1] == pytest.approx(0.5 * np.mean((fitted - y[:30]) ** 2), rel=1e-12)
    assert history.train_loss[-1] < 0.5 * history.train_loss[0]


@pytest.mark.parametrize("model", [LinearRegression(2), LogisticRegression(2), MLP((2, 3, 2))], ids=repr)
def test_train_refuses_examples_and_labels_of_different_lengths_and_says_which(model):
    X, y = data.two_moons(40, seed=0)
    with pytest.raises(ValueError, match="X_train has 40 examples but y_train has 20 labels"):
        train("sgd", model, (X, y[:20]), epochs=1, lr=0.1)
    with pytest.raises(ValueError, match="X_test has 10 examples but y_test has 9 labels"):
        train("sgd", model, (X[:30], y[:30], X[30:], y[31:]), epochs=1, lr=0.1)


def test_linear_regression_loss_refuses_targets_of_another_shape():
    model = LinearRegression(2)
    with pytest.raises(ValueError, match=r"y must have shape \(4,\), one target per example; got shape \(3,\)"):
        model.loss(model.init(), np.ones((4, 2)), np.ones(3))


def test_train_accepts_a_split_by_name():
    X, y = data.two_moons(120, seed=1)
    split = data.train_test_split(X, y, seed=0)
    by_name = train("sgd", LogisticRegression(2), split, epochs=2, lr=0.1)
    by_tuple = train("sgd", LogisticRegression(2), (split.X_train, split.y_train, split.X_test, split.y_test), epochs=2, lr=0.1)
    np.testing.assert_array_equal(by_name.test_loss, by_tuple.test_loss)


def test_train_detects_divergence():
    rng = np.random.default_rng(0)
    X = 10 * rng.standard_normal((40, 3))
    y = rng.standard_normal(40)
    history = train("sgd", LinearRegression(3), (X, y), epochs=200, batch_size=8, lr=10.0)
    assert history.diverged
    assert history.epochs < 200
    assert np.all(np.isfinite(history.step_loss))


def _regression(cancer):
    """Least squares on the standardised cancer features, target 2·(first feature): start loss 2."""
    X_train, _, X_test, _ = cancer
    return X_train, 2.0 * X_train[:, 0], X_test, 2.0 * X_test[:, 0]


def test_train_calls_a_finite_but_exploding_loss_diverged(cancer):
    """SGD with lr 0.5 on this least-squares problem multiplies the loss each step; it used to
    end with a finite training loss near 1e205 and ``diverged=False``."""
    data = _regression(cancer)
    kept = train("sgd", LinearRegression(30), data, epochs=10, lr=0.5, max_growth=np.inf)
    assert not kept.diverged and np.isfinite(kept.train_loss[-1]) and kept.train_loss[-1] > 1e100  # the finding
    history = train("sgd", LinearRegression(30), data, epochs=10, lr=0.5)
    assert history.diverged and history.epochs < 10
    start = history.train_loss[0]
    assert max(history.step_loss[-1], history.train_loss[-1]) > MAX_GROWTH * start
    assert np.all(history.step_loss[:-1] <= MAX_GROWTH * start)  # it stopped at the first loss past the limit


def test_train_does_not_call_a_bounded_noisy_run_diverged(cancer):
    """A large but stable learning rate: the loss jumps around but stays below MAX_GROWTH × start."""
    history = train("sgd", LinearRegression(30), _regression(cancer), epochs=10, lr=0.05)
    assert not history.diverged and history.epochs == 10


def test_train_max_growth_is_a_stated_multiple(cancer):
    data = _regression(cancer)
    loose = train("sgd", LinearRegression(30), data, epochs=10, lr=0.5, max_growth=1e100)
    tight = train("sgd", LinearRegression(30), data, epochs=10, lr=0.5, max_growth=10.0)
    assert loose.diverged and tight.diverged and len(tight.step_loss) < len(loose.step_loss)
    start = tight.train_loss[0]
    assert max(tight.step_loss[-1], tight.train_loss[-1]) > 10.0 * start
    assert np.all(tight.step_loss[:-1] <= 10.0 * start) and np.all(tight.train_loss[:-1] <= 10.0 * start)
    with pytest.raises(ValueError, match="max_growth"):
        train("sgd", LinearRegression(30), data, epochs=1, lr=0.1, max_growth=0.5)


def test_a_rule_judged_at_a_point_of_its_state_reports_its_losses_there():
    """Schedule-free AdamW returns y (where the next gradient is taken) and keeps x, the model, in
    its state (CONTRACT.md): run() and train() report the loss at x, and train's final model is x."""
    from optilab import kernels, models, problems
    from optilab.data import train_test_split

    bowl = problems.quadratic(eigenvalues=(1.0, 10.0))
    trace = run("schedule_free_adamw", bowl, steps=30, lr=0.05)
    x, state, expected = np.array(bowl.x0, dtype=float), {}, [bowl.loss(np.array(bowl.x0, dtype=float))]
    for _ in range(30):
        x, state = kernels.schedule_free_adamw(x, bowl.grad(x), state, lr=0.05)
        expected.append(bowl.loss(state["x"]))
    assert np.allclose(trace.losses, expected, rtol=1e-12)
    assert not np.allclose(trace.losses[1:], [bowl.loss(p) for p in _ys(bowl, 30)], rtol=1e-6)

    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    split = train_test_split(X, X @ np.array([1.0, -2.0, 0.5]), seed=0)
    model = models.LinearRegression(n_features=3)
    history = train("schedule_free_adamw", model, split, epochs=3, batch_size=None, lr=0.05, seed=0)
    assert np.isclose(history.train_loss[-1], model.loss(history.params, split.X_train, split.y_train), rtol=1e-12)


def _ys(bowl, steps):
    from optilab import kernels

    y, state, out = np.array(bowl.x0, dtype=float), {}, []
    for _ in range(steps):
        y, state = kernels.schedule_free_adamw(y, bowl.grad(y), state, lr=0.05)
        out.append(y)
    return out
