r"""Run student code in a sandbox made with bubblewrap (``bwrap``).

The processes that run a student's code while it is graded — the notebook's kernel (the
``optilab-sandboxed`` kernelspec, :mod:`optilab.isolate.provisioner`) and the process of
``python -m optilab check`` — are started through :func:`command`, which wraps their command
line in ``bwrap``. Inside, the process sees:

- a read-only view of the system (``/usr``, ``/bin``, ``/lib*`` and the few files of ``/etc``
  that programs need), of the Python environment (the virtual environment and the interpreter
  it was made from) and of the course library;
- one writable folder, the submission's own copy, at :data:`WORKDIR` (also the current
  folder), a private ``/tmp`` and a private, empty home (:data:`HOME`), both small;
- no network (only its own loopback), its own processes only, and nothing else: not the other
  submissions, the gradebook, ``solutions/`` or the instructor's home;
- limits on memory, processes, file size and CPU time (:class:`Limits`).

When the grader runs as root (as in CI or a container), the student's process does not: it
runs as ``nobody`` (uid 65534, with :command:`setpriv` from util-linux), because Linux does not
limit root's number of processes. It then runs in a user namespace of its own, so its limit on
processes counts its own processes only, not those of the submissions graded beside it.

Where bubblewrap cannot run (macOS, Windows, a container without user namespaces),
:func:`available` says why and :func:`refusal` says what to do.

What it does not bound: the total size of the files written in the submission's folder (each
file is limited, their number only by the CPU time), and what a kernel sends back over its
channels (:class:`optilab.isolate.output.BoundedExecute` bounds that on the grader's side).

Examples
--------
>>> import subprocess, sys, tempfile
>>> ok, reason = available()
>>> if ok:
...     with tempfile.TemporaryDirectory() as folder:
...         argv = command([sys.executable, "-c", "import os; print(os.getcwd())"], workdir=folder)
...         print(subprocess.run(argv, capture_output=True, text=True).stdout.strip())
... else:
...     print(WORKDIR)
/submission
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping, Sequence

__all__ = ["Limits", "Unavailable", "available", "refusal", "require", "command", "hand_over", "give_back",
           "WORKDIR", "HOME", "NOBODY", "KERNEL_NAME"]

#: Where the submission's folder appears inside the sandbox (its current folder).
WORKDIR = "/submission"
#: The sandbox's home folder: empty, private, writable, gone when the process ends.
HOME = "/home/sandbox"
#: The user that runs student code when the grader is root.
NOBODY = 65534
#: The kernelspec whose kernels run sandboxed (``BoundedExecute.kernel_name`` for nbgrader's autograding).
KERNEL_NAME = "optilab-sandboxed"

_ENTER = Path(__file__).with_name("_enter.py")
_SEED = "/run/submission"  # the submission's folder, read-only, when the process works in a copy
_HOME_SEED = "/run/home"  # what the home starts with, read-only: copied into it by _enter.py

# The files of /etc that Python, NumPy and matplotlib need; not /etc itself (shadow, ssh keys,
# the package manager's credentials, ...).
_ETC = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "alternatives", "localtime", "timezone",
        "passwd", "group", "nsswitch.conf", "hosts", "host.conf", "mime.types", "os-release",
        "fonts", "matplotlibrc", "python3", f"python3.{sys.version_info.minor}")
# The system's programs and libraries (symbolic links on merged-/usr systems).
_SYSTEM = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")


@dataclass(frozen=True)
class Limits:
    """What one sandboxed process may use.

    Attributes
    ----------
    memory : int
        Address space in bytes (``RLIMIT_AS``): a larger allocation raises ``MemoryError``.
    processes : int
        Processes and threads of the sandbox's user (``RLIMIT_NPROC``): a fork loop stops there.
        A Jupyter kernel needs about ten threads.
    file_size : int
        Largest file it may write, in bytes (``RLIMIT_FSIZE``): a larger write fails with EFBIG.
    cpu_seconds : int
        CPU time in seconds (``RLIMIT_CPU``), for the whole life of the process: a kernel's
        limit covers the whole notebook. Past it the process is killed.
    tmp_size : int
        Size of the private ``/tmp`` and of the home folder, in bytes each (they live in memory).
    disk : int or None
        ``None``: the submission's folder itself is writable (what the process writes stays).
        A number of bytes: the process works in a copy of the folder in memory, of at most this
        size, and the folder itself is read-only; what it writes is gone when it ends. That
        bounds the total it can write, which the file-size limit alone does not.
    """

    memory: int = 4 * 2**30
    processes: int = 64
    file_size: int = 256 * 2**20
    cpu_seconds: int = 600
    tmp_size: int = 128 * 2**20
    disk: int | None = None


class Unavailable(RuntimeError):
    """Student code cannot be sandboxed on this machine; the message says why and what to do."""


def refusal(reason: str) -> str:
    """The message for an instructor whose machine cannot sandbox student code."""
    return (
        f"Student code cannot be sandboxed on this machine: {reason}\n"
        "Grading runs each submission's code inside bubblewrap (bwrap), so that it cannot read other\n"
        "students' work, the gradebook or your files. To grade here, install it:\n"
        "  Debian, Ubuntu:  sudo apt-get install bubblewrap\n"
        "  Fedora, RHEL:    sudo dnf install bubblewrap\n"
        "or grade on a Linux machine, or in a Linux container that allows user namespaces (macOS and\n"
        "Windows cannot: use a Linux virtual machine or server; Docker's default profile forbids them,\n"
        "a container started with `docker run --privileged` allows them)."
    )


def _running_as_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


@functools.lru_cache(maxsize=None)
def available() -> tuple[bool, str]:
    """Whether student code can be sandboxed here, and if not, why (one sentence).

    It starts a real sandbox once per process (about 50 ms), so a machine where ``bwrap`` is
    installed but cannot create namespaces is found out too.
    """
    if not sys.platform.startswith("linux"):
        return False, f"bubblewrap needs Linux, and this is {sys.platform}."
    if shutil.which("bwrap") is None:
        return False, "bubblewrap (the bwrap command) is not installed."
    if _running_as_root() and shutil.which("setpriv") is None:
        return False, ("the grader runs as root and setpriv (util-linux) is missing, so student code "
                       "cannot run as an unprivileged user.")
    with tempfile.TemporaryDirectory(prefix="optilab-probe-") as folder:
        try:
            argv = command([sys.executable, "-I", "-S", "-c", "open('probe', 'w').write('ok')"],
                           workdir=folder)
            done = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                                  timeout=60)
        except (OSError, subprocess.TimeoutExpired, Unavailable) as exc:
            return False, f"bwrap could not be started ({exc})."
        if done.returncode != 0 or not (Path(folder) / "probe").exists():
            lines = [ln for ln in (done.stderr or "").splitlines() if ln.strip()]
            why = lines[-1].strip() if lines else f"exit status {done.returncode}"
            return False, f"bwrap is installed but cannot create a sandbox here ({why})."
    return True, "bubblewrap works"


def require() -> None:
    """Raise :class:`Unavailable` with :func:`refusal`'s message unless :func:`available`."""
    ok, reason = available()
    if not ok:
        raise Unavailable(refusal(reason))


def hand_over(folder: str | os.PathLike) -> None:
    """Give ``folder`` and everything in it to the sandbox's user, when the grader is root.

    Symbolic links are not followed (a submission's link to ``/etc/passwd`` changes the link,
    not the file). Without root the sandbox runs as the grader's own user: nothing to do.
    """
    if not _running_as_root():
        return
    top = Path(folder)
    os.chown(top, NOBODY, NOBODY, follow_symlinks=False)
    for parent, dirs, files in os.walk(top):
        for name in dirs + files:
            os.chown(os.path.join(parent, name), NOBODY, NOBODY, follow_symlinks=False)


def give_back(folder: str | os.PathLike) -> None:
    """After the sandbox ended: give ``folder`` and everything in it back to the owner of the folder that holds it.

    The undo of :func:`hand_over` (what the student's code created there is given back too),
    so that a notebook's folder is not left to ``nobody``. Nothing to do without root.
    """
    if not _running_as_root():
        return
    top = Path(folder)
    owner = top.parent.stat()
    os.chown(top, owner.st_uid, owner.st_gid, follow_symlinks=False)
    for parent, dirs, files in os.walk(top):
        for name in dirs + files:
            os.chown(os.path.join(parent, name), owner.st_uid, owner.st_gid, follow_symlinks=False)


def _python_environment() -> list[str]:
    """The folders the running Python needs: the virtual environment, its base and the course library."""
    import optilab

    paths = {sys.prefix, sys.exec_prefix, sys.base_prefix, sys.base_exec_prefix,
             str(Path(os.path.realpath(sys.executable)).parent.parent),
             str(Path(optilab.__file__).parent)}
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        paths.add(sysconfig.get_paths()[key])
    return sorted(paths)


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def _views(paths: Iterable[str]) -> list[tuple[str, str]]:
    """(source, destination) pairs: each path at its own name and at its real name, none nested."""
    pairs: dict[str, str] = {}
    for path in paths:
        path = os.path.abspath(path)
        if not os.path.exists(path):
            continue
        for dest in {path, os.path.realpath(path)}:
            pairs[dest] = os.path.realpath(path)
    system = [p for p in _SYSTEM if os.path.exists(p)]
    keep = []
    for dest in sorted(pairs, key=len):
        covered = any(_inside(dest, s) for s in system) or any(_inside(dest, k) for k, _ in keep)
        if not covered:
            keep.append((dest, pairs[dest]))
    return [(src, dest) for dest, src in keep]


def _hidden(hide: Mapping[str, str | None], views: list[tuple[str, str]]) -> list[str]:
    """bwrap options that show each path of ``hide`` as :func:`command` says, at every name the
    views give it."""
    args = []
    for path, replacement in hide.items():
        real = os.path.realpath(path)
        if not os.path.exists(real):
            continue
        for src, dest in views:
            if not _inside(real, src):
                continue
            target = dest + real[len(src):]
            if replacement is not None:
                args += ["--ro-bind", os.path.realpath(replacement), target]
            elif os.path.isdir(real):
                args += ["--perms", "0755", "--size", str(2**20), "--tmpfs", target]
            else:  # (not /dev/null: a device bound outside /dev cannot be opened)
                args += ["--ro-bind", _empty_file(), target]
    return args


def prepare() -> None:
    """Make the files every sandbox of this process shares (the empty file hidden files are shown as,
    the grader's font list), here and now. A process that forks workers calls it first: the
    workers then use its copies, which it removes when it exits. (A pool's forked workers end
    without running :mod:`atexit`: what each made for itself would stay in the temporary folder.)"""
    _empty_file()
    _font_list()


@functools.lru_cache(maxsize=None)
def _empty_file() -> str:
    """An empty file everyone may read (removed when this process exits)."""
    import atexit
    import tempfile

    fd, path = tempfile.mkstemp(prefix="optilab-empty-")
    os.close(fd)
    os.chmod(path, 0o444)
    atexit.register(lambda: os.path.exists(path) and os.remove(path))
    return path


def _parents(dests: Iterable[str], made: set[str]) -> list[str]:
    """``--dir`` options for the missing parents of ``dests``, readable by everyone (bwrap makes 0700)."""
    args = []
    for dest in dests:
        parts = Path(dest).parts
        for i in range(2, len(parts)):
            parent = str(Path(*parts[:i]))
            if parent not in made:
                made.add(parent)
                args += ["--perms", "0755", "--dir", parent]
    return args


@functools.lru_cache(maxsize=1)
def _font_list() -> str | None:
    """matplotlib's list of the fonts it found, as this Python environment keeps it (made and saved
    by importing its font manager, if there was none), or None without matplotlib.

    Every sandbox starts with an empty home, where matplotlib keeps that list: without a copy, each
    sandboxed process that imports matplotlib (every kernel, every student's process) searches the
    system's fonts again, 0.4 s on a machine with 40 fonts and more with more.
    """
    try:
        from matplotlib import font_manager, get_cachedir
    except ImportError:
        return None
    font_manager.fontManager  # noqa: B018 (loaded, or made and saved, on import)
    path = os.path.join(get_cachedir(), f"fontlist-v{font_manager.FontManager.__version__}.json")
    return path if os.path.isfile(path) else None


def _home_seed() -> list[tuple[str, str]]:
    """(source, path in the home) of each file every sandbox's home starts with: matplotlib's font
    list, at the place matplotlib looks for it in a home of its own (``~/.cache/matplotlib``)."""
    fonts = _font_list()
    return [(fonts, f".cache/matplotlib/{os.path.basename(fonts)}")] if fonts else []


#: The grader's settings that change how NumPy computes, passed into the sandbox so that student
#: code computes exactly as the grader's own reference does (OpenBLAS picks other kernels, with
#: other rounding, without the CPU type a machine sets; lab 5's sweeps then differed past 1e-8).
NUMERIC_ENV = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_VERBOSE")


def _default_env() -> dict[str, str]:
    return {
        **{key: os.environ[key] for key in NUMERIC_ENV if key in os.environ},
        "PATH": f"{sys.prefix}/bin:/usr/local/bin:/usr/bin:/bin",
        "HOME": HOME,
        "TMPDIR": "/tmp",
        "LANG": "C.UTF-8",
        "MPLBACKEND": "Agg",
        "PYTHONDONTWRITEBYTECODE": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
    }


def command(argv: Sequence[str], *, workdir: str | os.PathLike, readonly: Iterable[str | os.PathLike] = (),
            shared: Iterable[str | os.PathLike] = (), env: Mapping[str, str] | None = None,
            limits: Limits = Limits(), hide: Mapping[str, str | None] | None = None) -> list[str]:
    """``argv`` wrapped in bubblewrap: run it with this, and it runs sandboxed.

    Parameters
    ----------
    argv : sequence of str
        The command, as it would run unsandboxed: ``[sys.executable, "-m", ...]``. Paths in it
        must be valid inside: the Python environment keeps its paths; the working folder is
        :data:`WORKDIR`.
    workdir : path
        The submission's own folder, the only one it may change; it appears at :data:`WORKDIR`,
        which is also the current folder. When the grader is root it is handed to the
        sandbox's user (:func:`hand_over`).
    readonly : paths
        More folders or files it may read, each at its own path.
    shared : paths
        Folders it may write at their own path, for the grader to read: a Jupyter kernel's
        sockets. Handed over like ``workdir``.
    env : mapping, optional
        Environment variables, added to a minimal one (``PATH``, ``HOME``, ``LANG``, one BLAS
        thread, ``MPLBACKEND=Agg``); nothing else of the grader's environment goes in.
    limits : Limits
        Memory, processes, file size and CPU time.
    hide : mapping, optional
        Paths inside what it may read (the course library, say) shown otherwise, in this order:
        path -> None shows a folder empty and a file empty; path -> another file shows that
        file's content there (a path mapped to itself shows again what an earlier entry hid).

    Returns
    -------
    list of str
        The command to run (``subprocess.Popen(command(...))``). The sandbox ends with it, and
        with the process that started it (``--die-with-parent``).

    Raises
    ------
    Unavailable
        There is no ``bwrap`` on this machine.
    ValueError
        ``workdir`` is not a folder.
    """
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        raise Unavailable(refusal("bubblewrap (the bwrap command) is not installed."))
    workdir = Path(workdir).resolve()
    if not workdir.is_dir():
        raise ValueError(f"the sandbox's working folder {workdir} is not a folder: create it first")
    shared = [str(Path(p).resolve()) for p in shared]
    root = _running_as_root()

    args = [bwrap, "--die-with-parent", "--new-session",
            "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
            "--hostname", "sandbox"]
    if root:
        # Root sets the sandbox up, then setpriv drops to nobody (it needs these two capabilities).
        args += ["--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    else:
        args += ["--unshare-user", "--disable-userns"]
    made = {"/"}
    for path in _SYSTEM:
        if os.path.islink(path):
            args += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            args += ["--ro-bind", path, path]
    args += ["--perms", "0755", "--dir", "/etc"]
    made.add("/etc")
    for name in _ETC:
        if os.path.exists(f"/etc/{name}"):
            args += ["--ro-bind", f"/etc/{name}", f"/etc/{name}"]
    args += ["--proc", "/proc", "--dev", "/dev",
             "--perms", "1777", "--size", str(limits.tmp_size), "--tmpfs", "/tmp",
             "--perms", "1777", "--size", str(limits.tmp_size), "--tmpfs", "/dev/shm",
             "--perms", "0755", "--dir", "/home",
             "--perms", "1777", "--size", str(limits.tmp_size), "--tmpfs", HOME]
    made.update({"/tmp", "/home", HOME})
    views = _views([*_python_environment(), _ENTER.parent, *map(str, readonly)])
    args += _parents([dest for _, dest in views], made)
    for src, dest in views:
        args += ["--ro-bind", src, dest]
    args += _hidden(hide or {}, views)
    args += _parents(shared, made)
    for folder in shared:
        args += ["--bind", folder, folder]
    seed = []
    home = [(src, f"{_HOME_SEED}/{name}") for src, name in _home_seed()]
    if home:  # copied into the home by _enter.py, where the process may change it
        args += _parents([dest for _, dest in home], made)
        for src, dest in home:
            args += ["--ro-bind", src, dest]
        seed += ["--home", _HOME_SEED]
    if limits.disk is None:
        args += ["--bind", str(workdir), WORKDIR]
    else:  # a copy in memory, made by _enter.py: writes cannot fill the disk
        args += _parents([_SEED], made)
        args += ["--ro-bind", str(workdir), _SEED,
                 "--perms", "1777", "--size", str(limits.disk), "--tmpfs", WORKDIR]
        seed += ["--seed", _SEED]
    args += ["--clearenv"]
    for key, value in {**_default_env(), **(env or {})}.items():
        args += ["--setenv", key, str(value)]

    enter = [sys.executable, "-I", "-S", str(_ENTER), *seed, str(limits.memory), str(limits.processes),
             str(limits.file_size), str(limits.cpu_seconds), "--", *argv]
    if root:
        for folder in (workdir, *shared):
            hand_over(folder)
        # nobody, in a user namespace of its own: its process limit counts its own processes only.
        args += ["--", shutil.which("setpriv") or "setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}",
                 "--clear-groups", "--no-new-privs",
                 "--", bwrap, "--unshare-user", "--disable-userns", "--dev-bind", "/", "/",
                 "--die-with-parent", "--chdir", WORKDIR, "--", *enter]
    else:  # (as root the folder is nobody's: only nobody may enter it)
        args += ["--chdir", WORKDIR, "--", *enter]
    return args
