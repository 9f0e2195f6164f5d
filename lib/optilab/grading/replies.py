r"""What a student's process describes, as the grader rebuilds it: the exceptions its code raised
and the objects that cannot travel as plain data.

An exception arrives as a description (its type's name, its message, the line of the student's
file, :func:`optilab.grading.student_side.describe_exception`) and is raised on the grader's side
as an exception of the same name and message (:func:`student_exception`: a subclass of
:class:`StudentError` named as the student's; ``SystemExit`` and ``MemoryError`` as themselves).
An object that cannot travel arrives as a stand-in that only names its type (:func:`stand_in`).
Every name that comes back is cleaned first (:func:`clean_name`). Both the rule-file proxy
(:mod:`.proxy`) and the notebook's (:mod:`.notebook`) read their replies with these.
"""

from __future__ import annotations

import re
from typing import Any

from optilab.contract.properties import RuleFailure

__all__ = ["StudentError", "clean_name", "stand_in", "student_exception"]


class _StandIn:
    """What the suite sees for a returned object that cannot travel: only its type's name."""

    def __repr__(self) -> str:
        return f"<a {type(self).__name__}>"


_STAND_INS: dict[str, type] = {}
_ERRORS: dict[str, type] = {}


class StudentError(Exception):
    """An exception raised by the student's code, rebuilt from its description (its class has the
    name of the student's exception's class)."""


def clean_name(name: Any, fallback: str) -> str:
    if not isinstance(name, str):
        return fallback
    name = re.sub(r"[^\w .\-]", "", name)[:80].strip()
    return name or fallback


def stand_in(desc: dict) -> Any:
    name = clean_name(desc.get("type"), "object")
    length = desc.get("len")
    if name == "NoneType":
        return None
    if name in ("tuple", "list") and isinstance(length, int) and length <= 64:
        return (tuple if name == "tuple" else list)([None] * length)
    if name not in _STAND_INS:
        _STAND_INS[name] = type(name, (_StandIn,), {})
    return _STAND_INS[name]()


def _error_class(name: str) -> type:
    name = name if re.fullmatch(r"[A-Za-z_]\w{0,79}", name) else "Exception"
    if name not in _ERRORS:
        _ERRORS[name] = type(name, (StudentError,), {"__module__": "submission"})
    return _ERRORS[name]


def _where(err: dict) -> str:
    line = err.get("line")
    if type(line) is not int:
        return ""
    code = err.get("code") if isinstance(err.get("code"), str) else ""
    return f"line {line}{': ' + code if code else ''}"


def student_exception(err: Any) -> BaseException:
    """The exception to raise for the description of one the student's code raised."""
    if not isinstance(err, dict):
        return RuleFailure("your code's process sent an unreadable error report.")
    name = clean_name(err.get("type"), "Exception")
    message = err.get("message") if isinstance(err.get("message"), str) else ""
    where = _where(err)
    text = f"{message} ({where})" if message and where else message or (f"({where})" if where else "")
    if name == "SystemExit":
        code = err.get("exit_code")
        return SystemExit(code if code is None or type(code) in (int, str) else str(code))
    if name == "MemoryError":
        return MemoryError(text)
    return _error_class(name)(text)
