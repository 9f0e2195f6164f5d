"""Parameters in a dtype the rules are not written for are refused, with a message that says what to do.

The contract covers float32 and float64. In float16 Adam's default ε = 1e-8 rounds to 0 and a
small squared gradient underflows to 0, so the reference rule divides zero by zero or a number by
zero. Low precision can still be studied on purpose, with ``allow_low_precision=True``.
"""

from __future__ import annotations

import importlib.util
import warnings

import numpy as np
import pytest

from optilab import kernels, models, problems, training
from optilab.optimizer import Optimizer

UNSUPPORTED = [np.float16, np.int64, np.int32, np.complex128, np.bool_]


def test_the_finding_adam_in_float16_returns_minus_infinity_with_only_numpys_warning():
    """The reason for the check: the plain rule gives -inf in float16, and nothing but NumPy says anything."""
    p, g = np.ones(2, np.float16), np.array([1e-4, 1.0], np.float16)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        new, _ = kernels.adam(p, g, {}, lr=1e-3)
    assert new.dtype == np.float16
    assert np.isneginf(new[0]) and np.isfinite(new[1])  # g² = 1e-8 underflows to 0, ε = 1e-8 is 0 in float16
    assert any(issubclass(w.category, RuntimeWarning) for w in caught)


@pytest.mark.parametrize("dtype", UNSUPPORTED, ids=lambda d: np.dtype(d).name)
def test_optimizer_refuses_a_param_of_an_unsupported_dtype_naming_it(dtype):
    param = np.ones(3, dtype=dtype)
    grad = np.ones(3)
    with pytest.raises(TypeError) as info:
        Optimizer("adam").step({"w": param}, {"w": grad})
    message = str(info.value)
    assert f"param 'w' has dtype {np.dtype(dtype).name}" in message
    assert "float32 and float64" in message
    assert ("allow_low_precision=True" in message) == (np.dtype(dtype).name == "float16")


def test_optimizer_refuses_a_float16_gradient_too():
    with pytest.raises(TypeError, match=r"grad 'w' has dtype float16.*allow_low_precision=True"):
        Optimizer("sgd").step({"w": np.ones(2)}, {"w": np.ones(2, np.float16)})


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
def test_optimizer_keeps_float32_and_float64(dtype):
    new = Optimizer("adam", lr=0.1).step(np.ones(2, dtype), np.ones(2, dtype))
    assert new.dtype == dtype and np.allclose(new, 0.9)


def test_opting_in_runs_float16_and_matches_float64_to_float16_rounding():
    """The opt-in path works: with an ε float16 can represent, the step agrees with float64 to its precision."""
    p64, g64 = np.array([1.0, -2.0, 0.5]), np.array([0.3, -0.02, 4.0])
    opt16 = Optimizer("adam", lr=0.01, eps=1e-3, allow_low_precision=True)
    opt64 = Optimizer("adam", lr=0.01, eps=1e-3)
    p16 = p64.astype(np.float16)
    for _ in range(5):
        p16 = opt16.step(p16, g64.astype(np.float16))
        p64 = opt64.step(p64, g64)
    assert p16.dtype == np.float16 and np.all(np.isfinite(p16))
    np.testing.assert_allclose(p16.astype(float), p64, rtol=0, atol=4e-3)  # float16 spacing near 2 is 2e-3


def test_opting_in_still_refuses_integers_and_complex():
    for dtype in (np.int64, np.complex128):
        with pytest.raises(TypeError, match="float32 and float64"):
            Optimizer("sgd", allow_low_precision=True).step(np.ones(2, dtype), np.ones(2))


def test_bfloat16_is_refused_by_default_and_accepted_opted_in():
    if importlib.util.find_spec("ml_dtypes") is None:
        pytest.skip("ml_dtypes is not installed, so there is no bfloat16 dtype to test with")
    import ml_dtypes

    p = np.ones(2, dtype=ml_dtypes.bfloat16)
    with pytest.raises(TypeError, match=r"param #0 has dtype bfloat16.*allow_low_precision=True"):
        Optimizer("sgd", lr=0.5).step(p, np.ones(2))
    new = Optimizer("sgd", lr=0.5, allow_low_precision=True).step(p, np.ones(2))
    assert new.dtype == p.dtype and np.allclose(new.astype(float), 0.5)


def _cancer_split(dtype):
    from optilab import data

    X, y = data.load_breast_cancer()
    split = data.train_test_split(X, y, seed=0)
    X_train, X_test = data.standardize(split.X_train, split.X_test)
    return X_train.astype(dtype), split.y_train, X_test.astype(dtype), split.y_test


def test_training_refuses_float16_features_by_default():
    with pytest.raises(TypeError, match=r"X_train has dtype float16.*float32 and float64.*allow_low_precision=True"):
        training.train("adam", models.LogisticRegression(30), _cancer_split(np.float16), epochs=1, lr=0.01)


def test_training_opted_in_trains_in_float16():
    history = training.train("adam", models.LogisticRegression(30), _cancer_split(np.float16), epochs=3,
                             lr=0.01, eps=1e-3, allow_low_precision=True)
    reference = training.train("adam", models.LogisticRegression(30), _cancer_split(np.float64), epochs=3,
                               lr=0.01, eps=1e-3)
    assert not history.diverged
    assert history.train_loss[-1] < 0.5 * history.train_loss[0]
    assert abs(history.train_loss[-1] - reference.train_loss[-1]) < 0.02


def test_run_refuses_a_float16_start_and_keeps_it_when_opted_in():
    problem = problems.quadratic((1.0, 10.0))
    x0 = np.array([1.0, 1.0], np.float16)
    with pytest.raises(TypeError, match=r"x0 has dtype float16.*allow_low_precision=True"):
        training.run("sgd", problem, steps=5, lr=0.05, x0=x0)
    trace = training.run("sgd", problem, steps=50, lr=0.05, x0=x0, allow_low_precision=True)
    assert not trace.diverged and trace.losses[-1] < 1e-2 * trace.losses[0]


def test_run_still_takes_an_integer_start_as_a_point_in_float64():
    trace = training.run("sgd", problems.quadratic((1.0, 10.0)), steps=3, lr=0.05, x0=np.array([1, 1]))
    assert trace.params.dtype == np.float64 and trace.params[0].tolist() == [1.0, 1.0]


def test_run_refuses_a_complex_start_even_opted_in():
    with pytest.raises(TypeError, match="x0 has dtype complex128"):
        training.run("sgd", problems.quadratic((1.0, 10.0)), steps=3, lr=0.05, x0=np.ones(2, complex),
                     allow_low_precision=True)
