"""Group 1: one step of each reference rule against the same rule in ``torch.optim``.

For every rule in :data:`optilab.RULES` and every size, in float32:

- ``optilab``: one step of the rule as a training loop takes it: from the parameter and state
  the step before returned (the steady state after a first step), which it then drops;
- ``torch``: one ``optimizer.step()`` of the matching ``torch.optim`` optimizer, in each
  implementation PyTorch has for it: ``single`` (``foreach=False``), ``foreach`` and ``fused``;
- ``bound``: the memory-traffic bound of the step. A step must read ``p``, ``g`` and every
  state array once and write the new ``p`` and every new state array once, so it moves
  ``(3 + 2k)·n·itemsize`` bytes for ``k`` state arrays; the bound is those bytes divided by the
  copy bandwidth (``np.copyto``, counted as bytes read plus bytes written, as STREAM does)
  measured at the same size in the same run.

All contenders of one (rule, size) are timed round-robin (see :mod:`bench.timing`), and
PyTorch runs on one thread, as NumPy's element-wise operations do.

At 10^6 parameters a step's arrays are megabytes each. Timed as calls from one state kept aside,
each call's new arrays were freed at once, and whether the C allocator kept that memory or handed
it back to the OS (and took page faults to map it again on the next call) depended on what the
process had allocated before: thousands of faults per step of some rules, none of others. A
training loop keeps each step's results until the next step has made its own, and so does the
timed step. Each record still counts the page faults of an optilab step: when they are in the
thousands, that is where the time went.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Callable

import numpy as np

from bench.timing import compare
from optilab import frameworks, rules

__all__ = ["SIZES", "TORCH_EQUIVALENTS", "bound_seconds", "faults_per_call", "finite", "main", "measure", "run",
           "state_arrays", "step_bytes", "ufunc_traffic"]

SIZES = (10**2, 10**4, 10**6)

#: The PyTorch optimizer and arguments that match each rule at its default hyperparameters
#: (the rule table's spelling, translated by :func:`optilab.frameworks.to_torch`): torch.optim's, or
#: the package's the table names for a rule torch.optim lacks (``lion_pytorch``, ``schedulefree``).
TORCH_EQUIVALENTS: dict[str, tuple[str, dict[str, Any]]] = {
    rule.name: frameworks.to_torch(rule.name, **rule.defaults) for rule in rules.TABLE if rule.torch is not None}


def shape_of(rule: str, n: int) -> tuple[int, ...]:
    """The parameter a rule is timed on: a vector of ``n``, or a square matrix of about ``n`` entries
    for a rule that takes matrices only (Muon) or keeps state of other shapes (Adafactor's rows and
    columns), so that what it keeps for a matrix is what is measured."""
    record = rules.get(rule)
    if record.params == "matrix" or any(slot.shape in ("rows", "cols") for slot in record.state):
        side = max(1, round(math.sqrt(n)))
        return (side, side)
    return (n,)

#: PyTorch's implementations of a step, by the name used in the report.
TORCH_IMPLEMENTATIONS = {"single": {"foreach": False}, "foreach": {"foreach": True}, "fused": {"fused": True}}


def state_arrays(state: dict[str, Any], like: np.ndarray) -> int:
    """How many arrays of ``like``'s shape a rule keeps in its state (``k``)."""
    return sum(isinstance(value, np.ndarray) and value.shape == like.shape for value in state.values())


def step_bytes(n: int, itemsize: int, k: int) -> int:
    """Bytes a step must move at least: read ``p``, ``g`` and ``k`` state arrays, write ``p`` and ``k``.

    Parameters
    ----------
    n : int
        Number of parameters.
    itemsize : int
        Bytes per number (4 for float32).
    k : float
        State arrays of the rule (0 for SGD, 1 for momentum, 2 for Adam, 3 for AMSGrad), or its
        numbers of state over ``n`` (Adafactor's rows and columns: (r + c)/(r·c)).
    """
    return (3 + 2 * k) * n * itemsize


def bound_seconds(n: int, itemsize: int, k: int, copy_bandwidth: float) -> float:
    """The memory-traffic bound of a step: :func:`step_bytes` over the copy bandwidth (bytes/s, read + write)."""
    return step_bytes(n, itemsize, k) / copy_bandwidth


def _inputs(n: int | tuple[int, ...], seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    p = rng.standard_normal(n).astype(np.float32)
    g1 = rng.standard_normal(n).astype(np.float32)
    g2 = rng.standard_normal(n).astype(np.float32)
    return p, g1, g2


class _Counting(np.ndarray):
    """An ndarray view that counts element-wise passes over memory (see :func:`ufunc_traffic`)."""

    log: list[int]

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):  # noqa: ANN001 - NumPy's protocol
        arrays = sum(isinstance(x, np.ndarray) and x.ndim > 0 for x in inputs)
        _Counting.log.append(arrays + 1)  # the array operands read, plus one array written
        plain = [x.view(np.ndarray) if isinstance(x, _Counting) else x for x in inputs]
        if "out" in kwargs:  # reductions such as mean pass their output array
            kwargs["out"] = tuple(x.view(np.ndarray) if isinstance(x, _Counting) else x for x in kwargs["out"])
        result = getattr(ufunc, method)(*plain, **kwargs)
        return result.view(_Counting) if isinstance(result, np.ndarray) else result


_Counting.log = []


def ufunc_traffic(rule: Callable, param: np.ndarray, grad: np.ndarray, state: dict[str, Any]) -> dict[str, int]:
    """Count the element-wise operations of one step and the arrays they read and write.

    Each NumPy ufunc call on whole arrays is one pass over memory that reads its array
    operands and writes one new array (a temporary, unless it is a result). Comparing the
    arrays moved with the minimum ``3 + 2k`` shows how much of a step's time goes on temporaries.
    """
    wrap = lambda x: x.view(_Counting) if isinstance(x, np.ndarray) else x  # noqa: E731
    _Counting.log = []
    rule(wrap(param), wrap(grad), {key: wrap(value) for key, value in state.items()})
    log, _Counting.log = _Counting.log, []
    return {"passes": len(log), "arrays_moved": int(sum(log))}


def _torch_step(torch: Any, rule: str, implementation: str, p0: np.ndarray, grads: list[np.ndarray]):
    """A torch optimizer stepped once per gradient in ``grads``; returns (step function, parameter)."""
    import importlib

    name, kwargs = TORCH_EQUIVALENTS[rule]
    param = torch.tensor(p0, requires_grad=True)
    module = importlib.import_module(frameworks.torch_module(rule))
    try:
        optimizer = getattr(module, name)([param], **kwargs, **TORCH_IMPLEMENTATIONS[implementation])
    except TypeError:
        if implementation != "single":
            raise
        optimizer = getattr(module, name)([param], **kwargs)  # a class with one implementation (Lion, Muon)
    if hasattr(optimizer, "train"):  # schedulefree: steps are taken in train mode
        optimizer.train()
    for g in grads:
        param.grad = torch.tensor(g)
        optimizer.step()
    return optimizer.step, param


def stepping(rule: Callable, param: np.ndarray, grad: np.ndarray, state: dict[str, Any]) -> Callable[[], None]:
    """A step to time as a training loop takes it: each call steps from the parameter and state
    the call before returned, and those before are dropped (torch's step updates its own in place).

    Timed instead from one state kept aside, each call's new arrays were freed at once; the
    allocator could hand the megabytes back to the OS and map them again on the next call, which
    no training loop does (amsgrad at 10^6 parameters: thousands of page faults a step, 6x torch).
    """
    carried = [param, state]

    def step() -> None:
        carried[0], carried[1] = rule(carried[0], grad, carried[1])

    return step


def faults_per_call(fn: Callable[[], object], calls: int = 5) -> float | None:
    """Minor page faults per call of ``fn`` (fresh memory the OS had to map), or None if unknown.

    Many faults per step mean the allocator gave the step's temporaries back to the OS and
    had to map them again: time spent on memory management, not arithmetic.
    """
    try:
        import resource
    except ImportError:  # not on Unix
        return None
    fn()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(calls):
        fn()
    return (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / calls


def _agrees(torch: Any, rule: str, implementation: str, p0, g1, g2, expected: np.ndarray) -> bool:
    """torch's two steps give optilab's, to float32 round-off; for a spelling that is not exact
    (Muon's bfloat16 Newton–Schulz), the step to within a fifth of its largest entry."""
    _, param = _torch_step(torch, rule, implementation, p0, [g1, g2])
    theirs = param.detach().numpy()
    if rules.get(rule).torch.exact:
        return bool(np.allclose(theirs, expected, rtol=1e-5, atol=1e-6))
    step = np.max(np.abs(expected - p0))
    return bool(np.max(np.abs(theirs - expected)) <= 0.2 * step)


def _import_torch() -> tuple[Any, str | None]:
    try:
        import torch
    except ImportError as error:
        return None, f"torch is not installed ({error}); showing optilab's absolute times only"
    torch.set_num_threads(1)
    return torch, None


def measure(name: str, n: int, *, repeats: int, block_seconds: float, warmup: int) -> dict[str, Any]:
    """Time one step of rule ``name`` at ``n`` parameters against torch.optim (without the bound)."""
    from optilab import RULES

    from optilab import memory

    torch, _ = _import_torch()
    rule = RULES[name]
    shape = shape_of(name, n)
    p, g1, g2 = _inputs(shape)
    p1, state = rule(p, g1, {})  # the first step fills the state; time the steady state after it
    after_two, _ = rule(p1, g2, state)
    contenders: dict[str, Callable[[], object]] = {"optilab": stepping(rule, p1, g2, state)}
    agrees: dict[str, bool] = {}
    unavailable: dict[str, str] = {}
    if torch is not None and name in TORCH_EQUIVALENTS:
        for implementation in TORCH_IMPLEMENTATIONS:
            try:
                step, _ = _torch_step(torch, name, implementation, p, [g1])
                agrees[implementation] = _agrees(torch, name, implementation, p, g1, g2, after_two)
            except (TypeError, RuntimeError, ValueError, ImportError) as error:  # ImportError: lion_pytorch, schedulefree
                unavailable[implementation] = f"{type(error).__name__}: {error}".splitlines()[0][:120]
                continue
            contenders[f"torch_{implementation}"] = step
    elif torch is not None:  # no PyTorch class: its agreement is tested against the package the table names
        spelling = rules.get(name).optax
        other = f"{spelling.module}.{spelling.cls}" if spelling is not None else None
        unavailable["all"] = (f"PyTorch has no class for {name}" + (f"; it is compared with {other} in the tests"
                                                                     if other else ""))
    timed = compare(contenders, repeats=repeats, block_seconds=block_seconds, warmup=warmup)
    ours = timed["optilab"]["median"]
    torch_times = {impl: timed[f"torch_{impl}"]["median"] for impl in TORCH_IMPLEMENTATIONS
                   if f"torch_{impl}" in timed}
    return {
        "rule": name,
        "n": n,
        "shape": list(shape),
        "dtype": "float32",
        "state_numbers": memory.state_numbers(name, shape),
        "state_bytes": memory.state_numbers(name, shape) * p.itemsize,
        "optilab_s": ours,
        "optilab_min_s": timed["optilab"]["min"],
        "torch_s": torch_times,
        "ratio": {impl: ours / t for impl, t in torch_times.items()},
        "torch_unavailable": unavailable,
        "torch_agrees": agrees,
        "state_arrays": state_arrays(state, p),
        "traffic": ufunc_traffic(rule, p, g2, state),
        "page_faults_per_step": faults_per_call(contenders["optilab"]),
        "repeats": repeats,
    }


def run(sizes: tuple[int, ...] = SIZES, rules: tuple[str, ...] | None = None, *, repeats: int | None = None,
        block_seconds: float | None = None, warmup: int = 3) -> dict[str, Any]:
    """Benchmark one step of each rule; returns the group's record (see :mod:`bench.report`)."""
    from optilab import RULES

    torch, torch_missing = _import_torch()
    names = tuple(rules or RULES)
    records: list[dict[str, Any]] = []
    copy: dict[int, float] = {}
    for n in sizes:
        p, _, _ = _inputs(n)
        dst = np.empty_like(p)
        # Small arrays: many short blocks; 10^6: fewer, since each call already takes milliseconds.
        options = {"repeats": repeats or (7 if n < 10**6 else 5),
                   "block_seconds": block_seconds or (0.02 if n < 10**6 else 0.03), "warmup": warmup}
        timed = compare({"copy": lambda: np.copyto(dst, p)}, repeats=options["repeats"],
                        block_seconds=options["block_seconds"], warmup=warmup)
        copy[n] = 2 * p.nbytes / timed["copy"]["median"]
        for name in names:
            record = measure(name, n, **options)
            size = int(np.prod(record["shape"]))
            k = record["state_numbers"] / size  # state arrays of the parameter's size (a fraction for Adafactor)
            record["bytes"] = int(step_bytes(size, p.itemsize, k))
            record["copy_bandwidth_Bps"] = copy[n]
            record["bound_s"] = bound_seconds(size, p.itemsize, k, copy[n])
            record["x_bound"] = record["optilab_s"] / record["bound_s"]
            record["target"], record["meets_target"] = _target(n, record["ratio"])
            records.append(record)
    result: dict[str, Any] = {
        "status": "ok",
        "records": records,
        "copy_bandwidth_Bps": {str(n): bw for n, bw in copy.items()},
        "torch_threads": 1 if torch is not None else None,
        "note": ("float32; median of round-robin blocks; torch on 1 thread; "
                 "bound = (3+2k)·n·4 bytes / copy bandwidth, k = state numbers / n; Muon and Adafactor on a "
                 "square matrix of about n entries, the other rules on a vector; state = bytes of optimizer state"),
    }
    if torch_missing:
        result["torch"] = f"not available: {torch_missing}"
    return result


def _target(n: int, ratio: dict[str, float]) -> tuple[str, bool | None]:
    """The issue's target for this size, and whether the step meets it (None without torch)."""
    if not ratio:
        return ("faster than torch" if n <= 10**2 else "within 1.5x of torch foreach"), None
    if n <= 10**2:
        return "faster than torch", all(r < 1.0 for r in ratio.values())
    if "foreach" not in ratio:
        return "within 1.5x of torch foreach", None
    return "within 1.5x of torch foreach", bool(ratio["foreach"] <= 1.5)


def finite(record: dict[str, Any]) -> bool:
    """True when every time and ratio in a kernel record is a finite positive number."""
    numbers = [record["optilab_s"], record["bound_s"], record["x_bound"], *record["torch_s"].values(),
               *record["ratio"].values()]
    return all(isinstance(x, float) and math.isfinite(x) and x > 0 for x in numbers)


def main(root: Path | None = None, quick: bool = False, budget_s: float | None = None) -> dict[str, Any]:
    """The group as ``python -m bench`` runs it (``quick``: one small size, one repeat).

    It takes under a minute whatever ``budget_s`` is (fixed repeats), so it ignores it.
    """
    if quick:
        return run(sizes=(100,), repeats=1, block_seconds=0.001, warmup=1)
    return run()
