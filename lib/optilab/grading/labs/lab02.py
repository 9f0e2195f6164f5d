"""Lab 2 (momentum and Nesterov): the checks of its test cells, run in the grader's process."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np

from optilab.grading.labs import rule_cell

#: The lab's setup: the tolerance, the grids, and the ravine's condition number (eigenvalues 1 and 100).
TOL = 1e-6
GD_LRS = [0.005, 0.01, 0.015, 0.0198, 0.021]
MOMENTUM_LRS, MUS = [0.01, 0.02, 0.033, 0.05], [0.5, 0.67, 0.8, 0.9]
KAPPA = 100.0


@lru_cache(maxsize=None)
def heavy_ball_steps(lr: float, mu: float, max_steps: int) -> int | None:
    """Steps of heavy-ball momentum (μ = 0: gradient descent) from (-4, 1) on the ravine to loss <= TOL."""
    A, x, v = np.diag([1.0, 100.0]), np.array([-4.0, 1.0]), np.zeros(2)
    for t in range(max_steps + 1):
        if 0.5 * x @ A @ x <= TOL:
            return t
        v = mu * v + A @ x
        x = x - lr * v
    return None


def test_steps_needed(notebook: Any) -> None:
    """steps_needed counts the steps to the tolerance (1 point)."""
    gd = notebook.call("steps_needed", "sgd", 0.0198, 600)
    assert gd is not None, "gradient descent at lr 0.0198 reaches tol within 600 steps"
    expected = heavy_ball_steps(0.0198, 0.0, 600)
    assert gd == expected, f"steps_needed('sgd', 0.0198, 600) is {gd!r}; gradient descent needs {expected} steps"
    hb = notebook.call("steps_needed", "momentum", 0.033, 150, momentum=0.8)
    expected = heavy_ball_steps(0.033, 0.8, 150)
    assert hb == expected, (f"steps_needed('momentum', 0.033, 150, momentum=0.8) is {hb!r}; momentum needs "
                            f"{expected} steps (pass the hyperparameters on to training.run)")
    never = notebook.call("steps_needed", "sgd", 0.005, 600)
    assert never is None, f"a run that never reaches tol needs None steps, not {never!r}"


def test_best_settings(notebook: Any) -> None:
    """The best settings on the grids, and the speed-up they give (2 points)."""
    best_gd, best_momentum = notebook.get("best_gd"), notebook.get("best_momentum")
    assert len(best_gd) == 2 and len(best_momentum) == 3, "best_gd is (lr, steps); best_momentum is (lr, mu, steps)"
    gd = {lr: heavy_ball_steps(lr, 0.0, 600) for lr in GD_LRS}
    gd = {lr: s for lr, s in gd.items() if s is not None}
    hb = {(lr, mu): heavy_ball_steps(lr, mu, 150) for lr in MOMENTUM_LRS for mu in MUS}
    hb = {k: s for k, s in hb.items() if s is not None}
    best = min(gd.items(), key=lambda kv: kv[1])
    assert best_gd[1] == min(gd.values()) and gd.get(best_gd[0]) == best_gd[1], f"best_gd should be {best}"
    assert best_momentum[2] == min(hb.values()) and hb.get(tuple(best_momentum[:2])) == best_momentum[2], \
        "best_momentum is not the best on the grid"
    assert best_gd[1] / best_momentum[2] >= 0.5 * np.sqrt(KAPPA), "the speed-up is too small"


CHECKS = {
    "test-momentum-first-step": rule_cell("momentum", "first-step"),
    "test-momentum-many-steps": rule_cell("momentum", "many-steps"),
    "test-momentum-conventions": rule_cell("momentum", "conventions"),
    "test-momentum-contract": rule_cell("momentum", "contract"),
    "test-nesterov-first-step": rule_cell("nesterov", "first-step"),
    "test-nesterov-many-steps": rule_cell("nesterov", "many-steps"),
    "test-nesterov-conventions": rule_cell("nesterov", "conventions"),
    "test-nesterov-contract": rule_cell("nesterov", "contract"),
    "test-steps-needed": test_steps_needed,
    "test-best-settings": test_best_settings,
}


#: The test cells these checks were written from (:func:`~optilab.grading.labs.cell_digest` of
#: each cell's source in ``solutions/``): a changed cell needs its check changed too.
DERIVED_FROM = {
    "test-momentum-first-step": "2a46e1f78ddaf829",
    "test-momentum-many-steps": "4cb304ccdc3922c2",
    "test-momentum-conventions": "c979d568504f08b2",
    "test-momentum-contract": "3edc568fe1d73c6d",
    "test-nesterov-first-step": "a5036010b6c5e47b",
    "test-nesterov-many-steps": "707b51d012a87422",
    "test-nesterov-conventions": "0ca7e13fe94d2568",
    "test-nesterov-contract": "3905588374b0ccda",
    "test-steps-needed": "f17359d07b742331",
    "test-best-settings": "7ee706793262e7a9",
}
