"""How each optilab rule is spelled in torch.optim, and runners that apply both to the same inputs.

Used by ``make_reference.py`` (which writes the committed reference values) and by
``tests/test_torch_agreement.py`` (which compares against the live torch where it is installed).
"""

from __future__ import annotations

import numpy as np

from optilab import frameworks, kernels, rules

#: hyperparameters of each rule that the generated cases vary, with the range drawn from: the
#: rule table's ``torch_ranges``, for every rule that torch.optim has.
HYPERPARAMETER_RANGES: dict[str, dict[str, tuple]] = {
    rule.name: dict(rule.torch_ranges) for rule in rules.TABLE if rule.torch is not None}


def torch_optimizer(rule: str, tensor, lr: float, hyper: dict):
    """The torch.optim optimizer that computes what ``optilab.kernels.<rule>`` computes.

    The translation is the course's own table (:func:`optilab.frameworks.to_torch`), so these
    comparisons check it too.
    """
    import torch

    cls, kwargs = frameworks.to_torch(rule, lr=lr, **hyper)
    return getattr(torch.optim, cls)([tensor], **kwargs)


def run_torch(rule: str, p0: np.ndarray, grads: np.ndarray, lrs: np.ndarray, hyper: dict) -> np.ndarray:
    """Parameters after each step, computed by torch.optim (``grads[k]`` and ``lrs[k]`` are step k's)."""
    import torch

    tensor = torch.tensor(p0, requires_grad=True)
    optimizer = torch_optimizer(rule, tensor, float(lrs[0]), hyper)
    out = []
    for grad, lr in zip(grads, lrs):
        for group in optimizer.param_groups:
            group["lr"] = float(lr)
        tensor.grad = torch.tensor(grad)
        optimizer.step()
        out.append(tensor.detach().numpy().copy())
    return np.array(out)


def run_optilab(rule: str, p0: np.ndarray, grads: np.ndarray, lrs: np.ndarray, hyper: dict) -> np.ndarray:
    """Parameters after each step, computed by ``optilab.kernels``."""
    param, state, out = p0, {}, []
    for grad, lr in zip(grads, lrs):
        param, state = kernels.RULES[rule](param, grad, state, lr=float(lr), **hyper)
        out.append(np.asarray(param).copy())
    return np.array(out)


def random_case(rule: str, rng: np.random.Generator, steps: int = 60) -> dict:
    """A random case: shape, hyperparameters, gradients over 12 orders of magnitude, an lr that changes every step."""
    ndim = int(rng.integers(0, 4))
    shape = tuple(int(n) for n in rng.integers(1, 5, size=ndim))
    hyper = {}
    for name, (low, high) in HYPERPARAMETER_RANGES[rule].items():
        if isinstance(low, bool):
            hyper[name] = bool(rng.integers(0, 2))
        elif name == "eps":
            hyper[name] = float(10 ** rng.uniform(np.log10(low), np.log10(high)))
        else:
            hyper[name] = float(rng.uniform(low, high))
    if rule == "momentum" and rng.random() < 0.3:
        hyper["dampening"] = 0.0
    p0 = rng.normal(size=shape)
    # tiny and large gradients: each step's scale is drawn from 1e-8 .. 1e4
    scales = 10.0 ** rng.uniform(-8, 4, size=(steps,) + (1,) * ndim)
    grads = rng.normal(size=(steps,) + shape) * scales
    base_lr = 10 ** rng.uniform(-3, -1)
    lrs = base_lr * (1 + 0.5 * np.sin(np.arange(steps))) # a different lr at every step
    return {"rule": rule, "hyper": hyper, "p0": p0, "grads": grads, "lrs": lrs}
