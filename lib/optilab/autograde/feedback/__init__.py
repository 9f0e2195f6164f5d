"""Feedback pages a student can use, through nbgrader's and nbconvert's plugin points.

``nbgrader generate_feedback`` (and so ``python -m optilab grade`` and formgrader's "Generate
feedback" button, which call the same converter) turns each autograded notebook into an HTML
page. ``nbgrader_config.py`` (its last block) makes that page:

- say "pending manual grading" for cells no one has graded yet, in each cell's header and in the
  total at the top ("Score: 7 / 8 graded so far; 2 points pending manual grading"), instead of 0;
- name each test cell (``test-sgd-first-step``: "one step from an empty state"), in the cell's
  header and in the contents at the top, instead of "Test cell" for each;
- show a failed test's message first, without the grader's paths and frames; an error in the
  student's own code still says where (``Cell In[2], line 2`` and the code);
- render its maths with no network: MathJax is embedded in the page (:mod:`.mathjax`).

The pieces, each at nbgrader's or nbconvert's own plugin point:

- ``GenerateFeedback.preprocessors``: :class:`FeedbackGrades` (nbgrader's ``GetGrades`` plus pending
  points and cell names) and :class:`StudentTracebacks`; they change the copy of the notebook
  nbgrader renders, never the autograded notebook;
- ``GenerateFeedback.exporter_class``: :class:`~.exporter.FeedbackExporter`, nbconvert's
  HTMLExporter compiling its templates once per process, not once per page;
- ``GenerateFeedback.HTMLExporter.template_name``: :data:`TEMPLATE_NAME`, a template in
  :data:`TEMPLATES` that extends nbgrader's ``feedback`` template;
- ``GenerateFeedback.HTMLExporter.filters``: :func:`embedded_mathjax`, which the template's
  ``mathjax`` macro calls.

The exporter settings sit under ``GenerateFeedback`` so that they apply to the feedback exporter
only (formgrader renders its own pages with another ``HTMLExporter``).
"""

from __future__ import annotations

from pathlib import Path

from optilab.autograde.feedback.mathjax import embedded_mathjax
from optilab.autograde.feedback.preprocessors import (FeedbackGrades, StudentTracebacks, cell_title,
                                                      hide_paths, student_traceback)

__all__ = ["TEMPLATES", "TEMPLATE_NAME", "FeedbackGrades", "StudentTracebacks", "embedded_mathjax",
           "cell_title", "student_traceback", "hide_paths"]

#: The folder holding the course's nbconvert templates (a value for ``extra_template_basedirs``).
TEMPLATES = Path(__file__).resolve().parent / "templates"
#: The feedback page's template, in :data:`TEMPLATES`.
TEMPLATE_NAME = "optilab_feedback"
