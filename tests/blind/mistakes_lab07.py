'''A held-out ("blind") set of student answers to lab 7: the warm-up + cosine schedule, clipping by
the global norm (``clip_grads`` and ``clip_by_global_norm`` around any rule), SAM, and a
warm-up-stable-decay schedule.

How it was made: every entry was written from CONTRACT.md (its clause "Whole-model steps"), the
instructions of lab 7 (``solutions/lab07_training_in_practice``) and the library's references
(``optilab.schedules``, ``optilab.whole_model``, ``optilab.model_rules``) only, imagining how students
get these answers wrong (an off-by-one at either end of the warm-up, a cosine that does not start at
the peak or does not reach the floor, clipping each array on its own or when the norm is below the
threshold, gradients scaled in place, one state shared by every parameter, SAM's ascent not
normalised or its second gradient taken at the wrong point, ...). The grader's own catalogue of
mistakes, its diagnoses and its checks were deliberately not read, so that this set can measure how
well the grader recognises mistakes it was not written against.

Each entry is a dict:

- ``id``: a short unique name, ``<part>-<what went wrong>``;
- ``part``: the answer it replaces: ``schedule`` (``warmup_cosine``), ``clip_grads``, ``clip``
  (``clip_by_global_norm``; its source also defines a correct ``clip_grads``, which the lab's
  instructions say it should call), ``sam``, or ``wsd`` (``warmup_stable_decay``: the lab grades no
  such answer; these entries are checked against ``optilab.schedules`` only);
- ``source``: self-contained Python (``import math`` and ``import numpy as np`` only) defining the
  part's function(s) (:data:`FUNCTIONS`), with the signatures of the lab's answer cells;
- ``correct``, ``wrong_part``, ``label``: as in ``tests/blind/mistakes.py``; ``label`` is one of
  :data:`LABELS`.

This set is FROZEN. It must not be edited to fit the grader: if the grader misses or misnames an
entry, that is a finding about the grader, not a reason to change the entry.
(tests/blind/test_blind_lab07.py checks, against the library's references, that the correct entries
are correct and that every mistake really differs from the reference.)
'''

from textwrap import dedent

LABELS = ("off-by-one", "floor", "hold", "formula", "per-array", "condition", "norm", "in-place", "zero",
          "dtype", "state-carry", "hyperparameters", "wrong-point", "normalisation", "calls", "default")

#: The functions each part's source defines (the last is the one graded).
FUNCTIONS = {"schedule": ("warmup_cosine",), "wsd": ("warmup_stable_decay",), "clip_grads": ("clip_grads",),
             "clip": ("clip_grads", "clip_by_global_norm"), "sam": ("sam",)}

#: A correct ``clip_grads``, as a student who got section 2's first answer right wrote it; the
#: ``clip`` entries start from it.
CLIP_GRADS = '''
import math

import numpy as np


def clip_grads(grads, max_norm):
    norm = math.sqrt(sum(float(np.sum(g * g)) for g in grads.values()))
    factor = min(1.0, max_norm / norm) if norm > 0 else 1.0
    return {name: g * factor for name, g in grads.items()}
'''


def _wrong(id, part, wrong_part, label, source):
    source = dedent(source).lstrip("\n")
    if part == "clip":
        source = CLIP_GRADS.lstrip("\n") + "\n\n" + source
    return {"id": id, "part": part, "source": source, "correct": False, "wrong_part": wrong_part, "label": label}


def _right(id, part, source):
    source = dedent(source).lstrip("\n")
    if part == "clip":
        source = CLIP_GRADS.lstrip("\n") + "\n\n" + source
    return {"id": id, "part": part, "source": source, "correct": True, "wrong_part": None, "label": None}


BLIND = [
    # ------------------------------------------------------------------ warmup_cosine
    _wrong("schedule-warmup-starts-at-zero", "schedule", "warm-up lr·t/W: the first step has lr 0 and step W−1 does not reach lr",
           "off-by-one", """
        import math

        def warmup_cosine(step, *, lr=0.1, warmup_steps=100, total_steps=1000, lr_min=0.0):
            if step < warmup_steps:
                return lr * step / warmup_steps
            progress = (min(step, total_steps) - warmup_steps) / (total_steps - warmup_steps)
            return lr_min + 0.5 * (lr - lr_min) * (1.0 + math.cos(math.pi * progress))
        """),
    _wrong("schedule-warmup-includes-W", "schedule", "warm-up for t ≤ W, so step W has lr·(W+1)/W, above the peak",
           "off-by-one", """
        import math

        def warmup_cosine(step, *, lr=0.1, warmup_steps=100, total_steps=1000, lr_min=0.0):
            if step <= warmup_steps:
                return lr * (step + 1) / warmup_steps
            progress = (min(step, total_steps) - warmup_steps) / (total_steps - warmup_steps)
            return lr_min + 0.5 * (lr - lr_min) * (1.0 + math.cos(math.pi * progress))
        """),
    _wrong("schedule-warmup-over-W-minus-1", "schedule", "warm-up lr·t/(W−1): starts at 0 (reaches lr at step W−1)",
           "off-by-one", """
        import math

        def warmup_cosine(step, *, lr=0.1, warmup_steps=100, total_steps=1000, lr_min=0.0):
            if step < warmup_steps:
                return lr * step / max(warmup_steps - 1, 1)
            progress = (min(step, total_steps) - warmup_steps) / (total_steps - warmup_steps)
            return lr_min + 0.5 * (lr - lr_min) * (1.0 + math.cos(math.pi * progress))
        """),
    _wrong("schedule-progress-from-zero", "schedule", "cosine progress t/T counted from step 0, not from the end of the warm-up",
           "formula", """
        import math

        def warmup_cosine(step, *, lr=0.1, warmup_steps=100, total_steps=1000, lr_min=0.0):
            if step < warmup_steps:
                return lr * (step + 1) / warmup_steps
            progress = min(step, total_steps) / total_steps
            return lr_min + 0.5 * (lr - lr_min) * (1.0 + math.cos(math.pi * progress))
        """),
    _wrong("schedule-progress-over-T", "schedule", "progress (t − W)/T: the cosine has not reached the floor at step T",
           "floor", """
        import math

        def warmup_cosine(step, *, lr=0.1, warmup_steps=100, total_steps=1000, lr_min=0.0):
            if step < warmup_steps:
                return lr * (step + 1) / warmup_steps
            progress = (min(step, total_steps) - warmup_steps) / total_steps
            return lr_min + 0.5 * (lr - lr_min) * (1.0 + math.cos(math.pi * progress))
        """),
    _wrong("schedule-ignores-floor", "schedule", "the cosine decays to 0, lr_min is never used", "floor", """
        import math

        def warmup_cosine(step, *, lr=0.1, warmup_steps=100, total_steps=1000, lr_min=0.0):
            if step < warmup_steps:
                return lr * (step + 1) / warmup_steps
            progress = (min(step, total_steps) - warmup_steps) / (total_steps - warmup_steps)
            return 0.5 * lr * (1.0 + math.cos(math.pi * progress))
        """),
    _wrong("schedule-floor-added", "schedule", "lr_min added to a cosine of the full lr: starts at lr + lr_min", "floor", """
        import math

        def warmup_cosine(step, *, lr=0.1, warmup_steps=100, total_steps=1000, lr_min=0.0):
            if step < warmup_steps:
                return lr * (step + 1) / warmup_steps
            progress = (min(step, total_steps) - warmup_steps) / (total_steps - warmup_steps)
            return lr_min + 0.5 * lr * (1.0 + math.cos(math.pi * progress))
        """),
    _wrong("schedule-no-hold-after-T", "schedule", "progress not clamped at T: after step T the cosine rises again",
           "hold", """
        import math

        def warmup_cosine(step, *, lr=0.1, warmup_steps=100, total_steps=1000, lr_min=0.0):
            if step < warmup_steps:
                return lr * (step + 1) / warmup_steps
            progress = (step - warmup_steps) / (total_steps - warmup_steps)
            return lr_min + 0.5 * (lr - lr_min) * (1.0 + math.cos(math.pi * progress))
        """),
    _wrong("schedule-zero-after-T", "schedule", "after step T the rate drops to 0 instead of staying at lr_min", "hold", """
        import math

        def warmup_cosine(step, *, lr=0.1, warmup_steps=100, total_steps=1000, lr_min=0.0):
            if step < warmup_steps:
                return lr * (step + 1) / warmup_steps
            if step > total_steps:
                return 0.0
            progress = (step - warmup_steps) / (total_steps - warmup_steps)
            return lr_min + 0.5 * (lr - lr_min) * (1.0 + math.cos(math.pi * progress))
        """),
    _wrong("schedule-integer-division", "schedule", "warm-up with // : (t + 1) // W is 0 until the last warm-up step",
           "formula", """
        import math

        def warmup_cosine(step, *, lr=0.1, warmup_steps=100, total_steps=1000, lr_min=0.0):
            if step < warmup_steps:
                return lr * ((step + 1) // warmup_steps)
            progress = (min(step, total_steps) - warmup_steps) / (total_steps - warmup_steps)
            return lr_min + 0.5 * (lr - lr_min) * (1.0 + math.cos(math.pi * progress))
        """),
    _wrong("schedule-linear-decay", "schedule", "a linear decay from lr to lr_min instead of half a cosine", "formula", """
        def warmup_cosine(step, *, lr=0.1, warmup_steps=100, total_steps=1000, lr_min=0.0):
            if step < warmup_steps:
                return lr * (step + 1) / warmup_steps
            progress = (min(step, total_steps) - warmup_steps) / (total_steps - warmup_steps)
            return lr - (lr - lr_min) * progress
        """),
    _wrong("schedule-cosine-degrees", "schedule", "math.cos of 180·p (degrees) instead of π·p (radians)", "formula", """
        import math

        def warmup_cosine(step, *, lr=0.1, warmup_steps=100, total_steps=1000, lr_min=0.0):
            if step < warmup_steps:
                return lr * (step + 1) / warmup_steps
            progress = (min(step, total_steps) - warmup_steps) / (total_steps - warmup_steps)
            return lr_min + 0.5 * (lr - lr_min) * (1.0 + math.cos(180 * progress))
        """),
    _right("schedule-cos-squared", "schedule", """
        import math

        def warmup_cosine(step, *, lr=0.1, warmup_steps=100, total_steps=1000, lr_min=0.0):
            # (1 + cos x)/2 = cos²(x/2)
            if step >= total_steps:
                return float(lr_min)
            if step >= warmup_steps:
                progress = (step - warmup_steps) / (total_steps - warmup_steps)
                return lr_min + (lr - lr_min) * math.cos(math.pi * progress / 2) ** 2
            return lr * (step + 1) / warmup_steps
        """),
    _right("schedule-numpy-min-ramp", "schedule", """
        import numpy as np

        def warmup_cosine(step, *, lr=0.1, warmup_steps=100, total_steps=1000, lr_min=0.0):
            ramp = min(1.0, (step + 1) / warmup_steps)
            if step < warmup_steps:
                return float(lr * ramp)
            t = np.clip(step, warmup_steps, total_steps)
            fraction = (t - warmup_steps) / (total_steps - warmup_steps)
            return float(lr_min + (lr - lr_min) * (1 + np.cos(np.pi * fraction)) / 2)
        """),

    # ------------------------------------------------------------------ warmup_stable_decay (not graded by lab 7)
    _wrong("wsd-decay-starts-late", "wsd", "the decay starts at step T (not T − D), so the floor is reached D steps late",
           "formula", """
        def warmup_stable_decay(step, *, lr=0.1, warmup_steps=100, total_steps=1000, decay_steps=200, lr_min=0.0):
            if step < warmup_steps:
                return lr * (step + 1) / warmup_steps
            if step < total_steps:
                return lr
            return lr - (lr - lr_min) * min(step - total_steps, decay_steps) / decay_steps
        """),
    _wrong("wsd-decay-counted-from-warmup", "wsd", "the decay's progress counted from the end of the warm-up", "formula", """
        def warmup_stable_decay(step, *, lr=0.1, warmup_steps=100, total_steps=1000, decay_steps=200, lr_min=0.0):
            if step < warmup_steps:
                return lr * (step + 1) / warmup_steps
            if step < total_steps - decay_steps:
                return lr
            progress = min((step - warmup_steps) / (total_steps - warmup_steps), 1.0)
            return lr - (lr - lr_min) * progress
        """),
    _right("wsd-piecewise-min", "wsd", """
        def warmup_stable_decay(step, *, lr=0.1, warmup_steps=100, total_steps=1000, decay_steps=200, lr_min=0.0):
            warm = lr * min(1.0, (step + 1) / warmup_steps)
            remaining = total_steps - step
            if remaining >= decay_steps or step < warmup_steps:
                return warm
            return lr_min + (lr - lr_min) * max(remaining, 0) / decay_steps
        """),

    # ------------------------------------------------------------------ clip_grads
    _wrong("clip_grads-per-array", "clip_grads", "each array clipped by its own norm, not the norm of all of them",
           "per-array", """
        import numpy as np

        def clip_grads(grads, max_norm):
            clipped = {}
            for name, g in grads.items():
                norm = float(np.sqrt(np.sum(g * g)))
                clipped[name] = g * min(1.0, max_norm / norm) if norm > 0 else g.copy()
            return clipped
        """),
    _wrong("clip_grads-always-rescales", "clip_grads", "always scaled by max_norm/‖g‖, so small gradients are scaled up",
           "condition", """
        import numpy as np

        def clip_grads(grads, max_norm):
            norm = np.sqrt(sum(float(np.sum(g ** 2)) for g in grads.values()))
            if norm == 0:
                return {name: g.copy() for name, g in grads.items()}
            return {name: g * float(max_norm / norm) for name, g in grads.items()}
        """),
    _wrong("clip_grads-inverted-condition", "clip_grads", "clips when the norm is below max_norm, leaves large ones alone",
           "condition", """
        import math

        import numpy as np

        def clip_grads(grads, max_norm):
            norm = math.sqrt(sum(float(np.sum(g * g)) for g in grads.values()))
            factor = 1.0
            if 0 < norm < max_norm:
                factor = max_norm / norm
            return {name: g * factor for name, g in grads.items()}
        """),
    _wrong("clip_grads-in-place", "clip_grads", "gradients scaled in place with *= and the same dict returned", "in-place", """
        import math

        import numpy as np

        def clip_grads(grads, max_norm):
            norm = math.sqrt(sum(float(np.sum(g * g)) for g in grads.values()))
            if norm > max_norm:
                for g in grads.values():
                    g *= max_norm / norm
            return grads
        """),
    _wrong("clip_grads-sum-of-norms", "clip_grads", "‖g‖ as the sum of the arrays' norms, not the root of the sum of squares",
           "norm", """
        import numpy as np

        def clip_grads(grads, max_norm):
            norm = sum(float(np.linalg.norm(g)) for g in grads.values())
            factor = min(1.0, max_norm / norm) if norm > 0 else 1.0
            return {name: g * factor for name, g in grads.items()}
        """),
    _wrong("clip_grads-squared-norm", "clip_grads", "‖g‖² (the sum of squares, no square root) compared with max_norm", "norm", """
        import numpy as np

        def clip_grads(grads, max_norm):
            norm = sum(float(np.sum(g * g)) for g in grads.values())
            factor = min(1.0, max_norm / norm) if norm > 0 else 1.0
            return {name: g * factor for name, g in grads.items()}
        """),
    _wrong("clip_grads-by-value", "clip_grads", "each entry clipped to [−max_norm, max_norm] (clipping by value)", "norm", """
        import numpy as np

        def clip_grads(grads, max_norm):
            return {name: np.clip(g, -max_norm, max_norm) for name, g in grads.items()}
        """),
    _wrong("clip_grads-zero-division", "clip_grads", "max_norm/‖g‖ with no guard: all-zero gradients raise ZeroDivisionError",
           "zero", """
        import math

        import numpy as np

        def clip_grads(grads, max_norm):
            norm = math.sqrt(sum(float(np.sum(g * g)) for g in grads.values()))
            factor = min(1.0, max_norm / norm)
            return {name: g * factor for name, g in grads.items()}
        """),
    _wrong("clip_grads-float64-factor", "clip_grads", "the factor is a NumPy float64 (np.minimum of np.linalg.norm), so float32 gradients come back float64",
           "dtype", """
        import numpy as np

        def clip_grads(grads, max_norm):
            norm = np.linalg.norm(np.concatenate([g.ravel() for g in grads.values()]).astype(np.float64))
            factor = np.minimum(1.0, max_norm / norm) if norm > 0 else np.float64(1.0)
            return {name: g * factor for name, g in grads.items()}
        """),
    _right("clip_grads-concatenate", "clip_grads", """
        import numpy as np

        def clip_grads(grads, max_norm):
            flat = np.concatenate([np.ravel(g) for g in grads.values()])
            norm = float(np.linalg.norm(flat))
            if norm <= max_norm:
                return {name: g.copy() for name, g in grads.items()}
            return {name: g * (max_norm / norm) for name, g in grads.items()}
        """),
    _right("clip_grads-max-in-denominator", "clip_grads", """
        import math

        import numpy as np

        def clip_grads(grads, max_norm):
            squares = 0.0
            for g in grads.values():
                squares += float(np.vdot(g, g))
            scale = max_norm / max(math.sqrt(squares), max_norm)
            return {name: scale * g for name, g in grads.items()}
        """),

    # ------------------------------------------------------------------ clip_by_global_norm
    _wrong("clip-unclipped-gradients", "clip", "the clipped gradients are computed but the rule is given the original ones",
           "formula", """
        def clip_by_global_norm(rule, max_norm):
            def step(params, grads, state, *, lr, **hyperparameters):
                clipped = clip_grads(grads, max_norm)
                new_params, new_state = {}, {}
                for name in params:
                    new_params[name], new_state[name] = rule(params[name], grads[name], state.get(name, {}), lr=lr,
                                                             **hyperparameters)
                return new_params, new_state
            return step
        """),
    _wrong("clip-shared-state", "clip", "one state for every parameter: the whole state is passed to each and the last one returned",
           "state-carry", """
        def clip_by_global_norm(rule, max_norm):
            def step(params, grads, state, *, lr, **hyperparameters):
                clipped = clip_grads(grads, max_norm)
                new_params = {}
                for name in params:
                    new_params[name], state = rule(params[name], clipped[name], state, lr=lr, **hyperparameters)
                return new_params, state
            return step
        """),
    _wrong("clip-state-restarts", "clip", "each parameter's rule is given {} every step, so momentum and Adam restart",
           "state-carry", """
        def clip_by_global_norm(rule, max_norm):
            def step(params, grads, state, *, lr, **hyperparameters):
                clipped = clip_grads(grads, max_norm)
                new_params, new_state = {}, {}
                for name in params:
                    new_params[name], new_state[name] = rule(params[name], clipped[name], {}, lr=lr, **hyperparameters)
                return new_params, new_state
            return step
        """),
    _wrong("clip-hyperparameters-dropped", "clip", "the rule's hyperparameters are not passed on (its defaults are used)",
           "hyperparameters", """
        def clip_by_global_norm(rule, max_norm):
            def step(params, grads, state, *, lr, **hyperparameters):
                clipped = clip_grads(grads, max_norm)
                new_params, new_state = {}, {}
                for name in params:
                    new_params[name], new_state[name] = rule(params[name], clipped[name], state.get(name, {}), lr=lr)
                return new_params, new_state
            return step
        """),
    _wrong("clip-lr-not-passed", "clip", "lr is not passed on to the rule, which steps with its default lr", "hyperparameters", """
        def clip_by_global_norm(rule, max_norm):
            def step(params, grads, state, lr=None, **hyperparameters):
                clipped = clip_grads(grads, max_norm)
                new_params, new_state = {}, {}
                for name in params:
                    new_params[name], new_state[name] = rule(params[name], clipped[name], state.get(name, {}),
                                                             **hyperparameters)
                return new_params, new_state
            return step
        """),
    _wrong("clip-per-array-inside", "clip", "clips each gradient by its own norm instead of calling clip_grads", "per-array", """
        import numpy as np

        def clip_by_global_norm(rule, max_norm):
            def step(params, grads, state, *, lr, **hyperparameters):
                new_params, new_state = {}, {}
                for name in params:
                    g = grads[name]
                    norm = float(np.linalg.norm(g))
                    if norm > max_norm:
                        g = g * (max_norm / norm)
                    new_params[name], new_state[name] = rule(params[name], g, state.get(name, {}), lr=lr,
                                                             **hyperparameters)
                return new_params, new_state
            return step
        """),
    _wrong("clip-mutates-dicts", "clip", "the new parameters and states written into the params and state dicts it was given",
           "in-place", """
        def clip_by_global_norm(rule, max_norm):
            def step(params, grads, state, *, lr, **hyperparameters):
                clipped = clip_grads(grads, max_norm)
                for name in params:
                    params[name], state[name] = rule(params[name], clipped[name], state.get(name, {}), lr=lr,
                                                     **hyperparameters)
                return params, state
            return step
        """),
    _wrong("clip-clips-the-update", "clip", "the rule steps with the raw gradients and the update p_new − p is clipped instead",
           "formula", """
        def clip_by_global_norm(rule, max_norm):
            def step(params, grads, state, *, lr, **hyperparameters):
                stepped, new_state = {}, {}
                for name in params:
                    stepped[name], new_state[name] = rule(params[name], grads[name], state.get(name, {}), lr=lr,
                                                          **hyperparameters)
                updates = clip_grads({name: stepped[name] - params[name] for name in params}, max_norm)
                return {name: params[name] + updates[name] for name in params}, new_state
            return step
        """),
    _right("clip-comprehension", "clip", """
        def clip_by_global_norm(rule, max_norm):
            def step(params, grads, state, *, lr, **hyperparameters):
                clipped = clip_grads(grads, max_norm)
                results = {name: rule(p, clipped[name], state.get(name, {}), lr=lr, **hyperparameters)
                           for name, p in params.items()}
                return ({name: r[0] for name, r in results.items()}, {name: r[1] for name, r in results.items()})
            return step
        """),
    _right("clip-own-norm-and-copy", "clip", """
        import numpy as np

        def clip_by_global_norm(rule, max_norm):
            def step(params, grads, state, *, lr, **hyperparameters):
                total = np.sqrt(sum(float(np.sum(np.square(g))) for g in grads.values()))
                factor = 1.0 if total <= max_norm else float(max_norm / total)
                new_state = dict(state)
                new_params = {}
                for name, p in params.items():
                    new_params[name], new_state[name] = rule(p, grads[name] * factor, state.get(name, {}), lr=lr,
                                                             **hyperparameters)
                return new_params, new_state
            return step
        """),

    # ------------------------------------------------------------------ sam
    _wrong("sam-ascent-not-normalised", "sam", "ascent p + ρ·g, not divided by ‖g‖", "normalisation", """
        def sam(params, grads, state, *, grad_fn, lr=0.01, rho=0.05):
            perturbed = {name: params[name] + rho * grads[name] for name in params}
            sharp = grad_fn(perturbed)
            return {name: params[name] - lr * sharp[name] for name in params}, {}
        """),
    _wrong("sam-per-array-norm", "sam", "each array of the ascent divided by its own norm, not the global one", "per-array", """
        import numpy as np

        def sam(params, grads, state, *, grad_fn, lr=0.01, rho=0.05):
            perturbed = {name: params[name] + rho * grads[name] / (np.linalg.norm(grads[name]) + 1e-12)
                         for name in params}
            sharp = grad_fn(perturbed)
            return {name: params[name] - lr * sharp[name] for name in params}, {}
        """),
    _wrong("sam-squared-norm", "sam", "ascent divided by ‖g‖² (the sum of squares) instead of ‖g‖", "normalisation", """
        import numpy as np

        def sam(params, grads, state, *, grad_fn, lr=0.01, rho=0.05):
            squares = sum(float(np.sum(g * g)) for g in grads.values())
            perturbed = {name: params[name] + rho * grads[name] / (squares + 1e-12) for name in params}
            sharp = grad_fn(perturbed)
            return {name: params[name] - lr * sharp[name] for name in params}, {}
        """),
    _wrong("sam-second-gradient-at-p", "sam", "grad_fn called at p itself, so the second gradient is the first one",
           "wrong-point", """
        import math

        import numpy as np

        def sam(params, grads, state, *, grad_fn, lr=0.01, rho=0.05):
            norm = math.sqrt(sum(float(np.sum(g * g)) for g in grads.values()))
            perturbed = {name: params[name] + rho * grads[name] / (norm + 1e-12) for name in params}
            sharp = grad_fn(params)
            return {name: params[name] - lr * sharp[name] for name in params}, {}
        """),
    _wrong("sam-descends-to-probe", "sam", "the probe point is p − ρ·g/‖g‖ (downhill) instead of uphill", "wrong-point", """
        import math

        import numpy as np

        def sam(params, grads, state, *, grad_fn, lr=0.01, rho=0.05):
            norm = math.sqrt(sum(float(np.sum(g * g)) for g in grads.values()))
            perturbed = {name: params[name] - rho * grads[name] / (norm + 1e-12) for name in params}
            sharp = grad_fn(perturbed)
            return {name: params[name] - lr * sharp[name] for name in params}, {}
        """),
    _wrong("sam-steps-from-perturbed", "sam", "the step starts from the perturbed weights p + ε̂, which are returned moved",
           "wrong-point", """
        import math

        import numpy as np

        def sam(params, grads, state, *, grad_fn, lr=0.01, rho=0.05):
            norm = math.sqrt(sum(float(np.sum(g * g)) for g in grads.values()))
            perturbed = {name: params[name] + rho * grads[name] / (norm + 1e-12) for name in params}
            sharp = grad_fn(perturbed)
            return {name: perturbed[name] - lr * sharp[name] for name in params}, {}
        """),
    _wrong("sam-steps-with-first-gradient", "sam", "grad_fn is called at the probe but the step uses the first gradient",
           "formula", """
        import math

        import numpy as np

        def sam(params, grads, state, *, grad_fn, lr=0.01, rho=0.05):
            norm = math.sqrt(sum(float(np.sum(g * g)) for g in grads.values()))
            perturbed = {name: params[name] + rho * grads[name] / (norm + 1e-12) for name in params}
            grad_fn(perturbed)
            return {name: params[name] - lr * grads[name] for name in params}, {}
        """),
    _wrong("sam-two-calls", "sam", "grad_fn called twice per step (once at p, which grads already is)", "calls", """
        import math

        import numpy as np

        def sam(params, grads, state, *, grad_fn, lr=0.01, rho=0.05):
            first = grad_fn(params)
            norm = math.sqrt(sum(float(np.sum(g * g)) for g in first.values()))
            perturbed = {name: params[name] + rho * first[name] / (norm + 1e-12) for name in params}
            sharp = grad_fn(perturbed)
            return {name: params[name] - lr * sharp[name] for name in params}, {}
        """),
    _wrong("sam-perturbs-in-place", "sam", "the parameters perturbed in place with += and restored with -= (torch style)",
           "in-place", """
        import math

        import numpy as np

        def sam(params, grads, state, *, grad_fn, lr=0.01, rho=0.05):
            norm = math.sqrt(sum(float(np.sum(g * g)) for g in grads.values()))
            eps = {name: rho * grads[name] / (norm + 1e-12) for name in params}
            for name in params:
                params[name] += eps[name]
            sharp = grad_fn(params)
            for name in params:
                params[name] -= eps[name]
            return {name: params[name] - lr * sharp[name] for name in params}, {}
        """),
    _wrong("sam-no-zero-guard", "sam", "divides by ‖g‖ without the 1e-12, so a zero gradient gives NaN", "zero", """
        import numpy as np

        def sam(params, grads, state, *, grad_fn, lr=0.01, rho=0.05):
            norm = np.sqrt(sum(np.sum(g * g) for g in grads.values()))
            with np.errstate(invalid="ignore", divide="ignore"):
                perturbed = {name: params[name] + rho * grads[name] / norm for name in params}
            sharp = grad_fn(perturbed)
            return {name: params[name] - lr * sharp[name] for name in params}, {}
        """),
    _wrong("sam-default-rho", "sam", "default rho 0.1 instead of 0.05", "default", """
        import math

        import numpy as np

        def sam(params, grads, state, *, grad_fn, lr=0.01, rho=0.1):
            norm = math.sqrt(sum(float(np.sum(g * g)) for g in grads.values()))
            perturbed = {name: params[name] + rho * grads[name] / (norm + 1e-12) for name in params}
            sharp = grad_fn(perturbed)
            return {name: params[name] - lr * sharp[name] for name in params}, {}
        """),
    _wrong("sam-ascent-scaled-by-lr", "sam", "the ascent is lr·ρ·g/‖g‖: scaled by the learning rate too", "normalisation", """
        import math

        import numpy as np

        def sam(params, grads, state, *, grad_fn, lr=0.01, rho=0.05):
            norm = math.sqrt(sum(float(np.sum(g * g)) for g in grads.values()))
            perturbed = {name: params[name] + lr * rho * grads[name] / (norm + 1e-12) for name in params}
            sharp = grad_fn(perturbed)
            return {name: params[name] - lr * sharp[name] for name in params}, {}
        """),
    _right("sam-flattened-norm", "sam", """
        import numpy as np

        def sam(params, grads, state, *, grad_fn, lr=0.01, rho=0.05):
            flat = np.concatenate([np.ravel(grads[name]) for name in params])
            scale = rho / (np.linalg.norm(flat) + 1e-12)
            probe = {}
            for name, p in params.items():
                probe[name] = p + scale * grads[name]
            second = grad_fn(probe)
            new_params = {}
            for name, p in params.items():
                new_params[name] = p - lr * second[name]
            return new_params, dict()
        """),
    _right("sam-epsilon-dict", "sam", """
        import math

        import numpy as np

        def sam(params, grads, state, *, grad_fn, lr=0.01, rho=0.05):
            norm = math.sqrt(sum(float(np.vdot(g, g)) for g in grads.values()))
            e_w = {k: grads[k] * (rho / (norm + 1e-12)) for k in grads}
            g_sam = grad_fn({k: params[k] + e_w[k] for k in params})
            return {k: params[k] - lr * g_sam[k] for k in params}, {}
        """),
]

assert len({e["id"] for e in BLIND}) == len(BLIND), "duplicate ids"
