'''A held-out ("blind") set of student implementations of the graded update rules.

How it was made: every entry was written from CONTRACT.md (the one signature and the
rule table) and the reference rules in ``lib/optilab/kernels.py`` only, imagining the
ways students actually get these rules wrong (PyTorch or Keras defaults, ε in the wrong
place, a forgotten or mis-timed bias correction, state that is misnamed, not carried over
or modified in place, float32 silently promoted to float64, ...). The grader's own catalogue
of mistakes and its diagnosis code were deliberately not read, so that this set can
measure how well the grader recognises mistakes it was not written against.

Each entry is a dict:

- ``id``: a short unique name, ``<rule>-<what went wrong>``;
- ``rule``: the graded rule (sgd, momentum, nesterov, adagrad, rmsprop, adam, adamw);
- ``source``: self-contained Python (only ``import numpy as np``) defining a function
  named like the rule, with the contract's signature;
- ``correct``: False for a mistake; True for a correct but unusual implementation
  (different algebra that is mathematically the same rule);
- ``wrong_part``: for a mistake, one short phrase in the student's terms saying which
  quantity, hyperparameter or step is wrong (None when correct);
- ``label``: for a mistake, one of default, epsilon, bias-correction, step-count,
  state-keys, state-carry, in-place, aliasing, decay, momentum, moment-order, dtype,
  shape, formula (None when correct).

This set is FROZEN. It must not be edited to fit the grader: if the grader misses or
misnames an entry, that is a finding about the grader, not a reason to change the entry.
(tests/blind/test_blind_set.py only checks, against optilab.kernels, that the correct
entries are correct and that every mistake really differs from the reference.)
'''

from textwrap import dedent

LABELS = ("default", "epsilon", "bias-correction", "step-count", "state-keys", "state-carry",
          "in-place", "aliasing", "decay", "momentum", "moment-order", "dtype", "shape", "formula")


def _wrong(id, rule, wrong_part, label, source):
    return {"id": id, "rule": rule, "source": dedent(source).lstrip("\n"), "correct": False,
            "wrong_part": wrong_part, "label": label}


def _right(id, rule, source):
    return {"id": id, "rule": rule, "source": dedent(source).lstrip("\n"), "correct": True,
            "wrong_part": None, "label": None}


BLIND = [
    # ------------------------------------------------------------------ sgd
    _wrong("sgd-default-lr-torch", "sgd", "default learning rate 1e-3 (PyTorch's) instead of 1e-2", "default", """
        import numpy as np

        def sgd(param, grad, state, *, lr=1e-3):
            return param - lr * grad, {}
        """),
    _wrong("sgd-inplace-param", "sgd", "parameter updated in place with -= and returned", "in-place", """
        import numpy as np

        def sgd(param, grad, state, *, lr=1e-2):
            param -= lr * grad
            return param, {}
        """),
    _wrong("sgd-ascent-sign", "sgd", "step added instead of subtracted (gradient ascent)", "formula", """
        import numpy as np

        def sgd(param, grad, state, *, lr=1e-2):
            new_param = param + lr * grad
            return new_param, {}
        """),
    _wrong("sgd-skip-zero-grad", "sgd", "returns the same param array and state dict when the gradient is zero",
           "aliasing", """
        import numpy as np

        def sgd(param, grad, state, *, lr=1e-2):
            if not np.any(grad):
                # nothing to do
                return param, state
            return param - lr * grad, {}
        """),
    _wrong("sgd-cast-float64", "sgd", "parameter cast to float64, so a float32 parameter comes back float64", "dtype", """
        import numpy as np

        def sgd(param, grad, state, *, lr=1e-2):
            p = np.asarray(param, dtype=np.float64)
            g = np.asarray(grad, dtype=np.float64)
            return p - lr * g, {}
        """),
    _wrong("sgd-atleast-1d", "sgd", "np.atleast_1d turns a 0-d parameter into shape (1,)", "shape", """
        import numpy as np

        def sgd(param, grad, state, *, lr=1e-2):
            p = np.atleast_1d(param)
            g = np.atleast_1d(grad)
            return p - lr * g, {}
        """),
    _right("sgd-ufuncs-out", "sgd", """
        import numpy as np

        def sgd(param, grad, state, *, lr=1e-2):
            step = np.empty_like(param)
            np.multiply(grad, lr, out=step)
            new_param = np.empty_like(param)
            np.subtract(param, step, out=new_param)
            return new_param, dict()
        """),

    # ------------------------------------------------------------------ momentum
    _wrong("momentum-ema-velocity", "momentum", "velocity as a moving average μ·v + (1−μ)·g instead of μ·v + g",
           "momentum", """
        import numpy as np

        def momentum(param, grad, state, *, lr=1e-2, momentum=0.9):
            v = state.get("velocity", np.zeros_like(param))
            v = momentum * v + (1 - momentum) * grad
            return param - lr * v, {"velocity": v}
        """),
    _wrong("momentum-sutskever-form", "momentum", "learning rate inside the velocity (v ← μv − lr·g, p ← p + v)",
           "momentum", """
        import numpy as np

        def momentum(param, grad, state, *, lr=1e-2, momentum=0.9):
            v = state.get("velocity", np.zeros_like(param))
            v = momentum * v - lr * grad
            return param + v, {"velocity": v}
        """),
    _wrong("momentum-step-with-old-velocity", "momentum", "parameter stepped with the old velocity before it is updated",
           "moment-order", """
        import numpy as np

        def momentum(param, grad, state, *, lr=1e-2, momentum=0.9):
            v = state.get("velocity", np.zeros_like(param))
            new_param = param - lr * v
            v = momentum * v + grad
            return new_param, {"velocity": v}
        """),
    _wrong("momentum-key-v", "momentum", "velocity stored under the key 'v' instead of 'velocity'", "state-keys", """
        import numpy as np

        def momentum(param, grad, state, *, lr=1e-2, momentum=0.9):
            v = momentum * state.get("v", 0.0) + grad
            return param - lr * v, {"v": v}
        """),
    _wrong("momentum-reads-other-key", "momentum", "velocity read from state['v'] but saved as 'velocity', so it restarts every step",
           "state-carry", """
        import numpy as np

        def momentum(param, grad, state, *, lr=1e-2, momentum=0.9):
            v = state.get("v", np.zeros_like(param))
            v = momentum * v + grad
            return param - lr * v, {"velocity": v}
        """),
    _wrong("momentum-inplace-velocity", "momentum", "velocity from the state updated in place with *= and +=", "in-place", """
        import numpy as np

        def momentum(param, grad, state, *, lr=1e-2, momentum=0.9):
            if "velocity" in state:
                v = state["velocity"]
            else:
                v = np.zeros_like(param)
            v *= momentum
            v += grad
            return param - lr * v, {"velocity": v}
        """),
    _wrong("momentum-default-mu-zero", "momentum", "default momentum 0 (PyTorch's SGD default) instead of 0.9", "default", """
        import numpy as np

        def momentum(param, grad, state, *, lr=1e-2, momentum=0.0):
            v = momentum * state.get("velocity", 0.0) + grad
            return param - lr * v, {"velocity": v}
        """),
    _right("momentum-copy-then-inplace", "momentum", """
        import numpy as np

        def momentum(param, grad, state, *, lr=1e-2, momentum=0.9):
            v = np.array(state.get("velocity", np.zeros_like(param)), copy=True)
            v *= momentum
            v += grad
            new_param = param.copy()
            new_param -= lr * v
            return new_param, {"velocity": v}
        """),
    _right("momentum-extra-state", "momentum", """
        import numpy as np

        def momentum(param, grad, state, *, lr=1e-2, momentum=0.9):
            steps = state.get("steps", 0) + 1
            if steps == 1:
                velocity = grad.copy()
            else:
                velocity = grad + momentum * state["velocity"]
            return param - lr * velocity, {"velocity": velocity, "steps": steps}
        """),

    # ------------------------------------------------------------------ nesterov
    _wrong("nesterov-old-velocity-lookahead", "nesterov", "look-ahead uses the old velocity μ·v_old instead of the updated one",
           "moment-order", """
        import numpy as np

        def nesterov(param, grad, state, *, lr=1e-2, momentum=0.9):
            v_old = state.get("velocity", np.zeros_like(param))
            new_param = param - lr * (grad + momentum * v_old)
            v = momentum * v_old + grad
            return new_param, {"velocity": v}
        """),
    _wrong("nesterov-no-lookahead", "nesterov", "step is lr·v (plain momentum), the look-ahead g + μ·v is missing", "formula", """
        import numpy as np

        def nesterov(param, grad, state, *, lr=1e-2, momentum=0.9):
            v = momentum * state.get("velocity", np.zeros_like(param)) + grad
            return param - lr * v, {"velocity": v}
        """),
    _wrong("nesterov-cs231n-form", "nesterov", "velocity kept in the CS231n/Sutskever form with the learning rate inside",
           "momentum", """
        import numpy as np

        def nesterov(param, grad, state, *, lr=1e-2, momentum=0.9):
            v_prev = state.get("velocity", np.zeros_like(param))
            v = momentum * v_prev - lr * grad
            new_param = param - momentum * v_prev + (1 + momentum) * v
            return new_param, {"velocity": v}
        """),
    _wrong("nesterov-default-lr-torch", "nesterov", "default learning rate 1e-3 instead of 1e-2", "default", """
        import numpy as np

        def nesterov(param, grad, state, *, lr=1e-3, momentum=0.9):
            v = momentum * state.get("velocity", np.zeros_like(param)) + grad
            return param - lr * (grad + momentum * v), {"velocity": v}
        """),
    _wrong("nesterov-velocity-is-grad", "nesterov", "first velocity is the grad array itself (no copy)", "aliasing", """
        import numpy as np

        def nesterov(param, grad, state, *, lr=1e-2, momentum=0.9):
            if "velocity" not in state:
                v = grad
            else:
                v = momentum * state["velocity"] + grad
            return param - lr * (grad + momentum * v), {"velocity": v}
        """),
    _wrong("nesterov-zeros-float64", "nesterov", "velocity starts as np.zeros(param.shape), float64 for a float32 parameter",
           "dtype", """
        import numpy as np

        def nesterov(param, grad, state, *, lr=1e-2, momentum=0.9):
            v = state.get("velocity", np.zeros(param.shape))
            v = momentum * v + grad
            return param - lr * (grad + momentum * v), {"velocity": v}
        """),
    _right("nesterov-expanded", "nesterov", """
        import numpy as np

        def nesterov(param, grad, state, *, lr=1e-2, momentum=0.9):
            v_old = state.get("velocity", np.zeros_like(param))
            v = momentum * v_old + grad
            # g + mu*(mu*v_old + g) = (1 + mu)*g + mu^2 * v_old
            step = (1 + momentum) * grad + momentum * momentum * v_old
            return param - lr * step, {"velocity": v}
        """),

    # ------------------------------------------------------------------ adagrad
    _wrong("adagrad-eps-inside-sqrt", "adagrad", "ε added inside the square root, √(s + ε)", "epsilon", """
        import numpy as np

        def adagrad(param, grad, state, *, lr=1e-2, eps=1e-10):
            s = state.get("sum_sq", np.zeros_like(param)) + grad ** 2
            return param - lr * grad / np.sqrt(s + eps), {"sum_sq": s}
        """),
    _wrong("adagrad-default-eps-keras", "adagrad", "default ε 1e-7 (Keras) instead of 1e-10", "default", """
        import numpy as np

        def adagrad(param, grad, state, *, lr=1e-2, eps=1e-7):
            s = state.get("sum_sq", np.zeros_like(param)) + grad ** 2
            return param - lr * grad / (np.sqrt(s) + eps), {"sum_sq": s}
        """),
    _wrong("adagrad-initial-accumulator", "adagrad", "sum of squares starts at 0.1 (Keras's initial_accumulator_value) instead of 0",
           "default", """
        import numpy as np

        def adagrad(param, grad, state, *, lr=1e-2, eps=1e-10):
            s = state.get("sum_sq", np.full_like(param, 0.1))
            s = s + grad * grad
            return param - lr * grad / (np.sqrt(s) + eps), {"sum_sq": s}
        """),
    _wrong("adagrad-eps-outside-division", "adagrad", "missing parentheses: ε added to the step, not to the denominator",
           "epsilon", """
        import numpy as np

        def adagrad(param, grad, state, *, lr=1e-2, eps=1e-10):
            s = state.get("sum_sq", 0) + grad ** 2
            new_param = param - lr * grad / np.sqrt(s) + eps
            return new_param, {"sum_sq": s}
        """),
    _wrong("adagrad-old-sum", "adagrad", "divides by the old sum of squares, before adding g²", "moment-order", """
        import numpy as np

        def adagrad(param, grad, state, *, lr=1e-2, eps=1e-10):
            s = state.get("sum_sq", np.zeros_like(param))
            new_param = param - lr * grad / (np.sqrt(s) + eps)
            s = s + grad ** 2
            return new_param, {"sum_sq": s}
        """),
    _wrong("adagrad-setdefault-inplace", "adagrad", "sum_sq created with state.setdefault and accumulated in place with +=",
           "in-place", """
        import numpy as np

        def adagrad(param, grad, state, *, lr=1e-2, eps=1e-10):
            s = state.setdefault("sum_sq", np.zeros_like(param))
            s += grad ** 2
            return param - lr * grad / (np.sqrt(s) + eps), {"sum_sq": s}
        """),
    _wrong("adagrad-lr-cached-in-state", "adagrad", "learning rate saved in the state on the first call and reused, ignoring later lr",
           "state-carry", """
        import numpy as np

        def adagrad(param, grad, state, *, lr=1e-2, eps=1e-10):
            lr = state.get("lr", lr)
            s = state.get("sum_sq", np.zeros_like(param)) + grad ** 2
            return param - lr * grad / (np.sqrt(s) + eps), {"sum_sq": s, "lr": lr}
        """),
    _wrong("adagrad-dot-product", "adagrad", "g² computed with np.dot (one number) instead of elementwise", "shape", """
        import numpy as np

        def adagrad(param, grad, state, *, lr=1e-2, eps=1e-10):
            s = state.get("sum_sq", 0.0) + np.dot(grad.ravel(), grad.ravel())
            return param - lr * grad / (np.sqrt(s) + eps), {"sum_sq": s}
        """),
    _right("adagrad-reciprocal", "adagrad", """
        import numpy as np

        def adagrad(param, grad, state, *, lr=1e-2, eps=1e-10):
            previous = state["sum_sq"] if "sum_sq" in state else np.zeros_like(param)
            s = np.add(previous, np.square(grad))
            inv = 1.0 / (np.sqrt(s) + eps)
            return param - lr * (grad * inv), {"sum_sq": s}
        """),

    # ------------------------------------------------------------------ rmsprop
    _wrong("rmsprop-default-rho-keras", "rmsprop", "default ρ 0.9 (Keras) instead of 0.99", "default", """
        import numpy as np

        def rmsprop(param, grad, state, *, lr=1e-2, rho=0.9, eps=1e-8):
            s = rho * state.get("sq_avg", np.zeros_like(param)) + (1 - rho) * grad ** 2
            return param - lr * grad / (np.sqrt(s) + eps), {"sq_avg": s}
        """),
    _wrong("rmsprop-eps-inside-sqrt", "rmsprop", "ε added inside the square root, √(s + ε)", "epsilon", """
        import numpy as np

        def rmsprop(param, grad, state, *, lr=1e-2, rho=0.99, eps=1e-8):
            s = rho * state.get("sq_avg", np.zeros_like(param)) + (1 - rho) * grad ** 2
            return param - lr * grad / np.sqrt(s + eps), {"sq_avg": s}
        """),
    _wrong("rmsprop-rho-swapped", "rmsprop", "ρ and 1−ρ swapped in the moving average: (1−ρ)·s + ρ·g²", "formula", """
        import numpy as np

        def rmsprop(param, grad, state, *, lr=1e-2, rho=0.99, eps=1e-8):
            s = (1 - rho) * state.get("sq_avg", np.zeros_like(param)) + rho * grad ** 2
            return param - lr * grad / (np.sqrt(s) + eps), {"sq_avg": s}
        """),
    _wrong("rmsprop-bias-corrected", "rmsprop", "Adam's bias correction s/(1−ρᵗ) added to RMSProp", "bias-correction", """
        import numpy as np

        def rmsprop(param, grad, state, *, lr=1e-2, rho=0.99, eps=1e-8):
            t = state.get("t", 0) + 1
            s = rho * state.get("sq_avg", np.zeros_like(param)) + (1 - rho) * grad ** 2
            s_hat = s / (1 - rho ** t)
            return param - lr * grad / (np.sqrt(s_hat) + eps), {"sq_avg": s, "t": t}
        """),
    _wrong("rmsprop-stores-rms", "rmsprop", "sq_avg holds the root √(ρs + (1−ρ)g²) instead of the mean square", "formula", """
        import numpy as np

        def rmsprop(param, grad, state, *, lr=1e-2, rho=0.99, eps=1e-8):
            rms = np.sqrt(rho * state.get("sq_avg", np.zeros_like(param)) + (1 - rho) * grad ** 2)
            return param - lr * grad / (rms + eps), {"sq_avg": rms}
        """),
    _wrong("rmsprop-global-mean", "rmsprop", "one mean square over all entries (np.mean(g**2)) instead of one per entry", "shape", """
        import numpy as np

        def rmsprop(param, grad, state, *, lr=1e-2, rho=0.99, eps=1e-8):
            s = rho * state.get("sq_avg", 0.0) + (1 - rho) * np.mean(grad ** 2)
            return param - lr * grad / (np.sqrt(s) + eps), {"sq_avg": s}
        """),
    _wrong("rmsprop-writes-into-state", "rmsprop", "writes sq_avg into the given state dict and returns that same dict", "in-place", """
        import numpy as np

        def rmsprop(param, grad, state, *, lr=1e-2, rho=0.99, eps=1e-8):
            if "sq_avg" not in state:
                state["sq_avg"] = np.zeros_like(param)
            state["sq_avg"] = rho * state["sq_avg"] + (1 - rho) * grad ** 2
            return param - lr * grad / (np.sqrt(state["sq_avg"]) + eps), state
        """),
    _wrong("rmsprop-astype-float", "rmsprop", "gradient converted with astype(float), so float32 turns into float64", "dtype", """
        import numpy as np

        def rmsprop(param, grad, state, *, lr=1e-2, rho=0.99, eps=1e-8):
            g = grad.astype(float)
            s = rho * state.get("sq_avg", 0.0) + (1 - rho) * g * g
            return param - lr * g / (np.sqrt(s) + eps), {"sq_avg": s}
        """),
    _right("rmsprop-lerp", "rmsprop", """
        import numpy as np

        def rmsprop(param, grad, state, *, lr=1e-2, rho=0.99, eps=1e-8):
            s = state.get("sq_avg", np.zeros_like(param))
            s = s + (1 - rho) * (grad * grad - s)   # lerp towards g^2
            denom = np.sqrt(s)
            denom += eps                              # a fresh array, safe to modify
            return param - lr * grad / denom, {"sq_avg": s}
        """),

    # ------------------------------------------------------------------ adam
    _wrong("adam-eps-inside-sqrt", "adam", "ε added inside the square root, √(v̂ + ε)", "epsilon", """
        import numpy as np

        def adam(param, grad, state, *, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
            t = state.get("t", 0) + 1
            m = beta1 * state.get("m", np.zeros_like(param)) + (1 - beta1) * grad
            v = beta2 * state.get("v", np.zeros_like(param)) + (1 - beta2) * grad ** 2
            m_hat = m / (1 - beta1 ** t)
            v_hat = v / (1 - beta2 ** t)
            return param - lr * m_hat / np.sqrt(v_hat + eps), {"t": t, "m": m, "v": v}
        """),
    _wrong("adam-no-bias-correction", "adam", "no bias correction: divides m by √v directly", "bias-correction", """
        import numpy as np

        def adam(param, grad, state, *, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
            t = state.get("t", 0) + 1
            m = beta1 * state.get("m", np.zeros_like(param)) + (1 - beta1) * grad
            v = beta2 * state.get("v", np.zeros_like(param)) + (1 - beta2) * grad ** 2
            return param - lr * m / (np.sqrt(v) + eps), {"t": t, "m": m, "v": v}
        """),
    _wrong("adam-t-incremented-last", "adam", "bias correction uses t before it is incremented (t starts at 0)", "step-count", """
        import numpy as np

        def adam(param, grad, state, *, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
            t = state.get("t", 0)
            m = beta1 * state.get("m", np.zeros_like(param)) + (1 - beta1) * grad
            v = beta2 * state.get("v", np.zeros_like(param)) + (1 - beta2) * grad ** 2
            m_hat = m / (1 - beta1 ** t)
            v_hat = v / (1 - beta2 ** t)
            new_param = param - lr * m_hat / (np.sqrt(v_hat) + eps)
            t += 1
            return new_param, {"t": t, "m": m, "v": v}
        """),
    _wrong("adam-t-never-incremented", "adam", "step count read with default 1 and never incremented, so t stays 1", "step-count", """
        import numpy as np

        def adam(param, grad, state, *, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
            t = state.get("t", 1)
            m = beta1 * state.get("m", np.zeros_like(param)) + (1 - beta1) * grad
            v = beta2 * state.get("v", np.zeros_like(param)) + (1 - beta2) * grad ** 2
            m_hat = m / (1 - beta1 ** t)
            v_hat = v / (1 - beta2 ** t)
            return param - lr * m_hat / (np.sqrt(v_hat) + eps), {"t": t, "m": m, "v": v}
        """),
    _wrong("adam-key-step", "adam", "step count stored under 'step' (PyTorch's name) instead of 't'", "state-keys", """
        import numpy as np

        def adam(param, grad, state, *, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
            step = state.get("step", 0) + 1
            m = beta1 * state.get("m", np.zeros_like(param)) + (1 - beta1) * grad
            v = beta2 * state.get("v", np.zeros_like(param)) + (1 - beta2) * grad ** 2
            m_hat = m / (1 - beta1 ** step)
            v_hat = v / (1 - beta2 ** step)
            return param - lr * m_hat / (np.sqrt(v_hat) + eps), {"step": step, "m": m, "v": v}
        """),
    _wrong("adam-only-m-corrected", "adam", "bias correction applied to m only, v left uncorrected", "bias-correction", """
        import numpy as np

        def adam(param, grad, state, *, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
            t = state.get("t", 0) + 1
            m = beta1 * state.get("m", np.zeros_like(param)) + (1 - beta1) * grad
            v = beta2 * state.get("v", np.zeros_like(param)) + (1 - beta2) * grad ** 2
            m_hat = m / (1 - beta1 ** t)
            return param - lr * m_hat / (np.sqrt(v) + eps), {"t": t, "m": m, "v": v}
        """),
    _wrong("adam-v-from-m", "adam", "second moment built from m² instead of g²", "formula", """
        import numpy as np

        def adam(param, grad, state, *, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
            t = state.get("t", 0) + 1
            m = beta1 * state.get("m", np.zeros_like(param)) + (1 - beta1) * grad
            v = beta2 * state.get("v", np.zeros_like(param)) + (1 - beta2) * m ** 2
            m_hat = m / (1 - beta1 ** t)
            v_hat = v / (1 - beta2 ** t)
            return param - lr * m_hat / (np.sqrt(v_hat) + eps), {"t": t, "m": m, "v": v}
        """),
    _wrong("adam-default-eps-keras", "adam", "default ε 1e-7 (Keras) instead of 1e-8", "default", """
        import numpy as np

        def adam(param, grad, state, *, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-7):
            t = state.get("t", 0) + 1
            m = beta1 * state.get("m", np.zeros_like(param)) + (1 - beta1) * grad
            v = beta2 * state.get("v", np.zeros_like(param)) + (1 - beta2) * grad ** 2
            m_hat = m / (1 - beta1 ** t)
            v_hat = v / (1 - beta2 ** t)
            return param - lr * m_hat / (np.sqrt(v_hat) + eps), {"t": t, "m": m, "v": v}
        """),
    _wrong("adam-zeros-float64", "adam", "moments start as np.zeros(param.shape), float64 for a float32 parameter", "dtype", """
        import numpy as np

        def adam(param, grad, state, *, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
            if not state:
                state = {"t": 0, "m": np.zeros(param.shape), "v": np.zeros(param.shape)}
            t = state["t"] + 1
            m = beta1 * state["m"] + (1 - beta1) * grad
            v = beta2 * state["v"] + (1 - beta2) * grad ** 2
            m_hat = m / (1 - beta1 ** t)
            v_hat = v / (1 - beta2 ** t)
            return param - lr * m_hat / (np.sqrt(v_hat) + eps), {"t": t, "m": m, "v": v}
        """),
    _wrong("adam-inplace-moments", "adam", "m and v from the state updated in place with *= and +=", "in-place", """
        import numpy as np

        def adam(param, grad, state, *, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
            t = state.get("t", 0) + 1
            m = state.get("m", np.zeros_like(param))
            v = state.get("v", np.zeros_like(param))
            m *= beta1
            m += (1 - beta1) * grad
            v *= beta2
            v += (1 - beta2) * grad * grad
            m_hat = m / (1 - beta1 ** t)
            v_hat = v / (1 - beta2 ** t)
            return param - lr * m_hat / (np.sqrt(v_hat) + eps), {"t": t, "m": m, "v": v}
        """),
    _wrong("adam-beta-times-t", "adam", "bias correction 1 − β·t instead of 1 − βᵗ", "bias-correction", """
        import numpy as np

        def adam(param, grad, state, *, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
            t = state.get("t", 0) + 1
            m = beta1 * state.get("m", np.zeros_like(param)) + (1 - beta1) * grad
            v = beta2 * state.get("v", np.zeros_like(param)) + (1 - beta2) * grad ** 2
            m_hat = m / (1 - beta1 * t)
            v_hat = v / (1 - beta2 * t)
            return param - lr * m_hat / (np.sqrt(v_hat) + eps), {"t": t, "m": m, "v": v}
        """),
    _wrong("adam-efficient-form-eps", "adam", "Kingma's fast form with lr_t but ε added to √v without the √(1−β₂ᵗ) factor",
           "epsilon", """
        import numpy as np

        def adam(param, grad, state, *, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
            t = state.get("t", 0) + 1
            m = beta1 * state.get("m", np.zeros_like(param)) + (1 - beta1) * grad
            v = beta2 * state.get("v", np.zeros_like(param)) + (1 - beta2) * grad ** 2
            lr_t = lr * (1 - beta2 ** t) ** 0.5 / (1 - beta1 ** t)
            return param - lr_t * m / (np.sqrt(v) + eps), {"t": t, "m": m, "v": v}
        """),
    _wrong("adam-floor-division", "adam", "// instead of / in the step size lr·√(1−β₂ᵗ)/(1−β₁ᵗ), which floors it to 0",
           "formula", """
        import numpy as np

        def adam(param, grad, state, *, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
            t = state.get("t", 0) + 1
            m = beta1 * state.get("m", np.zeros_like(param)) + (1 - beta1) * grad
            v = beta2 * state.get("v", np.zeros_like(param)) + (1 - beta2) * grad ** 2
            lr_t = lr * (1 - beta2 ** t) ** 0.5 // (1 - beta1 ** t)
            eps_hat = eps * (1 - beta2 ** t) ** 0.5
            return param - lr_t * m / (np.sqrt(v) + eps_hat), {"t": t, "m": m, "v": v}
        """),
    _wrong("adam-skip-zero-grad", "adam", "returns param and state unchanged when the gradient is zero, so t and the moments stop",
           "aliasing", """
        import numpy as np

        def adam(param, grad, state, *, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
            if np.all(grad == 0):
                return param, state
            t = state.get("t", 0) + 1
            m = beta1 * state.get("m", np.zeros_like(param)) + (1 - beta1) * grad
            v = beta2 * state.get("v", np.zeros_like(param)) + (1 - beta2) * grad ** 2
            m_hat = m / (1 - beta1 ** t)
            v_hat = v / (1 - beta2 ** t)
            return param - lr * m_hat / (np.sqrt(v_hat) + eps), {"t": t, "m": m, "v": v}
        """),
    _right("adam-efficient-form", "adam", """
        import numpy as np

        def adam(param, grad, state, *, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
            # Kingma & Ba, end of section 2: fold the bias corrections into the step size,
            # and scale eps so that it still sits after the square root of v-hat.
            t = state.get("t", 0) + 1
            m = beta1 * state.get("m", np.zeros_like(param)) + (1 - beta1) * grad
            v = beta2 * state.get("v", np.zeros_like(param)) + (1 - beta2) * grad ** 2
            c2 = (1 - beta2 ** t) ** 0.5   # a Python float keeps float32 float32
            lr_t = lr * c2 / (1 - beta1 ** t)
            eps_hat = eps * c2
            return param - lr_t * m / (np.sqrt(v) + eps_hat), {"t": t, "m": m, "v": v}
        """),
    _right("adam-lerp-out", "adam", """
        import numpy as np

        def adam(param, grad, state, *, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
            t = int(state.get("t", 0)) + 1
            m_old = state.get("m", np.zeros_like(param))
            v_old = state.get("v", np.zeros_like(param))
            m = np.empty_like(param)
            np.add(m_old, (1 - beta1) * (grad - m_old), out=m)          # lerp(m, g, 1 - beta1)
            v = np.empty_like(param)
            np.add(v_old, (1 - beta2) * (np.square(grad) - v_old), out=v)
            denom = np.sqrt(v / (1 - beta2 ** t)) + eps
            new_param = np.subtract(param, (lr / (1 - beta1 ** t)) * m / denom)
            return new_param, {"m": m, "v": v, "t": t}
        """),

    # ------------------------------------------------------------------ adamw
    _wrong("adamw-l2-in-gradient", "adamw", "weight decay added to the gradient (L2, g + λp) instead of decoupled", "decay", """
        import numpy as np

        def adamw(param, grad, state, *, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=1e-2):
            g = grad + weight_decay * param
            t = state.get("t", 0) + 1
            m = beta1 * state.get("m", np.zeros_like(param)) + (1 - beta1) * g
            v = beta2 * state.get("v", np.zeros_like(param)) + (1 - beta2) * g ** 2
            m_hat = m / (1 - beta1 ** t)
            v_hat = v / (1 - beta2 ** t)
            return param - lr * m_hat / (np.sqrt(v_hat) + eps), {"t": t, "m": m, "v": v}
        """),
    _wrong("adamw-decay-not-times-lr", "adamw", "decay step λ·p not multiplied by the learning rate", "decay", """
        import numpy as np

        def adamw(param, grad, state, *, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=1e-2):
            p = param - weight_decay * param
            t = state.get("t", 0) + 1
            m = beta1 * state.get("m", np.zeros_like(param)) + (1 - beta1) * grad
            v = beta2 * state.get("v", np.zeros_like(param)) + (1 - beta2) * grad ** 2
            m_hat = m / (1 - beta1 ** t)
            v_hat = v / (1 - beta2 ** t)
            return p - lr * m_hat / (np.sqrt(v_hat) + eps), {"t": t, "m": m, "v": v}
        """),
    _wrong("adamw-decay-after-step", "adamw", "decay applied to the parameter after the Adam step instead of before", "decay", """
        import numpy as np

        def adamw(param, grad, state, *, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=1e-2):
            t = state.get("t", 0) + 1
            m = beta1 * state.get("m", np.zeros_like(param)) + (1 - beta1) * grad
            v = beta2 * state.get("v", np.zeros_like(param)) + (1 - beta2) * grad ** 2
            m_hat = m / (1 - beta1 ** t)
            v_hat = v / (1 - beta2 ** t)
            p = param - lr * m_hat / (np.sqrt(v_hat) + eps)
            p = p - lr * weight_decay * p
            return p, {"t": t, "m": m, "v": v}
        """),
    _wrong("adamw-default-no-decay", "adamw", "default weight_decay 0 (copied from Adam) instead of 1e-2", "default", """
        import numpy as np

        def adamw(param, grad, state, *, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0):
            p = param * (1 - lr * weight_decay)
            t = state.get("t", 0) + 1
            m = beta1 * state.get("m", np.zeros_like(param)) + (1 - beta1) * grad
            v = beta2 * state.get("v", np.zeros_like(param)) + (1 - beta2) * grad ** 2
            m_hat = m / (1 - beta1 ** t)
            v_hat = v / (1 - beta2 ** t)
            return p - lr * m_hat / (np.sqrt(v_hat) + eps), {"t": t, "m": m, "v": v}
        """),
    _wrong("adamw-no-bias-correction", "adamw", "no bias correction of m and v", "bias-correction", """
        import numpy as np

        def adamw(param, grad, state, *, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=1e-2):
            p = param - lr * weight_decay * param
            t = state.get("t", 0) + 1
            m = beta1 * state.get("m", np.zeros_like(param)) + (1 - beta1) * grad
            v = beta2 * state.get("v", np.zeros_like(param)) + (1 - beta2) * grad ** 2
            return p - lr * m / (np.sqrt(v) + eps), {"t": t, "m": m, "v": v}
        """),
    _wrong("adamw-t-starts-at-one", "adamw", "step count starts at 1 and is incremented before use, so the first step uses t = 2",
           "step-count", """
        import numpy as np

        def adamw(param, grad, state, *, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=1e-2):
            p = param - lr * weight_decay * param
            t = state.get("t", 1) + 1
            m = beta1 * state.get("m", np.zeros_like(param)) + (1 - beta1) * grad
            v = beta2 * state.get("v", np.zeros_like(param)) + (1 - beta2) * grad ** 2
            m_hat = m / (1 - beta1 ** t)
            v_hat = v / (1 - beta2 ** t)
            return p - lr * m_hat / (np.sqrt(v_hat) + eps), {"t": t, "m": m, "v": v}
        """),
    _wrong("adamw-inplace-decay", "adamw", "parameter decayed in place with param *= (1 − lr·λ)", "in-place", """
        import numpy as np

        def adamw(param, grad, state, *, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=1e-2):
            param *= 1 - lr * weight_decay
            t = state.get("t", 0) + 1
            m = beta1 * state.get("m", np.zeros_like(param)) + (1 - beta1) * grad
            v = beta2 * state.get("v", np.zeros_like(param)) + (1 - beta2) * grad ** 2
            m_hat = m / (1 - beta1 ** t)
            v_hat = v / (1 - beta2 ** t)
            return param - lr * m_hat / (np.sqrt(v_hat) + eps), {"t": t, "m": m, "v": v}
        """),
    _wrong("adamw-torch-key-names", "adamw", "moments stored as 'exp_avg' and 'exp_avg_sq' (PyTorch's names) instead of 'm' and 'v'",
           "state-keys", """
        import numpy as np

        def adamw(param, grad, state, *, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=1e-2):
            p = param * (1 - lr * weight_decay)
            t = state.get("t", 0) + 1
            exp_avg = beta1 * state.get("exp_avg", np.zeros_like(param)) + (1 - beta1) * grad
            exp_avg_sq = beta2 * state.get("exp_avg_sq", np.zeros_like(param)) + (1 - beta2) * grad * grad
            denom = np.sqrt(exp_avg_sq / (1 - beta2 ** t)) + eps
            p = p - lr / (1 - beta1 ** t) * exp_avg / denom
            return p, {"t": t, "exp_avg": exp_avg, "exp_avg_sq": exp_avg_sq}
        """),
    _wrong("adamw-step-with-old-moments", "adamw", "step computed from the old m and v, before they are updated with g",
           "moment-order", """
        import numpy as np

        def adamw(param, grad, state, *, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=1e-2):
            t = state.get("t", 0) + 1
            m = state.get("m", np.zeros_like(param))
            v = state.get("v", np.zeros_like(param))
            m_hat = m / (1 - beta1 ** t)
            v_hat = v / (1 - beta2 ** t)
            p = param - lr * weight_decay * param - lr * m_hat / (np.sqrt(v_hat) + eps)
            m = beta1 * m + (1 - beta1) * grad
            v = beta2 * v + (1 - beta2) * grad ** 2
            return p, {"t": t, "m": m, "v": v}
        """),
    _right("adamw-decay-in-update", "adamw", """
        import numpy as np

        def adamw(param, grad, state, *, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=1e-2):
            t = state.get("t", 0) + 1
            m = beta1 * state.get("m", np.zeros_like(param)) + (1 - beta1) * grad
            v = beta2 * state.get("v", np.zeros_like(param)) + (1 - beta2) * grad ** 2
            m_hat = m / (1 - beta1 ** t)
            v_hat = v / (1 - beta2 ** t)
            # decoupled: lambda*p sits next to the Adam direction, outside its denominator
            update = m_hat / (np.sqrt(v_hat) + eps) + weight_decay * param
            return param - lr * update, {"t": t, "m": m, "v": v}
        """),
    _right("adamw-helper-adam", "adamw", """
        import numpy as np

        def _adam_direction(grad, state, beta1, beta2, eps):
            t = state.get("t", 0) + 1
            m = beta1 * state.get("m", 0.0) + (1.0 - beta1) * grad
            v = beta2 * state.get("v", 0.0) + (1.0 - beta2) * np.square(grad)
            direction = (m / (1.0 - beta1 ** t)) / (np.sqrt(v / (1.0 - beta2 ** t)) + eps)
            return direction, {"t": t, "m": m, "v": v}

        def adamw(param, grad, state, *, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=1e-2):
            direction, new_state = _adam_direction(grad, state, beta1, beta2, eps)
            shrunk = param * (1.0 - lr * weight_decay)
            return shrunk - lr * direction, new_state
        """),
]

assert len({e["id"] for e in BLIND}) == len(BLIND), "duplicate ids"
