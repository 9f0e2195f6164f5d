"""A wheel of the library, installed outside the repository, grades with ``python -m optilab check``.

The wheel is built from a copy of the files a wheel is made of (pyproject.toml, README.md,
LICENSE, lib/), installed without its dependencies into a fresh virtual environment in a
temporary folder, and run from another temporary folder. To stay offline and fast, the new
environment sees the test environment's packages through a ``.pth`` file; the sandboxed
process that runs the student's file sees only the new environment, so NumPy, the one package
it imports, is copied in.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _setuptools_is_new_enough() -> bool:
    try:
        major = int(importlib.metadata.version("setuptools").split(".")[0])
    except importlib.metadata.PackageNotFoundError:
        return False
    return major >= 77  # what pyproject.toml's [build-system] asks for


def _run(args: list, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=600, **kwargs)


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The python of a fresh venv with the wheel installed."""
    top = tmp_path_factory.mktemp("wheel")
    source = top / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(ROOT / name, source / name)
    shutil.copytree(ROOT / "lib", source / "lib",
                    ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "*.pyc"))
    # The test environment's setuptools builds it offline when it is new enough; otherwise pip
    # fetches one from the package index into an isolated build environment.
    isolation = ["--no-build-isolation"] if _setuptools_is_new_enough() else []
    built = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", *isolation, "-w", top / "dist", "."],
                 cwd=source)
    unreachable = ("No matching distribution", "Could not find a version")
    if built.returncode != 0 and not isolation and any(t in built.stderr + built.stdout for t in unreachable):
        pytest.skip("cannot build the wheel: setuptools>=77 is not installed here and the package index "
                    "cannot be reached to fetch it")
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = (top / "dist").glob("optilab-*.whl")

    venv = top / "venv"
    made = _run([sys.executable, "-m", "venv", "--without-pip", venv])
    assert made.returncode == 0, made.stderr
    python = venv / "bin" / "python"
    site = Path(_run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip())
    ours = sysconfig.get_paths()["purelib"]
    (site / "test-environment.pth").write_text(ours + "\n", encoding="utf-8")
    for name in ("numpy", "numpy.libs"):
        if (Path(ours) / name).is_dir():
            shutil.copytree(Path(ours) / name, site / name, symlinks=True)
    done = _run([sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index", wheel])
    assert done.returncode == 0, done.stdout + done.stderr
    return python


@pytest.fixture
def outside(tmp_path) -> Path:
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    (folder / "good.py").write_text(textwrap.dedent("""\
        def sgd(param, grad, state, *, lr=1e-2):
            return param - lr * grad, {}
        """), encoding="utf-8")
    (folder / "wrong.py").write_text(textwrap.dedent("""\
        def sgd(param, grad, state, *, lr=1e-2):
            param -= lr * grad  # in place: the numbers are right, the contract is not
            return param, {}
        """), encoding="utf-8")
    return folder


def _env() -> dict:
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}


def test_the_installed_wheel_is_the_library_that_runs(installed, outside):
    out = _run([installed, "-c", "import optilab; print(optilab.__file__)"], cwd=outside, env=_env())
    assert out.returncode == 0, out.stderr
    assert Path(out.stdout.strip()).is_relative_to(installed.parents[1])
    assert not Path(out.stdout.strip()).is_relative_to(ROOT)


def test_the_installed_wheel_holds_its_data(installed, outside):
    code = ("from optilab import data, rules; X, y = data.load_digits(); print(X.shape[0]); "
            "import optilab.autograde.feedback as f, pathlib; "
            "print(len(list(pathlib.Path(f.__file__).parent.glob('templates/*/*'))))")
    out = _run([installed, "-c", code], cwd=outside, env=_env())
    assert out.returncode == 0, out.stderr
    digits, templates = map(int, out.stdout.split())
    assert digits > 1000 and templates >= 3


def test_the_installed_wheel_grades_a_file_outside_the_repository(installed, outside):
    good = _run([installed, "-m", "optilab", "check", "sgd", "good.py", "--json"], cwd=outside, env=_env())
    assert good.returncode == 0, good.stdout + good.stderr
    report = json.loads(good.stdout)
    assert (report["passed"], report["score"], report["max_score"]) == (True, 3, 3)
    assert len(report["tests"]) == 10

    wrong = _run([installed, "-m", "optilab", "check", "sgd", "wrong.py", "--json"], cwd=outside, env=_env())
    assert wrong.returncode == 1, wrong.stdout + wrong.stderr
    report = json.loads(wrong.stdout)
    assert (report["passed"], report["score"], report["max_score"]) == (False, 2, 3)
    assert [d["id"] for d in report["diagnoses"]] == ["mutates-param"]
