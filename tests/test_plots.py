"""The course's figures: titled, labelled, with legends, in the Okabe–Ito palette."""

from __future__ import annotations

import math

import numpy as np
import pytest
from matplotlib.colors import to_hex
from matplotlib.figure import Figure

from optilab import plots, problems
from optilab.training import run, sweep_lr, train
from optilab.models import LogisticRegression

#: Okabe & Ito (2008), "Color Universal Design", typed in from the source.
OKABE_ITO = {"#000000", "#e69f00", "#56b4e9", "#009e73", "#f0e442", "#0072b2", "#d55e00", "#cc79a7"}
RULES = ["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw", "amsgrad"]


def data_lines(ax):
    """The lines that carry data (not the markers for start, minimum or divergence)."""
    return [line for line in ax.get_lines() if len(line.get_xdata()) > 1]


def assert_labelled(fig, legend=True):
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert ax.get_title(), "a figure has a title"
    assert ax.get_xlabel() and ax.get_ylabel(), "both axes are labelled"
    if legend:
        assert ax.get_legend() is not None and ax.get_legend().get_texts(), "lines are named in a legend"


@pytest.fixture(scope="module")
def traces():
    p = problems.rosenbrock()
    return {
        "sgd": run("sgd", p, steps=150, lr=1e-3),
        "momentum": run("momentum", p, steps=150, lr=5e-4),
        "adam": run("adam", p, steps=150, lr=0.05),
    }


def test_palette_is_okabe_ito_and_every_rule_has_its_own_colour():
    assert {c.lower() for c in plots.COLORS} == OKABE_ITO
    colours = [plots.color_of(rule) for rule in RULES]
    assert len(set(colours)) == len(RULES)
    assert {c.lower() for c in colours} <= OKABE_ITO


def test_color_of_finds_the_rule_in_labels_functions_and_traces(traces):
    def adamw(param, grad, state, *, lr=1e-3):  # a student's function named after the rule
        return param, state

    assert plots.color_of("Adam (lr = 0.1)") == plots.color_of("adam")
    assert plots.color_of(adamw) == plots.color_of("adamw") != plots.color_of("adam")
    assert plots.color_of(traces["momentum"]) == plots.color_of("momentum")
    assert plots.color_of("gd") == plots.color_of("sgd")
    assert plots.color_of("my own rule").lower() in OKABE_ITO
    assert plots.color_of("my own rule") == plots.color_of("my own rule")


def test_contour_has_title_labels_and_log_spaced_levels():
    p = problems.rosenbrock()
    fig = plots.contour(p)
    assert_labelled(fig)
    ax = fig.axes[0]
    levels = next(c.levels for c in ax.collections if hasattr(c, "levels"))
    ratios = levels[1:] / levels[:-1]
    np.testing.assert_allclose(ratios, ratios[0], rtol=1e-9)
    assert ratios[0] > 1.2
    assert ax.get_xlim() == p.bounds[0] and ax.get_ylim() == p.bounds[1]


def test_contour_of_a_loss_that_goes_negative_uses_even_levels():
    fig = plots.contour(problems.saddle())
    levels = next(c.levels for c in fig.axes[0].collections if hasattr(c, "levels"))
    assert levels.min() < 0
    np.testing.assert_allclose(np.diff(levels), np.diff(levels)[0])


def test_redrawing_the_contours_of_the_same_problem_evaluates_its_loss_surface_once(monkeypatch):
    """An explorer redraws its contours on every change: the surface is computed for the first draw only."""
    evaluated = []
    loss_grid = problems.Problem.loss_grid

    def counted(self, X, Y):
        evaluated.append(X.shape)
        return loss_grid(self, X, Y)

    monkeypatch.setattr(problems.Problem, "loss_grid", counted)
    first = plots.contour(problems.quadratic((1.0, 7.3), 0.3))
    again = plots.contour(problems.quadratic((1.0, 7.3), 0.3))  # a new object, the same problem
    assert len(evaluated) == 1
    levels = [next(c.levels for c in fig.axes[0].collections if hasattr(c, "levels")) for fig in (first, again)]
    np.testing.assert_array_equal(levels[0], levels[1])
    plots.contour(problems.quadratic((1.0, 7.4), 0.3))  # another problem: its own surface
    assert len(evaluated) == 2


def test_trajectories_uses_each_rules_colour_and_names_every_run(traces):
    fig = plots.trajectories(problems.rosenbrock(), traces)
    assert_labelled(fig)
    ax = fig.axes[0]
    lines = {line.get_label(): line for line in data_lines(ax)}
    for rule, trace in traces.items():
        label = f"{rule} (diverged)" if trace.diverged else rule
        assert to_hex(lines[label].get_color()) == to_hex(plots.color_of(rule))
        np.testing.assert_array_equal(lines[label].get_xdata(), trace.params[:, 0])
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "start" in legend and "minimum" in legend


def test_trajectories_with_one_rule_several_times_spreads_the_palette():
    p = problems.quadratic((1.0, 10.0))
    fig = plots.trajectories(p, {f"lr={lr}": run("sgd", p, steps=20, lr=lr) for lr in (0.02, 0.1, 0.18)})
    colours = [to_hex(line.get_color()) for line in data_lines(fig.axes[0])]
    assert len(set(colours)) == 3 and set(colours) <= OKABE_ITO


def test_trajectories_draws_into_a_given_axes():
    fig, (left, right) = plots.new_figure(ncols=2)
    p = problems.himmelblau()
    out = plots.trajectories(p, {"adam": run("adam", p, steps=30, lr=0.1)}, ax=right)
    assert out is fig
    assert data_lines(right) and not data_lines(left)


def test_trajectories_refuses_a_problem_that_is_not_2d():
    with pytest.raises(ValueError, match="2-D"):
        plots.trajectories(problems.reddi_online(), {"adam": run("adam", problems.reddi_online(), steps=3)})


def test_loss_curves_are_on_a_log_axis_and_mark_divergence(traces):
    p = problems.quadratic((1.0, 10.0))
    curves = dict(traces)
    curves["blows up"] = run("sgd", p, steps=300, lr=0.3)
    fig = plots.loss_curves(curves, title="Loss on Rosenbrock")
    assert_labelled(fig)
    ax = fig.axes[0]
    assert ax.get_yscale() == "log" and ax.get_title() == "Loss on Rosenbrock" and ax.get_xlabel() == "step"
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "blows up (diverged)" in labels
    for line in data_lines(ax):
        assert to_hex(line.get_color()) in OKABE_ITO


def test_loss_curves_fall_back_to_linear_for_negative_losses():
    fig = plots.loss_curves({"adam": run("adam", problems.saddle(), steps=50, lr=0.05)})
    assert fig.axes[0].get_yscale() == "linear"


def test_loss_curves_of_histories_show_train_and_test_per_epoch():
    X = np.random.default_rng(0).standard_normal((60, 2))
    y = (X[:, 0] > 0).astype(int)
    history = train("adam", LogisticRegression(2), (X[:40], y[:40], X[40:], y[40:]), epochs=5, lr=0.1)
    fig = plots.loss_curves({"adam": history})
    assert_labelled(fig)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "epoch"
    styles = {line.get_label(): line.get_linestyle() for line in data_lines(ax)}
    assert styles == {"adam (train)": "-", "adam (test)": "--"}


def test_lr_sweep_has_log_axes_and_marks_diverged_learning_rates():
    p = problems.quadratic((1.0, 10.0))
    lrs = np.geomspace(1e-3, 1.0, 7)
    results = {rule: sweep_lr(rule, p, lrs, steps=100) for rule in ("sgd", "adam")}
    assert math.isinf(results["sgd"][1.0])
    fig = plots.lr_sweep(results)
    assert_labelled(fig)
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[:2] == ["sgd", "adam"] and "diverged" in labels
    assert to_hex(data_lines(ax)[0].get_color()) == to_hex(plots.color_of("sgd"))


def test_figures_show_in_ipython_without_pyplot():
    """In a notebook a returned figure must render as a PNG, and pyplot stays unloaded (no double display)."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from IPython.core.interactiveshell import InteractiveShell\n"
        "shell = InteractiveShell.instance()\n"
        "from optilab import plots, problems\n"
        "data, _ = shell.display_formatter.format(plots.contour(problems.beale()))\n"
        "assert data['image/png'][:4] == b'\\x89PNG', sorted(data)\n"
        "assert 'matplotlib.pyplot' not in sys.modules\n"
        "print('ok')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr


def test_every_rule_line_style_comes_from_the_rule_table_and_nesterov_differs_from_heavy_ball():
    from optilab import rules

    for rule in rules.TABLE:
        assert plots.linestyle_of(rule.name) == rule.linestyle
    assert plots.linestyle_of("Nesterov, α = 0.02") != plots.linestyle_of("heavy ball, α = 0.02")
    assert plots.color_of("heavy ball") == rules.get("momentum").color


def test_loss_curves_and_trajectories_draw_each_rule_in_its_line_style():
    bowl = problems.quadratic((1.0, 10.0))
    traces = {name: run(rule, bowl, steps=10, lr=0.05, momentum=0.5)
              for name, rule in (("heavy ball", "momentum"), ("Nesterov", "nesterov"))}
    for fig in (plots.loss_curves(traces), plots.trajectories(bowl, traces)):
        styles = {line.get_label(): line.get_linestyle() for line in fig.axes[0].get_lines()}
        assert styles["heavy ball"] == "-" and styles["Nesterov"] == "-."


def test_the_minimum_star_takes_no_colour_a_path_can_have():
    """A path drawn in bluish green (the fourth of four runs) must not look like the minimum."""
    bowl = problems.quadratic(eigenvalues=(1.0, 10.0))
    fig = plots.contour(bowl)
    star = next(line for line in fig.axes[0].get_lines() if line.get_marker() == "*")
    assert to_hex(star.get_markerfacecolor()) not in {to_hex(c) for c in plots.COLORS}


def test_intervals_are_titled_and_both_axes_say_what_they_show():
    fig = plots.intervals({"sgd": (0.3, 0.05), "adam": (0.2, 0.04)}, title="final loss", xlabel="loss")
    assert_labelled(fig, legend=False)  # the rows' names are the y axis's tick labels
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["sgd", "adam"] and ax.get_ylabel() == "optimizer"
    pairs = plots.intervals({"sgd − adam": (0.1, 0.05)}, xlabel="difference in loss", ylabel="pair", zero_line=True)
    assert pairs.axes[0].get_ylabel() == "pair"
