"""Reference runs computed once by the grader and given, read-only, to the sandboxed kernels of a class.

The hidden tests of labs 5, 6 and 7 run, in each notebook's kernel, the check the grader runs in its
own process (:func:`optilab.grading.labs.run_here`), and that check trains the lab's reference runs:
4 to 6 s of every lab-5 or lab-6 notebook's grading, 2 s of a lab-7 notebook's, computed again for
each submission of a class. ``make grade`` computes them once per class for its own checks
(:func:`optilab.grading.labs.warm`), writes them to a file (:func:`save`) and gives that file to the
sandboxed kernels, read-only, named by the environment variable :data:`ENV`
(``SandboxedProvisioner.given``). A kernel's hidden test cells read a run from it (:func:`lookup`)
instead of training it again; a run that is not in it is trained as before.

The grader's verdicts never come from this file: its checks run in its own process, on its own runs,
and only :func:`run_here` (the kernel's hidden tests) loads the file. The kernel's verdict decides no
points, only whether the grading report says it differs from the grader's ("tampering suspected"). The
student's code can read the file too, and gains nothing by it: the values the grader judges come from
another sandboxed process, which has no such file.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

__all__ = ["ENV", "record", "lookup", "load", "save"]

#: The environment variable that names the file in a sandboxed kernel.
ENV = "OPTILAB_REFERENCE_RUNS"

_computed: dict[str, Any] = {}  # the runs this process trained: key -> plain data
_given: dict[str, Any] = {}  # the runs read from the grader's file (in a kernel)

#: How many runs :func:`lookup` has given (what the kernel's hidden tests say they used).
used = 0


def record(key: str, value: Any) -> None:
    """Keep a reference run this process trained (``value``: numbers, lists of numbers, booleans)."""
    _computed[key] = value


def lookup(key: str) -> Any:
    """The run ``key`` as the grader's file gives it, or None (not loaded, or not in it)."""
    global used
    run = _given.get(key)
    used += run is not None
    return run


def load() -> int:
    """Read the file :data:`ENV` names, once; how many runs it gives (0 without one, or when it
    cannot be read: then every run is trained here, as without it)."""
    path = os.environ.get(ENV)
    if _given or not path:
        return len(_given)
    try:
        runs = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return 0
    if isinstance(runs, dict):
        _given.update(runs)
    return len(_given)


def save(path: str | os.PathLike, keys: list[str]) -> Path | None:
    """Write the reference runs ``keys``, which this process trained, to ``path`` (readable by the
    sandbox's user), and no other run it trained; nothing if there are none. The path written, or None."""
    runs = {key: _computed[key] for key in keys if key in _computed}
    if not runs:
        return None
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(runs, allow_nan=True)  # floats as repr: read back bit for bit
    path.write_text(text, encoding="utf-8")
    os.chmod(path, 0o644)
    return path
