"""Hostile files for ``python -m optilab check``: each gets exactly the points its own rule earns.

Every file below defines an ``sgd`` that does no work (it returns a copy of ``param``: 0 of
3 points) and then tries to change how it is judged: replacing the grader's ``run_tests``,
the grader's globals, builtins, NumPy's functions or ``sys.modules`` entries, writing forged
results to its standard output or to any channel it can find, returning objects that lie
(a custom ``__eq__``, an ndarray subclass), returning a pickle. The grade must be the one its
values earn: 0 of 3, with the same tests failing for the same reasons as the plain rule
that does nothing. A few controls show the same tricks beside a correct rule keep its 3/3.
"""

from __future__ import annotations

import json
import os
import textwrap

import pytest

from optilab.grading import cli

from .test_cli import GOOD_ADAM

DOES_NOTHING = """
def sgd(param, grad, state, *, lr=1e-2):
    return param.copy(), {}
"""

# The same, returning the very array it was given (so "returns a new array" fails too).
RETURNS_PARAM = """
def sgd(param, grad, state, *, lr=1e-2):
    return param, {}
"""

CORRECT = """
def sgd(param, grad, state, *, lr=1e-2):
    return param - lr * grad, {}
"""

# The route of the issue: the file replaces the grader's run_tests with one that reports
# every test passed (the grader's modules and the student's code used to share a process).
REPLACE_RUN_TESTS = """
import sys

def _forge():
    from optilab.grading import runner

    def run_tests(rule, func, groups=None, *, guard=None, on_start=None, on_result=None, skip=None):
        results = []
        for t in runner.load_suite(rule):
            r = runner.TestResult(t.name, t.group, True, "", t.title)
            if on_result:
                on_result(r)
            results.append(r)
        return results

    runner.run_tests = run_tests
    for name, module in list(sys.modules.items()):
        if (name.startswith("optilab") or name == "__main__") and hasattr(module, "run_tests"):
            module.run_tests = run_tests

try:
    _forge()
except ImportError:  # the grader is not importable where the file runs
    pass
"""

PATCH_GRADER_GLOBALS = """
import sys

def _forge():
    from optilab.contract import diagnose, properties, runner
    properties.first_difference = lambda *a, **k: None
    properties._first_difference_quiet = lambda *a, **k: None
    properties._check_state = lambda *a, **k: None
    for name in ("steps", "no_mutation", "returns_new_arrays", "keeps_dtype_and_shape",
                 "uses_defaults"):
        setattr(properties, name, lambda *a, **k: None)
    runner.score = lambda rule, results: (3, 3)
    diagnose.diagnose = lambda *a, **k: []

try:
    _forge()
except Exception:
    pass
"""

# The program that runs the file: every function of its __main__ made a no-op. This is the
# student's own process, so it can only break its own answers.
PATCH_OWN_PROCESS = """
import sys

main = sys.modules["__main__"]
for name, value in list(vars(main).items()):
    if callable(value) and not name.startswith("__") and name not in ("sgd",):
        setattr(main, name, lambda *a, **k: None)
"""

PATCH_BUILTINS = """
import builtins

builtins.all = lambda *a, **k: True
builtins.any = lambda *a, **k: False
builtins.AssertionError = type("AssertionError", (Exception,), {})
builtins.print = lambda *a, **k: None
"""

PATCH_NUMPY = """
import numpy as np

np.argwhere = lambda a: np.empty((0, np.ndim(a)), dtype=int)
np.shares_memory = lambda *a, **k: False
np.allclose = lambda *a, **k: True
np.array_equal = lambda *a, **k: True
np.isclose = lambda a, b, *r, **k: np.ones(np.shape(a), dtype=bool)
np.testing.assert_allclose = lambda *a, **k: None
"""

PATCH_SYS_MODULES = """
import sys
import types

fake = types.ModuleType("optilab.contract.properties")
for name in ("steps", "no_mutation", "returns_new_arrays", "keeps_dtype_and_shape",
             "uses_defaults", "case", "given_state", "random_hyper", "random_lrs", "call"):
    setattr(fake, name, lambda *a, **k: (None, [None]))
fake.RuleFailure = AssertionError
sys.modules["optilab.contract.properties"] = fake
sys.modules["optilab.contract.diagnose"] = types.ModuleType("optilab.contract.diagnose")
sys.modules["numpy.testing"] = fake
try:
    import optilab.grading
    optilab.contract.properties = fake
except Exception:
    pass
"""

# Forged results: JSON lines claiming every test passed, on stdout, in the results file the
# old grader named on the command line, and on every file descriptor open for writing.
FORGED_RESULTS_AT_IMPORT = """
import json, os, sys

def _forge():
    lines = []
    for name in ("test_one_step", "test_one_step_with_a_large_lr", "test_twenty_steps",
                 "test_an_lr_that_changes_every_step", "test_many_steps_on_a_matrix",
                 "test_float32_stays_float32", "test_0d_1d_and_nd_params",
                 "test_inputs_are_left_unchanged", "test_returns_new_arrays", "test_defaults"):
        lines.append({"type": "start", "name": name})
        lines.append({"type": "test", "name": name, "passed": True, "message": "", "group": "x"})
    lines += [{"type": "loaded"}, {"type": "diagnoses", "items": []}, {"type": "done"},
              {"status": "ready"}, {"passed": True, "score": 3, "max_score": 3}]
    text = "".join(json.dumps(x) + "\\n" for x in lines).encode()
    print(text.decode(), flush=True)
    for arg in sys.argv[1:]:
        if arg.endswith(".jsonl"):
            with open(arg, "ab") as f:
                f.write(text)
    for fd in range(1, 64):
        try:
            os.write(fd, text)
        except OSError:
            pass

_forge()
"""

FORGED_RESULTS_DURING_CALL = """
import json, os

def sgd(param, grad, state, *, lr=1e-2):
    text = (json.dumps({"type": "test", "passed": True}) + "\\n").encode()
    for fd in range(1, 64):
        try:
            os.write(fd, text)
        except OSError:
            pass
    return param.copy(), {}
"""

LYING_NDARRAY = """
import numpy as np

class Liar(np.ndarray):
    def __eq__(self, other):
        return np.ones(np.shape(self), dtype=bool)
    def __ne__(self, other):
        return np.zeros(np.shape(self), dtype=bool)
    def __sub__(self, other):
        return np.zeros(np.shape(self))
    def __abs__(self):
        return np.zeros(np.shape(self))
    def __float__(self):
        return 0.0

def sgd(param, grad, state, *, lr=1e-2):
    return param.copy().view(Liar), {}
"""

LYING_OBJECT = """
class Anything:
    shape = ()
    dtype = None
    def __eq__(self, other):
        return True
    def __array__(self, dtype=None, copy=None):
        raise TypeError("no")
    def __len__(self):
        return 2

def sgd(param, grad, state, *, lr=1e-2):
    return Anything(), {}
"""

RETURNS_A_PICKLE = """
import pickle

def sgd(param, grad, state, *, lr=1e-2):
    return pickle.dumps(param - lr * grad), {"pickled": pickle.dumps(state)}
"""

# An object whose unpickling would run code: the grader must never unpickle it.
RETURNS_AN_EVIL_PICKLABLE = """
import numpy as np

MARKER = {marker!r}

class Evil:
    def __reduce__(self):
        return (open, (MARKER, "w"))

def sgd(param, grad, state, *, lr=1e-2):
    return np.array([Evil()], dtype=object), {{"evil": Evil(), "also": np.array([Evil()], dtype=object)}}
"""


def write(tmp_path, *parts: str, name: str = "submission.py"):
    path = tmp_path / name
    path.write_text("".join(textwrap.dedent(p) for p in parts))
    return path


def grade(capsys, path, *extra):
    code = cli.main(["sgd", str(path), "--json", *extra])
    out = capsys.readouterr().out
    return code, json.loads(out)


def pattern(report) -> list[tuple[str, bool]]:
    return [(t["name"], t["passed"]) for t in report["tests"]]


@pytest.fixture
def does_nothing(tmp_path, capsys):
    """The report of the plain rule that does nothing: what every hostile file must get."""
    folder = tmp_path / "plain"
    folder.mkdir()
    code, report = grade(capsys, write(folder, DOES_NOTHING))
    assert code == 1 and report["score"] == 0 and report["max_score"] == 3
    first = [t for t in report["tests"] if t["name"].startswith("first-step::")]
    assert first and not any(t["passed"] for t in first)
    assert all("yours" in t["message"] and "expected" in t["message"] for t in first)
    return report


ROUTES = {
    "replace-run-tests": REPLACE_RUN_TESTS,
    "grader-globals": PATCH_GRADER_GLOBALS,
    "builtins": PATCH_BUILTINS,
    "numpy": PATCH_NUMPY,
    "sys-modules": PATCH_SYS_MODULES,
}


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("rule", [DOES_NOTHING, RETURNS_PARAM], ids=["copy", "same-array"])
def test_patching_the_grader_from_the_file_changes_nothing(tmp_path, capsys, rule, route):
    """The rule does nothing; the file patches the grader: the same 0/3, test by test."""
    (tmp_path / "plain").mkdir()
    _, plain = grade(capsys, write(tmp_path / "plain", rule))
    code, report = grade(capsys, write(tmp_path, rule, ROUTES[route]))
    assert code == 1
    assert report["score"] == 0 and report["max_score"] == 3
    assert pattern(report) == pattern(plain)
    assert [t["message"] for t in report["tests"]] == [t["message"] for t in plain["tests"]]
    assert [d["id"] for d in report["diagnoses"]] == [d["id"] for d in plain["diagnoses"]]
    if rule == RETURNS_PARAM:  # even with NumPy's shares_memory replaced in its process
        assert ("contract::test_returns_new_arrays", False) in pattern(report)
        assert "shares-memory" in [d["id"] for d in report["diagnoses"]]


def test_patching_its_own_process_earns_nothing(tmp_path, capsys):
    code, report = grade(capsys, write(tmp_path, DOES_NOTHING, PATCH_OWN_PROCESS))
    assert code == 1 and report["score"] == 0
    values = [t for t in report["tests"] if not t["name"].startswith("contract::")]
    assert values and not any(t["passed"] for t in values)
    assert all(t["message"] for t in values)


@pytest.mark.parametrize("route", ROUTES)
def test_patching_beside_a_correct_rule_keeps_its_points(tmp_path, capsys, route):
    code, report = grade(capsys, write(tmp_path, CORRECT, ROUTES[route]))
    assert (code, report["score"], report["max_score"]) == (0, 3, 3)
    assert all(t["passed"] for t in report["tests"])


def test_forged_results_written_when_loaded_earn_nothing(tmp_path, capsys):
    code, report = grade(capsys, write(tmp_path, DOES_NOTHING, FORGED_RESULTS_AT_IMPORT))
    assert code == 1 and report["score"] == 0
    assert not any(t["passed"] for t in report["tests"])
    assert all(t["message"] for t in report["tests"])


def test_forged_results_written_during_a_call_earn_nothing(tmp_path, capsys, does_nothing):
    code, report = grade(capsys, write(tmp_path, FORGED_RESULTS_DURING_CALL))
    assert code == 1 and report["score"] == 0
    first = [t for t in report["tests"] if t["name"].startswith("first-step::")]
    assert first and not any(t["passed"] for t in first)
    assert all(t["message"] for t in report["tests"] if not t["passed"])


def test_an_ndarray_subclass_that_lies_is_judged_on_its_values(tmp_path, capsys, does_nothing):
    code, report = grade(capsys, write(tmp_path, LYING_NDARRAY))
    assert code == 1 and report["score"] == 0
    assert pattern(report) == pattern(does_nothing)


def test_an_ndarray_subclass_with_the_right_values_earns_its_points(tmp_path, capsys):
    code, report = grade(capsys, write(tmp_path, LYING_NDARRAY.replace(
        "param.copy().view(Liar)", "(param - lr * grad).view(Liar)")))
    assert (code, report["score"]) == (0, 3)


def test_an_object_that_claims_to_equal_anything_is_not_an_array(tmp_path, capsys):
    code, report = grade(capsys, write(tmp_path, LYING_OBJECT))
    assert code == 1 and report["score"] == 0
    assert not any(t["passed"] for t in report["tests"] if not t["name"].endswith("unchanged"))
    assert "new_param is a Anything; return a NumPy array" in report["tests"][0]["message"]
    assert "bad-return" in [d["id"] for d in report["diagnoses"]]


def test_a_returned_pickle_is_never_unpickled(tmp_path, capsys):
    code, report = grade(capsys, write(tmp_path, RETURNS_A_PICKLE))
    assert code == 1 and report["score"] == 0
    assert "new_param is a bytes" in report["tests"][0]["message"]


def test_an_object_whose_unpickling_runs_code_never_runs_in_the_grader(tmp_path, capsys):
    marker = tmp_path / "unpickled"
    code, report = grade(capsys, write(tmp_path, RETURNS_AN_EVIL_PICKLABLE.format(marker=str(marker))))
    assert code == 1 and report["score"] == 0
    assert not marker.exists()
    assert "new_param is a array of dtype object" in report["tests"][0]["message"]


@pytest.mark.parametrize("state, words", [
    ("{'velocity': [1.0, 2.0]}", "'velocity' is a list"),
    ("{'note': 'adam'}", "'note' is a str"),
    ("{0: param}", "the key 0 (a int)"),
])
def test_a_state_that_is_not_arrays_and_numbers_fails_in_the_students_terms(tmp_path, capsys, state,
                                                                            words):
    code, report = grade(capsys, write(tmp_path, f"""
        def sgd(param, grad, state, *, lr=1e-2):
            return param - lr * grad, {state}
        """))
    assert code == 1 and report["score"] == 0
    assert words in report["tests"][0]["message"]
    assert "bad-return" in [d["id"] for d in report["diagnoses"]]


def test_a_rule_that_returns_a_list_is_told_so(tmp_path, capsys):
    code, report = grade(capsys, write(tmp_path, """
        def sgd(param, grad, state, *, lr=1e-2):
            return [param - lr * grad, {}, "extra"]
        """))
    assert code == 1 and report["score"] == 0
    assert ("your rule returned a list of length 3; it must return a pair (new_param, new_state)"
            in report["tests"][0]["message"])


def test_endless_output_is_a_failing_grade(tmp_path, capsys):
    code, report = grade(capsys, write(tmp_path, """
        def sgd(param, grad, state, *, lr=1e-2):
            while True:
                print("x" * 100_000)
        """), "--test-timeout", "1")
    assert code == 1 and report["score"] == 0
    assert report["diagnoses"][0]["id"] in ("timeout", "crashed", "raises")
    assert report["tests"][0]["message"]


def test_a_file_that_closes_the_channel_is_a_failing_grade(tmp_path, capsys):
    code, report = grade(capsys, write(tmp_path, CORRECT, """
        import os
        os.closerange(0, 64)
        """))
    assert code == 1 and report["score"] == 0
    assert "while Python loaded your file" in report["tests"][0]["message"]


def test_an_error_names_the_students_exception_and_line(tmp_path, capsys):
    code, report = grade(capsys, write(tmp_path, """
        def sgd(param, grad, state, *, lr=1e-2):
            step = lr * grad
            raise ValueError("no step today")
        """))
    assert code == 1 and report["score"] == 0
    assert ("your rule raised ValueError: no step today (line 4: raise ValueError(\"no step "
            "today\"))") in report["tests"][0]["message"]
    assert [d["id"] for d in report["diagnoses"]] == ["raises"]


# --------------------------------------------------------------------------- the reference rules


@pytest.mark.parametrize("source, failed_at_load", [
    ("import optilab\n\ndef adam(param, grad, state, **hyper):\n"
     "    return optilab.RULES['adam'](param, grad, state, **hyper)\n", False),
    ("import optilab.kernels\n\ndef adam(param, grad, state, **hyper):\n"
     "    return optilab.kernels.adam(param, grad, state, **hyper)\n", False),
    ("from optilab.kernels import adam\n", True),
    ("from optilab.kernels import adamw\n\ndef adam(param, grad, state, **hyper):\n"
     "    return adamw(param, grad, state, weight_decay=0.0, **hyper)\n", True),
    ("from optilab.contract.mutants import mutant\nadam = mutant('adam')\n", True),
    ("from optilab.contract.spec import reference\nadam = reference('adam')\n", True),
])
def test_a_rule_that_calls_the_reference_earns_nothing(tmp_path, capsys, source, failed_at_load):
    code = cli.main(["adam", str(write(tmp_path, source)), "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 1 and report["score"] == 0 and report["max_score"] == 6
    assert not any(t["passed"] for t in report["tests"])
    message = report["tests"][0]["message"]
    assert "ImportError" in message and "not available to code being graded" in message
    assert ("while Python loaded it" in message) == failed_at_load


@pytest.mark.parametrize("source", [
    "from optilab.kernels_modern import lion as _lion\n\ndef lion(param, grad, state, **hyper):\n"
    "    return _lion(param, grad, state, **hyper)\n",
    "import optilab.kernels_modern\n\ndef lion(param, grad, state, **hyper):\n"
    "    return optilab.kernels_modern.lion(param, grad, state, **hyper)\n",
    "from optilab.kernels import lion\n",
])
def test_a_rule_that_calls_the_reference_from_the_module_beside_kernels_earns_nothing(tmp_path, capsys, source):
    """Some reference rules live beside optilab.kernels (optilab.kernels_modern): they are hidden there too."""
    code = cli.main(["lion", str(write(tmp_path, source)), "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 1 and report["score"] == 0
    assert not any(t["passed"] for t in report["tests"])
    assert "not available to code being graded" in report["tests"][0]["message"]


def test_the_sandboxs_library_shows_no_rule_code_in_the_modules_beside_kernels():
    import ast

    from optilab import kernels
    from optilab.grading.process import library_view

    view = library_view(tuple(kernels.RULES))
    for module in ("kernels_adaptive", "kernels_modern"):
        shown = next(v for k, v in view.items() if k.endswith(f"/{module}.py"))
        tree = ast.parse(open(shown, encoding="utf-8").read())
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and (node.name in kernels.RULES or node.name == "_newton_schulz"):
                assert isinstance(node.body[0], ast.Raise), (module, node.name)


def test_an_honest_file_that_uses_the_library_and_checks_itself_keeps_its_points(tmp_path, capsys):
    code = cli.main(["adam", str(write(tmp_path, GOOD_ADAM, """
        import optilab
        from optilab import schedules

        assert schedules.__name__ == "optilab.schedules"
        optilab.check("adam", adam)
        """)), "--json"])
    report = json.loads(capsys.readouterr().out)
    assert (code, report["score"], report["max_score"]) == (0, 6, 6)


def test_the_students_code_runs_in_another_process_than_the_judges(tmp_path, capsys):
    """The file compares the process it runs in, when loaded and when called, with the judge's.

    (It cannot write that down anywhere the test could read it: where the grader sandboxes, the
    file sees no folder but its own private copy.)
    """
    judge = os.getpid()
    code = cli.main(["sgd", str(write(tmp_path, f"""
        import os

        LOADED_IN_JUDGE = os.getpid() == {judge}

        def sgd(param, grad, state, *, lr=1e-2):
            if LOADED_IN_JUDGE or os.getpid() == {judge}:
                return param, {{}}
            return param - lr * grad, {{}}
        """)), "--json"])
    report = json.loads(capsys.readouterr().out)
    assert (code, report["score"]) == (0, 3)


def test_a_rule_that_kills_its_process_group_fails_alone(tmp_path, capsys):
    """The student's process has a process group of its own: the judge is not in it."""
    code, report = grade(capsys, write(tmp_path, """
        import os, signal

        def sgd(param, grad, state, *, lr=1e-2):
            os.killpg(0, signal.SIGKILL)
        """))
    assert code == 1 and report["score"] == 0
    assert "your code crashed the Python process (killed, SIGKILL) during this test." == \
        report["tests"][0]["message"]
    assert report["diagnoses"][0]["id"] == "crashed"


def test_a_rule_that_fills_the_disk_is_stopped_at_the_file_size_limit(tmp_path, capsys):
    """It writes in its own folder (the only one it may write where the grader sandboxes)."""
    code, report = grade(capsys, write(tmp_path, """
        import os

        def sgd(param, grad, state, *, lr=1e-2):
            with open("big.bin", "ab") as f:
                for _ in range(40):
                    f.write(b"\\0" * 2**22)
            return param - lr * grad, {}
        """))
    assert code == 1 and report["score"] == 0
    assert "File too large" in report["tests"][0]["message"]


@pytest.mark.parametrize("args", [[], ["kernel"], ["file.py", "sgd"]])
def test_the_students_script_starts_only_the_two_processes_it_knows(args):
    """student_side.py is the script of both student processes; any other first argument is refused before any file
    is loaded or any wire is read."""
    import subprocess
    import sys

    from optilab.grading import process

    done = subprocess.run([sys.executable, "-P", str(process.STUDENT_SCRIPT), *args], capture_output=True, text=True,
                          timeout=60, stdin=subprocess.DEVNULL)
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.strip() == "usage: student_side.py {file,notebook} ARGUMENTS..."
