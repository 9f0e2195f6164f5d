"""Lab 1 (gradient descent): the checks of its test cells, run in the grader's process."""

from __future__ import annotations

from typing import Any

import numpy as np

from optilab.grading.labs import rule_cell
from optilab.grading.notebook import Library

#: The lab's grid of learning rates (its setup cell) and the bowl's stability limit 2/λmax.
LRS = np.geomspace(0.01, 1.0, 21)
LIMIT = 2 / 10.0


def _batches(notebook: Any, X: np.ndarray, y: np.ndarray, batch_size: int, seed: int) -> list:
    batches = notebook.call("minibatches", X, y, batch_size, seed=seed, listed=True)
    assert not notebook.last_mutated, "X and y must not be modified: shuffle an order of indices, not the data"
    assert isinstance(batches, list), f"minibatches must yield (X_batch, y_batch) pairs; it gave {batches!r}"
    return batches


def test_minibatches_cover(notebook: Any) -> None:
    """Every example exactly once, in batches of batch_size (2 points)."""
    X_t, y_t = np.random.default_rng(1).normal(size=(23, 3)), np.arange(23)
    batches = _batches(notebook, X_t, y_t, 5, 3)
    assert [len(y_b) for _, y_b in batches] == [5, 5, 5, 5, 3], "23 examples in batches of 5: sizes 5, 5, 5, 5, 3"
    assert sorted(np.concatenate([y_b for _, y_b in batches]).tolist()) == list(range(23)), \
        "each example must appear exactly once per epoch"
    assert all(np.array_equal(X_b, X_t[np.asarray(y_b)]) for X_b, y_b in batches), \
        "rows of X and y must stay paired"
    for size, sizes in ((23, [23]), (100, [23]), (1, [1] * 23)):
        got = [len(y_b) for _, y_b in _batches(notebook, X_t, y_t, size, 0)]
        assert got == sizes, f"23 examples in batches of {size}: sizes {sizes[:3]}{'...' if len(sizes) > 3 else ''}, not {got[:5]}"


def test_minibatches_seeded(notebook: Any) -> None:
    """The order is shuffled and reproducible from the seed (1 point)."""
    y_small = np.arange(12)
    small = [np.concatenate([y_b for _, y_b in _batches(notebook, np.zeros((12, 1)), y_small, 4, 0)]) for _ in (0, 1)]
    assert np.array_equal(small[0], small[1]), "the same seed must give the same order"
    assert not np.array_equal(small[0], y_small), "the order must be shuffled"
    X_t, y_t = np.zeros((40, 2)), np.arange(40)

    def order(seed: int) -> np.ndarray:
        return np.concatenate([y_b for _, y_b in _batches(notebook, X_t, y_t, 8, seed)])
    first, again, other = order(5), order(5), order(6)
    assert np.array_equal(first, again), "the same seed must give the same order"
    assert not np.array_equal(first, other), "another seed must give another order"
    assert not np.array_equal(first, np.arange(40)), "the order must be shuffled"


def test_largest_stable_lr(notebook: Any) -> None:
    """The largest stable learning rate on the grid, and is_stable itself (2 points)."""
    largest_stable = notebook.get("largest_stable")
    assert isinstance(largest_stable, float), "largest_stable should be a float"
    assert largest_stable == max(LRS[LRS < LIMIT]), \
        f"{largest_stable} is not the largest learning rate on the grid below the stability limit"
    bowl = Library("problems.quadratic", eigenvalues=(1.0, 10.0))  # the lab's bowl, limit 2/10 = 0.2
    assert notebook.call("is_stable", "sgd", bowl, 0.1) and not notebook.call("is_stable", "sgd", bowl, 0.25), \
        "is_stable('sgd', bowl, lr) should be True at lr = 0.1 and False at lr = 0.25 (above 2/λmax = 0.2)"
    steep = Library("problems.quadratic", eigenvalues=(1.0, 50.0))  # limit 2/50 = 0.04
    assert notebook.call("is_stable", "sgd", steep, 0.039) and not notebook.call("is_stable", "sgd", steep, 0.041), \
        "is_stable is wrong on a bowl with eigenvalues 1 and 50"
    assert not notebook.call("is_stable", "sgd", steep, 1.0), "a run that diverges is not stable"


CHECKS = {
    "test-sgd-first-step": rule_cell("sgd", "first-step"),
    "test-sgd-many-steps": rule_cell("sgd", "many-steps"),
    "test-sgd-contract": rule_cell("sgd", "contract"),
    "test-minibatches-cover": test_minibatches_cover,
    "test-minibatches-seeded": test_minibatches_seeded,
    "test-largest-stable-lr": test_largest_stable_lr,
}


#: The test cells these checks were written from (:func:`~optilab.grading.labs.cell_digest` of
#: each cell's source in ``solutions/``): a changed cell needs its check changed too.
DERIVED_FROM = {
    "test-sgd-first-step": "514688d89899259f",
    "test-sgd-many-steps": "2672682dfeaba2d4",
    "test-sgd-contract": "211f24b04ea69840",
    "test-minibatches-cover": "5d09312801f92ba3",
    "test-minibatches-seeded": "97c7cf252660cc9c",
    "test-largest-stable-lr": "3d7a4e7711ed53fc",
}
