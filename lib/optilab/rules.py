r"""The rule table: every fact about each update rule, in one record per rule.

Every other module reads these records: :mod:`optilab.kernels` (``RULES``), the grader
(:mod:`optilab.contract.spec`: defaults, state keys, point groups), the framework table
(:mod:`optilab.frameworks`), the plots' colours, the lessons' explorers, and the tests that
compare the rules with ``torch.optim``. CONTRACT.md's rule table is tested against it.

A record holds what cannot be read from the rule's function; what can, it reads:
the defaults come from the function's signature (:attr:`Rule.defaults`). The function
itself is looked up in :mod:`optilab.kernels` by the record's name when it is asked for.

Adding a rule is one record here, one function in :mod:`optilab.kernels`, and one entry of
the graded suites (:mod:`optilab.grading.suites`) if students are to write it.

This module imports nothing else of optilab at import time, so any module may read it.

Examples
--------
>>> get("rmsprop").defaults
{'lr': 0.01, 'rho': 0.99, 'eps': 1e-08}
>>> get("adam").state_keys
('t', 'm', 'v')
>>> [rule.name for rule in TABLE if rule.groups][:3]
['sgd', 'momentum', 'nesterov']
"""

from __future__ import annotations

import difflib
import inspect
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Slot", "Spelling", "Rule", "TABLE", "BY_NAME", "SYMBOLS", "get", "graded", "names", "number", "suggest",
           "contract_markdown", "readme_markdown", "write_contract"]

#: The lessons' symbol of each hyperparameter (test titles, messages).
SYMBOLS: dict[str, str] = {"lr": "lr", "momentum": "μ", "rho": "ρ", "beta1": "β₁", "beta2": "β₂",
                           "eps": "ε", "weight_decay": "λ", "beta2_decay": "β₂ decay", "eps1": "ε₁",
                           "eps2": "ε₂", "d": "d", "momentum_decay": "ψ", "nesterov": "nesterov",
                           "ns_steps": "NS steps", "warmup_steps": "warm-up steps", "r": "r",
                           "weight_lr_power": "lr power"}


@dataclass(frozen=True)
class Slot:
    """One entry of a rule's state.

    Attributes
    ----------
    name : str
        The key in the state dict.
    kind : str
        What it holds, which says how a plausible value is drawn for a test that resumes
        from a given state: ``"count"`` (the step count ``t``, an int), ``"signed"`` (a signed
        average such as a velocity or first moment), ``"positive"`` (an average of
        non-negative numbers, e.g. of g²), ``"sum"`` (a running sum of non-negative numbers).
    scale : float
        The typical size of a ``"signed"`` entry, relative to the gradients.
    shape : str
        ``"param"`` (the parameter's shape, the usual case), ``"rows"`` or ``"cols"`` (the
        parameter's shape without its last or its second-to-last axis: the factored moments of
        Adafactor) or ``"scalar"`` (a 0-d value). See CONTRACT.md, "Rules that do not fit one array".
    ndim : str
        For which parameters the entry is there: ``"any"``, ``"2+"`` (parameters of two or more
        dimensions: Adafactor's factored moments) or ``"0-1"`` (scalars and vectors: Adafactor's
        unfactored one).
    """

    name: str
    kind: str = "signed"
    scale: float = 1.0
    shape: str = "param"
    ndim: str = "any"

    def __post_init__(self) -> None:
        if self.kind not in ("count", "signed", "positive", "sum"):
            raise ValueError(f"state slot {self.name!r}: kind {self.kind!r} is not one of "
                             "count, signed, positive, sum")
        if self.shape not in ("param", "rows", "cols", "scalar"):
            raise ValueError(f"state slot {self.name!r}: shape {self.shape!r} is not one of "
                             "param, rows, cols, scalar")
        if self.ndim not in ("any", "2+", "0-1"):
            raise ValueError(f"state slot {self.name!r}: ndim {self.ndim!r} is not one of any, 2+, 0-1")


@dataclass(frozen=True)
class Spelling:
    """How one framework (``torch.optim`` or ``keras.optimizers``) computes a rule.

    Attributes
    ----------
    cls : str
        The class name.
    fixed : dict
        Arguments that select the rule and are not optilab hyperparameters
        (e.g. ``{"nesterov": True}``, or Keras's ``initial_accumulator_value=0.0``).
    defaults : dict
        The class's own defaults for the arguments that matter, in the framework's names.
    exact : bool
        True when, with optilab's hyperparameters translated, the framework computes the same
        numbers as the optilab rule (to round-off, for a constant lr).
    differences : str
        What differs from optilab's rule, in one sentence ('' when nothing does).
    names : dict
        optilab hyperparameter -> the framework's argument name, where they differ
        (``beta1``/``beta2`` become torch's ``betas`` pair without being listed).
    always : tuple
        Hyperparameters passed even when not given, because the framework's default would
        select another rule (``momentum`` for ``torch.optim.SGD``).
    module : str
        Where ``cls`` lives, when not in the framework's own module (``torch.optim``,
        ``keras.optimizers``): ``"lion_pytorch"``, ``"schedulefree"`` for rules that torch.optim
        lacks, whose PyTorch implementation is a package of its own; ``"optax"`` for optax.
    pairs : dict
        A framework argument that takes a pair -> the two optilab hyperparameters in it
        (``{"eps": ("eps1", "eps2")}`` for ``torch.optim.Adafactor``; ``betas`` is always
        ``(beta1, beta2)`` and need not be listed).
    """

    cls: str
    fixed: dict[str, Any] = field(default_factory=dict)
    defaults: dict[str, Any] = field(default_factory=dict)
    exact: bool = True
    differences: str = ""
    names: dict[str, str] = field(default_factory=dict)
    always: tuple[str, ...] = ()
    module: str = ""
    pairs: dict[str, tuple[str, str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Rule:
    """Every fact about one update rule.

    Attributes
    ----------
    name : str
        The rule's name, also the name of its function in :mod:`optilab.kernels`.
    update : str
        One step in the lessons' symbols (g = grad, p = param), as CONTRACT.md shows it.
    hyperparameters : tuple of str
        The contract's hyperparameters, ``lr`` first: the ones the labs ask for and the grader
        checks. The function may accept more (weight decay, AMSGrad, ...) whose defaults reduce
        it to the contract's rule.
    state : tuple of Slot
        The keys the returned state must hold (it may hold more), in order.
    groups : dict or None
        Point group -> points of the graded suite (one nbgrader test cell per group), or None
        for a rule that is not graded.
    torch, keras : Spelling or None
        How the frameworks spell the rule (``torch`` may name a PyTorch package other than
        ``torch.optim``, in its ``module``).
    optax : Spelling or None
        How optax spells it, for the rules compared with optax (``optax.yogi``).
    color : str
        The rule's fixed colour in every figure (hex; Okabe–Ito's palette for the first eight).
    lesson : int or None
        The lesson that teaches the rule; the lessons' explorers that show "every rule of the
        course" show the rules with a lesson.
    accumulator : str or None
        The state key the adaptive-step explorers divide by (``α/(√s + ε)``), for rules that
        have one.
    torch_ranges : dict
        Hyperparameter -> (low, high): the ranges over which the rule is compared with its
        ``torch.optim`` class, or the package that has it (tests/torch_reference); an int range
        draws ints.
    paper : str
        Where the rule comes from.
    params : str
        The parameters the rule accepts: ``"any"`` shape (0-d to n-d), or ``"matrix"`` only
        (2-d; Muon). See CONTRACT.md, "Rules that do not fit one array".
    evaluate_at : str or None
        For rules whose gradient is taken at one point and whose model is judged at another
        (schedule-free): the state key holding the point to evaluate the model at. None when
        it is the returned parameter.
    scope : str
        ``"parameter"``: the rule steps one array at a time; ``"model"``: it needs every
        parameter at once (global-norm clipping, SAM) and takes dicts of arrays.
    needs : tuple of str
        Inputs beyond ``(param, grad, state)``, e.g. ``("grad_fn",)`` for a rule that takes a
        second gradient at another point (SAM).
    given_by : tuple of str
        The other reference rules that compute this one with some settings (momentum with
        ``momentum=0`` is sgd; adam on ``param·(1 − lr·λ)`` is adamw): where this rule is graded,
        their code is kept from the student's too.
    """

    name: str
    update: str
    hyperparameters: tuple[str, ...]
    state: tuple[Slot, ...] = ()
    groups: dict[str, int] | None = None
    torch: Spelling | None = None
    keras: Spelling | None = None
    optax: Spelling | None = None
    color: str = "#999999"
    lesson: int | None = None
    accumulator: str | None = None
    torch_ranges: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    paper: str = ""
    params: str = "any"
    evaluate_at: str | None = None
    scope: str = "parameter"
    needs: tuple[str, ...] = ()
    given_by: tuple[str, ...] = ()

    @property
    def function(self) -> Callable[..., tuple[Any, dict]]:
        """The reference rule, ``optilab.kernels.<name>``."""
        from optilab import kernels

        return getattr(kernels, self.name)

    @property
    def signature_defaults(self) -> dict[str, Any]:
        """Every keyword-only argument of the function with its default, read from its signature."""
        parameters = inspect.signature(self.function).parameters.values()
        return {p.name: p.default for p in parameters if p.kind is inspect.Parameter.KEYWORD_ONLY}

    @property
    def defaults(self) -> dict[str, Any]:
        """The contract's hyperparameters with their defaults (from the function's signature)."""
        everything = self.signature_defaults
        missing = [h for h in self.hyperparameters if h not in everything]
        if missing:
            raise TypeError(f"optilab.kernels.{self.name} has no keyword argument {missing[0]!r} "
                            f"with a default, which the rule table lists")
        return {h: everything[h] for h in self.hyperparameters}

    @property
    def state_keys(self) -> tuple[str, ...]:
        """The names of :attr:`state`."""
        return tuple(slot.name for slot in self.state)

    @property
    def graded(self) -> bool:
        """True when the rule has a graded suite (students write it in a lab or file)."""
        return bool(self.groups)


_FOUR_GROUPS = {"first-step": 1, "many-steps": 2, "conventions": 2, "contract": 1}
_KERAS_EPS = "ε is added inside the square root (√(s + ε)), and Keras's default ε is 1e-7"
_ADAM_RANGES = {"beta1": (0.0, 0.99), "beta2": (0.9, 0.9999), "eps": (1e-8, 1e-3)}
_T, _M, _V = Slot("t", "count"), Slot("m", "signed", 0.3), Slot("v", "positive")

#: One record per rule, in the order the course teaches them (new rules go at the end).
TABLE: tuple[Rule, ...] = (
    Rule("sgd", "p ← p − lr·g", ("lr",),
         groups={"first-step": 1, "many-steps": 1, "contract": 1},
         torch=Spelling("SGD", defaults={"lr": 1e-3, "momentum": 0}),
         keras=Spelling("SGD", defaults={"learning_rate": 0.01, "momentum": 0.0}),
         color="#000000",  # black
         lesson=1, torch_ranges={"weight_decay": (0.0, 0.1)},
         given_by=("momentum", "nesterov"),
         paper='Robbins & Monro (1951), "A Stochastic Approximation Method"'),
    Rule("momentum", "v ← μ·v + g (v starts at 0); p ← p − lr·v", ("lr", "momentum"), (Slot("velocity"),),
         groups=dict(_FOUR_GROUPS),
         torch=Spelling("SGD", defaults={"lr": 1e-3, "momentum": 0, "dampening": 0}, always=("momentum",)),
         keras=Spelling("SGD", defaults={"learning_rate": 0.01, "momentum": 0.0}, always=("momentum",),
                        differences="Sutskever's form, velocity ← μ·velocity − α·g; "
                                    "the same steps for a constant α, not under a schedule"),
         color="#E69F00",  # orange
         lesson=3,
         torch_ranges={"momentum": (0.0, 0.99), "dampening": (0.0, 0.5), "weight_decay": (0.0, 0.1)},
         given_by=("nesterov",),
         paper="Polyak (1964), \"Some methods of speeding up the convergence of iteration methods\""),
    Rule("nesterov", "v ← μ·v + g; p ← p − lr·(g + μ·v)", ("lr", "momentum"), (Slot("velocity"),),
         groups=dict(_FOUR_GROUPS),
         torch=Spelling("SGD", fixed={"nesterov": True}, always=("momentum",),
                        defaults={"lr": 1e-3, "momentum": 0, "nesterov": False}),
         keras=Spelling("SGD", fixed={"nesterov": True}, always=("momentum",),
                        defaults={"learning_rate": 0.01, "momentum": 0.0, "nesterov": False},
                        differences="Sutskever's form, as for momentum; the same steps for a constant α"),
         color="#D55E00",  # vermillion
         lesson=3, torch_ranges={"momentum": (0.0, 0.99), "weight_decay": (0.0, 0.1)},
         given_by=("momentum",),
         paper="Nesterov (1983); Sutskever, Martens, Dahl & Hinton (2013)"),
    Rule("adagrad", "s ← s + g²; p ← p − lr·g / (√s + ε)", ("lr", "eps"), (Slot("sum_sq", "sum"),),
         groups=dict(_FOUR_GROUPS),
         torch=Spelling("Adagrad", defaults={"lr": 1e-2, "eps": 1e-10, "initial_accumulator_value": 0}),
         keras=Spelling("Adagrad", fixed={"initial_accumulator_value": 0.0},
                        defaults={"learning_rate": 1e-3, "epsilon": 1e-7, "initial_accumulator_value": 0.1},
                        exact=False, differences=_KERAS_EPS + "; the sum of squares starts at 0.1, not 0"),
         color="#009E73",  # bluish green
         lesson=4, accumulator="sum_sq", torch_ranges={"eps": (1e-10, 1e-3), "weight_decay": (0.0, 0.1)},
         paper="Duchi, Hazan & Singer (2011)"),
    Rule("rmsprop", "s ← ρ·s + (1−ρ)·g²; p ← p − lr·g / (√s + ε)", ("lr", "rho", "eps"),
         (Slot("sq_avg", "positive"),),
         groups=dict(_FOUR_GROUPS),
         torch=Spelling("RMSprop", defaults={"lr": 1e-2, "alpha": 0.99, "eps": 1e-8}, names={"rho": "alpha"}),
         keras=Spelling("RMSprop", defaults={"learning_rate": 1e-3, "rho": 0.9, "epsilon": 1e-7},
                        exact=False, differences=_KERAS_EPS + "; ρ defaults to 0.9, not 0.99"),
         color="#56B4E9",  # sky blue
         lesson=5, accumulator="sq_avg",
         torch_ranges={"rho": (0.5, 0.999), "eps": (1e-8, 1e-3), "momentum": (0.0, 0.9),
                       "centered": (False, True), "weight_decay": (0.0, 0.1)},
         given_by=("adam", "adamw", "amsgrad"),  # adam with lr and ε rescaled by √(1−β₂ᵗ), β₁ = 0
         paper="Tieleman & Hinton (2012), Coursera lecture 6.5"),
    Rule("adam", "t ← t+1; m ← β₁m + (1−β₁)g; v ← β₂v + (1−β₂)g²; m̂ = m/(1−β₁ᵗ); v̂ = v/(1−β₂ᵗ); "
                 "p ← p − lr·m̂ / (√v̂ + ε)",
         ("lr", "beta1", "beta2", "eps"), (_T, _M, _V),
         groups=dict(_FOUR_GROUPS),
         torch=Spelling("Adam", defaults={"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0}),
         keras=Spelling("Adam", defaults={"learning_rate": 1e-3, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7},
                        exact=False,
                        differences="ε is added to √v before bias correction (the same as ε/√(1−β₂ᵗ) added "
                                    "to √v̂), default 1e-7; weight_decay= is decoupled, as in AdamW"),
         color="#0072B2",  # blue
         lesson=6, torch_ranges={**_ADAM_RANGES, "weight_decay": (0.0, 0.1), "amsgrad": (False, True)},
         given_by=("adamw", "amsgrad"),
         paper='Kingma & Ba (2015), "Adam: A Method for Stochastic Optimization"'),
    Rule("adamw", "p ← p − lr·λ·p, then the Adam step", ("lr", "beta1", "beta2", "eps", "weight_decay"),
         (_T, _M, _V),
         groups=dict(_FOUR_GROUPS),
         torch=Spelling("AdamW", defaults={"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 1e-2}),
         keras=Spelling("AdamW", defaults={"learning_rate": 1e-3, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7,
                                           "weight_decay": 0.004},
                        exact=False, differences="ε as in Keras's Adam; λ defaults to 0.004, not 0.01"),
         color="#CC79A7",  # reddish purple
         lesson=7, torch_ranges={**_ADAM_RANGES, "weight_decay": (0.0, 0.5), "amsgrad": (False, True)},
         given_by=("adam", "amsgrad"),
         paper='Loshchilov & Hutter (2019), "Decoupled Weight Decay Regularization"'),
    Rule("amsgrad", "as Adam, dividing by √(v_max/(1−β₂ᵗ)) + ε with v_max ← max(v_max, v)",
         ("lr", "beta1", "beta2", "eps"), (_T, _M, _V, Slot("v_max", "positive")),
         torch=Spelling("Adam", fixed={"amsgrad": True},
                        defaults={"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "amsgrad": False}),
         keras=Spelling("Adam", fixed={"amsgrad": True},
                        defaults={"learning_rate": 1e-3, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7,
                                  "amsgrad": False},
                        exact=False, differences="ε as in Keras's Adam"),
         color="#F0E442",  # yellow
         lesson=6, torch_ranges={**_ADAM_RANGES, "weight_decay": (0.0, 0.1)},
         given_by=("adam", "adamw"),
         paper='Reddi, Kale & Kumar (2018), "On the Convergence of Adam and Beyond"'),
    Rule("adamax", "t ← t+1; m ← β₁m + (1−β₁)g; u ← max(β₂·u, |g| + ε); p ← p − lr/(1−β₁ᵗ)·m/u",
         ("lr", "beta1", "beta2", "eps"), (_T, _M, Slot("u", "positive")),
         groups=dict(_FOUR_GROUPS),
         torch=Spelling("Adamax", defaults={"lr": 2e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0}),
         keras=Spelling("Adamax", defaults={"learning_rate": 1e-3, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7},
                        exact=False, differences="ε is added to u outside the maximum (m/(u + ε)), default 1e-7; "
                                                 "lr defaults to 1e-3, not 2e-3"),
         color="#999999",  # grey
         torch_ranges={**_ADAM_RANGES, "weight_decay": (0.0, 0.1)},
         paper='Kingma & Ba (2015), "Adam: A Method for Stochastic Optimization", section 7.1'),
    Rule("lion", "c = β₁m + (1−β₁)g; p ← p·(1 − lr·λ) − lr·sign(c); m ← β₂m + (1−β₂)g",
         ("lr", "beta1", "beta2", "weight_decay"), (Slot("m", "signed", 0.3),),
         groups=dict(_FOUR_GROUPS),
         torch=Spelling("Lion", module="lion_pytorch",
                        defaults={"lr": 1e-4, "betas": (0.9, 0.99), "weight_decay": 0.0}),
         optax=Spelling("lion", module="optax", names={"lr": "learning_rate", "beta1": "b1", "beta2": "b2"},
                        always=("weight_decay",),
                        defaults={"b1": 0.9, "b2": 0.99, "weight_decay": 1e-3},
                        differences="λ defaults to 1e-3, not 0; the decay λ·p is added to the signed "
                                    "update before the lr scales both, the same numbers"),
         color="#882255",  # wine (Paul Tol's muted palette, as for every rule after the ninth)
         torch_ranges={"beta1": (0.0, 0.99), "beta2": (0.9, 0.9999), "weight_decay": (0.0, 0.5)},
         paper='Chen et al. (2023), "Symbolic Discovery of Optimization Algorithms"'),
    Rule("adafactor", "t ← t+1; w = t^(β₂ decay); matrices: r ← r + w·(mean over columns of g² − r), "
                      "c ← the same over rows, v̂ = r·cᵀ/max(mean(r), ε₁); scalars and vectors: v ← v + w·(g² − v), "
                      "v̂ = v; u = g/√max(v̂, ε₁²); p ← p − max(ε₂, RMS(p))·min(lr, 1/√t)·u/max(1, RMS(u)/d)",
         ("lr", "beta2_decay", "eps1", "eps2", "d"),
         (_T, Slot("row", "positive", shape="rows", ndim="2+"), Slot("col", "positive", shape="cols", ndim="2+"),
          Slot("v", "positive", ndim="0-1")),
         groups=dict(_FOUR_GROUPS),
         torch=Spelling("Adafactor", pairs={"eps": ("eps1", "eps2")},
                        differences="the same numbers; torch keeps row_var and col_var with an axis of size 1 "
                                    "(r×1 and 1×k), and ε₁ and ε₂ as the pair eps",
                        defaults={"lr": 1e-2, "beta2_decay": -0.8, "eps": (None, 1e-3), "d": 1.0,
                                  "weight_decay": 0.0}),
         color="#999933",  # olive
         torch_ranges={"beta2_decay": (-1.0, -0.5), "eps2": (1e-4, 1e-2), "d": (1.0, 2.0),
                       "weight_decay": (0.0, 0.5)},
         paper='Shazeer & Stern (2018), "Adafactor: Adaptive Learning Rates with Sublinear Memory Cost"'),
    Rule("nadam", "t ← t+1; μₜ = β₁(1 − ½·0.96^(tψ)); Π ← Π·μₜ (Π starts at 1); m, v and v̂ as Adam; "
                  "p ← p − lr·(1−μₜ)/(1−Π)·g/(√v̂ + ε) − lr·μₜ₊₁/(1−Π·μₜ₊₁)·m/(√v̂ + ε)",
         ("lr", "beta1", "beta2", "eps", "momentum_decay"),
         (_T, _M, _V, Slot("mu_product", "positive", shape="scalar")),
         groups=dict(_FOUR_GROUPS),
         torch=Spelling("NAdam", defaults={"lr": 2e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0,
                                           "momentum_decay": 4e-3}),
         color="#332288",  # indigo
         torch_ranges={**_ADAM_RANGES, "momentum_decay": (1e-3, 5e-2), "weight_decay": (0.0, 0.1)},
         paper='Dozat (2016), "Incorporating Nesterov Momentum into Adam"'),
    Rule("radam", "t ← t+1; m, v, m̂ as Adam; ρ∞ = 2/(1−β₂) − 1; ρₜ = ρ∞ − 2tβ₂ᵗ/(1−β₂ᵗ); if ρₜ > 5: "
                  "p ← p − lr·rₜ·m̂·√(1−β₂ᵗ)/(√v + ε) with rₜ = √((ρₜ−4)(ρₜ−2)ρ∞/((ρ∞−4)(ρ∞−2)ρₜ)); else p ← p − lr·m̂",
         ("lr", "beta1", "beta2", "eps"), (_T, _M, _V),
         groups=dict(_FOUR_GROUPS),
         torch=Spelling("RAdam", defaults={"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0}),
         color="#88CCEE",  # cyan
         torch_ranges={**_ADAM_RANGES, "weight_decay": (0.0, 0.1)},
         paper='Liu et al. (2020), "On the Variance of the Adaptive Learning Rate and Beyond"'),
    Rule("adadelta", "s ← ρ·s + (1−ρ)·g²; Δ = √(u + ε)/√(s + ε)·g; u ← ρ·u + (1−ρ)·Δ²; p ← p − lr·Δ",
         ("lr", "rho", "eps"), (Slot("sq_avg", "positive"), Slot("delta_sq_avg", "positive")),
         groups=dict(_FOUR_GROUPS),
         torch=Spelling("Adadelta", defaults={"lr": 1.0, "rho": 0.9, "eps": 1e-6, "weight_decay": 0}),
         color="#44AA99",  # teal (no accumulator: its step is α·√(u + ε)/√(s + ε), not α/(√s + ε))
         torch_ranges={"rho": (0.5, 0.999), "eps": (1e-8, 1e-3), "weight_decay": (0.0, 0.1)},
         paper='Zeiler (2012), "ADADELTA: An Adaptive Learning Rate Method"'),
    Rule("yogi", "t ← t+1; m ← β₁m + (1−β₁)g; v ← v − (1−β₂)·sign(v − g²)·g² (m and v start at 1e-6); "
                 "p ← p − lr·(m/(1−β₁ᵗ)) / (√(v/(1−β₂ᵗ)) + ε)",
         ("lr", "beta1", "beta2", "eps"), (_T, _M, _V),
         groups=dict(_FOUR_GROUPS),
         optax=Spelling("yogi", module="optax", names={"lr": "learning_rate", "beta1": "b1", "beta2": "b2"},
                        defaults={"b1": 0.9, "b2": 0.999, "eps": 1e-3},
                        differences="no default lr (1e-2 here). Against the paper's Algorithm 2, which starts "
                                    "m and v at 0, corrects neither and adds ε to √v: optax (and this rule) "
                                    "start both at 1e-6, bias-correct both and add ε to √v̂"),
         color="#117733",  # green
         torch_ranges={"beta1": (0.0, 0.99), "beta2": (0.9, 0.9999), "eps": (1e-8, 1e-2)},
         paper='Zaheer, Reddi, Sachan, Kale & Kumar (2018), "Adaptive Methods for Nonconvex Optimization"'),
    Rule("muon", "matrices only; m ← μ·m + (1−μ)·g; O = NS₅((1−μ)·g + μ·m), Newton–Schulz's orthogonalisation; "
                 "p ← p·(1 − lr·λ) − lr·√max(1, rows/cols)·O",
         ("lr", "momentum", "weight_decay"), (Slot("m", "signed", 0.3),),
         groups=dict(_FOUR_GROUPS),
         torch=Spelling("Muon", defaults={"lr": 1e-3, "weight_decay": 0.1, "momentum": 0.95, "nesterov": True,
                                          "ns_steps": 5},
                        exact=False, differences="Newton–Schulz runs in bfloat16 (8 significant bits): "
                                                 "a step differs by about 2% of its largest entry (the tests "
                                                 "allow 8·2⁻⁸ per iteration), not by round-off"),
         color="#AA4499",  # purple
         params="matrix",
         torch_ranges={"momentum": (0.0, 0.99), "weight_decay": (0.0, 0.5), "nesterov": (False, True),
                       "ns_steps": (3, 7)},
         paper='Jordan et al. (2024), "Muon: An optimizer for hidden layers in neural networks"'),
    Rule("schedule_free_adamw", "t ← t+1; v ← β₂v + (1−β₂)g²; u = g/(√(v/(1−β₂ᵗ)) + ε) + λ·p; z ← z − lr·u; "
                                "c = lr_max²/Σ lr_max²; x ← (1−c)·x + c·z; p ← (1−β₁)·z + β₁·x "
                                "(x and z start at p; the model is judged at x)",
         ("lr", "beta1", "beta2", "eps", "weight_decay"),
         (_T, Slot("z"), Slot("x"), _V, Slot("weight_sum", "sum", shape="scalar"),
          Slot("lr_max", "positive", shape="scalar")),
         groups=dict(_FOUR_GROUPS),
         torch=Spelling("AdamWScheduleFree", module="schedulefree",
                        defaults={"lr": 0.0025, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0,
                                  "warmup_steps": 0, "r": 0.0, "weight_lr_power": 2.0},
                        differences="the parameter holds y and x is implicit (optimizer.eval() switches to it); "
                                    "here x is state['x']"),
         color="#CC6677",  # rose
         evaluate_at="x",
         torch_ranges={"beta1": (0.5, 0.99), "beta2": (0.9, 0.9999), "eps": (1e-8, 1e-3),
                       "weight_decay": (0.0, 0.1), "warmup_steps": (0, 20), "r": (0.0, 1.0),
                       "weight_lr_power": (0.0, 3.0)},
         paper='Defazio et al. (2024), "The Road Less Scheduled"'),
)

#: The records by name.
BY_NAME: dict[str, Rule] = {rule.name: rule for rule in TABLE}


def names() -> tuple[str, ...]:
    """Every rule's name, in the table's order."""
    return tuple(BY_NAME)


def graded() -> tuple[str, ...]:
    """The names of the rules that have a graded suite (the contract's rules), in order."""
    return tuple(rule.name for rule in TABLE if rule.graded)


def _typos(a: str, b: str) -> int:
    """Edits (insert, delete, replace, swap two neighbours) that turn ``a`` into ``b``."""
    d = [[i + j if i * j == 0 else 0 for j in range(len(b) + 1)] for i in range(len(a) + 1)]
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] != b[j - 1]))
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
    return d[len(a)][len(b)]


def suggest(name: str, valid: list[str]) -> str | None:
    """The valid name ``name`` is most likely a typo of (fewest edits, a swap counting one), or None."""
    key = name.strip().lower()
    scored = sorted((_typos(key, v), -difflib.SequenceMatcher(None, key, v).ratio(), v) for v in valid)
    if scored and scored[0][0] <= max(1, len(key) // 3):
        return scored[0][2]
    close = difflib.get_close_matches(key, valid, n=1)
    return close[0] if close else None


def get(name: str, *, among: Mapping[str, Any] | None = None) -> Rule:
    """The record of ``name``; a name not in the table (or not in ``among``) is a ValueError
    that lists the valid names and suggests the closest one."""
    valid = BY_NAME if among is None else among
    if isinstance(name, str) and name in valid:
        return BY_NAME[name]
    close = suggest(str(name), list(valid))
    hint = f" Did you mean {close!r}?" if close else ""
    raise ValueError(f"unknown rule {name!r}: choose one of {', '.join(valid)}.{hint}")


def number(x: Any) -> str:
    """A default as the course writes it: 0.9 -> '0.9', 0.01 -> '1e-2', 1e-08 -> '1e-8'."""
    if isinstance(x, float) and x and abs(x) <= 1e-2:
        exponent = math.floor(math.log10(abs(x)))
        mantissa = x / 10.0**exponent
        if abs(mantissa - round(mantissa)) < 1e-9:
            return f"{round(mantissa)}e{exponent}"
    return f"{x:g}" if isinstance(x, float) else repr(x)


def _torch_call(rule: Rule) -> str:
    """The PyTorch call (its module named when it is not torch.optim), or optax's where PyTorch has none."""
    spelling = rule.torch or rule.optax
    if spelling is None:
        return "—"
    framework = "torch" if rule.torch is not None else "optax"
    pairs = dict(spelling.pairs)
    if framework == "torch":
        pairs.setdefault("betas", ("beta1", "beta2"))
    in_pair = {name: arg for arg, pair in pairs.items() for name in pair}
    args, done = [], set()
    for h in rule.hyperparameters:
        if h == "lr":
            args.append("lr" if framework == "torch" else "learning_rate=lr")
        elif h in in_pair:
            arg = in_pair[h]
            if arg not in done:
                args.append(f"{arg}=({', '.join(pairs[arg])})")
            done.add(arg)
        else:
            args.append(f"{spelling.names.get(h, h)}={h}")
    args += [f"{k}={v!r}" for k, v in spelling.fixed.items()]
    module = spelling.module + "." if spelling.module else ""
    call = f"`{module}{spelling.cls}({', '.join(args)})`"
    return call if framework == "torch" else f"none; optax: {call}"


#: The lines that enclose the generated rule table in CONTRACT.md.
CONTRACT_MARKERS = ("<!-- the rule table: generated from lib/optilab/rules.py by "
                    "optilab.rules.write_contract(\"CONTRACT.md\") -->", "<!-- end of the rule table -->")


def contract_markdown() -> str:
    """CONTRACT.md's table of the graded rules: defaults, state keys, one step, PyTorch's spelling."""
    lines = ["| rule | hyperparameters (defaults) | state keys after a step | one step (g = grad, p = param) "
             "| PyTorch equivalent |", "|---|---|---|---|---|"]
    for rule in TABLE:
        if not rule.graded:
            continue
        defaults = ", ".join(f"{k}={number(v)}" for k, v in rule.defaults.items())
        keys = ", ".join(f"`{k}`" for k in rule.state_keys) or "—"
        lines.append(f"| `{rule.name}` | `{defaults}` | {keys} | {rule.update} | {_torch_call(rule)} |")
    return "\n".join(lines)


#: The lines that enclose the generated table of every rule in README.md.
README_MARKERS = ("<!-- every rule: generated from lib/optilab/rules.py by "
                  "optilab.rules.write_contract(\"README.md\", readme=True) -->", "<!-- end of every rule -->")


def _compared_with(rule: Rule) -> str:
    if rule.torch is not None:
        module = rule.torch.module or "torch.optim"
        how = "to round-off" if rule.torch.exact else "within bfloat16's tolerance (its algorithm in float32: to round-off)"
        return f"`{module}.{rule.torch.cls}` {how}"
    if rule.optax is not None:
        return f"`{rule.optax.module}.{rule.optax.cls}` to round-off"
    return "—"


def _memory(rule: Rule) -> str:
    """The numbers of state a rule keeps for an n×k matrix (and for a vector where that differs)."""
    size = {"param": "nk", "rows": "n", "cols": "k", "scalar": "1"}
    arrays = [slot for slot in rule.state if slot.kind != "count"]
    matrix = [size[slot.shape] for slot in arrays if slot.ndim in ("any", "2+")]
    vector = [slot for slot in arrays if slot.ndim == "0-1"]
    counts = {term: matrix.count(term) for term in dict.fromkeys(matrix)}
    text = " + ".join(f"{c}{t}" if c > 1 and t != "1" else (str(c) if t == "1" else t) for t, c in counts.items()) or "0"
    if vector:
        text += " (a vector of n: n)"
    if rule.params == "matrix":
        text += " (matrices only)"
    return text


def readme_markdown() -> str:
    """README.md's table of every rule: its state, the memory it takes, what it is compared with, its source."""
    lines = ["| rule | state after a step | numbers of state for an n×k matrix | agrees with | from |",
             "|---|---|---|---|---|"]
    for rule in TABLE:
        keys = ", ".join(f"`{k}`" for k in rule.state_keys) or "—"
        if rule.evaluate_at:
            keys += f" (the model is judged at `{rule.evaluate_at}`)"
        lines.append(f"| `{rule.name}` | {keys} | {_memory(rule)} | {_compared_with(rule)} | {rule.paper} |")
    return "\n".join(lines)


def write_contract(path: str, readme: bool = False) -> bool:
    """Rewrite the rule table between :data:`CONTRACT_MARKERS` in ``path`` (``readme``: the table of
    every rule between :data:`README_MARKERS`); True if it changed."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    start, end = README_MARKERS if readme else CONTRACT_MARKERS
    if start not in text or end not in text:
        raise ValueError(f"{path} has no generated rule table: put the lines {start!r} and {end!r} "
                         "where it goes")
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    new = f"{head}{start}\n{readme_markdown() if readme else contract_markdown()}\n{end}{tail}"
    if new != text:
        with open(path, "w", encoding="utf-8") as f:
            f.write(new)
    return new != text

