"""Learning-rate schedules: closed forms by hand, and agreement with torch.optim.lr_scheduler."""

from __future__ import annotations

import numpy as np
import pytest

from optilab import schedules


def test_values_by_hand():
    assert schedules.constant(0.3)(1000) == 0.3
    assert [schedules.step_decay(1.0, 3, 0.5)(t) for t in range(7)] == [1, 1, 1, 0.5, 0.5, 0.5, 0.25]
    assert schedules.exponential(2.0, 0.5)(3) == 0.25
    assert schedules.inverse_time(1.0, decay_rate=1.0, decay_steps=2)(4) == pytest.approx(1 / 3)
    cos = schedules.cosine(1.0, total_steps=4, lr_min=0.2)
    assert [round(cos(t), 12) for t in (0, 2, 4, 9)] == [1.0, 0.6, 0.2, 0.2]
    warm = schedules.linear_warmup(1.0, 4)
    assert [warm(t) for t in range(6)] == [0.25, 0.5, 0.75, 1.0, 1.0, 1.0]


def test_join_restarts_the_count_and_warmup_cosine_is_continuous():
    s = schedules.join([schedules.constant(1.0), schedules.exponential(1.0, 0.5)], [3])
    assert [s(t) for t in range(6)] == [1.0, 1.0, 1.0, 1.0, 0.5, 0.25]
    wc = schedules.warmup_cosine(0.1, warmup_steps=10, total_steps=110)
    values = np.array([wc(t) for t in range(111)])
    assert values.max() == pytest.approx(0.1) and values[-1] == pytest.approx(0.0, abs=1e-15)
    assert np.max(np.abs(np.diff(values))) <= 0.1 / 10 + 1e-12  # no jumps larger than a warm-up increment


def test_scale_multiplies():
    assert schedules.scale(schedules.constant(0.5), 4.0)(7) == 2.0


@pytest.mark.parametrize(
    "make",
    [
        lambda: schedules.step_decay(0.0, 1),
        lambda: schedules.cosine(1.0, 10, lr_min=2.0),
        lambda: schedules.join([schedules.constant(1.0)], [5]),
        lambda: schedules.warmup_cosine(1.0, 10, 5),
    ],
)
def test_bad_arguments_are_refused(make):
    with pytest.raises(ValueError):
        make()


@pytest.mark.torch
def test_agree_with_torch_lr_schedulers(torch):
    from torch.optim import lr_scheduler as L

    def torch_lrs(make, steps=30):
        opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
        sched = make(opt)
        out = []
        for _ in range(steps):
            out.append(opt.param_groups[0]["lr"])
            opt.step()
            sched.step()
        return np.array(out)

    pairs = [
        (schedules.step_decay(0.1, 7, 0.3), lambda o: L.StepLR(o, 7, 0.3)),
        (schedules.exponential(0.1, 0.9), lambda o: L.ExponentialLR(o, 0.9)),
        (schedules.cosine(0.1, 20, lr_min=0.01), lambda o: L.CosineAnnealingLR(o, T_max=20, eta_min=0.01)),
        (schedules.linear_warmup(0.1, 5), lambda o: L.LinearLR(o, start_factor=0.2, total_iters=4)),
    ]
    for ours, make in pairs:
        np.testing.assert_allclose([ours(t) for t in range(20)], torch_lrs(make)[:20], rtol=1e-10, err_msg=ours.__name__)


def test_warmup_stable_decay_by_hand():
    s = schedules.warmup_stable_decay(1.0, warmup_steps=2, total_steps=8, decay_steps=4, lr_min=0.2)
    assert [round(s(t), 12) for t in range(10)] == [0.5, 1.0, 1.0, 1.0, 1.0, 0.8, 0.6, 0.4, 0.2, 0.2]


def test_one_cycle_by_hand():
    # 10 steps, pct_start 0.3: the peak at step 0.3·10 − 1 = 2, the end at step 9
    s = schedules.one_cycle(1.0, total_steps=10, div_factor=4.0, final_div_factor=5.0)
    assert s(0) == 0.25 and s(2) == 1.0 and s(9) == pytest.approx(0.05, rel=1e-15)
    assert s(1) == pytest.approx(0.25 + 0.75 / 2, rel=1e-15)  # halfway up the cosine
    assert s(5.5) == pytest.approx(0.05 + 0.95 / 2, rel=1e-15)  # halfway down


@pytest.mark.parametrize(
    "make",
    [
        lambda: schedules.warmup_stable_decay(1.0, 5, 10, 6),
        lambda: schedules.warmup_stable_decay(1.0, 2, 10, 3, lr_min=2.0),
        lambda: schedules.one_cycle(1.0, 10, pct_start=0.05),
        lambda: schedules.one_cycle(1.0, 10, pct_start=1.0),
    ],
)
def test_bad_practice_schedules_are_refused(make):
    with pytest.raises(ValueError):
        make()
