"""Write practice_reference.npz: torch's values for schedules, clipping, SAM and Hessian-vector products.

Run from the repository root with torch installed (``pip install torch==2.13.0``):

    .venv/bin/python -m tests.torch_reference.make_practice_reference

The cases' inputs are stored beside torch's outputs, so tests/test_practice_torch.py checks
optilab against torch even where torch is not installed.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from tests.torch_reference import practice_torch as P

PATH = Path(__file__).with_name("practice_reference.npz")
SEED = 20261130
CLIP_RULES = ("sgd", "momentum", "adam")
SAM_BASES = ("sgd", "momentum")
CASES_EACH = 2


def _put(arrays: dict, key: str, value) -> None:
    """Store a value: arrays as they are, dicts of arrays under key/name, lists of dicts under key/i/name."""
    if isinstance(value, dict):
        for name, v in value.items():
            _put(arrays, f"{key}/{name}", v)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _put(arrays, f"{key}/{i}", v)
    else:
        arrays[key] = np.asarray(value)


def cases(seed: int = SEED) -> dict[str, dict]:
    """Every case's inputs, drawn from ``seed`` (the same on every machine)."""
    rng = np.random.default_rng(seed)
    out: dict[str, dict] = {}
    for rule in CLIP_RULES:
        for k in range(CASES_EACH):
            out[f"clip-{rule}-{k}"] = P.clip_case(rng, rule)
    for base in SAM_BASES:
        for k in range(CASES_EACH):
            out[f"sam-{base}-{k}"] = P.sam_case(rng, base)
    for name in P.HVP_MODELS:
        for k in range(CASES_EACH):
            out[f"hvp-{name}-{k}"] = P.hvp_case(name, rng)
    return out


def build() -> dict[str, np.ndarray]:
    import torch

    torch.set_default_dtype(torch.float64)
    arrays: dict[str, np.ndarray] = {}
    for case in P.SCHEDULE_CASES:
        arrays[f"schedule-{case}/torch"] = P.torch_schedule(case)
    for key, case in cases().items():
        if key.startswith("clip-"):
            _put(arrays, key, {"params": case["params"], "grads": case["grads"], "lrs": case["lrs"],
                               "torch": P.torch_clip(case)})
        elif key.startswith("sam-"):
            _put(arrays, key, {"params": case["params"], "X": case["X"], "y": case["y"], "torch": P.torch_sam(case)})
        else:
            _put(arrays, key, {"params": case["params"], "X": case["X"], "y": case["y"], "v": case["v"],
                               "torch": P.torch_hvp(case)})
    index = {"torch": torch.__version__, "seed": SEED,
             "cases": {key: {k: v for k, v in case.items() if k in ("rule", "hyper", "max_norm", "base", "rho", "lr",
                                                                     "steps", "model")}
                       for key, case in cases().items()}}
    arrays["index"] = np.array(json.dumps(index))
    return arrays


def main() -> int:
    arrays = build()
    np.savez_compressed(PATH, **arrays)
    print(f"wrote {PATH.name}: {len(json.loads(str(arrays['index']))['cases'])} cases "
          f"and {len(P.SCHEDULE_CASES)} schedules")
    return 0


if __name__ == "__main__":
    sys.exit(main())
