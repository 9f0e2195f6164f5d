"""Datasets and the plumbing around them: toy 2-D sets, two real ones, splits, scaling, minibatches.

Every random function takes an explicit ``seed`` and gives the same arrays for the same
arguments. The real datasets (:func:`load_breast_cancer`, :func:`load_digits`) ship with the
library (``optilab/datasets/``, with their sources and licence in the README there) and load
with NumPy alone, without network access.

>>> X, y = two_moons(n=100, seed=0)
>>> X.shape, y.shape, sorted(set(y.tolist()))
((100, 2), (100,), [0, 1])
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator, NamedTuple

import numpy as np

__all__ = [
    "two_moons",
    "spirals",
    "load_breast_cancer",
    "load_digits",
    "BREAST_CANCER_FEATURES",
    "BREAST_CANCER_CLASSES",
    "Split",
    "train_test_split",
    "standardize",
    "minibatches",
]

_DATASETS = Path(__file__).with_name("datasets")

_PROPERTIES = ("radius", "texture", "perimeter", "area", "smoothness", "compactness", "concavity",
               "concave points", "symmetry", "fractal dimension")
#: The 30 feature names of :func:`load_breast_cancer`, in column order.
BREAST_CANCER_FEATURES: tuple[str, ...] = (
    tuple(f"mean {p}" for p in _PROPERTIES)
    + tuple(f"{p} error" for p in _PROPERTIES)
    + tuple(f"worst {p}" for p in _PROPERTIES)
)
#: The class names of :func:`load_breast_cancer`, by label.
BREAST_CANCER_CLASSES: tuple[str, str] = ("malignant", "benign")


def two_moons(n: int = 200, noise: float = 0.1, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    r"""Two interleaving half circles: a 2-D binary problem no straight line separates.

    Class 0 lies on the upper half circle :math:`(\cos\theta, \sin\theta)`, class 1 on the
    lower one :math:`(1 - \cos\theta, 0.5 - \sin\theta)`, :math:`\theta \in [0, \pi]`, with
    Gaussian noise of standard deviation ``noise`` added to both coordinates.

    Parameters
    ----------
    n : int
        Number of points (class 0 gets the extra one when ``n`` is odd).
    noise : float
        Standard deviation of the noise.
    seed : int
        Seed of the noise and of the shuffle.

    Returns
    -------
    X : ndarray of shape (n, 2)
    y : ndarray of shape (n,), int labels 0 and 1, in shuffled order
    """
    if n < 2:
        raise ValueError(f"two_moons needs n >= 2 points, got {n}")
    rng = np.random.default_rng(seed)
    n0 = n - n // 2
    n1 = n // 2
    t0 = np.linspace(0.0, np.pi, n0)
    t1 = np.linspace(0.0, np.pi, n1)
    X = np.concatenate([
        np.column_stack([np.cos(t0), np.sin(t0)]),
        np.column_stack([1.0 - np.cos(t1), 0.5 - np.sin(t1)]),
    ])
    y = np.concatenate([np.zeros(n0, dtype=int), np.ones(n1, dtype=int)])
    X = X + noise * rng.standard_normal(X.shape)
    order = rng.permutation(n)
    return X[order], y[order]


def spirals(n: int = 300, classes: int = 3, noise: float = 0.2, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    r"""Interleaved spiral arms, one per class (the CS231n toy problem).

    Class :math:`k` has points at radius :math:`r \in [0, 1]` and angle
    :math:`\theta = 4k + 4r + \text{noise}`, i.e. :math:`(r \sin\theta, r \cos\theta)`.

    Parameters
    ----------
    n : int
        Total number of points, shared as evenly as possible between the classes.
    classes : int
        Number of classes (arms), at least 2.
    noise : float
        Standard deviation of the noise on the angle.
    seed : int
        Seed of the noise and of the shuffle.

    Returns
    -------
    X : ndarray of shape (n, 2)
    y : ndarray of shape (n,), int labels 0 .. classes - 1, in shuffled order
    """
    if classes < 2:
        raise ValueError(f"spirals needs at least 2 classes, got {classes}")
    if n < classes:
        raise ValueError(f"spirals needs at least one point per class: n={n} < classes={classes}")
    rng = np.random.default_rng(seed)
    counts = [n // classes + (1 if k < n % classes else 0) for k in range(classes)]
    parts, labels = [], []
    for k, m in enumerate(counts):
        r = np.linspace(0.0, 1.0, m)
        theta = np.linspace(4.0 * k, 4.0 * (k + 1), m) + noise * rng.standard_normal(m)
        parts.append(np.column_stack([r * np.sin(theta), r * np.cos(theta)]))
        labels.append(np.full(m, k, dtype=int))
    X, y = np.concatenate(parts), np.concatenate(labels)
    order = rng.permutation(n)
    return X[order], y[order]


def load_breast_cancer() -> tuple[np.ndarray, np.ndarray]:
    """The Breast Cancer Wisconsin (Diagnostic) data: 569 tumours, 30 features, 2 classes.

    Source: UCI Machine Learning Repository (Wolberg, Mangasarian, Street & Street, 1993),
    CC BY 4.0; see ``optilab/datasets/README.md``.

    Returns
    -------
    X : ndarray of shape (569, 30), float64
        Features, named in :data:`BREAST_CANCER_FEATURES`; their scales differ by orders of
        magnitude (standardize before training).
    y : ndarray of shape (569,), int
        0 = malignant (212), 1 = benign (357); names in :data:`BREAST_CANCER_CLASSES`.
    """
    table = np.loadtxt(_DATASETS / "breast_cancer.csv.gz", delimiter=",", skiprows=1)
    return table[:, :-1], table[:, -1].astype(int)


def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """The UCI handwritten digits: 1797 images of 8×8 pixels, 10 classes.

    Source: UCI Machine Learning Repository, "Optical Recognition of Handwritten Digits"
    (Alpaydin & Kaynak, 1998), CC BY 4.0; see ``optilab/datasets/README.md``.

    Returns
    -------
    X : ndarray of shape (1797, 64), float64
        Pixel values 0..16, row by row (``X[i].reshape(8, 8)`` is the image).
    y : ndarray of shape (1797,), int
        The digit, 0..9.
    """
    table = np.loadtxt(_DATASETS / "digits.csv.gz", delimiter=",")
    return table[:, :-1], table[:, -1].astype(int)


class Split(NamedTuple):
    """A train/test split; unpacks in scikit-learn's order ``X_train, X_test, y_train, y_test``."""

    X_train: np.ndarray
    X_test: np.ndarray
    y_train: np.ndarray
    y_test: np.ndarray


def train_test_split(X: np.ndarray, y: np.ndarray, test_fraction: float = 0.25, seed: int = 0) -> Split:
    """Shuffle the examples and hold out a fraction of them as a test set.

    Parameters
    ----------
    X : ndarray of shape (n, ...)
        Features.
    y : ndarray of shape (n,)
        Labels or targets.
    test_fraction : float
        Fraction of examples in the test set, strictly between 0 and 1 (rounded up to a whole
        example).
    seed : int
        Seed of the shuffle.

    Returns
    -------
    Split
        ``(X_train, X_test, y_train, y_test)`` as in scikit-learn; the fields can also be used
        by name, and :func:`optilab.training.train` accepts the Split as its ``data``.
    """
    X, y = np.asarray(X), np.asarray(y)
    if len(X) != len(y):
        raise ValueError(f"X has {len(X)} examples but y has {len(y)}; they must match")
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be between 0 and 1, got {test_fraction}")
    n = len(X)
    n_test = int(np.ceil(test_fraction * n))
    if not 0 < n_test < n:
        raise ValueError(f"{n} examples cannot be split with test_fraction={test_fraction}")
    order = np.random.default_rng(seed).permutation(n)
    test, train = order[:n_test], order[n_test:]
    return Split(X[train], X[test], y[train], y[test])


def standardize(X_train: np.ndarray, X_test: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """Scale every feature to mean 0 and standard deviation 1, using the training set's statistics.

    The test set is transformed with the *training* mean and standard deviation, so nothing
    about it leaks into training. Constant features are centred but not scaled.

    Returns
    -------
    X_train_scaled, X_test_scaled : ndarray
        New arrays (``X_test_scaled`` is None when no test set is given).
    """
    X_train = np.asarray(X_train, dtype=float)
    mean = X_train.mean(axis=0)
    std = X_train.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    scaled_test = None if X_test is None else (np.asarray(X_test, dtype=float) - mean) / std
    return (X_train - mean) / std, scaled_test


def minibatches(X: np.ndarray, y: np.ndarray, batch_size: int, seed: int = 0,
                epoch: int = 0) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """One epoch of minibatches: every example exactly once, in a shuffled order.

    The order comes from ``np.random.default_rng((seed, epoch))``, so each epoch has its own
    order and the same ``(seed, epoch)`` always gives the same batches.

    Parameters
    ----------
    X, y : ndarray
        Examples and labels (the same number of rows).
    batch_size : int
        Examples per batch; the last batch holds the remainder and may be smaller.
    seed : int
        Seed of the shuffles.
    epoch : int
        Which epoch's order to use.

    Yields
    ------
    X_batch, y_batch : ndarray
    """
    X, y = np.asarray(X), np.asarray(y)
    if len(X) != len(y):
        raise ValueError(f"X has {len(X)} examples but y has {len(y)}; they must match")
    if int(batch_size) < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size}")
    batch_size = int(batch_size)
    order = np.random.default_rng((seed, epoch)).permutation(len(X))
    for start in range(0, len(X), batch_size):
        batch = order[start:start + batch_size]
        yield X[batch], y[batch]
