"""optilab: the NumPy library of the optilab course.

Reference update rules (:mod:`optilab.kernels`), the optimizer that applies them
(:mod:`optilab.optimizer`), learning-rate schedules (:mod:`optilab.schedules`), test problems
with exact gradients (:mod:`optilab.problems`), small models and datasets
(:mod:`optilab.models`, :mod:`optilab.data`), the training loop (:mod:`optilab.training`),
plots, widgets and the grader.
"""

from optilab import kernels, schedules
from optilab.kernels import RULES
from optilab.optimizer import Optimizer

__version__ = "0.1.0"
__all__ = ["kernels", "schedules", "RULES", "Optimizer", "check", "__version__",
           "problems", "models", "data", "training", "plots"]

# Imported on first use (``optilab.plots`` loads matplotlib), so ``import optilab`` stays fast.
_LAZY_MODULES = {"problems", "models", "data", "training", "plots"}


def check(rule: str, func, *, group: str | None = None, quiet: bool = False, **given):
    """Check your update rule against the contract, property by property (✓/✗, diagnoses).

    ``optilab.check("adam", adam)``; ``group="first-step"`` checks only the properties of that
    point group (the labs' test cells use it). A lab's other answers are checked by their names,
    with the lab's settings they need: ``optilab.check("largest_stable", largest_stable, lrs=lrs,
    limit=theory)``. See :func:`optilab.contract.check`.
    """
    from optilab.contract import check as _check

    return _check(rule, func, group=group, quiet=quiet, **given)


def __getattr__(name: str):
    if name in _LAZY_MODULES:
        import importlib

        module = importlib.import_module(f"optilab.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'optilab' has no attribute {name!r}")
