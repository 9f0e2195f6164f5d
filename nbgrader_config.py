"""nbgrader's configuration for the optilab course.

The instructor versions of the labs live in ``solutions/`` and the student versions that
``make release`` generates from them in ``labs/`` (both committed). Everything produced by
grading — submissions, autograded copies, feedback and the gradebook — lives in ``grading/``,
which git ignores. ``python -m optilab grade`` reads this file and may move that workspace
elsewhere with ``--out``; the nbgrader command line, run from the course root, reads it too.
"""

import os

c = get_config()  # noqa: F821 (provided by traitlets when it loads this file)

ROOT = os.path.dirname(os.path.abspath(__file__))
WORKSPACE = os.path.join(ROOT, "grading")
# SQLite cannot create the gradebook in a missing folder; nbgrader wants its exchange to exist.
os.makedirs(os.path.join(WORKSPACE, "exchange"), exist_ok=True)

c.CourseDirectory.root = ROOT
c.CourseDirectory.course_id = "optilab"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "labs"
c.CourseDirectory.submitted_directory = os.path.join("grading", "submitted")
c.CourseDirectory.autograded_directory = os.path.join("grading", "autograded")
c.CourseDirectory.feedback_directory = os.path.join("grading", "feedback")
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(WORKSPACE, "gradebook.db")
c.Exchange.root = os.path.join(WORKSPACE, "exchange")
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

# Every lab runs in the course's Python kernel, whatever a submission's metadata says.
c.Execute.kernel_name = "python3"
# Seconds per cell before the kernel is interrupted (an endless loop fails that cell only).
c.Execute.timeout = 30
# A deleted test cell is put back from the gradebook and graded, instead of being left
# ungraded for a human to notice.
c.OverwriteCells.add_missing_cells = True

# --- outside verdicts (begin) ---
# Autograded test cells are scored by checks that run in the grader's own process, on plain
# values asked from a separate process that runs the student's code (optilab.grading.verdicts):
# the verdict goes into the cell's outputs right after the kernel has run, before nbgrader
# saves the grades, so every way of autograding (make grade, nbgrader autograde, formgrader)
# scores the same verdict and the feedback shows it. Otherwise nbgrader's own list.
c.Autograde.autograde_preprocessors = [
    "nbgrader.preprocessors.Execute",
    "optilab.grading.verdicts.OutsideVerdicts",
    "nbgrader.preprocessors.IgnorePattern",
    "nbconvert.preprocessors.ClearMetadataPreprocessor",
    "nbgrader.preprocessors.LimitOutput",
    "nbgrader.preprocessors.SaveAutoGrades",
    "nbgrader.preprocessors.AssignLatePenalties",
    "nbgrader.preprocessors.CheckCellMetadata",
]
# --- outside verdicts (end) ---
