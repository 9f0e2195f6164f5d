"""Execute notebooks headless, as a student's kernel would, and collect what they printed."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from queue import Empty
from typing import Any

import nbformat
from jupyter_client import AsyncKernelManager
from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.channels import AsyncZMQSocketChannel
from nbclient import NotebookClient
from traitlets import Type
from traitlets.config import Config

from optilab.isolate.provisioner import use_unix_sockets

ROOT = Path(__file__).resolve().parents[2]
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


class SlicedPolls:
    """A kernel channel that waits for a message in polls of at most :attr:`SLICE` seconds.

    nbclient waits for a cell's reply with one long poll of the kernel's socket. On a busy machine
    the asyncio wake-up for that reply is sometimes lost: the reply sits in the socket until the
    poll times out, so the cell takes its whole time limit and then succeeds (jupyter/nbclient#312,
    open). It still happens here: in a parallel run of the suite on a loaded machine, two lessons
    took 65 s and 67 s against about 5 s. Short polls bound what a lost wake-up costs; a poll with
    no message still raises ``Empty`` at the caller's deadline. Only the notebooks these tests run
    use it (through jupyter_client's public ``KernelManager.client_factory``), nothing else.
    """

    SLICE = 0.1

    async def get_msg(self, timeout: float | None = None) -> Any:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            wait = self.SLICE if deadline is None else max(0.0, min(self.SLICE, deadline - time.monotonic()))
            try:
                return await super().get_msg(timeout=wait)
            except Empty:
                if deadline is not None and time.monotonic() >= deadline:
                    raise


class SlicedChannel(SlicedPolls, AsyncZMQSocketChannel):
    """jupyter_client's async channel, polled in slices."""


class SlicedKernelClient(AsyncKernelClient):
    """The kernel client nbclient uses, with its shell and IOPub channels polled in slices."""

    shell_channel_class = Type(SlicedChannel)
    iopub_channel_class = Type(SlicedChannel)


#: The configuration of the notebook runs of the tests: jupyter_client's own plugin point.
CONFIG = Config({"KernelManager": {"client_factory": SlicedKernelClient}})


@dataclass
class Executed:
    """A notebook after execution: its cells' outputs and how long it took."""

    path: Path
    notebook: nbformat.NotebookNode
    seconds: float

    @property
    def errors(self) -> list[str]:
        """Each error output, as ``"Name: message"``."""
        return [f"{o.get('ename')}: {o.get('evalue')}" for _, o in self.outputs("error")]

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
    return run_notebook(nbformat.read(path, as_version=4), path, timeout=timeout, allow_errors=allow_errors)


def run_notebook(notebook: nbformat.NotebookNode, path: Path, timeout: int = 60,
                 allow_errors: bool = False) -> Executed:
    """Run every cell of ``notebook`` (read from ``path``, perhaps changed) in a fresh python3 kernel,
    with the folder of ``path`` as cwd, showing figures as JupyterLab's inline backend does."""
    env_backend = os.environ.get("MPLBACKEND")
    os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    # Unix sockets, as the grader's kernels use: two test workers start kernels at once, and a TCP
    # port one manager chose could be taken by the other before its kernel bound it.
    sockets = tempfile.mkdtemp(prefix="optilab-kernel-")
    try:
        manager = AsyncKernelManager(kernel_name="python3", config=CONFIG)
        use_unix_sockets(manager, sockets)
        client = NotebookClient(notebook, km=manager, timeout=timeout, kernel_name="python3",
                                allow_errors=allow_errors, resources={"metadata": {"path": str(path.parent)}},
                                config=CONFIG)
        start = time.perf_counter()
        client.execute()
        seconds = time.perf_counter() - start
    finally:
        shutil.rmtree(sockets, ignore_errors=True)
        if env_backend is None:
            os.environ.pop("MPLBACKEND", None)
        else:
            os.environ["MPLBACKEND"] = env_backend
    return Executed(path, notebook, seconds)
