"""The checks of lab 7's answers (optilab.contract.practice), function by function: a correct answer
passes every check, visible and hidden, and each mistake fails only the part it is in, named by what is wrong.

The same checks decide the lab's grades (tests/test_lab07.py grades whole notebooks)."""

from __future__ import annotations

import types

import pytest

from optilab.contract import practice as P
from optilab.kernels import RULES
from optilab.whole_model import sam_steps, wrapped_steps

ANSWERS = """import math, numpy as np
def warmup_cosine(step, *, lr=0.1, warmup_steps=100, total_steps=1000, lr_min=0.0):
    if step < warmup_steps:
        return lr * (step + 1) / warmup_steps
    progress = min(step - warmup_steps, total_steps - warmup_steps) / (total_steps - warmup_steps)
    return lr_min + 0.5 * (lr - lr_min) * (1 + math.cos(math.pi * progress))
def clip_grads(grads, max_norm):
    norm = math.sqrt(sum(float(np.sum(g * g)) for g in grads.values()))
    factor = min(1.0, max_norm / norm) if norm > 0 else 1.0
    return {k: g * factor for k, g in grads.items()}
def clip_by_global_norm(rule, max_norm):
    def step(params, grads, state, *, lr, **hyperparameters):
        clipped = clip_grads(grads, max_norm)
        new_params, new_state = {}, {}
        for name in params:
            new_params[name], new_state[name] = rule(params[name], clipped[name], state.get(name, {}), lr=lr, **hyperparameters)
        return new_params, new_state
    return step
def sam(params, grads, state, *, grad_fn, lr=0.01, rho=0.05):
    norm = math.sqrt(sum(float(np.sum(g * g)) for g in grads.values()))
    perturbed = {k: params[k] + rho * grads[k] / (norm + 1e-12) for k in params}
    g2 = grad_fn(perturbed)
    return {k: params[k] - lr * g2[k] for k in params}, {}
"""

MISTAKES = {
 "warmup-off-by-one": ("lr * (step + 1) / warmup_steps","lr * step / warmup_steps"),
 "cosine-from-zero": ("progress = min(step - warmup_steps, total_steps - warmup_steps) / (total_steps - warmup_steps)","progress = min(step, total_steps) / total_steps"),
 "cosine-keeps-going": ("progress = min(step - warmup_steps, total_steps - warmup_steps) / (total_steps - warmup_steps)","progress = (step - warmup_steps) / (total_steps - warmup_steps)"),
 "to-zero": ("return lr_min + 0.5 * (lr - lr_min) * (1 + math.cos(math.pi * progress))","return 0.5 * lr * (1 + math.cos(math.pi * progress))"),
 "per-array": ("""    norm = math.sqrt(sum(float(np.sum(g * g)) for g in grads.values()))
    factor = min(1.0, max_norm / norm) if norm > 0 else 1.0
    return {k: g * factor for k, g in grads.items()}""","""    return {k: g * min(1.0, max_norm / np.linalg.norm(g)) for k, g in grads.items()}"""),
 "l1": ("norm = math.sqrt(sum(float(np.sum(g * g)) for g in grads.values()))\n    factor","norm = sum(float(np.sum(np.abs(g))) for g in grads.values())\n    factor"),
 "scales-up": ("factor = min(1.0, max_norm / norm) if norm > 0 else 1.0","factor = max_norm / norm if norm > 0 else 1.0"),
 "always-sgd": ("new_params[name], new_state[name] = rule(params[name], clipped[name], state.get(name, {}), lr=lr, **hyperparameters)","new_params[name], new_state[name] = params[name] - lr * clipped[name], {}"),
 "hyper-dropped": ("state.get(name, {}), lr=lr, **hyperparameters)","state.get(name, {}), lr=lr)"),
 "sam-not-normalised": ("perturbed = {k: params[k] + rho * grads[k] / (norm + 1e-12) for k in params}","perturbed = {k: params[k] + rho * grads[k] for k in params}"),
 "sam-sign": ("perturbed = {k: params[k] + rho","perturbed = {k: params[k] - rho"),
 "sam-first-grad": ("return {k: params[k] - lr * g2[k] for k in params}, {}","return {k: params[k] - lr * grads[k] for k in params}, {}"),
 "sam-from-perturbed": ("return {k: params[k] - lr * g2[k] for k in params}, {}","return {k: perturbed[k] - lr * g2[k] for k in params}, {}"),
 "sam-per-array": ("perturbed = {k: params[k] + rho * grads[k] / (norm + 1e-12) for k in params}","perturbed = {k: params[k] + rho * grads[k] / np.linalg.norm(grads[k]) for k in params}"),
 "sam-no-call": ("g2 = grad_fn(perturbed)","g2 = grads"),
 "sam-default-rho": ("rho=0.05):","rho=0.1):"),
}

#: mistake -> (the parts that fail, the diagnosis named)
EXPECTED = {
    "warmup-off-by-one": (["warmup"], ["warmup-off-by-one"]),
    "cosine-from-zero": (["decay"], ["cosine-from-zero"]),
    "cosine-keeps-going": (["decay"], ["cosine-keeps-going"]),
    "to-zero": (["decay"], ["cosine-to-zero"]),
    "per-array": (["clip_grads"], ["per-array"]),
    "l1": (["clip_grads"], ["norm-l1"]),
    "scales-up": (["clip_grads"], ["scales-up"]),
    "always-sgd": (["clip"], ["always-sgd"]),
    "hyper-dropped": (["clip"], ["hyperparameters-dropped"]),
    "sam-not-normalised": (["ascent"], ["ascent-not-normalised"]),
    "sam-sign": (["ascent"], ["ascent-sign"]),
    "sam-first-grad": (["step"], ["step-first-gradient"]),
    "sam-from-perturbed": (["step"], ["step-from-perturbed"]),
    "sam-per-array": (["ascent"], ["ascent-per-array"]),
    "sam-no-call": (["ascent", "step"], ["no-second-gradient", "step-first-gradient"]),
    "sam-default-rho": (["step"], ["default-rho"]),
}


def _module(source: str) -> types.ModuleType:
    module = types.ModuleType("answers")
    exec(source, module.__dict__)
    return module


def _results(m: types.ModuleType, hidden: bool) -> dict:
    clip = lambda g, n: (m.clip_grads(g, n), g)  # noqa: E731
    return {
        "warmup": P.schedule_result(m.warmup_cosine, hidden=hidden, part="warmup"),
        "decay": P.schedule_result(m.warmup_cosine, hidden=hidden, part="decay"),
        "clip_grads": P.clip_grads_result(clip, hidden=hidden),
        "clip": P.clip_result(lambda r, n, p, g, l, **h: wrapped_steps(m.clip_by_global_norm, RULES[r], n, p, g, l, **h),
                              hidden=hidden, clip_grads=clip),
        "ascent": P.sam_result(lambda X, y, p, l, **h: sam_steps(m.sam, P.SAM_SIZES, X, y, p, l, **h),
                               hidden=hidden, part="ascent"),
        "step": P.sam_result(lambda X, y, p, l, **h: sam_steps(m.sam, P.SAM_SIZES, X, y, p, l, **h),
                             hidden=hidden, part="step"),
    }


@pytest.mark.parametrize("hidden", [False, True])
def test_the_right_answers_pass_every_check(hidden):
    results = _results(_module(ANSWERS), hidden)
    assert all(r.passed for r in results.values()), {k: r.report() for k, r in results.items() if not r.passed}


def test_the_catalogue_is_the_expected_one():
    assert set(MISTAKES) == set(EXPECTED)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # a mistake that divides by a zero norm
@pytest.mark.parametrize("name", list(MISTAKES))
def test_each_mistake_fails_its_own_part_and_is_named(name):
    old, new = MISTAKES[name]
    assert old in ANSWERS, name
    results = _results(_module(ANSWERS.replace(old, new)), hidden=True)
    failing, named = EXPECTED[name]
    assert sorted(k for k, r in results.items() if not r.passed) == sorted(failing)
    assert sorted({d.id for r in results.values() for d in r.diagnoses}) == sorted(named)


def test_a_function_that_raises_fails_with_its_own_error():
    def not_yet(*args, **kwargs):
        raise NotImplementedError("not written yet")
    result = P.schedule_result(not_yet, part="warmup")
    assert not result.passed and "NotImplementedError" in result.properties[0].message
    with pytest.raises(NotImplementedError):
        result.assert_passed()
