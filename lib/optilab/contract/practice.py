r"""Checks of lab 7's answers: a schedule as a function of the step, global-norm clipping, SAM.

Each check takes the student's code through a *runner* (a function that calls it and returns plain
values), so the same checks serve three places: the lab's visible checks (the student's function
called directly: :func:`check_schedule`, ...), the hidden tests run in the notebook's kernel, and
the grader's own process, which asks the student's process for the values (the runners of
:mod:`optilab.grading.labs.lab07`). ``hidden=True`` uses the hidden inputs.

A property that fails says where (the first wrong step, the first wrong array), and a recognised
mistake is named by what is wrong: each candidate is a wrong version of the reference computed
here (per-array clipping, another norm, an ascent without normalisation, ...) and is named when the
student's numbers are that version's.
"""

from __future__ import annotations

from optilab.contract.clip_check import check_clip, check_clip_grads, clip_grads_result, clip_result
from optilab.contract.sam_check import SAM_SIZES, check_sam, sam_result
from optilab.contract.schedule_check import check_schedule, schedule_result

__all__ = ["check_schedule", "check_clip_grads", "check_clip", "check_sam", "schedule_result", "clip_grads_result",
           "clip_result", "sam_result", "SAM_SIZES"]
