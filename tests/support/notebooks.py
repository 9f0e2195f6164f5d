"""Execute notebooks headless, as a student's kernel would, and collect what they printed."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[2]
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


@dataclass
class Executed:
    """A notebook after execution: its cells' outputs and how long it took."""

    path: Path
    notebook: nbformat.NotebookNode
    seconds: float
    errors: list[str] = field(default_factory=list)

    def outputs(self, output_type: str | None = None):
        for cell in self.notebook.cells:
            for output in cell.get("outputs", []):
                if output_type is None or output.get("output_type") == output_type:
                    yield cell, output

    def stderr(self) -> list[str]:
        return [o.get("text", "") for _, o in self.outputs("stream") if o.get("name") == "stderr"]

    def has_widget(self) -> bool:
        return any(WIDGET_VIEW in o.get("data", {}) for _, o in self.outputs("display_data"))

    def has_image(self) -> bool:
        return any("image/png" in o.get("data", {}) for _, o in self.outputs())


def execute(path: Path, timeout: int = 60, allow_errors: bool = False) -> Executed:
    """Run every cell of ``path`` in a fresh python3 kernel, with the notebook's folder as cwd."""
    notebook = nbformat.read(path, as_version=4)
    env_backend = os.environ.get("MPLBACKEND")
    os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    try:
        client = NotebookClient(notebook, timeout=timeout, kernel_name="python3", allow_errors=allow_errors,
                                resources={"metadata": {"path": str(path.parent)}})
        start = time.perf_counter()
        client.execute()
        seconds = time.perf_counter() - start
    finally:
        if env_backend is None:
            os.environ.pop("MPLBACKEND", None)
        else:
            os.environ["MPLBACKEND"] = env_backend
    executed = Executed(path, notebook, seconds)
    executed.errors = [f"{o.get('ename')}: {o.get('evalue')}" for _, o in executed.outputs("error")]
    return executed
