r"""The catalogue of known mistakes, and the knobs that make them.

Every family of rules has one *configurable* rule (:mod:`optilab.contract.mutants`) whose knobs
(:data:`KNOBS`) are the places where students go wrong: where ε goes, whether m and v are
bias-corrected, which form the momentum buffer takes, when the step count is incremented, ...
With every knob at its correct position the configurable rule *is* the contract's rule; turning
one knob gives the rule with that one mistake, turning two gives the rule with both
(:func:`configurations`). :mod:`optilab.contract.diagnose` runs a student's rule beside these
mutants on probe inputs and names the mistakes of the mutant it matches.

Each mistake has an id (stable: used in the ``--json`` report and the tests) and a message
that tells the student what they wrote and what to write instead, in the lessons' symbols.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from itertools import combinations
from typing import Any

from optilab.contract.spec import RULES

__all__ = ["Mistake", "MISTAKES", "KNOBS", "configurations", "mistakes_of"]


@dataclass(frozen=True)
class Mistake:
    """A known mistake: a stable ``id`` and the ``message`` a student can act on."""

    id: str
    message: str


def _m(id_: str, message: str) -> tuple[str, Mistake]:
    return id_, Mistake(id_, message)


#: Every known mistake by id. The value mistakes come from the mutants below; the contract
#: mistakes (``mutates-param``, ``dtype``, ...) from direct checks in :mod:`~.diagnose`.
MISTAKES: dict[str, Mistake] = dict([
    # -- every rule
    _m("wrong-sign", "Your rule steps up the gradient instead of down: subtract the step, "
       "p ← p − α·(…), so that the loss decreases."),
    _m("lr-ignored", "Your rule does not use the lr it is given (its step does not scale with lr). "
       "Multiply the step by the lr argument of each call; a schedule changes lr from call to call."),
    _m("state-not-carried", "Your rule ignores the state it is given: every step behaves like the "
       "first. Start from the previous values in `state` (e.g. `state.get('m', 0.0)`) and return "
       "the updated ones."),
    _m("ignores-momentum", "Your rule ignores the momentum argument μ (it uses a fixed value). "
       "Use the μ it is given."),
    _m("ignores-rho", "Your rule ignores the rho argument ρ (it uses a fixed value). Use the ρ it "
       "is given."),
    _m("ignores-beta1", "Your rule ignores the beta1 argument β₁ (it uses a fixed value). Use the "
       "β₁ it is given."),
    _m("ignores-beta2", "Your rule ignores the beta2 argument β₂ (it uses a fixed value). Use the "
       "β₂ it is given."),
    _m("ignores-eps", "Your rule ignores the eps argument ε (it uses a fixed value). Use the ε it "
       "is given."),
    # -- momentum and Nesterov
    _m("momentum-average", "Your velocity is a moving average, v ← μv + (1−μ)g. The contract uses "
       "PyTorch's buffer, v ← μv + g, without the (1−μ) factor (with it, every step is (1−μ) times "
       "too short)."),
    _m("momentum-sutskever", "Your velocity has the learning rate inside it (Sutskever's form, "
       "v ← μv − α·g and p ← p + v). The contract keeps α out of the buffer: v ← μv + g, then "
       "p ← p − α·v. The two agree only while α is constant, and the stored velocity differs."),
    _m("nesterov-is-plain", "This is plain momentum, p ← p − α·v (the same as α·(g + μ·v) with the "
       "velocity from before its update). Nesterov's step looks ahead: p ← p − α·(g + μ·v), with "
       "the v you have just updated."),
    _m("momentum-is-nesterov", "This is Nesterov's step, p ← p − α·(g + μ·v). Plain momentum steps "
       "along the velocity alone: p ← p − α·v."),
    _m("stale-velocity", "Your step uses the velocity from before this step's update. Update it "
       "first, v ← μv + g, and step with the new v."),
    # -- AdaGrad and RMSProp
    _m("sum-not-average", "You keep a running sum of squared gradients (s ← s + g²) where a moving "
       "average belongs: s ← ρ·s + (1−ρ)·g². A sum only grows, so the steps shrink for ever."),
    _m("average-not-sum", "You keep a moving average of squared gradients where AdaGrad keeps a "
       "running sum: s ← s + g² (that sum is why AdaGrad's steps shrink)."),
    _m("missing-one-minus", "Your moving average is missing its (1−ρ) factor (or (1−β)): write "
       "s ← ρ·s + (1−ρ)·g², so that the average of a constant g² is g²."),
    _m("rho-swapped", "ρ and 1−ρ are swapped: s ← ρ·s + (1−ρ)·g² keeps most of the old average "
       "(ρ = 0.99 by default) and adds a little of the new g²."),
    _m("abs-for-square", "You use |g| where g² belongs. Square the gradient: g * g (or g**2)."),
    _m("g-for-square", "You use g where g² belongs, so your average can go negative and its "
       "square root gives nan. Square the gradient: g * g (or g**2)."),
    _m("eps-inside-sqrt", "ε is inside the square root, √(s + ε). The contract adds it after: "
       "√s + ε (√v̂ + ε for Adam). The difference shows when gradients are tiny."),
    _m("stale-average", "Your step divides by the average from before this step's update. Update "
       "s with this step's g² first, then divide by √s + ε."),
    # -- Adam and AdamW
    _m("no-bias-correction", "No bias correction: divide m by (1 − β₁ᵗ) and v by (1 − β₂ᵗ) before "
       "the step, m̂ = m/(1 − β₁ᵗ), v̂ = v/(1 − β₂ᵗ). Without it m and v are pulled towards their "
       "zero start and the first steps have the wrong size (with β₁ = 0.9, β₂ = 0.999 about 3× too large)."),
    _m("bias-correction-m-only", "Only m is bias-corrected. Correct v too: v̂ = v/(1 − β₂ᵗ), and "
       "divide by √v̂ + ε."),
    _m("bias-correction-v-only", "Only v is bias-corrected. Correct m too: m̂ = m/(1 − β₁ᵗ)."),
    _m("eps-hat", "You add ε to √v before the bias correction (Keras's ε̂, as in "
       "α·√(1−β₂ᵗ)/(1−β₁ᵗ)·m/(√v + ε)). The contract adds ε after it: m̂/(√v̂ + ε)."),
    _m("t-after-use", "The step count is used before it is incremented, so the first step uses "
       "t = 0 and divides by 1 − β⁰ = 0. Increment first, t ← t + 1, then correct with that t."),
    _m("t-off-by-one", "The step count you store is off by one: state['t'] must be the number of "
       "steps taken (1 after the first step), and a step from state t = 5 corrects with t = 6."),
    _m("t-not-advancing", "Your step count does not advance from step to step: return the "
       "incremented t in the new state, {'t': t, ...}."),
    _m("betas-swapped", "β₁ and β₂ are swapped: m, the average of g, uses β₁ (0.9 by default); v, "
       "the average of g², uses β₂ (0.999)."),
    _m("stale-m", "Your step uses m from before this step's update. Update m first, "
       "m ← β₁m + (1−β₁)g, and step with the new m."),
    _m("stale-v", "Your step uses v from before this step's update. Update v first, "
       "v ← β₂v + (1−β₂)g², and divide by the new one."),
    _m("ignores-weight-decay", "Your rule ignores the weight_decay argument λ (it uses a fixed "
       "value). Use the λ it is given."),
    _m("l2-not-decoupled", "This is L2 weight decay: λ·p is added to the gradient and then divided "
       "by √v̂ like the rest. AdamW decouples it: p ← p − α·λ·p, then the Adam step with g alone."),
    _m("decay-not-lr-scaled", "Your weight decay is not scaled by the learning rate: AdamW shrinks "
       "p ← p − α·λ·p, not p − λ·p."),
    _m("decay-after-step", "You apply the weight decay to the parameter after the Adam step. Shrink "
       "the parameter you were given, p ← p − α·λ·p, then take the Adam step (as PyTorch does)."),
    _m("no-weight-decay", "Your rule has no weight decay: AdamW shrinks the parameter, "
       "p ← p − α·λ·p, before the Adam step."),
    # -- the contract's other clauses (found by direct checks, not mutants)
    _m("raises", "Your rule raises an error on inputs the contract allows; the message above says "
       "which and where."),
    _m("bad-return", "Your rule must return a pair (new_param, new_state): a NumPy array of "
       "param's shape and a dict."),
    _m("shape", "Your new param does not keep param's shape (0-d, 1-d and n-d params are allowed): "
       "use elementwise NumPy operations, without reshaping."),
    _m("dtype", "Your rule changes the dtype: a float32 param must give a float32 new param and "
       "float32 state arrays. Cast back with .astype(param.dtype) if you compute in float64."),
    _m("state-shape", "Your state holds one number (or an array of another shape) where the contract "
       "keeps one value per entry of param: state arrays have param's shape, e.g. start from "
       "np.zeros_like(param) and update elementwise (no np.sum, no float())."),
    _m("missing-state-key", "Your state does not use the contract's key names; the next step, the "
       "Optimizer and the grader look for them by name."),
    _m("mutates-param", "Your rule changes the param array it is given (an in-place update such as "
       "`param -= ...`). Return a new array: `new_param = param - ...`."),
    _m("mutates-grad", "Your rule changes the grad array it is given. Leave grad as it came; "
       "compute with new arrays."),
    _m("mutates-state", "Your rule changes the state it is given (the dict, or an array in it, "
       "e.g. `state['m'] = ...` or `m *= beta1`). Build new arrays and return a new dict."),
    _m("out-of-memory", "Your rule asks for far more memory than a step needs (MemoryError). A "
       "step needs a few arrays of param's shape: look for an array or list whose size is not "
       "param's."),
    _m("timeout", "Your code did not finish in time. Look for a loop that never ends (a `while` "
       "whose condition never becomes false); an update rule needs no loop at all."),
    _m("crashed", "Your code crashed the Python process (the tests say how). Code that calls C "
       "directly (ctypes) or corrupts memory does this; an update rule needs NumPy only."),
    _m("exited", "Your code ended the Python process: remove sys.exit(), os._exit() and exit() "
       "from your file."),
    _m("load-failed", "Your file fails when Python loads it, before any test can run: run it on "
       "its own (python FILE.py) and fix the first error."),
    _m("shares-memory", "A returned array is one of the arrays you were given (e.g. "
       "`velocity = grad` on the first step). Return a copy, so the caller's later changes to one "
       "do not change the other."),
])


#: The mistakes of the rules of large models (Lion, Adafactor), in their own block.
MISTAKES.update(dict([
    _m("lion-no-sign", "Your Lion steps along c = β₁m + (1−β₁)g itself. Lion steps along its sign, "
       "p ← p − α·sign(c) (np.sign), so that every entry moves by exactly α whatever its gradient's size."),
    _m("lion-betas-swapped", "β₁ and β₂ are swapped: the sign of the step interpolates with β₁, "
       "c = β₁m + (1−β₁)g, and the m you keep is averaged with β₂, m ← β₂m + (1−β₂)g."),
    _m("lion-m-updated-first", "Your step uses m after this step's update. Lion takes the sign of "
       "β₁m + (1−β₁)g with the m it was given, and only then updates m ← β₂m + (1−β₂)g."),
    _m("lion-missing-one-minus", "The interpolation inside the sign is missing its (1−β₁) factor: "
       "c = β₁m + (1−β₁)g."),
    _m("lion-decay-not-lr-scaled", "Your weight decay is not scaled by the learning rate: Lion decays "
       "as AdamW does, p ← p − α·λ·p − α·sign(c), not p − λ·p."),
    _m("lion-decay-after-step", "You apply the weight decay to the parameter after the signed step. "
       "Decay and step both start from the parameter you were given: p ← p − α·λ·p − α·sign(c)."),
    _m("adafactor-axes-swapped", "Your row and col averages are swapped: row is the mean of g² over the "
       "last axis (one number per row, shape param.shape[:-1]) and col the mean over the second-to-last "
       "axis (one per column, shape param.shape[:-2] + param.shape[-1:])."),
    _m("adafactor-sum-not-mean", "Your row and col hold sums of g² over each row and column; Adafactor "
       "keeps their means (g2.mean(axis=-1), g2.mean(axis=-2)), so that v̂ has the scale of g²."),
    _m("adafactor-no-normalisation", "v̂ is missing its division by the mean of the row averages: "
       "v̂ = r·cᵀ / max(mean(r), ε₁). r·cᵀ alone counts the scale of g² twice."),
    _m("adafactor-not-factored", "Your matrix keeps a full v. Adafactor keeps, for a param of two or more "
       "dimensions, only the row and col averages of g² (state 'row' and 'col') and rebuilds "
       "v̂ = r·cᵀ/mean(r) from them; a full v is for scalars and vectors."),
    _m("adafactor-decay-exponent", "The second moment decays with the wrong exponent: "
       "1 − β₂,t = t^beta2_decay with beta2_decay = −0.8 (a negative power of t, which shrinks), "
       "not t^(−beta2_decay)."),
    _m("eps1-added", "ε₁ is added to √v̂. In Adafactor it is a floor: u = g / max(√v̂, ε₁) (np.maximum), "
       "not g / (√v̂ + ε₁); the difference shows when gradients are small beside ε₁."),
    _m("adafactor-no-relative-step", "Your step is not relative to the parameter: Adafactor's step size "
       "is max(ε₂, RMS(p))·ρ_t, with RMS(p) = √mean(p²) of the parameter you are given."),
    _m("adafactor-rms-of-grad", "Your step size uses the RMS of the gradient; Adafactor's uses the RMS "
       "of the parameter: max(ε₂, RMS(p))·ρ_t with RMS(p) = √mean(p²)."),
    _m("adafactor-no-clipping", "The update is not clipped: û = u / max(1, RMS(u)/d), so that the "
       "update's RMS is at most d."),
]))


# --------------------------------------------------------------------------- the knobs
#: For each rule: knob -> (correct position, {wrong position: mistake id}).
KNOBS: dict[str, dict[str, tuple[Any, dict[Any, str]]]] = {}

_COMMON = {
    "sign": (1, {-1: "wrong-sign"}),
    "lr": ("given", {"default": "lr-ignored", "one": "lr-ignored"}),
}
_CARRY = {"carry": (True, {False: "state-not-carried"})}

KNOBS["sgd"] = dict(_COMMON)
_FORM = {"form": ("torch", {"average": "momentum-average", "sutskever": "momentum-sutskever",
                            "sutskever+": "momentum-sutskever"})}
KNOBS["momentum"] = {
    **_FORM,
    "step": ("plain", {"nesterov": "momentum-is-nesterov"}),
    "stale": (False, {True: "stale-velocity"}),
    "ignore": (None, {"momentum": "ignores-momentum"}),
    **_COMMON, **_CARRY,
}
# Nesterov's look-ahead with the old velocity, g + mu v_old, is plain momentum exactly:
# one knob ("step") covers both ways of writing it.
KNOBS["nesterov"] = {
    **_FORM,
    "step": ("nesterov", {"plain": "nesterov-is-plain"}),
    "ignore": (None, {"momentum": "ignores-momentum"}),
    **_COMMON, **_CARRY,
}
_SQUARE = {"square": ("g2", {"abs": "abs-for-square", "g": "g-for-square"})}
KNOBS["adagrad"] = {
    "accum": ("sum", {"average-0.9": "average-not-sum", "average-0.99": "average-not-sum"}),
    "eps": ("outside", {"inside": "eps-inside-sqrt"}),
    "stale": (False, {True: "stale-average"}),
    "ignore": (None, {"eps": "ignores-eps"}),
    **_SQUARE, **_COMMON, **_CARRY,
}
KNOBS["rmsprop"] = {
    "accum": ("average", {"sum": "sum-not-average", "swapped": "rho-swapped",
                          "no-one-minus": "missing-one-minus"}),
    "eps": ("outside", {"inside": "eps-inside-sqrt"}),
    "stale": (False, {True: "stale-average"}),
    "ignore": (None, {"eps": "ignores-eps", "rho": "ignores-rho"}),
    **_SQUARE, **_COMMON, **_CARRY,
}
KNOBS["adam"] = {
    "bias": ("both", {"none": "no-bias-correction", "m": "bias-correction-m-only",
                      "v": "bias-correction-v-only"}),
    "eps": ("outside", {"inside": "eps-inside-sqrt", "hat": "eps-hat"}),
    "t": ("ok", {"after": "t-after-use", "start-at-1": "t-off-by-one", "store-plus-1": "t-off-by-one",
                 "frozen": "t-not-advancing"}),
    "betas": ("ok", {"swapped": "betas-swapped", "swapped-averages": "betas-swapped"}),
    "stale": (None, {"m": "stale-m", "v": "stale-v"}),
    "vform": ("average", {"sum": "sum-not-average", "no-one-minus": "missing-one-minus"}),
    "mform": ("average", {"no-one-minus": "missing-one-minus"}),
    "ignore": (None, {"beta1": "ignores-beta1", "beta2": "ignores-beta2", "eps": "ignores-eps"}),
    **_SQUARE, **_COMMON, **_CARRY,
}
KNOBS["adamw"] = {
    **KNOBS["adam"],
    "decay": ("decoupled", {"l2": "l2-not-decoupled", "unscaled": "decay-not-lr-scaled",
                            "after": "decay-after-step", "none": "no-weight-decay",
                            "fixed": "ignores-weight-decay"}),
}
KNOBS["lion"] = {
    "direction": ("sign", {"raw": "lion-no-sign"}),
    "betas": ("ok", {"swapped": "lion-betas-swapped"}),
    "order": ("step-first", {"m-first": "lion-m-updated-first"}),
    "interp": ("average", {"no-one-minus": "lion-missing-one-minus"}),
    "decay": ("decoupled", {"unscaled": "lion-decay-not-lr-scaled", "after": "lion-decay-after-step"}),
    "ignore": (None, {"beta1": "ignores-beta1", "beta2": "ignores-beta2", "weight_decay": "ignores-weight-decay"}),
    **_COMMON, **_CARRY,
}
KNOBS["adafactor"] = {
    "axes": ("ok", {"swapped": "adafactor-axes-swapped"}),
    "reduce": ("mean", {"sum": "adafactor-sum-not-mean"}),
    "normalise": (True, {False: "adafactor-no-normalisation"}),
    "factored": (True, {False: "adafactor-not-factored"}),
    "exponent": ("ok", {"negated": "adafactor-decay-exponent"}),
    "eps1": ("floor", {"added": "eps1-added"}),
    "relative": ("param", {"none": "adafactor-no-relative-step", "grad": "adafactor-rms-of-grad"}),
    "clip": (True, {False: "adafactor-no-clipping"}),
    "t": ("ok", {"frozen": "t-not-advancing"}),
    **_COMMON, **_CARRY,
}


def configurations(rule: str, max_mistakes: int = 2) -> Iterator[dict[str, Any]]:
    """Every way to turn up to ``max_mistakes`` knobs of ``rule`` wrong: ``{knob: position}`` dicts.

    The empty dict (the correct rule) comes first, then one wrong knob, then two.
    """
    wrong = [(knob, pos) for knob, (_, bad) in KNOBS[rule].items() for pos in bad]
    yield {}
    for n in range(1, max_mistakes + 1):
        for combo in combinations(wrong, n):
            knobs = [k for k, _ in combo]
            if len(set(knobs)) == n:
                yield dict(combo)


def mistakes_of(rule: str, knobs: dict[str, Any]) -> list[str]:
    """The mistake ids of a configuration, in knob order."""
    return [KNOBS[rule][k][1][pos] for k, pos in knobs.items()]


assert set(KNOBS) <= set(RULES), "a rule with mutants must be graded"
assert all(mid in MISTAKES for knobs in KNOBS.values() for _, bad in knobs.values() for mid in bad.values())
