"""The learning-rate range test (fast.ai's lr_find)."""

from __future__ import annotations

import numpy as np
import pytest

from optilab import data, models
from optilab.lr_finder import lr_range_test, smooth


@pytest.fixture(scope="module")
def cancer():
    X, y = data.load_breast_cancer()
    return data.standardize(X)[0], y


def test_smooth_is_a_debiased_moving_average():
    np.testing.assert_allclose(smooth(np.full(5, 2.0)), 2.0, rtol=1e-15)
    # by hand: m1 = 0.5·1, m2 = 0.25 + 0.5·3 = 1.75; debiased 1 and 1.75/0.75
    np.testing.assert_allclose(smooth(np.array([1.0, 3.0]), beta=0.5), [1.0, 1.75 / 0.75])


def test_the_lr_grows_geometrically_and_the_run_stops_once_the_loss_blows_up(cancer):
    result = lr_range_test("sgd", models.MLP((cancer[0].shape[1], 16, 2)), cancer, start_lr=1e-4, end_lr=1e3,
                           steps=100)
    assert result.stopped_early and len(result.lrs) < 100
    np.testing.assert_allclose(result.lrs, np.geomspace(1e-4, 1e3, 100)[:len(result.lrs)], rtol=1e-12)
    assert result.smoothed[-1] > 4 * np.min(result.smoothed[:-1])


def test_the_suggestions_lie_where_the_loss_falls(cancer):
    result = lr_range_test("adam", models.MLP((cancer[0].shape[1], 16, 2)), cancer, start_lr=1e-4, end_lr=1e3)
    i = int(np.searchsorted(result.lrs, result.steep))
    assert result.lrs[10] <= result.steep <= result.lrs[-6]
    assert result.smoothed[i + 3] < result.smoothed[i - 3]  # falling there
    assert result.minimum == pytest.approx(result.lrs[np.argmin(result.smoothed)] / 10)


def test_a_range_that_never_diverges_runs_every_step(cancer):
    result = lr_range_test("sgd", models.LogisticRegression(cancer[0].shape[1]), cancer, start_lr=1e-5, end_lr=1e-2,
                           steps=30)
    assert not result.stopped_early and len(result.losses) == 30


def test_bad_ranges_are_refused(cancer):
    with pytest.raises(ValueError, match="start_lr < end_lr"):
        lr_range_test("sgd", models.LogisticRegression(30), cancer, start_lr=1.0, end_lr=0.1)
