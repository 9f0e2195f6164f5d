"""The L-BFGS cases that tests/test_second_order.py compares with ``torch.optim.LBFGS``: an L2-regularised binary
logistic regression, in NumPy for optilab and in torch for the reference (float64 both)."""

from __future__ import annotations

from typing import Any

import numpy as np

from optilab import data, models, second_order


def breast_cancer() -> tuple[np.ndarray, np.ndarray]:
    """Lesson 11's data: all 569 examples, standardised."""
    X, y = data.load_breast_cancer()
    return data.standardize(X)[0], y.astype(float)


def random_case(rng: np.random.Generator, n: int = 80, d: int = 6) -> tuple[np.ndarray, np.ndarray]:
    """Random features of varied scales and noisy labels of a random linear rule."""
    X = rng.normal(size=(n, d)) * rng.uniform(0.3, 3.0, size=d)
    y = (X @ rng.normal(size=d) + rng.normal(scale=1.0, size=n) > 0).astype(float)
    return X, y


def objective(X: np.ndarray, y: np.ndarray, l2: float) -> second_order.Objective:
    """Mean logistic loss + l2/2 ‖w‖² (bias not penalised) on the flat vector (w, b), through optilab's model."""
    model = models.LogisticRegression(X.shape[1])
    base = second_order.model_objective(model, X, y.astype(int), model.init())
    mask = np.r_[np.ones(X.shape[1]), 0.0]

    def f(x: np.ndarray) -> tuple[float, np.ndarray]:
        loss, grad = base(x)
        return loss + 0.5 * l2 * float(np.sum((mask * x) ** 2)), grad + l2 * mask * x

    return f


def ours(X: np.ndarray, y: np.ndarray, *, l2: float, iterations: int, history: int, lr: float) -> np.ndarray:
    """optilab's L-BFGS from zero: the final (w, b)."""
    run = second_order.lbfgs(objective(X, y, l2), np.zeros(X.shape[1] + 1), iterations=iterations, history=history,
                             lr=lr, tolerance_grad=0.0, tolerance_change=0.0)
    return run.final


def theirs(torch: Any, X: np.ndarray, y: np.ndarray, *, l2: float, iterations: int, history: int,
           lr: float) -> np.ndarray:
    """torch.optim.LBFGS from zero, one ``step(closure)`` of ``max_iter=iterations``: the final (w, b)."""
    Xt, yt = torch.tensor(X, dtype=torch.float64), torch.tensor(y, dtype=torch.float64)
    w = torch.zeros(X.shape[1], dtype=torch.float64, requires_grad=True)
    b = torch.zeros((), dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.LBFGS([w, b], lr=lr, max_iter=iterations, history_size=history, tolerance_grad=0.0,
                                  tolerance_change=0.0)

    def closure():
        optimizer.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(Xt @ w + b, yt) + 0.5 * l2 * torch.sum(w * w)
        loss.backward()
        return loss

    optimizer.step(closure)
    return np.r_[w.detach().numpy(), b.detach().numpy()]


#: The committed cases on the breast-cancer data: (iterations, history, lr).
CASES = {"it1": (1, 10, 1.0), "it2": (2, 10, 1.0), "it3": (3, 10, 1.0), "it5": (5, 10, 1.0), "it20": (20, 10, 1.0),
         "it60": (60, 10, 1.0), "it25-h3": (25, 3, 1.0), "it40-h5-lr0.5": (40, 5, 0.5)}
L2 = 1e-3
