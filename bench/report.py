"""The benchmark's outputs: the machine it ran on, Markdown tables, ``build/bench.json``.

The JSON record has one entry per group under ``"groups"``. A group that ran has
``"status": "ok"``; one that could not run has ``"status": "not available"`` and a
``"reason"``; one that failed has ``"status": "error"`` and the error.
"""

from __future__ import annotations

import json
import math
import os
import platform
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = ["machine", "markdown", "write", "fmt_seconds", "SCHEMA"]

SCHEMA = 1


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def cpu_model(cpuinfo: str | None = None) -> str:
    """The CPU's ``model name`` from ``/proc/cpuinfo`` (or the platform's description)."""
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text()
        except OSError:
            return platform.processor() or platform.machine()
    for line in cpuinfo.splitlines():
        if line.lower().startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def machine() -> dict[str, Any]:
    """Where the figures came from: cores, CPU, OS, and the versions that matter."""
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        usable = os.cpu_count()
    return {
        "nproc": usable,
        "cpu": cpu_model(),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "numpy": _version("numpy"),
        "torch": _version("torch"),
        "matplotlib": _version("matplotlib"),
        "nbgrader": _version("nbgrader"),
        "nbclient": _version("nbclient"),
        "load_average_at_start": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
    }


def fmt_seconds(seconds: float | None) -> str:
    """A duration with a unit that keeps three significant figures: ``12.3 µs``, ``4.56 ms``, ``7.89 s``."""
    if seconds is None or not math.isfinite(seconds):
        return "–"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6), ("ns", 1e-9)):
        if abs(seconds) >= scale or unit == "ns":
            value = seconds / scale
            return f"{value:.3g} {unit}" if value < 1000 else f"{value:.0f} {unit}"
    return f"{seconds} s"  # pragma: no cover


def _ratio(value: float | None) -> str:
    return "–" if value is None or not math.isfinite(value) else f"{value:.2f}×"


def _count(value: float | None) -> str:
    return "–" if value is None else f"{value:,.0f}".replace(",", " ")


def _yes(value: bool | None) -> str:
    return {True: "yes", False: "**no**", None: "–"}[value]


_SUPERSCRIPTS = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


def _power(n: int) -> str:
    exponent = round(math.log10(n)) if n > 0 else 0
    return "10" + str(exponent).translate(_SUPERSCRIPTS) if 10**exponent == n else str(n)


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def _bytes(n: int) -> str:
    """A size in bytes, as B, kB or MB (powers of 1000)."""
    for unit, size in (("MB", 1e6), ("kB", 1e3)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{n} B"


def _kernels(group: dict[str, Any]) -> list[str]:
    header = ["rule", "n", "state", "optilab", "torch single", "torch foreach", "torch fused",
              "÷ single", "÷ foreach", "÷ fused", "bound", "÷ bound", "passes", "page faults", "target met"]
    rows = []
    for r in group["records"]:
        t, q = r["torch_s"], r["ratio"]
        state = _bytes(r["state_bytes"]) if "state_bytes" in r else "–"
        rows.append([r["rule"], _power(r["n"]) + ("" if len(r.get("shape", [0])) == 1 else " (" + "×".join(
                         str(x) for x in r["shape"]) + ")"), state, fmt_seconds(r["optilab_s"]),
                     *(fmt_seconds(t.get(impl)) for impl in ("single", "foreach", "fused")),
                     *(_ratio(q.get(impl)) for impl in ("single", "foreach", "fused")),
                     fmt_seconds(r["bound_s"]), _ratio(r["x_bound"]), str(r["traffic"]["passes"]),
                     _count(r.get("page_faults_per_step")),
                     _yes(r["meets_target"])])
    lines = _table(header, rows)
    bandwidth = ", ".join(f"{_power(int(n))}: {bw / 1e9:.1f} GB/s" for n, bw in group["copy_bandwidth_Bps"].items())
    lines += ["", f"Copy bandwidth (read + write) by size: {bandwidth}. {group.get('note', '')}. "
                  "passes: NumPy operations over whole arrays in one optilab step; page faults: per optilab "
                  "step (memory the allocator had given back to the OS and had to map again)."]
    alone: dict[str, str] = {}
    for r in group["records"]:
        if r.get("torch_unavailable") and not r["ratio"]:
            alone.setdefault(r["rule"], "; ".join(dict.fromkeys(r["torch_unavailable"].values())))
    if alone:
        lines += ["", "Timed without PyTorch: " + "; ".join(f"{rule} ({why})" for rule, why in alone.items()) + "."]
    if group.get("torch"):
        lines += ["", f"torch: {group['torch']}"]
    return lines


def _explorers(group: dict[str, Any]) -> list[str]:
    header = ["explorer", "controls", "changes", "median", "p95", "max", "median CPU", "of which PNG",
              "median < 100 ms"]
    rows = [[r["name"], str(len(r["controls"])), str(r["changes"]), fmt_seconds(r["median_s"]),
             fmt_seconds(r["p95_s"]), fmt_seconds(r["max_s"]), fmt_seconds(r.get("cpu_median_s")),
             fmt_seconds(r.get("png_median_s")), _yes(r["meets_target"])] for r in group["records"]]
    lines = _table(header, rows)
    for r in group["records"]:
        if r.get("problems"):
            lines.append(f"- {r['name']}: {'; '.join(r['problems'])}")
    lines += ["", group.get("note", "")]
    lines += _explorers_browser(group.get("browser") or {})
    return lines


def _ms(value: float | None) -> str:
    return "–" if value is None or not math.isfinite(value) else f"{value:.0f} ms"


def _explorers_browser(browser: dict[str, Any]) -> list[str]:
    """The browser half of the explorers group: input -> painted figure in Chromium, per explorer and display."""
    lines = ["", "**In the browser** (JupyterLab in headless Chromium): input event -> new figure painted."]
    if browser.get("status") not in ("ok", "partial"):
        return lines + ["", f"{browser.get('status', 'not run')}: {browser.get('reason', '')}"]
    header = ["explorer", "display", "inputs", "median", "p90", "max", "÷ reference (median, p90)", "to kernel",
              "compute", "draw", "encode", "transfer", "decode+paint", "kernel CPU", "idle estimate", "PNG",
              "width (shown)", "median < 50 ms, p90 < 100 ms"]
    rows = []
    for r in browser["rows"]:
        p = r["parts_ms"]
        ratio = (f"{r['ratio_median']:.2f}×, {r['ratio_p90']:.2f}×" if "ratio_median" in r else "reference")
        rows.append([r["name"], r["display"], str(r["inputs"]), _ms(r["median_ms"]), _ms(r["p90_ms"]), _ms(r["max_ms"]),
                     ratio, _ms(p["to_kernel"]), _ms(p["compute"]), _ms(p["draw"]), _ms(p["encode"]),
                     _ms(p["transfer"]), _ms(p["decode_paint"]), _ms(r.get("kernel_cpu_ms")),
                     _ms(r.get("idle_estimate_ms")), f"{r['png_kb']:.0f} kB",
                     f"{r['width_px']} ({r['shown_px']:.0f}) px", _yes(r["meets_target"])])
    lines += ["", *_table(header, rows), "", browser.get("note", "")]
    if browser.get("status") == "partial":
        lines.append("The browser run stopped early (see its log); the rows above are the explorers it timed.")
    return lines


def _notebooks(group: dict[str, Any]) -> list[str]:
    header = ["notebook", "kind", "time", "CPU", "status", "target met"]
    rows = [[r["path"], r["kind"], fmt_seconds(r["seconds"]), fmt_seconds(r.get("cpu_s")), r["status"],
             _yes(r["meets_target"])] for r in group["records"]]
    lines = _table(header, rows)
    totals = group["totals"]
    lines += ["", f"Lessons: {fmt_seconds(totals['lessons_s'])}; solutions: {fmt_seconds(totals['solutions_s'])}; "
                  f"all: {fmt_seconds(totals['all_s'])} (target: every lesson < 20 s, all < 2 min: "
                  f"{_yes(totals['meets_target'])}). {group.get('note', '')}"]
    return lines


def _grading(group: dict[str, Any]) -> list[str]:
    header = ["command", "submissions", "total", "per submission", "CPU"]
    rows = [[r["command"], str(r["submissions"]), fmt_seconds(r["seconds"]), fmt_seconds(r["per_submission_s"]),
             fmt_seconds(r.get("cpu_s"))] for r in group["records"]]
    lines = _table(header, rows)
    target = group.get("target", 1.5)
    lines += ["", f"Speed-up of `make grade` over plain `nbgrader autograde`: {_ratio(group.get('speedup'))} "
                  f"(target ≥ {target:g}×: {_yes(group.get('meets_target'))}); same grades: "
                  f"{_yes(group.get('same_grades'))}; kernel: `{group.get('kernel', '?')}`. {group.get('note', '')}"]
    one = group.get("one_worker")
    if one:
        lines += ["", f"With one worker (`make grade --jobs 1`), `make grade` is {_ratio(one.get('speedup'))} as fast "
                      f"as plain nbgrader; its parallel workers make it {_ratio(one.get('workers_speedup'))} faster "
                      f"than that (same grades: {_yes(one.get('same_grades'))}). optilab changes nothing inside "
                      "nbgrader, jupyter_client or nbconvert: the workers are the speed-up, beside one setting of "
                      "nbgrader's (its feedback exporter keeps the page templates compiled; `make grade` writes the "
                      "feedback pages, which plain `nbgrader autograde` does not)."]
    for line in group.get("disagreements", [])[:10]:
        lines.append(f"- {line}")
    return lines


def _sandbox(group: dict[str, Any]) -> list[str]:
    plain, boxed = group["kernels"]
    header = ["lab", f"`{plain}`", f"`{boxed}`", "cost per submission", "ratio", "score", "same score"]
    start = group["kernel_start"]
    rows = [["kernel start, one cell, stop", fmt_seconds(start["seconds"][plain]),
             fmt_seconds(start["seconds"][boxed]), fmt_seconds(start["cost_s"]), _ratio(start["ratio"]), "–", "–"]]
    rows += [[r["lab"], fmt_seconds(r["seconds"][plain]), fmt_seconds(r["seconds"][boxed]), fmt_seconds(r["cost_s"]),
              _ratio(r["ratio"]), f"{'/'.join(f'{x:g}' for x in r['score'][boxed])} of {r['max_score']:g}",
              _yes(r["same_score"])] for r in group["records"]]
    served = group.get("served_rule") or {}
    if "served_s" in served:
        rows.append(["optilab's Lion, one call: in the grader; from a graded notebook, served over the wire",
                     fmt_seconds(served["here_s"]), fmt_seconds(served["served_s"]),
                     fmt_seconds(served["served_s"] - served["here_s"]), _ratio(served["ratio"]), "–", "–"])
    if "step_served_s" in served:
        rows.append(["an Optimizer step of lab 6's MLP (4 parameters) with that Lion: one question for the four",
                     fmt_seconds(served["step_here_s"]), fmt_seconds(served["step_served_s"]),
                     fmt_seconds(served["step_served_s"] - served["step_here_s"]), _ratio(served["step_ratio"]),
                     "–", "–"])
    return [*_table(header, rows), "", group.get("note", "")]


TITLES = {
    "kernels": "1. Update rules: one float32 step, optilab vs torch.optim",
    "explorers": "2. Interactivity: control change to redrawn figure",
    "notebooks": "3. Course execution: headless notebooks",
    "grading": "4. Grading throughput",
    "sandbox": "5. Sandbox cost: nbgrader autograde of one submission, plain vs sandboxed kernel",
}
_RENDER = {"kernels": _kernels, "explorers": _explorers, "notebooks": _notebooks, "grading": _grading,
           "sandbox": _sandbox}


def _machine_line(result: dict[str, Any]) -> str:
    m = result["machine"]
    load = m.get("load_average_at_start")
    busy = f" Load average at the start: {load[0]:.1f}." if load else ""
    return (f"Machine: {m['nproc']} cores ({m['cpu']}), {m['os']}; Python {m['python']}, numpy {m['numpy']}, "
            f"torch {m['torch'] or 'not installed'}, matplotlib {m['matplotlib']}, nbgrader {m['nbgrader']}. "
            f"Run of {result.get('started_utc', '?')}; `make bench` took {fmt_seconds(result.get('seconds'))}.{busy}")


def _worst(records: list[dict[str, Any]], n: int, key: str) -> tuple[float | None, str]:
    rows = [(r["ratio"][key], r["rule"]) for r in records if r["n"] == n and key in r["ratio"]]
    return max(rows) if rows else (None, "")


def _foreach_or_only(ratio: dict[str, float]) -> str:
    """The ratio to PyTorch's foreach step, or to the one step a class without foreach has (Lion, Muon)."""
    if "foreach" in ratio:
        return _ratio(ratio["foreach"])
    if list(ratio) == ["single"]:
        return f"{_ratio(ratio['single'])} (its one)"
    return "–"


def summary(result: dict[str, Any]) -> str:
    """A short Markdown summary of the run against the targets (the README's performance section)."""
    groups = result["groups"]
    rows: list[list[str]] = []

    def unavailable(name: str, what: str, target: str) -> None:
        group = groups.get(name, {})
        rows.append([what, target, f"{group.get('status', 'not run')}: {group.get('reason', '')}".strip(), "–"])

    kernels = groups.get("kernels", {})
    if kernels.get("status") == "ok" and any(r["ratio"] for r in kernels["records"]):
        sizes = sorted({r["n"] for r in kernels["records"]})
        for n in sizes:
            if n <= 100:
                timed = [(max(r["ratio"].values()), r["rule"]) for r in kernels["records"]
                         if r["n"] == n and r["ratio"]]
                if not timed:
                    continue
                worst = max(timed)
                rows.append([f"update rule step, {_power(n)} float32 (÷ fastest torch.optim, slowest rule)",
                             "< 1×", f"{_ratio(worst[0])} ({worst[1]})", _yes(worst[0] < 1)])
            else:
                worst = _worst(kernels["records"], n, "foreach")
                if worst[0] is not None:
                    rows.append([f"update rule step, {_power(n)} float32 (÷ torch.optim foreach, slowest rule)",
                                 "≤ 1.5×", f"{_ratio(worst[0])} ({worst[1]})", _yes(worst[0] <= 1.5)])
    elif kernels.get("status") == "ok":
        rows.append(["update rule step vs torch.optim", "< 1× at 10², ≤ 1.5× above",
                     kernels.get("torch", "no torch timings") + " (optilab's times are below)", "–"])
    else:
        unavailable("kernels", "update rule step vs torch.optim", "< 1× at 10², ≤ 1.5× above")
    explorers = groups.get("explorers", {})
    timed = [r for r in explorers.get("records", []) if r.get("changes")]
    if explorers.get("status") == "ok" and timed:
        slowest = max(timed, key=lambda r: r["median_s"])
        fastest = min(timed, key=lambda r: r["median_s"])
        rows.append([f"explorer: control change to redrawn figure, median (slowest of {len(timed)})", "< 100 ms",
                     f"{fmt_seconds(slowest['median_s'])}, CPU {fmt_seconds(slowest.get('cpu_median_s'))} "
                     f"({slowest['name']}; p95 {fmt_seconds(slowest['p95_s'])}); fastest "
                     f"{fmt_seconds(fastest['median_s'])} ({fastest['name']})",
                     _yes(slowest["median_s"] < 0.1)])
    else:
        unavailable("explorers", "explorer redraw, median", "< 100 ms")
    browser = explorers.get("browser") or {}
    for display, what in (("image, paced", "at a person's pace"), ("image", "back to back")):
        shown = [r for r in browser.get("rows", []) if r.get("display") == display]
        if shown:
            break
    if shown:
        slowest = max(shown, key=lambda r: r["median_ms"])
        worst_p90 = max(shown, key=lambda r: r["p90_ms"])
        ratios = [r["ratio_median"] for r in shown if "ratio_median" in r]
        back_to_back = [r for r in browser.get("rows", []) if r.get("display") == "image"]
        if display != "image" and back_to_back:
            b_slowest = max(back_to_back, key=lambda r: r["median_ms"])
            b_p90 = max(back_to_back, key=lambda r: r["p90_ms"])
            rows.append([f"explorer in Chromium, inputs back to back: median / p90 (slowest of {len(back_to_back)})",
                         "< 50 ms / < 100 ms", f"{_ms(b_slowest['median_ms'])} ({b_slowest['name']}) / "
                         f"{_ms(b_p90['p90_ms'])} ({b_p90['name']})",
                         _yes(all(r["meets_target"] for r in back_to_back))])
        rows.append([f"explorer in Chromium {what}: input -> figure painted, median / p90 (slowest of {len(shown)})",
                     "< 50 ms / < 100 ms",
                     f"{_ms(slowest['median_ms'])} ({slowest['name']}) / {_ms(worst_p90['p90_ms'])} "
                     f"({worst_p90['name']})" + (f"; ÷ previous display, same run: median of ratios "
                                                 f"{sorted(ratios)[len(ratios) // 2]:.2f}×" if ratios else ""),
                     _yes(all(r["meets_target"] for r in shown))])
    elif "explorers" in groups:
        rows.append(["explorer in Chromium: input -> figure painted", "< 50 ms / < 100 ms",
                     f"{browser.get('status', 'not run')}: {browser.get('reason', '')}", "–"])
    notebooks = groups.get("notebooks", {})
    if notebooks.get("status") == "ok":
        lessons = [r for r in notebooks["records"] if r["kind"] == "lesson" and r["seconds"] is not None]
        if lessons:
            slowest = max(lessons, key=lambda r: r["seconds"])
            rows.append([f"slowest lesson, executed headless (of {len(lessons)})", "< 20 s",
                         f"{fmt_seconds(slowest['seconds'])}, CPU {fmt_seconds(slowest.get('cpu_s'))} "
                         f"({Path(slowest['path']).stem})", _yes(slowest["seconds"] < 20)])
        totals = notebooks["totals"]
        count = sum(r["seconds"] is not None for r in notebooks["records"])
        skipped = len(notebooks["records"]) - count
        rows.append([f"all {count} lessons and solutions, one after another", "< 2 min",
                     f"{fmt_seconds(totals['all_s'])}, CPU {fmt_seconds(totals.get('all_cpu_s'))}"
                     + (f" ({skipped} more not run: time budget)" if skipped else ""),
                     _yes(totals["meets_target"])])
    else:
        unavailable("notebooks", "lessons and solutions executed headless", "< 20 s each, < 2 min in all")
    grading = groups.get("grading", {})
    if grading.get("status") == "ok":
        ours, plain = grading["records"][0], grading["records"][1]
        target = grading.get("target", 1.5)
        one = grading.get("one_worker") or {}
        rows.append([f"grading: `make grade` vs `nbgrader autograde`, {grading.get('lab', '')}, "
                     f"{ours['submissions']} submissions, `{grading.get('kernel', '?')}` kernel", f"≥ {target:g}×",
                     f"{_ratio(grading['speedup'])} ({fmt_seconds(ours['seconds'])} vs {fmt_seconds(plain['seconds'])}; "
                     f"{fmt_seconds(ours['per_submission_s'])} vs {fmt_seconds(plain['per_submission_s'])} per "
                     f"submission; same grades: {'yes' if grading['same_grades'] else '**no**'})"
                     + (f"; with one worker {_ratio(one.get('speedup'))}" if one else ""),
                     _yes(grading["meets_target"])])
    else:
        unavailable("grading", "grading throughput, make grade vs nbgrader autograde", "≥ 1.5×")
    sandbox = groups.get("sandbox", {})
    if sandbox.get("status") == "ok" and sandbox.get("records"):
        records = sandbox["records"]
        low = min(records, key=lambda r: r["cost_s"])
        high = max(records, key=lambda r: r["cost_s"])
        rows.append([f"sandbox cost per graded submission (`optilab-sandboxed` − `python3` kernel), "
                     f"{len(records)} labs", "–",
                     f"{fmt_seconds(low['cost_s'])} ({low['lab']}, {_ratio(low['ratio'])}) to "
                     f"{fmt_seconds(high['cost_s'])} ({high['lab']}, {_ratio(high['ratio'])}); same scores: "
                     f"{'yes' if all(r['same_score'] for r in records) else '**no**'}", "–"])
    else:
        unavailable("sandbox", "sandbox cost per graded submission", "–")
    lines = [_machine_line(result), "", *_table(["measure", "target", "measured", "met"], rows)]
    if kernels.get("status") == "ok" and any(r["ratio"] for r in kernels["records"]):
        sizes = sorted({r["n"] for r in kernels["records"]})
        big = _power(sizes[-1])
        header = ["rule", *(f"{_power(n)}: ÷ foreach" for n in sizes), f"{big}: ÷ bound",
                  f"{big}: page faults per step"]
        by_rule: dict[str, dict[int, dict[str, Any]]] = {}
        for r in kernels["records"]:
            by_rule.setdefault(r["rule"], {})[r["n"]] = r
        table = [[rule, *(_foreach_or_only(per[n]["ratio"]) if n in per else "–" for n in sizes),
                  _ratio(per[sizes[-1]]["x_bound"]) if sizes[-1] in per else "–",
                  _count(per[sizes[-1]].get("page_faults_per_step")) if sizes[-1] in per else "–"]
                 for rule, per in by_rule.items()]
        lines += ["", "Time of one optilab step divided by one `torch.optim` step (foreach), float32, same run "
                      "(below 1 is faster; \"(its one)\": the PyTorch class has one implementation, no "
                      "foreach, as Lion's and Muon's; – : no PyTorch class); then, at the largest size, the "
                      "optilab step divided by its memory-traffic bound, and the page faults it took "
                      "(thousands: the allocator had handed the step's temporaries back to the OS).", "",
                  *_table(header, table)]
    return "\n".join(lines)


def markdown(result: dict[str, Any]) -> str:
    """The whole run as Markdown: the summary against the targets, then one section per group."""
    lines = ["# optilab benchmarks", "", "## Summary", "", summary(result), ""]
    for name, group in result["groups"].items():
        lines += [f"## {TITLES.get(name, name)}", ""]
        if group.get("status") == "ok":
            lines += _RENDER[name](group)
        else:
            lines.append(f"{group.get('status', 'error')}: {group.get('reason', '?')}")
        lines.append("")
    return "\n".join(lines)


def _plain(value: Any) -> Any:
    """JSON-safe: non-finite floats become None (JSON has no NaN)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def write(result: dict[str, Any], directory: Path) -> tuple[Path, Path]:
    """Write ``bench.json`` and ``bench.md`` into ``directory``; returns their paths."""
    directory.mkdir(parents=True, exist_ok=True)
    json_path, md_path = directory / "bench.json", directory / "bench.md"
    json_path.write_text(json.dumps(_plain({"schema": SCHEMA, **result}), indent=1, allow_nan=False) + "\n")
    md_path.write_text(markdown(result) + "\n")
    return json_path, md_path


if __name__ == "__main__":  # pragma: no cover
    print(json.dumps(machine(), indent=1), file=sys.stdout)
