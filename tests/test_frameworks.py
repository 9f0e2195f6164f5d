"""The framework table: names and defaults checked against the real torch.optim, the Keras
update formulas written out by hand from the Keras 3 sources, and the kernels' docstrings."""

from __future__ import annotations

import ast
import inspect
import re

import numpy as np
import pytest

from optilab import frameworks, kernels

# Non-default hyperparameters, so a wrong translation cannot hide behind equal defaults.
UNUSUAL = {"lr": 0.03, "momentum": 0.7, "rho": 0.8, "beta1": 0.8, "beta2": 0.95, "eps": 1e-3,
           "weight_decay": 0.05}


def _unusual(rule: str) -> dict:
    ours = frameworks.our_defaults(rule)
    return {k: v for k, v in UNUSUAL.items() if k in ours and (k != "weight_decay" or rule == "adamw")}


def _kernel_steps(rule: str, hyper: dict, grads: list[np.ndarray], p0: np.ndarray) -> np.ndarray:
    p, state = p0, {}
    for g in grads:
        p, state = kernels.RULES[rule](p, g, state, **hyper)
    return p


def _grads(n: int = 6, dim: int = 4) -> list[np.ndarray]:
    rng = np.random.default_rng(7)
    return [rng.normal(size=dim) * 10.0 ** rng.uniform(-2, 1, size=dim) for _ in range(n)]


def test_table_has_one_row_per_reference_rule():
    assert [row.rule for row in frameworks.TABLE] == list(kernels.RULES)


def test_our_defaults_are_read_from_the_rule_signatures():
    assert frameworks.our_defaults("rmsprop")["rho"] == 0.99
    assert frameworks.our_defaults("adam") == {"lr": 1e-3, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8,
                                               "weight_decay": 0.0, "amsgrad": False}


def test_translation_renames_and_packs_betas():
    assert frameworks.to_torch("adam", beta1=0.8, beta2=0.95) == ("Adam", {"betas": (0.8, 0.95)})
    assert frameworks.to_torch("rmsprop", rho=0.9) == ("RMSprop", {"alpha": 0.9})
    assert frameworks.to_keras("adam", lr=0.1, eps=1e-3) == ("Adam", {"learning_rate": 0.1, "epsilon": 1e-3})
    assert frameworks.to_torch("nesterov") == ("SGD", {"momentum": 0.9, "nesterov": True})


def test_unknown_rule_or_hyperparameter_is_named_in_the_error():
    with pytest.raises(KeyError, match="no rule named 'adamux'"):
        frameworks.to_torch("adamux")
    with pytest.raises(TypeError, match=r"sgd has no hyperparameter \['momentum'\]"):
        frameworks.to_torch("sgd", momentum=0.9)


def _import_or_skip(module: str):
    """The package ``module`` (a reference implementation, test-only), or a skip saying why;
    a failure where CI requires the references (OPTILAB_REQUIRE_TORCH)."""
    import importlib
    import os

    try:
        return importlib.import_module(module)
    except ImportError:
        if os.environ.get("OPTILAB_REQUIRE_TORCH"):
            pytest.fail(f"OPTILAB_REQUIRE_TORCH is set but {module} is not installed (see .ci/run)")
        pytest.skip(f"{module} is not installed (a test-only dependency, see .ci/run)")


@pytest.mark.torch
@pytest.mark.parametrize("rule", [row.rule for row in frameworks.TABLE if row.torch is not None])
def test_torch_defaults_in_the_table_match_installed_torch(rule, torch):
    row = next(r for r in frameworks.TABLE if r.rule == rule)
    module = _import_or_skip(frameworks.torch_module(rule))
    signature = inspect.signature(getattr(module, row.torch.cls))
    for name, value in row.torch.defaults.items():
        assert signature.parameters[name].default == value, (row.rule, name)


#: Rules whose PyTorch class does not compute in the parameter's dtype: torch.optim.Muon runs its
#: Newton–Schulz iteration in bfloat16 (compared within a derived tolerance in test_torch_agreement.py).
NOT_IN_FLOAT64 = {"muon"}


@pytest.mark.torch
@pytest.mark.parametrize("rule", [row.rule for row in frameworks.TABLE
                                  if row.torch is not None and row.rule not in NOT_IN_FLOAT64])
def test_torch_class_with_translated_hyperparameters_computes_the_rule(rule, torch):
    from optilab import rules
    from tests.torch_reference.torch_rules import run_optilab, run_torch

    _import_or_skip(frameworks.torch_module(rule))
    hyper = _unusual(rule)
    matrix = rules.get(rule).params == "matrix"
    p0 = np.array([[0.5, -1.0], [2.0, 0.1]]) if matrix else np.array([0.5, -1.0, 2.0, 0.1])
    grads = np.array([g.reshape(p0.shape) for g in _grads()])
    lrs = np.full(len(grads), hyper.get("lr", frameworks.our_defaults(rule)["lr"]))
    hyper = {k: v for k, v in hyper.items() if k != "lr"}
    np.testing.assert_allclose(run_optilab(rule, p0, grads, lrs, hyper), run_torch(rule, p0, grads, lrs, hyper),
                               rtol=1e-12, atol=1e-14)


def _keras_sgd(p, grads, lr, momentum, nesterov):
    """keras.optimizers.SGD.update_step, written out from keras/src/optimizers/sgd.py."""
    velocity = np.zeros_like(p)
    for g in grads:
        velocity = momentum * velocity - lr * g
        p = p + (momentum * velocity - lr * g if nesterov else velocity)
    return p


@pytest.mark.parametrize("rule", ["momentum", "nesterov"])
def test_keras_sutskever_momentum_takes_the_same_steps_for_a_constant_lr(rule):
    row = next(r for r in frameworks.TABLE if r.rule == rule)
    assert row.keras.exact
    hyper = _unusual(rule)
    _, kwargs = frameworks.to_keras(rule, **hyper)
    p0, grads = np.array([0.5, -1.0, 2.0, 0.1]), _grads()
    keras = _keras_sgd(p0, grads, kwargs["learning_rate"], kwargs["momentum"], kwargs.get("nesterov", False))
    np.testing.assert_allclose(keras, _kernel_steps(rule, hyper, grads, p0), rtol=1e-12)


def _keras_adam(p, grads, learning_rate, beta_1, beta_2, epsilon):
    """keras.optimizers.Adam.update_step, written out from keras/src/optimizers/adam.py."""
    m, v = np.zeros_like(p), np.zeros_like(p)
    for t, g in enumerate(grads, start=1):
        alpha = learning_rate * np.sqrt(1 - beta_2**t) / (1 - beta_1**t)
        m = m + (g - m) * (1 - beta_1)
        v = v + (g * g - v) * (1 - beta_2)
        p = p - m * alpha / (np.sqrt(v) + epsilon)
    return p


def test_keras_adam_differs_only_in_where_eps_goes():
    hyper = _unusual("adam")
    _, kwargs = frameworks.to_keras("adam", **hyper)
    p0, grads = np.array([0.5, -1.0, 2.0, 0.1]), _grads(n=1)
    keras = _keras_adam(p0, grads, **kwargs)
    assert not np.allclose(keras, _kernel_steps("adam", hyper, grads, p0), rtol=1e-6)
    # one step (t = 1): Keras's eps on sqrt(v) is eps / sqrt(1 - beta2) on sqrt(v_hat)
    moved = dict(hyper, eps=hyper["eps"] / np.sqrt(1 - hyper["beta2"]))
    np.testing.assert_allclose(keras, _kernel_steps("adam", moved, grads, p0), rtol=1e-12)


def _docstring_calls(rule: str, framework: str) -> tuple[str, dict]:
    """The class and name=value pairs on the kernel docstring's 'PyTorch:' or 'Keras:' line."""
    doc = inspect.getdoc(kernels.RULES[rule])
    prefix = {"PyTorch": re.escape(frameworks.torch_module(rule)) + r"\." if framework == "PyTorch" else "",
              "Keras": r"keras\.optimizers\.", "optax": r"optax\."}[framework]
    call = re.search(prefix + r"(\w+)\(([^`]*)\)``", doc)
    assert call, f"{rule}: no {framework} call in the docstring"
    pairs = re.findall(r"(\w+)=(\([^)]*\)|[^,\s)]+)", call.group(2))
    return call.group(1), {k: ast.literal_eval(v) for k, v in pairs}


@pytest.mark.parametrize("rule", list(kernels.RULES))
def test_table_agrees_with_the_kernel_docstrings(rule):
    row = next(r for r in frameworks.TABLE if r.rule == rule)
    ours = frameworks.our_defaults(rule)
    for framework, spelling, translate in (("PyTorch", row.torch, frameworks.to_torch),
                                           ("Keras", row.keras, frameworks.to_keras),
                                           ("optax", row.optax, frameworks.to_optax)):
        if spelling is None:
            continue
        cls, values = _docstring_calls(rule, framework)
        assert cls == spelling.cls
        _, ours_translated = translate(rule, **ours)
        for name, value in values.items():
            assert value in (spelling.defaults.get(name), ours_translated.get(name)), (framework, name, value)


def test_markdown_has_a_row_per_rule_with_both_calls():
    lines = frameworks.markdown().splitlines()
    assert len(lines) == 2 + len(kernels.RULES)
    assert "`torch.optim.RMSprop(params, lr=0.01, alpha=0.99, eps=1e-08)`" in lines[2 + 4]
    assert "`keras.optimizers.AdamW(" in lines[2 + 6]
