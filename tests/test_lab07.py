"""Lab 7 (training in practice) as students hand it in: correct variants and realistic mistakes.

Each notebook is the released lab filled with the instructor's answers, then the student's own answers
(by cell id). Its autograded points (13: warm-up 1, decay 2, clip_grads 2, clip_by_global_norm 2, SAM's
ascent 2, SAM's step 2, the experiment 2) are worked out by hand below from what each mistake breaks; each
failing cell's message must name the wrong part (one of the words given). The outside verdicts (the
grader's own process) decide; Validate and ``make grade`` are checked on a few of them.
"""

from __future__ import annotations

import csv
import json
import re

import nbformat
import pytest

from optilab.grading.verdicts import _is_test_cell, tampering_notes
from tests.support.validate import validate
from tests.test_outside_verdicts import _judge, _solution, _student

pytestmark = pytest.mark.slow

LAB = "lab07_training_in_practice"
FULL = 13


def _solution_source(cell_id: str) -> str:
    return next(c.source for c in _solution(LAB).cells if c.get("id") == cell_id)


def _swap(cell_id: str, old: str, new: str) -> dict[str, str]:
    """The instructor's answer in ``cell_id`` with ``old`` replaced by ``new`` (a student's slip)."""
    source = _solution_source(cell_id)
    assert old in source, (cell_id, old)
    return {cell_id: source.replace(old, new)}


_PROGRESS = "progress = (min(step, total_steps) - warmup_steps) / (total_steps - warmup_steps)"
_NORM = "norm = math.sqrt(sum(float(np.sum(g * g)) for g in grads.values()))"
_ASCENT = "perturbed = {name: params[name] + rho * grads[name] / (norm + 1e-12) for name in params}"
_STEP = "return {name: params[name] - lr * sharp[name] for name in params}, {}"

#: Correct, in other forms: NumPy throughout, the norm of all entries concatenated, the state passed on.
NUMPY_FORMS = {
    "schedule-answer": ("def warmup_cosine(step, *, lr=0.1, warmup_steps=100, total_steps=1000, lr_min=0.0):\n"
                        "    warm = lr * (step + 1) / warmup_steps\n"
                        "    p = np.clip((step - warmup_steps) / (total_steps - warmup_steps), 0.0, 1.0)\n"
                        "    cos = lr_min + (lr - lr_min) * (1 + np.cos(np.pi * p)) / 2\n"
                        "    return float(warm if step < warmup_steps else cos)\n"),
    "clip-grads-answer": ("def clip_grads(grads, max_norm):\n"
                          "    total = np.linalg.norm(np.concatenate([np.ravel(g) for g in grads.values()]))\n"
                          "    if total <= max_norm:\n"
                          "        return {k: np.array(g, copy=True) for k, g in grads.items()}\n"
                          "    return {k: g * (max_norm / total) for k, g in grads.items()}\n"),
    "clip-answer": ("def clip_by_global_norm(rule, max_norm):\n"
                    "    def clipped_rule(params, grads, state, *, lr, **kw):\n"
                    "        g = clip_grads(grads, max_norm)\n"
                    "        pairs = {k: rule(params[k], g[k], state[k] if k in state else {}, lr=lr, **kw) for k in params}\n"
                    "        return {k: v[0] for k, v in pairs.items()}, {k: v[1] for k, v in pairs.items()}\n"
                    "    return clipped_rule\n"),
    "sam-answer": ("def sam(params, grads, state, *, grad_fn, lr=0.01, rho=0.05):\n"
                   "    norm = np.sqrt(sum(np.vdot(g, g) for g in grads.values()))\n"
                   "    eps = {k: rho * g / (norm + 1e-12) for k, g in grads.items()}\n"
                   "    g2 = grad_fn({k: p + eps[k] for k, p in params.items()})\n"
                   "    return {k: p - lr * g2[k] for k, p in params.items()}, dict(state)\n"),
}

CASES = {  # name -> (answers, autograded points, {failing cell: words one of which its message holds})
    "ada_solution": ({}, FULL, {}),
    # answers that hand their work to the library's own versions: refused while graded (issue: a grade
    # is evidence), whether reached through the module or through a name bound while the cells ran
    "ivy_calls_library_sam": ({"sam-answer": (
        "def sam(params, grads, state, *, grad_fn, lr=0.01, rho=0.05):\n"
        "    return model_rules.sam(params, grads, state, grad_fn=grad_fn, lr=lr, rho=rho)\n")},
        FULL - 4, {"test-sam-ascent": ["not available while yours are graded"],
                   "test-sam-step": ["not available while yours are graded"]}),
    "jon_library_schedule": ({"schedule-answer": (
        "_library_schedule = schedules.warmup_cosine\n"
        "def warmup_cosine(step, *, lr=0.1, warmup_steps=100, total_steps=1000, lr_min=0.0):\n"
        "    return float(_library_schedule(lr, warmup_steps, total_steps, lr_min)(step))\n")},
        FULL - 3, {"test-schedule-warmup": ["not available while yours are graded"],
                   "test-schedule-decay": ["not available while yours are graded"]}),
    "bo_numpy_forms": (NUMPY_FORMS, FULL, {}),
    # the schedule
    "cy_warmup_off_by_one": (_swap("schedule-answer", "lr * (step + 1) / warmup_steps", "lr * step / warmup_steps"),
                             12, {"test-schedule-warmup": ["warm-up is one step late", "lr·(t + 1)/warmup_steps"]}),
    "dee_cosine_over_total": (_swap("schedule-answer", _PROGRESS, "progress = min(step, total_steps) / total_steps"),
                              11, {"test-schedule-decay": ["counts from the end of the warm-up"]}),
    "eve_cosine_keeps_going": (_swap("schedule-answer", _PROGRESS,
                                     "progress = (step - warmup_steps) / (total_steps - warmup_steps)"),
                               11, {"test-schedule-decay": ["after total_steps", "lr_min"]}),
    "fay_decays_to_zero": (_swap("schedule-answer", "return lr_min + 0.5 * (lr - lr_min) *", "return 0.5 * lr *"),
                           11, {"test-schedule-decay": ["must end at lr_min"]}),
    # clipping
    "gus_per_array": ({"clip-grads-answer": ("def clip_grads(grads, max_norm):\n"
                                             "    out = {}\n"
                                             "    for name, g in grads.items():\n"
                                             "        n = np.linalg.norm(g)\n"
                                             "        out[name] = g * min(1.0, max_norm / n) if n > 0 else g.copy()\n"
                                             "    return out\n")},
                      11, {"test-clip-grads": ["its own norm", "one factor"]}),
    "hal_l1_norm": (_swap("clip-grads-answer", _NORM, "norm = sum(float(np.sum(np.abs(g))) for g in grads.values())"),
                    11, {"test-clip-grads": ["L1", "√(Σ g²)"]}),
    "ivy_scales_up": (_swap("clip-grads-answer", "factor = min(1.0, max_norm / norm) if norm > 0 else 1.0",
                            "factor = max_norm / norm if norm > 0 else 1.0"),
                      11, {"test-clip-grads": ["scaled up", "min(1, max_norm/‖g‖)"]}),
    "jon_in_place": ({"clip-grads-answer": ("def clip_grads(grads, max_norm):\n"
                                            "    " + _NORM + "\n"
                                            "    if norm > max_norm:\n"
                                            "        for g in grads.values():\n"
                                            "            g *= max_norm / norm\n"
                                            "    return grads\n")},
                     11, {"test-clip-grads": ["changed in place"]}),
    "kim_clip_ignores_rule": (_swap("clip-answer", "rule(params[name], clipped[name], state.get(name, {}), lr=lr,\n"
                                    "                                                     **hyperparameters)",
                                    "params[name] - lr * clipped[name], {}"),
                              11, {"test-clip": ["plain SGD", "wrapped rule must take the step"]}),
    "lou_hyperparameters_dropped": (_swap("clip-answer", "lr=lr,\n                                                     **hyperparameters)",
                                          "lr=lr)"),
                                    11, {"test-clip": ["hyperparameters are not passed on"]}),
    # SAM
    "mia_ascent_not_normalised": (_swap("sam-answer", "rho * grads[name] / (norm + 1e-12)", "rho * grads[name]"),
                                  11, {"test-sam-ascent": ["not normalised"]}),
    "ned_descends": (_swap("sam-answer", "params[name] + rho", "params[name] - rho"),
                     11, {"test-sam-ascent": ["wrong sign"]}),
    "ola_per_array_ascent": (_swap("sam-answer", _ASCENT,
                                   "perturbed = {name: params[name] + rho * grads[name] / np.linalg.norm(grads[name]) "
                                   "for name in params}"),
                             11, {"test-sam-ascent": ["its own norm", "all the arrays together"]}),
    "pat_first_gradient": (_swap("sam-answer", _STEP, "return {name: params[name] - lr * grads[name] for name in params}, {}"),
                           11, {"test-sam-step": ["first gradient"]}),
    "quin_from_perturbed": (_swap("sam-answer", _STEP,
                                  "return {name: perturbed[name] - lr * sharp[name] for name in params}, {}"),
                            11, {"test-sam-step": ["starts from the perturbed point"]}),
    "ray_default_rho": (_swap("sam-answer", "lr=0.01, rho=0.05):", "lr=0.01, rho=0.1):"),
                        11, {"test-sam-step": ["default of rho"]}),
    # the experiment
    "sue_training_loss": (_swap("experiment-answer", "history.test_loss[-1]", "history.train_loss[-1]"),
                          11, {"test-experiment": ["You read the training loss"]}),
    "tom_one_seed": (_swap("experiment-answer", "seed=seed, **hyper)", "seed=0, **hyper)"),
                     11, {"test-experiment": ["pass seed=seed"]}),
}

POINTS = {c.metadata.nbgrader["grade_id"]: c.metadata.nbgrader["points"] for c in _solution(LAB).cells
          if _is_test_cell(c)}


def test_the_points_add_up_to_the_cases_arithmetic():
    assert POINTS == {"test-schedule-warmup": 1, "test-schedule-decay": 2, "test-clip-grads": 2, "test-clip": 2,
                      "test-sam-ascent": 2, "test-sam-step": 2, "test-experiment": 2}
    assert sum(POINTS.values()) == FULL
    for name, (_, points, failing) in CASES.items():
        assert points == FULL - sum(POINTS[c] for c in failing), name
    assert sum(points < FULL for _, points, _ in CASES.values()) >= 8


@pytest.mark.parametrize("name", list(CASES))
def test_each_student_gets_exactly_their_points_and_a_message_naming_the_wrong_part(name, tmp_path):
    answers, expected, failing = CASES[name]
    verdicts = _judge(_student(LAB, answers), tmp_path, LAB, seconds=60)
    failed = {gid: v[2] for gid, v in verdicts.items() if not v[0]}
    assert set(failed) == set(failing), {gid: msg[:600] for gid, msg in failed.items()}
    assert sum(POINTS[gid] for gid, v in verdicts.items() if v[0]) == expected
    for gid, words in failing.items():
        assert any(word in failed[gid] for word in words), f"{gid}: none of {words} in {failed[gid][:900]!r}"


VALIDATED = ["ada_solution", "bo_numpy_forms", "dee_cosine_over_total", "gus_per_array", "mia_ascent_not_normalised"]


@pytest.mark.parametrize("name", VALIDATED)
def test_validate_passes_correct_work_and_fails_a_mistake_with_its_message(name, tmp_path):
    answers, expected, failing = CASES[name]
    result = validate(_student(LAB, answers), tmp_path, LAB)
    if expected == FULL:
        assert "failed" not in result, [f.get("error", "")[-600:] for f in result.get("failed", [])]
        return
    assert result.get("failed"), f"Validate passed {name}, a notebook that scores {expected} of {FULL}"
    errors = re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(f.get("raw_error", "") for f in result["failed"]))
    words = next(iter(failing.values()))
    assert any(word in errors for word in words), f"none of {words} in {errors[-1500:]!r}"


def test_make_grade_gives_the_same_points_and_no_tampering_note(tmp_path):
    """Through ``make grade`` (nbgrader's kernel with the hidden tests, then the grader's verdicts)."""
    from optilab.autograde import grade_lab

    chosen = ["ada_solution", "bo_numpy_forms", "cy_warmup_off_by_one", "hal_l1_norm", "kim_clip_ignores_rule",
              "ned_descends", "pat_first_gradient", "sue_training_loss"]
    export = tmp_path / "export"
    for student in chosen:
        folder = export / student
        folder.mkdir(parents=True)
        (folder / f"{LAB}.ipynb").write_text(json.dumps(_student(LAB, CASES[student][0])), encoding="utf-8")
    out = tmp_path / "ws"
    grade_lab(LAB, export, out=out, timeout=60)
    with open(out / "reports" / LAB / "grades.csv", newline="") as f:
        scores = {row["student_id"]: float(row["raw_score"]) for row in csv.DictReader(f)}
    assert scores == {s: float(CASES[s][1]) for s in chosen}
    for student in chosen:
        assert tampering_notes(out / "autograded" / student / LAB / f"{LAB}.ipynb") == [], student
    # the kernels' hidden tests read the reference runs make grade computed once for the class
    # (tests/test_given_runs.py), and agree with the grader
    graded = nbformat.read(out / "autograded" / "ada_solution" / LAB / f"{LAB}.ipynb", as_version=4)
    [cell] = [c for c in graded.cells if c.get("id") == "test-experiment"]
    said = "".join(o.get("text", "") for o in cell.outputs)
    assert "against the reference runs the grader computed for the class" in said, said
