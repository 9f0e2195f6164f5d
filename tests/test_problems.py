"""The test problems: exact gradients, known minima, and the two classic counterexamples."""

from __future__ import annotations

import math

import numpy as np
import pytest

from optilab import problems
from optilab.training import run

#: Every deterministic problem, with a scale for random test points around its window.
SMOOTH = {
    "quadratic": lambda: problems.quadratic((1.0, 10.0)),
    "quadratic tilted": lambda: problems.quadratic((0.5, 7.0), angle=0.7),
    "quadratic indefinite": lambda: problems.quadratic((2.0, -3.0), angle=-1.2),
    "quadratic_nd": lambda: problems.quadratic_nd([0.1, 1.0, 3.0, 20.0, 50.0], seed=3),
    "rosenbrock": problems.rosenbrock,
    "rosenbrock a=2 b=50": lambda: problems.rosenbrock(a=2.0, b=50.0),
    "beale": problems.beale,
    "himmelblau": problems.himmelblau,
    "saddle": problems.saddle,
}


def central_difference(f, x, h=1e-6):
    """The gradient of f at x by central differences, one coordinate at a time."""
    g = np.zeros_like(x)
    for i in range(len(x)):
        e = np.zeros_like(x)
        e[i] = h
        g[i] = (f(x + e) - f(x - e)) / (2 * h)
    return g


def random_points(problem, count=6, seed=0):
    rng = np.random.default_rng(seed)
    if problem.bounds is not None:
        (x0, x1), (y0, y1) = problem.bounds
        return [np.array([rng.uniform(x0, x1), rng.uniform(y0, y1)]) for _ in range(count)]
    return [2 * rng.standard_normal(problem.dim) for _ in range(count)]


@pytest.mark.parametrize("name", SMOOTH)
def test_gradient_matches_central_differences(name):
    problem = SMOOTH[name]()
    for x in random_points(problem):
        numeric = central_difference(problem.loss, x)
        exact = problem.grad(x)
        scale = max(1.0, np.abs(numeric).max())
        np.testing.assert_allclose(exact, numeric, rtol=1e-6, atol=1e-6 * scale, err_msg=f"{name} at {x}")


@pytest.mark.parametrize("name", [n for n in SMOOTH if SMOOTH[n]().dim == 2])
def test_loss_grid_agrees_with_loss_pointwise(name):
    problem = SMOOTH[name]()
    X, Y = np.meshgrid(np.linspace(-1.3, 2.1, 7), np.linspace(-0.7, 1.9, 5))
    Z = problem.loss_grid(X, Y)
    expected = np.array([[problem.loss(np.array([x, y])) for x, y in zip(rx, ry)] for rx, ry in zip(X, Y)])
    np.testing.assert_allclose(Z, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", ["quadratic", "quadratic tilted", "quadratic_nd", "rosenbrock",
                                  "rosenbrock a=2 b=50", "beale", "himmelblau"])
def test_known_minimizers_have_zero_gradient_and_zero_loss(name):
    problem = SMOOTH[name]()
    assert problem.minimizers, "a problem with a minimum lists it"
    for x_star in problem.minimizers:
        assert np.linalg.norm(problem.grad(x_star)) < 1e-9
        assert abs(problem.loss(x_star)) < 1e-20
    np.testing.assert_array_equal(problem.minimizer, problem.minimizers[0])


def test_rosenbrock_minimizer_is_a_a_squared():
    np.testing.assert_array_equal(problems.rosenbrock(a=2.0, b=50.0).minimizer, [2.0, 4.0])


def test_himmelblau_has_four_distinct_minima():
    minima = np.array(problems.himmelblau().minimizers)
    assert len(minima) == 4
    assert min(np.linalg.norm(a - b) for i, a in enumerate(minima) for b in minima[i + 1:]) > 1.0


def test_saddle_origin_is_stationary_but_not_a_minimum():
    p = problems.saddle()
    assert p.minimizer is None
    np.testing.assert_array_equal(p.grad(np.zeros(2)), [0.0, 0.0])
    assert p.loss(np.array([0.0, 0.1])) < p.loss(np.zeros(2)) < p.loss(np.array([0.1, 0.0]))


def hessian_by_differences(problem, x, h=1e-5):
    return np.column_stack([
        (problem.grad(x + h * e) - problem.grad(x - h * e)) / (2 * h) for e in np.eye(problem.dim)
    ])


@pytest.mark.parametrize("eigenvalues,angle", [((1.0, 10.0), 0.0), ((0.3, 4.0), 0.9), ((5.0, 2.0), -2.0)])
def test_quadratic_eigenvalues_and_axes_are_recovered_from_its_hessian(eigenvalues, angle):
    p = problems.quadratic(eigenvalues, angle=angle)
    H = hessian_by_differences(p, np.array([0.3, -1.7]))
    np.testing.assert_allclose(np.linalg.eigvalsh(0.5 * (H + H.T)), sorted(eigenvalues), rtol=1e-8)
    first_axis = np.array([math.cos(angle), math.sin(angle)])  # R_θ e₁ carries λ₁
    np.testing.assert_allclose(H @ first_axis, eigenvalues[0] * first_axis, atol=1e-7)
    np.testing.assert_allclose(p.hessian, H, atol=1e-7)
    np.testing.assert_array_equal(p.eigenvalues, eigenvalues)


def test_quadratic_nd_has_the_requested_spectrum_and_is_seeded():
    lam = [0.01, 0.5, 2.0, 9.0]
    p = problems.quadratic_nd(lam, seed=7)
    H = hessian_by_differences(p, np.ones(4))
    np.testing.assert_allclose(np.linalg.eigvalsh(0.5 * (H + H.T)), lam, rtol=1e-7, atol=1e-9)
    np.testing.assert_array_equal(p.hessian, problems.quadratic_nd(lam, seed=7).hessian)
    assert not np.allclose(p.hessian, problems.quadratic_nd(lam, seed=8).hessian)
    # x0 = Q·1 has one unit of error along every eigenvector
    _, vectors = np.linalg.eigh(p.hessian)
    np.testing.assert_allclose(np.abs(vectors.T @ p.x0), np.ones(4), atol=1e-10)


def test_every_2d_dropdown_problem_is_2d_with_its_start_inside_the_window():
    assert len(problems.PROBLEMS_2D) >= 5
    for name, build in problems.PROBLEMS_2D.items():
        p = build()
        assert isinstance(p, problems.Problem)
        assert p.dim == 2 and p.bounds is not None, name
        (x0, x1), (y0, y1) = p.bounds
        assert x0 < p.x0[0] < x1 and y0 < p.x0[1] < y1, name
        assert np.isfinite(p.loss(p.x0)) and np.linalg.norm(p.grad(p.x0)) > 0, name


def test_wrong_shape_is_reported_with_the_expected_shape():
    with pytest.raises(ValueError, match=r"shape \(3,\).*shape \(2,\)"):
        problems.rosenbrock().grad(np.zeros(3))


def test_problems_with_the_same_construction_are_equal_and_hash_alike():
    assert problems.quadratic((1.0, 10.0), 0.5) == problems.quadratic((1.0, 10.0), 0.5)
    assert hash(problems.beale()) == hash(problems.beale())
    assert problems.quadratic((1.0, 10.0)) != problems.quadratic((1.0, 20.0))


# -- noisy ----------------------------------------------------------------------------------------
def test_noisy_gradient_is_reproducible_and_stateless():
    p = problems.noisy(problems.rosenbrock(), sigma=0.5, seed=4)
    x = np.array([0.2, -0.3])
    first = [p.grad(x, t) for t in range(5)]
    again = [p.grad(x, t) for t in reversed(range(5))][::-1]  # another call order
    np.testing.assert_array_equal(first, again)
    np.testing.assert_array_equal(first, [problems.noisy(problems.rosenbrock(), 0.5, seed=4).grad(x, t) for t in range(5)])
    assert not np.allclose(first[0], first[1])
    assert not np.allclose(first[0], problems.noisy(problems.rosenbrock(), 0.5, seed=5).grad(x, 0))


def test_noisy_noise_has_the_requested_sigma_and_zero_mean():
    base = problems.quadratic((1.0, 10.0))
    sigma = 0.3
    p = problems.noisy(base, sigma=sigma, seed=1)
    x = np.array([1.0, -2.0])
    noise = np.array([p.grad(x, t) - base.grad(x) for t in range(20000)])
    assert noise.std(axis=0) == pytest.approx([sigma, sigma], rel=0.03)
    assert np.abs(noise.mean(axis=0)).max() < 4 * sigma / math.sqrt(20000)
    assert abs(np.corrcoef(noise.T)[0, 1]) < 0.03


def test_noisy_loss_is_the_noise_free_loss():
    base = problems.himmelblau()
    p = problems.noisy(base, sigma=2.0)
    x = np.array([1.0, 1.0])
    assert p.loss(x, 3) == base.loss(x)
    np.testing.assert_array_equal(p.minimizer, base.minimizer)
    np.testing.assert_array_equal(problems.noisy(base, sigma=0.0).grad(x, 9), base.grad(x))


# -- Reddi et al. ---------------------------------------------------------------------------------
def test_reddi_online_gradients_cycle_and_project_clips():
    p = problems.reddi_online(C=3.0)
    x = np.array([0.4])
    for t in range(9):
        numeric = central_difference(lambda z: p.loss(z, t), x)
        np.testing.assert_allclose(p.grad(x, t), numeric, rtol=1e-8)
        assert p.grad(x, t)[0] == (3.0 if t % 3 == 0 else -1.0)
    np.testing.assert_array_equal(p.project(np.array([1.7])), [1.0])
    np.testing.assert_array_equal(p.project(np.array([-4.0])), [-1.0])
    # over one cycle the total loss C·x − x − x is smallest at x = −1
    total = [sum(p.loss(np.array([x]), t) for t in range(3)) for x in (-1.0, 0.0, 1.0)]
    assert total[0] < total[1] < total[2]


@pytest.mark.parametrize("C", [3.0, 5.0])
def test_adam_with_the_papers_betas_drifts_to_plus_one_and_amsgrad_to_minus_one(C):
    p = problems.reddi_online(C=C)
    beta2 = 1.0 / (1.0 + C * C)
    schedule = lambda t: 0.5 / math.sqrt(t + 1)  # the paper's α/√t
    adam = run("adam", p, steps=3000, lr=schedule, beta1=0.0, beta2=beta2)
    ams = run("amsgrad", p, steps=3000, lr=schedule, beta1=0.0, beta2=beta2)
    assert adam.params[-300:].mean() > 0.95, "Adam should end near the worst point +1"
    assert ams.params[-300:].mean() < -0.95, "AMSGrad should end near the best point -1"
    assert np.all(np.abs(adam.params) <= 1.0) and np.all(np.abs(ams.params) <= 1.0)


# -- Wilson et al. --------------------------------------------------------------------------------
def test_wilson_features_follow_the_papers_construction():
    data = problems.wilson_dataset(n_train=9, n_test=6, seed=2)
    X, y = data.X_train, data.y_train
    assert X.shape == (9, 3 + 5 * 15) and data.X_test.shape == (6, 3 + 5 * 15)
    assert (y > 0).sum() == (y < 0).sum() + 1
    np.testing.assert_array_equal(X[:, 0], y)
    np.testing.assert_array_equal(X[:, 1:3], 1.0)
    rare = X[:, 3:]
    np.testing.assert_array_equal(rare.sum(axis=1), np.where(y > 0, 1, 5))
    assert np.all(np.concatenate([rare, data.X_test[:, 3:]]).sum(axis=0) <= 1), "a rare feature belongs to one example"
    s = np.sign(X.T @ y)  # the paper's condition X sign(Xᵀy) = c y, here with c = 4
    np.testing.assert_array_equal(X @ s, 4 * y)


def test_wilson_least_squares_gradient_matches_central_differences():
    problem = problems.wilson_dataset(n_train=6, n_test=2, seed=0).problem()
    w = np.random.default_rng(0).standard_normal(problem.dim)
    np.testing.assert_allclose(problem.grad(w), central_difference(problem.loss, w), rtol=1e-6, atol=1e-8)


def test_adaptive_methods_fit_wilson_data_but_predict_one_class_while_gd_generalises():
    data = problems.wilson_dataset(n_train=50, n_test=200, seed=0)
    problem = data.problem()
    X, y = data.X_train, data.y_train
    w_min_norm = np.linalg.pinv(X) @ y
    w_sign = np.sign(X.T @ y) / 4
    negatives = float(np.mean(data.y_test < 0))
    assert 0.35 < negatives < 0.65

    gd = run("sgd", problem, steps=2000, lr=0.05).final_params
    assert data.error(gd, "train") == 0.0
    assert data.error(gd, "test") <= 0.05
    np.testing.assert_allclose(gd, w_min_norm, atol=1e-6)

    for rule, lr in [("adam", 0.01), ("adagrad", 0.1), ("rmsprop", 0.001)]:
        w = run(rule, problem, steps=2000, lr=lr).final_params
        assert data.error(w, "train") == 0.0, rule
        assert data.error(w, "test") == pytest.approx(negatives), f"{rule} predicts +1 for every new example"
        cosine = w @ w_sign / (np.linalg.norm(w) * np.linalg.norm(w_sign))
        assert cosine > 0.999, f"{rule} converges along sign(Xᵀy)"


def test_wilson_experiment_also_runs_through_train_with_linear_regression():
    from optilab.models import LinearRegression
    from optilab.training import train

    data = problems.wilson_dataset(n_train=20, n_test=100, seed=1)
    model = LinearRegression(data.X_train.shape[1], bias=False)
    gd = train("sgd", model, data, epochs=500, batch_size=None, lr=0.05).params["w"]
    adam = train("adam", model, data, epochs=500, batch_size=None, lr=0.01).params["w"]
    assert data.error(gd, "train") == data.error(adam, "train") == 0.0
    assert data.error(gd, "test") <= 0.05
    assert data.error(adam, "test") == pytest.approx(np.mean(data.y_test < 0))
