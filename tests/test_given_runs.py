"""The reference runs ``make grade`` computes once per class and gives, read-only, to the sandboxed kernels.

Before, the hidden tests of labs 5, 6 and 7 trained the lab's reference runs again in every notebook's kernel
(measured in ``make grade`` of one lab-6 solution: the kernel's ``test-tuning`` cell took 5.5 s of the
notebook's 35 s; lab 7's ``test-experiment``, 2.3 s). ``make grade`` of a whole class, through the kernels
that read the file, is tested where each lab's class is graded (``test_lab05_students``, ``test_lab07``).
"""

from __future__ import annotations

import json
import os
import stat

import numpy as np
import pytest

from optilab import isolate
from optilab.grading.labs import experiment, given, lab07


@pytest.fixture
def fresh(monkeypatch):
    """The module's runs as a new process has them: none trained, none given."""
    monkeypatch.setattr(given, "_computed", {})
    monkeypatch.setattr(given, "_given", {})
    monkeypatch.delenv(given.ENV, raising=False)
    return given


def _no_training(*args, **kwargs):
    raise AssertionError("a run was trained, not read from the grader's file")


def test_a_kernel_reads_back_every_run_bit_for_bit_and_trains_none(fresh, tmp_path, monkeypatch):
    grids = {"sgd": [0.1, 1000.0]}  # 1000 diverges
    runs = experiment.ReferenceRuns(3, (0, 1), grids)
    trained = {(lr, seed): runs.run("sgd", lr, seed) for lr in grids["sgd"] for seed in (0, 1)}
    assert any(diverged for _, _, diverged in trained.values()) and not all(d for _, _, d in trained.values())
    runs.run("sgd", 0.1, 2)  # trained by this process too, but not named: not given
    path = given.save(tmp_path / "runs.json", [runs.key("sgd", lr, seed) for lr, seed in trained])
    assert stat.S_IMODE(path.stat().st_mode) == 0o644  # the sandbox's user reads it
    assert len(json.loads(path.read_text())) == len(trained)

    monkeypatch.setattr(given, "_given", {})
    monkeypatch.setenv(given.ENV, str(path))
    assert given.load() == len(trained)
    monkeypatch.setattr(experiment.training, "train", _no_training)
    again = experiment.ReferenceRuns(3, (0, 1), grids)
    for (lr, seed), (train_loss, test_loss, diverged) in trained.items():
        got = again.run("sgd", lr, seed)
        assert np.array_equal(got[0], train_loss) and np.array_equal(got[1], test_loss) and got[2] == diverged
    # a run the file does not hold is trained, as without the file
    with pytest.raises(AssertionError, match="was trained"):
        again.run("sgd", 0.1, 2)


def test_without_a_readable_file_every_run_is_trained(fresh, tmp_path, monkeypatch):
    assert given.load() == 0  # no variable
    monkeypatch.setenv(given.ENV, str(tmp_path / "missing.json"))
    assert given.load() == 0
    (tmp_path / "broken.json").write_text("{ not json")
    monkeypatch.setenv(given.ENV, str(tmp_path / "broken.json"))
    assert given.load() == 0 and given.lookup("lab07 constant lr") is None
    assert given.save(tmp_path / "none.json", ["lab07 constant lr"]) is None  # named, but never trained here
    assert not (tmp_path / "none.json").exists()


def test_the_graders_check_never_takes_the_files_numbers(fresh, tmp_path, monkeypatch):
    """A student's code can read the file in its kernel: numbers copied from it (here, a file that lies) are
    failed by the grader, whose check trains its own runs and never loads the file."""
    lie = {f"lab07 {setup}": [[1.0] * len(lab07.SEEDS), [2.0] * len(lab07.SEEDS)] for setup in lab07.SETUPS}
    (tmp_path / "runs.json").write_text(json.dumps(lie))
    monkeypatch.setenv(given.ENV, str(tmp_path / "runs.json"))

    class Copied:
        def get(self, name, *path):
            assert name == "val_loss" and not path
            return {setup: [1.0] * len(lab07.SEEDS) for setup in lab07.SETUPS}

    with pytest.raises(AssertionError, match="val_loss"):
        lab07.CHECKS["test-experiment"](Copied())
    assert given._given == {}


def test_the_sandboxed_kernel_is_given_the_file_read_only(fresh, tmp_path):
    ok, reason = isolate.available()
    if not ok:
        if os.environ.get("OPTILAB_REQUIRE_SANDBOX"):
            pytest.fail(f"OPTILAB_REQUIRE_SANDBOX is set but {reason}")
        pytest.skip(f"student code cannot be sandboxed here: {reason}")
    import nbformat
    from nbclient import NotebookClient
    from traitlets.config import Config

    path = tmp_path / "given" / "runs.json"
    path.parent.mkdir()
    path.write_text(json.dumps({"lab07 constant lr": [[1.5], [2.5]]}))
    path.chmod(0o644)
    work = tmp_path / "work"
    work.mkdir()
    config = Config()
    config.SandboxedProvisioner.given = {given.ENV: str(path)}
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in [
        "from optilab.grading.labs import given\nprint(given.load(), given.lookup('lab07 constant lr'))",
        f"open({str(path)!r}, 'w').write('{{}}')",
    ]]
    NotebookClient(nb, kernel_name=isolate.KERNEL_NAME, timeout=60, allow_errors=True, config=config,
                   resources={"metadata": {"path": str(work)}}).execute()
    out = ["".join(o.get("text", "") or o.get("ename", "") for o in cell.outputs) for cell in nb.cells]
    assert out[0] == "1 [[1.5], [2.5]]\n"
    assert out[1] == "OSError"  # a read-only file system
    assert json.loads(path.read_text()) == {"lab07 constant lr": [[1.5], [2.5]]}
