"""``python -m optilab check RULE FILE.py [--json]``: exit statuses, report, JSON, sandbox.

A few tests start the real command; the others call ``cli.main`` in-process, which still
runs the student's file in its own sandboxed process (that is what they test).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from optilab.grading import cli

GOOD_ADAM = """
import numpy as np

def adam(param, grad, state, *, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    t = state.get("t", 0) + 1
    m = beta1 * state.get("m", 0.0) + (1 - beta1) * grad
    v = beta2 * state.get("v", 0.0) + (1 - beta2) * grad**2
    m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)
    return param - lr * m_hat / (np.sqrt(v_hat) + eps), {"t": t, "m": m, "v": v}
"""

NO_BIAS_ADAM = """
import numpy as np

def adam(param, grad, state, *, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    m = beta1 * state.get("m", 0.0) + (1 - beta1) * grad
    v = beta2 * state.get("v", 0.0) + (1 - beta2) * grad**2
    return param - lr * m / (np.sqrt(v) + eps), {"t": state.get("t", 0) + 1, "m": m, "v": v}
"""


def write(tmp_path, source: str, name: str = "submission.py"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(source))
    return path


def command(*args, cwd):
    return subprocess.run([sys.executable, "-m", "optilab", "check", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def test_a_correct_file_exits_0_with_a_readable_report(tmp_path):
    path = write(tmp_path, GOOD_ADAM)
    done = command("adam", path.name, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Score: 6/6 (15 of 15 tests passed)" in done.stdout
    assert "✓ One step from {}: param, t, m and v" in done.stdout
    assert "✗" not in done.stdout


def test_a_wrong_file_exits_1_with_the_json_object(tmp_path):
    path = write(tmp_path, NO_BIAS_ADAM)
    done = command("adam", path, "--json", cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    assert list(report) == ["rule", "passed", "score", "max_score", "tests", "diagnoses"]
    assert report["rule"] == "adam" and report["passed"] is False
    assert report["max_score"] == 6 and 0 <= report["score"] < 6
    assert all(list(t) == ["name", "passed", "message"] for t in report["tests"])
    assert any(not t["passed"] and "yours" in t["message"] for t in report["tests"])
    assert [d["id"] for d in report["diagnoses"]] == ["no-bias-correction"]
    assert all(list(d) == ["id", "message"] for d in report["diagnoses"])


def test_an_unknown_rule_exits_2_with_one_line(tmp_path):
    path = write(tmp_path, GOOD_ADAM)
    done = command("adma", path, cwd=tmp_path)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.strip().count("\n") == 0
    assert "unknown rule 'adma'" in done.stderr and "Did you mean 'adam'" in done.stderr


@pytest.mark.parametrize("source, name, expected", [
    (None, "missing.py", "no such file"),
    ("def adam(param, grad, state:\n    return param, {}\n", "submission.py", "syntax error at line 1"),
    ("def adam_step(param, grad, state):\n    return param, {}\n", "submission.py",
     "no function named 'adam' (it defines adam_step)"),
])
def test_files_that_cannot_be_graded_exit_2(tmp_path, capsys, source, name, expected):
    path = write(tmp_path, source, name) if source else tmp_path / name
    assert cli.main(["adam", str(path)]) == 2
    err = capsys.readouterr().err
    assert expected in err and err.strip().count("\n") == 0


def test_cannot_grade_with_json_gives_the_same_keys_and_an_error(tmp_path, capsys):
    assert cli.main(["adam", str(tmp_path / "missing.py"), "--json"]) == 2
    report = json.loads(capsys.readouterr().out)
    assert report["tests"] == [] and report["passed"] is False and "no such file" in report["error"]


def run_json(capsys, tmp_path, source, *extra):
    code = cli.main(["adam", str(write(tmp_path, source)), "--json", *extra])
    return code, json.loads(capsys.readouterr().out)


def test_an_endless_loop_is_a_failing_grade_not_a_hung_grader(tmp_path, capsys):
    code, report = run_json(capsys, tmp_path, """
        def adam(param, grad, state, **hyper):
            while True:
                pass
        """, "--test-timeout", "0.5", "--timeout", "20")
    assert code == 1 and report["score"] == 0
    assert "did not finish within 0.5 s" in report["tests"][0]["message"]
    # after two tests out of time the others are not run: the grader does not wait 15 times
    assert all("2 tests already ran out of time" in t["message"] for t in report["tests"][2:])
    assert report["diagnoses"][0]["id"] == "timeout"


def test_a_loop_at_import_hits_the_wall_clock_limit(tmp_path, capsys):
    code, report = run_json(capsys, tmp_path, """
        import signal
        signal.signal(signal.SIGALRM, signal.SIG_IGN)  # no per-test alarm can stop this one
        while True:
            pass
        """, "--timeout", "3")
    assert code == 1 and report["score"] == 0
    assert "time limit" in report["tests"][0]["message"]
    assert [d["id"] for d in report["diagnoses"]] == ["timeout"]


@pytest.mark.parametrize("body, diagnosis, words", [
    ("import os; os._exit(0)", "exited", "exit status 0"),
    ("import ctypes; ctypes.string_at(0)", "crashed", "SIGSEGV"),
    ("import numpy as np; np.ones(10 * 2**30 // 8)", "out-of-memory", "MemoryError"),
])
def test_a_rule_that_kills_or_bloats_the_process_is_a_failing_grade(tmp_path, capsys, body, diagnosis, words):
    code, report = run_json(capsys, tmp_path, f"""
        def adam(param, grad, state, **hyper):
            {body}
            return param, {{}}
        """)
    assert code == 1 and report["score"] == 0
    assert words in report["tests"][0]["message"]
    assert diagnosis in [d["id"] for d in report["diagnoses"]]


def test_sys_exit_when_loaded_is_a_failing_grade(tmp_path, capsys):
    code, report = run_json(capsys, tmp_path, "import sys\nsys.exit(3)\n")
    assert code == 1 and report["score"] == 0
    assert "called sys.exit(3) while Python loaded it" in report["tests"][0]["message"]
    assert [d["id"] for d in report["diagnoses"]] == ["load-failed"]


def test_a_crash_keeps_the_results_of_the_tests_before_it(tmp_path, capsys):
    code, report = run_json(capsys, tmp_path, GOOD_ADAM + """
_adam = adam
def adam(param, grad, state, **hyper):
    if param.ndim == 0:
        import os
        os._exit(7)
    return _adam(param, grad, state, **hyper)
""")
    assert code == 1
    assert 0 < report["score"] < 6
    crashed = [t["name"] for t in report["tests"] if "during this test" in t["message"]]
    assert crashed == ["contract::test_0d_1d_and_nd_params"]
    after = report["tests"][[t["name"] for t in report["tests"]].index(crashed[0]) + 1:]
    assert after and all(t["message"].startswith("not run: your code ended the Python process (exit "
                                                 "status 7)") for t in after)
