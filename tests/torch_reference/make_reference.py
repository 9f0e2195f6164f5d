"""Write reference.npz: the reference implementation's parameters after each step, for random cases of every rule.

The reference implementation is torch.optim where it has the rule, else the package the rule table
names (``lion_pytorch``, ``schedulefree``, or ``optax``; see ``torch_rules.package``). Run from the
repository root with them installed (the versions of .ci/run: ``pip install torch==2.13.0
lion-pytorch==0.2.5 schedulefree==1.4.1 optax==0.2.8 jax==0.10.2 jaxlib==0.10.2``):

    .venv/bin/python -m tests.torch_reference.make_reference

The cases' inputs are stored beside torch's outputs, so the test suite checks optilab's
kernels against torch even where torch is not installed (tests/test_torch_agreement.py).

For Muon, whose torch.optim class computes Newton–Schulz in bfloat16, each case also stores the
same algorithm run in float32 (``<case>/float32``, from ``torch_rules.run_muon_float32``).

The cases of the rules already in reference.npz are kept as they are (a new rule adds its own
cases and changes no other); ``--all`` makes every case again.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from tests.torch_reference.torch_rules import (HYPERPARAMETER_RANGES, package, random_case, run_muon_float32,
                                               run_reference)

PATH = Path(__file__).with_name("reference.npz")
CASES_PER_RULE = 6
SEED = 20261121


def _committed() -> tuple[dict[str, np.ndarray], dict[str, dict]]:
    """The arrays and index entries of reference.npz, by case key (empty if there is none)."""
    if not PATH.exists():
        return {}, {}
    with np.load(PATH) as data:
        arrays = {k: data[k] for k in data.files if k != "index"}
        cases = {case["key"]: case for case in json.loads(str(data["index"]))["cases"]}
    return arrays, cases


def versions(rules: list[str]) -> dict[str, str]:
    """The version of each package the reference values of ``rules`` come from."""
    from importlib.metadata import version

    distributions = {"torch.optim": "torch", "lion_pytorch": "lion-pytorch", "schedulefree": "schedulefree",
                     "optax": "optax"}
    out = {distributions[package(rule)]: version(distributions[package(rule)]).split("+")[0] for rule in rules}
    if "optax" in out:
        out["jax"] = version("jax")
    return dict(sorted(out.items()))


def build(keep: bool = True) -> dict[str, np.ndarray]:
    import torch

    torch.set_default_dtype(torch.float64)
    rng = np.random.default_rng(SEED)
    old_arrays, old_cases = _committed() if keep else ({}, {})
    arrays: dict[str, np.ndarray] = {}
    index = []
    for rule in HYPERPARAMETER_RANGES:
        for k in range(CASES_PER_RULE):
            case = random_case(rule, rng)  # drawn for every case, so that later rules' draws stay the same
            key = f"{rule}-{k}"
            if key in old_cases:
                index.append(old_cases[key])
                arrays.update({name: value for name, value in old_arrays.items() if name.startswith(f"{key}/")})
                continue
            arrays[f"{key}/p0"] = case["p0"]
            arrays[f"{key}/grads"] = case["grads"]
            arrays[f"{key}/lrs"] = case["lrs"]
            arrays[f"{key}/torch"] = run_reference(rule, case["p0"], case["grads"], case["lrs"], case["hyper"])
            if rule == "muon":  # torch's bfloat16 run above, and its algorithm in float32 (torch_rules.run_muon_float32)
                arrays[f"{key}/float32"] = run_muon_float32(case["p0"].astype(np.float32),
                                                            case["grads"].astype(np.float32), case["lrs"], case["hyper"])
            index.append({"key": key, "rule": rule, "hyper": case["hyper"]})
    arrays["index"] = np.array(json.dumps({"torch": torch.__version__, "packages": versions(list(HYPERPARAMETER_RANGES)),
                                           "cases": index}))
    return arrays


def main() -> int:
    arrays = build(keep="--all" not in sys.argv[1:])
    np.savez_compressed(PATH, **arrays)
    print(f"wrote {PATH.name}: {len(json.loads(str(arrays['index']))['cases'])} cases")
    return 0


if __name__ == "__main__":
    sys.exit(main())
