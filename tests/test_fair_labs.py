"""Realistic student notebooks for labs 1-4, each graded to the score its work earns.

Every notebook is the released lab filled with the instructor's answers, then edited the way a
student writes: unusual but correct forms, and mistakes (a wrong default, a Sutskever buffer, a
scalar state, an in-place shuffle, swapped return values, ...). Each is graded twice:

- by the grader's outside verdicts (what ``make grade`` and ``nbgrader autograde`` score), to the
  exact score worked out by hand from the labs' points below; every failing test cell's message
  must name the wrong part;
- by nbgrader's Validate (the students' button, :class:`nbgrader.validator.Validator` on the
  student's notebook): a correct notebook passes, a notebook with a mistake fails, and the
  failure's message names the wrong part.

Points (autograded; written answers are graded by hand):
- lab 1: sgd 1 + 1 + 1, minibatches 2 + 1, the stability experiment 2: 8.
- lab 2: momentum and nesterov 1 + 2 + 2 + 1 each, steps_needed 1, the best settings 2: 15.
- lab 3: adagrad and rmsprop 1 + 2 + 2 + 1 each, best_final_loss 1, the experiment 2: 15.
- lab 4: adam and adamw 1 + 2 + 2 + 1 each, the bias-correction helpers 2, the decay helpers 2: 16.
A wrong default hyperparameter costs the rule's ``contract`` group (1 point), whose test names it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.test_outside_verdicts import _judge, _student
from tests.support.validate import validate

ROOT = Path(__file__).resolve().parents[1]
L1, L2, L3, L4 = ("lab01_gradient_descent", "lab02_momentum_nesterov", "lab03_adagrad_rmsprop",
                  "lab04_adam_adamw")
FULL = {L1: 8, L2: 15, L3: 15, L4: 16}

pytestmark = pytest.mark.slow


def _adam_body(eps: str = "eps", correct: bool = True) -> str:
    step = "m / (1 - beta1**t), v / (1 - beta2**t)" if correct else "m, v"
    return ("    t = state.get('t', 0) + 1\n"
            "    m = beta1 * state.get('m', np.zeros_like(param)) + (1 - beta1) * grad\n"
            "    v = beta2 * state.get('v', np.zeros_like(param)) + (1 - beta2) * grad**2\n"
            f"    m_hat, v_hat = {step}\n"
            f"    return param - lr * m_hat / (np.sqrt(v_hat) + {eps}), {{'t': t, 'm': m, 'v': v}}\n")


# lab -> student -> (answers by cell id, autograded points by hand, {failing cell: words its message holds})
CASES: dict[str, dict[str, tuple[dict[str, str], int, dict[str, tuple[str, ...]]]]] = {
    L1: {
        # sgd through np.subtract and dict(); minibatches returns a list (not a generator), made
        # from a shuffled copy of the indices; is_stable with the conditions the other way round.
        "una_unusual": ({
            "sgd-answer": "def sgd(param, grad, state, *, lr=1e-2):\n    return np.subtract(param, lr * grad), dict()\n",
            "minibatches-answer": (
                "def minibatches(X, y, batch_size, seed):\n"
                "    idx = np.arange(len(y))\n"
                "    np.random.default_rng(seed).shuffle(idx)\n"
                "    return [(X[idx[i:i + batch_size]], y[idx[i:i + batch_size]]) for i in range(0, len(y), batch_size)]\n"),
            "is-stable-answer": (
                "def is_stable(rule, problem, lr, steps=100):\n"
                "    trace = training.run(rule, problem, steps=steps, lr=lr)\n"
                "    return trace.losses[-1] < trace.losses[0] and not trace.diverged\n"),
        }, 8, {}),
        # lr=1e-3 as sgd's default: the contract group only (1 point).
        "dan_default": ({
            "sgd-answer": "def sgd(param, grad, state, *, lr=1e-3):\n    return param - lr * grad, {}\n",
        }, 7, {"test-sgd-contract": ("default lr",)}),
        # X and y shuffled in place with the same seed: rows stay paired, the data change (and
        # the same seed no longer gives the same order): 2 + 1, both cells naming the change.
        "ian_in_place": ({
            "minibatches-answer": (
                "def minibatches(X, y, batch_size, seed):\n"
                "    np.random.default_rng(seed).shuffle(X)\n"
                "    np.random.default_rng(seed).shuffle(y)\n"
                "    for start in range(0, len(X), batch_size):\n"
                "        yield X[start:start + batch_size], y[start:start + batch_size]\n"),
        }, 5, {"test-minibatches-cover": ("must not be modified",), "test-minibatches-seeded": ("must not be modified",)}),
        # The last, shorter batch is dropped: the covering cell (2).
        "leo_last_dropped": ({
            "minibatches-answer": (
                "def minibatches(X, y, batch_size, seed):\n"
                "    order = np.random.default_rng(seed).permutation(len(X))\n"
                "    for start in range(0, len(X) - batch_size + 1, batch_size):\n"
                "        rows = order[start:start + batch_size]\n"
                "        yield X[rows], y[rows]\n"),
        }, 6, {"test-minibatches-cover": ("5, 5, 5, 5, 3",)}),
        # is_stable runs the lab's bowl whatever problem it is given: the stability cell (2).
        "bo_bowl_always": ({
            "is-stable-answer": (
                "def is_stable(rule, problem, lr, steps=100):\n"
                "    trace = training.run(rule, bowl, steps=steps, lr=lr)\n"
                "    return bool(not trace.diverged and trace.losses[-1] < trace.losses[0])\n"),
        }, 6, {"test-largest-stable-lr": ("is_stable",)}),
    },
    L2: {
        # The velocity started from a copy of g, Nesterov's step split in two, best_momentum a list.
        "una_unusual": ({
            "momentum-answer": (
                "def momentum(param, grad, state, *, lr=1e-2, momentum=0.9):\n"
                "    v = momentum * state['velocity'] + grad if 'velocity' in state else grad.copy()\n"
                "    return param - lr * v, {'velocity': v}\n"),
            "nesterov-answer": (
                "def nesterov(param, grad, state, *, lr=1e-2, momentum=0.9):\n"
                "    v = momentum * state.get('velocity', 0 * param) + grad\n"
                "    return param - lr * grad - lr * momentum * v, {'velocity': v}\n"),
            "tuning-answer": (
                "gd_runs = [(lr, steps_needed('sgd', lr, 600)) for lr in gd_lrs]\n"
                "best_gd = sorted((r for r in gd_runs if r[1] is not None), key=lambda r: r[1])[0]\n"
                "runs = [[lr, mu, steps_needed(momentum_rule, lr, 150, momentum=mu)] for lr in momentum_lrs for mu in mus]\n"
                "best_momentum = sorted((r for r in runs if r[2] is not None), key=lambda r: r[2])[0]\n"),
        }, 15, {}),
        # Sutskever's buffer v ← μv − lr·g, p ← p + v: right first parameter, wrong velocity; every
        # group of momentum (6). The experiment falls back on optilab's momentum and keeps its 3.
        "sam_sutskever": ({
            "momentum-answer": (
                "def momentum(param, grad, state, *, lr=1e-2, momentum=0.9):\n"
                "    v = momentum * state.get('velocity', np.zeros_like(param)) - lr * grad\n"
                "    return param + v, {'velocity': v}\n"),
        }, 9, {f"test-momentum-{g}": ("velocity",) for g in ("first-step", "many-steps", "conventions", "contract")}),
        # momentum=0.99 as nesterov's default: its contract group (1).
        "dan_default": ({
            "nesterov-answer": (
                "def nesterov(param, grad, state, *, lr=1e-2, momentum=0.99):\n"
                "    v = momentum * state.get('velocity', np.zeros_like(param)) + grad\n"
                "    return param - lr * (grad + momentum * v), {'velocity': v}\n"),
        }, 14, {"test-nesterov-contract": ("default momentum",)}),
        # steps_needed drops the hyperparameters: steps_needed (1) and the settings found with it (2).
        "hal_hyper_dropped": ({
            "steps-needed-answer": (
                "def steps_needed(rule, lr, max_steps, **hyperparameters):\n"
                "    return training.steps_to_tolerance(training.run(rule, ravine, steps=max_steps, lr=lr), tol)\n"),
        }, 12, {"test-steps-needed": ("hyperparameters",), "test-best-settings": ("best_momentum",)}),
        # Only μ = 0.9 tried: not the best on the grid (2).
        "max_one_mu": ({
            "tuning-answer": (
                "gd_runs = [(lr, steps_needed('sgd', lr, 600)) for lr in gd_lrs]\n"
                "best_gd = min((r for r in gd_runs if r[1] is not None), key=lambda r: r[1])\n"
                "runs = [(lr, 0.9, steps_needed(momentum_rule, lr, 150, momentum=0.9)) for lr in momentum_lrs]\n"
                "best_momentum = min((r for r in runs if r[2] is not None), key=lambda r: r[2])\n"),
        }, 13, {"test-best-settings": ("best_momentum",)}),
    },
    L3: {
        # RMSProp in its reciprocal and lerp forms (a 1-ulp tie with the reference on the lab's
        # grid), AdaGrad through np.add: full marks.
        "una_unusual": ({
            "adagrad-answer": (
                "def adagrad(param, grad, state, *, lr=1e-2, eps=1e-10):\n"
                "    s = np.add(state.get('sum_sq', np.zeros_like(param)), grad * grad)\n"
                "    return param - lr * grad / (np.sqrt(s) + eps), {'sum_sq': s}\n"),
            "rmsprop-answer": (
                "def rmsprop(param, grad, state, *, lr=1e-2, rho=0.99, eps=1e-8):\n"
                "    sq = state.get('sq_avg', np.zeros_like(param))\n"
                "    s = sq + (1 - rho) * (grad**2 - sq)\n"
                "    return param - lr * grad * (1.0 / (np.sqrt(s) + eps)), {'sq_avg': s}\n"),
        }, 15, {}),
        # One number for the whole sum of squares: every group of adagrad (6), named as a state
        # that is not param's shape (the diagnosis printed under the ✗).
        "sol_scalar_state": ({
            "adagrad-answer": (
                "def adagrad(param, grad, state, *, lr=1e-2, eps=1e-10):\n"
                "    s = state.get('sum_sq', 0.0) + float(np.sum(grad**2))\n"
                "    return param - lr * grad / (np.sqrt(s) + eps), {'sum_sq': s}\n"),
        }, 9, {f"test-adagrad-{g}": ("state arrays have param's shape",) for g in ("first-step", "many-steps", "conventions", "contract")}),
        # Keras's ρ = 0.9 with the right maths: rmsprop's contract group (1).
        "kim_keras_rho": ({
            "rmsprop-answer": (
                "def rmsprop(param, grad, state, *, lr=1e-2, rho=0.9, eps=1e-8):\n"
                "    s = rho * state.get('sq_avg', np.zeros_like(param)) + (1 - rho) * grad**2\n"
                "    return param - lr * grad / (np.sqrt(s) + eps), {'sq_avg': s}\n"),
        }, 14, {"test-rmsprop-contract": ("default rho",)}),
        # (loss, lr) returned the other way round: best_final_loss (1) and the experiment (2).
        "sw_swapped": ({
            "best-final-loss-answer": (
                "def best_final_loss(rule, lrs):\n"
                "    finals = {}\n"
                "    for lr in lrs:\n"
                "        history = training.train(rule, model, split, epochs=100, batch_size=None, lr=float(lr))\n"
                "        finals[float(lr)] = np.inf if history.diverged else float(history.train_loss[-1])\n"
                "    best = min(finals, key=finals.get)\n"
                "    return finals[best], best\n"),
        }, 12, {"test-best-final-loss": ("best lr", "pick lr 0.01"), "test-adaptive-wins": ("results",)}),
    },
    L4: {
        # np.square for g², AdamW written out with (1 − αλ)p, first_steps with a while loop.
        "una_unusual": ({
            "adam-answer": (
                "def adam(param, grad, state, *, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):\n"
                "    t = state.get('t', 0) + 1\n"
                "    m = beta1 * state.get('m', np.zeros_like(param)) + (1 - beta1) * grad\n"
                "    v = beta2 * state.get('v', np.zeros_like(param)) + (1 - beta2) * np.square(grad)\n"
                "    step = lr * (m / (1 - beta1**t)) / (np.sqrt(v / (1 - beta2**t)) + eps)\n"
                "    return param - step, {'t': t, 'm': m, 'v': v}\n"),
            "adamw-answer": (
                "def adamw(param, grad, state, *, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=1e-2):\n"
                "    t = state.get('t', 0) + 1\n"
                "    m = beta1 * state.get('m', np.zeros_like(param)) + (1 - beta1) * grad\n"
                "    v = beta2 * state.get('v', np.zeros_like(param)) + (1 - beta2) * grad * grad\n"
                "    m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)\n"
                "    return (1 - lr * weight_decay) * param - lr * m_hat / (np.sqrt(v_hat) + eps), {'t': t, 'm': m, 'v': v}\n"),
            "first-steps-answer": (
                "def first_steps(rule, n):\n"
                "    param, state, sizes = np.array(0.0), {}, np.zeros(n)\n"
                "    k = 0\n"
                "    while k < n:\n"
                "        new, state = rule(param, np.array(1.0), state, lr=1e-3)\n"
                "        sizes[k] = abs(new - param)\n"
                "        param, k = new, k + 1\n"
                "    return sizes\n"),
        }, 16, {}),
        # np.power(beta1, t) is a float64 NumPy scalar, which turns a float32 m into float64
        # (NumPy 2's promotion rules): float32 in, float64 out, the contract group of adam and of
        # the adamw that calls it (1 + 1).
        "pia_power": ({
            "adam-answer": ("def adam(param, grad, state, *, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):\n"
                            + _adam_body().replace("beta1**t", "np.power(beta1, t)").replace("beta2**t", "np.power(beta2, t)")),
        }, 14, {"test-adam-contract": ("float32",), "test-adamw-contract": ("float32",)}),
        # β₂ = 0.99 as adam's default; adamw calls it with its own β₂: adam's contract group (1).
        "dan_beta2": ({
            "adam-answer": "def adam(param, grad, state, *, lr=1e-3, beta1=0.9, beta2=0.99, eps=1e-8):\n" + _adam_body(),
        }, 15, {"test-adam-contract": ("default beta2",)}),
        # ε = 1e-7 (Keras's) as adam's default: adam's contract group (1).
        "ken_keras_eps": ({
            "adam-answer": "def adam(param, grad, state, *, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-7):\n" + _adam_body(),
        }, 15, {"test-adam-contract": ("default eps",)}),
        # No bias correction: every group of adam, and of the adamw that calls it (12); the
        # experiments fall back on optilab's adam and keep their 4.
        "nia_no_correction": ({
            "adam-answer": ("def adam(param, grad, state, *, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):\n"
                            + _adam_body(correct=False)),
        }, 4, {**{f"test-adam-{g}": ("new param",) for g in ("first-step", "many-steps", "conventions", "contract")},
               **{f"test-adamw-{g}": ("new param",) for g in ("first-step", "many-steps", "conventions", "contract")}}),
        # first_steps records the parameter, not the step: the bias-correction cell (2), blamed on
        # first_steps, not on adam_uncorrected.
        "fay_first_steps": ({
            "first-steps-answer": (
                "def first_steps(rule, n):\n"
                "    param, state, sizes = np.array(0.0), {}, []\n"
                "    for _ in range(n):\n"
                "        param, state = rule(param, np.array(1.0), state, lr=1e-3)\n"
                "        sizes.append(abs(float(param)))\n"
                "    return np.array(sizes)\n"),
        }, 14, {"test-bias-correction": ("first_steps is wrong", "check('first_steps'): 1 of 2")}),
        # after_decay forgets weight_decay: the decay cell (2), blamed on after_decay.
        "al_after_decay": ({
            "after-decay-answer": (
                "def after_decay(rule, weight_decay):\n"
                "    param, state = np.array(1.0), {}\n"
                "    for _ in range(100):\n"
                "        param, state = rule(param, np.array(0.0), state, lr=0.01)\n"
                "    return float(param)\n"),
        }, 14, {"test-decay": ("after_decay is wrong", "check('after_decay'): 1 of 2")}),
    },
}

PARAMS = [(lab, name) for lab, cases in CASES.items() for name in cases]


def _points(lab: str) -> dict[str, int]:
    nb = json.loads((ROOT / "solutions" / lab / f"{lab}.ipynb").read_text(encoding="utf-8"))
    return {c["metadata"]["nbgrader"]["grade_id"]: c["metadata"]["nbgrader"]["points"] for c in nb["cells"]
            if c["cell_type"] == "code" and c["metadata"].get("nbgrader", {}).get("grade")}


def test_the_labs_points_are_the_ones_the_cases_were_worked_out_from():
    assert {lab: sum(_points(lab).values()) for lab in CASES} == FULL


def test_every_lab_has_correct_variants_and_mistakes():
    for lab, cases in CASES.items():
        scores = [score for _, score, _ in cases.values()]
        assert FULL[lab] in scores and sum(s < FULL[lab] for s in scores) >= 3, lab


@pytest.mark.parametrize("lab, name", PARAMS)
def test_outside_verdicts_give_the_score_worked_out_by_hand(lab, name, tmp_path):
    answers, expected, failing = CASES[lab][name]
    verdicts = _judge(_student(lab, answers), tmp_path, lab, seconds=60)
    points = _points(lab)
    score = sum(points[gid] for gid, v in verdicts.items() if v[0])
    failed = {gid: v[2] for gid, v in verdicts.items() if not v[0]}
    assert set(failed) == set(failing), {gid: msg[:300] for gid, msg in failed.items()}
    assert score == expected
    for gid, words in failing.items():  # the message names the wrong part (in one of these words)
        assert any(word in failed[gid] for word in words), f"{gid}: none of {words} in {failed[gid][:600]!r}"




@pytest.mark.parametrize("lab, name", PARAMS)
def test_validate_passes_correct_work_and_fails_each_mistake_with_its_message(lab, name, tmp_path):
    answers, expected, failing = CASES[lab][name]
    result = validate(_student(lab, answers), tmp_path, lab)
    if expected == FULL[lab]:
        assert "failed" not in result, [f.get("error", "")[-600:] for f in result.get("failed", [])]
        return
    assert result.get("failed"), f"Validate passed {name}, a notebook that scores {expected} of {FULL[lab]}"
    errors = re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(f.get("raw_error", "") for f in result["failed"]))
    first_cell, words = next(iter(failing.items()))
    assert any(word in errors for word in words), f"{first_cell}: none of {words} in {errors[-1500:]!r}"
