"""Lab 4 (Adam and AdamW): the checks of its test cells, run in the grader's process."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np

from optilab import kernels
from optilab.grading.labs import rule_cell
from optilab.grading.notebook import Ref, Reference


@lru_cache(maxsize=None)
def _reference_l2_decay(weight_decay: float) -> float:
    """The reference Adam with L2 in the gradient (torch-style weight_decay): 100 steps from 1.0, gradient 0."""
    p, s = np.array(1.0), {}
    for _ in range(100):
        p, s = kernels.adam(p, np.array(0.0), s, lr=0.01, weight_decay=weight_decay)
    return float(p)


def test_bias_correction(notebook: Any) -> None:
    """adam_uncorrected and first_steps (2 points)."""
    assert len(notebook.call("first_steps", Ref("adam_uncorrected"), 3)) == 3, "first_steps(rule, n) returns n step sizes"
    assert np.allclose(notebook.call("first_steps", Reference("adam"), 5), 1e-3 / (1 + 1e-8), rtol=1e-9), \
        "first_steps is wrong: with Adam's bias correction every step of a constant gradient is lr"
    p, s = np.random.default_rng(4).normal(size=(2, 5))
    q, state = notebook.call("adam_uncorrected", p, s, {"t": 3, "m": 0.5 * s, "v": s**2},
                             lr=0.1, beta1=0.8, beta2=0.9, eps=1e-6)
    m, v = 0.8 * 0.5 * s + 0.2 * s, 0.9 * s**2 + 0.1 * s**2
    assert np.allclose(q, p - 0.1 * m / (np.sqrt(v) + 1e-6)) and state["t"] == 4, \
        "adam_uncorrected is wrong from a given state (t, m, v): it steps with lr·m/(√v + ε) and stores t + 1"
    t = np.arange(1, 21)
    expected = 1e-3 * (1 - 0.9**t) / (np.sqrt(1 - 0.999**t) + 1e-8)  # m and v of a constant gradient 1
    assert np.allclose(notebook.call("first_steps", Ref("adam_uncorrected"), 20), expected, rtol=1e-9), \
        "adam_uncorrected's steps from an empty state are wrong: m and v start at zero and t at 0"


def test_decay(notebook: Any) -> None:
    """adam_l2 and after_decay (2 points)."""
    assert isinstance(notebook.call("after_decay", Ref("adam_l2"), 0.1), float), "after_decay returns a float"
    assert np.isclose(notebook.call("after_decay", Reference("adamw"), 0.3), (1 - 0.01 * 0.3) ** 100, rtol=1e-9), \
        "after_decay is wrong: with AdamW and a zero gradient, each step multiplies the parameter by 1 - lr·λ"
    g = np.random.default_rng(5).normal(size=(2, 4))
    a, _ = notebook.call("adam_l2", g[0], g[1], {}, lr=0.05, weight_decay=0.2)
    b, _ = kernels.adam(g[0], g[1], {}, lr=0.05, weight_decay=0.2)
    assert np.allclose(a, b), "adam_l2 must step with the gradient g + λ·p"
    assert np.isclose(notebook.call("after_decay", Ref("adam_l2"), 0.3), _reference_l2_decay(0.3), rtol=1e-9), \
        "adam_l2 is wrong over 100 steps: it must pass lr and weight_decay on and keep its state"


CHECKS = {
    "test-adam-first-step": rule_cell("adam", "first-step"),
    "test-adam-many-steps": rule_cell("adam", "many-steps"),
    "test-adam-conventions": rule_cell("adam", "conventions"),
    "test-adam-contract": rule_cell("adam", "contract"),
    "test-adamw-first-step": rule_cell("adamw", "first-step"),
    "test-adamw-many-steps": rule_cell("adamw", "many-steps"),
    "test-adamw-conventions": rule_cell("adamw", "conventions"),
    "test-adamw-contract": rule_cell("adamw", "contract"),
    "test-bias-correction": test_bias_correction,
    "test-decay": test_decay,
}


#: The test cells these checks were written from (:func:`~optilab.grading.labs.cell_digest` of
#: each cell's source in ``solutions/``): a changed cell needs its check changed too.
DERIVED_FROM = {
    "test-adam-first-step": "e7bd21e7b68a69d7",
    "test-adam-many-steps": "136f95087a7bc7f5",
    "test-adam-conventions": "23c00b49f495a306",
    "test-adam-contract": "46d0f42249733cdf",
    "test-adamw-first-step": "023a5b021e2168f6",
    "test-adamw-many-steps": "5413e04293f12f69",
    "test-adamw-conventions": "dd5ebb1fabd10c38",
    "test-adamw-contract": "3f76f0ba18da1dd2",
    "test-bias-correction": "540a6ab8ed059c7a",
    "test-decay": "6df2a11910c91f75",
}
