"""The kernelspec ``optilab-sandboxed``: Python 3 with the course library, started in the sandbox.

``make setup`` installs it into the virtual environment beside ``python3``
(``python -m optilab.isolate install``). Its metadata selects the kernel provisioner
``optilab-sandboxed`` (:class:`optilab.isolate.provisioner.SandboxedProvisioner`, registered
under jupyter_client's ``jupyter_client.kernel_provisioners`` entry point in
``pyproject.toml``); interrupts are sent as messages, which reach a kernel in its own process
namespace.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from optilab.isolate import KERNEL_NAME

__all__ = ["spec", "install"]

DISPLAY_NAME = "Python 3 (optilab, sandboxed)"


def spec() -> dict:
    """The ``kernel.json`` of the sandboxed kernel."""
    return {
        # "python" is replaced by jupyter_client with the grader's own interpreter.
        # (IPython's history goes to the sandbox's home, thrown away; nbgrader keeps it in memory.
        # --HistoryManager.enabled=False would save that, but then 1 kernel in 10 or so did not
        # exit when asked to shut down, costing 2.5 s until jupyter_client terminated it.)
        "argv": ["python", "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": DISPLAY_NAME,
        "language": "python",
        "interrupt_mode": "message",
        "env": {},
        "metadata": {
            "debugger": False,
            "kernel_provisioner": {"provisioner_name": KERNEL_NAME, "config": {}},
        },
    }


def install(prefix: str | None = None) -> str:
    """Install the kernelspec under ``prefix`` (default: this Python's ``sys.prefix``); returns its folder."""
    from jupyter_client.kernelspec import KernelSpecManager

    with tempfile.TemporaryDirectory() as folder:
        # mkdtemp makes the folder 700, and the copy keeps that mode: readable by every user (a
        # shared environment on a JupyterHub) only if opened up first.
        Path(folder).chmod(0o755)
        (Path(folder) / "kernel.json").write_text(json.dumps(spec(), indent=1) + "\n", encoding="utf-8")
        (Path(folder) / "kernel.json").chmod(0o644)
        return KernelSpecManager().install_kernel_spec(folder, KERNEL_NAME, prefix=prefix or sys.prefix)
