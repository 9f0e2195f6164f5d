"""optilab.mixed_precision: the 16-bit emulation, the loss scale, master weights and the memory per parameter.

The formats' facts are checked against IEEE 754's and bfloat16's definitions, the emulated passes against
the MLP's own float64 backward pass, the training loop against optilab's ordinary training in float64, and
the loss scale against the rules of PyTorch's GradScaler (against GradScaler itself where torch is installed).
"""

from __future__ import annotations

import numpy as np
import pytest

from optilab import data, models, training
from optilab import mixed_precision as mp


@pytest.fixture(scope="module")
def cancer():
    X, y = data.load_breast_cancer()
    split = data.train_test_split(X, y, test_fraction=0.25, seed=0)
    X_train, X_test = data.standardize(split.X_train, split.X_test)
    return X_train, split.y_train, X_test, split.y_test


# -- the formats -----------------------------------------------------------------------------------------

def test_float16_is_ieee_half_precision():
    f = mp.describe("fp16")
    assert (f.bits, f.exponent_bits, f.mantissa_bits) == (16, 5, 10)
    assert (f.eps, f.smallest_normal, f.smallest_subnormal, f.largest) == (2.0 ** -10, 2.0 ** -14, 2.0 ** -24, 65504.0)


def test_bfloat16_has_float32s_exponent_and_a_7_bit_mantissa():
    f = mp.describe("bf16")
    assert (f.bits, f.exponent_bits, f.mantissa_bits) == (16, 8, 7)
    assert (f.eps, f.smallest_normal) == (2.0 ** -7, 2.0 ** -126)
    assert f.largest == (2 - 2.0 ** -7) * 2.0 ** 127


def test_an_unknown_format_is_refused_with_the_choices():
    with pytest.raises(ValueError, match=r"unknown format 'float8'.*float16.*bfloat16"):
        mp.dtype_of("float8")


@pytest.mark.parametrize("dtype", [np.float16, np.float32])
def test_spacing_agrees_with_numpys_spacing(dtype):
    x = np.array([1e-7, 3e-5, 0.1, 1.0, 1.5, 3.0, 1000.0, 6e4 if dtype == np.float16 else 1e30])
    np.testing.assert_array_equal(mp.spacing(x, dtype), np.spacing(x.astype(dtype)).astype(np.float64))


def test_bfloat16_spacing_is_2_to_the_exponent_minus_7():
    for k in (-20, -1, 0, 3, 100):
        assert mp.spacing(1.5 * 2.0 ** k, "bfloat16") == 2.0 ** (k - 7)


def test_an_update_below_half_the_spacing_is_lost():
    assert mp.update_is_lost([1.0, 1.0, 1.0], [1e-4, 1e-3, 0.0], "float16").tolist() == [True, False, False]
    assert mp.update_is_lost([1.0, 1.0], [1e-3, 1e-2], "bfloat16").tolist() == [True, False]
    assert not mp.update_is_lost(1.0, 1e-4, "float32")


# -- the emulated passes ----------------------------------------------------------------------------------

@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_in_float64_the_passes_are_the_mlps_own(activation, cancer):
    mlp = models.MLP((30, 8, 6, 3), activation=activation)
    X, y = cancer[0][:40], np.arange(40) % 3
    params = mlp.init(3)
    loss, grads = mlp.loss_and_grads(params, X, y)
    loss64, grads64 = mp.loss_and_grads(mlp, params, X, y, dtype="float64")
    assert loss64 == pytest.approx(loss, rel=1e-12)
    for name in params:
        np.testing.assert_allclose(grads64[name], grads[name], rtol=1e-10, atol=1e-15)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_low_precision_gradients_are_stored_in_16_bits_and_close_to_float64(dtype, cancer):
    mlp = models.MLP((30, 16, 2))
    X, y = cancer[0][:32], cancer[1][:32]
    params = mlp.init(0)
    _, exact = mlp.loss_and_grads(params, X, y)
    _, low = mp.loss_and_grads(mlp, params, X, y, dtype=dtype, allow_low_precision=True)
    tolerance = 20 * mp.describe(dtype).eps
    for name in params:
        assert low[name].dtype == mp.dtype_of(dtype)
        error = np.linalg.norm(low[name].astype(float) - exact[name]) / np.linalg.norm(exact[name])
        assert 0 < error < tolerance, (name, error)


def test_a_loss_scale_lifts_gradients_that_float16_would_round_to_zero(cancer):
    """A classifier sure of every example (output bias margin 14, labels all 1) has gradients near 1e-8 at the
    output, below float16's smallest positive number halved: without a scale they vanish, with 2^16 they do not."""
    mlp = models.MLP((30, 16, 2))
    X, y = cancer[0][:32], np.ones(32, dtype=int)
    params = mlp.init(0)
    params["W2"] = params["W2"] * 0.05
    params["b2"] = np.array([0.0, 14.0])
    _, exact = mp.loss_and_grads(mlp, params, X, y, dtype="float64")
    _, plain = mp.loss_and_grads(mlp, params, X, y, dtype="float16", allow_low_precision=True)
    _, scaled = mp.loss_and_grads(mlp, params, X, y, dtype="float16", loss_scale=2.0 ** 16, allow_low_precision=True)
    for name in ("W1", "W2"):
        assert np.all(exact[name] != 0)
        assert np.all(plain[name] == 0), name
        assert np.mean(scaled[name] != 0) > 0.95, name
        unscaled = scaled[name].astype(float) / 2.0 ** 16
        assert np.linalg.norm(unscaled - exact[name]) < 0.1 * np.linalg.norm(exact[name]), name  # unscaled: 100 % off


def test_a_scale_too_large_overflows_to_inf_or_nan(cancer):
    mlp = models.MLP((30, 16, 2))
    _, grads = mp.loss_and_grads(mlp, mlp.init(0), cancer[0][:32], cancer[1][:32], dtype="float16",
                                 loss_scale=2.0 ** 30, allow_low_precision=True)
    assert not all(np.isfinite(g.astype(float)).all() for g in grads.values())


def test_low_precision_passes_are_refused_without_opting_in(cancer):
    mlp = models.MLP((30, 16, 2))
    with pytest.raises(TypeError, match=r"compute dtype has dtype float16.*allow_low_precision=True"):
        mp.loss_and_grads(mlp, mlp.init(0), cancer[0][:4], cancer[1][:4], dtype="float16")


def test_only_softmax_classifiers_are_emulated():
    with pytest.raises(ValueError, match="softmax output"):
        mp.loss_and_grads(models.MLP((2, 3, 1), task="regression"), {}, np.ones((1, 2)), np.ones(1), dtype="float64")


# -- the loss scale -----------------------------------------------------------------------------------------

def test_a_dynamic_scale_halves_on_overflow_and_doubles_after_its_interval():
    scale = mp.LossScale(2.0 ** 16, growth_interval=3)
    seen = []
    for finite in (True, True, True, True, False, True, True, True):
        seen.append(scale.scale)
        scale = scale.update(finite)
    assert seen == [2.0 ** 16] * 3 + [2.0 ** 17, 2.0 ** 17, 2.0 ** 16, 2.0 ** 16, 2.0 ** 16]
    assert scale.scale == 2.0 ** 17


def test_a_static_scale_never_changes():
    scale = mp.LossScale(128.0, dynamic=False, growth_interval=1)
    assert scale.update(False).update(True).update(True).scale == 128.0


@pytest.mark.parametrize("kwargs, message", [({"scale": 0.0}, "positive"), ({"backoff_factor": 2.0}, "between 0 and 1"),
                                             ({"growth_factor": 0.5}, "above 1"), ({"growth_interval": 0}, ">= 1")])
def test_a_loss_scale_with_bad_settings_is_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        mp.LossScale(**kwargs)


@pytest.mark.torch
def test_the_dynamic_scale_follows_torchs_gradscaler(torch):
    sequence = [True] * 5 + [False, True, False, False] + [True] * 7
    scaler = torch.amp.GradScaler("cpu", init_scale=1024.0, growth_factor=2.0, backoff_factor=0.5, growth_interval=3)
    weight = torch.nn.Parameter(torch.ones(1, dtype=torch.float32))
    optimizer = torch.optim.SGD([weight], lr=0.0)
    ours = mp.LossScale(1024.0, growth_interval=3)
    for finite in sequence:
        optimizer.zero_grad()
        scaler.scale((weight * (1.0 if finite else float("inf"))).sum()).backward()
        scaler.step(optimizer)
        scaler.update()
        ours = ours.update(finite)
        assert ours.scale == scaler.get_scale()


# -- training ----------------------------------------------------------------------------------------------

def test_training_in_float64_is_optilabs_ordinary_training(cancer):
    mlp = models.MLP((30, 8, 2))
    ours = mp.train("adam", mlp, cancer, compute="float64", epochs=3, batch_size=32, lr=1e-2, seed=4)
    reference = training.train("adam", mlp, cancer, epochs=3, batch_size=32, lr=1e-2, seed=4)
    np.testing.assert_allclose(ours.val_loss, reference.test_loss, rtol=1e-9)


def test_pure_float16_adam_reaches_inf_at_its_first_step(cancer):
    run = mp.train("adam", models.MLP((30, 16, 2)), cancer, compute="float16", epochs=2, lr=1e-3,
                   allow_low_precision=True)
    assert run.first_nonfinite == 1 and run.final_val_loss == np.inf
    assert np.isnan(run.val_loss[1:]).all() and np.isfinite(run.val_loss[0])


def test_master_weights_are_float32_and_training_with_them_goes_on(cancer):
    run = mp.train("adam", models.MLP((30, 16, 2)), cancer, compute="float16", master="float32",
                   loss_scale=mp.LossScale(), epochs=2, lr=1e-3, allow_low_precision=True)
    assert all(p.dtype == np.float32 for p in run.params.values())
    assert run.first_nonfinite is None and run.val_loss[-1] < run.val_loss[0]


def test_a_step_whose_gradients_overflow_is_skipped_and_changes_nothing(cancer):
    mlp = models.MLP((30, 16, 2))
    run = mp.train("sgd", mlp, cancer, compute="float16", master="float32", loss_scale=2.0 ** 40, epochs=1,
                   lr=0.1, allow_low_precision=True)
    steps = int(np.ceil(len(cancer[0]) / 32))
    assert run.skipped.tolist() == list(range(1, steps + 1))
    for name, p in mlp.init(0).items():
        np.testing.assert_array_equal(run.params[name], p.astype(np.float32))


def test_training_in_float16_is_refused_without_opting_in(cancer):
    with pytest.raises(TypeError, match="allow_low_precision=True"):
        mp.train("sgd", models.MLP((30, 4, 2)), cancer, compute="float16", epochs=1)
    with pytest.raises(TypeError, match="loss_scale must be a LossScale"):
        mp.train("sgd", models.MLP((30, 4, 2)), cancer, loss_scale="dynamic", epochs=1)


# -- memory ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("rule, kwargs, per_parameter", [
    ("adam", {}, {"weights": 4, "gradients": 4, "master weights": 0, "optimizer state": 8}),
    ("adam", {"compute": "float16", "master": "float32"},
     {"weights": 2, "gradients": 2, "master weights": 4, "optimizer state": 8}),
    ("adam", {"compute": "bfloat16"}, {"weights": 2, "gradients": 2, "master weights": 0, "optimizer state": 4}),
    ("sgd", {}, {"weights": 4, "gradients": 4, "master weights": 0, "optimizer state": 0}),
    ("momentum", {"compute": "bfloat16", "master": "float32"},
     {"weights": 2, "gradients": 2, "master weights": 4, "optimizer state": 4}),
])
def test_bytes_per_parameter_are_the_formats_widths(rule, kwargs, per_parameter):
    mlp = models.MLP((7, 5, 3))
    sizes = mp.training_bytes(rule, mlp, allow_low_precision=True, **kwargs)
    assert {k: v / mlp.n_params for k, v in sizes.items()} == per_parameter
