"""Lesson 11 (Curvature) says what it computes: each claim of its prose is checked against the value the lesson
computed (the lesson runs once, in this process: tests/support/lesson_shell.py), and recomputed here independently
where that is cheap; and the measurements the lesson relies on (warm-started and preconditioned power iteration)
are checked against dense eigenvalues."""

from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest

from optilab import curvature, models, problems
from optilab.experiments import curvature as runs
from tests.support.figures import legend_overlaps, text_outside
from tests.support.lesson_shell import run_lesson
from tests.support.notebooks import ROOT


@pytest.fixture(scope="module")
def lesson():
    with contextlib.redirect_stdout(io.StringIO()):
        return run_lesson(ROOT / "lessons" / "11_curvature.ipynb")


@pytest.fixture(scope="module")
def ns(lesson):
    return lesson.namespace


def _dense_hessian(model, params, X, Y) -> np.ndarray:
    names = list(params)
    sizes = [params[k].size for k in names]
    columns = []
    for j in range(sum(sizes)):
        e = np.zeros(sum(sizes))
        e[j] = 1.0
        parts = np.split(e, np.cumsum(sizes)[:-1])
        Hv = curvature.hvp(model, params, X, Y, {k: p.reshape(params[k].shape) for k, p in zip(names, parts)})
        columns.append(np.concatenate([Hv[k].ravel() for k in names]))
    return np.array(columns).T


# -- section 1-2: Newton ------------------------------------------------------------------------------------

def test_one_newton_step_solves_the_quadratic(ns):
    assert ns["quadratic_error"] < 1e-10


def test_on_rosenbrock_newton_needs_fewest_iterations_but_its_loss_goes_up_on_the_way(ns):
    reached = ns["reached"]
    assert reached["Newton"] < reached["damped Newton"] < 100
    assert reached["gradient descent + line search"] is None  # "not within" the run
    assert ns["newton_bump"] > 10 * ns["valley"]["Newton"].losses[0]
    assert np.all(np.diff(ns["valley"]["damped Newton"].losses) <= 0)  # damped Newton descends


def test_pure_newton_stops_on_the_saddle_while_the_others_escape(ns):
    saddle = ns["saddle"]
    assert saddle["Newton"].grad_norms[-1] < 1e-9
    assert ns["saddle_eigs"].min() < 0 < ns["saddle_eigs"].max()
    assert saddle["damped Newton"].losses[-1] < -1 and saddle["gradient descent + line search"].losses[-1] < -1


def test_near_himmelblaus_maximum_newton_climbs_to_it_and_damped_newton_finds_a_minimum(ns):
    himmel = ns["himmel"]
    assert ns["himmel_uphill"] > 0
    assert np.all(ns["himmel_eigs"] < 0)
    assert problems.himmelblau().loss(himmel["Newton"].final) > 180  # the local maximum's value, ≈ 181.6
    assert himmel["damped Newton"].losses[-1] < 1e-12


def test_far_from_the_minimum_newton_cubes_the_radius_and_damped_newton_converges(ns):
    radii = ns["radii"]
    assert radii[0] > 1
    np.testing.assert_allclose(radii[1:4], radii[0:3] ** 3, rtol=0.05)  # "each ≈ the cube of the last"
    assert ns["soft"]["damped Newton"].losses[-1] < 1e-10


# -- section 3: L-BFGS -------------------------------------------------------------------------------------

def test_lbfgs_needs_a_few_dozen_iterations_newton_fewer_and_gradient_descent_more_than_the_run(ns):
    to_target = ns["to_target"]
    assert to_target["Newton (damped)"] < 15
    for name in ("L-BFGS (fixed step, as torch)", "L-BFGS + line search"):
        assert 15 <= to_target[name] <= 60, (name, to_target[name])
    assert to_target["gradient descent + line search"] is None


def test_the_lowest_loss_is_the_minimum_its_gradient_vanishes(ns):
    model, X, y = runs.logistic_setup()
    x = ns["logistic"]["Newton (damped)"].final
    w, b = x[:-1], x[-1]
    p = 1.0 / (1.0 + np.exp(-(X @ w + b)))  # the gradient written here
    grad = np.r_[X.T @ (p - y) / len(y) + runs.L2 * w, np.mean(p - y)]
    assert np.linalg.norm(grad) < 1e-8
    loss = np.mean(np.logaddexp(0.0, X @ w + b) - y * (X @ w + b)) + 0.5 * runs.L2 * w @ w
    assert ns["best"] == pytest.approx(loss, abs=1e-12)


# -- section 4: sharpness ----------------------------------------------------------------------------------

def test_gd_sharpens_from_below_to_its_own_2_over_eta_and_stays_within_a_few_percent(ns):
    assert set(ns["eos"]) == set(runs.GD_LRS) and len(runs.GD_LRS) >= 2
    for lr, (start, ratio) in ns["eos"].items():
        assert start < 0.7 * 2 / lr, lr
        assert abs(ratio - 1) < 0.1, (lr, ratio)


@pytest.mark.parametrize("lr", runs.GD_LRS)
def test_the_warm_started_sharpness_is_the_one_a_cold_power_iteration_finds(ns, lr):
    run = ns["gd"][lr]
    model, X, Y = runs.eos_setup()
    cold = curvature.sharpness(model, run.params, X, Y, iterations=2000, tol=1e-12, seed=3)
    assert run.sharpness[-1] == pytest.approx(cold, rel=0.03)


def test_preconditioned_power_iteration_finds_the_top_eigenvalue_of_p_inverse_h():
    model = models.MLP((2, 4, 2), activation="tanh", task="regression")
    rng = np.random.default_rng(2)
    X, Y = rng.normal(size=(12, 2)), rng.normal(size=(12, 2))
    params = model.init(1)
    P = {k: rng.uniform(0.01, 1.0, size=a.shape) for k, a in params.items()}
    scale = {k: 1.0 / np.sqrt(P[k]) for k in P}
    start = {k: rng.normal(size=a.shape) for k, a in params.items()}
    value, _ = curvature.power_iteration(model, params, X, Y, start, iterations=3000, scale=scale)
    p = np.concatenate([P[k].ravel() for k in params])
    eigenvalues = np.linalg.eigvals(np.diag(1.0 / p) @ _dense_hessian(model, params, X, Y)).real
    assert value == pytest.approx(eigenvalues[np.argmax(np.abs(eigenvalues))], rel=1e-6)


def test_adams_preconditioned_sharpness_rises_from_far_below_to_38_over_eta(ns):
    assert runs.adam_threshold(0.02) == pytest.approx(38 / 0.02)
    for lr in runs.ADAM_LRS:
        assert ns["adam_starts"][lr] < 0.5
        assert 0.95 < ns["adam_peaks"][lr] < 1.3, (lr, ns["adam_peaks"][lr])


# -- sections 5-6: SAM, flat and sharp --------------------------------------------------------------------

def test_sam_ends_far_flatter_than_gd_which_sits_at_the_edge(ns):
    assert ns["gd_final"] == pytest.approx(2 / 0.1, rel=0.1)
    assert ns["sam_final"] < 0.5 * ns["gd_final"]
    assert ns["sam"].rule == "sam" and ns["sam"].lr == ns["gd"][0.1].lr


def test_gd_and_sam_differ_little_on_fresh_data(ns):
    assert abs(ns["gd_test"][1] - ns["sam_test"][1]) < 0.02
    assert abs(ns["gd_test"][0] - ns["sam_test"][0]) < 0.01


def test_rescaling_relu_layers_keeps_the_function_and_loss_but_changes_the_sharpness(ns):
    rescaled = ns["rescaled"]
    losses = [loss for loss, _ in rescaled.values()]
    np.testing.assert_allclose(losses, losses[0], rtol=1e-12)
    base = rescaled[1.0][1]
    assert rescaled[10.0][1] > 10 * base and rescaled[0.1][1] > 10 * base
    # the same function: a ReLU layer times α, the next divided by α
    model = models.MLP((2, 3, 1), activation="relu", task="regression")
    params = model.init(4)
    X = np.random.default_rng(0).normal(size=(20, 2))
    scaled = {"W1": 7 * params["W1"], "b1": 7 * params["b1"], "W2": params["W2"] / 7, "b2": params["b2"]}
    np.testing.assert_allclose(model.output(scaled, X), model.output(params, X), rtol=1e-12)


# -- figures -----------------------------------------------------------------------------------------------

def test_every_figure_has_titles_labels_no_legend_over_data_and_fits_the_column(lesson):
    assert len(lesson.figures) >= 6
    for cell, fig in lesson.figures:
        assert fig.get_size_inches()[0] * fig.dpi <= 840, cell
        assert legend_overlaps(fig) == [], cell
        assert text_outside(fig) == [], cell
        for ax in fig.axes:
            if ax.has_data():
                assert ax.get_xlabel() and ax.get_ylabel(), cell
                assert ax.get_title() or any(t.get_text() for t in ax.texts) or fig.get_suptitle(), cell
