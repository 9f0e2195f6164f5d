"""nbgrader's configuration for the optilab course.

The instructor versions of the labs live in ``solutions/`` and the student versions that
``make release`` generates from them in ``labs/`` (both committed). Everything produced by
grading — submissions, autograded copies, feedback and the gradebook — lives in ``grading/``,
which git ignores. ``python -m optilab grade`` reads this file and may move that workspace
elsewhere with ``--out``; the nbgrader command line, run from the course root, reads it too.

Loading this file creates nothing: the commands that write the workspace create it, private to
the instructor (folders 700, files 600). nbgrader's exchange (used by ``release_assignment``,
``collect``, ``release_feedback`` and the students' Assignments tab) is not the course's to
choose: on a JupyterHub it is set for everyone in ``/etc/jupyter/nbgrader_config.py`` (see
``docs/hub/``); ``OPTILAB_EXCHANGE`` in the environment sets it for one machine or one run.
"""

import os

c = get_config()  # noqa: F821 (provided by traitlets when it loads this file)

ROOT = os.path.dirname(os.path.abspath(__file__))
WORKSPACE = os.path.join(ROOT, "grading")

c.CourseDirectory.root = ROOT
c.CourseDirectory.course_id = "optilab"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "labs"
c.CourseDirectory.submitted_directory = os.path.join("grading", "submitted")
c.CourseDirectory.autograded_directory = os.path.join("grading", "autograded")
c.CourseDirectory.feedback_directory = os.path.join("grading", "feedback")
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(WORKSPACE, "gradebook.db")
# Left unset, the exchange is the hub-wide one (or nbgrader's default, /srv/nbgrader/exchange):
# a course folder that named its own would hide every release from the students.
if os.environ.get("OPTILAB_EXCHANGE"):
    c.Exchange.root = os.environ["OPTILAB_EXCHANGE"]
# Only the notebook is part of a lab; never copy checkpoints or caches into a release.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", "*.bak"]

# The stub that replaces each solution region in the student version. The line above the
# region in the instructor's cell says what to write there.
c.ClearSolutions.code_stub = {
    "python": (
        "# YOUR CODE HERE\n"
        'raise NotImplementedError("not written yet: replace this line with your code '
        '(the comment above says what to write)")'
    )
}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# Every lab is graded in the course's sandboxed Python kernel (optilab.isolate: bubblewrap, a
# read-only system, the submission's own folder only, no network, limits), whatever a
# submission's metadata says: `make grade`, `nbgrader autograde` and formgrader's Autograde button
# alike. Where bubblewrap cannot run, the kernel refuses to start and says how to install it;
# `make grade ... --no-sandbox` (python -m optilab grade --no-sandbox) grades in the plain
# `python3` kernel instead and says so on every line of its report.
# Autograding only: the students' Validate button (which reads this file from the folder JupyterLab
# serves) runs the notebook in the plain kernel, which needs no bubblewrap (Binder, laptops).
c.Execute.kernel_name = "python3"
c.BoundedExecute.kernel_name = "optilab-sandboxed"
# nbgrader's own list of autograde steps, with two changes:
# - Execute keeps at most a million characters of each cell's output while it runs, so that
#   endless output cannot exhaust the grader's memory (optilab.isolate.output.BoundedExecute);
# - right after it, every autograded test cell is scored by a check that runs in the grader's own
#   process, on plain values asked from a separate, sandboxed process that runs the student's code
#   (optilab.grading.verdicts): the verdict goes into the cell's outputs before nbgrader saves the
#   grades, so every way of autograding (make grade, nbgrader autograde, formgrader) scores the same
#   verdict and the feedback page shows it.
c.Autograde.autograde_preprocessors = [
    "optilab.isolate.output.BoundedExecute",
    "optilab.grading.verdicts.OutsideVerdicts",
    "nbgrader.preprocessors.IgnorePattern",
    "nbconvert.preprocessors.ClearMetadataPreprocessor",
    "nbgrader.preprocessors.LimitOutput",
    "nbgrader.preprocessors.SaveAutoGrades",
    "nbgrader.preprocessors.AssignLatePenalties",
    "nbgrader.preprocessors.CheckCellMetadata",
]
# Seconds per cell before the kernel is interrupted (an endless loop fails that cell only).
c.Execute.timeout = 30
# A deleted test cell is put back from the gradebook and graded, instead of being left
# ungraded for a human to notice.
c.OverwriteCells.add_missing_cells = True

# ---- Feedback pages (optilab.autograde.feedback) ------------------------------------------------
# The pages of `nbgrader generate_feedback`, `make grade` and formgrader's "Generate feedback" show
# ungraded written answers as pending (not 0), name each test cell, put a failed test's message
# first without the grader's paths, and embed MathJax so that the maths renders offline. The
# exporter settings are under GenerateFeedback: they apply to the feedback pages only. Found without
# importing the packages, so loading this file stays quick.
import importlib.util as _importlib_util  # noqa: E402
import os  # noqa: E402 (again, so that this block stands on its own)

_OPTILAB = _importlib_util.find_spec("optilab")
_NBGRADER = _importlib_util.find_spec("nbgrader")
if _OPTILAB is not None and _NBGRADER is not None:
    c.GenerateFeedback.preprocessors = [
        "optilab.autograde.feedback.FeedbackGrades",  # nbgrader's GetGrades, plus pending points and cell names
        "optilab.autograde.feedback.StudentTracebacks",
        "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",  # as in nbgrader's own list
    ]
    # nbconvert's HTMLExporter, compiling its templates once per process, not once per page
    c.GenerateFeedback.exporter_class = "optilab.autograde.feedback.exporter.FeedbackExporter"
    c.GenerateFeedback.HTMLExporter.template_name = "optilab_feedback"
    _FORMGRADER = os.path.join(os.path.dirname(_NBGRADER.origin), "server_extensions", "formgrader")
    c.GenerateFeedback.HTMLExporter.extra_template_basedirs = [
        os.path.join(os.path.dirname(_OPTILAB.origin), "autograde", "feedback", "templates"),
        os.path.join(_FORMGRADER, "templates"),  # nbgrader's, as nbgrader sets it
    ]
    # optilab_feedback extends nbgrader's 'feedback/index.html.j2'; bootstrap.min.css is nbgrader's page style.
    c.GenerateFeedback.HTMLExporter.extra_template_paths = [
        os.path.join(_FORMGRADER, "templates"),
        os.path.join(_FORMGRADER, "static", "node_modules", "bootstrap", "dist", "css"),
    ]
    c.GenerateFeedback.HTMLExporter.filters = {
        "embedded_mathjax": "optilab.autograde.feedback.embedded_mathjax",
    }
# ---- end of feedback pages ----------------------------------------------------------------------
