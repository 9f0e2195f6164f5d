"""Interactive explorers for the lessons: each moves a control and redraws a figure.

The base class and the registry are in :mod:`optilab.widgets.explorer`; each lesson's
explorers live in a module of their own here and register themselves by name.
"""

from optilab.widgets.explorer import Explorer, register, registry

__all__ = ["Explorer", "register", "registry"]
