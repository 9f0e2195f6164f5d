"""nbgrader's ``Execute``, keeping at most so many characters of each cell's output.

The sandbox bounds what a student's kernel may use, but not what it sends back: a cell that
prints without end sends tens of megabytes a second, and nbclient keeps every message in the
grader's memory until the cell's time limit (nbgrader's ``LimitOutput`` only trims the notebook
afterwards). Measured here, one 10-second cell of ``while True: print("spam " * 100)`` took
the grading process to 0.8–1.5 GB; a few such cells in a notebook, graded by parallel workers,
can use up the machine's memory and stop everyone's grading.

:class:`BoundedExecute` keeps the first :attr:`~BoundedExecute.max_output_chars` characters of
each cell's outputs, then one line saying the rest was cut, and drops the rest as it arrives.
Errors are always kept. Use it in place of nbgrader's ``Execute`` in
``Autograde.autograde_preprocessors`` (:func:`bounded` makes that list).

A kernel it starts talks to it over Unix sockets in a private folder, not over TCP ports
(:func:`optilab.isolate.provisioner.use_unix_sockets` says why): the sandboxed kernel's
provisioner does this itself; for a plain kernel (``make grade --no-sandbox``) it is done here.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from typing import Any

import nbformat
from nbgrader.preprocessors import Execute
from traitlets import Integer

from optilab import isolate
from optilab.isolate.provisioner import use_unix_sockets

__all__ = ["BoundedExecute", "bounded"]


class BoundedExecute(Execute):
    """nbgrader's :class:`~nbgrader.preprocessors.Execute` with a limit on each cell's output."""

    max_output_chars = Integer(
        1_000_000, help="Characters of output kept per cell; the rest is dropped as it arrives."
    ).tag(config=True)

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._socket_folders: list[str] = []

    def preprocess(self, nb, resources=None, km=None):
        self._kept: dict[int, int] = {}
        try:
            return super().preprocess(nb, resources, km)
        finally:
            while self._socket_folders:
                shutil.rmtree(self._socket_folders.pop(), ignore_errors=True)

    def create_kernel_manager(self):
        km = super().create_kernel_manager()
        if self.kernel_name != isolate.KERNEL_NAME:  # the sandboxed kernel's provisioner does it itself
            folder = tempfile.mkdtemp(prefix="optilab-kernel-")
            self._socket_folders.append(folder)
            use_unix_sockets(km, folder)
        return km

    def output(self, outs: list, msg: dict, display_id: str | None, cell_index: int) -> Any:
        if msg.get("msg_type") == "error":
            return super().output(outs, msg, display_id, cell_index)
        kept = getattr(self, "_kept", {}).get(cell_index, 0)
        if kept > self.max_output_chars:  # already cut: drop it
            return None
        size = len(json.dumps(msg.get("content", {}), ensure_ascii=False))
        if kept + size > self.max_output_chars:
            self._kept[cell_index] = self.max_output_chars + 1
            left = self.max_output_chars - kept
            if msg.get("msg_type") == "stream" and left > 0:  # keep the beginning of this one
                content = {**msg["content"], "text": msg["content"].get("text", "")[:left]}
                super().output(outs, {**msg, "content": content}, display_id, cell_index)
            note = f"\n[output cut: this cell printed more than {self.max_output_chars:,} characters]\n"
            outs.append(nbformat.v4.new_output("stream", name="stderr", text=note))
            return None
        self._kept[cell_index] = kept + size
        return super().output(outs, msg, display_id, cell_index)


def bounded(preprocessors: list) -> list:
    """``preprocessors`` (``Autograde.autograde_preprocessors``) with :class:`BoundedExecute` for ``Execute``.

    >>> from nbgrader.preprocessors import Execute, LimitOutput
    >>> [p.__name__ for p in bounded([Execute, LimitOutput])]
    ['BoundedExecute', 'LimitOutput']
    """
    return [BoundedExecute if p is Execute else p for p in preprocessors]
