"""Lessons 04-07 say what they compute: each claim is checked against the value the lesson computed,
recomputed here independently where that is cheap; their figures' legends cover no data; their
explorers show no cut text, no empty panels with a legend, no invisible lines; AdaGrad keeps its colour.

Each lesson runs once, in this process (tests/support/lesson_shell.py), so that the tests can
read its namespace, the Markdown it displayed, its figures and its explorers.
"""

from __future__ import annotations

import contextlib
import io
import re

import numpy as np
import pytest

from optilab import data, kernels, rules
from tests.support.figures import legend_overlaps, text_outside, unseen_lines
from tests.support.lesson_shell import run_lesson
from tests.support.notebooks import ROOT

LESSONS = ("04_adagrad", "05_rmsprop", "06_adam", "07_beyond_adam")
_runs: dict[str, object] = {}


def lesson(name: str):
    if name not in _runs:
        with contextlib.redirect_stdout(io.StringIO()):  # the shell echoes results; the tests read them
            _runs[name] = run_lesson(ROOT / "lessons" / f"{name}.ipynb")
    return _runs[name]


def _kappa(matrix: np.ndarray) -> float:
    eigenvalues = np.linalg.eigvalsh(matrix)
    return float(eigenvalues.max() / eigenvalues.min())


# -- lesson 04: AdaGrad as a diagonal preconditioner ---------------------------------------------------
@pytest.fixture(scope="module")
def gram():
    """The Gram matrix of the centred, unscaled training features, and their spreads, computed here."""
    X, y = data.load_breast_cancer()
    split = data.train_test_split(X, y, seed=0)
    Xc = split.X_train - split.X_train.mean(axis=0)
    H = Xc.T @ Xc / len(Xc)
    return H, np.sqrt(np.diag(H)), np.corrcoef(Xc.T)


def test_standardising_is_a_per_axis_rescaling_with_the_correlation_matrixs_condition_number(gram):
    H, sigma, correlation = gram
    run = lesson("04_adagrad")
    kappa = run.namespace["kappa"]
    assert kappa["divided by σ²"] == pytest.approx(_kappa(correlation), rel=1e-6)
    assert kappa["raw"] == pytest.approx(_kappa(H), rel=1e-6)
    assert f"{kappa['divided by σ²']:.1e}" in run.text("conditioning")
    assert 5e4 < kappa["divided by σ²"] < 5e5 and kappa["raw"] > 1e11  # the 1.0e5 and 1.1e12


def test_adagrads_scaling_evens_out_gradients_not_curvatures(gram):
    H, sigma, correlation = gram
    run = lesson("04_adagrad")
    kappa = run.namespace["kappa"]
    by_sigma = _kappa(H / np.sqrt(np.outer(sigma, sigma)))  # D = diag(σ): D^-1/2 H D^-1/2
    assert kappa["divided by σ"] == pytest.approx(by_sigma, rel=1e-6)
    assert kappa["raw"] > 1e4 * by_sigma and by_sigma > 10 * kappa["divided by σ²"]
    ratio = kappa["divided by σ"] / kappa["divided by σ²"]
    assert f"{ratio:.0f} times that of standardised features" in run.text("conditioning")
    # AdaGrad's own accumulator after the run is a preconditioner of the same kind: between the two
    measured = kappa["divided by AdaGrad's √s"]
    assert kappa["divided by σ²"] < measured < kappa["raw"] / 1e4
    assert f"{measured:.1e}" in run.text("conditioning")


def _adagrad_steps_to(H: np.ndarray, x0: np.ndarray, lr: float, tol: float, steps: int) -> int | None:
    x, s = x0.copy(), np.zeros_like(x0)
    for t in range(steps + 1):
        if 0.5 * x @ H @ x <= tol:
            return t
        g = H @ x
        s += g * g
        x = x - lr * g / (np.sqrt(s) + 1e-10)
    return None


def test_a_tilted_ravine_takes_away_adagrads_advantage():
    run = lesson("04_adagrad")
    aligned, tilted = run.namespace["aligned"], run.namespace["tilted"]
    assert aligned["angle"] == 0 and tilted["angle"] == 45
    assert aligned["kappa_diagonal"] == pytest.approx(1.0)
    assert tilted["kappa_diagonal"] == pytest.approx(tilted["kappa"])  # diag(H) is a multiple of I at 45°
    assert aligned["adagrad_steps"] * 10 < aligned["gd_steps"] < tilted["adagrad_steps"]
    assert "its advantage is gone" in run.text("ravine")
    # recomputed without the library: a 45° ravine with curvatures 1 and 100, AdaGrad at the lesson's best α
    c = np.sqrt(0.5)
    R = np.array([[c, -c], [c, c]])
    H = R @ np.diag([1.0, 100.0]) @ R.T
    x0 = R @ np.array([-4.0, 1.0])
    assert _adagrad_steps_to(H, x0, tilted["adagrad_lr"], 1e-6, 2000) == tilted["adagrad_steps"]


def test_lesson_04_no_longer_says_adagrad_ignores_a_features_scale():
    prose = lesson("04_adagrad").prose()
    assert "does not care about a feature's scale" not in prose
    assert "same for every $c$" not in prose and "path is the same for every" not in prose
    assert "diagonal preconditioner" in prose


def test_the_explorer_rescales_a_feature_of_the_data_and_adagrad_sees_it_as_alpha_times_c():
    from optilab.experiments import adaptive

    base, scaled = adaptive.rescaled_regression(1.0), adaptive.rescaled_regression(10.0)
    np.testing.assert_allclose(scaled.extras["X"], base.extras["X"] * np.array([1.0, 10.0]))
    np.testing.assert_allclose(scaled.extras["y"], base.extras["y"])
    # AdaGrad on the rescaled data, and on the original data with α × c on weight 2, computed here
    X, y = scaled.extras["X"], scaled.extras["y"]
    X1 = base.extras["X"]
    p, q, sp, sq = np.zeros(2), np.zeros(2), np.zeros(2), np.zeros(2)
    for _ in range(50):
        gp, gq = X.T @ (X @ p - y) / len(y), X1.T @ (X1 @ q - y) / len(y)
        sp, sq = sp + gp * gp, sq + gq * gq
        p = p - 0.5 * gp / np.sqrt(sp)
        q = q - 0.5 * np.array([1.0, 10.0]) * gq / np.sqrt(sq)
    np.testing.assert_allclose(p * np.array([1.0, 10.0]), q, rtol=1e-9, atol=1e-12)
    run = lesson("04_adagrad")
    assert run.namespace["gap"] < 1e-12
    explorer = dict(run.explorers)["scaling-explorer"]
    paths = {}
    for c in (0.1, 1.0):
        explorer.set(scale=c)
        line = next(l for l in explorer.figure.axes[0].get_lines() if l.get_label().startswith("AdaGrad"))
        paths[c] = line.get_xydata().copy()
    assert not np.allclose(paths[0.1], paths[1.0])  # AdaGrad's path does change with the feature's scale
    steps = run.namespace["steps"]
    assert steps[0.1]["adagrad"] is None and steps[1.0]["adagrad"] is not None  # shrinking a feature: it crawls


def _figures(name: str):
    """Every figure of the lesson, and every explorer's figure at every value of every control."""
    run = lesson(name)
    for cell, figure in run.figures:
        yield f"{cell}", figure, False
    for cell, explorer in run.explorers:
        start = explorer.values()
        for control_name, control in explorer.controls.items():
            options = ([o[1] if isinstance(o, tuple) else o for o in control.options] if hasattr(control, "options")
                       else [False, True])
            for value in options:
                explorer.set(**{control_name: value})
                yield f"{cell} ({control_name} = {value})", explorer.figure, True
        explorer.set(**start)


def test_adagrad_and_sgd_keep_their_colours_in_every_figure_of_lesson_04():
    wanted = {"AdaGrad": rules.get("adagrad").color, "SGD": rules.get("sgd").color,
              "gradient descent": rules.get("sgd").color}
    checked = 0
    for where, figure, _ in _figures("04_adagrad"):
        for ax in figure.axes:
            for line in ax.get_lines():
                for word, color in wanted.items():
                    if str(line.get_label()).startswith(word):
                        assert line.get_color().lower() == color.lower(), f"{where}: {line.get_label()!r}"
                        checked += 1
    assert checked >= 10


@pytest.mark.parametrize("name", LESSONS)
def test_no_legend_covers_data(name):
    problems = [f"{where}: {o}" for where, figure, _ in _figures(name) for o in legend_overlaps(figure)]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("name", LESSONS)
def test_explorers_show_no_cut_text_empty_panels_or_invisible_lines(name):
    problems = [f"{where}: {g}" for where, figure, explorer in _figures(name) if explorer
                for g in text_outside(figure) + unseen_lines(figure)]
    assert not problems, "\n".join(problems)


# -- lesson 06: how far one Adam step can go ---------------------------------------------------------------
def _bound(t: int, b1: float = 0.9, b2: float = 0.999) -> float:
    series = sum((b1 * b1 / b2) ** j for j in range(t))
    return (1 - b1) / np.sqrt(1 - b2) * np.sqrt(1 - b2**t) / (1 - b1**t) * np.sqrt(series)


def _adam_steps(grads, b1=0.9, b2=0.999):
    m = v = 0.0
    out = []
    for t, g in enumerate(grads, start=1):
        m, v = b1 * m + (1 - b1) * g, b2 * v + (1 - b2) * g * g
        out.append(abs(m / (1 - b1**t)) / np.sqrt(v / (1 - b2**t)) if v > 0 else 0.0)
    return np.array(out)


def test_adams_step_is_not_bounded_by_alpha_and_the_lesson_computes_the_right_bound():
    run = lesson("06_adam")
    ns = run.namespace
    assert "moves by about $\\alpha$ at most" not in run.prose()
    np.testing.assert_allclose(ns["exact"], [_bound(t) for t in ns["ts"]], rtol=1e-12)
    np.testing.assert_allclose(ns["growing"], ns["exact"], rtol=1e-9)  # the bound is reached
    assert ns["growing"][-1] > 1.5 * ns["kingma_ba"] > 1.5 * 3.1  # past Kingma & Ba's 3.16α
    assert ns["kingma_ba"] == pytest.approx(0.1 / np.sqrt(0.001))
    # one gradient after 1000 zeros: the measured 2.5α, from the closed form
    expected = 0.1 / np.sqrt(0.001) * np.sqrt(1 - 0.999**1001) / (1 - 0.9**1001)
    assert ns["after_zeros"][0] == pytest.approx(expected, rel=1e-9) and 2.4 < expected < 2.6
    assert f"{ns['after_zeros'][0]:.2f} α after 1000 zeros" in run.text("step-bound")
    limit = 0.1 / np.sqrt(0.001 * (1 - 0.81 / 0.999))
    assert f"**{limit:.2f} α**" in run.text("step-bound")


def test_no_gradient_sequence_steps_past_the_bound():
    rng = np.random.default_rng(1)
    from optilab.experiments import adam

    for _ in range(300):
        t = int(rng.integers(1, 80))
        grads = rng.standard_normal(t) * np.exp(2 * rng.standard_normal(t))
        p, state, steps = np.zeros(1), {}, []
        for g in grads:  # the library's rule, ε = 0
            new, state = kernels.adam(p, np.array([g]), state, lr=1.0, eps=0.0)
            steps.append(abs(float(new[0] - p[0])))
            p = new
        np.testing.assert_allclose(steps, _adam_steps(grads), rtol=1e-9)  # and the formula, written here
        assert np.all(steps <= [adam.step_bound(k) * (1 + 1e-9) for k in range(1, t + 1)])


def test_amsgrad_papers_form_differs_from_pytorchs_where_bias_correction_counts():
    run = lesson("06_adam")
    forms, grads = run.namespace["forms"], run.namespace["grads"]
    m = v = v_max = 0.0
    paper = []
    for g in grads:  # Reddi, Kale & Kumar (2018), Algorithm 2: no bias correction, no ε
        m, v = 0.9 * m + 0.1 * g, 0.999 * v + 0.001 * g * g
        v_max = max(v_max, v)
        paper.append(abs(m) / np.sqrt(v_max))
    np.testing.assert_allclose(forms["paper"], paper, rtol=1e-9)
    p, state, pytorch = np.zeros(1), {}, []
    for g in grads:
        new, state = kernels.amsgrad(p, np.array([g]), state, lr=1.0, eps=0.0)
        pytorch.append(abs(float(new[0] - p[0])))
        p = new
    np.testing.assert_allclose(forms["pytorch"], pytorch, rtol=1e-9)
    assert forms["paper"][0] == pytest.approx(0.1 / np.sqrt(0.001)) and forms["pytorch"][0] == pytest.approx(1.0)
    assert forms["paper"][99] > 3 * forms["pytorch"][99]
    assert "no bias correction at all" in run.prose()
    x_paper, x_torch = run.namespace["paper_run"].params[-1, 0], run.namespace["runs"]["amsgrad"].params[-1, 0]
    assert x_paper == pytest.approx(-1.0, abs=0.05) and x_torch == pytest.approx(-1.0, abs=0.05)


# -- lesson 07: AdamW as the paper writes it -----------------------------------------------------------
def test_adamw_papers_decay_is_scaled_by_the_schedule_not_the_learning_rate():
    run = lesson("07_beyond_adam")
    ns = run.namespace
    lrs, lam, steps = ns["wd_lrs"], ns["wd"], ns["wd_steps"]
    np.testing.assert_allclose(ns["kept"]["paper"], [(1 - lam) ** steps] * len(lrs), rtol=1e-9)
    np.testing.assert_allclose(ns["kept"]["pytorch"], [(1 - lr * lam) ** steps for lr in lrs], rtol=1e-9)
    assert ns["wd_gap"] < 1e-12
    assert "not by the learning rate" in run.prose()
    for lr, a, b in zip(lrs, ns["kept"]["paper"], ns["kept"]["pytorch"]):
        assert f"| {lr:g} | {a:.2e} | {b:.3f} |" in run.text("adamw-forms")


# -- self-checks: numbers are computed, not typed -----------------------------------------------------------
@pytest.mark.parametrize("name", LESSONS)
def test_self_check_answers_type_no_measured_numbers(name):
    """An answer may use the question's numbers and small constants; a measured number it must take from
    a computed cell (decimals, and integers of 10 and more, outside formulas, lesson and section names)."""
    import nbformat

    notebook = nbformat.read(ROOT / "lessons" / f"{name}.ipynb", as_version=4)
    source = next(c.source for c in notebook.cells if c.id == "self-check")
    typed = []
    for question, answer in re.findall(r"(.*?)<details>(.*?)</details>", source, re.S):
        given = set(re.findall(r"\d+(?:\.\d+)?", question))
        prose = re.sub(r"\$[^$]*\$", " ", answer)
        prose = re.sub(r"(lesson|section|lab|float)\s*\d+", " ", prose, flags=re.I)
        for number in re.findall(r"\d+(?:\.\d+)?", prose):
            if number not in given and ("." in number or int(number) >= 10):
                typed.append(number)
    assert not typed, f"{name}: self-check answers type the numbers {typed}; compute them in the lesson"
    assert any(c.id == "self-check-numbers" for c in notebook.cells) or name in ("06_adam", "07_beyond_adam")


def test_the_features_lesson_04_calls_correlated_are(gram):
    H, sigma, correlation = gram
    names = list(data.BREAST_CANCER_FEATURES)
    i, j, k = (names.index(f"mean {part}") for part in ("radius", "perimeter", "area"))
    assert min(correlation[i, j], correlation[i, k], correlation[j, k]) > 0.95
    assert f"radius–perimeter {correlation[i, j]:.3f}" in lesson("04_adagrad").text("conditioning")
