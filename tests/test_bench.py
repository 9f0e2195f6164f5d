"""Smoke tests of the benchmark machinery (``make bench``): tiny sizes, one repeat.

They check that each group produces well-formed, finite figures and says why when it cannot
run; they do not check speed (nothing in ``make bench`` passes or fails).
"""

from __future__ import annotations

import json
import math
import sys
import weakref
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # ``bench/`` sits at the repository root, beside ``lib/``
    sys.path.insert(0, str(ROOT))

from bench import explorers, grading, kernels, notebooks, report, sandbox  # noqa: E402
from bench.__main__ import run_group  # noqa: E402
from bench.timing import percentile  # noqa: E402


# --- group 1: update rules --------------------------------------------------------------

def test_step_bytes_counts_each_array_read_and_written_once():
    # Adam, 10^6 float32 parameters: reads p, g, m, v and writes p, m, v: 7 arrays of 4 MB.
    assert kernels.step_bytes(10**6, 4, k=2) == 7 * 4_000_000
    # SGD reads p and g and writes p: 3 arrays.
    assert kernels.step_bytes(100, 8, k=0) == 3 * 800


def test_bound_is_bytes_over_copy_bandwidth():
    # 28 MB at 10 GB/s (read + write) take 2.8 ms.
    assert kernels.bound_seconds(10**6, 4, 2, copy_bandwidth=10e9) == pytest.approx(2.8e-3)


def test_state_arrays_counts_arrays_shaped_like_the_parameter():
    p = np.zeros(5, dtype=np.float32)
    state = {"t": 3, "m": np.ones(5, np.float32), "v": np.ones(5, np.float32), "other": np.ones(2)}
    assert kernels.state_arrays(state, p) == 2
    assert kernels.state_arrays({}, p) == 0


def test_ufunc_traffic_counts_passes_and_arrays_of_a_hand_written_rule():
    def rule(p, g, state, *, lr=0.1):
        return p - lr * g, {}  # two passes: lr*g reads g, writes t; p - t reads p and t, writes p'

    p = np.ones(10, dtype=np.float32)
    assert kernels.ufunc_traffic(rule, p, p, {}) == {"passes": 2, "arrays_moved": 2 + 3}


def test_kernel_bench_at_tiny_size_gives_finite_ratios_and_a_well_formed_json_record(tmp_path):
    group = kernels.run(sizes=(64,), rules=("sgd", "adam"), repeats=1, block_seconds=0.001, warmup=1)
    assert group["status"] == "ok"
    assert [(r["rule"], r["n"]) for r in group["records"]] == [("sgd", 64), ("adam", 64)]
    for record in group["records"]:
        assert kernels.finite(record), record
        assert record["state_arrays"] == {"sgd": 0, "adam": 2}[record["rule"]]
        if group.get("torch") is None:  # torch installed: every PyTorch implementation agreed and was timed
            assert set(record["ratio"]) == {"single", "foreach", "fused"}
            assert all(record["torch_agrees"].values())
    result = {"started_utc": "2026-01-01 00:00 UTC", "seconds": 1.0, "machine": report.machine(),
              "groups": {"kernels": {**group, "seconds": 1.0}}}
    json_path, md_path = report.write(result, tmp_path)
    loaded = json.loads(json_path.read_text())
    assert loaded["schema"] == report.SCHEMA
    assert loaded["machine"]["nproc"] >= 1 and loaded["machine"]["numpy"] == np.__version__
    first = loaded["groups"]["kernels"]["records"][0]
    assert {"optilab_s", "torch_s", "ratio", "bound_s", "x_bound", "copy_bandwidth_Bps"} <= set(first)
    assert "| adam | 64 |" in md_path.read_text()


def test_a_step_is_timed_as_a_training_loop_takes_it_without_mapping_its_memory_again():
    """A training loop gives each step the parameter and state the step before returned, and
    drops the older ones (torch's step updates them in place). Timed instead as calls from one
    state kept aside, each call's new arrays were freed at once, the allocator could hand the
    megabytes back to the OS, and every step mapped them again: in a fresh process, thousands of
    page faults per step of amsgrad at 10^6 parameters, and 6x torch's time. (How many faults a
    machine's allocator takes is for `make bench` to report, not for a test to bound.)"""
    calls: list[tuple[int, int]] = []  # ids of each call's parameter and state array
    returned: list[tuple[int, int]] = []
    older: list[weakref.ref] = []

    def rule(param, grad, state):
        calls.append((id(param), id(state["v"])))
        new_param, new_v = param - grad, state["v"] + grad * grad
        returned.append((id(new_param), id(new_v)))
        older.append(weakref.ref(new_param))
        return new_param, {"v": new_v}

    p, g = np.ones(8, np.float32), np.full(8, 0.5, np.float32)
    first = {"v": np.zeros(8, np.float32)}
    step = kernels.stepping(rule, p, g, first)
    first_ids = (id(p), id(first["v"]))
    del first
    for _ in range(4):
        step()
    assert calls[0] == first_ids
    assert calls[1:] == returned[:-1], "each step must start from what the step before returned"
    assert [ref() is None for ref in older] == [True, True, True, False], "only the last step's result is kept"


@pytest.mark.torch
def test_a_rule_pytorch_lacks_is_timed_alone_and_the_report_says_why(torch, tmp_path):
    """Yogi has no PyTorch class (the tests compare it with optax): its rows have no ratio, and the
    report, whose summary takes each size's slowest ratio, is written all the same."""
    group = kernels.run(sizes=(64,), rules=("yogi", "adam"), repeats=1, block_seconds=0.001, warmup=1)
    yogi, adam = group["records"]
    assert yogi["ratio"] == {} and "PyTorch has no class for yogi" in yogi["torch_unavailable"]["all"]
    assert set(adam["ratio"]) == {"single", "foreach", "fused"}
    result = {"started_utc": "2026-01-01 00:00 UTC", "seconds": 1.0, "machine": report.machine(),
              "groups": {"kernels": {**group, "seconds": 1.0}}}
    text = report.write(result, tmp_path)[1].read_text()
    assert "(adam) |" in text  # the summary's slowest rule at 10^2 is the one with a ratio
    assert "Timed without PyTorch: yogi (PyTorch has no class for yogi; it is compared with optax.yogi" in text


def test_the_per_rule_table_shows_a_class_without_foreach_by_its_one_step():
    assert report._foreach_or_only({"single": 2.0, "foreach": 0.5, "fused": 0.25}) == "0.50×"
    assert report._foreach_or_only({"single": 1.76}) == "1.76× (its one)"  # Lion, Muon
    assert report._foreach_or_only({}) == "–"  # Yogi: no PyTorch class


def test_kernel_bench_without_torch_reports_absolute_times_and_why(monkeypatch):
    monkeypatch.setattr(kernels, "_import_torch", lambda: (None, "torch is not installed (test)"))
    group = kernels.run(sizes=(16,), rules=("momentum",), repeats=1, block_seconds=0.001, warmup=1)
    (record,) = group["records"]
    assert record["ratio"] == {} and record["meets_target"] is None
    assert math.isfinite(record["optilab_s"]) and record["optilab_s"] > 0
    assert group["torch"].startswith("not available: torch is not installed")


# --- group 2: explorers -----------------------------------------------------------------

def _toy_explorer():
    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    from optilab.widgets.explorer import Explorer

    def draw(lr, rule, log, k):
        figure, ax = plt.subplots(figsize=(3, 2))
        ax.plot(np.arange(k + 2) * lr, label=rule)
        ax.set(title="toy", xlabel="step", ylabel="value", yscale="symlog" if log else "linear")
        ax.legend()
        return figure

    controls = {"lr": widgets.FloatSlider(value=0.5, min=0.1, max=1.0),
                "rule": widgets.Dropdown(options=[("SGD", "sgd"), ("Adam", "adam")], value="sgd"),
                "log": widgets.Checkbox(value=False),
                "k": widgets.IntSlider(value=1, min=1, max=3)}
    return Explorer(controls, draw, title="toy")


def test_control_values_span_each_kind_of_control():
    import ipywidgets as widgets

    log = explorers.control_values(widgets.FloatLogSlider(value=1, min=-2, max=1, base=10), count=4)
    assert log == pytest.approx([0.01, 0.1, 1.0, 10.0])
    assert explorers.control_values(widgets.IntSlider(value=0, min=0, max=3)) == [0, 1, 2, 3]
    assert explorers.control_values(widgets.FloatSlider(value=0, min=0, max=1), count=3) == [0, 0.5, 1]
    assert explorers.control_values(widgets.Dropdown(options=[("SGD", "sgd"), ("Adam", "adam")])) == ["sgd", "adam"]
    assert explorers.control_values(widgets.Checkbox(value=True)) == [False, True]
    # A multiple choice ticks or unticks one option per change and never leaves nothing ticked.
    picker = widgets.SelectMultiple(options=["sgd", "adam"], value=("sgd",))
    assert explorers.control_values(picker, count=3) == [("sgd", "adam"), ("adam",), ("sgd", "adam")]


def test_explorer_bench_moves_every_control_and_times_each_redraw():
    group = explorers.run({"toy": _toy_explorer}, changes=8)
    (record,) = group["records"]
    assert record["problems"] == []
    assert set(record["controls"]) == {"lr", "rule", "log", "k"}
    assert all(c["n"] == 2 for c in record["controls"].values())  # 8 changes go round the 4 controls
    assert record["changes"] == 8
    assert 0 < record["median_s"] <= record["p95_s"] <= record["max_s"]
    assert 0 < record["png_median_s"] < record["max_s"] and record["cpu_median_s"] > 0


def test_explorer_group_without_explorers_says_why(monkeypatch):
    import optilab.widgets

    monkeypatch.setattr(optilab.widgets, "registry", lambda: {})
    group = explorers.main(ROOT)
    assert group["status"] == "not available" and "no explorers" in group["reason"]


def test_percentile_interpolates_like_numpy():
    values = [0.3, 0.1, 0.5, 0.2, 0.9]
    assert percentile(values, 95) == pytest.approx(np.percentile(values, 95))


# --- groups 3 and 4: notebooks and grading ------------------------------------------------

def test_notebook_and_grading_groups_say_why_when_the_course_has_no_notebooks(tmp_path):
    assert notebooks.run(tmp_path)["status"] == "not available"
    assert grading.run(tmp_path)["status"] == "not available"


@pytest.mark.slow
def test_notebook_bench_executes_a_lesson_in_its_folder(tmp_path):
    import nbformat

    (tmp_path / "lessons").mkdir()
    (tmp_path / "lessons" / "data.txt").write_text("42")
    lesson = nbformat.v4.new_notebook()
    lesson.cells.append(nbformat.v4.new_code_cell("assert open('data.txt').read() == '42'"))
    nbformat.write(lesson, tmp_path / "lessons" / "00_toy.ipynb")
    group = notebooks.run(tmp_path, kernel_start=False)
    (record,) = group["records"]
    assert record["path"] == "lessons/00_toy.ipynb" and record["status"] == "ok"
    assert 0 < record["seconds"] == group["totals"]["all_s"] == group["totals"]["lessons_s"]


def test_submissions_answer_from_the_solution_and_leave_some_exercises_unanswered(tmp_path):
    def cell(source, grade_id, solution):
        return {"cell_type": "code", "id": grade_id, "metadata": {"nbgrader": {
            "grade_id": grade_id, "solution": solution, "grade": not solution, "locked": not solution}},
            "source": source, "outputs": [], "execution_count": None}

    stub = 'raise NotImplementedError("write it")'
    source = {"cells": [cell(f"def f{j}():\n    ### BEGIN SOLUTION\n    return {j}\n    ### END SOLUTION", f"f{j}",
                             True) for j in range(4)], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    released = json.loads(json.dumps(source))
    for c in released["cells"]:
        c["source"] = stub
    (tmp_path / "lab01_toy.ipynb").write_text(json.dumps(source))
    (tmp_path / "release").mkdir()
    (tmp_path / "release" / "lab01_toy.ipynb").write_text(json.dumps(released))
    students = grading.make_submissions(tmp_path / "lab01_toy.ipynb", tmp_path / "release" / "lab01_toy.ipynb",
                                        tmp_path / "subs", count=5)
    assert students == [f"student_{i:02d}" for i in range(5)]
    answers = [[c["source"] for c in json.loads((tmp_path / "subs" / s / "lab01_toy.ipynb").read_text())["cells"]]
               for s in students]
    assert answers[0] == [f"def f{j}():\n    return {j}" for j in range(4)]
    assert answers[1] == [stub] * 4  # student 1 answers nothing
    # student 2 leaves exercise 1 unanswered ((2 + 1) % 4 == 3), student 3 exercise 0.
    assert answers[2][1] == stub and answers[2].count(stub) == 1
    assert answers[3][0] == stub and answers[3].count(stub) == 1


def test_a_failing_group_is_reported_not_raised():
    group = run_group("no_such_group", quick=True)
    assert group["status"] == "error" and "no_such_group" in group["reason"]


def test_bench_completes_and_says_why_when_the_course_has_nothing_to_measure(tmp_path, monkeypatch, capsys):
    import optilab.widgets

    import bench.__main__ as cli

    monkeypatch.setattr(cli, "ROOT", tmp_path)  # an empty course: no notebooks, no labs
    monkeypatch.setattr(optilab.widgets, "registry", lambda: {})
    assert cli.main(["--only", "explorers,notebooks,grading", "--out", str(tmp_path / "build")]) == 0
    result = json.loads((tmp_path / "build" / "bench.json").read_text())
    assert list(result["groups"]) == ["explorers", "notebooks", "grading"]  # reported in the order
    assert {g["status"] for g in result["groups"].values()} == {"not available"}
    assert "not available: no explorers" in capsys.readouterr().out


# --- group 4: grading lab 4; group 5: the sandbox's cost ----------------------------------

def _toy_course(folder: Path, names: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "nbgrader_config.py").write_text("c = get_config()\n")
    for name in names:
        (folder / "solutions" / name).mkdir(parents=True)
        (folder / "solutions" / name / f"{name}.ipynb").write_text("{}")
    return folder


def test_grading_group_grades_lab_4_or_else_the_first_lab(tmp_path):
    with_lab4 = _toy_course(tmp_path / "a", ["lab01_gd", "lab04_adam", "lab05_exp"])
    (with_lab4 / "solutions" / "lab04_notes").mkdir()  # a folder without its notebook is not a lab
    assert grading.graded_lab(with_lab4) == "lab04_adam"
    assert grading.graded_lab(_toy_course(tmp_path / "b", ["lab02_mom", "lab01_gd"])) == "lab01_gd"
    assert grading.graded_lab(_toy_course(tmp_path / "c", [])) is None


def test_sandbox_group_says_why_when_the_course_has_no_labs(tmp_path):
    group = sandbox.run(tmp_path)
    assert group["status"] == "not available" and "solutions" in group["reason"]
    assert sandbox.main(_toy_course(tmp_path / "course", []), quick=True)["status"] == "not available"


def test_sandbox_rounds_alternate_which_kernel_goes_first():
    assert sandbox._rounds(3) == [("python3", "optilab-sandboxed"), ("optilab-sandboxed", "python3"),
                                  ("python3", "optilab-sandboxed")]


def _sandbox_record(lab, plain_s, boxed_s, scores=(6.0, 6.0)):
    return {"lab": lab, "seconds": {"python3": plain_s, "optilab-sandboxed": boxed_s},
            "cost_s": boxed_s - plain_s, "ratio": boxed_s / plain_s,
            "score": {"python3": [scores[0]], "optilab-sandboxed": [scores[1]]}, "max_score": 6.0,
            "same_score": scores[0] == scores[1]}


def test_report_shows_grading_of_lab_4_and_the_sandbox_cost_of_every_lab(tmp_path):
    grading_group = {
        "status": "ok", "lab": "lab04_adam_adamw", "kernel": "optilab-sandboxed", "target": 1.5,
        "speedup": 40.0 / 25.0, "same_grades": True, "meets_target": True, "disagreements": [],
        "records": [{"command": "make grade", "submissions": 20, "seconds": 25.0, "per_submission_s": 1.25},
                    {"command": "nbgrader autograde", "submissions": 20, "seconds": 40.0, "per_submission_s": 2.0},
                    {"command": "make grade --jobs 1", "submissions": 20, "seconds": 50.0,
                     "per_submission_s": 2.5}],
        "one_worker": {"seconds": 50.0, "speedup": 0.8, "workers_speedup": 2.0, "same_grades": True,
                       "disagreements": []}}
    sandbox_group = {
        "status": "ok", "kernels": ["python3", "optilab-sandboxed"], "repeats": 3, "note": "",
        "kernel_start": {"seconds": {"python3": 0.5, "optilab-sandboxed": 0.75}, "cost_s": 0.25, "ratio": 1.5},
        "served_rule": {"calls": 2000, "served_s": 4e-4, "here_s": 2e-5, "ratio": 20.0,
                        "steps": 500, "step_served_s": 2e-3, "step_here_s": 4e-4, "step_ratio": 5.0},
        "records": [_sandbox_record("lab01_gd", 2.0, 2.5), _sandbox_record("lab02_mom", 2.0, 3.0),
                    _sandbox_record("lab03_ada", 4.0, 4.2, scores=(6.0, 5.0))]}
    result = {"started_utc": "2026-01-01 00:00 UTC", "seconds": 1.0, "machine": report.machine(),
              "groups": {"grading": {**grading_group, "seconds": 1.0}, "sandbox": {**sandbox_group, "seconds": 1.0}}}
    json_path, md_path = report.write(result, tmp_path)
    assert list(json.loads(json_path.read_text())["groups"]) == ["grading", "sandbox"]
    text = md_path.read_text()
    assert "| grading: `make grade` vs `nbgrader autograde`, lab04_adam_adamw, 20 submissions, " \
           "`optilab-sandboxed` kernel | ≥ 1.5× | 1.60× (25 s vs 40 s;" in text
    assert "with one worker 0.80×" in text
    assert "its parallel workers make it 2.00× faster than that (same grades: yes)" in text
    # The summary names the cheapest and the dearest lab, and that one lab's scores differ.
    assert "200 ms (lab03_ada, 1.05×) to 1 s (lab02_mom, 1.50×); same scores: **no**" in text
    assert "| lab01_gd | 2 s | 2.5 s | 500 ms | 1.25× | 6 of 6 | yes |" in text
    assert "| lab03_ada | 4 s | 4.2 s | 200 ms | 1.05× | 5 of 6 | **no** |" in text
    assert "| kernel start, one cell, stop | 500 ms | 750 ms | 250 ms | 1.50× |" in text
    assert ("| optilab's Lion, one call: in the grader; from a graded notebook, served over the wire | 20 µs | 400 µs "
            "| 380 µs | 20.00× |") in text
    assert ("| an Optimizer step of lab 6's MLP (4 parameters) with that Lion: one question for the four | 400 µs "
            "| 2 ms | 1.6 ms | 5.00× |") in text


def _browser_row(name, display, median, p90):
    parts = dict.fromkeys(("to_kernel", "compute", "draw", "encode", "transfer", "decode_paint"), 1.0)
    return {"name": name, "display": display, "inputs": 12, "median_ms": median, "p90_ms": p90, "max_ms": p90,
            "parts_ms": parts, "png_kb": 50.0, "width_px": 840, "shown_px": 840.0,
            "meets_target": median < 50 and p90 < 100}


def test_report_holds_inputs_back_to_back_and_at_a_persons_pace_to_the_same_target(tmp_path):
    rows = [_browser_row("01-a", "image", 49.0, 60.0), _browser_row("03-b", "image", 30.0, 101.0),
            _browser_row("01-a", "image, paced", 30.0, 40.0), _browser_row("03-b", "image, paced", 35.0, 45.0)]
    group = {"status": "ok", "records": [], "browser": {"status": "ok", "rows": rows, "note": ""}}
    result = {"started_utc": "2026-01-01 00:00 UTC", "seconds": 1.0, "machine": report.machine(),
              "groups": {"explorers": {**group, "seconds": 1.0}}}
    text = report.write(result, tmp_path)[1].read_text()
    # one explorer misses the p90 back to back: that row says so, while the paced row is met
    assert ("| explorer in Chromium, inputs back to back: median / p90 (slowest of 2) | < 50 ms / < 100 ms | "
            "49 ms (01-a) / 101 ms (03-b) | **no** |") in text
    assert ("| explorer in Chromium at a person's pace: input -> figure painted, median / p90 (slowest of 2) | "
            "< 50 ms / < 100 ms | 35 ms (03-b) / 45 ms (03-b)") in text
    assert text.count("< 50 ms / < 100 ms | ") == 2


def _sandbox_or_skip():
    from optilab import isolate

    ok, reason = isolate.available()
    if not ok:
        print(f"skipped: the sandbox cannot run here: {reason}")
        pytest.skip(f"the sandbox cannot run here: {reason}")


@pytest.mark.slow
def test_sandbox_group_grades_the_first_lab_alike_in_both_kernels():
    _sandbox_or_skip()
    group = sandbox.main(ROOT, quick=True)
    assert group["status"] == "ok", group.get("reason")
    (record,) = group["records"]
    assert record["lab"] == sandbox.labs(ROOT)[0]
    # The instructor's answers earn the same points in the sandbox as outside it (written answers
    # wait for a human, so not every point).
    (score,) = record["score"]["python3"]
    assert record["score"]["optilab-sandboxed"] == [score] and record["same_score"]
    assert 0 < score <= record["max_score"]
    for measure in (record, group["kernel_start"]):
        plain, boxed = measure["seconds"]["python3"], measure["seconds"]["optilab-sandboxed"]
        assert 0 < plain and 0 < boxed
        assert measure["ratio"] == pytest.approx(boxed / plain) and measure["cost_s"] == pytest.approx(boxed - plain)
    # optilab's rule from the graded notebook's process: computed by the grader, so dearer than here
    served = group["served_rule"]
    assert served["calls"] == 200 and 0 < served["here_s"] < served["served_s"]
    assert served["ratio"] == pytest.approx(served["served_s"] / served["here_s"])
    assert served["steps"] == 50 and 0 < served["step_here_s"] < served["step_served_s"]
    assert served["step_ratio"] == pytest.approx(served["step_served_s"] / served["step_here_s"])


@pytest.mark.slow
def test_grading_group_grades_lab_4_in_the_sandboxed_kernel_both_ways_with_the_same_grades():
    _sandbox_or_skip()
    group = grading.run(ROOT, count=2, runs=1)
    assert group["status"] == "ok", group.get("reason")
    assert group["lab"].startswith("lab04_") and group["kernel"] == "optilab-sandboxed" and group["sandboxed"]
    assert group["same_grades"], group["disagreements"]
    # student_00 answers everything, student_01 nothing.
    assert group["grades"]["student_00"] > 0 and group["grades"]["student_01"] == 0
    assert [r["graded"] for r in group["records"]] == [2, 2]
    assert group["speedup"] == pytest.approx(group["records"][1]["seconds"] / group["records"][0]["seconds"])
