"""Training in practice, computed by torch and by optilab on the same inputs.

- schedules: ``torch.optim.lr_scheduler`` (LinearLR, CosineAnnealingLR, SequentialLR, OneCycleLR,
  ConstantLR) against :mod:`optilab.schedules`;
- clipping: ``torch.nn.utils.clip_grad_norm_`` then a ``torch.optim`` step, against
  :func:`optilab.model_rules.clip_by_global_norm` around the same rule;
- SAM: the algorithm of Foret et al. (2021, Algorithm 1) written here in torch (as in the
  authors' and davda54's ``sam.py``: ascend by ρ·g/(‖g‖ + 1e-12), take the gradient there, step
  the base optimizer from the original point), on a torch copy of the optilab MLP, against
  :func:`optilab.model_rules.sam` and :func:`optilab.model_rules.sharpness_aware`;
- Hessian-vector products: torch's double backward on torch copies of the optilab models,
  against :func:`optilab.curvature.hvp`.

Used by ``make_practice_reference.py`` (committed values) and ``tests/test_practice_torch.py``.
"""

from __future__ import annotations

import numpy as np

from optilab import curvature, frameworks, model_rules, models, schedules

STEPS = 60

#: Each schedule case: optilab's constructor and its arguments; the torch spelling is built from them.
#: Cosines end at the last step compared: torch's CosineAnnealingLR rises again after T_max, optilab's holds lr_min.
SCHEDULE_CASES = {
    "cosine": ("cosine", {"lr": 0.1, "total_steps": 60, "lr_min": 0.005}),
    "linear_warmup": ("linear_warmup", {"lr": 0.3, "warmup_steps": 8}),
    "warmup_cosine": ("warmup_cosine", {"lr": 0.1, "warmup_steps": 10, "total_steps": 60, "lr_min": 0.001}),
    "warmup_cosine_to_zero": ("warmup_cosine", {"lr": 0.5, "warmup_steps": 3, "total_steps": 60}),
    "warmup_stable_decay": ("warmup_stable_decay", {"lr": 0.2, "warmup_steps": 5, "total_steps": 60,
                                                    "decay_steps": 20, "lr_min": 0.002}),
    "warmup_stable_decay_to_zero": ("warmup_stable_decay", {"lr": 1.0, "warmup_steps": 12, "total_steps": 59,
                                                            "decay_steps": 12}),
    "one_cycle": ("one_cycle", {"max_lr": 0.5, "total_steps": 60}),
    "one_cycle_short_warmup": ("one_cycle", {"max_lr": 2.0, "total_steps": 59, "pct_start": 0.1,
                                             "div_factor": 10.0, "final_div_factor": 100.0}),
}


def ours_schedule(case: str) -> np.ndarray:
    name, kwargs = SCHEDULE_CASES[case]
    schedule = getattr(schedules, name)(**kwargs)
    return np.array([schedule(t) for t in range(STEPS if name != "one_cycle" else kwargs["total_steps"])])


def torch_schedule(case: str) -> np.ndarray:
    """The lr torch's scheduler gives each of the steps."""
    import torch
    from torch.optim import lr_scheduler as L

    name, k = SCHEDULE_CASES[case]
    lr = k.get("lr", k.get("max_lr"))
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr)
    if name == "cosine":
        sched = L.CosineAnnealingLR(opt, T_max=k["total_steps"], eta_min=k["lr_min"])
    elif name == "linear_warmup":
        sched = L.LinearLR(opt, start_factor=1 / k["warmup_steps"], total_iters=k["warmup_steps"] - 1)
    elif name == "warmup_cosine":
        W, T = k["warmup_steps"], k["total_steps"]
        sched = L.SequentialLR(opt, [L.LinearLR(opt, start_factor=1 / W, total_iters=W - 1),
                                     L.CosineAnnealingLR(opt, T_max=T - W, eta_min=k.get("lr_min", 0.0))],
                               milestones=[W])
    elif name == "warmup_stable_decay":
        W, T, D = k["warmup_steps"], k["total_steps"], k["decay_steps"]
        sched = L.SequentialLR(opt, [L.LinearLR(opt, start_factor=1 / W, total_iters=W - 1),
                                     L.ConstantLR(opt, factor=1.0, total_iters=0),
                                     L.LinearLR(opt, start_factor=1.0, end_factor=k.get("lr_min", 0.0) / lr,
                                                total_iters=D)],
                               milestones=[W, T - D])
    elif name == "one_cycle":
        extra = {key: k[key] for key in ("pct_start", "div_factor", "final_div_factor") if key in k}
        sched = L.OneCycleLR(opt, max_lr=k["max_lr"], total_steps=k["total_steps"], cycle_momentum=False,
                             anneal_strategy="cos", **extra)
    else:
        raise ValueError(case)
    steps = k["total_steps"] if name == "one_cycle" else STEPS
    out = []
    for _ in range(steps):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        if len(out) < steps:
            sched.step()
    return np.array(out)


# --------------------------------------------------------------------------- clipping
SHAPES = {"W": (3, 4), "b": (4,), "g": ()}


def clip_case(rng: np.random.Generator, rule: str, steps: int = 30) -> dict:
    """A dict of three arrays, gradients whose global norm ranges over about 0.3 .. 3e3 (some clipped,
    some not), a max_norm from 1 to 30 (so that torch's ‖g‖ + 1e-6 differs from ‖g‖ by at most 1e-6
    relative), the rule's hyperparameters and a changing lr."""
    params = {k: rng.normal(size=s) for k, s in SHAPES.items()}
    scales = 10.0 ** rng.uniform(-1, 3, size=steps)
    grads = [{k: rng.normal(size=s) * scales[t] for k, s in SHAPES.items()} for t in range(steps)]
    hyper = {"sgd": {}, "momentum": {"momentum": 0.9}, "adam": {"beta1": 0.8, "beta2": 0.99, "eps": 1e-8}}[rule]
    lrs = 10 ** rng.uniform(-3, -1) * (1 + 0.5 * np.sin(np.arange(steps)))
    return {"rule": rule, "hyper": hyper, "params": params, "grads": grads, "lrs": lrs,
            "max_norm": float(10 ** rng.uniform(0, 1.5))}


def _flat(params: dict) -> np.ndarray:
    return np.concatenate([np.ravel(params[k]) for k in sorted(params)])


def ours_clip(case: dict) -> np.ndarray:
    step = model_rules.clip_by_global_norm(case["rule"], case["max_norm"])
    params, state, out = case["params"], {}, []
    for grads, lr in zip(case["grads"], case["lrs"]):
        params, state = step(params, grads, state, lr=float(lr), **case["hyper"])
        out.append(_flat(params))
    return np.array(out)


def torch_clip(case: dict) -> np.ndarray:
    import torch

    tensors = {k: torch.tensor(v, requires_grad=True) for k, v in case["params"].items()}
    cls, kwargs = frameworks.to_torch(case["rule"], lr=float(case["lrs"][0]), **case["hyper"])
    opt = getattr(torch.optim, cls)(list(tensors.values()), **kwargs)
    out = []
    for grads, lr in zip(case["grads"], case["lrs"]):
        for group in opt.param_groups:
            group["lr"] = float(lr)
        for k, t in tensors.items():
            t.grad = torch.tensor(grads[k])
        torch.nn.utils.clip_grad_norm_(list(tensors.values()), case["max_norm"])
        opt.step()
        out.append(_flat({k: t.detach().numpy() for k, t in tensors.items()}))
    return np.array(out)


# --------------------------------------------------------------------------- models in torch
def torch_loss(model, params: dict, X: np.ndarray, y: np.ndarray):
    """The optilab model's mean loss, written in torch (params: dict of tensors)."""
    import torch
    import torch.nn.functional as F

    X = torch.tensor(X)
    if isinstance(model, models.LinearRegression):
        r = X @ params["w"] + (params["b"] if model.bias else 0.0) - torch.tensor(y)
        return 0.5 * torch.mean(r * r)
    if isinstance(model, models.LogisticRegression):
        if model.binary:
            z = X @ params["w"] + params["b"]
            return torch.mean(F.softplus(z) - torch.tensor(y, dtype=z.dtype) * z)
        return F.cross_entropy(X @ params["W"] + params["b"], torch.tensor(y, dtype=torch.long))
    h = X
    for layer in range(1, model.n_layers + 1):
        h = h @ params[f"W{layer}"] + params[f"b{layer}"]
        if layer < model.n_layers:
            h = torch.tanh(h) if model.activation == "tanh" else torch.relu(h)
    n = h.shape[0]
    if model.task == "regression":
        r = h - torch.tensor(y).reshape(n, -1)
        return 0.5 * torch.sum(r * r) / n
    if model.sizes[-1] == 1:
        z = h[:, 0]
        return torch.mean(F.softplus(z) - torch.tensor(y, dtype=z.dtype) * z)
    return F.cross_entropy(h, torch.tensor(y, dtype=torch.long))


#: The models whose Hessian-vector products are compared: (model, number of classes or None for regression).
HVP_MODELS = {
    "linear": (models.LinearRegression(4), None),
    "linear_no_bias": (models.LinearRegression(3, bias=False), None),
    "logistic_binary": (models.LogisticRegression(4), 2),
    "logistic_multinomial": (models.LogisticRegression(4, n_classes=3), 3),
    "mlp_tanh": (models.MLP((4, 6, 5, 3)), 3),
    "mlp_relu": (models.MLP((4, 7, 3), activation="relu"), 3),
    "mlp_one_output": (models.MLP((4, 5, 1)), 2),
    "mlp_regression": (models.MLP((4, 5, 2), task="regression"), None),
}


def hvp_case(name: str, rng: np.random.Generator, n: int = 9) -> dict:
    model, classes = HVP_MODELS[name]
    d = 4 if not isinstance(model, models.LinearRegression) else model.n_features
    X = rng.normal(size=(n, d))
    if classes is None:
        outputs = model.sizes[-1] if isinstance(model, models.MLP) else 1
        y = rng.normal(size=(n, outputs)) if outputs > 1 else rng.normal(size=n)
    else:
        y = rng.integers(0, classes, n)
    params = {k: v + 0.5 * rng.normal(size=np.shape(v)) for k, v in model.init(seed=int(rng.integers(100))).items()}
    v = {k: rng.normal(size=np.shape(p)) for k, p in params.items()}
    return {"model": name, "X": X, "y": y, "params": params, "v": v}


def ours_hvp(case: dict) -> dict:
    model = HVP_MODELS[case["model"]][0]
    return curvature.hvp(model, case["params"], case["X"], case["y"], case["v"])


def torch_hvp(case: dict) -> dict:
    """``torch.autograd.grad(∇L · v, params)``: the double backward."""
    import torch

    model = HVP_MODELS[case["model"]][0]
    params = {k: torch.tensor(np.asarray(p, dtype=float), requires_grad=True) for k, p in case["params"].items()}
    loss = torch_loss(model, params, case["X"], case["y"])
    grads = torch.autograd.grad(loss, list(params.values()), create_graph=True)
    dot = sum(torch.sum(g * torch.tensor(case["v"][k])) for g, k in zip(grads, params))
    hv = torch.autograd.grad(dot, list(params.values()))
    return {k: h.detach().numpy().reshape(np.shape(case["params"][k])) for k, h in zip(params, hv)}


# --------------------------------------------------------------------------- SAM
SAM_MODEL = models.MLP((4, 8, 3))


def sam_case(rng: np.random.Generator, base: str, steps: int = 25) -> dict:
    X = rng.normal(size=(20, 4))
    y = rng.integers(0, 3, 20)
    hyper = {"sgd": {}, "momentum": {"momentum": 0.9}}[base]
    return {"base": base, "X": X, "y": y, "params": SAM_MODEL.init(seed=int(rng.integers(100))),
            "rho": float(rng.uniform(0.01, 0.5)), "lr": float(rng.uniform(0.05, 0.5)), "hyper": hyper,
            "steps": steps}


def ours_sam(case: dict) -> np.ndarray:
    X, y = case["X"], case["y"]

    def grad_fn(p: dict) -> dict:
        return SAM_MODEL.loss_and_grads(p, X, y)[1]

    step = model_rules.sam if case["base"] == "sgd" else model_rules.sharpness_aware(case["base"], case["rho"])
    rho = {"rho": case["rho"]} if case["base"] == "sgd" else {}
    params, state, out = case["params"], {}, []
    for _ in range(case["steps"]):
        params, state = step(params, grad_fn(params), state, grad_fn=grad_fn, lr=case["lr"], **rho, **case["hyper"])
        out.append(_flat(params))
    return np.array(out)


def torch_sam(case: dict) -> np.ndarray:
    """Foret et al. (2021), Algorithm 1, in torch: first step (ascend), second step (base optimizer)."""
    import torch

    tensors = {k: torch.tensor(v, requires_grad=True) for k, v in case["params"].items()}
    base = torch.optim.SGD(list(tensors.values()), lr=case["lr"], **case["hyper"])
    out = []
    for _ in range(case["steps"]):
        base.zero_grad()
        torch_loss(SAM_MODEL, tensors, case["X"], case["y"]).backward()
        with torch.no_grad():
            norm = torch.norm(torch.stack([t.grad.norm(p=2) for t in tensors.values()]), p=2)
            scale = case["rho"] / (norm + 1e-12)
            moved = {}
            for k, t in tensors.items():
                moved[k] = t.grad * scale
                t.add_(moved[k])  # w + e(w)
        base.zero_grad()
        torch_loss(SAM_MODEL, tensors, case["X"], case["y"]).backward()
        with torch.no_grad():
            for k, t in tensors.items():
                t.sub_(moved[k])  # back to w
        base.step()  # the sharpness-aware update, with the gradient taken at w + e(w)
        out.append(_flat({k: t.detach().numpy() for k, t in tensors.items()}))
    return np.array(out)
