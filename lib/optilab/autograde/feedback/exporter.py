"""The feedback pages' exporter: nbconvert's HTMLExporter, whose Jinja templates are compiled once per process.

nbgrader makes a new converter, and so a new exporter and a new Jinja environment, for each
``generate_feedback`` call: one per student. Compiling the page's ten templates (ours, nbgrader's
``feedback``, nbconvert's ``classic`` and ``base`` ones) took 0.3 s of each page's 0.7 s.
:class:`FeedbackExporter` gives its environment Jinja's own plug-in point for keeping compiled
templates, a bytecode cache (:class:`InMemoryBytecode`, shared by the process): Jinja still finds
and reads each template as before, checks its source against the kept code, and runs it in each
exporter's environment with that exporter's filters, so the pages do not change; only the
compiling is done once. :func:`compile_templates` does it in the grading run's first process,
before it starts its workers, so that every worker starts with the templates compiled.

``nbgrader_config.py`` names the class in ``GenerateFeedback.exporter_class``, nbgrader's setting
for its converter's exporter; the ``GenerateFeedback.HTMLExporter`` settings apply to it as to
any HTMLExporter.
"""

from __future__ import annotations

import jinja2
import jinja2.bccache
import nbformat
from nbconvert.exporters import HTMLExporter

__all__ = ["InMemoryBytecode", "FeedbackExporter", "compile_templates"]


class InMemoryBytecode(jinja2.BytecodeCache):
    """Jinja's bytecode cache (its plug-in point for keeping compiled templates), in this process's
    memory. Jinja keys each template by its name and file and checks its source's checksum."""

    def __init__(self) -> None:
        self._code: dict[str, bytes] = {}
        #: How many templates were compiled and kept (one per template, unless its source changes).
        self.compiled = 0

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        code = self._code.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        self._code[bucket.key] = bucket.bytecode_to_string()
        self.compiled += 1

    def clear(self) -> None:
        self._code.clear()
        self.compiled = 0


#: The templates compiled in this process, for every feedback exporter it makes.
COMPILED = InMemoryBytecode()


class FeedbackExporter(HTMLExporter):
    """nbconvert's HTMLExporter whose Jinja environment keeps its compiled templates in :data:`COMPILED`."""

    @property
    def environment(self) -> jinja2.Environment:
        environment = super().environment
        environment.bytecode_cache = COMPILED  # before it loads a template: it is made on first use
        return environment


#: What nbgrader's GetGrades and our FeedbackGrades give a page, for a notebook of no cells.
_NO_GRADES = {"notebook": "", "score": 0.0, "max_score": 0.0, "late_penalty": 0.0, "pending_points": 0.0,
              "graded_max_score": 0.0}


def compile_templates(exporter: HTMLExporter) -> int:
    """Compile, in this process, the templates of ``exporter``'s pages, by rendering the page of a
    notebook with no cells. Return how many templates this process compiled since :data:`COMPILED`
    was cleared.

    Raises jinja2.TemplateError or OSError for a template that cannot be found or compiled."""
    exporter.from_notebook_node(nbformat.v4.new_notebook(), resources={"nbgrader": dict(_NO_GRADES)})
    return COMPILED.compiled
