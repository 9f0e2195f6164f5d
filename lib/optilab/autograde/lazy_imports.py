"""Put off an import that grading never uses but that costs more than a second at start-up.

``jsonschema``, which ``nbformat`` and nbgrader import, imports ``rfc3987_syntax`` for its
optional ``"iri"`` format check, and that package builds a grammar parser when it is imported
(about 1.5 s of CPU). Neither the notebook schema nor nbgrader's uses that format.
:func:`defer_rfc3987_syntax` puts a stand-in in its place whose functions import the real
package on their first call, so the check still works, exactly as before, if anything uses it.
Call it before ``jsonschema`` is imported; it changes nothing after.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types

__all__ = ["defer_rfc3987_syntax"]

_NAME = "rfc3987_syntax"


def _real() -> types.ModuleType:
    module = sys.modules.get(_NAME)
    if module is None or getattr(module, "_optilab_stand_in", False):
        sys.modules.pop(_NAME, None)
        module = importlib.import_module(_NAME)
    return module


def _is_valid_syntax(*args, **kwargs):
    return _real().is_valid_syntax(*args, **kwargs)


def _module_getattr(name: str):
    if name.startswith("__"):  # the import system asks for __path__ and the like: not a use
        raise AttributeError(name)
    return getattr(_real(), name)


def defer_rfc3987_syntax() -> bool:
    """Make ``import rfc3987_syntax`` cheap until the package is used; True if it was deferred."""
    if _NAME in sys.modules or "jsonschema" in sys.modules:
        return False
    try:
        if importlib.util.find_spec(_NAME) is None:
            return False
    except (ImportError, ValueError):
        return False
    stand_in = types.ModuleType(_NAME, "Stands in for rfc3987_syntax until it is used.")
    stand_in._optilab_stand_in = True
    stand_in.is_valid_syntax = _is_valid_syntax
    stand_in.__getattr__ = _module_getattr
    sys.modules[_NAME] = stand_in
    return True
