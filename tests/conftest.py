"""Fixtures shared by the whole suite."""

from __future__ import annotations

import os

import pytest


@pytest.fixture
def torch():
    """The real PyTorch, in float64; skips (saying why) where it is not installed.

    CI sets OPTILAB_REQUIRE_TORCH=1, which turns the skip into a failure: there the
    comparisons with torch must run.
    """
    try:
        import torch as torch_module
    except ImportError:
        if os.environ.get("OPTILAB_REQUIRE_TORCH"):
            pytest.fail("OPTILAB_REQUIRE_TORCH is set but torch is not installed: pip install torch==2.13.0")
        pytest.skip("torch is not installed (a test-only dependency: pip install torch==2.13.0); "
                    "the committed reference values are still checked")
    previous = torch_module.get_default_dtype()
    torch_module.set_default_dtype(torch_module.float64)
    yield torch_module
    torch_module.set_default_dtype(previous)
