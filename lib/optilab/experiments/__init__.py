"""The lessons' experiments: the runs and measurements each lesson computes, as plain functions.

Each module here holds the computations of one lesson's topic and returns arrays, traces or
small records; it draws nothing. The figures and controls that show them live in
:mod:`optilab.widgets`, under the same module names (``experiments.adam`` is drawn by
``widgets.adam``), and the lessons call both: the numbers from here, the pictures from there.

==========================  =================================================================
module                      lesson
==========================  =================================================================
``gradient_descent``        01: the contraction rate of a run
``sgd``                     02: minibatch SGD on the breast-cancer data, every α at once
``momentum``                03: the ravine, heavy ball's measured rates over (αλ, μ)
``adaptive``                04, 05: a rescaled feature, moving targets, effective step sizes
``adam``                    06: bias correction, ε, Reddi et al.'s problem
``beyond_adam``             07: weight decay, schedules, Wilson et al.'s dataset
``practice``                08: every rule on the digits, tuned on validation over a grid, ten seeds, intervals
``large_models``            09: Lion, state memory, Adafactor, Muon, Shampoo/SOAP, schedule-free
``training_in_practice``    10: the range test, schedules, global-norm clipping, update/weight ratio
``batch_size``              10: the gradient-noise scale, steps to a target against the batch size
``precision``               10: float16 and bfloat16, loss scaling, fp32 master weights, memory per parameter
``curvature``               11: Newton, line search, L-BFGS, sharpness and the edge of stability, SAM
==========================  =================================================================

In a notebook::

    from optilab import experiments
    experiments.adam.step_ratios(10, bias_correction=False)
"""

from optilab.experiments import (adam, adaptive, batch_size, beyond_adam, curvature, gradient_descent, large_models,
                                 momentum, practice, precision, sgd, training_in_practice)

__all__ = ["adam", "adaptive", "batch_size", "beyond_adam", "curvature", "gradient_descent", "large_models", "momentum",
           "practice", "precision", "sgd", "training_in_practice"]
