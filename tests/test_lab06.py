"""Lab 6 (Lion and Adafactor): released, graded to full marks, and wrong rules graded to less.

Every notebook is the released lab filled with the instructor's answers, then the student's own
answer for ``lion`` or ``adafactor`` (by cell id), written the way students write them. Each
mistake notebook holds one wrong ``lion`` and one wrong ``adafactor``: the two rules have their
own test cells, so the cells each costs are its own. The rules' part of each notebook is judged
by the grader's outside verdicts (every mistake, with the message of its first failing cell);
whole notebooks, experiment included, go through ``make grade`` (where a rule fails its check the
experiment runs with optilab's rule instead and keeps its points).

Autograded points (22): lion and adafactor 1 + 2 + 2 + 1 each (first-step, many-steps,
conventions, contract), state_numbers 1, the curves 1 + 2, the tuning 3, best_lr 1, final 2.

Which groups each mistake costs is worked out by hand from the suites' inputs (beside each case):

- ``first-step`` takes one step from ``{}`` twice: with the contract's defaults (``weight_decay=0``
  for Lion) on a 7-vector, then with other hyperparameters on a 5-vector (Lion's ``weight_decay``
  about 0.19; Adafactor's ``eps1`` about 5e-6, ``d`` about 1.5, and gradients from 1e-5 to 1);
- ``many-steps``: twenty steps, a schedule, three steps from a given state with ``t = 5``, ten
  steps on a 3×4 matrix, every hyperparameter drawn away from its default;
- ``conventions``: each rule's own cases (Lion: the sign of the interpolation from a given m, m's
  average with β₂, every entry moving by lr, the decay alone; Adafactor: a 4×3 matrix's row and
  col, a vector's v, a 2×3×4 param, lr = 0.5 for six steps, the clipping with d = 1.5, a resume);
- ``contract``: float32, 0-d, 1-d and 2×3×2 params, inputs unchanged, new arrays, the defaults.

A mistake that only shows in a step after the first from ``{}`` keeps ``first-step``; one that
only shows on matrices keeps it too (its first step is on a vector).
"""

from __future__ import annotations

import csv
import inspect
import json
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from optilab import release
from optilab.grading.verdicts import _is_test_cell, tampering_notes
from tests.grader import correct_rules
from tests.support.validate import validate
from tests.test_outside_verdicts import _judge, _student

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
LAB = "lab06_large_models"
FULL = 22
RULE_CELLS = {rule: [f"test-{rule}-{g}" for g in ("first-step", "many-steps", "conventions", "contract")]
              for rule in ("lion", "adafactor")}
POINTS = {c.metadata.nbgrader["grade_id"]: c.metadata.nbgrader["points"]
          for c in nbformat.read(ROOT / "solutions" / LAB / f"{LAB}.ipynb", as_version=4).cells if _is_test_cell(c)}

# --------------------------------------------------------------------------- the rules, as students write them
LION = '''def lion(param, grad, state, *, lr=1e-4, beta1=0.9, beta2=0.99, weight_decay=0.0):
    m = state.get("m", np.zeros_like(param))
    direction = np.sign(beta1 * m + (1 - beta1) * grad)
    new_param = param - lr * weight_decay * param - lr * direction
    return new_param, {"m": beta2 * m + (1 - beta2) * grad}
'''

ADAFACTOR = '''def adafactor(param, grad, state, *, lr=1e-2, beta2_decay=-0.8, eps1=None, eps2=1e-3, d=1.0):
    eps1 = np.finfo(param.dtype).eps if eps1 is None else eps1
    t = state.get("t", 0) + 1
    beta2_t = 1 - t**beta2_decay
    alpha = max(eps2, float(np.sqrt(np.mean(param * param)))) * min(lr, 1 / t**0.5)
    g2 = grad * grad
    if param.ndim >= 2:
        row = beta2_t * state.get("row", 0.0) + (1 - beta2_t) * g2.mean(axis=-1)
        col = beta2_t * state.get("col", 0.0) + (1 - beta2_t) * g2.mean(axis=-2)
        v = row[..., :, None] * col[..., None, :] / np.maximum(row.mean(axis=-1), eps1)[..., None, None]
        new_state = {"t": t, "row": row, "col": col}
    else:
        v = beta2_t * state.get("v", 0.0) + (1 - beta2_t) * g2
        new_state = {"t": t, "v": v}
    u = grad / np.maximum(np.sqrt(v), eps1)
    u = u / max(1.0, float(np.sqrt(np.mean(u * u))) / d)
    return param - alpha * u, new_state
'''


def _edit(source: str, *changes: tuple[str, str]) -> str:
    for old, new in changes:
        assert old in source, old
        source = source.replace(old, new)
    return source


ALL, LATER, MATRICES = ("first-step", "many-steps", "conventions", "contract"), ("many-steps", "conventions", "contract"), \
    ("many-steps", "conventions", "contract")

#: name -> (answer cell source, the groups it fails, words of which the first failing cell's message holds one).
LION_MISTAKES = {
    # p + lr·sign(c): every step is wrong, from the first.
    "ascends": (_edit(LION, ("- lr * direction", "+ lr * direction")), ALL, ("steps up the gradient",)),
    # the interpolation itself instead of its sign: every step, from the first.
    "no_sign": (_edit(LION, ("np.sign(beta1 * m + (1 - beta1) * grad)", "beta1 * m + (1 - beta1) * grad")),
                ALL, ("sign(c)", "np.sign")),
    # β₂ inside the sign and β₁ for m: the first step's m is (1−β₁)g, not (1−β₂)g.
    "betas_swapped": (_edit(LION, ("np.sign(beta1 * m + (1 - beta1) * grad)", "np.sign(beta2 * m + (1 - beta2) * grad)"),
                            ('"m": beta2 * m + (1 - beta2) * grad', '"m": beta1 * m + (1 - beta1) * grad')),
                      ALL, ("β₁ and β₂ are swapped",)),
    # m updated with β₂ before the step uses it: from m = 0 the first step and m are right. The
    # resume from a given m (many-steps) shows it; the other cases' signs happen to agree.
    "updates_m_first": ('''def lion(param, grad, state, *, lr=1e-4, beta1=0.9, beta2=0.99, weight_decay=0.0):
    m = beta2 * state.get("m", np.zeros_like(param)) + (1 - beta2) * grad
    direction = np.sign(beta1 * m + (1 - beta1) * grad)
    return param - lr * weight_decay * param - lr * direction, {"m": m}
''', ("many-steps",), ("after this step's update",)),
    # lr hard-coded to the default: every test that passes another lr.
    "fixed_lr": (_edit(LION, ("    m = state", "    lr = 1e-4\n    m = state")), ALL, ("does not use the lr",)),
    # λ·p not scaled by lr: with λ = 0 (the defaults) nothing shows, so the contract's group and the
    # first step with the defaults hold; every test with λ > 0 fails.
    "decay_not_lr_scaled": (_edit(LION, ("param - lr * weight_decay * param", "param - weight_decay * param")),
                            ("first-step", "many-steps", "conventions"), ("not scaled by the learning rate",)),
    # no decay at all: the same tests as above fail.
    "no_decay": (_edit(LION, ("param - lr * weight_decay * param - lr * direction", "param - lr * direction")),
                 ("first-step", "many-steps", "conventions"), ("ignores the weight_decay",)),
    # (1 − β₁) dropped inside the sign: from m = 0 the sign of g is right; later steps differ.
    "no_one_minus": (_edit(LION, ("np.sign(beta1 * m + (1 - beta1) * grad)", "np.sign(beta1 * m + grad)")),
                     LATER, ("(1−β₁) factor",)),
    # m updated in place in the state it was given: the values are right, the state it was given changed.
    "state_in_place": ('''def lion(param, grad, state, *, lr=1e-4, beta1=0.9, beta2=0.99, weight_decay=0.0):
    m = state.setdefault("m", np.zeros_like(param))
    direction = np.sign(beta1 * m + (1 - beta1) * grad)
    new_param = param - lr * weight_decay * param - lr * direction
    m *= beta2
    m += (1 - beta2) * grad
    return new_param, {"m": m}
''', ("contract",), ("changes the state it is given",)),
    # torch's name for the buffer: the contract's key is m.
    "key_exp_avg": (_edit(LION, ('state.get("m"', 'state.get("exp_avg"'), ('{"m":', '{"exp_avg":')), ALL, ("'m'",)),
    # AdamW's default lr: only the defaults test.
    "default_lr": (_edit(LION, ("lr=1e-4", "lr=1e-3")), ("contract",), ("default lr",)),
}

ADAFACTOR_MISTAKES = {
    # the row average over the second-to-last axis and the column's over the last: on a vector
    # nothing changes (first-step holds); every matrix fails.
    "axes_swapped": (_edit(ADAFACTOR, ("g2.mean(axis=-1)", "g2.mean(axis=-3)"), ("g2.mean(axis=-2)", "g2.mean(axis=-1)"),
                           ("g2.mean(axis=-3)", "g2.mean(axis=-2)")), MATRICES, ("row and col averages are swapped",)),
    # sums instead of means over rows and columns: matrices only.
    "sums": (_edit(ADAFACTOR, ("g2.mean(axis=-1)", "g2.sum(axis=-1)"), ("g2.mean(axis=-2)", "g2.sum(axis=-2)")),
             MATRICES, ("sums of g²",)),
    # r·cᵀ without dividing by mean(r): matrices only.
    "no_row_normalisation": (_edit(ADAFACTOR, (" / np.maximum(row.mean(axis=-1), eps1)[..., None, None]", "")),
                             MATRICES, ("mean of the row averages",)),
    # t^(−beta2_decay): at t = 1 the same (1 − 1 = 0), from t = 2 on β₂,t is negative.
    "decay_exponent_sign": (_edit(ADAFACTOR, ("beta2_t = 1 - t**beta2_decay", "beta2_t = 1 - t**-beta2_decay")),
                            MATRICES, ("wrong exponent",)),
    # ε₁ added to √v̂ instead of a floor under it: shows beside small gradients and a large ε₁
    # (the first step with other hyperparameters, and the steps of many-steps that draw one).
    "eps_added": (_edit(ADAFACTOR, ("u = grad / np.maximum(np.sqrt(v), eps1)", "u = grad / (np.sqrt(v) + eps1)")),
                  ("first-step", "many-steps"), ("it is a floor",)),
    # the step not relative to RMS(p): every step.
    "no_relative_step": (_edit(ADAFACTOR, ("alpha = max(eps2, float(np.sqrt(np.mean(param * param)))) * min(lr, 1 / t**0.5)",
                                           "alpha = min(lr, 1 / t**0.5)")), ALL, ("not relative to the parameter",)),
    # ρ_t = lr without the cap 1/√t: only lr = 0.5 from t = 5 on shows it (a conventions case).
    "rho_is_lr": (_edit(ADAFACTOR, ("min(lr, 1 / t**0.5)", "lr")), ("conventions",), ("1/√t",)),
    # no clipping of the update's RMS: shows where RMS(u) > d.
    "no_clipping": (_edit(ADAFACTOR, ("    u = u / max(1.0, float(np.sqrt(np.mean(u * u))) / d)\n", "")),
                    LATER, ("not clipped",)),
    # RMS of the gradient instead of the parameter: every step.
    "rms_of_grad": (_edit(ADAFACTOR, ("np.mean(param * param)", "np.mean(grad * grad)")), ALL, ("RMS of the gradient",)),
    # v kept in full for matrices too: matrices only (their state has no row and col).
    "not_factored": (_edit(ADAFACTOR, ("if param.ndim >= 2:", "if False:")), MATRICES, ("keeps a full v",)),
    # the vector's v updated in place in the state it was given: only the contract.
    "state_in_place": (_edit(ADAFACTOR, ('''        v = beta2_t * state.get("v", 0.0) + (1 - beta2_t) * g2
''', '''        v = state.setdefault("v", np.zeros_like(param))
        v *= beta2_t
        v += (1 - beta2_t) * g2
''')), ("contract",), ("changes the state it is given",)),
    # eps1=None used as a number: every call raises.
    "eps1_none_unhandled": (_edit(ADAFACTOR, ("    eps1 = np.finfo(param.dtype).eps if eps1 is None else eps1\n", "")),
                            ALL, ("NoneType",)),
    # the stored t is the count before this step.
    "t_not_advanced": (_edit(ADAFACTOR, ('new_state = {"t": t, "row"', 'new_state = {"t": t - 1, "row"'),
                             ('new_state = {"t": t, "v"', 'new_state = {"t": t - 1, "v"')), ALL, ("does not advance",)),
}

def _as_answer(func, name: str) -> str:
    """The source of a catalogue's correct rule as a student's answer cell: undecorated, named ``name``."""
    source = "".join(line for line in inspect.getsource(func).splitlines(keepends=True) if not line.startswith("@"))
    return source.replace(f"def {func.__name__}(", f"def {name}(", 1)


#: Correct, written differently (the grader catalogue's own variants): np.where for the sign, m updated before the
#: parameter in a second name; Adafactor with keepdims, the lerp form, np.einsum and the ε₁² floor under v̂.
LION_OTHER_FORM = _as_answer(correct_rules.lion_where_and_lerp, "lion")
ADAFACTOR_OTHER_FORM = _as_answer(correct_rules.adafactor_lerp_and_einsum, "adafactor")


#: Pairs of one lion mistake and one adafactor mistake, one notebook each.
PAIRS = list(zip(LION_MISTAKES, ADAFACTOR_MISTAKES))
PAIRS += [(None, name) for name in list(ADAFACTOR_MISTAKES)[len(LION_MISTAKES):]]
PAIRS += [(name, None) for name in list(LION_MISTAKES)[len(ADAFACTOR_MISTAKES):]]


def _answers(lion: str | None, adafactor: str | None) -> dict[str, str]:
    answers = {}
    if lion:
        answers["lion-answer"] = LION_MISTAKES[lion][0]
    if adafactor:
        answers["adafactor-answer"] = ADAFACTOR_MISTAKES[adafactor][0]
    return answers


def _expected(lion: str | None, adafactor: str | None) -> dict[str, tuple[str, ...]]:
    """Failing cell -> the words of which its message holds one."""
    out = {}
    for rule, name, table in (("lion", lion, LION_MISTAKES), ("adafactor", adafactor, ADAFACTOR_MISTAKES)):
        if name:
            _, groups, words = table[name]
            out.update({f"test-{rule}-{g}": words for g in groups})
    return out


def _score(failing) -> int:
    return FULL - sum(POINTS[c] for c in failing)


# --------------------------------------------------------------------------- the tests
def test_the_points_are_the_ones_the_cases_were_worked_out_from():
    assert sum(POINTS.values()) == FULL
    assert {c: POINTS[c] for cells in RULE_CELLS.values() for c in cells} == {
        **{f"test-{r}-{g}": p for r in ("lion", "adafactor")
           for g, p in (("first-step", 1), ("many-steps", 2), ("conventions", 2), ("contract", 1))}}
    assert len(LION_MISTAKES) >= 8 and len(ADAFACTOR_MISTAKES) >= 8


def test_the_committed_student_version_is_what_make_release_generates(tmp_path):
    errors = release.generate(ROOT, [LAB], tmp_path / "labs", "sqlite:///" + str(tmp_path / "gradebook.db"))
    assert errors == []
    assert release.compare_trees(tmp_path / "labs" / LAB, ROOT / "labs" / LAB) == []
    text = (ROOT / "labs" / LAB / f"{LAB}.ipynb").read_text(encoding="utf-8")
    assert "def lion(" in text and "def adafactor(" in text and "np.sign(beta1" not in text


def test_rules_written_another_way_get_full_marks(tmp_path):
    verdicts = _judge(_student(LAB, {"lion-answer": LION_OTHER_FORM, "adafactor-answer": ADAFACTOR_OTHER_FORM}),
                      tmp_path, LAB, seconds=60)
    assert {g: v[2][:300] for g, v in verdicts.items() if not v[0]} == {}


def _rules_part(nb: dict) -> dict:
    """The notebook up to its rules' last test cell: the part that decides the rules' 12 points.
    (The rest, the experiment, runs with optilab's rules wherever the student's fail their checks;
    whole notebooks with wrong rules are graded in test_make_grade_scores_a_class.)"""
    ids = [c["id"] for c in nb["cells"]]
    return {**nb, "cells": nb["cells"][:ids.index("test-adafactor-contract") + 1]}


@pytest.mark.parametrize("lion, adafactor", PAIRS, ids=[f"{a}+{b}" for a, b in PAIRS])
def test_each_wrong_rule_loses_its_own_cells_and_its_message_names_the_wrong_part(lion, adafactor, tmp_path):
    verdicts = _judge(_rules_part(_student(LAB, _answers(lion, adafactor))), tmp_path, LAB, seconds=60)
    assert set(verdicts) == {c for cells in RULE_CELLS.values() for c in cells}
    expected = _expected(lion, adafactor)
    failed = {g: v[2] for g, v in verdicts.items() if not v[0]}
    assert set(failed) == set(expected), {g: m[:400] for g, m in failed.items()}
    assert 12 - sum(POINTS[g] for g in failed) == _score(expected) - (FULL - 12) < 12
    for rule in ("lion", "adafactor"):
        first = next((c for c in RULE_CELLS[rule] if c in failed), None)
        if first:
            words = expected[first]
            assert any(w in failed[first] for w in words), f"{first}: none of {words} in {failed[first][:1500]!r}"


def test_the_checks_use_the_labs_own_settings_and_data(tmp_path):
    """The checks recompute every expected number from their copy of the lab's setup: the same
    seeds, epochs, names, learning rates, grids and data as the notebook holds after its setup."""
    from optilab.grading.labs import lab06
    from optilab.grading.notebook import StudentNotebook
    from tests.test_outside_verdicts import _cells, _same

    cells, _ = _cells(nbformat.from_dict(_student(LAB)))
    ids = [c["id"] for c in _student(LAB)["cells"]]
    cells = [(i, src) for i, src in cells if i <= ids.index("curves-setup")]
    mlp, tuning, testing = lab06.RUNS.setup()
    with StudentNotebook(cells, tmp_path, served=("adafactor", "lion"), cell_seconds=120) as nb:
        for name, value in (("EPOCHS", lab06.RUNS.epochs), ("SEEDS", lab06.RUNS.seeds), ("NAMES", lab06.NAMES),
                            ("LRS", lab06.LRS), ("GRIDS", lab06.RUNS.grids), ("tuning", tuning), ("testing", testing)):
            assert _same(nb.get(name), value), name
        assert nb.get("mlp", ".sizes") == list(mlp.sizes) or tuple(nb.get("mlp", ".sizes")) == tuple(mlp.sizes)


def test_a_none_default_reaches_the_students_rule(tmp_path):
    """Adafactor's eps1=None crosses from the grader to the student's process as None: the
    solution's adafactor scores 6/6 with ``python -m optilab check``."""
    path = tmp_path / "adafactor.py"
    path.write_text("import numpy as np\n\n" + ADAFACTOR, encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "optilab", "check", "adafactor", str(path), "--json"],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)
    report = json.loads(done.stdout)
    assert (report["score"], report["max_score"], done.returncode) == (6, 6, 0), report["tests"]


#: Rules that call optilab's own, through every module that has them.
FROM_THE_LIBRARY = {
    "lion-answer": ("from optilab.kernels_modern import lion as _theirs\n"
                    "def lion(param, grad, state, **hyperparameters):\n"
                    "    return _theirs(param, grad, state, **hyperparameters)\n"),
    "adafactor-answer": ("import optilab.kernels_modern\n"
                         "def adafactor(param, grad, state, **hyperparameters):\n"
                         "    return optilab.kernels_modern.adafactor(param, grad, state, **hyperparameters)\n"),
}


def test_rules_taken_from_the_library_earn_none_of_the_rules_points(tmp_path):
    """optilab's Lion and Adafactor live in optilab.kernels_modern: while the student's rules are
    judged they are not there either, so none of the rules' 12 points. (That the experiment then
    runs with optilab's rules, computed by the grader, and keeps its 10 is graded whole in
    test_make_grade_scores_a_class: ivy_imported.)"""
    verdicts = _judge(_rules_part(_student(LAB, FROM_THE_LIBRARY)), tmp_path, LAB, seconds=120)
    failed = {g for g, v in verdicts.items() if not v[0]}
    assert set(verdicts) == failed == {c for cells in RULE_CELLS.values() for c in cells}
    assert "not available" in verdicts["test-lion-first-step"][2]


def test_the_sandbox_shows_no_module_of_reference_rules_whole():
    """optilab.kernels imports Lion and Adafactor from optilab.kernels_modern: the library a
    sandbox shows graded code strips the rules' code from every module that defines one."""
    import optilab
    from optilab import kernels
    from optilab.grading import process

    root = Path(optilab.__file__).resolve().parent
    view = process.library_view(("lion", "adafactor"))
    homes = {f.__module__.removeprefix("optilab.") for f in kernels.RULES.values()}
    assert {"kernels", "kernels_modern"} <= homes
    for module in homes:
        assert Path(view[str(root / f"{module}.py")]).is_file(), module
    shown = Path(view[str(root / "kernels_modern.py")]).read_text(encoding="utf-8")
    lion = shown.split("def lion(", 1)[1].split("\ndef ", 1)[0]
    assert "raise ImportError" in lion and "np.sign" not in lion


def test_without_a_sandbox_the_import_hooks_hide_the_rules_in_every_module():
    # as the student's process does: the hooks are installed before optilab is imported
    script = ("import importlib.util, os\n"
              "folder = importlib.util.find_spec('optilab').submodule_search_locations[0]\n"
              "path = os.path.join(folder, 'grading', 'student_library.py')\n"
              "spec = importlib.util.spec_from_file_location('student_library', path)\n"
              "student_library = importlib.util.module_from_spec(spec)\n"
              "spec.loader.exec_module(student_library)\n"
              "student_library.hide_reference_rules('lion')\n"
              "import numpy as np\n"
              "import optilab.kernels_modern as modern\n"
              "try:\n    modern.lion(np.ones(2), np.ones(2), {}, lr=0.1)\n"
              "except ImportError as error:\n    print('hidden:', error)\n"
              "else:\n    print('visible')\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.stdout.startswith("hidden: ") and "reference rule" in done.stdout, done.stdout + done.stderr


def _validate(nb: dict, tmp_path: Path) -> dict:
    return validate(nb, tmp_path, LAB)


def test_validate_passes_the_solution(tmp_path):
    result = _validate(_student(LAB), tmp_path)
    assert "failed" not in result, [f.get("error", "")[-600:] for f in result.get("failed", [])]


@pytest.mark.parametrize("lion, adafactor, words", [
    ("betas_swapped", None, ("'m'",)),
    (None, "axes_swapped", ("row", "col", "shape")),
])
def test_validate_fails_a_wrong_rule_with_its_checks_message(lion, adafactor, words, tmp_path):
    result = _validate(_student(LAB, _answers(lion, adafactor)), tmp_path)
    assert result.get("failed"), "Validate passed a notebook whose rule fails its visible check"
    errors = re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(f.get("raw_error", "") for f in result["failed"]))
    assert any(w in errors for w in words), errors[-1500:]


#: Through ``make grade``: the solution, a pair of mistakes (each mistake's own cells are judged in
#: test_each_wrong_rule_loses_its_own_cells_...; a notebook whose rules fail their checks runs the
#: experiment with optilab's rules, here whole), and rules that call optilab's own.
IMPORTED = {
    "lion-answer": ("def lion(param, grad, state, **hyperparameters):\n"
                    "    return optilab.RULES['lion'](param, grad, state, **hyperparameters)\n"),
    "adafactor-answer": ("from optilab.kernels import adafactor as _theirs\n"
                         "def adafactor(param, grad, state, **hyperparameters):\n"
                         "    return _theirs(param, grad, state, **hyperparameters)\n"),
}
CLASS = {
    "ada_solution": ({}, FULL),
    "bo_pair": (_answers("no_one_minus", "rho_is_lr"), _score(_expected("no_one_minus", "rho_is_lr"))),
    # optilab's rules are not there while the student's are judged: none of the rules' 12 points;
    # the experiment runs with optilab's (served) and keeps its 10.
    "ivy_imported": (IMPORTED, FULL - 12),
}


def test_make_grade_scores_a_class(tmp_path):
    from optilab.autograde import grade_lab

    export = tmp_path / "export"
    for student, (answers, _) in CLASS.items():
        folder = export / student
        folder.mkdir(parents=True)
        (folder / f"{LAB}.ipynb").write_text(json.dumps(_student(LAB, answers)), encoding="utf-8")
    out = tmp_path / "ws"
    grade_lab(LAB, export, out=out, timeout=120)
    with open(out / "reports" / LAB / "grades.csv", newline="") as f:
        scores = {row["student_id"]: float(row["raw_score"]) for row in csv.DictReader(f)}
    assert scores == {s: float(points) for s, (_, points) in CLASS.items()}
    for student in ("ada_solution", "bo_pair"):
        assert tampering_notes(out / "autograded" / student / LAB / f"{LAB}.ipynb") == [], student
