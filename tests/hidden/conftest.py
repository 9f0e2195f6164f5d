"""The ``student`` fixture of the hidden suites.

Under pytest the rule under test is the reference rule of ``optilab.kernels`` (so that
``make test`` proves every suite gives the reference full marks), or, when the environment
variable ``OPTILAB_STUDENT`` names a Python file, the function of that file named after the
suite's rule::

    OPTILAB_STUDENT=submissions/alice/adam.py pytest tests/hidden/test_adam.py

Graders call the same test functions with a student's rule directly
(``optilab.grading.hidden``, ``python -m optilab check``).
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

from optilab import kernels


@pytest.fixture
def student(request):
    rule = request.module.RULE
    path = os.environ.get("OPTILAB_STUDENT")
    if not path:
        return kernels.RULES[rule]
    spec = importlib.util.spec_from_file_location("optilab_student", Path(path))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, rule)
