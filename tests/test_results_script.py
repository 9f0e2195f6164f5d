"""lessons/results/compute.py: the one script that computes the lessons' slow experiments and saves them with the
library. Its runs, in full or reduced, are the slow tests of each lesson (test_comparison_08, test_lesson09_runs,
test_experiments_training_in_practice); here, what it does with bad arguments, and that every lesson it names has
its experiment and its saved results where the lesson reads them."""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import subprocess
import sys
from unittest import mock

import numpy as np
import pytest

from tests.support.notebooks import ROOT

SCRIPT = ROOT / "lessons" / "results" / "compute.py"
DATASETS = ROOT / "lib" / "optilab" / "datasets"


def _script():
    """The script as a module; the BLAS settings it makes on loading stay out of this process's environment
    (the processes later tests start would inherit them)."""
    spec = importlib.util.spec_from_file_location("optilab_results_compute", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    with mock.patch.dict(os.environ):
        spec.loader.exec_module(module)
    return module


def _run(*args: str, cwd=ROOT) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "lib")}
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, env=env, cwd=cwd,
                          timeout=120)


@pytest.mark.parametrize("args", [(), ("07",), ("lesson08",), ("08", "a.json", "b.json")])
def test_without_a_lesson_it_names_the_lessons_and_computes_nothing(args, tmp_path):
    done = _run(*args, cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert "usage: python lessons/results/compute.py {08,09,10} [OUT.json]" in done.stderr
    assert "the lesson whose experiment to run: 08, 09, 10" in done.stderr
    assert done.stdout == "" and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("out", ["results.txt", "no-such-folder/results.json"])
def test_an_output_it_cannot_write_is_refused_before_any_run(out, tmp_path):
    before = {p: p.read_bytes() for p in DATASETS.glob("lesson*.json")}
    done = _run("09", str(tmp_path / out))
    assert done.returncode == 2 and f"cannot write {tmp_path / out}: give a .json file in a folder that exists" \
        in done.stderr, done.stderr
    assert done.stdout == "" and list(tmp_path.iterdir()) == []
    assert {p: p.read_bytes() for p in DATASETS.glob("lesson*.json")} == before


def test_every_lesson_it_names_has_an_experiment_and_the_results_its_lesson_reads():
    experiments = _script().EXPERIMENTS
    assert sorted(experiments) == ["08", "09", "10"]
    files = {}
    for lesson, (name, compute, save, results) in experiments.items():
        module = importlib.import_module(name)
        assert callable(getattr(module, compute)) and callable(getattr(module, save)), lesson
        path = getattr(module, results)
        assert path.parent.resolve() == DATASETS.resolve(), (lesson, path)
        assert path.is_file() and path.name.startswith(f"lesson{lesson}_"), (lesson, path)
        files[lesson] = path.name
        notebook = next((ROOT / "lessons").glob(f"{lesson}_*.ipynb")).read_text(encoding="utf-8")
        assert f"results/compute.py {lesson}" in notebook, lesson  # the lesson says how its numbers were made
    assert len(set(files.values())) == 3
    # Every computed file in the library's data folder is one of these (no results without their script).
    assert sorted(p.name for p in DATASETS.glob("*.json")) == sorted(files.values())


def test_lesson_09s_results_are_saved_to_six_digits_and_read_back(tmp_path):
    from optilab.experiments import large_models
    committed = large_models.load_comparison()
    assert committed == json.loads((DATASETS / "lesson09_large_models.json").read_text())
    run = {"steps": [10, 20], "train loss": [1 / 3, 2 / 3], "diverged": False}
    results = {"runs": {"adamw": {"0.01": [run]}}, "chosen": {"adamw": 0.01}, "seeds": [0], "epochs": 1,
               "grids": {"adamw": [0.01]}}
    back = large_models.load_comparison(large_models.save_comparison(results, tmp_path / "runs.json"))
    assert back["runs"]["adamw"]["0.01"][0]["train loss"] == [0.333333, 0.666667]
    assert back["runs"]["adamw"]["0.01"][0]["steps"] == [10, 20] and back["chosen"] == {"adamw": 0.01}
    np.testing.assert_allclose(back["runs"]["adamw"]["0.01"][0]["train loss"], run["train loss"], rtol=1e-6)
    with pytest.raises(FileNotFoundError, match=r"run `python lessons/results/compute.py 09`"):
        large_models.load_comparison(tmp_path / "missing.json")
