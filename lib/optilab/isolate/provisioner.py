"""A Jupyter kernel provisioner that starts each kernel inside the sandbox of :mod:`optilab.isolate`.

jupyter_client starts a kernel through the provisioner its kernelspec names; the kernelspec
``optilab-sandboxed`` (:mod:`optilab.isolate.kernelspec`) names this one, so nbgrader's
``Execute`` runs a submission's notebook sandboxed when ``BoundedExecute.kernel_name`` says
``optilab-sandboxed``. It is jupyter_client's :class:`~jupyter_client.provisioning.LocalProvisioner`
with four changes:

- **the command** is wrapped by :func:`optilab.isolate.command`; the kernel works in a copy, in
  memory (at most :attr:`~SandboxedProvisioner.disk` bytes), of the folder it is started in
  (nbgrader: the submission's ``autograded/<student>/<lab>/`` folder), which it cannot change;
- **the connection** uses Jupyter's ``ipc`` transport (Unix sockets) in a private folder shared
  with the sandbox, because the sandbox has no network: TCP on 127.0.0.1 would not reach it;
- **the kernel's own output** (what it writes to its stdout and stderr, not the notebook's
  outputs) goes to a file in that folder, where the file-size limit bounds it, instead of the
  grader's terminal or log; its end is written to the grader's log when the kernel stops;
- **files the grader gives** (:attr:`~SandboxedProvisioner.given`: ``make grade`` gives the
  reference runs it computed once for the class) are shown read-only, each named to the kernel
  by an environment variable.

Interrupts reach the kernel as messages (the kernelspec's ``interrupt_mode`` is ``message``):
the sandbox's processes are in a process namespace of their own, and ipykernel answers an
``interrupt_request`` on its control channel by interrupting itself.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from typing import Any

from jupyter_client.provisioning import LocalProvisioner
from traitlets import Dict, Float, Integer, Unicode

from optilab import isolate

__all__ = ["SandboxedProvisioner", "use_unix_sockets"]

# What a kernel may take from the grader's environment (the kernelspec's own ``env`` goes in too).
_PASS_ENV = ("NBGRADER_EXECUTION", "MPLBACKEND", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "JPY_SESSION_NAME",
             "PYDEVD_DISABLE_FILE_VALIDATION", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS",
             "MKL_NUM_THREADS")
_LOG_TAIL = 2000  # characters of the kernel's own output copied into the grader's log
_SOCKET_PATH_MAX = 107  # bytes of a Unix socket's path on Linux (sun_path, less its final NUL)


def use_unix_sockets(km: Any, folder: str) -> None:
    """Make the kernel manager ``km`` connect to its kernel over Unix sockets in ``folder``.

    With jupyter_client's default, TCP on 127.0.0.1, the manager picks free ports, lets them go,
    and the kernel binds them a moment later; another process may take one in between, and the
    kernel then never answers (jupyter/jupyter_client#487, open; seen here in a test run, when a
    plain grading kernel lost its port to another kernel's start). Socket files in a folder of
    the manager's own cannot be taken. These are the manager's public, configurable connection
    settings; ``folder`` should be private and short: a Unix socket's path has at most 107 bytes.
    """
    ip = os.path.join(folder, "kernel")
    if len(os.fsencode(ip)) + len("-99999") > _SOCKET_PATH_MAX:
        raise RuntimeError(
            f"the kernel's socket files would be in {folder!r}, a path too long for a Unix socket "
            f"(at most {_SOCKET_PATH_MAX} bytes with the file's name): set TMPDIR to a shorter folder, "
            "such as /tmp, and start again")
    km.transport = "ipc"
    km.ip = ip
    km.cache_ports = False
    km.connection_file = os.path.join(folder, "connection.json")


class SandboxedProvisioner(LocalProvisioner):
    """Start the kernel with :func:`optilab.isolate.command`; see the module's docstring.

    The limits can be set in the kernelspec's ``metadata.kernel_provisioner.config``
    (``{"memory": ..., "cpu_seconds": ...}``) or with traitlets config.
    """

    memory = Integer(isolate.Limits.memory, config=True, help="Address space of the kernel, in bytes.")
    processes = Integer(isolate.Limits.processes, config=True,
                        help="Processes and threads the kernel may have at once.")
    file_size = Integer(isolate.Limits.file_size, config=True, help="Largest file it may write, in bytes.")
    cpu_seconds = Integer(isolate.Limits.cpu_seconds, config=True,
                          help="CPU seconds for the kernel's whole life (the whole notebook).")
    tmp_size = Integer(isolate.Limits.tmp_size, config=True, help="Size of its /tmp and home, in bytes.")
    disk = Integer(256 * 2**20, allow_none=True, config=True,
                   help="The kernel works in a copy of its folder in memory, of at most this many bytes "
                        "(what it writes is not kept); None: the folder itself is writable.")

    given = Dict(value_trait=Unicode(), key_trait=Unicode(), config=True, help=(
        "Files the kernel may read, by the environment variable that names each to it: "
        "{variable: path}. Each is shown read-only, at its own path; a path that is not a file is left out."))

    shutdown_wait = Float(1.0, config=True, help=(
        "Seconds a kernel has to stop when asked: half of it to exit by itself, then its sandbox is "
        "terminated. Nothing in a sandbox needs saving; about 1 sandboxed kernel in 20 did not exit "
        "by itself within jupyter_client's 2.5 s, for reasons not found."))

    _sockets: str | None = None

    def get_shutdown_wait_time(self, recommended: float = 5.0) -> float:
        return min(recommended, self.shutdown_wait)

    @property
    def limits(self) -> isolate.Limits:
        return isolate.Limits(memory=self.memory, processes=self.processes, file_size=self.file_size,
                              cpu_seconds=self.cpu_seconds, tmp_size=self.tmp_size, disk=self.disk)

    async def pre_launch(self, **kwargs: Any) -> dict[str, Any]:
        isolate.require()
        cwd = kwargs.get("cwd")
        if not cwd or not os.path.isdir(cwd):
            raise RuntimeError(
                "the sandboxed kernel needs the submission's folder as its working folder, and got "
                f"{cwd!r}: start it with cwd= (nbgrader and nbclient pass the notebook's folder)")
        km = self.parent
        if km is None:
            raise RuntimeError("the sandboxed provisioner must be started by a KernelManager")
        if self._sockets is None or not os.path.isdir(self._sockets):
            self._sockets = tempfile.mkdtemp(prefix="optilab-kernel-")
        # The sandbox has no network: the kernel and the grader talk over Unix sockets in a folder
        # both see.
        use_unix_sockets(km, self._sockets)
        kwargs = await super().pre_launch(**kwargs)

        spec_env = dict(self.kernel_spec.env or {}) if self.kernel_spec else {}
        launch_env = kwargs.get("env") or {}
        inner_env = {k: v for k, v in launch_env.items() if k in _PASS_ENV or k in spec_env}
        given = {name: os.path.realpath(path) for name, path in self.given.items() if os.path.isfile(path)}
        inner_env.update(given)
        kwargs["cmd"] = isolate.command(kwargs["cmd"], workdir=cwd, shared=[self._sockets],
                                        readonly=sorted(given.values()), env=inner_env, limits=self.limits)
        # bwrap's own environment, outside the sandbox; the kernel gets inner_env only.
        kwargs["env"] = {"PATH": os.environ.get("PATH", os.defpath), "LANG": os.environ.get("LANG", "C.UTF-8")}
        if "stdout" not in kwargs and "stderr" not in kwargs:
            # Read back through this handle, never by name: the kernel owns the folder and could put
            # a link to another file in its place.
            if getattr(self, "_output", None) is not None:  # a restart: the last kernel's output
                self._output.close()
            self._output = open(os.path.join(self._sockets, "kernel-output.txt"), "w+b")
            kwargs["stdout"] = kwargs["stderr"] = self._output
        return kwargs

    async def cleanup(self, restart: bool = False) -> None:
        await super().cleanup(restart=restart)
        if restart or self._sockets is None:
            return
        if self.cwd and await self.poll() is not None:  # the kernel is gone: its folder goes back
            isolate.give_back(self.cwd)
        tail = ""
        output, self._output = getattr(self, "_output", None), None
        if output is not None:
            with output:
                size = os.fstat(output.fileno()).st_size
                output.seek(max(0, size - _LOG_TAIL))
                tail = output.read(_LOG_TAIL).decode("utf-8", "replace").strip()
        if tail:
            self.log.info("the sandboxed kernel wrote (its last %d characters):\n%s", _LOG_TAIL, tail)
        shutil.rmtree(self._sockets, ignore_errors=True)
        self._sockets = None

