"""Datasets, splits, scaling and minibatches: shapes, labels, reproducibility, coverage."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from optilab import data


def test_two_moons_shapes_labels_and_reproducibility():
    X, y = data.two_moons(n=201, noise=0.1, seed=3)
    assert X.shape == (201, 2) and y.shape == (201,)
    assert set(np.unique(y)) == {0, 1} and np.bincount(y).tolist() == [101, 100]
    X2, y2 = data.two_moons(n=201, noise=0.1, seed=3)
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(y, y2)
    assert not np.allclose(X, data.two_moons(n=201, noise=0.1, seed=4)[0])


def test_two_moons_without_noise_lie_on_their_half_circles():
    X, y = data.two_moons(n=100, noise=0.0)
    upper, lower = X[y == 0], X[y == 1]
    np.testing.assert_allclose(np.hypot(upper[:, 0], upper[:, 1]), 1.0)
    np.testing.assert_allclose(np.hypot(lower[:, 0] - 1.0, lower[:, 1] - 0.5), 1.0)
    assert upper[:, 1].min() >= -1e-12 and lower[:, 1].max() <= 0.5 + 1e-12


def test_spirals_shapes_and_balanced_classes():
    X, y = data.spirals(n=301, classes=3, noise=0.2, seed=0)
    assert X.shape == (301, 2) and y.shape == (301,)
    assert np.bincount(y).tolist() == [101, 100, 100]
    assert np.all(np.hypot(X[:, 0], X[:, 1]) <= 1.0 + 1e-12)
    np.testing.assert_array_equal(X, data.spirals(n=301, classes=3, noise=0.2, seed=0)[0])
    assert set(np.unique(data.spirals(n=50, classes=5)[1])) == set(range(5))


def test_breast_cancer_matches_the_uci_description():
    X, y = data.load_breast_cancer()
    assert X.shape == (569, 30) and X.dtype == np.float64
    assert y.shape == (569,) and np.issubdtype(y.dtype, np.integer)
    assert np.bincount(y).tolist() == [212, 357]  # malignant, benign (UCI: 212 M, 357 B)
    assert len(data.BREAST_CANCER_FEATURES) == 30 and data.BREAST_CANCER_CLASSES == ("malignant", "benign")
    assert np.all(X > 0 - 1e-12) and X[:, 3].max() > 1000  # "mean area" is in the thousands


def test_digits_matches_the_uci_description():
    X, y = data.load_digits()
    assert X.shape == (1797, 64) and X.dtype == np.float64
    assert set(np.unique(y)) == set(range(10))
    assert X.min() == 0 and X.max() == 16 and np.all(X == np.round(X))
    assert np.bincount(y).min() >= 170


def test_shipped_datasets_are_small_and_documented():
    folder = Path(data.__file__).with_name("datasets")
    files = sorted(p.name for p in folder.iterdir())
    assert "README.md" in files
    assert sum(p.stat().st_size for p in folder.glob("*.gz")) < 200_000
    readme = (folder / "README.md").read_text()
    for needed in ("UCI Machine Learning Repository", "Breast Cancer Wisconsin (Diagnostic)",
                   "Optical Recognition of Handwritten Digits", "CC BY 4.0"):
        assert needed in readme


def test_train_test_split_partitions_the_examples_reproducibly():
    X = np.arange(40).reshape(20, 2)
    y = np.arange(20)
    split = data.train_test_split(X, y, test_fraction=0.25, seed=1)
    X_train, X_test, y_train, y_test = split
    assert len(X_test) == 5 and len(X_train) == 15
    assert sorted(np.concatenate([y_train, y_test]).tolist()) == list(range(20))
    np.testing.assert_array_equal(X_train[:, 0], 2 * y_train)  # rows stay with their labels
    np.testing.assert_array_equal(split.y_test, data.train_test_split(X, y, 0.25, seed=1).y_test)
    assert not np.array_equal(split.y_test, data.train_test_split(X, y, 0.25, seed=2).y_test)
    with pytest.raises(ValueError, match="test_fraction"):
        data.train_test_split(X, y, test_fraction=1.5)


def test_standardize_uses_training_statistics_only():
    rng = np.random.default_rng(0)
    X_train = rng.normal(5.0, 3.0, size=(50, 3))
    X_train[:, 2] = 7.0  # a constant feature
    X_test = rng.normal(5.0, 3.0, size=(10, 3))
    S_train, S_test = data.standardize(X_train, X_test)
    np.testing.assert_allclose(S_train[:, :2].mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(S_train[:, :2].std(axis=0), 1.0)
    np.testing.assert_array_equal(S_train[:, 2], 0.0)
    mean, std = X_train[:, 0].mean(), X_train[:, 0].std()
    np.testing.assert_allclose(S_test[:, 0], (X_test[:, 0] - mean) / std)


def test_minibatches_cover_every_example_once_per_epoch():
    X = np.arange(23, dtype=float).reshape(23, 1)
    y = np.arange(23)
    batches = list(data.minibatches(X, y, batch_size=5, seed=0, epoch=0))
    assert [len(b[1]) for b in batches] == [5, 5, 5, 5, 3]
    seen = np.concatenate([b[1] for b in batches])
    assert sorted(seen.tolist()) == list(range(23))
    for Xb, yb in batches:
        np.testing.assert_array_equal(Xb[:, 0], yb)
    assert not np.array_equal(seen, np.arange(23)), "an epoch is shuffled"


def test_minibatches_are_reproducible_and_each_epoch_has_its_own_order():
    X, y = np.zeros((40, 2)), np.arange(40)
    order = lambda seed, epoch: np.concatenate([b for _, b in data.minibatches(X, y, 8, seed=seed, epoch=epoch)])
    np.testing.assert_array_equal(order(3, 0), order(3, 0))
    assert not np.array_equal(order(3, 0), order(3, 1))
    assert not np.array_equal(order(3, 0), order(4, 0))
