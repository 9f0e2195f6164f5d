"""Group 5: the cost of the sandbox (bubblewrap) that grading runs student code in.

Measured for every lab, each time with the course's plain ``python3`` kernel and with the
sandboxed ``optilab-sandboxed`` kernel (both installed by ``make setup``; grading uses the
sandboxed one, ``BoundedExecute.kernel_name`` in ``nbgrader_config.py``), interleaved round by round so
that a busy patch of the machine slows both alike, and the median of the rounds taken:

- ``kernel_start``: start a kernel, run ``1``, stop it, with nbclient;
- ``served_rule``: one call of optilab's Lion on a 16-entry parameter from a graded notebook's
  process, where the grader computes it and the call crosses the wire both ways (a notebook that
  trains with optilab's rules pays this on every step while it is graded), against the same call
  made here, in the grader's process; and one ``Optimizer`` step of the four parameters of lab 6's
  MLP with it, which asks the grader once for the four (the served rule's ``steps``);
- ``submission``: nbgrader's ``autograde`` of the lab's fully answered submission (the
  instructor's answers in the student notebook), through its Python API, in a course folder of
  its own; the two kernels are set with ``BoundedExecute.kernel_name``, nothing else differs. The
  difference of the medians is what the sandbox adds to every graded submission; both kernels
  must give the same score.

Nothing here passes or fails.
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

__all__ = ["KERNELS", "PLAIN", "SANDBOXED", "REPEATS", "labs", "kernel_start", "served_rule", "Course", "run", "main"]

PLAIN, SANDBOXED = "python3", "optilab-sandboxed"
KERNELS = (PLAIN, SANDBOXED)
#: Rounds per lab (each grades the submission once with each kernel); the median is reported.
REPEATS = 3


def labs(root: Path) -> list[str]:
    """The course's labs: ``solutions/labNN_*/labNN_*.ipynb``."""
    return sorted(p.name for p in (root / "solutions").glob("lab*") if (p / f"{p.name}.ipynb").is_file())


def kernel_start(kernel: str, folder: Path) -> float:
    """Seconds to start ``kernel`` in ``folder``, run one cell and stop it."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("1")]
    start = time.perf_counter()
    NotebookClient(nb, kernel_name=kernel, timeout=60, resources={"metadata": {"path": str(folder)}}).execute()
    return time.perf_counter() - start


#: A graded notebook's code that times ``n`` steps of optilab's Lion (its code is not in that process:
#: each call asks the grader).
_SERVED_STEPS = ("import time\nimport numpy as np\nimport optilab\n\n"
                 "def steps(n):\n    param, grad, state = np.ones(16), np.full(16, 0.1), {}\n"
                 "    start = time.perf_counter()\n    for _ in range(n):\n"
                 "        param, state = optilab.RULES['lion'](param, grad, state, lr=1e-3)\n"
                 "    return time.perf_counter() - start\n\n"
                 "def model_steps(n):\n    return _model_steps(optilab.Optimizer('lion', lr=1e-3), n)\n\n"
                 "def _model_steps(optimizer, n):\n"
                 "    params = {'W1': np.ones((30, 16)), 'b1': np.ones(16), 'W2': np.ones((16, 2)), 'b2': np.ones(2)}\n"
                 "    grads = {k: np.full_like(v, 0.1) for k, v in params.items()}\n"
                 "    start = time.perf_counter()\n    for _ in range(n):\n"
                 "        params = optimizer.step(params, grads)\n"
                 "    return time.perf_counter() - start\n")


def served_rule(folder: Path, calls: int = 2000, repeats: int = 3) -> dict[str, Any]:
    """Seconds per call of optilab's Lion from a graded notebook's sandboxed process (computed by the
    grader, over the wire) and in this process, and per Optimizer step of a four-parameter model
    (``step_*``, a quarter as many); the medians of ``repeats`` rounds of ``calls``."""
    import numpy as np

    from optilab import Optimizer, kernels
    from optilab.grading.notebook import StudentNotebook

    folder.mkdir(parents=True, exist_ok=True)
    served, here, step_served, step_here = [], [], [], []
    steps = max(1, calls // 4)
    here_namespace: dict[str, Any] = {}
    exec(_SERVED_STEPS, here_namespace)  # the same code, here
    with StudentNotebook([(0, _SERVED_STEPS)], folder, cell_seconds=600, served=("lion",)) as notebook:
        if notebook.gone:
            return {"status": "error", "reason": notebook.gone}
        notebook.call("steps", 100)  # untimed: the first calls warm both sides
        notebook.call("model_steps", 25)
        for _ in range(repeats):
            served.append(notebook.call("steps", calls) / calls)
            param, grad, state = np.ones(16), np.full(16, 0.1), {}
            start = time.perf_counter()
            for _ in range(calls):
                param, state = kernels.RULES["lion"](param, grad, state, lr=1e-3)
            here.append((time.perf_counter() - start) / calls)
            step_served.append(notebook.call("model_steps", steps) / steps)
            step_here.append(here_namespace["_model_steps"](Optimizer(kernels.RULES["lion"], lr=1e-3), steps) / steps)
    median = statistics.median
    return {"calls": calls, "served_s": median(served), "here_s": median(here), "ratio": median(served) / median(here),
            "steps": steps, "step_served_s": median(step_served), "step_here_s": median(step_here),
            "step_ratio": median(step_served) / median(step_here)}


class Course:
    """One lab in a course folder of its own, released once, with one fully answered submission.

    :meth:`grade` autogrades that submission with a given kernel (nbgrader's Python API, the
    course's configuration with only ``BoundedExecute.kernel_name`` changed) and returns (seconds, score).
    """

    def __init__(self, root: Path, lab: str, folder: Path) -> None:
        from bench.grading import make_submissions
        from optilab.autograde.course import load_config, make_api

        self.lab, self.folder = lab, folder
        (folder / "exchange").mkdir(parents=True)
        self.db_url = "sqlite:///" + str(folder / "gradebook.db")
        self.apis = {}
        for kernel in KERNELS:
            config = load_config(root, CourseDirectory={
                "release_directory": str(folder / "release"), "submitted_directory": str(folder / "submitted"),
                "autograded_directory": str(folder / "autograded"), "feedback_directory": str(folder / "feedback"),
                "db_url": self.db_url}, Exchange={"root": str(folder / "exchange")},
            BoundedExecute={"kernel_name": kernel})
            self.apis[kernel] = make_api(config)
        released = self.apis[PLAIN].generate_assignment(lab, force=True)
        if not released["success"]:
            raise RuntimeError(f"nbgrader generate_assignment {lab} failed: {released['log'][-300:]}")
        export = folder / "export"
        self.student = make_submissions(root / "solutions" / lab / f"{lab}.ipynb",
                                        folder / "release" / lab / f"{lab}.ipynb", export, count=1)[0]
        target = folder / "submitted" / self.student / lab
        target.mkdir(parents=True)
        (target / f"{lab}.ipynb").write_bytes((export / self.student / f"{lab}.ipynb").read_bytes())

    def grade(self, kernel: str) -> tuple[float, float]:
        from nbgrader.api import Gradebook

        start = time.perf_counter()
        result = self.apis[kernel].autograde(self.lab, self.student, force=True, create=True)
        seconds = time.perf_counter() - start
        if not result["success"]:
            raise RuntimeError(f"{self.lab} with the {kernel} kernel could not be graded: "
                               f"{(result.get('error') or result.get('log') or '')[-300:]}")
        with Gradebook(self.db_url) as gb:
            submission = gb.find_submission(self.lab, self.student)
            return seconds, float(submission.score)

    def max_score(self) -> float:
        from nbgrader.api import Gradebook

        with Gradebook(self.db_url) as gb:
            return float(gb.find_assignment(self.lab).max_score)


def _rounds(repeats: int) -> list[tuple[str, str]]:
    """Kernel order per round, alternating which goes first, so neither always runs on a warmer machine."""
    return [KERNELS if r % 2 == 0 else KERNELS[::-1] for r in range(repeats)]


def run(root: Path, *, lab_names: list[str] | None = None, repeats: int = REPEATS,
        start_repeats: int = 3, served_calls: int = 2000) -> dict[str, Any]:
    """Every measure; ``lab_names`` defaults to every lab of the course."""
    chosen = labs(root) if lab_names is None else lab_names
    if not (root / "nbgrader_config.py").is_file() or not chosen:
        return {"status": "not available", "reason": "no nbgrader_config.py or no solutions/labNN_*/ in the course"}
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    for kernel in KERNELS:
        try:
            KernelSpecManager().get_kernel_spec(kernel)
        except NoSuchKernel:
            return {"status": "not available", "reason": f"no `{kernel}` kernel installed (`make setup` installs it)"}
    from optilab import isolate

    ok, reason = isolate.available()
    if not ok:
        return {"status": "not available", "reason": f"the sandbox cannot run here: {reason}"}

    out: dict[str, Any] = {"status": "ok", "kernels": list(KERNELS), "repeats": repeats,
                           "kernel_start": {}, "records": []}
    with tempfile.TemporaryDirectory(prefix="optilab-bench-sandbox-") as tmp:
        tmp_path = Path(tmp)
        starts: dict[str, list[float]] = {k: [] for k in KERNELS}
        for order in _rounds(start_repeats):
            for kernel in order:
                starts[kernel].append(kernel_start(kernel, tmp_path))
        out["kernel_start"] = _compare(starts)
        out["served_rule"] = served_rule(tmp_path / "served", calls=served_calls)
        for lab in chosen:
            course = Course(root, lab, tmp_path / lab)
            if lab == chosen[0]:  # untimed: the first autograde in this process pays nbgrader's imports
                for kernel in KERNELS:
                    course.grade(kernel)
            times: dict[str, list[float]] = {k: [] for k in KERNELS}
            scores: dict[str, set[float]] = {k: set() for k in KERNELS}
            for order in _rounds(repeats):
                for kernel in order:
                    seconds, score = course.grade(kernel)
                    times[kernel].append(seconds)
                    scores[kernel].add(score)
            all_scores = scores[PLAIN] | scores[SANDBOXED]
            out["records"].append({
                "lab": lab, **_compare(times),
                "score": {k: sorted(v) for k, v in scores.items()}, "max_score": course.max_score(),
                "same_score": len(all_scores) == 1,
            })
    costs = [r["cost_s"] for r in out["records"]]
    out["note"] = (f"One fully answered submission per lab, graded {repeats} times with each kernel "
                   "(interleaved; medians). cost = sandboxed − python3, per submission. Wall time only: the "
                   "CPU time the OS reports for a process's finished children misses most of the sandboxed "
                   "kernel's, so the kernels' CPU times cannot be compared.")
    out["cost_range_s"] = [min(costs), max(costs)]
    return out


def _compare(times: dict[str, list[float]]) -> dict[str, Any]:
    median = {k: statistics.median(v) for k, v in times.items()}
    return {"seconds": median, "all_seconds": times, "cost_s": median[SANDBOXED] - median[PLAIN],
            "ratio": median[SANDBOXED] / median[PLAIN]}


def main(root: Path, quick: bool = False, budget_s: float | None = None) -> dict[str, Any]:
    """The group as ``python -m bench`` runs it (``quick``: the first lab, one round, one kernel start,
    200 served calls)."""
    if quick:
        return run(root, lab_names=labs(root)[:1], repeats=1, start_repeats=1, served_calls=200)
    return run(root)


if __name__ == "__main__":
    print(json.dumps(main(Path(__file__).resolve().parents[1]), indent=1))
