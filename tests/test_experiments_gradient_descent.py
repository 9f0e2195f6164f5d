"""Lesson 01's measurement: the contraction rate read off a run."""

from __future__ import annotations

import math

import numpy as np
import pytest

from optilab import problems, training
from optilab.experiments import gradient_descent as gd


def test_measured_rate_of_a_geometric_sequence():
    class Fake:
        params = np.array([[0.9**t, 0.0] for t in range(41)])

    assert gd.measured_rate(Fake, np.zeros(2)) == pytest.approx(0.9)
    Fake.params = Fake.params[:3]
    assert math.isnan(gd.measured_rate(Fake, np.zeros(2)))


def test_measured_rate_of_gradient_descent_on_a_diagonal_bowl_is_the_slowest_factor():
    """On f = ½(x² + 10y²) with α = 0.05 the coordinates shrink by 0.95 and 0.5 per step; the slower one wins."""
    bowl = problems.quadratic((1.0, 10.0))
    trace = training.run("sgd", bowl, steps=40, lr=0.05)
    assert gd.measured_rate(trace, bowl.minimizer) == pytest.approx(0.95, rel=1e-6)
