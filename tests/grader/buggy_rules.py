"""Buggy update rules, written the way students write them, one known mistake each (or two).

Each is registered with the mistake ids the grader must name. They are written from the
formulas and from the mistakes seen in courses, not from the grader's mutants.
"""

import numpy as np

from .cases import buggy

# ----------------------------------------------------------------------------- sgd


@buggy("sgd", "wrong-sign")
def sgd_ascends(param, grad, state, *, lr=1e-2):
    return param + lr * grad, {}


@buggy("sgd", "lr-ignored")
def sgd_fixed_lr(param, grad, state, *, lr=1e-2):
    step_size = 0.01
    return param - step_size * grad, {}


@buggy("sgd", "mutates-param")
def sgd_in_place(param, grad, state, *, lr=1e-2):
    param -= lr * grad
    return param, {}


@buggy("sgd", "bad-return")
def sgd_no_state(param, grad, state, *, lr=1e-2):
    return param - lr * grad


@buggy("sgd", "dtype")
def sgd_float64_lr(param, grad, state, *, lr=1e-2):
    return param - np.float64(lr) * grad.astype(np.float64), {}


# ----------------------------------------------------------------------------- momentum


@buggy("momentum", "momentum-average")
def momentum_ema(param, grad, state, *, lr=1e-2, momentum=0.9):
    v = momentum * state.get("velocity", np.zeros_like(param)) + (1 - momentum) * grad
    return param - lr * v, {"velocity": v}


@buggy("momentum", "momentum-sutskever")
def momentum_sutskever(param, grad, state, *, lr=1e-2, momentum=0.9):
    v = momentum * state.get("velocity", 0.0) - lr * grad
    return param + v, {"velocity": v}


@buggy("momentum", "momentum-sutskever")
def momentum_lr_in_buffer(param, grad, state, *, lr=1e-2, momentum=0.9):
    velocity = state.get("velocity", np.zeros_like(param))
    velocity = momentum * velocity + lr * grad
    return param - velocity, {"velocity": velocity}


@buggy("momentum", "stale-velocity")
def momentum_steps_then_updates(param, grad, state, *, lr=1e-2, momentum=0.9):
    v = state.get("velocity", np.zeros_like(param))
    new_param = param - lr * v
    v = momentum * v + grad
    return new_param, {"velocity": v}


@buggy("momentum", "momentum-is-nesterov")
def momentum_looks_ahead(param, grad, state, *, lr=1e-2, momentum=0.9):
    v = momentum * state.get("velocity", 0.0) + grad
    return param - lr * (grad + momentum * v), {"velocity": v}


@buggy("momentum", "state-not-carried")
def momentum_forgets(param, grad, state, *, lr=1e-2, momentum=0.9):
    v = momentum * np.zeros_like(param) + grad
    return param - lr * v, {"velocity": v}


@buggy("momentum", "ignores-momentum")
def momentum_hard_coded(param, grad, state, *, lr=1e-2, momentum=0.9):
    mu = 0.9
    v = mu * state.get("velocity", 0.0) + grad
    return param - lr * v, {"velocity": v}


@buggy("momentum", "mutates-state")
def momentum_updates_state_in_place(param, grad, state, *, lr=1e-2, momentum=0.9):
    if "velocity" not in state:
        state["velocity"] = np.zeros_like(param)
    state["velocity"] = momentum * state["velocity"] + grad
    return param - lr * state["velocity"], state


@buggy("momentum", "missing-state-key")
def momentum_key_v(param, grad, state, *, lr=1e-2, momentum=0.9):
    v = momentum * state.get("v", 0.0) + grad
    return param - lr * v, {"v": v}


@buggy("momentum", "shares-memory")
def momentum_first_velocity_is_grad(param, grad, state, *, lr=1e-2, momentum=0.9):
    if "velocity" in state:
        v = momentum * state["velocity"] + grad
    else:
        v = grad
    return param - lr * v, {"velocity": v}


# ----------------------------------------------------------------------------- nesterov


@buggy("nesterov", "nesterov-is-plain")
def nesterov_plain(param, grad, state, *, lr=1e-2, momentum=0.9):
    v = momentum * state.get("velocity", 0.0) + grad
    return param - lr * v, {"velocity": v}


@buggy("nesterov", "nesterov-is-plain")
def nesterov_old_velocity(param, grad, state, *, lr=1e-2, momentum=0.9):
    v_prev = state.get("velocity", np.zeros_like(param))
    new_param = param - lr * (grad + momentum * v_prev)
    return new_param, {"velocity": momentum * v_prev + grad}


@buggy("nesterov", "momentum-sutskever")
def nesterov_sutskever(param, grad, state, *, lr=1e-2, momentum=0.9):
    v = momentum * state.get("velocity", 0.0) - lr * grad
    return param + momentum * v - lr * grad, {"velocity": v}


@buggy("nesterov", "momentum-average")
def nesterov_ema(param, grad, state, *, lr=1e-2, momentum=0.9):
    v = momentum * state.get("velocity", 0.0) + (1 - momentum) * grad
    return param - lr * (grad + momentum * v), {"velocity": v}


@buggy("nesterov", "wrong-sign")
def nesterov_ascends(param, grad, state, *, lr=1e-2, momentum=0.9):
    v = momentum * state.get("velocity", 0.0) + grad
    return param + lr * (grad + momentum * v), {"velocity": v}


@buggy("nesterov", "mutates-grad")
def nesterov_reuses_grad(param, grad, state, *, lr=1e-2, momentum=0.9):
    v = momentum * state.get("velocity", 0.0) + grad
    g = grad
    g += momentum * v
    return param - lr * g, {"velocity": v}


# ----------------------------------------------------------------------------- adagrad


@buggy("adagrad", "average-not-sum")
def adagrad_average(param, grad, state, *, lr=1e-2, eps=1e-10):
    s = 0.9 * state.get("sum_sq", 0.0) + 0.1 * grad**2
    return param - lr * grad / (np.sqrt(s) + eps), {"sum_sq": s}


@buggy("adagrad", "eps-inside-sqrt")
def adagrad_eps_inside(param, grad, state, *, lr=1e-2, eps=1e-10):
    s = state.get("sum_sq", 0.0) + grad * grad
    return param - lr * grad / np.sqrt(s + eps), {"sum_sq": s}


@buggy("adagrad", "abs-for-square")
def adagrad_abs(param, grad, state, *, lr=1e-2, eps=1e-10):
    s = state.get("sum_sq", 0.0) + np.abs(grad)
    return param - lr * grad / (np.sqrt(s) + eps), {"sum_sq": s}


@buggy("adagrad", "stale-average")
def adagrad_divides_then_adds(param, grad, state, *, lr=1e-2, eps=1e-10):
    s = state.get("sum_sq", np.zeros_like(param))
    new_param = param - lr * grad / (np.sqrt(s) + eps)
    return new_param, {"sum_sq": s + grad**2}


@buggy("adagrad", "state-not-carried")
def adagrad_forgets(param, grad, state, *, lr=1e-2, eps=1e-10):
    s = np.zeros_like(param) + grad**2
    return param - lr * grad / (np.sqrt(s) + eps), {"sum_sq": s}


@buggy("adagrad", "dtype")
def adagrad_float64_zeros(param, grad, state, *, lr=1e-2, eps=1e-10):
    s = state.get("sum_sq", np.zeros(param.shape)) + grad**2
    return (param - lr * grad / (np.sqrt(s) + eps)).astype(param.dtype), {"sum_sq": s}


# ----------------------------------------------------------------------------- rmsprop


@buggy("rmsprop", "sum-not-average")
def rmsprop_sum(param, grad, state, *, lr=1e-2, rho=0.99, eps=1e-8):
    s = state.get("sq_avg", 0.0) + grad**2
    return param - lr * grad / (np.sqrt(s) + eps), {"sq_avg": s}


@buggy("rmsprop", "rho-swapped")
def rmsprop_rho_swapped(param, grad, state, *, lr=1e-2, rho=0.99, eps=1e-8):
    s = (1 - rho) * state.get("sq_avg", 0.0) + rho * grad**2
    return param - lr * grad / (np.sqrt(s) + eps), {"sq_avg": s}


@buggy("rmsprop", "missing-one-minus")
def rmsprop_no_one_minus(param, grad, state, *, lr=1e-2, rho=0.99, eps=1e-8):
    s = rho * state.get("sq_avg", 0.0) + grad**2
    return param - lr * grad / (np.sqrt(s) + eps), {"sq_avg": s}


@buggy("rmsprop", "eps-inside-sqrt")
def rmsprop_eps_inside(param, grad, state, *, lr=1e-2, rho=0.99, eps=1e-8):
    s = rho * state.get("sq_avg", 0.0) + (1 - rho) * grad**2
    return param - lr * grad / np.sqrt(s + eps), {"sq_avg": s}


@buggy("rmsprop", "g-for-square")
def rmsprop_forgot_square(param, grad, state, *, lr=1e-2, rho=0.99, eps=1e-8):
    s = rho * state.get("sq_avg", 0.0) + (1 - rho) * grad
    return param - lr * grad / (np.sqrt(s) + eps), {"sq_avg": s}


@buggy("rmsprop", "stale-average")
def rmsprop_old_average(param, grad, state, *, lr=1e-2, rho=0.99, eps=1e-8):
    old = state.get("sq_avg", np.zeros_like(param))
    new_param = param - lr * grad / (np.sqrt(old) + eps)
    return new_param, {"sq_avg": rho * old + (1 - rho) * grad**2}


@buggy("rmsprop", "ignores-rho")
def rmsprop_keras_rho(param, grad, state, *, lr=1e-2, rho=0.99, eps=1e-8):
    decay = 0.99
    s = decay * state.get("sq_avg", 0.0) + (1 - decay) * grad**2
    return param - lr * grad / (np.sqrt(s) + eps), {"sq_avg": s}


@buggy("rmsprop", "mutates-state")
def rmsprop_in_place_average(param, grad, state, *, lr=1e-2, rho=0.99, eps=1e-8):
    s = state.get("sq_avg")
    if s is None:
        s = np.zeros_like(param)
    s *= rho
    s += (1 - rho) * grad**2
    return param - lr * grad / (np.sqrt(s) + eps), {"sq_avg": s}


# ----------------------------------------------------------------------------- adam


def _moments(grad, state, beta1, beta2):
    m = beta1 * state.get("m", 0.0) + (1 - beta1) * grad
    v = beta2 * state.get("v", 0.0) + (1 - beta2) * grad**2
    return m, v


@buggy("adam", "no-bias-correction")
def adam_no_correction(param, grad, state, *, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    t = state.get("t", 0) + 1
    m, v = _moments(grad, state, beta1, beta2)
    return param - lr * m / (np.sqrt(v) + eps), {"t": t, "m": m, "v": v}


@buggy("adam", "bias-correction-m-only")
def adam_corrects_m_only(param, grad, state, *, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    t = state.get("t", 0) + 1
    m, v = _moments(grad, state, beta1, beta2)
    m_hat = m / (1 - beta1**t)
    return param - lr * m_hat / (np.sqrt(v) + eps), {"t": t, "m": m, "v": v}


@buggy("adam", "bias-correction-v-only")
def adam_corrects_v_only(param, grad, state, *, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    t = state.get("t", 0) + 1
    m, v = _moments(grad, state, beta1, beta2)
    v_hat = v / (1 - beta2**t)
    return param - lr * m / (np.sqrt(v_hat) + eps), {"t": t, "m": m, "v": v}


@buggy("adam", "eps-inside-sqrt")
def adam_eps_inside(param, grad, state, *, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    t = state.get("t", 0) + 1
    m, v = _moments(grad, state, beta1, beta2)
    m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)
    return param - lr * m_hat / np.sqrt(v_hat + eps), {"t": t, "m": m, "v": v}


@buggy("adam", "eps-hat", "dtype")  # np.sqrt of a Python float is a float64: float32 promotes
def adam_keras(param, grad, state, *, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    t = state.get("t", 0) + 1
    m, v = _moments(grad, state, beta1, beta2)
    lr_t = lr * np.sqrt(1 - beta2**t) / (1 - beta1**t)
    return param - lr_t * m / (np.sqrt(v) + eps), {"t": t, "m": m, "v": v}


@buggy("adam", "t-after-use")
def adam_increments_after(param, grad, state, *, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    t = state.get("t", 0)
    m, v = _moments(grad, state, beta1, beta2)
    m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)
    new_param = param - lr * m_hat / (np.sqrt(v_hat) + eps)
    t += 1
    return new_param, {"t": t, "m": m, "v": v}


@buggy("adam", "t-off-by-one")
def adam_counts_from_one(param, grad, state, *, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    t = state.get("t", 1)
    m, v = _moments(grad, state, beta1, beta2)
    m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)
    return param - lr * m_hat / (np.sqrt(v_hat) + eps), {"t": t + 1, "m": m, "v": v}


@buggy("adam", "t-not-advancing")
def adam_forgets_t(param, grad, state, *, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    t = state.get("t", 0)
    m, v = _moments(grad, state, beta1, beta2)
    m_hat, v_hat = m / (1 - beta1 ** (t + 1)), v / (1 - beta2 ** (t + 1))
    return param - lr * m_hat / (np.sqrt(v_hat) + eps), {"t": t, "m": m, "v": v}


@buggy("adam", "betas-swapped")
def adam_betas_swapped(param, grad, state, *, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    t = state.get("t", 0) + 1
    m, v = _moments(grad, state, beta2, beta1)
    m_hat, v_hat = m / (1 - beta2**t), v / (1 - beta1**t)
    return param - lr * m_hat / (np.sqrt(v_hat) + eps), {"t": t, "m": m, "v": v}


@buggy("adam", "abs-for-square")
def adam_abs(param, grad, state, *, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    t = state.get("t", 0) + 1
    m = beta1 * state.get("m", 0.0) + (1 - beta1) * grad
    v = beta2 * state.get("v", 0.0) + (1 - beta2) * abs(grad)
    m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)
    return param - lr * m_hat / (np.sqrt(v_hat) + eps), {"t": t, "m": m, "v": v}


@buggy("adam", "stale-m")
def adam_old_m(param, grad, state, *, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    t = state.get("t", 0) + 1
    m_old = state.get("m", np.zeros_like(param))
    m, v = _moments(grad, state, beta1, beta2)
    m_hat, v_hat = m_old / (1 - beta1**t), v / (1 - beta2**t)
    return param - lr * m_hat / (np.sqrt(v_hat) + eps), {"t": t, "m": m, "v": v}


@buggy("adam", "sum-not-average")
def adam_adagrad_v(param, grad, state, *, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    t = state.get("t", 0) + 1
    m = beta1 * state.get("m", 0.0) + (1 - beta1) * grad
    v = state.get("v", 0.0) + grad**2
    m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)
    return param - lr * m_hat / (np.sqrt(v_hat) + eps), {"t": t, "m": m, "v": v}


@buggy("adam", "ignores-eps")
def adam_fixed_eps(param, grad, state, *, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    t = state.get("t", 0) + 1
    m, v = _moments(grad, state, beta1, beta2)
    m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)
    return param - lr * m_hat / (np.sqrt(v_hat) + 1e-8), {"t": t, "m": m, "v": v}


@buggy("adam", "state-not-carried")
def adam_fresh_state(param, grad, state, *, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    m, v = _moments(grad, {}, beta1, beta2)
    m_hat, v_hat = m / (1 - beta1), v / (1 - beta2)
    return param - lr * m_hat / (np.sqrt(v_hat) + eps), {"t": state.get("t", 0) + 1, "m": m, "v": v}


@buggy("adam", "lr-ignored")
def adam_default_lr(param, grad, state, *, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    t = state.get("t", 0) + 1
    m, v = _moments(grad, state, beta1, beta2)
    m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)
    return param - 1e-3 * m_hat / (np.sqrt(v_hat) + eps), {"t": t, "m": m, "v": v}


@buggy("adam", "no-bias-correction", "eps-inside-sqrt")
def adam_two_mistakes(param, grad, state, *, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    m, v = _moments(grad, state, beta1, beta2)
    return param - lr * m / np.sqrt(v + eps), {"t": state.get("t", 0) + 1, "m": m, "v": v}


@buggy("adam", "mutates-state")
def adam_in_place_moments(param, grad, state, *, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    if not state:
        state = {"t": 0, "m": np.zeros_like(param), "v": np.zeros_like(param)}
    m, v = state["m"], state["v"]
    m *= beta1
    m += (1 - beta1) * grad
    v *= beta2
    v += (1 - beta2) * grad**2
    t = state["t"] + 1
    m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)
    return param - lr * m_hat / (np.sqrt(v_hat) + eps), {"t": t, "m": m, "v": v}


@buggy("adam", "dtype")
def adam_float64_state(param, grad, state, *, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    t = state.get("t", 0) + 1
    g = grad.astype(np.float64)
    m = beta1 * state.get("m", 0.0) + (1 - beta1) * g
    v = beta2 * state.get("v", 0.0) + (1 - beta2) * g**2
    m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)
    new = param - lr * m_hat / (np.sqrt(v_hat) + eps)
    return new.astype(param.dtype), {"t": t, "m": m, "v": v}


# ----------------------------------------------------------------------------- adamw


def _adam_step(param, grad, state, lr, beta1, beta2, eps):
    t = state.get("t", 0) + 1
    m, v = _moments(grad, state, beta1, beta2)
    m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)
    return param - lr * m_hat / (np.sqrt(v_hat) + eps), {"t": t, "m": m, "v": v}


@buggy("adamw", "l2-not-decoupled")
def adamw_l2(param, grad, state, *, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=1e-2):
    return _adam_step(param, grad + weight_decay * param, state, lr, beta1, beta2, eps)


@buggy("adamw", "decay-not-lr-scaled")
def adamw_unscaled(param, grad, state, *, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=1e-2):
    return _adam_step(param * (1 - weight_decay), grad, state, lr, beta1, beta2, eps)


@buggy("adamw", "decay-after-step")
def adamw_decays_last(param, grad, state, *, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=1e-2):
    new_param, new_state = _adam_step(param, grad, state, lr, beta1, beta2, eps)
    return new_param - lr * weight_decay * new_param, new_state


@buggy("adamw", "no-weight-decay")
def adamw_is_adam(param, grad, state, *, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=1e-2):
    return _adam_step(param, grad, state, lr, beta1, beta2, eps)


@buggy("adamw", "ignores-weight-decay")
def adamw_fixed_decay(param, grad, state, *, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=1e-2):
    return _adam_step(param - lr * 0.01 * param, grad, state, lr, beta1, beta2, eps)


@buggy("adamw", "eps-hat", "dtype")
def adamw_keras_eps(param, grad, state, *, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=1e-2):
    t = state.get("t", 0) + 1
    m, v = _moments(grad, state, beta1, beta2)
    p = param - lr * weight_decay * param
    step_size = lr * np.sqrt(1 - beta2**t) / (1 - beta1**t)
    return p - step_size * m / (np.sqrt(v) + eps), {"t": t, "m": m, "v": v}


@buggy("adamw", "l2-not-decoupled", "no-bias-correction")
def adamw_l2_uncorrected(param, grad, state, *, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=1e-2):
    g = grad + weight_decay * param
    m, v = _moments(g, state, beta1, beta2)
    return param - lr * m / (np.sqrt(v) + eps), {"t": state.get("t", 0) + 1, "m": m, "v": v}


@buggy("adamw", "wrong-sign")
def adamw_ascends(param, grad, state, *, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=1e-2):
    t = state.get("t", 0) + 1
    m, v = _moments(grad, state, beta1, beta2)
    m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)
    decayed = param - lr * weight_decay * param
    return decayed + lr * m_hat / (np.sqrt(v_hat) + eps), {"t": t, "m": m, "v": v}


# ----------------------------------------------------------------------------- lion


@buggy("lion", "wrong-sign")
def lion_ascends(param, grad, state, *, lr=1e-4, beta1=0.9, beta2=0.99, weight_decay=0.0):
    m = state.get("m", np.zeros_like(param))
    direction = np.sign(beta1 * m + (1 - beta1) * grad)
    new_param = param - lr * weight_decay * param + lr * direction
    return new_param, {"m": beta2 * m + (1 - beta2) * grad}


@buggy("lion", "lion-no-sign")
def lion_no_sign(param, grad, state, *, lr=1e-4, beta1=0.9, beta2=0.99, weight_decay=0.0):
    m = state.get("m", np.zeros_like(param))
    direction = beta1 * m + (1 - beta1) * grad
    new_param = param - lr * weight_decay * param - lr * direction
    return new_param, {"m": beta2 * m + (1 - beta2) * grad}


@buggy("lion", "lion-betas-swapped")
def lion_betas_swapped(param, grad, state, *, lr=1e-4, beta1=0.9, beta2=0.99, weight_decay=0.0):
    m = state.get("m", np.zeros_like(param))
    direction = np.sign(beta2 * m + (1 - beta2) * grad)
    new_param = param - lr * weight_decay * param - lr * direction
    return new_param, {"m": beta1 * m + (1 - beta1) * grad}


@buggy("lion", "lion-m-updated-first")
def lion_updates_m_first(param, grad, state, *, lr=1e-4, beta1=0.9, beta2=0.99, weight_decay=0.0):
    m = beta2 * state.get("m", np.zeros_like(param)) + (1 - beta2) * grad
    direction = np.sign(beta1 * m + (1 - beta1) * grad)
    return param - lr * weight_decay * param - lr * direction, {"m": m}


@buggy("lion", "lr-ignored")
def lion_fixed_lr(param, grad, state, *, lr=1e-4, beta1=0.9, beta2=0.99, weight_decay=0.0):
    lr = 1e-4
    m = state.get("m", np.zeros_like(param))
    direction = np.sign(beta1 * m + (1 - beta1) * grad)
    new_param = param - lr * weight_decay * param - lr * direction
    return new_param, {"m": beta2 * m + (1 - beta2) * grad}


@buggy("lion", "lion-decay-not-lr-scaled")
def lion_decay_not_lr_scaled(param, grad, state, *, lr=1e-4, beta1=0.9, beta2=0.99, weight_decay=0.0):
    m = state.get("m", np.zeros_like(param))
    direction = np.sign(beta1 * m + (1 - beta1) * grad)
    new_param = param - weight_decay * param - lr * direction
    return new_param, {"m": beta2 * m + (1 - beta2) * grad}


@buggy("lion", "lion-decay-after-step")
def lion_decay_after_step(param, grad, state, *, lr=1e-4, beta1=0.9, beta2=0.99, weight_decay=0.0):
    m = state.get("m", np.zeros_like(param))
    new_param = param - lr * np.sign(beta1 * m + (1 - beta1) * grad)
    new_param = new_param - lr * weight_decay * new_param
    return new_param, {"m": beta2 * m + (1 - beta2) * grad}


@buggy("lion", "lion-missing-one-minus")
def lion_no_one_minus(param, grad, state, *, lr=1e-4, beta1=0.9, beta2=0.99, weight_decay=0.0):
    m = state.get("m", np.zeros_like(param))
    direction = np.sign(beta1 * m + grad)
    new_param = param - lr * weight_decay * param - lr * direction
    return new_param, {"m": beta2 * m + (1 - beta2) * grad}


@buggy("lion", "mutates-state")
def lion_state_in_place(param, grad, state, *, lr=1e-4, beta1=0.9, beta2=0.99, weight_decay=0.0):
    m = state.setdefault("m", np.zeros_like(param))
    direction = np.sign(beta1 * m + (1 - beta1) * grad)
    new_param = param - lr * weight_decay * param - lr * direction
    m *= beta2
    m += (1 - beta2) * grad
    return new_param, {"m": m}


@buggy("lion", "missing-state-key")
def lion_key_exp_avg(param, grad, state, *, lr=1e-4, beta1=0.9, beta2=0.99, weight_decay=0.0):
    m = state.get("exp_avg", np.zeros_like(param))
    direction = np.sign(beta1 * m + (1 - beta1) * grad)
    new_param = param - lr * weight_decay * param - lr * direction
    return new_param, {"exp_avg": beta2 * m + (1 - beta2) * grad}


@buggy("lion", "ignores-weight-decay")
def lion_no_decay(param, grad, state, *, lr=1e-4, beta1=0.9, beta2=0.99, weight_decay=0.0):
    m = state.get("m", np.zeros_like(param))
    direction = np.sign(beta1 * m + (1 - beta1) * grad)
    new_param = param - lr * direction
    return new_param, {"m": beta2 * m + (1 - beta2) * grad}


# ----------------------------------------------------------------------------- adafactor


@buggy("adafactor", "adafactor-axes-swapped")
def adafactor_axes_swapped(param, grad, state, *, lr=1e-2, beta2_decay=-0.8, eps1=None, eps2=1e-3, d=1.0):
    eps1 = np.finfo(param.dtype).eps if eps1 is None else eps1
    t = state.get("t", 0) + 1
    beta2_t = 1 - t**beta2_decay
    alpha = max(eps2, float(np.sqrt(np.mean(param * param)))) * min(lr, 1 / t**0.5)
    g2 = grad * grad
    if param.ndim >= 2:
        row = beta2_t * state.get("row", 0.0) + (1 - beta2_t) * g2.mean(axis=-2)
        col = beta2_t * state.get("col", 0.0) + (1 - beta2_t) * g2.mean(axis=-1)
        v = row[..., :, None] * col[..., None, :] / np.maximum(row.mean(axis=-1), eps1)[..., None, None]
        new_state = {"t": t, "row": row, "col": col}
    else:
        v = beta2_t * state.get("v", 0.0) + (1 - beta2_t) * g2
        new_state = {"t": t, "v": v}
    u = grad / np.maximum(np.sqrt(v), eps1)
    u = u / max(1.0, float(np.sqrt(np.mean(u * u))) / d)
    return param - alpha * u, new_state


@buggy("adafactor", "adafactor-sum-not-mean")
def adafactor_sums(param, grad, state, *, lr=1e-2, beta2_decay=-0.8, eps1=None, eps2=1e-3, d=1.0):
    eps1 = np.finfo(param.dtype).eps if eps1 is None else eps1
    t = state.get("t", 0) + 1
    beta2_t = 1 - t**beta2_decay
    alpha = max(eps2, float(np.sqrt(np.mean(param * param)))) * min(lr, 1 / t**0.5)
    g2 = grad * grad
    if param.ndim >= 2:
        row = beta2_t * state.get("row", 0.0) + (1 - beta2_t) * g2.sum(axis=-1)
        col = beta2_t * state.get("col", 0.0) + (1 - beta2_t) * g2.sum(axis=-2)
        v = row[..., :, None] * col[..., None, :] / np.maximum(row.mean(axis=-1), eps1)[..., None, None]
        new_state = {"t": t, "row": row, "col": col}
    else:
        v = beta2_t * state.get("v", 0.0) + (1 - beta2_t) * g2
        new_state = {"t": t, "v": v}
    u = grad / np.maximum(np.sqrt(v), eps1)
    u = u / max(1.0, float(np.sqrt(np.mean(u * u))) / d)
    return param - alpha * u, new_state


@buggy("adafactor", "adafactor-no-normalisation")
def adafactor_no_row_normalisation(param, grad, state, *, lr=1e-2, beta2_decay=-0.8, eps1=None, eps2=1e-3, d=1.0):
    eps1 = np.finfo(param.dtype).eps if eps1 is None else eps1
    t = state.get("t", 0) + 1
    beta2_t = 1 - t**beta2_decay
    alpha = max(eps2, float(np.sqrt(np.mean(param * param)))) * min(lr, 1 / t**0.5)
    g2 = grad * grad
    if param.ndim >= 2:
        row = beta2_t * state.get("row", 0.0) + (1 - beta2_t) * g2.mean(axis=-1)
        col = beta2_t * state.get("col", 0.0) + (1 - beta2_t) * g2.mean(axis=-2)
        v = row[..., :, None] * col[..., None, :]
        new_state = {"t": t, "row": row, "col": col}
    else:
        v = beta2_t * state.get("v", 0.0) + (1 - beta2_t) * g2
        new_state = {"t": t, "v": v}
    u = grad / np.maximum(np.sqrt(v), eps1)
    u = u / max(1.0, float(np.sqrt(np.mean(u * u))) / d)
    return param - alpha * u, new_state


@buggy("adafactor", "adafactor-decay-exponent")
def adafactor_decay_sign(param, grad, state, *, lr=1e-2, beta2_decay=-0.8, eps1=None, eps2=1e-3, d=1.0):
    eps1 = np.finfo(param.dtype).eps if eps1 is None else eps1
    t = state.get("t", 0) + 1
    beta2_t = 1 - t**-beta2_decay
    alpha = max(eps2, float(np.sqrt(np.mean(param * param)))) * min(lr, 1 / t**0.5)
    g2 = grad * grad
    if param.ndim >= 2:
        row = beta2_t * state.get("row", 0.0) + (1 - beta2_t) * g2.mean(axis=-1)
        col = beta2_t * state.get("col", 0.0) + (1 - beta2_t) * g2.mean(axis=-2)
        v = row[..., :, None] * col[..., None, :] / np.maximum(row.mean(axis=-1), eps1)[..., None, None]
        new_state = {"t": t, "row": row, "col": col}
    else:
        v = beta2_t * state.get("v", 0.0) + (1 - beta2_t) * g2
        new_state = {"t": t, "v": v}
    u = grad / np.maximum(np.sqrt(v), eps1)
    u = u / max(1.0, float(np.sqrt(np.mean(u * u))) / d)
    return param - alpha * u, new_state


@buggy("adafactor", "eps1-added")
def adafactor_eps_added(param, grad, state, *, lr=1e-2, beta2_decay=-0.8, eps1=None, eps2=1e-3, d=1.0):
    eps1 = np.finfo(param.dtype).eps if eps1 is None else eps1
    t = state.get("t", 0) + 1
    beta2_t = 1 - t**beta2_decay
    alpha = max(eps2, float(np.sqrt(np.mean(param * param)))) * min(lr, 1 / t**0.5)
    g2 = grad * grad
    if param.ndim >= 2:
        row = beta2_t * state.get("row", 0.0) + (1 - beta2_t) * g2.mean(axis=-1)
        col = beta2_t * state.get("col", 0.0) + (1 - beta2_t) * g2.mean(axis=-2)
        v = row[..., :, None] * col[..., None, :] / np.maximum(row.mean(axis=-1), eps1)[..., None, None]
        new_state = {"t": t, "row": row, "col": col}
    else:
        v = beta2_t * state.get("v", 0.0) + (1 - beta2_t) * g2
        new_state = {"t": t, "v": v}
    u = grad / (np.sqrt(v) + eps1)
    u = u / max(1.0, float(np.sqrt(np.mean(u * u))) / d)
    return param - alpha * u, new_state


@buggy("adafactor", "adafactor-no-relative-step")
def adafactor_no_relative_step(param, grad, state, *, lr=1e-2, beta2_decay=-0.8, eps1=None, eps2=1e-3, d=1.0):
    eps1 = np.finfo(param.dtype).eps if eps1 is None else eps1
    t = state.get("t", 0) + 1
    beta2_t = 1 - t**beta2_decay
    alpha = min(lr, 1 / t**0.5)
    g2 = grad * grad
    if param.ndim >= 2:
        row = beta2_t * state.get("row", 0.0) + (1 - beta2_t) * g2.mean(axis=-1)
        col = beta2_t * state.get("col", 0.0) + (1 - beta2_t) * g2.mean(axis=-2)
        v = row[..., :, None] * col[..., None, :] / np.maximum(row.mean(axis=-1), eps1)[..., None, None]
        new_state = {"t": t, "row": row, "col": col}
    else:
        v = beta2_t * state.get("v", 0.0) + (1 - beta2_t) * g2
        new_state = {"t": t, "v": v}
    u = grad / np.maximum(np.sqrt(v), eps1)
    u = u / max(1.0, float(np.sqrt(np.mean(u * u))) / d)
    return param - alpha * u, new_state


@buggy("adafactor", "adafactor-no-clipping")
def adafactor_no_clipping(param, grad, state, *, lr=1e-2, beta2_decay=-0.8, eps1=None, eps2=1e-3, d=1.0):
    eps1 = np.finfo(param.dtype).eps if eps1 is None else eps1
    t = state.get("t", 0) + 1
    beta2_t = 1 - t**beta2_decay
    alpha = max(eps2, float(np.sqrt(np.mean(param * param)))) * min(lr, 1 / t**0.5)
    g2 = grad * grad
    if param.ndim >= 2:
        row = beta2_t * state.get("row", 0.0) + (1 - beta2_t) * g2.mean(axis=-1)
        col = beta2_t * state.get("col", 0.0) + (1 - beta2_t) * g2.mean(axis=-2)
        v = row[..., :, None] * col[..., None, :] / np.maximum(row.mean(axis=-1), eps1)[..., None, None]
        new_state = {"t": t, "row": row, "col": col}
    else:
        v = beta2_t * state.get("v", 0.0) + (1 - beta2_t) * g2
        new_state = {"t": t, "v": v}
    u = grad / np.maximum(np.sqrt(v), eps1)
    return param - alpha * u, new_state


@buggy("adafactor", "adafactor-rms-of-grad")
def adafactor_rms_of_grad(param, grad, state, *, lr=1e-2, beta2_decay=-0.8, eps1=None, eps2=1e-3, d=1.0):
    eps1 = np.finfo(param.dtype).eps if eps1 is None else eps1
    t = state.get("t", 0) + 1
    beta2_t = 1 - t**beta2_decay
    alpha = max(eps2, float(np.sqrt(np.mean(grad * grad)))) * min(lr, 1 / t**0.5)
    g2 = grad * grad
    if param.ndim >= 2:
        row = beta2_t * state.get("row", 0.0) + (1 - beta2_t) * g2.mean(axis=-1)
        col = beta2_t * state.get("col", 0.0) + (1 - beta2_t) * g2.mean(axis=-2)
        v = row[..., :, None] * col[..., None, :] / np.maximum(row.mean(axis=-1), eps1)[..., None, None]
        new_state = {"t": t, "row": row, "col": col}
    else:
        v = beta2_t * state.get("v", 0.0) + (1 - beta2_t) * g2
        new_state = {"t": t, "v": v}
    u = grad / np.maximum(np.sqrt(v), eps1)
    u = u / max(1.0, float(np.sqrt(np.mean(u * u))) / d)
    return param - alpha * u, new_state


@buggy("adafactor", "adafactor-not-factored")
def adafactor_not_factored(param, grad, state, *, lr=1e-2, beta2_decay=-0.8, eps1=None, eps2=1e-3, d=1.0):
    eps1 = np.finfo(param.dtype).eps if eps1 is None else eps1
    t = state.get("t", 0) + 1
    beta2_t = 1 - t**beta2_decay
    alpha = max(eps2, float(np.sqrt(np.mean(param * param)))) * min(lr, 1 / t**0.5)
    g2 = grad * grad
    if False:
        row = beta2_t * state.get("row", 0.0) + (1 - beta2_t) * g2.mean(axis=-1)
        col = beta2_t * state.get("col", 0.0) + (1 - beta2_t) * g2.mean(axis=-2)
        v = row[..., :, None] * col[..., None, :] / np.maximum(row.mean(axis=-1), eps1)[..., None, None]
        new_state = {"t": t, "row": row, "col": col}
    else:
        v = beta2_t * state.get("v", 0.0) + (1 - beta2_t) * g2
        new_state = {"t": t, "v": v}
    u = grad / np.maximum(np.sqrt(v), eps1)
    u = u / max(1.0, float(np.sqrt(np.mean(u * u))) / d)
    return param - alpha * u, new_state


@buggy("adafactor", "mutates-state")
def adafactor_state_in_place(param, grad, state, *, lr=1e-2, beta2_decay=-0.8, eps1=None, eps2=1e-3, d=1.0):
    eps1 = np.finfo(param.dtype).eps if eps1 is None else eps1
    t = state.get("t", 0) + 1
    beta2_t = 1 - t**beta2_decay
    alpha = max(eps2, float(np.sqrt(np.mean(param * param)))) * min(lr, 1 / t**0.5)
    g2 = grad * grad
    if param.ndim >= 2:
        row = beta2_t * state.get("row", 0.0) + (1 - beta2_t) * g2.mean(axis=-1)
        col = beta2_t * state.get("col", 0.0) + (1 - beta2_t) * g2.mean(axis=-2)
        v = row[..., :, None] * col[..., None, :] / np.maximum(row.mean(axis=-1), eps1)[..., None, None]
        new_state = {"t": t, "row": row, "col": col}
    else:
        v = state.setdefault("v", np.zeros_like(param))
        v *= beta2_t
        v += (1 - beta2_t) * g2
        new_state = {"t": t, "v": v}
    u = grad / np.maximum(np.sqrt(v), eps1)
    u = u / max(1.0, float(np.sqrt(np.mean(u * u))) / d)
    return param - alpha * u, new_state


@buggy("adafactor", "t-not-advancing")
def adafactor_t_not_stored(param, grad, state, *, lr=1e-2, beta2_decay=-0.8, eps1=None, eps2=1e-3, d=1.0):
    eps1 = np.finfo(param.dtype).eps if eps1 is None else eps1
    t = state.get("t", 0) + 1
    beta2_t = 1 - t**beta2_decay
    alpha = max(eps2, float(np.sqrt(np.mean(param * param)))) * min(lr, 1 / t**0.5)
    g2 = grad * grad
    if param.ndim >= 2:
        row = beta2_t * state.get("row", 0.0) + (1 - beta2_t) * g2.mean(axis=-1)
        col = beta2_t * state.get("col", 0.0) + (1 - beta2_t) * g2.mean(axis=-2)
        v = row[..., :, None] * col[..., None, :] / np.maximum(row.mean(axis=-1), eps1)[..., None, None]
        new_state = {"t": t - 1, "row": row, "col": col}
    else:
        v = beta2_t * state.get("v", 0.0) + (1 - beta2_t) * g2
        new_state = {"t": t - 1, "v": v}
    u = grad / np.maximum(np.sqrt(v), eps1)
    u = u / max(1.0, float(np.sqrt(np.mean(u * u))) / d)
    return param - alpha * u, new_state
