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
__all__ = ["kernels", "schedules", "RULES", "Optimizer", "__version__",
           "problems", "models", "data", "training", "plots"]

# Imported on first use (``optilab.plots`` loads matplotlib), so ``import optilab`` stays fast.
_LAZY_MODULES = {"problems", "models", "data", "training", "plots"}


def __getattr__(name: str):
    if name in _LAZY_MODULES:
        import importlib

        module = importlib.import_module(f"optilab.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'optilab' has no attribute {name!r}")
