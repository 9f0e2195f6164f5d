"""``python -m bench``: measure the course's speed; print a table; write build/bench.json and bench.md.

Five groups, each in a module of its own: ``kernels`` (update rules vs torch.optim),
``explorers`` (control change to redrawn figure), ``notebooks`` (lessons and solutions
executed headless), ``grading`` (``make grade`` vs plain ``nbgrader autograde``) and
``sandbox`` (what the sandboxed kernel adds to grading one submission of each lab).
A group that cannot run says why ("not available: ...") and the others still run, so the
command always completes. Nothing here passes or fails: ratios are measured in one run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import os
import sys
import time
import traceback
from pathlib import Path
from typing import Any

os.environ.setdefault("MPLBACKEND", "Agg")
# NumPy's matrix products (Muon's Newton–Schulz) on one thread, as torch is timed: on a shared machine
# OpenBLAS's threads wait for each other (a 100×100 product took 65 ms instead of 0.1 ms).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

ROOT = Path(__file__).resolve().parents[1]
GROUPS = ("kernels", "explorers", "notebooks", "grading", "sandbox")
#: The order they run in: fixed amounts of work first, then the groups that fit their work
#: to the time left (fewer explorer changes, notebooks skipped), so the whole stays in budget.
RUN_ORDER = ("kernels", "grading", "sandbox", "notebooks", "explorers")
#: Seconds the whole run may take (the issue asks for under 10 minutes on a fresh clone).
BUDGET_S = 560.0
#: The most the elastic groups take, and what notebooks leave for the explorers.
NOTEBOOKS_MAX_S, EXPLORERS_MIN_S, EXPLORERS_MAX_S = 240.0, 60.0, 150.0


def run_group(name: str, quick: bool, budget_s: float | None = None) -> dict[str, Any]:
    """Run one group; never raises: an unexpected failure becomes ``{"status": "error", ...}``."""
    start = time.perf_counter()
    try:
        module = importlib.import_module(f"bench.{name}")
        kwargs = {} if budget_s is None else {"budget_s": budget_s}
        result = module.main(root=ROOT, quick=quick, **kwargs)
    except Exception as error:  # noqa: BLE001 - one group's failure must not stop the others
        last = traceback.format_exception_only(type(error), error)[-1].strip()
        result = {"status": "error", "reason": last, "traceback": traceback.format_exc()}
    result["seconds"] = time.perf_counter() - start
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(GROUPS),
                        help=f"comma-separated groups to run (default: all of {','.join(GROUPS)})")
    parser.add_argument("--quick", action="store_true", help="tiny sizes and one repeat: checks the machinery only")
    parser.add_argument("--out", type=Path, default=ROOT / "build", help="where bench.json and bench.md go")
    parser.add_argument("--budget", type=float, default=BUDGET_S,
                        help=f"seconds the whole run may take (default {BUDGET_S:.0f}); the explorer and "
                             "notebook groups fit their work into what the others leave")
    args = parser.parse_args(argv)
    chosen = [g.strip() for g in args.only.split(",") if g.strip()]
    unknown = sorted(set(chosen) - set(GROUPS))
    if unknown:
        parser.error(f"unknown group(s) {unknown}; choose from {', '.join(GROUPS)}")

    from bench import report

    started = dt.datetime.now(dt.timezone.utc)
    start = time.perf_counter()
    result: dict[str, Any] = {"started_utc": started.strftime("%Y-%m-%d %H:%M UTC"), "quick": args.quick,
                              "machine": report.machine(), "groups": {}}
    deadline = start + args.budget
    for name in [g for g in RUN_ORDER if g in chosen]:
        left = deadline - time.perf_counter()
        budget = {"notebooks": min(NOTEBOOKS_MAX_S, left - EXPLORERS_MIN_S * ("explorers" in chosen)),
                  "explorers": min(EXPLORERS_MAX_S, left)}.get(name)
        if budget is not None:
            budget = max(budget, 10.0)
        print(f"bench: {name} ..." + (f" (within {budget:.0f} s)" if budget else ""), file=sys.stderr, flush=True)
        group = run_group(name, args.quick, budget)
        result["groups"][name] = group
        state = group["status"] if group["status"] == "ok" else f"{group['status']}: {group.get('reason')}"
        print(f"bench: {name} {state} ({group['seconds']:.0f} s)", file=sys.stderr, flush=True)
    result["groups"] = {name: result["groups"][name] for name in GROUPS if name in result["groups"]}
    result["seconds"] = time.perf_counter() - start
    json_path, md_path = report.write(result, args.out)
    print(report.markdown(result))
    print(f"wrote {json_path} and {md_path} in {result['seconds']:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
