"""Lab 6 (Lion and Adafactor): the checks of its test cells, run in the grader's process.

The rules go through their hidden suites (:func:`~optilab.grading.labs.rule_cell`). Every expected
number of the experiment is recomputed here from the lab's own setup (lab 5's split and MLP, this
lab's seeds, learning rates and grids) with the reference rules, never read from the student's
notebook; the reference runs are cached for the grading process (:func:`reference_run`), so a class
costs the runs of one notebook, once.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from optilab.grading.labs import rule_cell
from optilab.grading.labs.lab05 import ReferenceRuns, _array
from optilab.grading.notebook import Reference

#: The lab's settings (its setup cells).
EPOCHS, SEEDS = 10, (0, 1, 2, 3, 4)
NAMES = ("adamw", "lion", "adafactor")
LRS = {"lion": 0.003, "adafactor": 0.03}
GRIDS = {"adamw": np.logspace(-3.5, -1.5, 5).tolist(), "lion": np.logspace(-3.5, -1.5, 5).tolist(),
         "adafactor": np.logspace(-2.5, -0.5, 5).tolist()}
#: Relative tolerance on the experiment's losses: a correct rule written in another order differs
#: from the reference by round-off only.
RTOL = 1e-6

#: The parameters the test of ``state_numbers`` calls it with: (shapes, what the call shows).
STATE_CASES = (((4, 3), (3,)), ((6, 5), (2, 7), (4,), (1,)))


RUNS = ReferenceRuns(EPOCHS, SEEDS, GRIDS)
reference_run, _final, validation_losses, best_lrs = RUNS.run, RUNS.final, RUNS.validation_losses, RUNS.best_lrs


def state_size(name: str, shapes: tuple[tuple[int, ...], ...]) -> int:
    """The numbers of state the contract gives ``name`` for parameters of these shapes: two arrays of
    the parameter's shape for AdamW, one for Lion; for Adafactor one number per row and one per column
    of a matrix, and a full ``v`` for a vector (CONTRACT.md, "Rules that do not fit one array")."""
    size = {"adamw": lambda s: 2 * int(np.prod(s)), "lion": lambda s: int(np.prod(s)),
            "adafactor": lambda s: s[0] + s[1] if len(s) == 2 else int(np.prod(s))}[name]
    return sum(size(s) for s in shapes)


def _shown(values: Any) -> list:
    return np.round(np.asarray(values, dtype=float), 5).tolist()


def _described(shapes: tuple[tuple[int, ...], ...]) -> str:
    words = ["×".join(map(str, s)) + (" matrix" if len(s) == 2 else "-vector") for s in shapes]
    return ", ".join(words[:-1]) + " and " + words[-1]


def test_state_numbers(notebook: Any) -> None:
    """state_numbers: the optimizer state of one step, counted (1 point)."""
    for k, shapes in enumerate(STATE_CASES):
        params = {f"p{i}": (np.zeros if k == 0 else np.ones)(shape) for i, shape in enumerate(shapes)}
        for name in (("adamw", "adafactor") if k == 0 else ("lion", "adafactor", "adamw")):
            got = notebook.call("state_numbers", Reference(name), params)
            want = state_size(name, shapes)
            number = _array(got)
            assert number is not None and number.shape == () and number == want, \
                (f"state_numbers({name}) on a {_described(shapes)} is {got!r}, expected {want}: count the entries "
                 "of the float arrays in each parameter's state after one step (an int)")


def test_reference_curves(notebook: Any) -> None:
    """The references were trained with the required settings (1 point)."""
    histories = notebook.get("histories")
    assert isinstance(histories, dict), "histories must be a dict"
    for name in LRS:
        assert f"reference {name}" in histories, \
            f"histories has no key 'reference {name}': it needs 'your NAME' and 'reference NAME' for lion and adafactor"
        got = _array(notebook.get("histories", f"reference {name}", ".test_loss"))
        expected = reference_run(name, LRS[name], 0)[1]
        assert got is not None and got.shape == expected.shape and np.allclose(got, expected, rtol=1e-10), \
            f"histories['reference {name}'] was not trained on tuning with epochs=EPOCHS, lr=LRS[{name!r}], seed=0"


def test_your_curves(notebook: Any) -> None:
    """Your rules reproduce the references' learning curves (2 points)."""
    histories = notebook.get("histories")
    assert isinstance(histories, dict) and all(f"your {name}" in histories for name in LRS), \
        "histories needs the keys 'your lion' and 'your adafactor'"
    for name in LRS:
        got = _array(notebook.get("histories", f"your {name}", ".train_loss"))
        expected = reference_run(name, LRS[name], 0)[0]
        assert got is not None and got.shape == expected.shape and np.allclose(got, expected, rtol=RTOL), \
            (f"your {name}: its training curve on tuning differs from the reference's (same settings: "
             f"rule_of[{name!r}], epochs=EPOCHS, lr=LRS[{name!r}], seed=0)")


def test_tuning(notebook: Any) -> None:
    """The validation losses of every optimizer, learning rate and seed (3 points)."""
    tuning_losses = notebook.get("tuning_losses")
    assert tuning_losses != {}, "tuning_losses is empty: write tune above and run the three cells that call it"
    assert isinstance(tuning_losses, dict) and set(tuning_losses) == set(NAMES), \
        "tuning_losses needs the keys 'adamw', 'lion' and 'adafactor'"
    for name in NAMES:
        assert isinstance(tuning_losses[name], dict) and set(tuning_losses[name]) == set(GRIDS[name]), \
            f"tuning_losses[{name!r}] needs every lr of GRIDS[{name!r}] as a key"
        for lr in GRIDS[name]:
            expected = validation_losses(name, lr)
            yours = _array(tuning_losses[name][lr])
            assert yours is not None and yours.shape == (len(SEEDS),), \
                (f"tuning_losses[{name!r}][{lr:.3g}] has shape {getattr(yours, 'shape', None)}: it needs one final "
                 f"loss per seed in SEEDS")
            assert np.allclose(yours, expected, rtol=RTOL), \
                (f"tuning_losses[{name!r}][{lr:.3g}] is {_shown(yours)}, expected the final validation "
                 f"losses {_shown(expected)} (train on tuning, read test_loss[-1], one run per seed)")


def test_best_lr(notebook: Any) -> None:
    """The learning rate with the lowest mean validation loss, for each optimizer (1 point)."""
    best_lr = notebook.get("best_lr")
    assert best_lr != {}, "best_lr is empty: write tune above and run the three cells that call it"
    assert isinstance(best_lr, dict) and set(best_lr) == set(NAMES), \
        "best_lr needs the keys 'adamw', 'lion' and 'adafactor'"
    for name in NAMES:
        good = best_lrs(name)
        assert best_lr[name] in good, \
            (f"best_lr[{name!r}] is {best_lr[name]}, expected {good[0]:.3g}: the learning rate of GRIDS[{name!r}] "
             f"with the lowest mean final validation loss over SEEDS")


def test_final(notebook: Any) -> None:
    """The final runs on the test set, at the student's best_lr (2 points)."""
    final = notebook.get("final")
    assert isinstance(final, dict) and set(final) == set(NAMES), \
        "final needs the keys 'adamw', 'lion' and 'adafactor'"
    best_lr = notebook.get("best_lr")
    for name in NAMES:
        lr = best_lr[name] if isinstance(best_lr, dict) and name in best_lr else None
        assert isinstance(lr, float) and lr in GRIDS[name], \
            f"best_lr[{name!r}] = {lr} is not a learning rate of GRIDS[{name!r}]"
        for part, curve in (("train", 0), ("test", 1)):
            expected = np.array([_final(name, lr, s, "testing", curve) for s in SEEDS])
            yours = _array(final[name].get(part) if isinstance(final[name], dict) else None)
            assert yours is not None and yours.shape == (len(SEEDS),), \
                f"final[{name!r}][{part!r}] has shape {getattr(yours, 'shape', None)}: one value per seed in SEEDS"
            attribute = ("train_loss", "test_loss")[curve]
            assert np.allclose(yours, expected, rtol=RTOL), \
                (f"final[{name!r}][{part!r}] is {_shown(yours)}, expected {_shown(expected)}: train on testing "
                 f"(fit + validation) at best_lr[{name!r}] and read {attribute}[-1], one run per seed")


CHECKS = {
    "test-lion-first-step": rule_cell("lion", "first-step"),
    "test-lion-many-steps": rule_cell("lion", "many-steps"),
    "test-lion-conventions": rule_cell("lion", "conventions"),
    "test-lion-contract": rule_cell("lion", "contract"),
    "test-adafactor-first-step": rule_cell("adafactor", "first-step"),
    "test-adafactor-many-steps": rule_cell("adafactor", "many-steps"),
    "test-adafactor-conventions": rule_cell("adafactor", "conventions"),
    "test-adafactor-contract": rule_cell("adafactor", "contract"),
    "test-state-numbers": test_state_numbers,
    "test-reference-curves": test_reference_curves,
    "test-your-curves": test_your_curves,
    "test-tuning": test_tuning,
    "test-best-lr": test_best_lr,
    "test-final": test_final,
}


#: The test cells these checks were written from (:func:`~optilab.grading.labs.cell_digest` of
#: each cell's source in ``solutions/``): a changed cell needs its check changed too.
DERIVED_FROM: dict[str, str] = {
    "test-lion-first-step": "f68b43224450758d",
    "test-lion-many-steps": "5a7e407ac237e810",
    "test-lion-conventions": "a9c210a503592f53",
    "test-lion-contract": "705fd1ab30db3706",
    "test-adafactor-first-step": "b51566b9279fc83b",
    "test-adafactor-many-steps": "12bf45b226fae2ca",
    "test-adafactor-conventions": "cab7e9979f211160",
    "test-adafactor-contract": "0fade5b6133b2931",
    "test-state-numbers": "f0820bf3d9ce2578",
    "test-reference-curves": "a01cfca790be2318",
    "test-your-curves": "76b7d40e781cdb60",
    "test-tuning": "82b6747337548f3b",
    "test-best-lr": "a88c10dbba3ba346",
    "test-final": "cfe6002726d71a59",
}
