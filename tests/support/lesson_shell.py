"""Run a lesson in this process, in an IPython shell, and keep what it computed and drew.

The headless kernel runs of ``tests/test_lessons.py`` check that a lesson executes; the tests
of lessons' *claims* need the values themselves: the namespace after the last cell, every figure
the lesson displayed (collected through IPython's public display-formatter registry), every
Markdown text it displayed, and every explorer a cell returned, so that its controls can be moved.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
from IPython.core.interactiveshell import InteractiveShell
from IPython.display import Markdown
from matplotlib.figure import Figure

__all__ = ["LessonRun", "run_lesson"]


@dataclass
class LessonRun:
    """What one lesson left behind."""

    path: Path
    namespace: dict[str, Any]
    figures: list[tuple[str, Figure]] = field(default_factory=list)  # (cell id, figure)
    markdown: list[tuple[str, str]] = field(default_factory=list)    # (cell id, text)
    explorers: list[tuple[str, Any]] = field(default_factory=list)   # (cell id, Explorer)

    def text(self, cell_id: str | None = None) -> str:
        """The Markdown the lesson displayed (in one cell, or in all), joined."""
        return "\n".join(t for c, t in self.markdown if cell_id is None or c == cell_id)

    def prose(self) -> str:
        """The lesson's own Markdown cells, joined."""
        notebook = nbformat.read(self.path, as_version=4)
        return "\n".join(c.source for c in notebook.cells if c.cell_type == "markdown")


def run_lesson(path: Path) -> LessonRun:
    """Execute every code cell of the lesson at ``path`` in order; raise on the first error."""
    from optilab.widgets.explorer import Explorer

    shell = InteractiveShell.instance()
    shell.reset(new_session=False)
    run = LessonRun(path=path, namespace={})
    current = {"cell": ""}

    def keep_figure(figure: Figure) -> None:
        run.figures.append((current["cell"], figure))

    def keep_markdown(text: Markdown) -> None:
        run.markdown.append((current["cell"], text.data))

    formatters = shell.display_formatter.formatters
    formatters["image/png"].for_type(Figure, keep_figure)
    formatters["text/markdown"].for_type(Markdown, keep_markdown)
    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        current["cell"] = cell.get("id", "")
        result = shell.run_cell(cell.source, store_history=False)
        if not result.success:
            error = result.error_in_exec or result.error_before_exec
            raise AssertionError(f"{path.name}, cell {current['cell']!r} raised {error!r}") from error
        if isinstance(result.result, Explorer):
            run.explorers.append((current["cell"], result.result))
    run.namespace = dict(shell.user_ns)
    return run
