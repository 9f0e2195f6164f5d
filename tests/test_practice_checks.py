"""The checks of lab 7's answers, function by function: a correct answer passes every check, visible
(``optilab.check("sam", sam)``) and hidden, and each mistake fails only the part it is in, named by what
is wrong.

The same checks decide the lab's grades (tests/test_lab07.py grades whole notebooks)."""

from __future__ import annotations

import types

import pytest

import optilab
from optilab.contract import clip_check, sam_check, schedule_check
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
        "warmup": schedule_check.schedule_result(m.warmup_cosine, hidden=hidden, part="warmup"),
        "decay": schedule_check.schedule_result(m.warmup_cosine, hidden=hidden, part="decay"),
        "clip_grads": clip_check.clip_grads_result(clip, hidden=hidden),
        "clip": clip_check.clip_result(lambda r, n, p, g, l, **h: wrapped_steps(m.clip_by_global_norm, RULES[r], n, p, g, l, **h),
                              hidden=hidden, clip_grads=clip),
        "ascent": sam_check.sam_result(lambda X, y, p, l, **h: sam_steps(m.sam, sam_check.SAM_SIZES, X, y, p, l, **h),
                               hidden=hidden, part="ascent"),
        "step": sam_check.sam_result(lambda X, y, p, l, **h: sam_steps(m.sam, sam_check.SAM_SIZES, X, y, p, l, **h),
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
    result = schedule_check.schedule_result(not_yet, part="warmup")
    assert not result.passed and "NotImplementedError" in result.properties[0].message
    with pytest.raises(NotImplementedError):
        result.assert_passed()


def _visible(m: types.ModuleType) -> dict:
    """What the lab's visible lines print, part by part: ``optilab.check(name, answer, group=...)``."""
    return {
        "warmup": optilab.check("warmup_cosine", m.warmup_cosine, group="warmup", quiet=True),
        "decay": optilab.check("warmup_cosine", m.warmup_cosine, group="decay", quiet=True),
        "clip_grads": optilab.check("clip_grads", m.clip_grads, quiet=True),
        "clip": optilab.check("clip_by_global_norm", m.clip_by_global_norm, clip_grads=m.clip_grads, quiet=True),
        "ascent": optilab.check("sam", m.sam, group="ascent", quiet=True),
        "step": optilab.check("sam", m.sam, group="step", quiet=True),
    }


def test_optilab_check_passes_the_right_answers_and_reports_each_part():
    m = _module(ANSWERS)
    for name, answer, given in (("warmup_cosine", m.warmup_cosine, {}), ("clip_grads", m.clip_grads, {}),
                                ("clip_by_global_norm", m.clip_by_global_norm, {"clip_grads": m.clip_grads}),
                                ("sam", m.sam, {})):
        whole = optilab.check(name, answer, quiet=True, **given)
        assert whole.passed and whole.rule == name, whole.report()
        assert "All good: your " + name in whole.report()
    assert all(r.passed for r in _visible(m).values())
    # a group holds only its own properties, and the whole check is the union of its groups
    warmup, decay = _visible(m)["warmup"], _visible(m)["decay"]
    assert all(p.name.startswith("warm-up") for p in warmup.properties)
    assert all(p.name.startswith("decay") for p in decay.properties)
    assert len(optilab.check("warmup_cosine", m.warmup_cosine, quiet=True).properties) == \
        len(warmup.properties) + len(decay.properties)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("name", list(MISTAKES))
def test_optilab_check_fails_each_mistake_in_its_own_part_and_names_it(name):
    """The visible line of each test cell fails exactly where the mistake is, and its report names it
    (the visible inputs: the mistakes that only the hidden inputs reveal are left out)."""
    old, new = MISTAKES[name]
    results = _visible(_module(ANSWERS.replace(old, new)))
    failing, named = EXPECTED[name]
    got = sorted(k for k, r in results.items() if not r.passed)
    assert got == sorted(failing), {k: r.report() for k, r in results.items() if not r.passed}
    report = "\n".join(results[k].report() for k in failing)
    assert all(f"[{d}]" in report for d in named), report


def test_optilab_check_of_lab7_answers_needs_its_settings_and_groups():
    m = _module(ANSWERS)
    with pytest.raises(TypeError, match="needs the lab's settings clip_grads"):
        optilab.check("clip_by_global_norm", m.clip_by_global_norm)
    with pytest.raises(ValueError, match="no point group 'warmup'.*'ascent', 'step'"):
        optilab.check("sam", m.sam, group="warmup")
    with pytest.raises(TypeError, match="needs your function"):
        optilab.check("sam", 0.1)


def test_optilab_check_says_a_lab7_answer_is_not_written_yet():
    def sam(params, grads, state, *, grad_fn, lr=0.01, rho=0.05):
        raise NotImplementedError("replace this line with your code")
    result = optilab.check("sam", sam, group="ascent", quiet=True)
    assert not result.passed and "NotImplementedError" in result.report()
    with pytest.raises(NotImplementedError):
        result.assert_passed()
