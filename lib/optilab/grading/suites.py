r"""The graded suites: shared, parameterised tests plus one entry of data per rule.

Every graded rule of the rule table (:mod:`optilab.rules`) has an entry in :data:`SUITES`.
Its hidden suite is built from the entry and the rule's record:

- ``first-step``, ``many-steps`` and ``contract``: the same tests for every rule (one step
  from ``{}``, twenty steps, a schedule, a resume from a given state, a matrix; float32, 0-d to
  3-d, inputs left unchanged, new arrays, defaults), their inputs seeded from the entry's
  ``seed``, their titles and hyperparameters read from the record;
- ``conventions``: the entry's own :class:`Case`\ s, the conventions that tell this rule from
  its near misses (where ε goes, the bias correction, PyTorch's momentum buffer, ...).

Every test checks with :mod:`.properties` against the reference rule of :mod:`optilab.kernels`.
The points of each group are the record's ``groups``; a group with no test, or a test of a
group the record does not list, is an error when the suite is built.

To grade a new rule, give its record ``groups`` and add an entry here: a seed of its own and
the cases of its conventions.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from optilab import rules as _table
from optilab.contract import inputs
from optilab.contract import properties as P

__all__ = ["Case", "Suite", "SUITES", "Test", "tests_of"]


@dataclass(frozen=True)
class Case:
    """One test of a rule's ``conventions`` group: steps of the rule beside the reference.

    Attributes
    ----------
    name, title : str
        The test's name (``test_...``) and the one line a student reads.
    seed : int
        Added to the suite's seed: the inputs' seed (the given state's is ``seed + 1``).
    shape, steps, scale, dtype
        The parameter's shape, the number of steps, the gradients' scale (a float, or
        ``"mixed"``: every entry its own magnitude from 1e-5 to 1) and dtype.
    zero_grads : bool
        Every gradient is zero (what the rule does with no gradient at all).
    lrs : float or sequence of float
        The lr of every step, or of each step.
    hyper : dict
        Hyperparameters other than lr.
    state_t : int or None
        Start from a plausible state after ``state_t`` steps (:func:`optilab.contract.inputs.given_state`)
        instead of ``{}``.
    check_state : bool
        Compare the state keys too, not only the parameter.
    """

    name: str
    title: str
    seed: int
    shape: tuple[int, ...] = (5,)
    steps: int = 1
    scale: float | str = 1.0
    lrs: float | Sequence[float] = 0.1
    hyper: dict[str, Any] = field(default_factory=dict)
    state_t: int | None = None
    check_state: bool = True
    zero_grads: bool = False
    dtype: Any = np.float64

    def run(self, rule: str, base: int, student: Callable, fixed: dict[str, Any] | None = None) -> None:
        """Run the case; ``fixed`` gives the hyperparameters the case does not set (the defaults,
        passed explicitly so that only the ``defaults`` test depends on the rule's own defaults)."""
        param, grads = inputs.case(base + self.seed, self.shape, steps=self.steps, scale=self.scale,
                              dtype=self.dtype)
        if self.zero_grads:
            grads = [np.zeros_like(g) for g in grads]
        state = None
        if self.state_t is not None:
            state = inputs.given_state(rule, np.random.default_rng(base + self.seed + 1), self.shape,
                                  self.dtype, t=self.state_t)
        lrs = self.lrs if np.isscalar(self.lrs) else list(self.lrs)
        P.steps(rule, student, param=param, grads=grads, lrs=lrs, hyper={**(fixed or {}), **self.hyper},
                state=state, check_state=self.check_state)


@dataclass(frozen=True)
class Suite:
    """A rule's entry: the seed of its inputs and the cases of its ``conventions`` group."""

    seed: int
    conventions: tuple[Case, ...] = ()


@dataclass(frozen=True)
class Test:
    """One test of a built suite: call ``func(student)``; it raises AssertionError on a failure."""

    name: str
    group: str
    title: str
    func: Callable[[Callable], None]


# --------------------------------------------------------------------------- the entries
_TINY_EPS_ADAM = Case("test_tiny_gradients_beside_a_large_eps",
                      "Tiny gradients (1e-6) beside ε = 1e-3: ε is added to √v̂, after the bias correction",
                      112, steps=3, scale=1e-6, hyper={"eps": 1e-3})
_ADAM_CONVENTIONS = (
    _TINY_EPS_ADAM,
    Case("test_bias_correction_on_the_first_steps",
         "The first four steps with β₁ = 0.8, β₂ = 0.95: t, m and v key by key",
         113, (4,), steps=4, scale="mixed", lrs=(0.05, 0.2, 0.1, 0.03),
         hyper={"beta1": 0.8, "beta2": 0.95, "eps": 1e-6}),
    Case("test_the_step_count_after_a_resume",
         "From t = 11 the next steps correct with t = 12 and 13, and store them",
         114, steps=2, state_t=11, hyper={"beta1": 0.7, "beta2": 0.9}),
    Case("test_the_step_uses_the_updated_averages", "The step uses m and v after this step's update",
         116, steps=2, state_t=3, check_state=False, hyper={"beta1": 0.5, "beta2": 0.6}),
)
_BUFFER = Case("test_the_velocity_is_pytorchs_buffer",
               "The velocity is PyTorch's buffer μv + g (no lr, no 1−μ), key by key",
               112, steps=4, lrs=(0.3, 0.1, 0.5, 0.2), hyper={"momentum": 0.6})
_TINY_EPS = Case("test_tiny_gradients_beside_a_large_eps",
                 "Tiny gradients (1e-6) beside ε = 1e-3: ε is added after the square root",
                 112, steps=3, scale=1e-6, hyper={"eps": 1e-3})

#: Rule name -> its suite's entry.
SUITES: dict[str, Suite] = {
    "sgd": Suite(31_000),
    "momentum": Suite(32_000, (
        _BUFFER,
        Case("test_the_step_uses_the_updated_velocity", "The step is α times the velocity after its update",
             113, steps=2, state_t=5, check_state=False, hyper={"momentum": 0.5}),
    )),
    "nesterov": Suite(33_000, (
        _BUFFER,
        Case("test_the_look_ahead_uses_the_updated_velocity",
             "The step is α·(g + μv) with the velocity after its update",
             113, steps=2, state_t=5, check_state=False, hyper={"momentum": 0.5}),
    )),
    "adagrad": Suite(34_000, (
        _TINY_EPS,
        Case("test_the_sum_keeps_growing", "sum_sq is a running sum of g², key by key, over 15 steps",
             113, (4,), steps=15, scale="mixed", lrs=0.05, hyper={"eps": 1e-5}),
        Case("test_the_step_divides_by_the_updated_sum",
             "The step divides by √s + ε with this step's g² already in s",
             114, steps=2, state_t=5, check_state=False),
    )),
    "rmsprop": Suite(35_000, (
        _TINY_EPS,
        Case("test_the_average_weights_old_and_new",
             "sq_avg is the moving average ρs + (1−ρ)g², key by key, over 15 steps",
             113, (4,), steps=15, scale="mixed", lrs=0.05, hyper={"rho": 0.7, "eps": 1e-5}),
        Case("test_the_step_divides_by_the_updated_average",
             "The step divides by √s + ε with this step's g² already in s",
             114, steps=2, state_t=5, check_state=False, hyper={"rho": 0.6}),
    )),
    "adam": Suite(36_000, _ADAM_CONVENTIONS),
    "adamw": Suite(37_000, _ADAM_CONVENTIONS + (
        Case("test_decay_alone_when_the_gradient_is_zero",
             "With g = 0 the param shrinks by exactly (1 − αλ): decay decoupled and scaled by lr",
             125, steps=2, zero_grads=True, lrs=(0.1, 0.3), hyper={"weight_decay": 0.2}),
        Case("test_decay_beside_large_gradients",
             "λ = 0.3 beside large gradients: the decay is not divided by √v̂",
             126, steps=3, scale=10.0, lrs=(0.2, 0.05, 0.1),
             hyper={"weight_decay": 0.3, "beta1": 0.8, "beta2": 0.95}),
    )),
    "adamax": Suite(38_000, (
        Case("test_tiny_gradients_beside_a_large_eps",
             "Tiny gradients (1e-6) beside ε = 1e-3: ε is added to |g| inside the maximum",
             112, steps=3, scale=1e-6, hyper={"eps": 1e-3}),
        Case("test_the_maximum_decays_by_beta2",
             "From a given u, with β₂ = 0.9: u is the larger of β₂·u and |g| + ε, key by key",
             113, steps=4, scale="mixed", state_t=5, lrs=(0.05, 0.2, 0.1, 0.03), hyper={"beta2": 0.9}),
        Case("test_only_m_is_bias_corrected",
             "The first four steps with β₁ = 0.8: lr/(1 − β₁ᵗ) corrects m, and u is not corrected",
             115, steps=4, scale="mixed", lrs=(0.05, 0.2, 0.1, 0.03), hyper={"beta1": 0.8, "beta2": 0.95}),
        Case("test_the_step_count_after_a_resume",
             "From t = 11 the next steps correct with t = 12 and 13, and store them",
             116, steps=2, state_t=11, hyper={"beta1": 0.7}),
    )),
    "lion": Suite(39_000, (
        Case("test_the_step_is_the_sign_of_the_interpolation",
             "From a given m, with β₁ = 0.5: the step is lr·sign(β₁m + (1−β₁)g), with m before its update",
             112, steps=3, state_t=5, check_state=False, lrs=(0.05, 0.2, 0.1), hyper={"beta1": 0.5, "beta2": 0.9}),
        Case("test_m_is_the_average_with_beta2",
             "m is the moving average β₂m + (1−β₂)g (β₂, not β₁), key by key, over 6 steps",
             113, (4,), steps=6, scale="mixed", lrs=0.05, hyper={"beta1": 0.6, "beta2": 0.8}),
        Case("test_every_entry_moves_by_lr",
             "Gradients from 1e-5 to 1: every entry moves by exactly lr, whatever its gradient's size",
             114, (6,), steps=3, scale="mixed", lrs=(0.01, 0.03, 0.02), hyper={"weight_decay": 0.0}),
        Case("test_decay_alone_when_the_gradient_is_zero",
             "With g = 0 and m = 0 the param shrinks by exactly (1 − lr·λ): sign(0) is 0",
             115, steps=2, zero_grads=True, lrs=(0.1, 0.3), hyper={"weight_decay": 0.2}),
    )),
    "adafactor": Suite(40_000, (
        Case("test_a_matrix_keeps_row_and_column_averages",
             "A 4×3 param: row and col are the averages of g² over each row and each column, "
             "and v̂ = r·cᵀ/mean(r)", 112, (4, 3), steps=4, scale="mixed", lrs=(0.05, 0.2, 0.1, 0.03),
             hyper={"beta2_decay": -0.6}),
        Case("test_a_vector_keeps_a_full_second_moment",
             "A 5-vector is not factored: v is the average of g², key by key", 113, (5,), steps=4,
             scale="mixed", lrs=(0.05, 0.2, 0.1, 0.03), hyper={"beta2_decay": -0.6}),
        Case("test_a_3d_param_is_factored_over_its_last_two_axes",
             "A 2×3×4 param: one row and one col average per leading index", 114, (2, 3, 4), steps=3,
             lrs=(0.05, 0.2, 0.1)),
        Case("test_the_relative_step_size_is_min_of_lr_and_1_over_sqrt_t",
             "lr = 0.5 for 6 steps: the step is RMS(p)·min(lr, 1/√t), capped by 1/√t from t = 5 on",
             115, (3, 2), steps=6, lrs=0.5),
        Case("test_the_update_is_clipped_to_an_rms_of_d",
             "Large gradients beside a small given second moment, d = 1.5: u is divided by max(1, RMS(u)/d)",
             116, (4, 2), steps=2, state_t=5, scale=30.0, lrs=(0.05, 0.1), hyper={"d": 1.5}),
        Case("test_the_step_count_after_a_resume",
             "From t = 11 the averages weigh g² by 12^(β₂ decay) and 13^(β₂ decay), and store t",
             117, (3, 3), steps=2, state_t=11, hyper={"beta2_decay": -0.5}),
        Case("test_the_step_is_relative_to_at_least_eps2",
             "ε₂ = 3, above RMS(p): the step is max(ε₂, RMS(p))·min(lr, 1/√t)·û, so a param near 0 still moves",
             118, (3, 4), steps=3, lrs=(0.05, 0.1, 0.02), hyper={"eps2": 3.0}),
    )),
    "nadam": Suite(41_000, (
        _TINY_EPS_ADAM,
        Case("test_the_momentum_schedule_and_the_look_ahead",
             "ψ = 0.04, β₁ = 0.8: μₜ = β₁(1 − ½·0.96^(tψ)); g weighs (1−μₜ)/(1−Π), m weighs μₜ₊₁/(1−Π·μₜ₊₁)",
             113, (4,), steps=5, scale="mixed", lrs=(0.05, 0.2, 0.1, 0.03, 0.08),
             hyper={"beta1": 0.8, "beta2": 0.95, "momentum_decay": 0.04}),
        Case("test_the_product_of_momenta_after_a_resume",
             "From t = 11 and a given Π: Π ← Π·μ₁₂, then Π·μ₁₂·μ₁₃, and t is stored",
             114, steps=2, state_t=11, hyper={"beta1": 0.7, "momentum_decay": 0.02}),
    )),
    "radam": Suite(42_000, (
        Case("test_the_first_steps_are_momentum_steps",
             "β₂ = 0.999: while ρₜ ≤ 5 (the first 5 steps) the step is lr·m̂; from step 6 it is rectified",
             112, (4,), steps=7, scale="mixed", lrs=(0.05, 0.2, 0.1, 0.03, 0.08, 0.1, 0.02),
             hyper={"beta1": 0.8, "beta2": 0.999}),
        Case("test_the_rectified_step_after_a_resume",
             "From t = 20 with β₂ = 0.99: rₜ·m̂·√(1−β₂ᵗ)/(√v + ε), with t = 21 and 22",
             113, steps=2, state_t=20, hyper={"beta1": 0.7, "beta2": 0.99}),
        Case("test_tiny_gradients_beside_a_large_eps",
             "From t = 30, tiny gradients (1e-6) beside ε = 1e-3: ε is added to √v, before the bias correction",
             114, steps=2, state_t=30, scale=1e-6, hyper={"eps": 1e-3, "beta2": 0.99}),
    )),
    "adadelta": Suite(43_000, (
        Case("test_tiny_gradients_beside_a_large_eps",
             "Tiny gradients (1e-6) beside ε = 1e-3: ε is added inside both square roots",
             112, steps=3, scale=1e-6, hyper={"eps": 1e-3}),
        Case("test_both_averages_key_by_key",
             "sq_avg averages g² and delta_sq_avg averages the steps Δ² (without lr), key by key, over 8 steps",
             113, (4,), steps=8, scale="mixed", lrs=(0.5, 1.0, 2.0, 1.0, 0.3, 1.0, 1.5, 1.0), hyper={"rho": 0.7}),
        Case("test_the_numerator_is_the_average_before_this_step",
             "Δ = √(u + ε)/√(s + ε)·g with u from before this step and s after it",
             114, steps=2, state_t=5, check_state=False, lrs=1.0, hyper={"rho": 0.6, "eps": 1e-4}),
    )),
    "yogi": Suite(44_000, (
        Case("test_the_moments_start_at_1e_6",
             "From {}, m and v start at 1e-6, not 0 (optax's start): two steps with gradients of 1e-5",
             112, steps=2, scale=1e-5, hyper={"eps": 1e-6}),
        Case("test_v_moves_by_a_fixed_amount",
             "From a given v, β₂ = 0.9: v moves by (1−β₂)·g² towards g², not by a fraction of v − g²",
             113, (4,), steps=4, state_t=5, scale="mixed", lrs=(0.05, 0.2, 0.1, 0.03), hyper={"beta2": 0.9}),
        Case("test_the_step_count_after_a_resume",
             "From t = 11 the next steps correct with t = 12 and 13, and store them",
             114, steps=2, state_t=11, hyper={"beta1": 0.7, "beta2": 0.95}),
        Case("test_eps_after_the_square_root",
             "Small gradients (1e-3) beside ε = 0.1: ε is added after the square root of the corrected v",
             115, steps=3, scale=1e-3, hyper={"eps": 0.1}),
    )),
    "muon": Suite(45_000, (
        Case("test_the_momentum_is_an_average",
             "m is the average μm + (1−μ)g (not PyTorch SGD's μm + g), key by key, on a 3×4 param",
             112, (3, 4), steps=4, lrs=(0.05, 0.2, 0.1, 0.03), hyper={"momentum": 0.8}),
        Case("test_a_tall_matrix_steps_by_sqrt_rows_over_cols",
             "A 6×2 param: the orthogonalised step is scaled by √(6/2)",
             113, (6, 2), steps=2, lrs=(0.05, 0.1)),
        Case("test_the_nesterov_direction_uses_the_updated_m",
             "From a given m: Newton–Schulz orthogonalises (1−μ)g + μm, with m after its update",
             114, (4, 3), steps=2, state_t=5, check_state=False, hyper={"momentum": 0.6}),
        Case("test_decay_alone_when_the_gradient_is_zero",
             "With g = 0 and m = 0 the param shrinks by exactly (1 − lr·λ)",
             115, (3, 3), steps=2, zero_grads=True, lrs=(0.1, 0.3), hyper={"weight_decay": 0.3}),
    )),
    "schedule_free_adamw": Suite(46_000, (
        Case("test_x_is_the_average_of_the_z_s",
             "A constant lr for 6 steps: c = 1/t, so x is the plain average of z₁ … z₆, key by key",
             112, (4,), steps=6, lrs=0.05),
        Case("test_the_weights_follow_the_largest_lr",
             "An lr that rises and falls: x weighs z by lr_max², lr_max the largest lr so far",
             113, (4,), steps=5, lrs=(0.01, 0.05, 0.02, 0.04, 0.01)),
        Case("test_the_returned_param_is_y",
             "β₁ = 0.7: the param returned is y = (1−β₁)z + β₁x, where the next gradient is taken",
             114, steps=3, lrs=(0.05, 0.2, 0.1), hyper={"beta1": 0.7}),
        Case("test_resuming_reads_x_and_z_from_the_state",
             "From a given t, z, x, v, weight_sum and lr_max: z steps from z, and x averages from x",
             115, steps=2, state_t=5, lrs=(0.04, 0.02)),
        Case("test_decay_at_y_when_the_gradient_is_zero",
             "With g = 0 and λ = 0.2: z moves by lr·λ·y, the decay taken at the param given",
             116, steps=3, zero_grads=True, lrs=(0.1, 0.3, 0.2), hyper={"weight_decay": 0.2}),
    )),
}


# --------------------------------------------------------------------------- the shared tests
def _and(words: Sequence[str]) -> str:
    words = list(words)
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def tests_of(rule: str) -> list[Test]:
    """The hidden suite of ``rule``, built from its entry in :data:`SUITES` and its record."""
    record = _table.get(rule)
    if rule not in SUITES or not record.groups:
        raise ValueError(f"{rule} has no graded suite: give its record groups and add an entry to "
                         f"optilab.grading.suites.SUITES (graded: {', '.join(SUITES)})")
    suite, base = SUITES[rule], SUITES[rule].seed
    keys = record.state_keys
    others = [h for h in record.hyperparameters if h != "lr"]
    mixed = "mixed" if any(h.startswith("eps") for h in others) else 1.0
    counted = any(slot.kind == "count" for slot in record.state)
    shapes = [(), (1,), (2, 3, 2)] if record.params == "any" else [(2, 3), (1, 4), (5, 2)]

    def vec(n: int) -> tuple[int, ...]:
        """The shared tests' n-vector, or for a rule of matrices only an n×3 or 2×n matrix."""
        return (n,) if record.params == "any" else ((n, 3) if n % 2 else (2, n))

    # Every test but test_defaults passes every hyperparameter explicitly: a wrong default costs
    # the point of the group holding test_defaults, not every group of the rule.
    fixed = {h: v for h, v in record.defaults.items() if h != "lr"}
    out: list[Test] = []

    def add(group: str, name: str, title: str, body: Callable[[Callable], None]) -> None:
        out.append(Test(name, group, title, body))

    def steps(seed: int, shape: tuple, n: int, lrs: Any, *, hyper: dict | None = None,
              scale: Any = 1.0, state: dict | None = None, dtype: Any = np.float64) -> Callable:
        def body(student: Callable) -> None:
            param, grads = inputs.case(base + seed, shape, steps=n, scale=scale, dtype=dtype)
            P.steps(rule, student, param=param, grads=grads, lrs=lrs, hyper={**fixed, **(hyper or {})},
                    state=state)
        return body

    # first-step
    add("first-step", "test_one_step_from_an_empty_state",
        "One step from {}: " + _and(["param", *keys]), steps(101, vec(7), 1, 0.037))
    if others:
        add("first-step", "test_one_step_with_other_hyperparameters",
            "One step from {} with other " + _and([_table.SYMBOLS.get(h, h) for h in others]),
            steps(102, vec(5), 1, 0.21, hyper=inputs.random_hyper(rule, base + 103), scale=mixed))
    else:
        add("first-step", "test_one_step_with_a_large_lr", "One step with lr = 1.5",
            steps(102, vec(5), 1, 1.5))
    # many-steps
    add("many-steps", "test_twenty_steps_with_the_state_carried_over",
        f"Twenty steps, {_and(keys)} carried from step to step" if keys
        else "Twenty steps, each from the last one's result",
        steps(104, vec(6), 20, 0.02, hyper=inputs.random_hyper(rule, base + 105)))
    add("many-steps", "test_an_lr_that_changes_every_step", "An lr that changes every step (a schedule)",
        steps(106, vec(6), 8, inputs.random_lrs(base + 107, 8), hyper=inputs.random_hyper(rule, base + 108),
              scale=mixed))
    if keys:
        given = inputs.given_state(rule, np.random.default_rng(base + 110), vec(6), t=5)
        add("many-steps", "test_resuming_from_a_given_state",
            "Three steps from a given state" + (" with t = 5" if counted else f" ({_and(keys)})"),
            steps(109, vec(6), 3, 0.04, state=given))
    add("many-steps", "test_many_steps_on_a_matrix", "Ten steps on a 3×4 param",
        steps(111, (3, 4), 10, 0.05))
    # conventions
    for case in suite.conventions:
        add("conventions", case.name, case.title,
            lambda student, case=case: case.run(rule, base, student, fixed))
    # contract
    held = [slot.name for slot in record.state if slot.kind != "count"]
    arrays = f" ({_and(['param', *held])})" if held else ""

    def float32(student: Callable) -> None:
        param, grads = inputs.case(base + 150, vec(6), steps=3, dtype=np.float32)
        P.keeps_dtype_and_shape(rule, student, param=param, grads=grads, hyper={"lr": 0.05, **fixed})
        P.steps(rule, student, param=param, grads=grads, lrs=0.05, hyper=fixed)

    def any_shape(student: Callable) -> None:
        for k, shape in enumerate(shapes):
            param, grads = inputs.case(base + 151 + k, shape, steps=2)
            P.keeps_dtype_and_shape(rule, student, param=param, grads=grads, hyper={"lr": 0.05, **fixed})
            P.steps(rule, student, param=param, grads=grads, lrs=0.05, hyper=fixed)

    def unchanged(student: Callable) -> None:
        param, grads = inputs.case(base + 154, vec(5), steps=3)
        P.no_mutation(rule, student, param=param, grads=grads, hyper={"lr": 0.05, **fixed})
        if any(slot.ndim == "2+" for slot in record.state):  # state that only a matrix has (Adafactor's row, col)
            param, grads = inputs.case(base + 158, (4, 3), steps=3)
            P.no_mutation(rule, student, param=param, grads=grads, hyper={"lr": 0.05, **fixed})

    def new_arrays(student: Callable) -> None:
        param, grads = inputs.case(base + 155, vec(5), steps=2)
        P.returns_new_arrays(rule, student, param=param, grads=grads, hyper={"lr": 0.05, **fixed})

    def defaults(student: Callable) -> None:
        param, grads = inputs.case(base + 156, vec(5), steps=3)
        P.uses_defaults(rule, student, param=param, grads=grads)

    def refuses_a_vector(student: Callable) -> None:
        param, grads = inputs.case(base + 157, (5,))
        try:
            student(param, grads[0], {}, lr=0.05)
        except ValueError:
            return
        except Exception as exc:
            raise AssertionError(f"a 5-vector param raised {type(exc).__name__}, not ValueError: {rule} takes "
                                 "matrices only and must say so with a ValueError") from None
        raise AssertionError(f"a 5-vector param was accepted: {rule} takes matrices only; raise ValueError "
                             "naming the shape and the rule to use for it")

    if record.params == "matrix":
        add("contract", "test_a_vector_is_refused", "A vector param is refused with a ValueError",
            refuses_a_vector)
    dims = (", ".join(f"{len(s)}-d" for s in shapes[:-1]) + f" and {len(shapes[-1])}-d params"
            if record.params == "any" else "Matrices of three shapes")
    add("contract", "test_float32_stays_float32", "float32 in, float32 out" + arrays, float32)
    add("contract", "test_0d_1d_and_nd_params",
        dims + (f"; {_and(held)} {'have' if len(held) > 1 else 'has'} param's shape" if held
                else " keep their shape"), any_shape)
    add("contract", "test_inputs_are_left_unchanged",
        "param, grad, state and the arrays inside it are left unchanged" if keys
        else "param, grad and state are left unchanged", unchanged)
    add("contract", "test_returns_new_arrays",
        f"The returned {_and(['param', *held])} are new arrays" if held else "The returned param is a new array",
        new_arrays)
    used = ", ".join(f"{_table.SYMBOLS.get(h, h)} = {_table.number(v)}" for h, v in record.defaults.items())
    add("contract", "test_defaults", f"Called without hyperparameters it uses {used}", defaults)

    groups = {t.group for t in out}
    if groups != set(record.groups):
        raise ValueError(f"the suite of {rule} has tests in the groups {sorted(groups)}, but its record "
                         f"gives points to {sorted(record.groups)}: every group needs tests, every test a "
                         "group with points")
    order = list(record.groups)
    return sorted(out, key=lambda t: order.index(t.group))
