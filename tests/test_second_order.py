"""optilab.second_order: Newton's direction and method, Armijo's backtracking, gradient descent with it, and
L-BFGS — the last against torch.optim.LBFGS, as tests/test_practice_torch.py does: against values torch computed
(committed in ``torch_reference/lbfgs_reference.npz`` with ``torch_reference/make_lbfgs_reference.py``), and
against the live torch where it is installed (CI installs ``torch==2.13.0`` and requires it).

Tolerance: the final parameters agree to 1e-9 of their largest entry (float64; measured differences are 1e-14).
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from optilab import problems, second_order
from tests.torch_reference import lbfgs_torch as L
from tests.torch_reference import make_lbfgs_reference as M

RTOL = 1e-9


def _close(ours: np.ndarray, theirs: np.ndarray, what: str) -> None:
    worst = float(np.max(np.abs(ours - theirs)) / np.max(np.abs(theirs)))
    assert worst <= RTOL, f"{what}: relative difference {worst:.3g} > {RTOL}"


def _rosenbrock_hessian(x: float, y: float, b: float = 100.0) -> np.ndarray:
    """Written out: f = (1 − x)² + b (y − x²)²."""
    return np.array([[2.0 - 4.0 * b * y + 12.0 * b * x * x, -4.0 * b * x], [-4.0 * b * x, 2.0 * b]])


# -- Newton ------------------------------------------------------------------------------------------------

def test_newton_direction_solves_the_quadratic_models_stationarity_and_damping_shifts_it():
    rng = np.random.default_rng(0)
    A = rng.normal(size=(4, 4))
    H, g = A @ A.T + np.eye(4), rng.normal(size=4)
    np.testing.assert_allclose(H @ second_order.newton_direction(g, H) + g, 0.0, atol=1e-12)
    damped = second_order.newton_direction(g, H, damping=3.0)
    np.testing.assert_allclose((H + 3.0 * np.eye(4)) @ damped + g, 0.0, atol=1e-12)
    assert np.linalg.norm(damped) < np.linalg.norm(second_order.newton_direction(g, H))


def test_bad_shapes_and_negative_damping_are_refused():
    with pytest.raises(ValueError, match=r"shape \(2, 3\).*\(2, 2\)"):
        second_order.newton_direction(np.ones(2), np.ones((2, 3)))
    with pytest.raises(ValueError, match="damping"):
        second_order.newton_direction(np.ones(2), np.eye(2), damping=-1.0)


def test_one_newton_step_lands_on_a_quadratics_minimum_whatever_its_conditioning():
    p = problems.quadratic((1.0, 1e4), angle=0.3)
    run = second_order.newton(second_order.problem_objective(p), p.x0, steps=1,
                              hessian_fn=lambda x: second_order.hessian(p, x))
    expected = p.x0 - np.linalg.solve(p.hessian, p.grad(p.x0))  # the stationary point, solved here
    np.testing.assert_allclose(run.final, expected, atol=1e-12)
    np.testing.assert_allclose(run.final, p.minimizer, atol=1e-10)


@pytest.mark.parametrize("point", [(-1.2, 1.0), (0.3, -0.4), (1.0, 1.0)])
def test_hessian_by_differences_of_the_gradient_matches_rosenbrocks_written_out(point):
    H = second_order.hessian(problems.rosenbrock(), np.array(point))
    np.testing.assert_allclose(H, _rosenbrock_hessian(*point), rtol=1e-7, atol=1e-6)


def test_pure_newton_converges_quadratically_near_rosenbrocks_minimum():
    p = problems.rosenbrock()
    run = second_order.newton(second_order.problem_objective(p), np.array([1.1, 1.2]), steps=8,
                              hessian_fn=lambda x: second_order.hessian(p, x))
    errors = np.linalg.norm(run.params - p.minimizer, axis=1)
    assert errors[-1] < 1e-12
    errors = errors[(errors > 1e-12) & (errors < 0.05)]  # near the minimum, before rounding
    assert len(errors) >= 3
    ratios = errors[1:] / errors[:-1] ** 2  # e_{k+1} ≤ C e_k²: bounded ratios (linear convergence would explode them)
    assert np.all(ratios < 1e3), ratios


def test_pure_newton_stops_on_the_saddle_and_damped_newton_escapes_downhill():
    p = problems.saddle()
    hess = lambda x: second_order.hessian(p, x)  # noqa: E731
    pure = second_order.newton(second_order.problem_objective(p), p.x0, steps=5, hessian_fn=hess)
    np.testing.assert_allclose(pure.final, [0.0, 0.0], atol=1e-9)  # the stationary point is the saddle
    damped = second_order.newton(second_order.problem_objective(p), p.x0, steps=5, hessian_fn=hess, damped=True)
    assert np.all(np.diff(damped.losses) < 0) and damped.losses[-1] < -1.0
    assert any("shifted" in note for note in damped.notes)


def test_near_a_maximum_pure_newton_climbs_and_damped_newton_only_descends():
    p = problems.himmelblau()
    hess = lambda x: second_order.hessian(p, x)  # noqa: E731
    start = np.array([-0.6, -0.4])
    pure = second_order.newton(second_order.problem_objective(p), start, steps=10, hessian_fn=hess)
    assert pure.losses[1] > pure.losses[0]
    assert np.all(np.linalg.eigvalsh(hess(pure.final)) < 0) and pure.grad_norms[-1] < 1e-8
    damped = second_order.newton(second_order.problem_objective(p), start, steps=30, hessian_fn=hess, damped=True)
    assert np.all(np.diff(damped.losses) <= 0)
    assert damped.losses[-1] < 1e-12


# -- backtracking ------------------------------------------------------------------------------------------

def test_backtracking_returns_the_first_step_with_sufficient_decrease():
    p = problems.rosenbrock()
    f = second_order.problem_objective(p)
    x = p.x0
    loss, g = f(x)
    t, new_loss, new_grad, evaluations = second_order.backtracking(f, x, loss, g, -g, c=1e-4, shrink=0.5)
    assert 0 < t < 1 and evaluations == round(np.log2(1 / t)) + 1
    assert new_loss == pytest.approx(p.loss(x - t * g)) and new_loss <= loss - 1e-4 * t * g @ g
    np.testing.assert_allclose(new_grad, p.grad(x - t * g))
    assert p.loss(x - 2 * t * g) > loss - 1e-4 * 2 * t * g @ g  # the step before it failed


def test_backtracking_refuses_an_uphill_direction():
    p = problems.rosenbrock()
    loss, g = second_order.problem_objective(p)(p.x0)
    with pytest.raises(ValueError, match="descent direction"):
        second_order.backtracking(second_order.problem_objective(p), p.x0, loss, g, g)


def test_gradient_descent_with_a_line_search_never_raises_the_loss():
    p = problems.rosenbrock()
    run = second_order.gradient_descent(second_order.problem_objective(p), p.x0, steps=200)
    assert np.all(np.diff(run.losses) <= 0) and run.losses[-1] < 0.5 * run.losses[0]
    fixed = second_order.gradient_descent(second_order.problem_objective(p), p.x0, steps=5, lr=1e-3)
    np.testing.assert_array_equal(fixed.steps, 1e-3)


# -- L-BFGS ------------------------------------------------------------------------------------------------

def test_lbfgs_solves_a_quadratic_and_its_line_search_never_raises_the_loss():
    p = problems.quadratic_nd(np.geomspace(1, 100, 8), seed=1)
    run = second_order.lbfgs(second_order.problem_objective(p), p.x0, iterations=100, line_search="armijo",
                             tolerance_grad=1e-12, tolerance_change=0.0, max_evaluations=10_000)
    np.testing.assert_allclose(run.final, p.minimizer, atol=1e-8)
    assert np.all(np.diff(run.losses) <= 1e-15)


def test_lbfgs_refuses_an_unknown_line_search_and_an_empty_history():
    f = second_order.problem_objective(problems.rosenbrock())
    with pytest.raises(ValueError, match="armijo"):
        second_order.lbfgs(f, np.zeros(2), iterations=3, line_search="wolfe")
    with pytest.raises(ValueError, match="history"):
        second_order.lbfgs(f, np.zeros(2), iterations=3, history=0)


def test_flatten_and_unflatten_are_inverse_and_a_wrong_length_is_refused():
    like = {"W": np.zeros((2, 3)), "b": np.zeros(3)}
    x = np.arange(9.0)
    np.testing.assert_array_equal(second_order.flatten(second_order.unflatten(x, like)), x)
    with pytest.raises(ValueError, match="10 entries but the parameters have 9"):
        second_order.unflatten(np.zeros(10), like)


# -- L-BFGS against torch.optim.LBFGS ----------------------------------------------------------------------

def _committed() -> dict[str, np.ndarray]:
    with np.load(M.PATH) as stored:
        return {k: stored[k] for k in stored.files}


COMMITTED = _committed()


def test_the_committed_reference_has_every_case_and_was_made_by_torch_2_13():
    index = json.loads(str(COMMITTED["index"]))
    assert index["torch"].startswith("2.13.0") and index["cases"] == sorted(L.CASES)


@pytest.mark.parametrize("key", sorted(L.CASES))
def test_lbfgs_matches_committed_torch(key):
    iterations, history, lr = L.CASES[key]
    X, y = L.breast_cancer()
    _close(L.ours(X, y, l2=L.L2, iterations=iterations, history=history, lr=lr), COMMITTED[key], key)


def test_a_different_history_changes_the_result_so_the_comparison_can_fail():
    X, y = L.breast_cancer()
    other = L.ours(X, y, l2=L.L2, iterations=20, history=3, lr=1.0)
    worst = float(np.max(np.abs(other - COMMITTED["it20"])) / np.max(np.abs(COMMITTED["it20"])))
    assert worst > 100 * RTOL


@pytest.mark.parametrize("seed", range(3))
def test_lbfgs_matches_live_torch_on_fresh_problems(seed, torch):
    rng = np.random.default_rng([seed, 17])
    X, y = L.random_case(rng)
    for iterations, history, lr in ((4, 10, 1.0), (30, 4, 1.0), (25, 10, 0.7)):
        ours = L.ours(X, y, l2=0.01, iterations=iterations, history=history, lr=lr)
        theirs = L.theirs(torch, X, y, l2=0.01, iterations=iterations, history=history, lr=lr)
        _close(ours, theirs, f"seed {seed}, {iterations} iterations, history {history}, lr {lr}")


def test_committed_reference_is_what_the_script_makes(torch):
    made = M.make(torch)
    for key in L.CASES:
        np.testing.assert_allclose(made[key], COMMITTED[key], rtol=0, atol=1e-12 * np.max(np.abs(made[key])))


def test_newton_stops_with_a_note_where_the_hessian_is_singular():
    p = problems.quadratic((1.0, 2.0))
    run = second_order.newton(second_order.problem_objective(p), p.x0, steps=3, hessian_fn=lambda x: np.zeros((2, 2)))
    assert len(run.params) == 1 and "singular" in run.notes[0]
