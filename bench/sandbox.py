"""The cost of the sandbox (bubblewrap) that grading runs student code in.

- ``kernel_start``: start a kernel, run ``1``, stop it, with nbclient: the course's ``python3``
  kernel and the sandboxed ``optilab-sandboxed`` one (the difference is what the sandbox adds
  to every submission);
- ``submission``: nbgrader's ``autograde`` of one lab's fully answered submission (the
  instructor's answers in the student notebook), through its Python API, with each kernel.

Run it alone with ``python -c "from bench import sandbox; print(sandbox.main(ROOT))"``; it is not
one of ``make bench``'s groups (yet). Nothing here passes or fails.
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

__all__ = ["KERNELS", "kernel_start", "submission", "main"]

KERNELS = ("python3", "optilab-sandboxed")


def kernel_start(kernel: str, folder: Path, repeats: int = 5) -> list[float]:
    """Seconds to start ``kernel`` in ``folder``, run one cell and stop it, ``repeats`` times."""
    import nbformat
    from nbclient import NotebookClient

    times = []
    for _ in range(repeats):
        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_code_cell("1")]
        start = time.perf_counter()
        NotebookClient(nb, kernel_name=kernel, timeout=60, resources={"metadata": {"path": str(folder)}}).execute()
        times.append(time.perf_counter() - start)
    return times


def submission(root: Path, lab: str, kernel: str, folder: Path) -> tuple[float, float]:
    """(seconds, score) of ``nbgrader autograde`` of one fully answered ``lab`` submission with ``kernel``."""
    from nbgrader.api import Gradebook

    from bench.grading import make_submissions
    from optilab.autograde.course import load_config, make_api

    (folder / "exchange").mkdir(parents=True)
    config = load_config(root, CourseDirectory={
        "release_directory": str(folder / "release"), "submitted_directory": str(folder / "submitted"),
        "autograded_directory": str(folder / "autograded"), "feedback_directory": str(folder / "feedback"),
        "db_url": "sqlite:///" + str(folder / "gradebook.db")},
        Exchange={"root": str(folder / "exchange")}, Execute={"kernel_name": kernel})
    api = make_api(config)
    api.generate_assignment(lab, force=True)
    export = folder / "export"
    student = make_submissions(root / "solutions" / lab / f"{lab}.ipynb",
                               folder / "release" / lab / f"{lab}.ipynb", export, count=1)[0]
    target = folder / "submitted" / student / lab
    target.mkdir(parents=True)
    (target / f"{lab}.ipynb").write_bytes((export / student / f"{lab}.ipynb").read_bytes())
    start = time.perf_counter()
    result = api.autograde(lab, student, force=True, create=True)
    seconds = time.perf_counter() - start
    if not result["success"]:
        raise RuntimeError(f"{lab} with {kernel} could not be graded: {result['log'][-300:]}")
    with Gradebook(config.CourseDirectory.db_url) as gb:
        return seconds, float(gb.find_submission(lab, student).score)


def main(root: Path, quick: bool = False) -> dict[str, Any]:
    """Both measures, for every lab (``quick``: lab 1 only, one kernel start)."""
    from optilab import isolate

    ok, reason = isolate.available()
    if not ok:
        return {"status": "not available", "reason": reason}
    labs = sorted(p.name for p in (root / "solutions").glob("lab*") if (p / f"{p.name}.ipynb").is_file())
    labs = labs[:1] if quick else labs
    out: dict[str, Any] = {"status": "ok", "kernel_start_s": {}, "submission_s": {}, "score": {}}
    with tempfile.TemporaryDirectory(prefix="bench-sandbox-") as tmp:
        for kernel in KERNELS:
            times = kernel_start(kernel, Path(tmp), repeats=1 if quick else 5)
            out["kernel_start_s"][kernel] = statistics.median(times)
        for lab in labs:
            for kernel in KERNELS:
                seconds, score = submission(root, lab, kernel, Path(tmp) / lab / kernel)
                out["submission_s"].setdefault(lab, {})[kernel] = seconds
                out["score"].setdefault(lab, {})[kernel] = score
    return out


if __name__ == "__main__":
    print(json.dumps(main(Path(__file__).resolve().parents[1]), indent=1))
