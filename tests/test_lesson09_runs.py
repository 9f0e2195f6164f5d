"""Lesson 09's slow comparison: running its script again reproduces the results committed beside the lesson."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys

import pytest

from tests.support.notebooks import ROOT

SCRIPT = ROOT / "lessons" / "09_large_models_runs.py"
COMMITTED = ROOT / "lessons" / "09_large_models_runs.json"


def _close(a, b, path="results"):
    """Every number of ``a`` within 1e-4 (relative) of ``b``'s, and the same structure; the first difference if not."""
    if isinstance(a, dict):
        assert isinstance(b, dict) and set(a) == set(b), f"{path}: keys {sorted(a)} against {sorted(b)}"
        for key in a:
            _close(a[key], b[key], f"{path}[{key!r}]")
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), f"{path}: lengths {len(a)} against {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            _close(x, y, f"{path}[{i}]")
    elif isinstance(a, float) or isinstance(b, float):
        assert math.isclose(a, b, rel_tol=1e-4, abs_tol=1e-7), f"{path}: {a} against {b}"
    else:
        assert a == b, f"{path}: {a!r} against {b!r}"


@pytest.mark.slow
def test_the_script_reproduces_the_committed_results(tmp_path):
    out = tmp_path / "runs.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT / "lib")}
    done = subprocess.run([sys.executable, str(SCRIPT), str(out)], capture_output=True, text=True, env=env,
                          timeout=3600)
    assert done.returncode == 0, done.stderr[-2000:]
    _close(json.loads(out.read_text()), json.loads(COMMITTED.read_text()))
