"""How each optilab rule is spelled by the implementation it is compared with, and runners that
apply both to the same inputs.

The implementation is ``torch.optim`` 2.13 where it has the rule, else the PyTorch package the rule
table names (``lion_pytorch``, ``schedulefree``), else optax (``optax.yogi``): the rule table's
spellings (:mod:`optilab.rules`), translated by the course's own :mod:`optilab.frameworks`, so
these comparisons check that table too.

Used by ``make_reference.py`` (which writes the committed reference values) and by
``tests/test_torch_agreement.py`` (which compares against the live packages where they are installed).
"""

from __future__ import annotations

import importlib
import math

import numpy as np

from optilab import frameworks, kernels, rules

#: hyperparameters of each rule that the generated cases vary, with the range drawn from: the
#: rule table's ``torch_ranges``, for every rule that has a PyTorch or optax spelling.
HYPERPARAMETER_RANGES: dict[str, dict[str, tuple]] = {
    rule.name: dict(rule.torch_ranges) for rule in rules.TABLE if rule.torch is not None or rule.optax is not None}


def package(rule: str) -> str:
    """The package the reference values of ``rule`` come from: ``torch.optim``, ``lion_pytorch``, ``optax``, ..."""
    record = rules.get(rule)
    if record.torch is not None:
        return frameworks.torch_module(rule)
    return "optax"


def torch_optimizer(rule: str, tensor, lr: float, hyper: dict):
    """The PyTorch optimizer that computes what ``optilab.kernels.<rule>`` computes.

    The translation is the course's own table (:func:`optilab.frameworks.to_torch`), so these
    comparisons check it too.
    """
    cls, kwargs = frameworks.to_torch(rule, lr=lr, **hyper)
    return getattr(importlib.import_module(frameworks.torch_module(rule)), cls)([tensor], **kwargs)


def _judged(rule: str, optimizer, tensor) -> np.ndarray:
    """The parameter after a step; for a rule with an evaluation point, [y, x] (the returned point,
    then the point the model is judged at)."""
    y = tensor.detach().numpy().copy()
    if rules.get(rule).evaluate_at is None:
        return y
    optimizer.eval()  # schedulefree: the parameter becomes x
    x = tensor.detach().numpy().copy()
    optimizer.train()  # and y again
    return np.stack([y, x])


def run_torch(rule: str, p0: np.ndarray, grads: np.ndarray, lrs: np.ndarray, hyper: dict) -> np.ndarray:
    """Parameters after each step, computed by PyTorch (``grads[k]`` and ``lrs[k]`` are step k's)."""
    import torch

    tensor = torch.tensor(p0, requires_grad=True)
    optimizer = torch_optimizer(rule, tensor, float(lrs[0]), hyper)
    if rules.get(rule).evaluate_at is not None:
        optimizer.train()
    out = []
    for grad, lr in zip(grads, lrs):
        for group in optimizer.param_groups:
            group["lr"] = float(lr)
        tensor.grad = torch.tensor(grad)
        optimizer.step()
        out.append(_judged(rule, optimizer, tensor))
    return np.array(out)


def run_optax(rule: str, p0: np.ndarray, grads: np.ndarray, lrs: np.ndarray, hyper: dict) -> np.ndarray:
    """Parameters after each step, computed by optax in float64 (the lr of each step through
    ``optax.inject_hyperparams``)."""
    import jax

    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    import optax

    name, kwargs = frameworks.to_optax(rule, **hyper)
    kwargs.pop("learning_rate", None)
    transform = optax.inject_hyperparams(getattr(optax, name))(learning_rate=float(lrs[0]), **kwargs)
    params = jnp.asarray(p0, dtype=jnp.float64)
    opt_state = transform.init(params)
    out = []
    for grad, lr in zip(grads, lrs):
        opt_state.hyperparams["learning_rate"] = jnp.asarray(float(lr), dtype=jnp.float64)
        updates, opt_state = transform.update(jnp.asarray(grad, dtype=jnp.float64), opt_state, params)
        params = optax.apply_updates(params, updates)
        out.append(np.asarray(params).copy())
    return np.array(out)


def run_reference(rule: str, p0: np.ndarray, grads: np.ndarray, lrs: np.ndarray, hyper: dict) -> np.ndarray:
    """Parameters after each step, computed by the rule's reference implementation (:func:`package`)."""
    run = run_optax if package(rule) == "optax" else run_torch
    return run(rule, p0, grads, lrs, hyper)


def run_optilab(rule: str, p0: np.ndarray, grads: np.ndarray, lrs: np.ndarray, hyper: dict) -> np.ndarray:
    """Parameters after each step, computed by ``optilab.kernels`` ([y, x] for a rule with an evaluation point)."""
    evaluate_at = rules.get(rule).evaluate_at
    param, state, out = p0, {}, []
    for grad, lr in zip(grads, lrs):
        param, state = kernels.RULES[rule](param, grad, state, lr=float(lr), **hyper)
        y = np.asarray(param).copy()
        out.append(y if evaluate_at is None else np.stack([y, np.asarray(state[evaluate_at])]))
    return np.array(out)


def random_case(rule: str, rng: np.random.Generator, steps: int = 60) -> dict:
    """A random case: shape, hyperparameters, gradients over 12 orders of magnitude, an lr that changes every step.

    Shapes are 0-d to 3-d, or matrices (1 to 8 rows and columns) for a rule that takes matrices only.
    """
    if rules.get(rule).params == "matrix":
        shape = tuple(int(n) for n in rng.integers(1, 9, size=2))
    else:
        ndim = int(rng.integers(0, 4))
        shape = tuple(int(n) for n in rng.integers(1, 5, size=ndim))
    ndim = len(shape)
    hyper = {}
    for name, (low, high) in HYPERPARAMETER_RANGES[rule].items():
        if isinstance(low, bool):
            hyper[name] = bool(rng.integers(0, 2))
        elif isinstance(low, int):
            hyper[name] = int(rng.integers(low, high + 1))
        elif name.startswith("eps"):
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


def run_muon_float32(p0: np.ndarray, grads: np.ndarray, lrs: np.ndarray, hyper: dict) -> np.ndarray:
    """Parameters after each step of torch 2.13's Muon algorithm computed in float32 throughout.

    torch.optim.Muon casts the momentum to bfloat16 for its Newton–Schulz iteration
    (``_zeropower_via_newtonschulz`` in torch/optim/_muon.py), and offers no other precision. This is
    that function and ``_single_tensor_muon``, line for line in torch operations, with the cast to
    bfloat16 replaced by one to float32 (and the parameter, gradients and buffer in float32): the
    same algorithm without bfloat16's rounding, to compare optilab's rule with to round-off.
    """
    import torch

    settings = {"lr": 1e-3, "weight_decay": 0.1, "momentum": 0.95, "nesterov": True, "ns_steps": 5, **hyper}
    a, b, c = 3.4445, -4.7750, 2.0315  # torch's DEFAULT_A, DEFAULT_B, DEFAULT_C
    eps = 1e-7  # torch's EPS
    param = torch.tensor(p0, dtype=torch.float32)
    buf = torch.zeros_like(param)
    out = []
    for grad, lr in zip(grads, lrs):
        lr = float(lr)
        grad = torch.tensor(grad, dtype=torch.float32)
        buf.lerp_(grad, 1 - settings["momentum"])
        update = grad.lerp(buf, settings["momentum"]) if settings["nesterov"] else buf
        ortho = update.float()  # torch: update.bfloat16()
        if update.size(0) > update.size(1):
            ortho = ortho.T
        ortho = ortho / ortho.norm().clamp(min=eps)  # torch divides in place (a copy here: ortho may be buf)
        for _ in range(settings["ns_steps"]):
            gram = ortho @ ortho.T
            gram_update = torch.addmm(gram, gram, gram, beta=b, alpha=c)
            ortho = torch.addmm(ortho, gram_update, ortho, beta=a)
        if update.size(0) > update.size(1):
            ortho = ortho.T
        rows, cols = param.shape[:2]
        adjusted_lr = lr * math.sqrt(max(1, rows / cols))
        param.mul_(1 - lr * settings["weight_decay"])
        param.add_(ortho, alpha=-adjusted_lr)
        out.append(param.numpy().copy())
    return np.array(out)
