"""The examples in the library's docstrings run and print what they say."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import optilab

MODULES = sorted(
    info.name for info in pkgutil.walk_packages(optilab.__path__, prefix="optilab.")
    if not info.name.endswith("__main__")
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS)
    assert result.failed == 0, f"{result.failed} of {result.attempted} doctest examples failed in {name}"


def test_some_modules_have_examples():
    attempted = sum(doctest.testmod(importlib.import_module(n)).attempted for n in ("optilab.kernels", "optilab.optimizer", "optilab.schedules"))
    assert attempted >= 5
