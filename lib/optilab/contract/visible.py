r"""The visible check: :func:`check` tells a student, property by property, whether a rule holds.

It runs on inputs of its own (not the hidden suites'), prints ✓ or ✗ for each property with
the first disagreeing number beside the expected one, and names recognised mistakes. It needs
nothing but the library, so it works the same in a lab, in a lesson and on Binder.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from optilab.contract import inputs
from optilab.contract import properties as P
from optilab.contract.diagnose import Diagnosis, diagnose
from optilab.contract.spec import DEFAULTS, GROUPS, STATE_KEYS, require_rule

__all__ = ["check", "CheckResult", "Property"]


@dataclass(frozen=True)
class Property:
    """One visible property: its ``name``, whether it ``passed``, and what went wrong."""

    name: str
    passed: bool
    message: str = ""


@dataclass
class CheckResult:
    """What :func:`check` found: ``.passed`` is True when every property holds."""

    rule: str
    properties: list[Property]
    diagnoses: list[Diagnosis] = field(default_factory=list)
    group: str | None = None
    kind: str = "rule"  # "rule", or "answer" for a lab's other answers (optilab.contract.answers)

    @property
    def passed(self) -> bool:
        return all(p.passed for p in self.properties)

    def __bool__(self) -> bool:
        return self.passed

    def assert_passed(self) -> None:
        """Raise AssertionError with the report when a property fails (what the labs' test cells
        call, so that nbgrader's Validate fails with the check's own message). A rule that still
        raises NotImplementedError raises it again: it is not written yet."""
        if self.passed:
            return
        if any("NotImplementedError" in p.message for p in self.properties if not p.passed):
            raise NotImplementedError(f"{self.rule} is not written yet (it raises NotImplementedError)")
        raise AssertionError("\n" + self.report())

    def report(self) -> str:
        """The printed report: ✓/✗ per property, first disagreement, diagnoses, verdict."""
        held = sum(p.passed for p in self.properties)
        which = f", group={self.group!r}" if self.group else ""
        lines = [f"check({self.rule!r}{which}): {held} of {len(self.properties)} properties hold"]
        for p in self.properties:
            lines.append(f"  {'✓' if p.passed else '✗'} {p.name}")
            if not p.passed:
                lines.extend("      " + line for line in p.message.splitlines())
        if self.diagnoses:
            lines.append("What looks wrong:")
            lines.extend(f"  • [{d.id}] {d.message}" for d in self.diagnoses)
        elif not self.passed and self.kind == "rule":
            lines.append("No known mistake matches; compare your code with the formula line by line, "
                         "starting from the first ✗.")
        if self.passed and self.kind == "rule":
            lines.append(f"All good: your {self.rule} follows the contract on these checks. The "
                         "hidden tests use other inputs.")
        elif self.passed:
            lines.append(f"All good: your {self.rule} passes these checks. The hidden tests use other "
                         "inputs when the lab is graded.")
        elif self.group:
            lines.append(f"These are the visible checks of the point group {self.group!r}: its points "
                         "need every one of them.")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.report()

    def __repr__(self) -> str:
        held = sum(p.passed for p in self.properties)
        ids = [d.id for d in self.diagnoses]
        return (f"CheckResult(rule={self.rule!r}, passed={self.passed}, "
                f"properties={held}/{len(self.properties)}, diagnoses={ids})")


def _properties(rule: str) -> list[tuple[str, Callable[[Callable], None]]]:
    """The visible properties of ``rule``: (name, function of the student's rule)."""
    rng = np.random.default_rng(8_100 + list(DEFAULTS).index(rule))
    lr = DEFAULTS[rule]["lr"] * 10
    others = {k: v for k, v in DEFAULTS[rule].items() if k != "lr"}
    matrix = inputs.fit(rule, (4,)) != (4,)  # a rule of matrices only: every param a matrix
    p1 = np.array([1.0, -2.0, 0.5]).reshape(inputs.fit(rule, (3,)))
    g1 = np.array([0.5, 1.0, -0.25]).reshape(inputs.fit(rule, (3,)))
    p = inputs.draw(rng, inputs.fit(rule, (4,)))
    gs = [inputs.draw(rng, inputs.fit(rule, (4,))) for _ in range(5)]
    lrs = [lr, lr / 2, lr * 2, lr / 5, lr]
    props: list[tuple[str, Callable]] = [
        ("one step from an empty state {}",
         lambda f: P.steps(rule, f, param=p1, grads=[g1], lrs=lr, hyper=others, check_state=False)),
    ]
    if STATE_KEYS[rule]:
        keys = ", ".join(STATE_KEYS[rule])
        props.append((f"the state after one step ({keys})",
                      lambda f: P.steps(rule, f, param=p1, grads=[g1], lrs=lr, hyper=others)))
    props += [
        ("five steps, the state carried from step to step",
         lambda f: P.steps(rule, f, param=p, grads=gs, lrs=lr, hyper=others)),
        ("an lr that changes between steps",
         lambda f: P.steps(rule, f, param=p, grads=gs, lrs=lrs, hyper=others)),
    ]
    if STATE_KEYS[rule]:
        given = inputs.given_state(rule, rng, inputs.fit(rule, (4,)), t=3)
        props.append((f"a step from a given state {_keys_text(given)}",
                      lambda f: P.steps(rule, f, param=p, grads=gs[:2], lrs=lr, hyper=others,
                                        state=given)))
    special = {k: v for k, v in {"momentum": 0.5, "rho": 0.7, "beta1": 0.6, "beta2": 0.8,
                                 "eps": 1e-3, "weight_decay": 0.2}.items() if k in others}
    if special:
        props.append((f"other hyperparameters ({', '.join(f'{k}={v}' for k, v in special.items())})",
                      lambda f: P.steps(rule, f, param=p, grads=gs[:3], lrs=lrs[:3], hyper=special)))
    if "eps" in others:
        tiny = [g * 1e-6 for g in gs[:3]]
        props.append(("tiny gradients (1e-6) beside ε = 1e-3",
                      lambda f: P.steps(rule, f, param=p, grads=tiny, lrs=lr,
                                        hyper={**others, "eps": 1e-3})))
    p32, g32 = p.astype(np.float32), [g.astype(np.float32) for g in gs[:3]]
    props += [
        ("float32 in, float32 out (param and state)",
         lambda f: (P.keeps_dtype_and_shape(rule, f, param=p32, grads=g32, hyper={"lr": lr}),
                    P.steps(rule, f, param=p32, grads=g32, lrs=lr, hyper=others))),
        ("a 0-d param (a single number) and a 2-d one",
         lambda f: (P.steps(rule, f, param=np.array(0.7), grads=[np.array(-0.3), np.array(0.2)],
                            lrs=lr, hyper=others),
                    P.steps(rule, f, param=p.reshape(2, 2), grads=[g.reshape(2, 2) for g in gs[:2]],
                            lrs=lr, hyper=others))) if not matrix else
        ("a 1×4 param and a 4×1 one",
         lambda f: (P.steps(rule, f, param=p.reshape(1, 4), grads=[g.reshape(1, 4) for g in gs[:2]],
                            lrs=lr, hyper=others),
                    P.steps(rule, f, param=p.reshape(4, 1), grads=[g.reshape(4, 1) for g in gs[:2]],
                            lrs=lr, hyper=others))),
        ("param, grad and state left unchanged",
         lambda f: P.no_mutation(rule, f, param=p, grads=gs[:3], hyper={"lr": lr, **others})),
        ("new arrays returned (none is an input array)",
         lambda f: P.returns_new_arrays(rule, f, param=p, grads=gs[:3], hyper={"lr": lr, **others})),
        ("the contract's defaults when called without hyperparameters",
         lambda f: (P.uses_defaults(rule, f, param=p, grads=gs[:2]),  # tiny gradients: ε's default counts
                    P.uses_defaults(rule, f, param=p, grads=[g * 1e-6 for g in gs[:2]]))),
    ]
    return props


#: The point group of each visible property, by the start of its name: a lab's test cell of a
#: group checks that group's properties, so a rule earns the groups whose checks it passes.
_GROUP_OF = (("one step from an empty state", "first-step"), ("the state after one step", "first-step"),
             ("five steps", "many-steps"), ("an lr that changes", "many-steps"),
             ("a step from a given state", "many-steps"), ("other hyperparameters", "conventions"),
             ("tiny gradients", "conventions"))


def group_of(name: str) -> str:
    """The point group of the visible property ``name`` (``contract`` unless listed above)."""
    return next((group for start, group in _GROUP_OF if name.startswith(start)), "contract")


def _keys_text(state: dict) -> str:
    return "(" + ", ".join(f"t={v}" if k == "t" else k for k, v in state.items()) + ")"


def check(rule: str, func: Callable, *, group: str | None = None, quiet: bool = False, **given) -> CheckResult:
    """Check a student's update rule against the contract, property by property.

    A lab's other answers (helpers such as ``minibatches``, results such as ``best_gd``) are
    checked the same way by their names (:mod:`optilab.contract.answers`), with the lab's
    settings they need passed by name in ``given``.

    Parameters
    ----------
    rule : str
        The contract's rule the function implements: ``"sgd"``, ``"momentum"``, ``"nesterov"``,
        ``"adagrad"``, ``"rmsprop"``, ``"adam"`` or ``"adamw"``.
    func : callable
        ``func(param, grad, state, *, lr=..., ...) -> (new_param, new_state)``.
    group : str, optional
        Only the properties of this point group (``"first-step"``, ``"many-steps"``,
        ``"conventions"``, ``"contract"``: the rule's groups in the rule table).
    quiet : bool
        If true, do not print the report.

    Returns
    -------
    CheckResult
        ``.passed``, ``.properties`` (name, passed, message) and ``.diagnoses``; ``print()`` it
        for the report.

    Examples
    --------
    >>> from optilab.kernels import adam
    >>> check("adam", adam, quiet=True).passed
    True
    """
    from optilab.contract import answers
    if rule in answers.ANSWERS:
        return answers.check_answer(rule, func, group=group, quiet=quiet, **given)
    if given:
        raise TypeError(f"check({rule!r}, ...) takes no settings: {', '.join(given)}")
    require_rule(rule)
    if not callable(func):
        raise TypeError(f"check({rule!r}, ...) needs your function, not a {type(func).__name__}: "
                        f"check({rule!r}, {rule}).")
    if group is not None and group not in GROUPS[rule]:
        raise ValueError(f"{rule} has no point group {group!r}; its groups are "
                         f"{', '.join(map(repr, GROUPS[rule]))}")
    found = []
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        for name, prop in _properties(rule):
            if group is not None and group_of(name) != group:
                continue
            try:
                prop(func)
                found.append(Property(name, True))
            except P.RuleFailure as exc:
                found.append(Property(name, False, str(exc)))
        result = CheckResult(rule, found, group=group)
        if not result.passed:
            result.diagnoses = diagnose(rule, func)
    if not quiet:
        print(result.report())
    return result
