r"""The training loops: :func:`run` an optimizer on a :class:`~optilab.problems.Problem`,
:func:`train` a model from :mod:`optilab.models` on a dataset.

Both drive an :class:`optilab.Optimizer`, so they accept a reference rule by name
(``"adam"``) or any function that follows the update-rule contract (a student's rule), with
the learning rate as a number or a schedule from :mod:`optilab.schedules`. Both are
reproducible (the same arguments give the same numbers) and stop early, marking the result
``diverged``, when the loss stops being a finite number; :func:`train` also when the loss grows
past :data:`MAX_GROWTH` times its value at the start.

>>> from optilab import problems
>>> trace = run("sgd", problems.quadratic((1.0, 10.0)), steps=50, lr=2 / 11)
>>> trace.params.shape, trace.diverged
((51, 2), False)
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from optilab.optimizer import Optimizer, check_dtype
from optilab.problems import Problem, noisy
from optilab.schedules import Schedule

__all__ = ["Trace", "run", "steps_to_tolerance", "sweep_lr", "History", "train", "MAX_GROWTH"]

LR = float | Schedule | None

#: :func:`train` calls a run diverged once a loss (a minibatch's, or the whole training set's
#: after an epoch) exceeds this multiple of the training loss at the start: a loss a thousand
#: times the untrained model's has left anything training could mean, even while it is finite.
MAX_GROWTH = 1e3


def _rule_name(rule: Callable | str) -> str:
    return rule if isinstance(rule, str) else getattr(rule, "__name__", "rule")


@dataclass
class Trace:
    r"""Everything that happened in one :func:`run`, one row per iterate.

    Row 0 is the start :math:`x_0`; row :math:`t` is the point after :math:`t` steps. A run
    that diverged is cut short: its arrays end at the step where it blew up.

    Attributes
    ----------
    params : ndarray of shape (steps + 1, dim)
        The iterates :math:`x_0, x_1, \dots`; for a rule whose model is judged at a point of its
        state (the rule table's ``evaluate_at``: schedule-free AdamW's ``x``), that point.
    losses : ndarray of shape (steps + 1,)
        :math:`f_t(x_t)` (the loss at step :math:`t`; for most problems simply :math:`f(x_t)`), at
        the iterates above.
    grad_norms : ndarray of shape (steps + 1,)
        :math:`\|g_t\|`, the norm of the gradient the optimizer was given at :math:`x_t`.
    lrs : ndarray of shape (steps,)
        The learning rate :math:`\alpha` used by each step (constant unless ``lr`` was a schedule).
    seconds : float
        Wall time of the run.
    rule : str
        The rule's name ("adam", or a student function's ``__name__``).
    diverged : bool
        True if the loss or the gradient became NaN or infinite, or :math:`\|x\|` passed ``max_norm``.
    problem : str
        The problem's name.
    minimizer : ndarray or None
        The problem's known minimizer :math:`x^*`.
    min_loss : float or None
        :math:`f(x^*)`, for :func:`steps_to_tolerance`.
    hyperparameters : dict
        The keyword arguments given to the optimizer (besides ``lr``).
    """

    params: np.ndarray
    losses: np.ndarray
    grad_norms: np.ndarray
    lrs: np.ndarray
    seconds: float
    rule: str
    diverged: bool
    problem: str = ""
    minimizer: np.ndarray | None = None
    min_loss: float | None = None
    hyperparameters: dict[str, Any] = field(default_factory=dict)

    @property
    def steps(self) -> int:
        """Number of steps taken (fewer than asked for if the run diverged)."""
        return len(self.losses) - 1

    @property
    def final_params(self) -> np.ndarray:
        """The last iterate."""
        return self.params[-1]

    @property
    def final_loss(self) -> float:
        """The loss at the last iterate (``inf`` if the run diverged)."""
        return float("inf") if self.diverged else float(self.losses[-1])

    def distances(self) -> np.ndarray:
        r""":math:`\|x_t - x^*\|` for every row (needs a problem with a known minimizer)."""
        if self.minimizer is None:
            raise ValueError(f"{self.problem or 'this problem'} has no known minimizer, so there is no distance to it")
        return np.linalg.norm(self.params - self.minimizer, axis=1)

    def __repr__(self) -> str:
        status = "diverged" if self.diverged else f"final loss {self.losses[-1]:.4g}"
        return f"<Trace {self.rule} on {self.problem or 'a problem'}: {self.steps} steps, {status}>"


def _reseeded(problem: Problem, seed: int | None) -> Problem:
    """The same problem with the noise of ``seed`` (only noisy problems have a seed)."""
    if seed is None or "sigma" not in problem.extras or "base" not in problem.extras:
        return problem
    return noisy(problem.extras["base"], problem.extras["sigma"], seed=seed)


def run(rule: Callable | str, problem: Problem, *, steps: int = 100, lr: LR = None,
        x0: Sequence[float] | np.ndarray | None = None, seed: int | None = None, max_norm: float = 1e6,
        allow_low_precision: bool = False, **hyperparameters: Any) -> Trace:
    r"""Run an optimizer on a problem for a number of steps and record every iterate.

    Each step :math:`t = 0, 1, \dots` computes :math:`g_t = \nabla f_t(x_t)`, lets the
    optimizer update :math:`x`, and projects the result onto the feasible set
    (``problem.project``; the identity for unconstrained problems).

    Parameters
    ----------
    rule : str or callable
        A reference rule's name (``"sgd"``, ``"adam"``, ...) or a rule function.
    problem : Problem
        What to minimise.
    steps : int
        Number of steps.
    lr : float or callable, optional
        Learning rate :math:`\alpha`, or a schedule ``t -> lr``; the rule's default if omitted.
    x0 : array of shape (dim,), optional
        Start; defaults to ``problem.x0``.
    seed : int, optional
        For a :func:`~optilab.problems.noisy` problem: draw its noise from this seed instead of
        the problem's own. Other problems are deterministic and ignore it.
    max_norm : float
        The run counts as diverged once :math:`\|x\|` exceeds this.
    allow_low_precision : bool
        Accept an ``x0`` in float16 (or bfloat16) and keep the iterate in it; otherwise only
        float32 and float64 are accepted (see :class:`~optilab.Optimizer`).
    **hyperparameters
        The rule's other hyperparameters (``momentum=0.9``, ``beta2=0.99``, ...).

    Returns
    -------
    Trace
    """
    if not isinstance(problem, Problem):
        raise TypeError(f"run needs a Problem from optilab.problems as its second argument, got {type(problem).__name__}")
    steps = int(steps)
    if steps < 0:
        raise ValueError(f"steps must be >= 0, got {steps}")
    problem = _reseeded(problem, seed)
    optimizer = Optimizer(rule, lr=lr, allow_low_precision=allow_low_precision, **hyperparameters)
    dtype = float
    if isinstance(x0, np.ndarray) and x0.dtype.kind not in "iub":  # integers are a start point: made float
        check_dtype("x0", x0.dtype, allow_low_precision=allow_low_precision)
        dtype = x0.dtype
    x = problem.project(np.array(problem.x0 if x0 is None else x0, dtype=dtype).reshape(-1))
    if x.shape != (problem.dim,):
        raise ValueError(f"x0 has {x.size} coordinates but {problem.name} is {problem.dim}-dimensional")

    params = np.empty((steps + 1, problem.dim))
    losses = np.empty(steps + 1)
    grad_norms = np.empty(steps + 1)
    lrs = np.empty(steps)
    diverged = False
    start = time.perf_counter()
    with np.errstate(over="ignore", invalid="ignore"):
        t = 0
        while True:
            loss = problem.loss(x, t)
            g = problem.grad(x, t)
            params[t], losses[t] = x, loss
            if optimizer.evaluate_at is not None:  # the model is judged at the state's point (schedule-free's x)
                params[t] = judged = optimizer.evaluation_point(x)
                losses[t] = problem.loss(judged, t)
            grad_norms[t] = math.sqrt(g @ g)  # what np.linalg.norm computes for a vector, without its checks
            if not (np.isfinite(loss) and np.isfinite(g).all() and math.sqrt(x @ x) <= max_norm):
                diverged = True
                break
            if t == steps:
                break
            lrs[t] = optimizer.lr_at(t)
            x = problem.project(optimizer.step(x, g))
            t += 1
    seconds = time.perf_counter() - start

    minimizer = None if problem.minimizer is None else problem.minimizer.copy()
    return Trace(
        params=params[: t + 1], losses=losses[: t + 1], grad_norms=grad_norms[: t + 1], lrs=lrs[:t],
        seconds=seconds, rule=optimizer.name, diverged=diverged, problem=problem.name,
        minimizer=minimizer, min_loss=problem.min_loss, hyperparameters=dict(hyperparameters),
    )


def steps_to_tolerance(trace: Trace, tol: float, *, measure: str = "loss") -> int | None:
    r"""The first step at which a run is within ``tol`` of the minimum, or None if it never is.

    Parameters
    ----------
    trace : Trace
        A run.
    tol : float
        The tolerance.
    measure : {"loss", "distance", "grad"}
        What must fall to ``tol`` or below: the loss gap :math:`f(x_t) - f(x^*)` (the loss itself
        when the minimum is unknown), the distance :math:`\|x_t - x^*\|`, or the gradient norm
        :math:`\|g_t\|`.

    Returns
    -------
    int or None
        The smallest :math:`t` that meets the tolerance (0 if the start already does).

    See Also
    --------
    optilab.theory.predicted_steps : the number of steps a per-step contraction rate predicts.
    """
    if measure == "loss":
        values = trace.losses - (trace.min_loss or 0.0)
    elif measure == "distance":
        values = trace.distances()
    elif measure == "grad":
        values = trace.grad_norms
    else:
        raise ValueError(f'measure must be "loss", "distance" or "grad", got {measure!r}')
    hits = np.flatnonzero(values <= tol)
    return int(hits[0]) if hits.size else None


def sweep_lr(rule: Callable | str, problem: Problem, lrs: Sequence[float], *, steps: int = 100,
             **hyperparameters: Any) -> dict[float, float]:
    """The final loss of one run per learning rate, everything else equal.

    Parameters
    ----------
    rule : str or callable
        The rule.
    problem : Problem
        The problem (every run starts at ``problem.x0`` unless ``x0=...`` is given).
    lrs : sequence of float
        The learning rates to try (``np.geomspace(1e-4, 1, 13)`` is a good sweep).
    steps : int
        Steps per run.
    **hyperparameters
        Passed to :func:`run` (the rule's hyperparameters, ``x0``, ``seed``, ``max_norm``).

    Returns
    -------
    dict of float to float
        ``{lr: final loss}``, with ``inf`` for runs that diverged; ready for
        :func:`optilab.plots.lr_sweep`.
    """
    return {float(lr): run(rule, problem, steps=steps, lr=float(lr), **hyperparameters).final_loss for lr in lrs}


@dataclass
class History:
    r"""Everything that happened in one :func:`train`.

    Attributes
    ----------
    train_loss, test_loss : ndarray of shape (epochs + 1,)
        The loss on the whole training and test set at the start (row 0) and after each epoch.
    train_accuracy, test_accuracy : ndarray of shape (epochs + 1,) or None
        The same for accuracy, for classifiers.
    step_loss : ndarray of shape (steps,)
        The minibatch loss at every step (before the step's update): the noisy curve.
    lrs : ndarray of shape (steps,)
        The learning rate used by every step.
    params : dict of str to ndarray
        The final parameters: for a rule with an evaluation point (schedule-free AdamW), that
        point, where the losses above are measured too.
    rule : str
        The rule's name.
    diverged : bool
        True if a loss or gradient became NaN or infinite, or a loss grew past ``max_growth``
        times the training loss at the start (:data:`MAX_GROWTH` unless :func:`train` was told
        otherwise); the arrays then end early.
    seconds : float
        Wall time.
    hyperparameters : dict
        The keyword arguments given to the optimizer (besides ``lr``).
    """

    train_loss: np.ndarray
    test_loss: np.ndarray
    train_accuracy: np.ndarray | None
    test_accuracy: np.ndarray | None
    step_loss: np.ndarray
    lrs: np.ndarray
    params: dict[str, np.ndarray]
    rule: str
    diverged: bool
    seconds: float
    hyperparameters: dict[str, Any] = field(default_factory=dict)

    @property
    def epochs(self) -> int:
        """Number of epochs completed."""
        return len(self.train_loss) - 1

    def __repr__(self) -> str:
        status = "diverged" if self.diverged else f"train loss {self.train_loss[-1]:.4g}"
        return f"<History {self.rule}: {self.epochs} epochs, {len(self.step_loss)} steps, {status}>"


def _unpack(data: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
    if hasattr(data, "X_train"):  # a Split from optilab.data.train_test_split, or WilsonData
        return data.X_train, data.y_train, data.X_test, data.y_test
    if isinstance(data, (tuple, list)) and len(data) == 4:
        return tuple(data)  # type: ignore[return-value]
    if isinstance(data, (tuple, list)) and len(data) == 2:
        return data[0], data[1], None, None
    raise TypeError(
        "data must be (X_train, y_train, X_test, y_test), (X_train, y_train), or the result of "
        "optilab.data.train_test_split"
    )


def _classifies(model: Any) -> bool:
    """Whether ``model`` has an accuracy: a classifier (an MLP made with ``task="regression"`` has the
    method, which refuses)."""
    return hasattr(model, "accuracy") and getattr(model, "task", "classification") == "classification"


def _evaluation(model: Any, X_train: np.ndarray, y_train: np.ndarray, X_test: np.ndarray | None,
                y_test: np.ndarray | None) -> Callable[[Any], tuple[float, float, float, float]]:
    """What a training loop records after each epoch, as a function of the parameters: (train loss,
    test loss, train accuracy, test accuracy), NaN where there is no test set or no accuracy."""
    if not _classifies(model):
        def measure(p: Any, X: np.ndarray, y: np.ndarray) -> tuple[float, float]:
            return model.loss(p, X, y), np.nan
    elif hasattr(model, "loss_and_accuracy"):  # one forward pass per set, not two
        measure = model.loss_and_accuracy
    else:
        def measure(p: Any, X: np.ndarray, y: np.ndarray) -> tuple[float, float]:
            return model.loss(p, X, y), model.accuracy(p, X, y)

    def evaluate(p: Any) -> tuple[float, float, float, float]:
        train_loss, train_acc = measure(p, X_train, y_train)
        test_loss, test_acc = measure(p, X_test, y_test) if X_test is not None else (np.nan, np.nan)
        return train_loss, test_loss, train_acc, test_acc
    return evaluate


def _all_finite(values: Mapping[str, np.ndarray]) -> bool:
    return all(np.isfinite(v).all() for v in values.values())


def train(rule: Callable | str, model: Any, data: Any, *, epochs: int = 10, batch_size: int | None = 32,
          lr: LR = None, seed: int = 0, max_growth: float = MAX_GROWTH, allow_low_precision: bool = False,
          scope: str | None = None, **hyperparameters: Any) -> History:
    r"""Train a model with minibatch steps of an optimizer, evaluating after every epoch.

    Parameters
    ----------
    rule : str or callable
        A reference rule's name or a rule function: a per-parameter rule, or a whole-model rule
        (CONTRACT.md, "Whole-model steps"; :mod:`optilab.model_rules`), which gets every parameter
        at once and, if it needs one, ``grad_fn``: the gradient of the same minibatch at other
        parameters. Its run's ``hyperparameters["gradient_calls"]`` counts the backward passes.
    model : LinearRegression, LogisticRegression or MLP
        From :mod:`optilab.models` (anything with ``init``, ``loss``, ``loss_and_grads``).
    data : tuple
        ``(X_train, y_train, X_test, y_test)``, ``(X_train, y_train)``, or the
        result of :func:`optilab.data.train_test_split` (its fields are used by name).
    epochs : int
        Passes over the training set.
    batch_size : int or None
        Examples per step; None for full-batch gradient descent (one step per epoch).
    lr : float or callable, optional
        Learning rate or schedule (``t`` counts steps, not epochs); the rule's default if omitted.
    seed : int
        Seeds the initial parameters (``model.init(seed)``) and the shuffling of every epoch.
    max_growth : float
        The run is marked ``diverged`` and stopped when a minibatch loss, or the training loss
        after an epoch, exceeds ``max_growth`` times the training loss at the start (or when a
        loss or gradient is NaN or infinite). Default :data:`MAX_GROWTH` (1000); ``np.inf``
        keeps only the non-finite test.
    allow_low_precision : bool
        Accept features in float16 (or bfloat16) and train the parameters in that dtype;
        otherwise features must be float32 or float64 (see :class:`~optilab.Optimizer`).
    scope : {"model", "parameter"}, optional
        Whether ``rule`` takes the whole model; by default, a whole-model rule says so itself
        (``rule.scope == "model"``, :func:`optilab.whole_model.is_whole_model`).
    **hyperparameters
        The rule's other hyperparameters.

    Returns
    -------
    History
    """
    from optilab.data import minibatches
    from optilab.whole_model import ModelOptimizer, is_whole_model

    X_train, y_train, X_test, y_test = _unpack(data)
    if not max_growth > 1:
        raise ValueError(f"max_growth must be a number above 1 (how many times the starting loss counts as "
                         f"diverged), got {max_growth}")
    for what, X, y in (("train", X_train, y_train), ("test", X_test, y_test)):
        if X is not None:
            check_dtype(f"X_{what}", np.asarray(X).dtype, allow_low_precision=allow_low_precision)
            if y is None or len(X) != len(y):
                got = "no labels" if y is None else f"{len(y)} labels or targets"
                raise ValueError(f"X_{what} has {len(X)} examples but y_{what} has {got}: give one label (or "
                                 f"target) per example, in the same order")
    if scope not in (None, "model", "parameter"):
        raise ValueError(f'scope must be "model" or "parameter"; got {scope!r}')
    whole = scope == "model" or (scope is None and is_whole_model(rule))
    optimizer = ModelOptimizer(rule, lr=lr, **hyperparameters) if whole else \
        Optimizer(rule, lr=lr, allow_low_precision=allow_low_precision, **hyperparameters)
    params = model.init(seed)
    if np.asarray(X_train).dtype.itemsize < 4:  # low precision, opted in: train the parameters in it too
        params = {key: value.astype(np.asarray(X_train).dtype) for key, value in params.items()}
    classifier = _classifies(model)
    n = len(X_train)
    size = n if batch_size is None else int(batch_size)
    if size < 1:
        raise ValueError(f"batch_size must be a positive integer or None, got {batch_size}")

    evaluate = _evaluation(model, X_train, y_train, X_test, y_test)

    rows = [evaluate(params)]
    start_loss = rows[0][0]
    limit = max_growth * start_loss if np.isfinite(start_loss) and start_loss > 0 else np.inf
    step_loss: list[float] = []
    lrs: list[float] = []
    diverged = False
    calls = 0  # backward passes
    start = time.perf_counter()
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for epoch in range(int(epochs)):
            for X_batch, y_batch in minibatches(X_train, y_train, size, seed=seed, epoch=epoch):
                loss, grads = model.loss_and_grads(params, X_batch, y_batch)
                calls += 1
                if not (np.isfinite(loss) and _all_finite(grads)):
                    diverged = True
                    break
                step_loss.append(float(loss))
                if loss > limit:
                    diverged = True
                    break
                lrs.append(optimizer.lr_at(optimizer.t))
                if whole:
                    def grad_fn(p: dict, X_batch: Any = X_batch, y_batch: Any = y_batch) -> dict:
                        nonlocal calls
                        calls += 1
                        return model.loss_and_grads(p, X_batch, y_batch)[1]

                    params = optimizer.step(params, grads, grad_fn)
                else:
                    params = optimizer.step(params, grads)
            if diverged:
                break
            rows.append(evaluate(optimizer.evaluation_point(params)))
            if not np.isfinite(rows[-1][0]) or rows[-1][0] > limit:
                diverged = True
                break
    seconds = time.perf_counter() - start

    table = np.array(rows, dtype=float)
    return History(
        train_loss=table[:, 0], test_loss=table[:, 1] if X_test is not None else np.array([]),
        train_accuracy=table[:, 2] if classifier else None,
        test_accuracy=table[:, 3] if classifier and X_test is not None else None,
        step_loss=np.array(step_loss), lrs=np.array(lrs), params=optimizer.evaluation_point(params), rule=optimizer.name,
        diverged=diverged, seconds=seconds,
        hyperparameters={**hyperparameters, "gradient_calls": calls} if whole else dict(hyperparameters),
    )
