r"""Lesson 09's experiments: the optimizers of large models, one module per experiment.

* :mod:`~optilab.experiments.large_models.signs` — :func:`sign_steps`: Lion's sign step against
  Adam's on gradients of every signal-to-noise ratio: how long the steps are and how much of them
  goes the right way.
* :mod:`~optilab.experiments.large_models.state_memory` — :func:`state_layout`,
  :func:`state_bytes`, :func:`memory_table`: the bytes of optimizer state of every rule of the rule
  table, read from the state each rule actually returns, for one matrix and for GPT-2
  (:func:`gpt2_shapes`).
* :mod:`~optilab.experiments.large_models.matrices` — :func:`factored` and
  :func:`factored_errors`: Adafactor's rank-one estimate of a matrix of squared gradients from its
  row and column sums; :func:`newton_schulz`, :func:`singular_value_map`,
  :data:`NS_COEFFICIENTS`: Muon's orthogonalisation, on a matrix and on each singular value.
* :mod:`~optilab.experiments.large_models.preconditioning` — :func:`kronecker_problem`,
  :func:`preconditioners`, :func:`condition_numbers`, :func:`preconditioned_runs`: AdaGrad's full
  and diagonal preconditioners, Shampoo's Kronecker factors and SOAP's rotated diagonal, computed
  on a small matrix problem.
* :mod:`~optilab.experiments.large_models.mlp_comparison` — :func:`digits_splits`,
  :func:`train_mlp`, :func:`comparison`: the MLP on the digits, trained with one rule per parameter
  (Muon on the hidden matrices, AdamW on the rest), several seeds, the learning rate chosen on a
  validation split, the result reported on a test split. :func:`comparison` takes minutes;
  ``python lessons/results/compute.py 09`` runs it and saves its results with the library
  (:data:`RESULTS`), which :func:`load_comparison` reads.
* :mod:`~optilab.experiments.large_models.shared` — what they share: the rules, found in the rule
  table (:func:`rule_named`, :func:`schedule_free_rule`, :func:`matrix_rule`), and the digits.

Every number comes from running the rules of :mod:`optilab.kernels`, except Shampoo and SOAP,
which the lesson computes "on paper" (they are not rules of the library). The lesson reaches
each experiment through this package (``experiments.large_models.sign_steps(...)``).
"""

from __future__ import annotations

from optilab.experiments.large_models import matrices, mlp_comparison, preconditioning, shared, signs, state_memory
from optilab.experiments.large_models.matrices import (NS_COEFFICIENTS, factored, factored_errors, layer_gradient,
                                                       newton_schulz, singular_value_map, squared_gradients)
from optilab.experiments.large_models.mlp_comparison import (GRIDS, RESULTS, T95, comparison, curves, interval,
                                                             load_comparison, paired_difference, save_comparison,
                                                             summary, train_mlp)
from optilab.experiments.large_models.preconditioning import (PRECONDITIONER_MEMORY, condition_numbers,
                                                             kronecker_problem, preconditioned_runs, preconditioners)
from optilab.experiments.large_models.shared import SIZES, digits_splits, matrix_rule, rule_named, schedule_free_rule
from optilab.experiments.large_models.signs import SNRS, lion_sign_agreement, rms_noise_step, sign_steps
from optilab.experiments.large_models.state_memory import (bytes_per_parameter, gpt2_shapes, memory_table,
                                                           state_bytes, state_layout)

__all__ = [
    "rule_named",
    "schedule_free_rule",
    "matrix_rule",
    "sign_steps",
    "lion_sign_agreement",
    "SNRS",
    "rms_noise_step",
    "state_layout",
    "state_bytes",
    "bytes_per_parameter",
    "gpt2_shapes",
    "memory_table",
    "factored",
    "factored_errors",
    "squared_gradients",
    "NS_COEFFICIENTS",
    "newton_schulz",
    "singular_value_map",
    "layer_gradient",
    "kronecker_problem",
    "preconditioners",
    "condition_numbers",
    "preconditioned_runs",
    "PRECONDITIONER_MEMORY",
    "T95",
    "interval",
    "digits_splits",
    "SIZES",
    "train_mlp",
    "GRIDS",
    "comparison",
    "RESULTS",
    "save_comparison",
    "load_comparison",
    "summary",
    "paired_difference",
    "curves",
]
