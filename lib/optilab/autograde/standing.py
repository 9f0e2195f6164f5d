"""Read and record a lab's grades in nbgrader's gradebook, through nbgrader's own API.

- :func:`record_failed_attempt`: a submission that could not be graded scores 0 *for this
  attempt*: its autograded points become 0 and every grade an instructor entered by hand is
  kept. No row is ever removed (nbgrader's ``remove_submission`` would delete manual grades).
- :func:`class_standing`: one :class:`Standing` per student in the gradebook, for the whole
  class, whether or not this run graded them: score, autograded and manual points, points
  still waiting for a manual grade, and lateness.
"""

from __future__ import annotations

import datetime as _dt
import warnings
from dataclasses import dataclass

__all__ = ["Standing", "record_failed_attempt", "class_standing", "due_date"]


@dataclass
class Standing:
    """One student's grade for one lab, as the gradebook holds it now."""

    student: str
    submitted: bool
    score: float = 0.0
    max_score: float = 0.0
    manual: float = 0.0            # points entered by hand (written answers, overrides)
    pending: float = 0.0           # points of cells still waiting for a manual grade
    timestamp: _dt.datetime | None = None
    seconds_late: float = 0.0


def record_failed_attempt(db_url: str, course_id: str, lab: str, student: str) -> bool:
    """Give ``student``'s ``lab`` 0 autograded points for an attempt that could not be graded.

    Grades with a manual score keep it (and still count); every other grade gets an automatic
    score of 0 and stops waiting for a manual grade. Creates the submission's rows if the student
    had none. Returns True when manual grades were kept.
    """
    from nbgrader.api import Gradebook, MissingEntry

    from sqlalchemy.exc import SAWarning

    with Gradebook(db_url, course_id) as gb, warnings.catch_warnings():
        # nbgrader's add_submission makes SQLAlchemy note its cascades; the rows are right
        warnings.simplefilter("ignore", SAWarning)
        gb.update_or_create_student(student)
        try:
            submission = gb.find_submission(lab, student)
        except MissingEntry:
            submission = gb.add_submission(lab, student)
        kept = False
        for notebook in submission.notebooks:
            for grade in notebook.grades:
                if grade.manual_score is not None:
                    kept = True
                    continue
                grade.auto_score = 0.0
                grade.needs_manual_grade = False
        gb.db.commit()
    return kept


def due_date(db_url: str, course_id: str, lab: str) -> _dt.datetime | None:
    """The lab's due date in the gradebook (UTC, naive), or None."""
    from nbgrader.api import Gradebook

    with Gradebook(db_url, course_id) as gb:
        return gb.find_assignment(lab).duedate


def class_standing(db_url: str, course_id: str, lab: str) -> list[Standing]:
    """Every student of the gradebook and their grade for ``lab``, sorted by student id."""
    from nbgrader.api import Gradebook, MissingEntry

    out = []
    with Gradebook(db_url, course_id) as gb:
        max_score = float(gb.find_assignment(lab).max_score)
        for student in gb.students:
            try:
                submission = gb.find_submission(lab, student.id)
            except MissingEntry:
                out.append(Standing(student.id, False, 0.0, max_score))
                continue
            manual = pending = 0.0
            for notebook in submission.notebooks:
                for grade in notebook.grades:
                    if grade.manual_score is not None:
                        manual += float(grade.manual_score)
                    elif grade.needs_manual_grade and grade.auto_score is None:
                        pending += float(grade.max_score)
            out.append(Standing(student.id, True, float(submission.score), float(submission.max_score),
                                manual, pending, submission.timestamp,
                                float(submission.total_seconds_late or 0.0)))
    return sorted(out, key=lambda s: s.student)
