"""Write lbfgs_reference.npz: ``torch.optim.LBFGS``'s final parameters on lesson 11's logistic regression.

Run from the repository root with torch installed (``pip install torch==2.13.0``):

    .venv/bin/python -m tests.torch_reference.make_lbfgs_reference

tests/test_second_order.py checks optilab's L-BFGS against these values where torch is not installed.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from tests.torch_reference import lbfgs_torch as L

PATH = Path(__file__).with_name("lbfgs_reference.npz")


def make(torch) -> dict[str, np.ndarray]:
    """Every case's final (w, b) from torch, and an index with torch's version."""
    torch.set_default_dtype(torch.float64)
    X, y = L.breast_cancer()
    arrays = {key: L.theirs(torch, X, y, l2=L.L2, iterations=it, history=h, lr=lr)
              for key, (it, h, lr) in L.CASES.items()}
    arrays["index"] = np.array(json.dumps({"torch": torch.__version__, "cases": sorted(L.CASES)}))
    return arrays


def main() -> int:
    import torch

    np.savez_compressed(PATH, **make(torch))
    print(f"wrote {PATH} ({len(L.CASES)} cases, torch {torch.__version__})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
