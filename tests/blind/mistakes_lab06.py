'''A held-out ("blind") set of student implementations of lab 6's rules, Lion and Adafactor.

How it was made: every entry was written from CONTRACT.md (the rule table's rows for ``lion`` and
``adafactor``, and its clause on state that is not the parameter's shape), the instructions of lab 6
(``solutions/lab06_large_models``) and the reference rules in ``lib/optilab/kernels_modern.py``
only, imagining how students get these two rules wrong (the two betas of Lion swapped or its
momentum updated before the sign, weight decay coupled to the gradient or not scaled by lr, a full
second moment where Adafactor factors it, rows and columns mixed up, no update clipping, the
relative step size written another way, Keras' or the paper's defaults, torch's kept axes, ...).
The grader's own catalogue of mistakes and its diagnosis code were deliberately not read, so that
this set can measure how well the grader recognises mistakes it was not written against.

The entries have the form of ``tests/blind/mistakes.py`` (``id``, ``rule``, ``source``, ``correct``,
``wrong_part``, ``label``); ``label`` is one of :data:`LABELS`.

This set is FROZEN. It must not be edited to fit the grader: if the grader misses or misnames an
entry, that is a finding about the grader, not a reason to change the entry.
(tests/blind/test_blind_lab06.py checks, against optilab's reference rules, that the correct
entries are correct and that every mistake really differs from the reference.)
'''

from textwrap import dedent

LABELS = ("default", "epsilon", "step-count", "state-keys", "in-place", "dtype", "shape", "formula",
          "decay", "interpolation", "moment-order", "sign", "factoring", "relative-step", "update-clipping")


def _wrong(id, rule, wrong_part, label, source):
    return {"id": id, "rule": rule, "source": dedent(source).lstrip("\n"), "correct": False,
            "wrong_part": wrong_part, "label": label}


def _right(id, rule, source):
    return {"id": id, "rule": rule, "source": dedent(source).lstrip("\n"), "correct": True,
            "wrong_part": None, "label": None}


BLIND = [
    # ------------------------------------------------------------------ lion
    _wrong("lion-momentum-before-sign", "lion", "m updated with beta2 first, then the sign of the new m is taken",
           "moment-order", """
        import numpy as np

        def lion(param, grad, state, *, lr=1e-4, beta1=0.9, beta2=0.99, weight_decay=0.0):
            m = state.get("m", np.zeros_like(param))
            m = beta2 * m + (1 - beta2) * grad
            direction = np.sign(beta1 * m + (1 - beta1) * grad)
            return param - lr * weight_decay * param - lr * direction, {"m": m}
        """),
    _wrong("lion-betas-swapped", "lion", "beta2 used in the sign's interpolation and beta1 for the kept momentum",
           "interpolation", """
        import numpy as np

        def lion(param, grad, state, *, lr=1e-4, beta1=0.9, beta2=0.99, weight_decay=0.0):
            m = state.get("m", np.zeros_like(param))
            c = beta2 * m + (1 - beta2) * grad
            new_m = beta1 * m + (1 - beta1) * grad
            return param * (1 - lr * weight_decay) - lr * np.sign(c), {"m": new_m}
        """),
    _wrong("lion-one-beta", "lion", "the kept momentum is updated with beta1, the same as the interpolation",
           "interpolation", """
        import numpy as np

        def lion(param, grad, state, *, lr=1e-4, beta1=0.9, beta2=0.99, weight_decay=0.0):
            m = state.get("m", np.zeros_like(param))
            c = beta1 * m + (1 - beta1) * grad
            return param - lr * weight_decay * param - lr * np.sign(c), {"m": c}
        """),
    _wrong("lion-interp-weights-swapped", "lion", "interpolation (1 − β₁)·m + β₁·g: the weights of m and g swapped",
           "interpolation", """
        import numpy as np

        def lion(param, grad, state, *, lr=1e-4, beta1=0.9, beta2=0.99, weight_decay=0.0):
            m = state.get("m", np.zeros_like(param))
            c = (1 - beta1) * m + beta1 * grad
            return param - lr * weight_decay * param - lr * np.sign(c), {"m": beta2 * m + (1 - beta2) * grad}
        """),
    _wrong("lion-no-sign", "lion", "steps by the interpolation c itself, without taking its sign", "sign", """
        import numpy as np

        def lion(param, grad, state, *, lr=1e-4, beta1=0.9, beta2=0.99, weight_decay=0.0):
            m = state.get("m", np.zeros_like(param))
            c = beta1 * m + (1 - beta1) * grad
            return param - lr * weight_decay * param - lr * c, {"m": beta2 * m + (1 - beta2) * grad}
        """),
    _wrong("lion-sign-of-grad", "lion", "steps by sign(g), the momentum is kept but never used in the step", "sign", """
        import numpy as np

        def lion(param, grad, state, *, lr=1e-4, beta1=0.9, beta2=0.99, weight_decay=0.0):
            m = state.get("m", np.zeros_like(param))
            new_param = param - lr * weight_decay * param - lr * np.sign(grad)
            return new_param, {"m": beta2 * m + (1 - beta2) * grad}
        """),
    _wrong("lion-sign-zero-is-plus", "lion", "np.where(c >= 0, 1, -1): an entry with c = 0 moves by −lr instead of not at all",
           "sign", """
        import numpy as np

        def lion(param, grad, state, *, lr=1e-4, beta1=0.9, beta2=0.99, weight_decay=0.0):
            m = state.get("m", np.zeros_like(param))
            c = beta1 * m + (1 - beta1) * grad
            direction = np.where(c >= 0, 1.0, -1.0).astype(param.dtype)
            return param - lr * weight_decay * param - lr * direction, {"m": beta2 * m + (1 - beta2) * grad}
        """),
    _wrong("lion-coupled-decay", "lion", "weight decay added to the gradient (λ·p inside the sign) instead of decoupled",
           "decay", """
        import numpy as np

        def lion(param, grad, state, *, lr=1e-4, beta1=0.9, beta2=0.99, weight_decay=0.0):
            g = grad + weight_decay * param
            m = state.get("m", np.zeros_like(param))
            c = beta1 * m + (1 - beta1) * g
            return param - lr * np.sign(c), {"m": beta2 * m + (1 - beta2) * g}
        """),
    _wrong("lion-decay-not-times-lr", "lion", "decay p ← p − λ·p, not scaled by the learning rate", "decay", """
        import numpy as np

        def lion(param, grad, state, *, lr=1e-4, beta1=0.9, beta2=0.99, weight_decay=0.0):
            m = state.get("m", np.zeros_like(param))
            c = beta1 * m + (1 - beta1) * grad
            return param - weight_decay * param - lr * np.sign(c), {"m": beta2 * m + (1 - beta2) * grad}
        """),
    _wrong("lion-decay-after-step", "lion", "decay applied to the already-stepped parameter: (p − lr·sign(c))·(1 − lr·λ)",
           "decay", """
        import numpy as np

        def lion(param, grad, state, *, lr=1e-4, beta1=0.9, beta2=0.99, weight_decay=0.0):
            m = state.get("m", np.zeros_like(param))
            c = beta1 * m + (1 - beta1) * grad
            stepped = param - lr * np.sign(c)
            return stepped * (1 - lr * weight_decay), {"m": beta2 * m + (1 - beta2) * grad}
        """),
    _wrong("lion-default-lr-keras", "lion", "default learning rate 1e-3 (Keras') instead of 1e-4", "default", """
        import numpy as np

        def lion(param, grad, state, *, lr=1e-3, beta1=0.9, beta2=0.99, weight_decay=0.0):
            m = state.get("m", np.zeros_like(param))
            c = beta1 * m + (1 - beta1) * grad
            return param - lr * weight_decay * param - lr * np.sign(c), {"m": beta2 * m + (1 - beta2) * grad}
        """),
    _wrong("lion-default-decay-optax", "lion", "default weight decay 1e-3 (optax's) instead of 0", "default", """
        import numpy as np

        def lion(param, grad, state, *, lr=1e-4, beta1=0.9, beta2=0.99, weight_decay=1e-3):
            m = state.get("m", np.zeros_like(param))
            c = beta1 * m + (1 - beta1) * grad
            return param - lr * weight_decay * param - lr * np.sign(c), {"m": beta2 * m + (1 - beta2) * grad}
        """),
    _wrong("lion-inplace-m", "lion", "the momentum from the state updated in place with *= and +=", "in-place", """
        import numpy as np

        def lion(param, grad, state, *, lr=1e-4, beta1=0.9, beta2=0.99, weight_decay=0.0):
            m = state["m"] if "m" in state else np.zeros_like(param)
            direction = np.sign(beta1 * m + (1 - beta1) * grad)
            m *= beta2
            m += (1 - beta2) * grad
            return param - lr * weight_decay * param - lr * direction, {"m": m}
        """),
    _wrong("lion-key-exp-avg", "lion", "momentum stored under 'exp_avg' (lion-pytorch's name) instead of 'm'", "state-keys", """
        import numpy as np

        def lion(param, grad, state, *, lr=1e-4, beta1=0.9, beta2=0.99, weight_decay=0.0):
            m = state.get("exp_avg", np.zeros_like(param))
            c = beta1 * m + (1 - beta1) * grad
            return param - lr * weight_decay * param - lr * np.sign(c), {"exp_avg": beta2 * m + (1 - beta2) * grad}
        """),
    _wrong("lion-float64-momentum", "lion", "momentum started as np.zeros(param.shape), float64, so float32 comes back float64",
           "dtype", """
        import numpy as np

        def lion(param, grad, state, *, lr=1e-4, beta1=0.9, beta2=0.99, weight_decay=0.0):
            m = state.get("m", np.zeros(np.shape(param)))
            c = beta1 * m + (1 - beta1) * grad
            return param - lr * weight_decay * param - lr * np.sign(c), {"m": beta2 * m + (1 - beta2) * grad}
        """),
    _right("lion-lerp-form", "lion", """
        import numpy as np

        def lion(param, grad, state, *, lr=1e-4, beta1=0.9, beta2=0.99, weight_decay=0.0):
            m = state["m"] if "m" in state else np.zeros_like(param)
            c = m + (1 - beta1) * (grad - m)
            new_m = m + (1 - beta2) * (grad - m)
            return param * (1 - lr * weight_decay) - lr * np.sign(c), {"m": new_m}
        """),
    _right("lion-comparisons-for-sign", "lion", """
        import numpy as np

        def lion(param, grad, state, *, lr=1e-4, beta1=0.9, beta2=0.99, weight_decay=0.0):
            if state:
                m = state["m"]
            else:
                m = np.zeros_like(param)
            c = beta1 * m + (1 - beta1) * grad
            direction = (c > 0).astype(param.dtype) - (c < 0).astype(param.dtype)
            new_param = param.copy()
            if weight_decay != 0:
                new_param = new_param - lr * weight_decay * param
            new_param = new_param - lr * direction
            new_m = beta2 * m + (1 - beta2) * grad
            return new_param, {"m": new_m}
        """),

    # ------------------------------------------------------------------ adafactor
    _wrong("adafactor-unfactored", "adafactor", "a full second moment v for matrices too, never factored into row and col",
           "factoring", """
        import numpy as np

        def adafactor(param, grad, state, *, lr=1e-2, beta2_decay=-0.8, eps1=None, eps2=1e-3, d=1.0):
            eps1 = np.finfo(param.dtype).eps if eps1 is None else eps1
            t = state.get("t", 0) + 1
            beta2_t = 1 - t ** beta2_decay
            alpha = max(eps2, float(np.sqrt(np.mean(param ** 2)))) * min(lr, 1 / np.sqrt(t))
            v = beta2_t * state.get("v", 0.0) + (1 - beta2_t) * grad ** 2
            u = grad / np.maximum(np.sqrt(v), eps1)
            u = u / max(1.0, float(np.sqrt(np.mean(u ** 2))) / d)
            return param - alpha * u, {"t": t, "v": v}
        """),
    _wrong("adafactor-row-col-swapped", "adafactor", "row is the mean over the rows (axis −2) and col the mean over the columns (axis −1)",
           "factoring", """
        import numpy as np

        def adafactor(param, grad, state, *, lr=1e-2, beta2_decay=-0.8, eps1=None, eps2=1e-3, d=1.0):
            eps1 = np.finfo(param.dtype).eps if eps1 is None else eps1
            t = state.get("t", 0) + 1
            beta2_t = 1 - t ** beta2_decay
            alpha = max(eps2, float(np.sqrt(np.mean(param * param)))) * min(lr, 1 / t ** 0.5)
            g2 = grad * grad
            if param.ndim >= 2:
                row = beta2_t * state.get("row", 0.0) + (1 - beta2_t) * g2.mean(axis=-2)
                col = beta2_t * state.get("col", 0.0) + (1 - beta2_t) * g2.mean(axis=-1)
                v = col[..., :, None] * row[..., None, :] / np.maximum(col.mean(axis=-1), eps1)[..., None, None]
                new_state = {"t": t, "row": row, "col": col}
            else:
                v = beta2_t * state.get("v", 0.0) + (1 - beta2_t) * g2
                new_state = {"t": t, "v": v}
            u = grad / np.maximum(np.sqrt(v), eps1)
            u = u / max(1.0, float(np.sqrt(np.mean(u * u))) / d)
            return param - alpha * u, new_state
        """),
    _wrong("adafactor-vhat-not-normalised", "adafactor", "v̂ = r·cᵀ without dividing by the mean of r", "factoring", """
        import numpy as np

        def adafactor(param, grad, state, *, lr=1e-2, beta2_decay=-0.8, eps1=None, eps2=1e-3, d=1.0):
            eps1 = np.finfo(param.dtype).eps if eps1 is None else eps1
            t = state.get("t", 0) + 1
            beta2_t = 1 - t ** beta2_decay
            alpha = max(eps2, float(np.sqrt(np.mean(param * param)))) * min(lr, 1 / t ** 0.5)
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
        """),
    _wrong("adafactor-normaliser-over-all-slices", "adafactor",
           "v̂ divided by the mean of every row of the whole array, not of each matrix (wrong for 3-d parameters)",
           "factoring", """
        import numpy as np

        def adafactor(param, grad, state, *, lr=1e-2, beta2_decay=-0.8, eps1=None, eps2=1e-3, d=1.0):
            eps1 = np.finfo(param.dtype).eps if eps1 is None else eps1
            t = state.get("t", 0) + 1
            beta2_t = 1 - t ** beta2_decay
            alpha = max(eps2, float(np.sqrt(np.mean(param * param)))) * min(lr, 1 / t ** 0.5)
            g2 = grad * grad
            if param.ndim >= 2:
                row = beta2_t * state.get("row", 0.0) + (1 - beta2_t) * g2.mean(axis=-1)
                col = beta2_t * state.get("col", 0.0) + (1 - beta2_t) * g2.mean(axis=-2)
                v = row[..., :, None] * col[..., None, :] / max(float(row.mean()), eps1)
                new_state = {"t": t, "row": row, "col": col}
            else:
                v = beta2_t * state.get("v", 0.0) + (1 - beta2_t) * g2
                new_state = {"t": t, "v": v}
            u = grad / np.maximum(np.sqrt(v), eps1)
            u = u / max(1.0, float(np.sqrt(np.mean(u * u))) / d)
            return param - alpha * u, new_state
        """),
    _wrong("adafactor-no-update-clipping", "adafactor", "the update's RMS is never clipped at d", "update-clipping", """
        import numpy as np

        def adafactor(param, grad, state, *, lr=1e-2, beta2_decay=-0.8, eps1=None, eps2=1e-3, d=1.0):
            eps1 = np.finfo(param.dtype).eps if eps1 is None else eps1
            t = state.get("t", 0) + 1
            beta2_t = 1 - t ** beta2_decay
            alpha = max(eps2, float(np.sqrt(np.mean(param * param)))) * min(lr, 1 / t ** 0.5)
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
        """),
    _wrong("adafactor-clip-always", "adafactor", "the update is always divided by RMS(u)/d, not by max(1, RMS(u)/d)",
           "update-clipping", """
        import numpy as np

        def adafactor(param, grad, state, *, lr=1e-2, beta2_decay=-0.8, eps1=None, eps2=1e-3, d=1.0):
            eps1 = np.finfo(param.dtype).eps if eps1 is None else eps1
            t = state.get("t", 0) + 1
            beta2_t = 1 - t ** beta2_decay
            alpha = max(eps2, float(np.sqrt(np.mean(param * param)))) * min(lr, 1 / t ** 0.5)
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
            rms = float(np.sqrt(np.mean(u * u)))
            if rms > 0:
                u = u / (rms / d)
            return param - alpha * u, new_state
        """),
    _wrong("adafactor-clip-by-norm", "adafactor", "the update clipped by its norm ‖u‖ instead of its RMS", "update-clipping", """
        import numpy as np

        def adafactor(param, grad, state, *, lr=1e-2, beta2_decay=-0.8, eps1=None, eps2=1e-3, d=1.0):
            eps1 = np.finfo(param.dtype).eps if eps1 is None else eps1
            t = state.get("t", 0) + 1
            beta2_t = 1 - t ** beta2_decay
            alpha = max(eps2, float(np.sqrt(np.mean(param * param)))) * min(lr, 1 / t ** 0.5)
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
            u = u / max(1.0, float(np.linalg.norm(u)) / d)
            return param - alpha * u, new_state
        """),
    _wrong("adafactor-no-relative-cap", "adafactor", "relative step ρ = lr, without the cap min(lr, 1/√t)", "relative-step", """
        import numpy as np

        def adafactor(param, grad, state, *, lr=1e-2, beta2_decay=-0.8, eps1=None, eps2=1e-3, d=1.0):
            eps1 = np.finfo(param.dtype).eps if eps1 is None else eps1
            t = state.get("t", 0) + 1
            beta2_t = 1 - t ** beta2_decay
            alpha = max(eps2, float(np.sqrt(np.mean(param * param)))) * lr
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
        """),
    _wrong("adafactor-cap-one-over-t", "adafactor", "relative step capped at 1/t instead of 1/√t", "relative-step", """
        import numpy as np

        def adafactor(param, grad, state, *, lr=1e-2, beta2_decay=-0.8, eps1=None, eps2=1e-3, d=1.0):
            eps1 = np.finfo(param.dtype).eps if eps1 is None else eps1
            t = state.get("t", 0) + 1
            beta2_t = 1 - t ** beta2_decay
            alpha = max(eps2, float(np.sqrt(np.mean(param * param)))) * min(lr, 1 / t)
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
        """),
    _wrong("adafactor-step-not-relative", "adafactor", "step size ρ_t alone: not multiplied by max(eps2, RMS(p))", "relative-step", """
        import numpy as np

        def adafactor(param, grad, state, *, lr=1e-2, beta2_decay=-0.8, eps1=None, eps2=1e-3, d=1.0):
            eps1 = np.finfo(param.dtype).eps if eps1 is None else eps1
            t = state.get("t", 0) + 1
            beta2_t = 1 - t ** beta2_decay
            alpha = min(lr, 1 / t ** 0.5)
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
        """),
    _wrong("adafactor-no-eps2-floor", "adafactor", "step relative to RMS(p) without the floor eps2, so a zero parameter never moves",
           "relative-step", """
        import numpy as np

        def adafactor(param, grad, state, *, lr=1e-2, beta2_decay=-0.8, eps1=None, eps2=1e-3, d=1.0):
            eps1 = np.finfo(param.dtype).eps if eps1 is None else eps1
            t = state.get("t", 0) + 1
            beta2_t = 1 - t ** beta2_decay
            alpha = float(np.sqrt(np.mean(param * param))) * min(lr, 1 / t ** 0.5)
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
        """),
    _wrong("adafactor-eps1-added", "adafactor", "ε₁ added to √v̂ (Adam's way) instead of being a floor under it", "epsilon", """
        import numpy as np

        def adafactor(param, grad, state, *, lr=1e-2, beta2_decay=-0.8, eps1=None, eps2=1e-3, d=1.0):
            eps1 = np.finfo(param.dtype).eps if eps1 is None else eps1
            t = state.get("t", 0) + 1
            beta2_t = 1 - t ** beta2_decay
            alpha = max(eps2, float(np.sqrt(np.mean(param * param)))) * min(lr, 1 / t ** 0.5)
            g2 = grad * grad
            if param.ndim >= 2:
                row = beta2_t * state.get("row", 0.0) + (1 - beta2_t) * g2.mean(axis=-1)
                col = beta2_t * state.get("col", 0.0) + (1 - beta2_t) * g2.mean(axis=-2)
                v = row[..., :, None] * col[..., None, :] / (row.mean(axis=-1) + eps1)[..., None, None]
                new_state = {"t": t, "row": row, "col": col}
            else:
                v = beta2_t * state.get("v", 0.0) + (1 - beta2_t) * g2
                new_state = {"t": t, "v": v}
            u = grad / (np.sqrt(v) + eps1)
            u = u / max(1.0, float(np.sqrt(np.mean(u * u))) / d)
            return param - alpha * u, new_state
        """),
    _wrong("adafactor-eps1-paper-default", "adafactor", "default eps1 = 1e-30 (the paper's, Keras') instead of None (machine epsilon)",
           "default", """
        import numpy as np

        def adafactor(param, grad, state, *, lr=1e-2, beta2_decay=-0.8, eps1=1e-30, eps2=1e-3, d=1.0):
            t = state.get("t", 0) + 1
            beta2_t = 1 - t ** beta2_decay
            alpha = max(eps2, float(np.sqrt(np.mean(param * param)))) * min(lr, 1 / t ** 0.5)
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
        """),
    _wrong("adafactor-t-stored-before-increment", "adafactor", "the state keeps the old step count, so t stays 0 and every step is a first step",
           "step-count", """
        import numpy as np

        def adafactor(param, grad, state, *, lr=1e-2, beta2_decay=-0.8, eps1=None, eps2=1e-3, d=1.0):
            eps1 = np.finfo(param.dtype).eps if eps1 is None else eps1
            t = state.get("t", 0)
            step = t + 1
            beta2_t = 1 - step ** beta2_decay
            alpha = max(eps2, float(np.sqrt(np.mean(param * param)))) * min(lr, 1 / step ** 0.5)
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
        """),
    _wrong("adafactor-torch-kept-axes", "adafactor", "row and col kept with torch's size-1 axis (n, 1) and (1, k)", "shape", """
        import numpy as np

        def adafactor(param, grad, state, *, lr=1e-2, beta2_decay=-0.8, eps1=None, eps2=1e-3, d=1.0):
            eps1 = np.finfo(param.dtype).eps if eps1 is None else eps1
            t = state.get("t", 0) + 1
            beta2_t = 1 - t ** beta2_decay
            alpha = max(eps2, float(np.sqrt(np.mean(param * param)))) * min(lr, 1 / t ** 0.5)
            g2 = grad * grad
            if param.ndim >= 2:
                row = beta2_t * state.get("row", 0.0) + (1 - beta2_t) * g2.mean(axis=-1, keepdims=True)
                col = beta2_t * state.get("col", 0.0) + (1 - beta2_t) * g2.mean(axis=-2, keepdims=True)
                v = row * col / np.maximum(row.mean(axis=-2, keepdims=True), eps1)
                new_state = {"t": t, "row": row, "col": col}
            else:
                v = beta2_t * state.get("v", 0.0) + (1 - beta2_t) * g2
                new_state = {"t": t, "v": v}
            u = grad / np.maximum(np.sqrt(v), eps1)
            u = u / max(1.0, float(np.sqrt(np.mean(u * u))) / d)
            return param - alpha * u, new_state
        """),
    _wrong("adafactor-inplace-row-col", "adafactor", "row and col of the state updated in place with *= and +=", "in-place", """
        import numpy as np

        def adafactor(param, grad, state, *, lr=1e-2, beta2_decay=-0.8, eps1=None, eps2=1e-3, d=1.0):
            eps1 = np.finfo(param.dtype).eps if eps1 is None else eps1
            t = state.get("t", 0) + 1
            beta2_t = 1 - t ** beta2_decay
            alpha = max(eps2, float(np.sqrt(np.mean(param * param)))) * min(lr, 1 / t ** 0.5)
            g2 = grad * grad
            if param.ndim >= 2:
                if "row" in state:
                    row, col = state["row"], state["col"]
                    row *= beta2_t
                    row += (1 - beta2_t) * g2.mean(axis=-1)
                    col *= beta2_t
                    col += (1 - beta2_t) * g2.mean(axis=-2)
                else:
                    row, col = g2.mean(axis=-1), g2.mean(axis=-2)
                v = row[..., :, None] * col[..., None, :] / np.maximum(row.mean(axis=-1), eps1)[..., None, None]
                new_state = {"t": t, "row": row, "col": col}
            else:
                v = beta2_t * state.get("v", 0.0) + (1 - beta2_t) * g2
                new_state = {"t": t, "v": v}
            u = grad / np.maximum(np.sqrt(v), eps1)
            u = u / max(1.0, float(np.sqrt(np.mean(u * u))) / d)
            return param - alpha * u, new_state
        """),
    _wrong("adafactor-decay-exponent-sign", "adafactor", "β₂,t = 1 − t^(−beta2_decay): the exponent's sign flipped, so 1 − β₂,t grows with t",
           "formula", """
        import numpy as np

        def adafactor(param, grad, state, *, lr=1e-2, beta2_decay=-0.8, eps1=None, eps2=1e-3, d=1.0):
            eps1 = np.finfo(param.dtype).eps if eps1 is None else eps1
            t = state.get("t", 0) + 1
            beta2_t = 1 - t ** -beta2_decay
            alpha = max(eps2, float(np.sqrt(np.mean(param * param)))) * min(lr, 1 / t ** 0.5)
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
        """),
    _wrong("adafactor-rms-as-std", "adafactor", "RMS computed with np.std, which subtracts the mean first", "relative-step", """
        import numpy as np

        def adafactor(param, grad, state, *, lr=1e-2, beta2_decay=-0.8, eps1=None, eps2=1e-3, d=1.0):
            eps1 = np.finfo(param.dtype).eps if eps1 is None else eps1
            t = state.get("t", 0) + 1
            beta2_t = 1 - t ** beta2_decay
            alpha = max(eps2, float(np.std(param))) * min(lr, 1 / t ** 0.5)
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
            u = u / max(1.0, float(np.std(u)) / d)
            return param - alpha * u, new_state
        """),
    _right("adafactor-normalise-by-col-mean", "adafactor", """
        import numpy as np

        def adafactor(param, grad, state, *, lr=1e-2, beta2_decay=-0.8, eps1=None, eps2=1e-3, d=1.0):
            # mean(row) = mean(col) = the mean of g² (both average the same numbers), so either normalises v̂
            if eps1 is None:
                eps1 = np.finfo(param.dtype).eps
            t = state.get("t", 0) + 1
            w = t ** beta2_decay
            g2 = np.square(grad)
            if param.ndim < 2:
                v = state.get("v", np.zeros_like(param))
                v = v + w * (g2 - v)
                new_state = {"t": t, "v": v}
                v_hat = v
            else:
                row = state.get("row", np.zeros(param.shape[:-1], dtype=param.dtype))
                col = state.get("col", np.zeros(param.shape[:-2] + param.shape[-1:], dtype=param.dtype))
                row = row + w * (g2.mean(axis=-1) - row)
                col = col + w * (g2.mean(axis=-2) - col)
                denominator = np.maximum(col.mean(axis=-1, keepdims=True), eps1)
                v_hat = np.expand_dims(row, -1) * np.expand_dims(col / denominator, -2)
                new_state = {"t": t, "row": row, "col": col}
            u = grad / np.sqrt(np.maximum(v_hat, eps1 ** 2))
            rms_u = np.sqrt(np.mean(np.square(u)))
            scale = max(eps2, np.sqrt(np.mean(np.square(param)))) * min(lr, t ** -0.5) / max(1.0, rms_u / d)
            return param - float(scale) * u, new_state
        """),
    _right("adafactor-matrices-as-a-batch", "adafactor", """
        import math

        import numpy as np

        def _rms(x):
            return np.linalg.norm(x.ravel()) / math.sqrt(x.size)

        def adafactor(param, grad, state, *, lr=1e-2, beta2_decay=-0.8, eps1=None, eps2=1e-3, d=1.0):
            eps1 = float(np.finfo(param.dtype).eps) if eps1 is None else eps1
            t = int(state.get("t", 0)) + 1
            keep = 1.0 - t ** beta2_decay
            relative_step = min(lr, 1.0 / math.sqrt(t))
            size = max(eps2, float(_rms(param))) * relative_step
            g2 = grad * grad
            if param.ndim >= 2:
                n, k = param.shape[-2:]
                g2_batch = g2.reshape(-1, n, k)
                row = keep * state.get("row", 0.0) + (1 - keep) * g2_batch.mean(axis=2).reshape(param.shape[:-1])
                col = keep * state.get("col", 0.0) + (1 - keep) * g2_batch.mean(axis=1).reshape(param.shape[:-2] + (k,))
                r, c = row.reshape(-1, n), col.reshape(-1, k)
                floor = np.maximum(r.mean(axis=1), eps1)
                v_hat = np.einsum("bi,bj->bij", r, c) / floor[:, None, None]
                v_hat = v_hat.reshape(param.shape)
                new_state = {"t": t, "row": row, "col": col}
            else:
                v_hat = keep * state.get("v", 0.0) + (1 - keep) * g2
                new_state = {"t": t, "v": v_hat}
            u = grad / np.maximum(np.sqrt(v_hat), eps1)
            u = u / max(1.0, float(_rms(u)) / d)
            return param - size * u, new_state
        """),
]

assert len({e["id"] for e in BLIND}) == len(BLIND), "duplicate ids"
