"""Registries for the grader's catalogue: buggy rules (each must be rejected and named) and
correct rules written in unusual ways (each must pass)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class Case:
    rule: str
    func: Callable
    mistakes: frozenset[str] = frozenset()

    @property
    def id(self) -> str:
        return f"{self.rule}-{self.func.__name__}"


BUGGY: list[Case] = []
CORRECT: list[Case] = []


def buggy(rule: str, *mistakes: str) -> Callable[[Callable], Callable]:
    """Register a buggy ``rule`` whose diagnoses must be exactly ``mistakes``."""
    def register(func: Callable) -> Callable:
        BUGGY.append(Case(rule, func, frozenset(mistakes)))
        return func
    return register


def correct(rule: str) -> Callable[[Callable], Callable]:
    """Register a correct ``rule`` written in an unusual way."""
    def register(func: Callable) -> Callable:
        CORRECT.append(Case(rule, func))
        return func
    return register
