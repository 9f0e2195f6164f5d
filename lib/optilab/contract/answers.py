r"""Visible checks of the labs' other answers: the helpers and results that are not update rules.

``optilab.check("minibatches", minibatches)`` prints ✓ or ✗ for each property of the answer, as
it does for a rule, and the lab's test cell of a point group asserts the same properties
(``group=``), so Validate fails exactly when one of them fails. An answer that is a value
(``largest_stable``, ``best_gd``, ...) is checked against the lab's settings, which the check cell
passes by name (``optilab.check("largest_stable", largest_stable, lrs=lrs, limit=theory)``).

These are the checks a student sees; nothing here decides a grade. The graded check of each test
cell (:mod:`optilab.grading.labs`) asserts at least what these do, with other inputs too and every
number recomputed, so that an answer failing here also fails its graded check and a kernel's own
result never differs from the grader's for an honest answer.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["ANSWERS", "Answer", "check_answer", "state_size", "state_problem", "STATE_EXAMPLE"]


class Wrong(AssertionError):
    """A property of an answer does not hold; the message says what is wrong in the student's terms."""


def _need(condition: Any, message: str) -> None:
    if not condition:
        raise Wrong(message)


@dataclass(frozen=True)
class Answer:
    """An answer's visible properties: (point group, what holds, function of the answer and the settings).

    An answer whose check builds its own properties and names the recognised mistakes (lab 7's) gives
    it as ``judged_by(answer, group=..., **given) -> CheckResult`` instead, with its point groups in
    ``parts``."""

    properties: tuple[tuple[str, str, Callable[..., None]], ...] = ()
    given: tuple[str, ...] = ()  # the lab's settings the check needs, passed by name
    what: str = "function"        # "function" or "value": what the check cell passes
    judged_by: Callable[..., Any] | None = None
    parts: tuple[str, ...] = ()

    @property
    def groups(self) -> tuple[str, ...]:
        if self.judged_by is not None:
            return self.parts
        return tuple(dict.fromkeys(group for group, _, _ in self.properties))


# -- lab 1 -------------------------------------------------------------------------------------

_X = np.random.default_rng(1).normal(size=(23, 3))
_Y = np.arange(23)


def _batches(minibatches: Callable, X: np.ndarray, y: np.ndarray, size: int, seed: int) -> list:
    return [(np.asarray(Xb), np.asarray(yb)) for Xb, yb in minibatches(X, y, size, seed=seed)]


def _unchanged(minibatches: Callable) -> None:
    X, y = _X.copy(), _Y.copy()
    _batches(minibatches, X, y, 5, 3)
    _need(np.array_equal(X, _X) and np.array_equal(y, _Y),
          "X and y must not be modified, and yours changed them: shuffle an order of indices "
          "(rng.permutation), not the data in place")


def _sizes(minibatches: Callable) -> None:
    got = [len(yb) for _, yb in _batches(minibatches, _X.copy(), _Y.copy(), 5, 3)]
    _need(got == [5, 5, 5, 5, 3], f"23 examples in batches of 5 should come in sizes [5, 5, 5, 5, 3], not {got}")


def _once(minibatches: Callable) -> None:
    labels = sorted(np.concatenate([yb for _, yb in _batches(minibatches, _X.copy(), _Y.copy(), 5, 3)]).tolist())
    _need(labels == list(range(23)), "each example must appear exactly once per epoch (some are missing or repeated)")


def _paired(minibatches: Callable) -> None:
    batches = _batches(minibatches, _X.copy(), _Y.copy(), 5, 3)
    _need(all(np.array_equal(Xb, _X[yb]) for Xb, yb in batches),
          "a batch's rows of X do not belong with its labels y: index X and y with the same indices")


def _order(minibatches: Callable, seed: int) -> np.ndarray:
    y = np.arange(12)
    return np.concatenate([yb for _, yb in _batches(minibatches, np.zeros((12, 1)), y, 4, seed)])


def _same_seed(minibatches: Callable) -> None:
    _need(np.array_equal(_order(minibatches, 0), _order(minibatches, 0)),
          "the same seed gave two different orders: draw the order from np.random.default_rng(seed)")


def _shuffled(minibatches: Callable) -> None:
    _need(not np.array_equal(_order(minibatches, 0), np.arange(12)), "the order is not shuffled")


def _bowl(*eigenvalues: float) -> Any:
    from optilab import problems
    return problems.quadratic(eigenvalues=eigenvalues)


def _stable_below(is_stable: Callable) -> None:
    _need(is_stable("sgd", _bowl(1.0, 10.0), 0.1),
          "is_stable('sgd', bowl, 0.1) should be True on the bowl with eigenvalues 1 and 10 (0.1 < 2/λmax = 0.2)")


def _unstable_above(is_stable: Callable) -> None:
    _need(not is_stable("sgd", _bowl(1.0, 10.0), 0.25),
          "is_stable('sgd', bowl, 0.25) should be False on the bowl with eigenvalues 1 and 10 (0.25 > 2/λmax = 0.2)")


def _uses_problem(is_stable: Callable) -> None:
    _need(not is_stable("sgd", _bowl(1.0, 50.0), 0.1),
          "is_stable must run the problem it is given: on a bowl with eigenvalues 1 and 50, lr = 0.1 diverges")


def _a_float(value: Any, **_: Any) -> None:
    _need(isinstance(value, float), f"it should be a float, not a {type(value).__name__}")


def _on_grid(value: Any, *, lrs: Any, **_: Any) -> None:
    _need(any(np.isclose(value, lr, rtol=1e-12) for lr in np.ravel(lrs)), f"{value!r} is not a learning rate of lrs")


def _below_limit(value: Any, *, limit: float, **_: Any) -> None:
    _need(value < limit, f"{value} is above the stability limit 2/λmax = {limit}")


# -- lab 2 -------------------------------------------------------------------------------------

def _reaches(steps_needed: Callable) -> None:
    got = steps_needed("sgd", 0.0198, 600)
    _need(isinstance(got, (int, float, np.number)) and not isinstance(got, bool) and float(got).is_integer(),
          f"steps_needed('sgd', 0.0198, 600) should be a step count (gradient descent reaches tol), not {got!r}")


def _never(steps_needed: Callable) -> None:
    got = steps_needed("sgd", 0.005, 600)
    _need(got is None, f"a run that never reaches tol needs None steps, not {got!r}")


def _passes_hyper(steps_needed: Callable) -> None:
    a, b = steps_needed("momentum", 0.033, 150, momentum=0.8), steps_needed("momentum", 0.033, 150, momentum=0.5)
    _need(a != b, "steps_needed must pass the hyperparameters (here momentum) on to training.run: "
                  "momentum=0.8 and momentum=0.5 gave the same count")


def _length(value: Any) -> int | None:
    try:
        return len(value)
    except TypeError:
        return None


def _fewest(counts: Any) -> int:
    return min(c for c in counts if c is not None)


def _gd_shape(best_gd: Any, **_: Any) -> None:
    _need(_length(best_gd) == 2, f"best_gd is the pair (lr, steps), not {best_gd!r}")


def _gd_fewest(best_gd: Any, *, steps_needed: Callable, gd_lrs: Any, **_: Any) -> None:
    fewest = _fewest(steps_needed("sgd", lr, 600) for lr in gd_lrs)
    _need(best_gd[1] == fewest, f"best_gd has {best_gd[1]} steps; the fewest on gd_lrs (by your steps_needed) is {fewest}")


def _hb_shape(best_momentum: Any, **_: Any) -> None:
    _need(_length(best_momentum) == 3,
          f"best_momentum is the triple (lr, mu, steps), not {best_momentum!r}")


def _hb_fewest(best_momentum: Any, *, steps_needed: Callable, momentum_rule: Callable, momentum_lrs: Any, mus: Any,
               **_: Any) -> None:
    fewest = _fewest(steps_needed(momentum_rule, lr, 150, momentum=mu) for lr in momentum_lrs for mu in mus)
    _need(best_momentum[2] == fewest,
          f"best_momentum has {best_momentum[2]} steps; the fewest on momentum_lrs × mus (by your steps_needed) is {fewest}")


def _hb_faster(best_momentum: Any, *, best_gd: Any, **_: Any) -> None:
    _need(best_momentum[2] < best_gd[1], "momentum should need fewer steps than gradient descent")


# -- lab 3 -------------------------------------------------------------------------------------

def _pair(best_final_loss: Callable) -> None:
    got = best_final_loss("sgd", [0.01])
    _need(_length(got) == 2, f"best_final_loss returns the pair (best_lr, best_loss), not {got!r}")


def _picks(best_final_loss: Callable) -> None:
    lr = best_final_loss("sgd", [0.001, 0.01, 1.0])[0]
    _need(lr == 0.01, f"best_final_loss('sgd', [0.001, 0.01, 1.0]) picked lr {lr!r}; 0.01 is best "
                      "(0.001 is too slow and 1.0 diverges: a diverged run's loss counts as inf)")


def _three(results: Any, **_: Any) -> None:
    _need(isinstance(results, dict) and set(results) == {"sgd", "adagrad", "rmsprop"},
          "results needs the keys 'sgd', 'adagrad' and 'rmsprop'")


def _wins(results: Any, **_: Any) -> None:
    _need(max(results["adagrad"][1], results["rmsprop"][1]) < results["sgd"][1] / 10,
          "adagrad and rmsprop should end at least ten times below sgd at their best learning rates")


# -- lab 4 -------------------------------------------------------------------------------------

def _uncorrected_first(adam_uncorrected: Callable) -> None:
    new, _ = adam_uncorrected(np.array(0.0), np.array(1.0), {}, lr=1e-3)
    expected = 1e-3 * 0.1 / (np.sqrt(0.001) + 1e-8)
    _need(np.isclose(abs(float(new)), expected, rtol=1e-9),
          f"the first step from an empty state should be lr·(1−β₁)/(√(1−β₂) + ε) = {expected:.6g} (about 3.16·lr), "
          f"not {abs(float(new)):.6g}: step with m and v themselves")


def _uncorrected_state(adam_uncorrected: Callable) -> None:
    p, g = np.array([1.0, -2.0]), np.array([0.5, 1.0])
    new, state = adam_uncorrected(p, g, {"t": 2, "m": 0.5 * g, "v": g**2}, lr=0.1, beta1=0.8, beta2=0.9, eps=1e-6)
    m, v = 0.8 * 0.5 * g + 0.2 * g, 0.9 * g**2 + 0.1 * g**2
    _need(np.allclose(new, p - 0.1 * m / (np.sqrt(v) + 1e-6)) and state.get("t") == 3,
          "from a given state (t, m, v) the step should be lr·m/(√v + ε) with the updated m and v, and t + 1 stored")


def _n_sizes(first_steps: Callable) -> None:
    from optilab import kernels
    _need(len(first_steps(kernels.adam, 3)) == 3, "first_steps(rule, n) returns n step sizes")


def _adam_constant(first_steps: Callable) -> None:
    from optilab import kernels
    sizes = np.asarray(first_steps(kernels.adam, 5), dtype=float)
    _need(np.allclose(sizes, 1e-3 / (1 + 1e-8), rtol=1e-9),
          f"with Adam's bias correction every step of a constant gradient is lr = 0.001; first_steps gave {sizes}")


def _l2_step(adam_l2: Callable) -> None:
    from optilab import kernels
    mine, _ = adam_l2(np.ones(2), np.zeros(2), {}, lr=0.05, weight_decay=0.2)
    l2, _ = kernels.adam(np.ones(2), np.zeros(2), {}, lr=0.05, weight_decay=0.2)  # the gradient g + λ·p
    _need(np.allclose(mine, l2), "adam_l2 must step with the gradient g + λ·p (here g = 0: the step comes from λ·p alone)")


def _decay_float(after_decay: Callable) -> None:
    from optilab import kernels
    got = after_decay(kernels.adamw, 0.1)
    _need(isinstance(got, float), f"after_decay returns a float, not a {type(got).__name__}")


def _decay_adamw(after_decay: Callable) -> None:
    from optilab import kernels
    got, expected = after_decay(kernels.adamw, 0.3), (1 - 0.01 * 0.3) ** 100
    _need(np.isclose(got, expected, rtol=1e-9),
          f"with AdamW and a zero gradient each step multiplies the parameter by 1 − lr·λ: after 100 steps "
          f"{expected:.6f}, not {got!r}")


# -- labs 5 and 6: the experiment -------------------------------------------------------------------
# Both labs tune the rules of their grids on lab 5's MLP and report the same values; these checks
# take the lab's names from its settings (``lrs``: the rules of the learning curves, ``grids``:
# the rules of the tuning and the final runs).

def _six(histories: Any, *, lrs: Any, **_: Any) -> None:
    _need(isinstance(histories, dict), f"histories must be a dict, not a {type(histories).__name__}")
    missing = [f"reference {name}" for name in lrs if f"reference {name}" not in histories]
    _need(not missing, f"histories has no key {missing[0]!r}: it needs 'your NAME' and 'reference NAME' "
                       f"for each rule of LRS ({', '.join(lrs)})" if missing else "")


def _yours(histories: Any, *, lrs: Any, **_: Any) -> None:
    _need(isinstance(histories, dict), f"histories must be a dict, not a {type(histories).__name__}")
    missing = [f"your {name}" for name in lrs if f"your {name}" not in histories]
    _need(not missing, f"histories has no key {missing[0]!r}: it needs 'your NAME' for each rule of LRS "
                       f"({', '.join(lrs)})" if missing else "")


def _mean(interval: Callable) -> None:
    mean, _ = interval(np.array([1.0, 3.0]))
    _need(np.isclose(mean, 2.0), f"interval([1, 3]) gives the mean {mean}, expected 2")


def _half(interval: Callable) -> None:
    _, half = interval(np.array([1.0, 3.0]))
    expected = 12.71 * np.std([1.0, 3.0], ddof=1) / np.sqrt(2)
    _need(np.isclose(half, expected, rtol=1e-3),
          f"interval([1, 3]) gives the half-width {half}, expected T95[2]·s/√2 = {expected:.4g} "
          "(s the sample standard deviation, ddof=1)")


def _keys(value: Any, what: str, grids: Any) -> None:
    _need(not (isinstance(value, dict) and not value),
          f"{what} is empty: write the answer above and run the cells that fill it")
    _need(isinstance(value, dict) and set(value) == set(grids),
          f"{what} needs the keys {', '.join(map(repr, grids))} (one per rule of GRIDS)")


def _per_seed(tuning_losses: Any, *, grids: Any, seeds: Any, **_: Any) -> None:
    _keys(tuning_losses, "tuning_losses", grids)
    for name, losses in tuning_losses.items():
        _need(isinstance(losses, dict) and set(losses) == set(grids[name]),
              f"tuning_losses[{name!r}] needs every lr of GRIDS[{name!r}] as a key")
        for lr, values in losses.items():
            _need(np.shape(values) == (len(seeds),),
                  f"tuning_losses[{name!r}][{lr:.3g}] has shape {np.shape(values)}: it needs one final loss per "
                  "seed in SEEDS")


def _best_on_grid(best_lr: Any, *, grids: Any, **_: Any) -> None:
    _keys(best_lr, "best_lr", grids)
    for name, lr in best_lr.items():
        _need(lr in list(grids[name]), f"best_lr[{name!r}] = {lr} is not a learning rate of GRIDS[{name!r}]")


def _final_shape(final: Any, *, grids: Any, seeds: Any, **_: Any) -> None:
    _keys(final, "final", grids)
    for name, parts in final.items():
        for part in ("train", "test"):
            _need(isinstance(parts, dict) and np.shape(parts.get(part)) == (len(seeds),),
                  f"final[{name!r}][{part!r}] needs one value per seed in SEEDS")


# -- lab 6: the optimizer state, counted -------------------------------------------------------

#: The parameters the visible check of ``state_numbers`` gives it: a 4×3 matrix and a 3-vector.
STATE_EXAMPLE = ((4, 3), (3,))


def state_size(name: str, shapes: tuple[tuple[int, ...], ...]) -> int:
    """The numbers of state the contract gives ``name`` for parameters of these shapes: two arrays of
    the parameter's shape for AdamW, one for Lion; for Adafactor one number per row and one per column
    of a matrix, and a full ``v`` for a vector (CONTRACT.md, "Rules that do not fit one array")."""
    size = {"adamw": lambda s: 2 * int(np.prod(s)), "lion": lambda s: int(np.prod(s)),
            "adafactor": lambda s: s[0] + s[1] if len(s) == 2 else int(np.prod(s))}[name]
    return sum(size(s) for s in shapes)


def described(shapes: tuple[tuple[int, ...], ...]) -> str:
    """``((4, 3), (3,))`` as "a 4×3 matrix and a 3-vector"."""
    words = ["a " + "×".join(map(str, s)) + (" matrix" if len(s) == 2 else "-vector") for s in shapes]
    return ", ".join(words[:-1]) + " and " + words[-1]


def state_problem(name: str, shapes: tuple[tuple[int, ...], ...], got: Any) -> str | None:
    """What is wrong with ``got``, the count of ``state_numbers`` for the rule ``name`` on parameters of
    these shapes (None when it is the contract's count)."""
    want = state_size(name, shapes)
    number = np.asarray(got) if isinstance(got, (int, float, np.number, np.ndarray)) and \
        not isinstance(got, bool) else None
    if number is not None and number.shape == () and number.dtype.kind in "iuf" and number == want:
        return None
    return (f"state_numbers({name}) on {described(shapes)} is {got!r}, expected {want}: count the entries of the "
            "float arrays in each parameter's state after one step (an int)")


def _state_count(name: str) -> Callable[[Callable], None]:
    def prop(state_numbers: Callable) -> None:
        from optilab.kernels import RULES
        params = {f"p{i}": np.zeros(shape) for i, shape in enumerate(STATE_EXAMPLE)}
        problem = state_problem(name, STATE_EXAMPLE, state_numbers(RULES[name], params))
        _need(problem is None, problem or "")
    return prop


# -- lab 7: a schedule, clipping, SAM and the experiment ----------------------------------------
# warmup_cosine, clip_grads, clip_by_global_norm and sam have checks of their own, which name the
# recognised mistakes (optilab.contract.schedule_check, clip_check, sam_check): the grader runs
# them too, with its own inputs added, through plain-data calls to the student's process.

def _schedule(warmup_cosine: Callable, *, group: str | None) -> Any:
    from optilab.contract.schedule_check import schedule_result
    return schedule_result(warmup_cosine, part=group)


def _clip_grads(clip_grads: Callable, *, group: str | None) -> Any:
    from optilab.contract.clip_check import clip_grads_result
    return clip_grads_result(lambda grads, max_norm: (clip_grads(grads, max_norm), grads))


def _clip(clip_by_global_norm: Callable, *, group: str | None, clip_grads: Callable) -> Any:
    from optilab.contract.clip_check import clip_result
    from optilab.kernels import RULES
    from optilab.whole_model import wrapped_steps

    def run(rule: str, max_norm: float, params: dict, grads: list, lrs: list, **hyper: Any) -> list:
        return wrapped_steps(clip_by_global_norm, RULES[rule], max_norm, params, grads, lrs, **hyper)
    own = None if clip_grads is None else (lambda grads, max_norm: (clip_grads(grads, max_norm), grads))
    return clip_result(run, clip_grads=own)


def _sam(sam: Callable, *, group: str | None) -> Any:
    from optilab.contract.sam_check import SAM_SIZES, sam_result
    from optilab.whole_model import sam_steps

    def run(X: np.ndarray, y: np.ndarray, params: dict, lrs: list, **hyper: Any) -> dict:
        return sam_steps(sam, SAM_SIZES, X, y, params, lrs, **hyper)
    return sam_result(run, part=group)


def _every_setup(val_loss: Any, *, setups: Any, seeds: Any, **_: Any) -> None:
    _need(isinstance(val_loss, dict) and set(val_loss) == set(setups),
          f"val_loss needs one key per set-up of SETUPS: {', '.join(map(repr, setups))}")
    for name in setups:
        _need(np.shape(val_loss[name]) == (len(seeds),),
              f"val_loss[{name!r}] has shape {np.shape(val_loss[name])}: it needs one final validation loss per "
              "seed in SEEDS")


#: Every checked answer of the labs, by the name the lab gives it.
ANSWERS: dict[str, Answer] = {
    "minibatches": Answer((
        ("cover", "X and y left unchanged", _unchanged),
        ("cover", "23 examples in batches of 5: sizes 5, 5, 5, 5, 3", _sizes),
        ("cover", "every example exactly once per epoch", _once),
        ("cover", "rows of X stay with their labels", _paired),
        ("seeded", "the same seed gives the same order", _same_seed),
        ("seeded", "the order is shuffled", _shuffled),
    )),
    "is_stable": Answer((
        ("largest-stable-lr", "True below the limit (lr = 0.1 on eigenvalues 1 and 10)", _stable_below),
        ("largest-stable-lr", "False above the limit (lr = 0.25)", _unstable_above),
        ("largest-stable-lr", "runs the problem it is given (eigenvalues 1 and 50)", _uses_problem),
    )),
    "largest_stable": Answer((
        ("largest-stable-lr", "a float", _a_float),
        ("largest-stable-lr", "a learning rate of lrs", _on_grid),
        ("largest-stable-lr", "below the stability limit 2/λmax", _below_limit),
    ), given=("lrs", "limit"), what="value"),
    "steps_needed": Answer((
        ("steps-needed", "a step count when the run reaches tol", _reaches),
        ("steps-needed", "None when it never does", _never),
        ("steps-needed", "the hyperparameters passed on to training.run", _passes_hyper),
    )),
    "best_gd": Answer((
        ("best-settings", "the pair (lr, steps)", _gd_shape),
        ("best-settings", "the fewest steps on gd_lrs", _gd_fewest),
    ), given=("steps_needed", "gd_lrs"), what="value"),
    "best_momentum": Answer((
        ("best-settings", "the triple (lr, mu, steps)", _hb_shape),
        ("best-settings", "the fewest steps on momentum_lrs × mus", _hb_fewest),
        ("best-settings", "fewer steps than gradient descent", _hb_faster),
    ), given=("steps_needed", "momentum_rule", "momentum_lrs", "mus", "best_gd"), what="value"),
    "best_final_loss": Answer((
        ("best-final-loss", "returns (best_lr, best_loss)", _pair),
        ("best-final-loss", "picks the best lr (a diverged run counts as inf)", _picks),
    )),
    "results": Answer((
        ("adaptive-wins", "the three rules' results", _three),
        ("adaptive-wins", "adagrad and rmsprop end ten times below sgd", _wins),
    ), what="value"),
    "adam_uncorrected": Answer((
        ("bias-correction", "the first step is lr·(1−β₁)/(√(1−β₂) + ε)", _uncorrected_first),
        ("bias-correction", "a step from a given state (t, m, v)", _uncorrected_state),
    )),
    "first_steps": Answer((
        ("bias-correction", "n step sizes", _n_sizes),
        ("bias-correction", "Adam's steps of a constant gradient are all lr", _adam_constant),
    )),
    "adam_l2": Answer((
        ("decay", "the Adam step with the gradient g + λ·p", _l2_step),
    )),
    "after_decay": Answer((
        ("decay", "a float", _decay_float),
        ("decay", "AdamW's decay: (1 − lr·λ) per step", _decay_adamw),
    )),
    "histories": Answer((
        ("reference-curves", "the reference's run of each rule of LRS", _six),
        ("your-curves", "your run of each rule of LRS", _yours),
    ), given=("lrs",), what="value"),
    "interval": Answer((
        ("interval", "the mean", _mean),
        ("interval", "the half-width T95[n]·s/√n", _half),
    )),
    "tuning_losses": Answer((
        ("tuning", "one final validation loss per seed, for every lr of the grids", _per_seed),
    ), given=("grids", "seeds"), what="value"),
    "best_lr": Answer((
        ("best-lr", "a learning rate of each grid", _best_on_grid),
    ), given=("grids",), what="value"),
    "final": Answer((
        ("final", "train and test losses, one per seed, for every rule of the grids", _final_shape),
    ), given=("grids", "seeds"), what="value"),
    "state_numbers": Answer(tuple(
        ("state-numbers", f"state_numbers({name}) on a 4×3 matrix and a 3-vector: {state_size(name, STATE_EXAMPLE)}",
         _state_count(name)) for name in ("adamw", "lion", "adafactor"))),
    "warmup_cosine": Answer(judged_by=_schedule, parts=("warmup", "decay")),
    "clip_grads": Answer(judged_by=_clip_grads),
    "clip_by_global_norm": Answer(judged_by=_clip, given=("clip_grads",)),
    "sam": Answer(judged_by=_sam, parts=("ascent", "step")),
    "val_loss": Answer((
        ("experiment", "one final validation loss per seed, for every set-up of SETUPS", _every_setup),
    ), given=("setups", "seeds"), what="value"),
}


def check_answer(name: str, answer: Any, *, group: str | None = None, quiet: bool = False, **given: Any) -> Any:
    """Check one of a lab's answers (not an update rule), property by property; see the module."""
    from optilab.contract.visible import CheckResult, Property

    spec = ANSWERS[name]
    missing = [g for g in spec.given if g not in given]
    unknown = [g for g in given if g not in spec.given]
    if missing or unknown:
        raise TypeError(f"check({name!r}, ...) needs the lab's settings {', '.join(spec.given) or 'none'} by name"
                        + (f"; missing: {', '.join(missing)}" if missing else "")
                        + (f"; not used: {', '.join(unknown)}" if unknown else ""))
    if spec.what == "function" and not callable(answer):
        raise TypeError(f"check({name!r}, ...) needs your function, not a {type(answer).__name__}: "
                        f"check({name!r}, {name}).")
    if group is not None and group not in spec.groups:
        raise ValueError(f"{name} has no point group {group!r}; its groups are {', '.join(map(repr, spec.groups))}")
    found = []
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        if spec.judged_by is not None:
            result = spec.judged_by(answer, group=group, **given)
            result.kind = "answer"
            if not quiet:
                print(result.report())
            return result
        for prop_group, title, prop in spec.properties:
            if group is not None and prop_group != group:
                continue
            try:
                prop(answer, **given) if spec.what == "value" else prop(answer)
                found.append(Property(title, True))
            except Wrong as exc:
                found.append(Property(title, False, str(exc)))
            except NotImplementedError as exc:
                found.append(Property(title, False, f"NotImplementedError: {exc} (not written yet)"))
            except Exception as exc:  # the student's code raised: say what, where the student can act
                found.append(Property(title, False, f"your code raised {type(exc).__name__}: {exc}"))
    result = CheckResult(name, found, group=group, kind="answer")
    if not quiet:
        print(result.report())
    return result
