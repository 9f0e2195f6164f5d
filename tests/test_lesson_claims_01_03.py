"""Lessons 01–03 show what they claim: each claim asserted from the value the lesson computed.

Each lesson runs once, for these tests and test_lessons.py's (tests/support/lesson_runs.py keeps every
figure it shows and evaluates expressions in its namespace afterwards). Expected values are derived here, independently of the library.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from tests.support import lesson_runs

pytestmark = pytest.mark.slow  # each lesson is executed (once)

LESSONS = {
    "01": ("01_gradient_descent.ipynb", {
        "check": "check", "steps_table": "steps_table", "measured_rate": "float(measured)",
        "theory_rate": "float(theory.gd_rate(lam))",
        "himmelblau_ends": "[tr.params[-1].tolist() for tr in traces.values()]",
        "saddle_grad_norms": "g.tolist()",
    }),
    "02": ("02_stochastic_gradient_descent.ipynb", {
        "final": "{name: float(h.train_loss[-1]) for name, h in runs.items()}",
        "race": "{B: dict(lr=r.lr, steps=r.steps_to_target, epochs=r.epochs_to_target, seconds=r.seconds_to_target, "
                "per_step=r.seconds_per_step) for B, r in race.items()}",
        "n": "n", "check": "check", "noise": "[float(m) for m in measured]", "sizes": "sizes",
        "decay_tail": "[float(v) for v in tail.values()]",
        "decay_real": "[float(constant.final[k]), float(decayed.final[k])]",
    }),
    "03": ("03_momentum_and_nesterov.ipynb", {
        "hb_losses": "hb.losses.tolist()", "split": "hb_split.tolist()", "lam": "lam.tolist()",
        "lr_hb": "lr_hb", "mu_hb": "mu_hb", "fast": "{k: v for k, v in fast.items() if k != 'coords'}",
        "bound": "{'bound': bound['bound'], 'distances': bound['distances'], 'rates': bound['rates'], "
                 "'optimal_rate': bound['optimal_rate'], 'eigenvalues': bound['problem'].eigenvalues}",
        "floors": "floors", "check": "check", "table": "table.tolist()", "slopes": "[slope_gd, slope_hb]",
        "nesterov_gap": "float(gap)", "form_gaps": "gaps", "disagree": "int(disagree.sum())",
        "stability_points": "int(disagree.size)",
    }),
}


for _name, _exprs in LESSONS.values():
    lesson_runs.read(_name, _exprs)


def _report(number: str):
    """The lesson's run (tests/support/lesson_runs.py: once per test process, shared with test_lessons.py)."""
    name, _ = LESSONS[number]
    report = lesson_runs.run(name)
    assert not report.errors, f"{name} raised: {report.errors}"
    return report


# Their figures (titles, labels, legends) are checked with every lesson's, in test_lessons.py.


# -- lesson 01 -------------------------------------------------------------------------------------------
def test_01_self_check_numbers_are_the_closed_forms():
    report = _report("01")
    check = report.values["check"]
    assert check["edge"] == pytest.approx(2 / 50)
    assert check["best"] == pytest.approx(1 / 26)
    assert check["rate"] == pytest.approx(12 / 13)
    assert check["kappa"] == pytest.approx(25)
    assert check["steep factor"] == pytest.approx(-(10 - 1) / (10 + 1))
    assert check["best ×10"] == pytest.approx(0.1) and check["rate ×10"] == pytest.approx(9 / 11)


def test_01_measured_rate_is_the_predicted_one_and_steps_grow_like_kappa():
    report = _report("01")
    v = report.values
    assert v["measured_rate"] == pytest.approx(v["theory_rate"], abs=1e-3)
    table = {row[0]: row for row in v["steps_table"]}
    for kappa, rate, predicted, measured in table.values():
        assert rate == pytest.approx((kappa - 1) / (kappa + 1))
        assert abs(measured - predicted) <= 1, f"κ = {kappa}: {measured} steps, {predicted} predicted"
    assert 8 <= table[100][3] / table[10][3] <= 12  # "ten times the condition number, about ten times the steps"


def test_01_four_close_starts_end_in_four_minima_and_the_saddle_run_stalls_then_escapes():
    v = _report("01").values
    ends = np.array(v["himmelblau_ends"])
    assert len({tuple(np.round(e, 2)) for e in ends}) == 4
    g = np.array(v["saddle_grad_norms"])
    low = int(np.argmin(g))
    assert 0 < low < len(g) - 1 and g[low] < 0.05 * g[0] and g[-1] > 10 * g[low]  # "nearly vanishes", then grows


# -- lesson 02 -------------------------------------------------------------------------------------------
def test_02_per_epoch_small_batches_win_and_per_second_one_example_sgd_comes_last():
    v = _report("02").values
    final = v["final"]
    assert final["B = 1"] < final["full batch (GD)"] and final["B = 32"] < final["full batch (GD)"]
    race, n = {int(B): r for B, r in v["race"].items()}, v["n"]
    assert race[1]["epochs"] <= 1 and race[16]["epochs"] <= 1 < race[n]["epochs"]  # "within the first epoch"
    # per second: the full-batch step does n times the work at a small fraction of n times the cost ...
    assert race[n]["per_step"] / race[1]["per_step"] < n / 10
    # ... so one-example SGD, with by far the most steps, is last. (A timing, but with a margin of the
    # steps ratio, 294/7: a full-batch step would have to cost 40 one-example steps to change the order.)
    assert race[1]["steps"] / race[n]["steps"] > 20
    assert race[1]["seconds"] == max(r["seconds"] for r in race.values())


def test_02_self_check_numbers_are_the_closed_forms():
    check, n = _report("02").values["check"], _report("02").values["n"]
    assert check["steps"] == -(-n // 16) and check["last batch"] == n - 16 * (check["steps"] - 1)
    assert check["variance factor"] == pytest.approx((n - 16) / ((n - 1) * 16))
    assert check["rms ratio"] == pytest.approx(math.sqrt((n - 1) * 16 / (n - 16)))


def test_02_noise_shrinks_like_root_b_and_decay_removes_the_floor():
    v = _report("02").values
    noise = dict(zip(v["sizes"], v["noise"]))
    assert noise[1] / noise[16] == pytest.approx(4, rel=0.15)  # "√16 = 4"
    constant_tail, decayed_tail = v["decay_tail"]
    assert decayed_tail < 0.5 * constant_tail
    constant_final, decayed_final = v["decay_real"]
    assert decayed_final < constant_final


# -- lesson 03 -------------------------------------------------------------------------------------------
def test_03_the_heavy_balls_loss_first_rises_and_the_steep_direction_is_why():
    v = _report("03").values
    losses, split, lam = np.array(v["hb_losses"]), np.array(v["split"]), v["lam"]
    root_lo, root_hi = math.sqrt(min(lam)), math.sqrt(max(lam))
    lr, mu = (2 / (root_lo + root_hi)) ** 2, ((root_hi / root_lo - 1) / (root_hi / root_lo + 1)) ** 2
    assert v["lr_hb"] == pytest.approx(lr) and v["mu_hb"] == pytest.approx(mu)
    peak = int(np.argmax(losses))
    assert peak > 0 and losses[peak] > 5 * losses[0]  # it rises (33 -> 182 on this ravine) ...
    assert np.all(np.diff(losses[peak:]) < 0) or losses[-1] < 1e-6 * losses[0]  # ... then falls
    assert split[peak, 1] > 0.95 * losses[peak]  # the steep direction holds the peak
    assert np.all(np.diff(split[:, 0]) <= 0)  # the flat direction never rises
    fast = v["fast"]
    assert fast["first_factor"] == pytest.approx(1 - lr * max(lam)) and fast["first_factor"] < -1
    roots = np.array(fast["roots"], dtype=complex) if not isinstance(fast["roots"][0], list) else \
        np.array([complex(*r) for r in fast["roots"]])
    np.testing.assert_allclose(roots, -math.sqrt(mu), atol=1e-6)  # a double root at −√μ*: critical damping
    assert fast["peak_step"] == peak


def test_03_no_gradient_method_beats_the_lower_bound_and_the_tuned_heavy_ball_attains_it():
    b = _report("03").values["bound"]
    bound = np.array(b["bound"])
    for name, d in b["distances"].items():
        assert np.all(np.array(d) >= bound * (1 - 1e-9)), name
    kappa = max(b["eigenvalues"]) / min(b["eigenvalues"])
    q = (math.sqrt(kappa) - 1) / (math.sqrt(kappa) + 1)
    assert b["optimal_rate"] == pytest.approx(q)
    assert b["rates"]["heavy ball"] == pytest.approx(q, rel=0.005)
    gd = b["rates"]["gradient descent"]
    assert q + 0.1 < gd <= (kappa - 1) / (kappa + 1) + 1e-9  # far above the bound, at most its worst case


def test_03_momentum_accumulates_noise_at_equal_step_and_leaves_the_floor_at_equal_effective_step():
    floors = {k: np.array(f) for k, f in _report("03").values["floors"].items()}
    same_step, same_effective, batch = floors["same α"], floors["same α/(1 − μ)"], floors["batch B"]
    # μ = 0 and μ = 0.9 at α = 0.1: the closed form (1 + μ)α / (2(1 − μ)(2(1 + μ) − α)) gives a ratio near 9.7
    closed = [(1 + m) * 0.1 / (2 * (1 - m) * (2 * (1 + m) - 0.1)) for m in (0.0, 0.9)]
    assert same_step[-1] / same_step[0] == pytest.approx(closed[1] / closed[0], rel=0.1)
    assert same_step[-1] / same_step[0] > 5  # "accumulates"
    assert 0.9 < same_effective[-1] / same_effective[0] <= 1.0  # "does not average it out": a few per cent
    assert batch[0] / batch[-1] == pytest.approx(16, rel=0.15)  # a 16-fold batch: a 16-fold lower floor


def test_03_self_check_numbers_are_the_closed_forms():
    check = _report("03").values["check"]
    assert check["step factor"] == pytest.approx(10)
    assert check["alpha lambda"] == pytest.approx(3)
    assert check["stable 0.4"] is False and check["stable 0.6"] is True  # 3 > 2.8, 3 < 3.2
    assert 80 <= check["speed-up 1e4"] <= 120  # about √κ = 100


def test_03_speed_up_grows_like_root_kappa_and_the_stability_bound_matches_the_runs():
    v = _report("03").values
    table = np.array(v["table"])
    np.testing.assert_allclose(table[:, 1], table[:, 2], atol=1)  # "gradient descent matches its theory to the step"
    slope_gd, slope_hb = v["slopes"]
    assert slope_gd == pytest.approx(1.0, abs=0.05) and slope_hb == pytest.approx(0.5, abs=0.1)
    assert np.all(table[:, 3] >= table[:, 4])  # the heavy ball needs somewhat more steps than ln(tol)/ln(rate)
    assert v["disagree"] <= 0.01 * v["stability_points"]


def test_03_the_three_forms_agree_for_a_constant_step_and_part_after_a_decay():
    v = _report("03").values
    assert v["nesterov_gap"] < 1e-10
    gaps = v["form_gaps"]
    assert max(gaps["constant"].values()) < 1e-10
    assert gaps["step decay"]["Sutskever"] > 1e-3 and gaps["step decay"]["moving average"] < 1e-10
