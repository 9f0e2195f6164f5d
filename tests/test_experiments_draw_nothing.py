"""optilab.experiments computes and draws nothing: it loads neither matplotlib, ipywidgets nor the explorers."""

from __future__ import annotations

import subprocess
import sys

RUN_EVERY_LESSONS_EXPERIMENTS = """
import sys
import numpy as np
from optilab import experiments as e

e.adam.step_ratios(3, bias_correction=False)
e.momentum.measured_rates(np.array([1.0]), np.array([0.5]))
e.momentum.ravine_runs(0.02, 0.8, steps=3)
e.adaptive.track("rmsprop", e.adaptive.moving_target(), steps=3, lr=0.1)
e.sgd.sgd_curves(426, epochs=1)
e.beyond_adam.decay_runs(0.1, steps=3)
loaded = {m.split(".")[0] if not m.startswith("optilab") else ".".join(m.split(".")[:2]) for m in sys.modules}
print(sorted(loaded & {"matplotlib", "ipywidgets", "optilab.widgets", "optilab.grading"}))
"""


def test_running_every_lessons_experiments_loads_no_plotting_or_widget_library():
    out = subprocess.run([sys.executable, "-c", RUN_EVERY_LESSONS_EXPERIMENTS], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"
