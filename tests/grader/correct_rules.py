"""Correct update rules written in unusual ways: every one must get full marks and no diagnosis.

Copies and in-place updates on the copies, float64 inside and cast back, algebraically
rearranged forms, extra state keys, NumPy integer step counts.
"""

import math

import numpy as np

from .cases import correct


@correct("sgd")
def sgd_subtract(param, grad, state, *, lr=1e-2):
    return np.subtract(param, np.multiply(lr, grad, dtype=param.dtype)), {}


@correct("sgd")
def sgd_in_place_on_a_copy(param, grad, state, *, lr=1e-2):
    new = param.copy()
    new -= lr * grad
    return new, dict(state)


@correct("momentum")
def momentum_copy_then_in_place(param, grad, state, *, lr=1e-2, momentum=0.9):
    v = state["velocity"].copy() if "velocity" in state else np.zeros_like(param)
    v *= momentum
    v += grad
    new = param.copy()
    new -= lr * v
    return new, {"velocity": v}


@correct("momentum")
def momentum_float64_inside(param, grad, state, *, lr=1e-2, momentum=0.9):
    v = momentum * np.asarray(state.get("velocity", 0.0), dtype=np.float64) + grad.astype(np.float64)
    new = param.astype(np.float64) - lr * v
    return new.astype(param.dtype), {"velocity": v.astype(param.dtype), "steps": state.get("steps", 0) + 1}


@correct("nesterov")
def nesterov_expanded(param, grad, state, *, lr=1e-2, momentum=0.9):
    # g + mu (mu v + g) = (1 + mu) g + mu^2 v
    v_old = state.get("velocity", np.zeros_like(param))
    new = param - lr * ((1 + momentum) * grad + momentum**2 * v_old)
    return new, {"velocity": momentum * v_old + grad}


@correct("nesterov")
def nesterov_with_helper(param, grad, state, *, lr=1e-2, momentum=0.9):
    def look_ahead(v):
        return grad + momentum * v
    v = look_ahead(state.get("velocity", np.zeros(param.shape, dtype=param.dtype)))
    return param - lr * look_ahead(v), {"velocity": v}


@correct("adagrad")
def adagrad_numpy_functions(param, grad, state, *, lr=1e-2, eps=1e-10):
    s = np.add(state.get("sum_sq", np.zeros_like(param)), np.square(grad))
    return param - lr * np.divide(grad, np.sqrt(s) + eps), {"sum_sq": s}


@correct("adagrad")
def adagrad_float64_inside(param, grad, state, *, lr=1e-2, eps=1e-10):
    g = grad.astype(np.float64)
    s = np.asarray(state.get("sum_sq", 0.0), dtype=np.float64) + g * g
    new = param.astype(np.float64) - lr * g / (np.sqrt(s) + eps)
    return new.astype(param.dtype), {"sum_sq": s.astype(param.dtype)}


@correct("rmsprop")
def rmsprop_rearranged_average(param, grad, state, *, lr=1e-2, rho=0.99, eps=1e-8):
    s = state.get("sq_avg", np.zeros_like(param))
    s = s + (1 - rho) * (grad * grad - s)  # = rho s + (1 - rho) g^2
    return param - lr * grad / (np.sqrt(s) + eps), {"sq_avg": s, "rms": np.sqrt(s)}


@correct("rmsprop")
def rmsprop_copy_then_in_place(param, grad, state, *, lr=1e-2, rho=0.99, eps=1e-8):
    s = np.array(state.get("sq_avg", np.zeros_like(param)), copy=True)
    s *= rho
    s += (1 - rho) * grad**2
    denom = np.sqrt(s)
    denom += eps
    return param - lr * grad / denom, {"sq_avg": s}


@correct("adam")
def adam_step_size_form(param, grad, state, *, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    # Kingma & Ba's "efficient" ordering, with eps rescaled so that it is still added to sqrt(v_hat)
    t = state.get("t", 0) + 1
    m = beta1 * state.get("m", 0.0) + (1 - beta1) * grad
    v = beta2 * state.get("v", 0.0) + (1 - beta2) * grad * grad
    c2 = math.sqrt(1 - beta2**t)
    step_size = lr * c2 / (1 - beta1**t)
    return param - step_size * m / (np.sqrt(v) + eps * c2), {"t": t, "m": m, "v": v}


@correct("adam")
def adam_numpy_integer_t(param, grad, state, *, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    t = np.int64(state.get("t", 0)) + np.int64(1)
    m = beta1 * state.get("m", np.zeros_like(param)) + (1 - beta1) * grad
    v = beta2 * state.get("v", np.zeros_like(param)) + (1 - beta2) * grad**2
    m_hat = m / (1 - beta1 ** int(t))
    v_hat = v / (1 - beta2 ** int(t))
    return param - lr * m_hat / (np.sqrt(v_hat) + eps), {"t": t, "m": m, "v": v, "m_hat": m_hat}


@correct("adam")
def adam_float64_inside(param, grad, state, *, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    p, g = param.astype(np.float64), grad.astype(np.float64)
    t = int(state.get("t", 0)) + 1
    m = beta1 * np.asarray(state.get("m", 0.0), dtype=np.float64) + (1 - beta1) * g
    v = beta2 * np.asarray(state.get("v", 0.0), dtype=np.float64) + (1 - beta2) * g**2
    new = p - lr * (m / (1 - beta1**t)) / (np.sqrt(v / (1 - beta2**t)) + eps)
    dt = param.dtype
    return new.astype(dt), {"t": t, "m": m.astype(dt), "v": v.astype(dt)}


@correct("adam")
def adam_copies_then_in_place(param, grad, state, *, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    m = state["m"].copy() if "m" in state else np.zeros_like(param)
    v = state["v"].copy() if "v" in state else np.zeros_like(param)
    t = state.get("t", 0) + 1
    m *= beta1
    m += (1 - beta1) * grad
    v *= beta2
    v += (1 - beta2) * np.square(grad)
    m_hat = m / (1 - beta1**t)
    v_hat = v / (1 - beta2**t)
    return param - lr * m_hat / (np.sqrt(v_hat) + eps), {"m": m, "v": v, "t": t}


@correct("adamw")
def adamw_scaled_param(param, grad, state, *, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=1e-2):
    t = state.get("t", 0) + 1
    m = beta1 * state.get("m", 0.0) + (1 - beta1) * grad
    v = beta2 * state.get("v", 0.0) + (1 - beta2) * grad**2
    update = (m / (1 - beta1**t)) / (np.sqrt(v / (1 - beta2**t)) + eps)
    return param * (1 - lr * weight_decay) - lr * update, {"t": t, "m": m, "v": v}


@correct("adamw")
def adamw_through_own_adam(param, grad, state, *, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=1e-2):
    def adam(p, g, s):
        t = s.get("t", 0) + 1
        m = beta1 * s.get("m", 0.0) + (1 - beta1) * g
        v = beta2 * s.get("v", 0.0) + (1 - beta2) * g**2
        return p - lr * m / (1 - beta1**t) / (np.sqrt(v / (1 - beta2**t)) + eps), {"t": t, "m": m, "v": v}
    return adam(param - lr * weight_decay * param, grad, state)


# ----------------------------------------------------------------------------- lion and adafactor


@correct("lion")
def lion_as_written(param, grad, state, *, lr=1e-4, beta1=0.9, beta2=0.99, weight_decay=0.0):
    m = state.get("m", np.zeros_like(param))
    direction = np.sign(beta1 * m + (1 - beta1) * grad)
    new_param = param - lr * weight_decay * param - lr * direction
    return new_param, {"m": beta2 * m + (1 - beta2) * grad}


@correct("lion")
def lion_where_and_lerp(param, grad, state, *, lr=1e-4, beta1=0.9, beta2=0.99, weight_decay=0.0):
    m_old = state["m"] if "m" in state else np.zeros_like(param)
    c = m_old + (1 - beta1) * (grad - m_old)
    step = np.where(c > 0, 1.0, np.where(c < 0, -1.0, 0.0)).astype(param.dtype)
    decayed = param * (1 - lr * weight_decay)
    return decayed - lr * step, {"m": m_old + (1 - beta2) * (grad - m_old)}


@correct("adafactor")
def adafactor_as_written(param, grad, state, *, lr=1e-2, beta2_decay=-0.8, eps1=None, eps2=1e-3, d=1.0):
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
    u = u / max(1.0, float(np.sqrt(np.mean(u * u))) / d)
    return param - alpha * u, new_state


@correct("adafactor")
def adafactor_lerp_and_einsum(param, grad, state, *, lr=1e-2, beta2_decay=-0.8, eps1=None, eps2=1e-3, d=1.0):
    if eps1 is None:
        eps1 = np.finfo(param.dtype).eps
    t = state.get("t", 0) + 1
    w = t ** beta2_decay  # 1 - beta2_t
    rho = min(lr, t ** -0.5)
    scale = max(eps2, np.sqrt(np.mean(np.square(param)))) * rho
    sq = np.square(grad)
    if param.ndim < 2:
        v = state.get("v", np.zeros_like(param))
        v = v + w * (sq - v)
        vhat, out = v, {"t": t, "v": v}
    else:
        r = state.get("row", np.zeros(param.shape[:-1], param.dtype))
        c = state.get("col", np.zeros(param.shape[:-2] + param.shape[-1:], param.dtype))
        r = r + w * (sq.mean(axis=-1) - r)
        c = c + w * (sq.mean(axis=-2) - c)
        denom = np.maximum(r.mean(axis=-1, keepdims=True), eps1)
        vhat = np.einsum("...i,...j->...ij", r / denom, c)
        out = {"t": t, "row": r, "col": c}
    u = grad / np.sqrt(np.maximum(vhat, eps1 * eps1))
    rms_u = np.sqrt(np.mean(np.square(u)))
    u = u / max(1.0, rms_u / d)
    return (param - scale * u).astype(param.dtype), out
