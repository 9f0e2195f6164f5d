"""Autograded test cells are decided in the grader's process, not in the student's kernel.

Hostile submissions forge what the kernel sees — they replace ``optilab.grading.hidden``, the
hidden suites' helpers, NumPy's comparisons, builtins, or the library that experiment numbers
are recomputed with — and are graded through ``make grade`` (:func:`optilab.autograde.grade_lab`)
and through plain nbgrader (its Python API with the course's ``nbgrader_config.py``). Each gets
exactly what its own work earns; the expected scores are worked out by hand from the labs'
points (see each case), and the same notebooks without the forging lines are shown to earn the
same. The labs' solutions get every autograded point.
"""

from __future__ import annotations

import ast
import copy
import csv
import html
import json
import os
import re
import shutil
from pathlib import Path

import nbformat
import numpy as np
import pytest

from optilab.grading import wire
from optilab.grading.labs import checks_for, guarded_for, served_for
from optilab.grading.notebook import Library, Opaque, ProcessGone, Ref, StudentNotebook
from optilab.grading.verdicts import NOTE, _is_test_cell, judge, tampering_notes

ROOT = Path(__file__).resolve().parents[1]
LABS = sorted(p.name for p in (ROOT / "solutions").iterdir() if p.is_dir() and p.name.startswith("lab"))


def _solution(lab: str) -> nbformat.NotebookNode:
    return nbformat.read(ROOT / "solutions" / lab / f"{lab}.ipynb", as_version=4)


def _cells(nb) -> tuple[list, list]:
    cells = [(i, c.source) for i, c in enumerate(nb.cells) if c.cell_type == "code" and not _is_test_cell(c)]
    tests = [(i, c.metadata.nbgrader["grade_id"]) for i, c in enumerate(nb.cells) if _is_test_cell(c)]
    return cells, tests


def _student(lab: str, answers: dict[str, str] | None = None) -> dict:
    """The released notebook filled with the instructor's answers, then ``answers`` (by cell id)."""
    solution = json.loads((ROOT / "solutions" / lab / f"{lab}.ipynb").read_text(encoding="utf-8"))
    given = {c["id"]: c["source"] for c in solution["cells"]
             if c["metadata"].get("nbgrader", {}).get("solution") and c["cell_type"] == "code"}
    given.update(answers or {})
    nb = json.loads((ROOT / "labs" / lab / f"{lab}.ipynb").read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        if cell["id"] in given:
            cell["source"] = given[cell["id"]]
    return nb


def _autograded(lab: str, nb: dict) -> nbformat.NotebookNode:
    """``nb`` with its test cells as nbgrader puts them back before it runs a submission: the
    instructor's, hidden tests included."""
    tests = {c.metadata.nbgrader["grade_id"]: c.source for c in _solution(lab).cells if _is_test_cell(c)}
    node = nbformat.from_dict(nb)
    for cell in node.cells:
        if _is_test_cell(cell):
            cell.source = tests[cell.metadata.nbgrader["grade_id"]]
    return node


def _judge(nb: dict, folder: Path, lab: str, seconds: float = 20) -> dict[str, tuple]:
    node = nbformat.from_dict(nb)
    cells, tests = _cells(node)
    verdicts = judge(cells, tests, checks_for(lab), str(folder), cell_seconds=seconds, served=served_for(lab),
                     guarded=guarded_for(lab))
    return {gid: verdicts[i] for i, gid in tests}


# --------------------------------------------------------------------------- the checks themselves
@pytest.mark.parametrize("lab", LABS)
def test_every_test_cell_of_every_lab_has_a_check(lab):
    _, tests = _cells(_solution(lab))
    assert tests, f"{lab} has no autograded test cells"
    assert {gid for _, gid in tests} == set(checks_for(lab)), "checks and test cells differ"


@pytest.mark.parametrize("lab", LABS)
def test_each_check_was_written_from_the_test_cell_in_solutions(lab):
    """A test cell edited in solutions/ without its check would no longer be what is scored."""
    from optilab.grading.labs import cell_digest, derived_from

    nb = _solution(lab)
    changed = [c.metadata.nbgrader["grade_id"] for c in nb.cells if _is_test_cell(c)
               and cell_digest(c.source) != derived_from(lab).get(c.metadata.nbgrader["grade_id"])]
    assert not changed, (f"these test cells changed since their checks in optilab/grading/labs/{lab[:5]}.py were "
                         f"written: {changed}; update the checks and their DERIVED_FROM digests")


@pytest.mark.parametrize("lab", LABS)
def test_every_solution_passes_every_check(lab, tmp_path):
    verdicts = _judge(json.loads((ROOT / "solutions" / lab / f"{lab}.ipynb").read_text()), tmp_path, lab)
    failed = {gid: v[2] for gid, v in verdicts.items() if not v[0]}
    assert not failed


def test_released_lab_without_answers_fails_every_check(tmp_path):
    nb = json.loads((ROOT / "labs" / LABS[0] / f"{LABS[0]}.ipynb").read_text())
    verdicts = _judge(nb, tmp_path, LABS[0])
    assert verdicts and not any(v[0] for v in verdicts.values())
    assert "NotImplementedError" in verdicts["test-sgd-first-step"][2] or \
        "not written yet" in verdicts["test-sgd-first-step"][2]


def test_the_config_puts_the_verdicts_right_after_execute():
    from nbgrader.converters import Autograde
    from traitlets.config.loader import PyFileConfigLoader
    from traitlets.utils.importstring import import_item

    from optilab.grading.verdicts import OutsideVerdicts

    from optilab.isolate.output import BoundedExecute

    config = PyFileConfigLoader("nbgrader_config.py", path=str(ROOT)).load_config()
    configured = [import_item(name) for name in config.Autograde.autograde_preprocessors]
    default = Autograde.class_traits()["autograde_preprocessors"].default()
    # nbgrader's own list, its Execute bounded in output, the verdicts right after it
    assert issubclass(BoundedExecute, default[0])
    assert configured == [BoundedExecute, OutsideVerdicts] + default[1:]


# --------------------------------------------------------------------------- the student's process
def _notebook(tmp_path: Path, *sources: str, seconds: float = 10) -> StudentNotebook:
    return StudentNotebook(list(enumerate(["import numpy as np", *sources])), tmp_path, cell_seconds=seconds)


def test_the_time_a_cell_waits_for_the_graders_answers_is_not_the_cells_and_keeps_the_wire_in_order(tmp_path):
    """Found in CI on a loaded machine: a cell's time limit rang while its process waited for the
    grader's answer (optilab.check of a wrong rule, diagnosed by the grader), so the answer was left
    on the wire and every later question read the wrong answer: "answered out of turn", and a
    submission correct but for one point scored 0. Here a cell asks the grader for optilab's sgd 300
    times, far longer in all than its 0.3 s limit, nearly all of it spent waiting for the grader."""
    source = "import optilab\nx = np.ones(2**16)\nfor _ in range(300):\n    x, _ = optilab.kernels.sgd(x, x, {}, lr=0.1)\n"
    with StudentNotebook(list(enumerate(["import numpy as np", source, "y = 7"])), tmp_path, cell_seconds=0.3,
                         served=("sgd",)) as nb:
        assert nb.outcomes[1]["ok"], nb.outcomes[1]
        assert nb.get("y") == 7 and nb.get("x")[0] == pytest.approx(0.9 ** 300)
    endless = "while True:\n    pass\n"  # the cell's own time still counts
    with StudentNotebook(list(enumerate(["import numpy as np", endless, "y = 7"])), tmp_path, cell_seconds=0.3) as nb:
        assert not nb.outcomes[1]["ok"] and nb.get("y") == 7


def test_a_process_that_ends_before_it_starts_is_the_graders_failure_not_the_students(tmp_path):
    """The process ended before it said it had started, so before any of the notebook's code ran
    (a sandbox that could not be set up, a machine out of processes): no verdict may blame the
    student's code; the grader says it could not start the process, with its exit status."""
    import sys

    from optilab.grading.notebook import NotStarted

    fails = [sys.executable, "-c", "import sys; sys.exit(3)"]
    with pytest.raises(NotStarted, match="could not start the process that runs the notebook.*exit status 3"):
        StudentNotebook([(0, "x = 1")], tmp_path, command=fails).start()


def test_judging_starts_the_students_process_again_once_if_it_could_not_start(tmp_path):
    """One failed start (here: the first attempt of a command that fails once) is tried again; the
    notebook is judged as if it had started the first time. Two failed starts raise NotStarted, so
    that nbgrader's autograde of that submission fails and make grade grades it again."""
    import sys

    from optilab.grading.notebook import NotStarted, notebook_command

    first = tmp_path / "first-start-failed"
    real = notebook_command(tmp_path, memory=3 * 2**30)
    once = [sys.executable, "-c", f"import os, sys\nif not os.path.exists({str(first)!r}):\n"
                                  f"    open({str(first)!r}, 'w').close()\n    sys.exit(1)\n"
                                  f"os.execv({real[0]!r}, {real!r})"]
    checks = {"test-x": lambda nb: None if nb.get("x") == 2 else (_ for _ in ()).throw(AssertionError("x"))}
    verdicts = judge([(0, "x = 2")], [(1, "test-x")], checks, str(tmp_path), command=once)
    assert first.exists() and verdicts == {1: (True, "", "")}
    with pytest.raises(NotStarted):
        judge([(0, "x = 2")], [(1, "test-x")], checks, str(tmp_path),
              command=[sys.executable, "-c", "import sys; sys.exit(1)"])


def test_plain_values_travel_and_other_objects_only_name_their_type(tmp_path):
    with _notebook(tmp_path, "x = {'a': [1, 2.5, None, 'text', (np.arange(3), np.float32(2))], 3.5: True}\n"
                             "f = lambda: 1\ndef gen(n):\n    yield from range(n)\nclass Box: pass\nbox = Box()") as nb:
        x = nb.get("x")
        assert x["a"][:4] == [1, 2.5, None, "text"] and x[3.5] is True
        assert np.array_equal(x["a"][4][0], np.arange(3)) and x["a"][4][1].dtype == np.float32
        assert isinstance(nb.get("f"), Opaque) and repr(nb.get("f")) == "<a function>"
        assert isinstance(nb.call("gen", 3), Opaque)
        assert nb.call("gen", 3, listed=True) == [0, 1, 2]
        assert repr(nb.get("box")) == "<a Box>"


def test_calls_take_the_notebooks_own_objects_and_library_objects(tmp_path):
    with _notebook(tmp_path, "def twice(f, x):\n    return f(f(x))\ndef inc(x):\n    return x + 1\n"
                             "def limit(problem):\n    return 2 / max(problem.eigenvalues)") as nb:
        assert nb.call("twice", Ref("inc"), 1) == 3
        assert nb.call("limit", Library("problems.quadratic", eigenvalues=(1.0, 50.0))) == 2 / 50


# --------------------------------------------------------------------------- optilab's rules in a graded notebook
_ADAM_SERVED = ("adam", "adamw", "amsgrad")
_CALLS_OPTILABS_ADAM = ("import optilab\n"
                        "def adam(param, grad, state, **hyperparameters):\n"
                        "    return optilab.RULES['adam'](param, grad, state, **hyperparameters)\n")


def test_a_served_rule_is_computed_by_the_grader_but_not_while_a_rule_is_judged(tmp_path):
    from optilab import kernels

    start = ("import optilab\nfrom optilab.kernels import adamw\n"
             "g = np.linspace(-1, 1, 5)\nearly = optilab.RULES['adam'](g, g, {}, lr=0.1)\n"
             "early_w = adamw(g, g, {}, lr=0.1, weight_decay=0.5)\nsgd_is_here = optilab.RULES['sgd'].__module__\n")
    with StudentNotebook(list(enumerate(["import numpy as np", start, _CALLS_OPTILABS_ADAM])), tmp_path,
                         cell_seconds=20, served=_ADAM_SERVED) as nb:
        assert all(o["ok"] for o in nb.outcomes.values()), nb.outcomes
        g = np.linspace(-1, 1, 5)
        (p, state), (pw, _) = nb.get("early"), nb.get("early_w")
        (p_ref, state_ref), (pw_ref, _) = kernels.adam(g, g, {}, lr=0.1), kernels.adamw(g, g, {}, lr=0.1, weight_decay=0.5)
        assert np.array_equal(p, p_ref) and state["t"] == 1 and np.array_equal(state["v"], state_ref["v"])
        assert np.array_equal(pw, pw_ref)
        assert nb.get("sgd_is_here") == "optilab.kernels", "a rule the lab does not grade stays in the library"
        with pytest.raises(Exception, match="not available while your adam is graded") as raised:
            nb.rule("adam")(g, g, {}, lr=0.1)
        assert type(raised.value).__name__ == "ImportError"
        # a served rule handed to a function of the notebook, outside any rule's judging: computed
        assert np.array_equal(nb.call("adam", g, g, {}, lr=0.1)[0], p_ref)


class _CountingNotebook(StudentNotebook):
    """A StudentNotebook that counts the questions of the student's process about served rules."""
    asked = 0

    def _served_rule(self, header, blobs):
        self.asked += 1
        return super()._served_rule(header, blobs)


def test_a_model_trained_with_a_served_rule_asks_the_grader_once_per_step_and_trains_as_here(tmp_path):
    """Found when measured: a served rule cost a round trip to the grader per parameter per step
    (lab 6's MLP, 4 parameters: 27,000 questions for a notebook whose rules fail their checks).
    The Optimizer now asks for a step's parameters at once; a parameter whose inputs alone pass
    1 MB goes on its own. The runs are the grader's rule's, bit for bit."""
    from optilab import models, training
    from optilab.grading import student_notebook

    X = np.random.default_rng(0).standard_normal((48, 6))
    data = (X, (X[:, 0] > 0).astype(int), X[:8], (X[:8, 0] > 0).astype(int))
    big = student_notebook.STEPS_BYTES // (3 * 8) + 1  # float64 entries whose param, grad and m pass it
    cells = ["import numpy as np\nfrom optilab import models, training, Optimizer",
             "X = np.random.default_rng(0).standard_normal((48, 6))\n"
             "data = (X, (X[:, 0] > 0).astype(int), X[:8], (X[:8, 0] > 0).astype(int))\n"
             "h = training.train('lion', models.MLP((6, 5, 2)), data, epochs=2, batch_size=16, lr=0.01, seed=1)\n"
             "losses, steps = h.train_loss, len(h.step_loss)",
             f"opt = Optimizer('lion', lr=0.01)\nbig = {{'a': np.ones({big}), 'b': np.ones({big}), 'c': np.ones(3)}}\n"
             "big = opt.step(big, {k: v * 0.5 for k, v in big.items()})\nbig_a = big['a'][:3]"]
    for folder in ("small", "big"):
        (tmp_path / folder).mkdir()
    with _CountingNotebook(list(enumerate(cells[:2])), tmp_path / "small", cell_seconds=60, served=("lion",)) as nb:
        assert all(o["ok"] for o in nb.outcomes.values()), nb.outcomes
        here = training.train("lion", models.MLP((6, 5, 2)), data, epochs=2, batch_size=16, lr=0.01, seed=1)
        assert nb.get("steps") == len(here.step_loss) == 6 and np.array_equal(nb.get("losses"), here.train_loss)
        assert nb.asked == 6
    with _CountingNotebook(list(enumerate([cells[0], cells[2]])), tmp_path / "big", cell_seconds=60,
                           served=("lion",)) as nb:
        assert all(o["ok"] for o in nb.outcomes.values()), nb.outcomes
        assert np.array_equal(nb.get("big_a"), np.full(3, 1 - 0.01))
        assert nb.asked == 2  # 'a' alone; then 'b' and 'c' together


def test_optilab_check_in_a_graded_notebook_is_the_graders_own(tmp_path):
    wrong = ("def adam(param, grad, state, *, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):\n"
             "    return param - lr * grad, {'t': 1, 'm': grad, 'v': grad ** 2}\n")
    right = _solution(LAB4).cells[[c.get("id") for c in _solution(LAB4).cells].index("adam-answer")].source
    checks = ("import optilab\nresult = optilab.check('adam', adam, quiet=True)\n"
              "passed, text = result.passed, result.report()\n")
    for source, expected in ((wrong, False), (right, True), (_CALLS_OPTILABS_ADAM, False)):
        with StudentNotebook(list(enumerate(["import numpy as np", source, checks])), tmp_path,
                             cell_seconds=20, served=_ADAM_SERVED) as nb:
            assert nb.outcomes[2]["ok"], nb.outcomes[2]
            assert nb.get("passed") is expected
            assert ("✗" in nb.get("text")) is not expected and "check('adam')" in nb.get("text")


def test_the_librarys_figures_are_not_drawn_where_answers_are_judged_and_cells_go_on(tmp_path):
    from optilab import plots
    cell = ("import sys\nfrom optilab import plots\nfig = plots.loss_curves({'a': [3.0, 2.0, 1.0]}, title='t')\n"
            "fig.axes[0].set_ylim(0, 1)\nfor ax in fig.axes:\n    ax.grid()\n"
            "names = sorted(plots.__all__)\ndrawn = 'matplotlib' in sys.modules\nafter = 42\n")
    with _notebook(tmp_path, cell) as nb:
        assert nb.outcomes[1]["ok"], nb.outcomes
        assert nb.get("names") == sorted(plots.__all__) and nb.get("drawn") is False and nb.get("after") == 42


def test_graded_code_sees_the_library_without_the_code_of_the_rules_it_is_graded_on(tmp_path):
    import py_compile

    from optilab import isolate, kernels
    ok, reason = isolate.available()
    if not ok:
        if os.environ.get("OPTILAB_REQUIRE_SANDBOX"):
            pytest.fail(f"OPTILAB_REQUIRE_SANDBOX is set but {reason}")
        pytest.skip(f"without a sandbox the library's files are readable: {reason}")
    compiled = Path(py_compile.compile(kernels.__file__))  # a compiled copy holds the code too,
    compiled.parent.chmod(0o755)                           # readable by all as a usual umask makes it
    compiled.chmod(0o644)
    look = ("import os, importlib.util, optilab, optilab.kernels as kernels\n"
            "root = os.path.dirname(optilab.__file__)\n"
            "source = open(kernels.__file__).read()\n"
            "adam_code = source.split('def adam(')[1].split('\\ndef ')[0]\n"
            "sgd_code = source.split('def sgd(')[1].split('\\ndef ')[0]\n"
            "compiled = len(open(importlib.util.cache_from_source(kernels.__file__), 'rb').read())\n"
            "grading = sorted(os.listdir(os.path.join(root, 'grading')))\n"
            "widgets = os.listdir(os.path.join(root, 'widgets'))\n"
            "contract = os.listdir(os.path.join(root, 'contract'))\n"
            "experiments = os.listdir(os.path.join(root, 'experiments'))\n"
            "variants = open(os.path.join(root, 'variants.py')).read()\n")
    with StudentNotebook(list(enumerate(["import numpy as np", look])), tmp_path, cell_seconds=20,
                         served=_ADAM_SERVED) as nb:
        assert nb.sandboxed and nb.outcomes[1]["ok"], nb.outcomes
        assert "ImportError" in nb.get("adam_code") and "sqrt" not in nb.get("adam_code")
        assert "lr" in nb.get("sgd_code") and "ImportError" not in nb.get("sgd_code"), "sgd is not graded here"
        assert compiled.stat().st_size > 0 and nb.get("compiled") == 0
        assert nb.get("grading") == ["student_file.py", "student_library.py", "student_notebook.py",
                                      "student_side.py", "wire.py"] and nb.get("widgets") == []
        assert nb.get("contract") == [] and nb.get("experiments") == [] and nb.get("variants") == ""


def test_a_cell_that_fails_stops_there_and_the_next_cell_runs(tmp_path):
    with _notebook(tmp_path, "a = 1\nraise ValueError('no')\nb = 2", "%matplotlib inline\nc = 3", "d = 4") as nb:
        assert nb.get("a") == 1 and nb.get("c") == 3 and nb.get("d") == 4
        with pytest.raises(Exception, match="'b' is not defined"):
            nb.get("b")
        assert not nb.outcomes[1]["ok"] and nb.outcomes[1]["error"]["type"] == "ValueError"
        assert nb.outcomes[2]["ok"] and nb.outcomes[3]["ok"]


def test_an_endless_cell_is_interrupted_and_the_next_cell_runs(tmp_path):
    with _notebook(tmp_path, "while True:\n    pass", "after = 1", seconds=1) as nb:
        assert nb.get("after") == 1
        assert nb.outcomes[1]["error"]["type"] == "KeyboardInterrupt"


def test_a_request_out_of_time_stops_the_process_and_later_requests_fail(tmp_path):
    with _notebook(tmp_path, "def spin():\n    while True:\n        pass\nx = 1", seconds=30) as nb:
        with nb.limit(1, "This test cell"), pytest.raises(ProcessGone, match="did not finish within 1 s"):
            nb.call("spin")
        with pytest.raises(ProcessGone, match="did not finish within 1 s"):
            nb.get("x")



def test_a_request_that_keeps_the_grader_busy_answering_still_ends_on_time(tmp_path):
    """The grader answers each question of the process (here: optilab's sgd, which it computes)
    before it reads on; a process that asks without end, so that the wire always has something to
    read, is still stopped when the request's time is up."""
    source = ("import numpy as np\nimport optilab\n"
              "def ask_for_ever():\n    while True:\n"
              "        optilab.RULES['sgd'](np.ones(2), np.ones(2), {}, lr=0.1)\nx = 1")
    with StudentNotebook([(0, source)], tmp_path, cell_seconds=30, served=("sgd",)) as nb:
        assert nb.get("x") == 1
        with nb.limit(1, "This test cell"), pytest.raises(ProcessGone, match="did not finish within 1 s"):
            nb.call("ask_for_ever")
        with pytest.raises(ProcessGone, match="did not finish within 1 s"):
            nb.get("x")

def test_a_process_that_exits_fails_the_request_and_the_later_ones(tmp_path):
    with _notebook(tmp_path, "import os\ndef bye():\n    os._exit(3)\nx = 1") as nb:
        with pytest.raises(ProcessGone, match="exit status 3"):
            nb.call("bye")
        with pytest.raises(ProcessGone):
            nb.get("x")


def test_memory_is_limited(tmp_path):
    with StudentNotebook([(0, "import numpy as np\ndef big():\n    return np.ones(2**34).sum()")], tmp_path,
                         memory=2**31) as nb:
        with pytest.raises(MemoryError):
            nb.call("big")


def test_the_wire_refuses_what_is_not_plain():
    blobs: list[bytes] = []
    desc = wire.encode_plain({"k": [1, (2, "x")]}, blobs)
    assert wire.decode_plain(desc, blobs) == {"k": [1, (2, "x")]}
    with pytest.raises(wire.WireError):
        wire.decode_plain({"t": "map", "items": [[{"t": "list", "items": []}, {"t": "none"}]]}, [])
    with pytest.raises(wire.WireError):
        wire.decode_plain({"t": "pickle", "v": "..."}, [])
    deep: dict = {"t": "none"}
    for _ in range(wire.MAX_DEPTH + 2):
        deep = {"t": "list", "items": [deep]}
    with pytest.raises(wire.WireError):
        wire.decode_plain(deep, [])


# --------------------------------------------------------------------------- hostile notebooks
LAB1, LAB3, LAB4 = "lab01_gradient_descent", "lab03_adagrad_rmsprop", "lab04_adam_adamw"

# Lab 4: rules adam and adamw (6 points each, in four cells), test-bias-correction (2), test-decay (2).
LAB4_RULES, LAB4_HELPERS = 12, 4
_IDENTITY = ("def {name}(param, grad, state, *, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8{extra}):\n"
             "    t = state.get('t', 0) + 1\n"
             "    return param.copy(), {{'t': t, 'm': np.zeros_like(param), 'v': np.zeros_like(param)}}\n")
FORGE_HIDDEN = "import optilab.grading\noptilab.grading.hidden = lambda *a, **k: None\n"
# Rules that return param unchanged earn none of a rule's groups: one step must move param
# (first-step, many-steps, conventions) and the default hyperparameters must give the
# contract's step (contract). The helpers are the instructor's: 4 points.
LAB4_FORGED = {
    "adam-answer": FORGE_HIDDEN + _IDENTITY.format(name="adam", extra=""),
    "adamw-answer": _IDENTITY.format(name="adamw", extra=", weight_decay=1e-2"),
}
# Right rules (12 points); wrong helpers (0 of 4) made to look right to the kernel's asserts by
# replacing NumPy's comparisons and a builtin.
LAB4_PATCHED = {
    "adam-uncorrected-answer": (
        "import builtins\nbuiltins.all = lambda iterable: True\n"
        "np.allclose = lambda *a, **k: True\nnp.isclose = lambda *a, **k: True\n"
        "def adam_uncorrected(param, grad, state, *, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):\n"
        "    return param.copy(), {'t': state.get('t', 0) + 1, 'm': grad, 'v': grad}\n"),
    "first-steps-answer": "def first_steps(rule, n):\n    return np.zeros(n)\n",
    "adam-l2-answer": "def adam_l2(param, grad, state, **hyper):\n    return param.copy(), {}\n",
    "after-decay-answer": "def after_decay(rule, weight_decay):\n    return 0.5\n",
}

# Rules that call optilab's own (through optilab.RULES, or imported from optilab.kernels) earn
# none of the rules' 12 points: while the grader judges a rule, the reference is not there. The
# lab's cells that fall back on optilab's rules when the student's fail their check still run
# with it, so the helpers keep their 4.
LAB4_IMPORTED = {
    "adam-answer": ("def adam(param, grad, state, **hyperparameters):\n"
                    "    return optilab.RULES['adam'](param, grad, state, **hyperparameters)\n"),
    "adamw-answer": ("from optilab.kernels import adamw as _theirs\n"
                     "def adamw(param, grad, state, **hyperparameters):\n"
                     "    return _theirs(param, grad, state, **hyperparameters)\n"),
}

# Lab 1: sgd's three cells (1 point each), minibatches (2 + 1), the stability cell (2).
# An sgd that returns param unchanged earns none of sgd's groups; the helpers earn their 5.
LAB1_FORGED = {
    "sgd-answer": ("import optilab.grading.runner, sys\n"
                   "optilab.grading.runner.run_tests = lambda *a, **k: []\n"
                   "sys.modules['optilab.grading'].hidden = lambda *a, **k: None\n"
                   "def sgd(param, grad, state, *, lr=1e-2):\n    return param.copy(), {}\n"),
}

# The same sgd, with an IPython input transformer that empties every cell holding hidden tests
# before the kernel runs it: the kernel passes all six test cells, the sgd earns none of its 3.
LAB1_TRANSFORMED = {
    "sgd-answer": ("get_ipython().input_transformers_post.append(\n"
                   "    lambda lines: ['pass\\n'] if any('HIDDEN TESTS' in line for line in lines) else lines)\n"
                   "def sgd(param, grad, state, *, lr=1e-2):\n    return param.copy(), {}\n"),
}

# Lab 3: rules adagrad and rmsprop (6 points each), test-best-final-loss (1), test-adaptive-wins (2).
# The experiment's numbers are made up, and the library is patched so that the kernel's
# recomputation agrees with them: 0 of those 3 points.
LAB3_PRECOMPUTED = {
    "best-final-loss-answer": (
        "class _Fake:\n    diverged = False\n    def __init__(self, loss):\n        self.train_loss = [loss]\n"
        "training.train = lambda rule, *a, **k: _Fake(1.0 if rule == 'sgd' else 0.01)\n"
        "def best_final_loss(rule, lrs):\n    return 0.01, (1.0 if rule == 'sgd' else 0.01)\n"),
    "results-answer": ("results = {'sgd': (float(lrs[2]), 1.0), 'adagrad': (float(lrs[2]), 0.01),\n"
                       "           'rmsprop': (float(lrs[2]), 0.01)}\n"),
}

# Lab 2: rules momentum and nesterov (6 points each), test-steps-needed (1), test-best-settings (2).
# Values that are equal to everything (and hash like the grid's keys) pass the kernel's asserts;
# across the wire they are objects of the student's that compare equal to nothing: 0 of 3.
LAB2, LAB5 = "lab02_momentum_nesterov", "lab05_experiment"
_EVERYTHING = ("class Everything:\n    def __init__(self, like=0.0):\n        self.like = like\n"
               "    def __eq__(self, other):\n        return True\n    def __ne__(self, other):\n        return False\n"
               "    def __hash__(self):\n        return hash(self.like)\n"
               "    def __truediv__(self, other):\n        return 100.0\n")
LAB2_EVERYTHING = {
    "steps-needed-answer": _EVERYTHING + ("def steps_needed(rule, lr, max_steps, **hyperparameters):\n"
                                          "    return None if lr == 0.005 else Everything()\n"),
    "tuning-answer": ("best_gd = (Everything(0.0198), Everything())\n"
                      "best_momentum = (Everything(0.033), Everything(0.8), Everything())\n"),
}
# Lab 5: test-reference-curves (1), test-your-curves (2), test-interval (1), test-tuning (3),
# test-best-lr (1), test-final (2). Made-up histories, validation losses and final runs, with
# training.train patched so that the kernel's recomputation agrees: only the honest interval
# earns its 1 point (the hidden test of best_lr states the expected choice, so the kernel fails
# the made-up one too).
LAB5_MADE_UP = {
    "curves-answer": ("class _Fake:\n    diverged = False\n    train_loss = test_loss = [1.0]\n"
                      "training.train = lambda *a, **k: _Fake()\n"
                      "histories = {f'{who} {name}': _Fake() for who in ('your', 'reference')\n"
                      "             for name in ('sgd', 'momentum', 'adam')}\n"),
    "tuning-answer": ("tuning_losses = {name: {lr: np.ones(len(SEEDS)) for lr in GRIDS[name]} for name in GRIDS}\n"
                      "best_lr = {name: GRIDS[name][0] for name in GRIDS}\n"),
    "final-answer": ("final = {name: {'train': np.ones(len(SEEDS)), 'test': np.ones(len(SEEDS))}\n"
                     "         for name in ('sgd', 'momentum', 'adam')}\n"),
}

HOSTILE = {  # lab -> student -> (answers, autograded points by hand, cells the kernel passed wrongly)
    LAB2: {
        "ada_honest": ({}, 15, []),
        # The test cells' visible checks (steps_needed with two momenta, the best settings by the
        # student's own steps_needed) fail these objects in the kernel too.
        "eve_everything": (LAB2_EVERYTHING, 12, []),
    },
    LAB5: {
        "ada_honest": ({}, 10, []),
        # The kernel's hidden tests are the grader's checks run on the notebook's own namespace, so a
        # notebook that replaces training.train fools every cell whose reference runs they train there:
        # test-final's, at the made-up best lr. The runs make grade computed for the class and gave the
        # kernel (optilab.grading.labs.given) are not trained there, and the other cells fail in the kernel
        # too. The grader's process is not fooled.
        "mo_made_up": (LAB5_MADE_UP, 1, ["test-final"]),
    },
    LAB4: {
        "ada_honest": ({}, LAB4_RULES + LAB4_HELPERS, []),
        # The test cells' visible checks fail these identity rules in the kernel too.
        "fox_forged": (LAB4_FORGED, LAB4_HELPERS, []),
        "pat_patched": (LAB4_PATCHED, LAB4_RULES, ["test-bias-correction", "test-decay"]),
        "ivy_imported": (LAB4_IMPORTED, LAB4_HELPERS, [f"test-{r}-{g}" for r in ("adam", "adamw")
                                                       for g in ("first-step", "many-steps", "conventions", "contract")]),
    },
    LAB1: {
        "ada_honest": ({}, 8, []),
        # The test cells' visible checks (optilab.check(..., group=...)) fail this sgd in the kernel too.
        "run_forged": (LAB1_FORGED, 5, []),
        "tia_transformed": (LAB1_TRANSFORMED, 5, ["test-sgd-first-step", "test-sgd-many-steps", "test-sgd-contract"]),
    },
    LAB3: {
        "ada_honest": ({}, 15, []),
        "pre_computed": (LAB3_PRECOMPUTED, 12, ["test-best-final-loss", "test-adaptive-wins"]),
    },
}


def _without_forging(answers: dict[str, str]) -> dict[str, str]:
    """The same answers without the lines that patch anything (what the work itself earns)."""
    out = {}
    for key, source in answers.items():
        lines = [line for line in source.splitlines()
                 if not any(s in line for s in ("optilab.grading", "builtins", "np.allclose", "np.isclose",
                                                "training.train =", "sys.modules", "get_ipython",
                                                "lambda lines", "RULES[", "optilab.kernels", "_theirs("))]
        out[key] = "\n".join(lines) + "\n"
    return out


@pytest.mark.parametrize("lab,student", [(lab, s) for lab, cases in HOSTILE.items() for s in cases
                                         if s != "ada_honest"])
def test_a_forged_notebook_earns_what_the_same_work_earns_unforged(lab, student, tmp_path):
    answers, expected, _ = HOSTILE[lab][student]
    points = {c.metadata.nbgrader["grade_id"]: c.metadata.nbgrader["points"]
              for c in _solution(lab).cells if _is_test_cell(c)}
    scores = []
    for version in (answers, _without_forging(answers)):
        verdicts = _judge(_student(lab, version), tmp_path, lab)
        scores.append(sum(points[g] for g, v in verdicts.items() if v[0]))
    assert scores == [expected, expected]


# --------------------------------------------------------------------------- through nbgrader
def _export(root: Path, lab: str) -> Path:
    for student, (answers, _, _) in HOSTILE[lab].items():
        folder = root / student
        folder.mkdir(parents=True)
        (folder / f"{lab}.ipynb").write_text(json.dumps(_student(lab, answers)), encoding="utf-8")
    return root


def _scores_from_csv(path: Path) -> dict[str, float]:
    with open(path, newline="") as f:
        return {row["student_id"]: float(row["raw_score"]) for row in csv.DictReader(f)}


@pytest.mark.slow
@pytest.mark.parametrize("lab", [LAB1, LAB2, LAB3, LAB4, LAB5])
def test_make_grade_scores_the_outside_verdicts(lab, tmp_path):
    from optilab.autograde import grade_lab

    out = tmp_path / "ws"
    grade_lab(lab, _export(tmp_path / "export", lab), out=out, timeout=20)
    scores = _scores_from_csv(out / "reports" / lab / "grades.csv")
    assert scores == {s: float(case[1]) for s, case in HOSTILE[lab].items()}
    report = (out / "reports" / lab / "report.txt").read_text(encoding="utf-8")
    for student, (_, _, kernel_fooled) in HOSTILE[lab].items():
        line = next(line for line in report.splitlines() if student in line)
        for cell in kernel_fooled:
            assert NOTE.format(cell=cell, kernel="pass", grader="fail") in line, line
        assert ("tampering suspected" in line) == bool(kernel_fooled), line
    for student, (_, _, kernel_fooled) in HOSTILE[lab].items():
        notebook = out / "autograded" / student / lab / f"{lab}.ipynb"
        notes = tampering_notes(notebook)
        assert notes == [NOTE.format(cell=c, kernel="pass", grader="fail") for c in kernel_fooled]
        page = html.unescape((out / "feedback" / student / lab / f"{lab}.html").read_text(encoding="utf-8"))
        nb = json.loads(notebook.read_text(encoding="utf-8"))
        for cell in nb["cells"]:
            record = cell["metadata"].get("optilab")
            if record and record["verdict"] == "fail":
                first = record["message"].splitlines()[0]
                assert first in page, first
    if lab == LAB5:
        # the kernel's hidden tests read the reference runs make grade computed once for the class
        # (tests/test_given_runs.py), and agree with the grader
        graded = nbformat.read(out / "autograded" / "ada_honest" / lab / f"{lab}.ipynb", as_version=4)
        for cell_id in ("test-tuning", "test-final"):
            [cell] = [c for c in graded.cells if c.get("id") == cell_id]
            said = "".join(o.get("text", "") for o in cell.outputs)
            assert "against the reference runs the grader computed for the class" in said, (cell_id, said)


@pytest.mark.slow
def test_plain_nbgrader_autograde_scores_the_outside_verdicts(tmp_path):
    """nbgrader's own API, configured only by the course's nbgrader_config.py."""
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config.loader import PyFileConfigLoader

    lab = LAB4
    course = tmp_path / "course"
    shutil.copytree(ROOT / "solutions" / lab, course / "solutions" / lab)
    shutil.copy(ROOT / "nbgrader_config.py", course / "nbgrader_config.py")
    for student, (answers, _, _) in HOSTILE[lab].items():
        folder = course / "grading" / "submitted" / student / lab
        folder.mkdir(parents=True)
        (folder / f"{lab}.ipynb").write_text(json.dumps(_student(lab, answers)), encoding="utf-8")
    config = PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()
    api = NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)
    assert api.generate_assignment(lab)["success"]
    for student in HOSTILE[lab]:
        result = api.autograde(lab, student)
        assert result["success"], result.get("error")
    from nbgrader.api import Gradebook

    with Gradebook(config.CourseDirectory.db_url) as gb:
        scores = {s: gb.find_submission(lab, s).score for s in HOSTILE[lab]}
    assert scores == {s: float(case[1]) for s, case in HOSTILE[lab].items()}


# --------------------------------------------------------------------------- the checks' copy of each lab's setup
def _same(a, b) -> bool:
    if isinstance(a, dict) and isinstance(b, dict):
        return set(a) == set(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)) and len(a) == len(b) and \
            not all(isinstance(x, (int, float)) for x in list(a) + list(b)):
        return all(_same(x, y) for x, y in zip(a, b))
    return np.array_equal(np.asarray(a), np.asarray(b))


def test_the_checks_use_each_labs_own_settings_and_data(tmp_path):
    """The checks compute expected values from their copy of each lab's setup cells: the same
    grids, tolerances and data as the solution's notebook holds after it ran."""
    from optilab.grading.labs import lab01, lab02, lab03, lab05

    expected = {
        "lab01_gradient_descent": {("lrs",): lab01.LRS, ("theory",): lab01.LIMIT},
        "lab02_momentum_nesterov": {("tol",): lab02.TOL, ("gd_lrs",): lab02.GD_LRS, ("momentum_lrs",): lab02.MOMENTUM_LRS,
                                    ("mus",): lab02.MUS, ("kappa",): lab02.KAPPA},
        "lab03_adagrad_rmsprop": {("lrs",): lab03.LRS, ("split", ".X_train"): lab03._setup()[1].X_train,
                                  ("split", ".y_train"): lab03._setup()[1].y_train},
        "lab05_experiment": {("EPOCHS",): lab05.EPOCHS, ("SEEDS",): lab05.SEEDS, ("LRS",): lab05.LRS,
                             ("GRIDS",): lab05.GRIDS, ("T95",): lab05.T95, ("tuning",): lab05._setup()[1],
                             ("testing",): lab05._setup()[2]},
    }
    for lab, values in expected.items():
        cells, _ = _cells(_solution(lab))
        with StudentNotebook(cells, tmp_path) as nb:
            for path, value in values.items():
                assert _same(nb.get(*path), value), (lab, path)


def test_a_check_out_of_time_fails_its_cell_and_the_cells_after_it(tmp_path):
    """first_steps never ends on the grader's 20 steps: test-bias-correction runs out of time, the
    process is stopped, and test-decay (after it) fails saying so; the rules' cells before keep
    their verdicts (12 points)."""
    endless = ("def first_steps(rule, n):\n    while n == 20:\n        pass\n"
               "    return np.full(n, 1e-3)\n")
    verdicts = _judge(_student(LAB4, {"first-steps-answer": endless}), tmp_path, LAB4, seconds=3)
    assert not verdicts["test-bias-correction"][0] and "did not finish within 3 s" in verdicts["test-bias-correction"][2]
    assert not verdicts["test-decay"][0] and "did not finish within 3 s" in verdicts["test-decay"][2]
    assert all(v[0] for gid, v in verdicts.items() if gid.startswith(("test-adam-", "test-adamw-")))


def test_a_notebook_that_prints_a_lot_still_answers(tmp_path):
    with _notebook(tmp_path, "for _ in range(2000):\n    print('x' * 50_000)\ny = 2") as nb:
        assert nb.get("y") == 2


# --------------------------------------------------------------------------- a class of honest work
def _catalogue_sources(rules: tuple[str, ...]) -> dict[str, tuple[str, str]]:
    """student -> (rule, answer cell source): each buggy or unusual-but-correct rule of the
    grader's catalogue (written as students write them), defined under the rule's name."""
    import inspect

    from tests.grader import buggy_rules, correct_rules  # noqa: F401 (they register the cases)
    from tests.grader.cases import BUGGY, CORRECT

    out = {}
    for case in BUGGY + CORRECT:
        if case.rule not in rules:
            continue
        module = inspect.getmodule(case.func)
        own = {name: obj for name, obj in vars(module).items()
               if name.startswith("_") and inspect.isfunction(obj) and obj.__module__ == module.__name__}
        needed, sources = set(), [inspect.getsource(case.func)]
        while sources:  # the helpers it calls, and the helpers they call
            source = sources.pop()
            called = {name for name in own if re.search(rf"\b{name}\b", source)} - needed
            needed |= called
            sources += [inspect.getsource(own[name]) for name in called]
        helpers = "".join(inspect.getsource(obj) + "\n" for name, obj in own.items() if name in needed)
        imports = "".join(line + "\n" for line in inspect.getsource(module).splitlines()
                          if line.startswith(("import ", "from ")) and not line.startswith(("from .", "from __future__")))
        source = imports + helpers + inspect.getsource(case.func) + f"\n{case.rule} = {case.func.__name__}\n"
        source = "\n".join(line for line in source.splitlines() if not line.startswith("@"))
        out[case.id.replace("-", "_")[:60]] = (case.rule, source, case in CORRECT)
    return out


#: Autograded points of each lab (its test cells' points): lab 1 3 + 3 + 2; labs 2 to 4 two rules
#: of 6 and 3 or 4 for the rest; lab 5 1 + 2 + 1 + 3 + 1 + 2.
FULL_MARKS = {LAB1: 8, LAB2: 15, "lab03_adagrad_rmsprop": 15, LAB4: 16, LAB5: 10}


@pytest.mark.slow
@pytest.mark.parametrize("lab,rules", [(LAB1, ("sgd",)), (LAB2, ("momentum", "nesterov")),
                                       ("lab03_adagrad_rmsprop", ("adagrad", "rmsprop")), (LAB4, ("adam", "adamw"))])
def test_every_rule_of_the_catalogue_gets_the_kernels_verdict_on_every_cell(lab, rules, tmp_path):
    """Rules with one known mistake each, and correct rules written in unusual ways, each put in
    the lab's notebook in place of the solution's rule: on every test cell of that rule, the
    grader's verdict is the result of the instructor's test cell in a Jupyter kernel (so a class of
    honest work gets the grades in-kernel grading gave it), and the cells all pass exactly when the
    rule is correct. The grader judges each case's notebook in a process of its own, as it judges
    each submission; one kernel runs the solution, then each case's answer and its test cells."""
    from nbgrader import utils

    from tests.support.notebooks import execute

    cases = _catalogue_sources(rules)
    assert len(cases) >= 5 and {rule for rule, _, _ in cases.values()} == set(rules)
    solution = _autograded(lab, _student(lab))
    answer = {c.metadata.nbgrader["grade_id"]: c for c in solution.cells if utils.is_solution(c)}
    tests_of = {rule: [c for c in solution.cells if _is_test_cell(c)
                       and c.metadata.nbgrader["grade_id"].startswith(f"test-{rule}-")] for rule in rules}
    assert all(len(cells) in (3, 4) for cells in tests_of.values())
    where_of = {rule: {c.id for c in cells} for rule, cells in tests_of.items()}

    # The kernel's notebook: the solution's, then each case's answer and its rule's test cells, and a
    # cell that removes the functions the case defined (no case may use another's); after a rule's last
    # case, the solution's answer again, for the next rule's cases.
    ran = nbformat.v4.new_notebook(metadata=solution.metadata)
    ran.cells = [nbformat.from_dict(dict(c)) for c in solution.cells]
    where: dict[str, range] = {}  # case -> the indices of its test cells in the kernel's notebook
    for rule in rules:
        for case in (case for case, (r, _, _) in cases.items() if r == rule):
            ran.cells.append(nbformat.v4.new_code_cell(cases[case][1]))
            where[case] = range(len(ran.cells), len(ran.cells) + len(tests_of[rule]))
            ran.cells += [nbformat.v4.new_code_cell(c.source, metadata=copy.deepcopy(c.metadata))
                          for c in tests_of[rule]]
            defined = [node.name for node in ast.parse(cases[case][1]).body if isinstance(node, ast.FunctionDef)]
            ran.cells.append(nbformat.v4.new_code_cell(f"for _name in {defined!r}:\n    del globals()[_name]"))
        ran.cells.append(nbformat.v4.new_code_cell(answer[f"{rule}-answer"].source))
    path = tmp_path / "kernel" / f"{lab}.ipynb"
    path.parent.mkdir()
    nbformat.write(ran, path)
    executed = execute(path, allow_errors=True).notebook

    def kernel_passed(cell) -> bool:  # as nbgrader scores the kernel's outputs
        score, points = utils.determine_grade(cell, None)
        return score is not None and score >= points

    unscored = [c.metadata.nbgrader["grade_id"] for c in executed.cells[:len(solution.cells)]
                if _is_test_cell(c) and not kernel_passed(c)]
    assert not unscored, f"the solution fails {unscored} in the kernel"

    # The grader: each case's notebook judged on its own: the solution's cells up to the rule's answer,
    # the case's answer, and the rule's test cells (the cells after them cannot change the rule).
    for case, (rule, source, correct) in cases.items():
        (tmp_path / case).mkdir()
        notebook = _student(lab, {f"{rule}-answer": source})
        upto = [c["id"] for c in notebook["cells"]].index(f"{rule}-answer")
        notebook["cells"] = [c for i, c in enumerate(notebook["cells"]) if c["id"] in where_of[rule]
                             or (i <= upto and not c["metadata"].get("nbgrader", {}).get("grade", False))]
        verdicts = _judge(notebook, tmp_path / case, lab)
        grader = [verdicts[c.metadata.nbgrader["grade_id"]][0] for c in tests_of[rule]]
        kernel = [kernel_passed(executed.cells[i]) for i in where[case]]
        assert grader == kernel, (case, grader, kernel, verdicts)
        assert all(grader) == correct, (case, verdicts)


def test_the_preprocessor_replaces_each_test_cells_outputs_by_the_verdict(tmp_path):
    """Run on lab 1's solution with made-up kernel outputs: a cell the kernel failed but the grader
    passes keeps its other outputs, loses the error, stderr and a number nbgrader would read as
    partial credit; a cell the kernel passed that the grader fails gets one error with the message."""
    from nbgrader import utils
    from traitlets.config import Config

    from optilab.grading.verdicts import OutsideVerdicts

    nb = _student(LAB1, {"minibatches-answer": "def minibatches(X, y, batch_size, seed):\n    yield X, y\n"})
    node = _autograded(LAB1, nb)
    cells = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in node.cells}
    out = [nbformat.v4.new_output("stream", name="stdout", text="hello\n"),
           nbformat.v4.new_output("stream", name="stderr", text="warning\n"),
           nbformat.v4.new_output("execute_result", data={"text/plain": "0.0"}, execution_count=1),
           nbformat.v4.new_output("error", ename="AssertionError", evalue="kernel", traceback=[])]
    cells["test-sgd-first-step"].outputs = out
    cells["test-minibatches-cover"].outputs = []  # the kernel passed it (and the cells without outputs)
    config = Config()
    config.Execute.timeout = 20
    resources = {"nbgrader": {"assignment": LAB1}, "metadata": {"path": str(tmp_path)}}
    node, _ = OutsideVerdicts(config=config).preprocess(node, resources)
    first, cover = cells["test-sgd-first-step"], cells["test-minibatches-cover"]
    assert [o.output_type for o in first.outputs] == ["stream"] and first.outputs[0].text == "hello\n"
    assert utils.determine_grade(first)[0] == 1
    assert [o.output_type for o in cover.outputs] == ["error"] and utils.determine_grade(cover)[0] == 0
    assert "23 examples in batches of 5" in cover.outputs[0].evalue
    assert tampering_notes(node) == [NOTE.format(cell="test-sgd-first-step", kernel="fail", grader="pass"),
                                     NOTE.format(cell="test-minibatches-cover", kernel="pass", grader="fail"),
                                     NOTE.format(cell="test-minibatches-seeded", kernel="pass", grader="fail")]
    assert first.metadata.optilab["verdict"] == "pass" and cover.metadata.optilab["kernel"] == "pass"


def test_a_test_cell_changed_since_its_check_was_written_is_reported(tmp_path):
    from traitlets.config import Config

    from optilab.grading.verdicts import STALE, OutsideVerdicts

    node = _autograded(LAB1, _student(LAB1))
    cell = next(c for c in node.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "test-minibatches-seeded")
    cell.source = cell.source.replace("assert not np.array_equal(first, np.arange(40))", "pass  # not checked")
    config = Config()
    config.Execute.timeout = 20
    OutsideVerdicts(config=config).preprocess(node, {"nbgrader": {"assignment": LAB1}, "metadata": {"path": str(tmp_path)}})
    assert tampering_notes(node) == [STALE.format(cell="test-minibatches-seeded")]


def test_the_preprocessor_leaves_other_assignments_as_the_kernel_graded_them(tmp_path):
    from optilab.grading.verdicts import OutsideVerdicts

    node = nbformat.from_dict(_student(LAB1))
    before = nbformat.writes(node)
    OutsideVerdicts().preprocess(node, {"nbgrader": {"assignment": "homework1"}, "metadata": {"path": str(tmp_path)}})
    assert nbformat.writes(node) == before
