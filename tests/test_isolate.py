"""Student code in the sandbox (optilab.isolate): hostile code fails inside it, the grader survives.

The same hostile code runs two ways: as a command wrapped by ``isolate.command`` (as the
``python -m optilab check`` worker is), and in an answer cell of lab 1, autograded by nbgrader
with the ``optilab-sandboxed`` kernel. It reads a gradebook, a classmate's submission,
``solutions/`` and a file in the grader's home; writes outside its folder, into the course
library and into the Python environment; deletes the gradebook; signals the grader; connects to
a loopback listener the test starts; forks without end; allocates 10 GB; writes a 1 GB file.
Each attempt must fail inside the sandbox, and the trees around the submission's folder must be
byte for byte as before. A control run of the harmless part of the same code, unsandboxed,
shows that each attempt would succeed without the sandbox (so the checks can fail).

Where bubblewrap cannot run, these tests skip and say why; CI sets OPTILAB_REQUIRE_SANDBOX=1,
which turns the skip into a failure.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from optilab import isolate
from tests.support.submissions import FULL, MINIBATCHES, SGD, load as _load, student as _student

ROOT = Path(__file__).resolve().parents[1]
LAB = "lab01_gradient_descent"


@pytest.fixture(scope="module")
def sandbox():
    ok, reason = isolate.available()
    if not ok:
        if os.environ.get("OPTILAB_REQUIRE_SANDBOX"):
            pytest.fail(f"OPTILAB_REQUIRE_SANDBOX is set but {reason}")
        pytest.skip(f"student code cannot be sandboxed here: {reason}")
    return True


# --- a course around one submission -------------------------------------------------------

def _tree_digest(*folders: Path) -> dict[str, str]:
    """Every file and folder under ``folders``, with the SHA-256 of each file's bytes."""
    digest = {}
    for folder in folders:
        digest[str(folder)] = "folder" if folder.is_dir() else "missing"
        for path in sorted(folder.rglob("*")):
            digest[str(path)] = ("folder" if path.is_dir() and not path.is_symlink()
                                 else hashlib.sha256(path.read_bytes()).hexdigest())
    return digest


def _below_ephemeral_ports() -> range:
    """Ports below the range the kernel picks a connection's own port from. A connection to a
    port in that range where nothing listens can, now and then, connect to itself (TCP's
    simultaneous open, when its own port happens to equal the one it calls): a sandbox without
    network would then seem to reach the listener."""
    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    return range(max(1024, low - 12000), low)


class Listener:
    """A TCP listener on 127.0.0.1 (a free port below the ephemeral range) that counts the
    connections it accepts."""

    def __init__(self):
        import random
        self.sock = socket.socket()
        ports = list(_below_ephemeral_ports())
        random.shuffle(ports)
        for port in ports:
            try:
                self.sock.bind(("127.0.0.1", port))
                break
            except OSError:
                continue
        else:
            self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self):
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.accepted += 1
            conn.close()

    def wait_for_connections(self, count: int, seconds: float = 30.0) -> int:
        """The connections accepted once ``count`` have been, or ``seconds`` have passed (a busy machine may lag)."""
        deadline = time.monotonic() + seconds
        while self.accepted < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.accepted

    def close(self):
        self._stop.set()
        self._thread.join()
        self.sock.close()


@pytest.fixture
def course(tmp_path):
    """A workspace as nbgrader lays it out, a home with a secret, and the submission's folder.

    Yields the paths the hostile code is told about (it could guess them: they are in
    /proc/self/mountinfo and in the error messages of a real grading run).
    """
    ws = tmp_path / "course" / "grading"
    ws.mkdir(parents=True)
    (ws / "gradebook.db").write_bytes(b"SQLite format 3\x00 grades of the whole class")
    classmate = ws / "submitted" / "classmate" / LAB / f"{LAB}.ipynb"
    classmate.parent.mkdir(parents=True)
    classmate.write_text('{"cells": ["the classmate\'s answers"]}')
    solutions = tmp_path / "course" / "solutions" / LAB / f"{LAB}.ipynb"
    solutions.parent.mkdir(parents=True)
    solutions.write_text('{"cells": ["the instructor\'s solution"]}')
    home = Path.home()
    secret = home / f".optilab-test-secret-{os.getpid()}-{tmp_path.name}"
    secret.write_text("the instructor's private notes")
    workdir = ws / "autograded" / "mallory" / LAB
    workdir.mkdir(parents=True)
    listener = Listener()
    targets = {
        "gradebook": str(ws / "gradebook.db"),
        "gradebook_relative": "../../../gradebook.db",   # what walking up from its folder finds
        "classmate": str(classmate),
        "classmate_relative": f"../../../submitted/classmate/{LAB}/{LAB}.ipynb",
        "solutions": str(solutions),
        "home_secret": str(secret),
        "outside": str(ws / "autograded" / "owned.txt"),
        "library": str(Path(isolate.__file__).parents[1]),
        "environment": sys.prefix,
        "grader_pid": os.getpid(),
        "port": listener.port,
    }
    try:
        yield {"root": tmp_path / "course", "workdir": workdir, "secret": secret, "listener": listener,
               "targets": targets}
    finally:
        listener.close()
        secret.unlink(missing_ok=True)


# The hostile code: each attempt prints "<name>: blocked (<error>)" or "<name>: DONE ...".
PROBES = r'''
import json, os, socket, sys, time
T = json.loads(%r)

def attempt(name, action):
    try:
        got = action()
    except BaseException as exc:
        print(f"{name}: blocked ({type(exc).__name__}: {exc})"[:200], flush=True)
    else:
        print(f"{name}: DONE {got!r}"[:200], flush=True)

def read(path):
    with open(path, "rb") as f:
        return f.read(60)

def write(path):
    with open(path, "w") as f:
        f.write("owned")
    return path

def walk_up():
    here = os.getcwd()
    while True:
        if os.path.exists(os.path.join(here, "gradebook.db")):
            return os.path.join(here, "gradebook.db")
        if here == os.path.dirname(here):
            raise FileNotFoundError("no gradebook.db above " + os.getcwd())
        here = os.path.dirname(here)

attempt("read-gradebook", lambda: read(T["gradebook"]))
attempt("read-gradebook-relative", lambda: read(T["gradebook_relative"]))
attempt("find-gradebook", walk_up)
attempt("read-classmate", lambda: read(T["classmate"]))
attempt("read-classmate-relative", lambda: read(T["classmate_relative"]))
attempt("read-solutions", lambda: read(T["solutions"]))
attempt("read-home", lambda: read(T["home_secret"]))
attempt("write-outside", lambda: write(T["outside"]))
attempt("write-library", lambda: write(os.path.join(T["library"], "sitecustomize.py")))
attempt("write-environment", lambda: write(os.path.join(T["environment"], "owned.pth")))
attempt("delete-gradebook", lambda: os.remove(T["gradebook"]))
attempt("connect", lambda: socket.create_connection(("127.0.0.1", T["port"]), timeout=3).close())
'''

# The part that would hurt the machine unsandboxed: it runs sandboxed only.
EXHAUSTION = r'''
def allocate():
    return len(bytearray(10 * 2**30))

def big_file():
    try:
        with open("big.bin", "wb") as f:
            chunk = b"\0" * 2**20
            for _ in range(1024):
                f.write(chunk)
    finally:
        print("big-file-size:", os.path.getsize("big.bin"), flush=True)
        os.remove("big.bin")
    return "1 GB written"

def fork_loop():
    children = []
    try:
        while len(children) < 2000:   # stops here if nothing else stops it
            pid = os.fork()
            if pid == 0:
                time.sleep(1)
                os._exit(0)
            children.append(pid)
    finally:
        print("forked:", len(children), flush=True)
        for pid in children:
            os.waitpid(pid, 0)
    return f"{len(children)} processes"

def fill_disk():
    n = 0
    try:
        while n < 2000:   # 2 GB in files of 1 MB, each under the file-size limit
            with open(f"fill{n}.bin", "wb") as f:
                f.write(b"\0" * 2**20)
            n += 1
    finally:
        print("filled-MB:", n, flush=True)
        for i in range(n + 1):
            if os.path.exists(f"fill{i}.bin"):
                os.remove(f"fill{i}.bin")
    return f"{n} MB written"

attempt("signal-grader", lambda: os.kill(T["grader_pid"], 9))
attempt("fill-disk", fill_disk)
attempt("allocate-10GB", allocate)
attempt("write-1GB", big_file)
attempt("fork-loop", fork_loop)
'''

# Every attempt above, and the part of them that is harmless to try unsandboxed.
SANDBOXED_ONLY = {"signal-grader", "allocate-10GB", "write-1GB", "fork-loop", "fill-disk"}
ATTEMPTS = ["read-gradebook", "read-gradebook-relative", "find-gradebook", "read-classmate",
            "read-classmate-relative", "read-solutions", "read-home", "write-outside", "write-library",
            "write-environment", "delete-gradebook", "connect", *sorted(SANDBOXED_ONLY)]


def _probes(targets: dict, exhaustion: bool = True) -> str:
    return PROBES % json.dumps(targets) + (EXHAUSTION if exhaustion else "")


def _verdicts(text: str) -> dict[str, str]:
    out = {}
    for line in text.splitlines():
        name, sep, rest = line.partition(": ")
        if sep and name in ATTEMPTS:
            out[name] = rest
    return out


def _surroundings(course) -> dict[str, str]:
    """Everything the hostile code may not change: the course around its folder, the library, the secret."""
    workdir = course["workdir"]
    digest = _tree_digest(course["root"], Path(course["targets"]["library"]))
    digest = {k: v for k, v in digest.items() if not k.startswith(str(workdir))}
    digest["secret"] = hashlib.sha256(course["secret"].read_bytes()).hexdigest()
    digest["environment/owned.pth"] = str(os.path.exists(os.path.join(sys.prefix, "owned.pth")))
    return digest


# --- through isolate.command ---------------------------------------------------------------

def test_hostile_code_fails_in_every_attempt_and_changes_nothing_outside_its_folder(sandbox, course):
    script = course["workdir"] / "hostile.py"
    script.write_text(_probes(course["targets"]))
    before, own_before = _surroundings(course), _tree_digest(course["workdir"])
    limits = isolate.Limits(memory=2 * 2**30, processes=64, file_size=64 * 2**20, cpu_seconds=60,
                            disk=128 * 2**20)
    argv = isolate.command([sys.executable, "hostile.py"], workdir=course["workdir"], limits=limits)
    done = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    verdicts = _verdicts(done.stdout)
    assert set(verdicts) == set(ATTEMPTS), done.stdout + done.stderr
    assert {name: v for name, v in verdicts.items() if not v.startswith("blocked")} == {}
    assert "MemoryError" in verdicts["allocate-10GB"]
    assert "File too large" in verdicts["write-1GB"]
    sizes = [int(line.split()[-1]) for line in done.stdout.splitlines() if line.startswith("big-file-size:")]
    assert sizes and sizes[0] <= limits.file_size
    forked = [int(line.split()[-1]) for line in done.stdout.splitlines() if line.startswith("forked:")]
    assert forked and forked[0] < limits.processes
    assert "No space left" in verdicts["fill-disk"]
    assert course["listener"].accepted == 0
    assert _surroundings(course) == before
    assert _tree_digest(course["workdir"]) == own_before   # it worked in a copy in memory
    # the grader lives on, and can still start processes
    assert subprocess.run([sys.executable, "-c", "pass"]).returncode == 0


def test_the_same_attempts_succeed_without_the_sandbox(course):
    """The control: unsandboxed, the harmless attempts do what they say (so the test above can fail)."""
    script = course["workdir"] / "hostile.py"
    # Stand-ins for the library and the environment: a sitecustomize.py planted in the real library
    # would run in every Python that other tests start meanwhile (they run in parallel).
    stand_ins = {"library": course["root"] / "stand-in-library", "environment": course["root"] / "stand-in-env"}
    for folder in stand_ins.values():
        folder.mkdir()
    script.write_text(_probes({**course["targets"], **{k: str(v) for k, v in stand_ins.items()}}, exhaustion=False))
    done = subprocess.run([sys.executable, "hostile.py"], cwd=course["workdir"], capture_output=True,
                          text=True, timeout=120)
    verdicts = _verdicts(done.stdout)
    assert {n for n, v in verdicts.items() if v.startswith("DONE")} == set(ATTEMPTS) - SANDBOXED_ONLY, \
        done.stdout + done.stderr
    assert (stand_ins["library"] / "sitecustomize.py").is_file() and (stand_ins["environment"] / "owned.pth").is_file()
    assert course["listener"].wait_for_connections(1) == 1


def test_endless_output_to_a_file_stops_at_the_file_size_limit(sandbox, tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    limits = isolate.Limits(file_size=8 * 2**20)
    argv = isolate.command([sys.executable, "-c", "import sys\nwhile True:\n    sys.stdout.write('spam ' * 1000)"],
                           workdir=work, limits=limits)
    with open(tmp_path / "output.txt", "wb") as out:
        done = subprocess.run(argv, stdout=out, stderr=subprocess.PIPE, timeout=300)
    assert done.returncode != 0 and b"File too large" in done.stderr
    assert (tmp_path / "output.txt").stat().st_size <= limits.file_size


def test_an_endless_loop_is_killed_at_its_cpu_time_limit(sandbox, tmp_path):
    argv = isolate.command([sys.executable, "-c", "while True: pass"], workdir=tmp_path,
                           limits=isolate.Limits(cpu_seconds=1))
    done = subprocess.run(argv, capture_output=True, timeout=300)
    # bwrap reports a child killed by a signal as 128 + the signal: SIGXCPU at the limit, SIGKILL after
    assert done.returncode in (128 + signal.SIGXCPU, 128 + signal.SIGKILL), done


def test_a_fork_loop_in_one_sandbox_does_not_starve_the_next(sandbox, tmp_path):
    """The process limit counts each sandbox's own processes, even when both run as nobody."""
    hog, other = tmp_path / "hog", tmp_path / "other"
    hog.mkdir(), other.mkdir()
    fork = ("import os, sys, time\nn = 0\ntry:\n    while n < 500:\n        if os.fork() == 0:\n"
            "            time.sleep(float(sys.argv[1])); os._exit(0)\n        n += 1\nexcept OSError:\n    pass\n"
            "print(n, flush=True)\ntime.sleep(float(sys.argv[1]))\n")
    (hog / "fork.py").write_text(fork)
    (other / "fork.py").write_text(fork)
    limits = isolate.Limits(processes=32)
    holder = subprocess.Popen(isolate.command([sys.executable, "fork.py", "30"], workdir=hog, limits=limits),
                              stdout=subprocess.PIPE, text=True)
    try:
        assert int(holder.stdout.readline()) < 32   # it holds all it may have, and keeps them
        second = subprocess.run(isolate.command([sys.executable, "fork.py", "0"], workdir=other, limits=limits),
                                capture_output=True, text=True, timeout=120)
        assert int(second.stdout.split()[0]) >= 16, second
    finally:
        holder.kill()
        holder.wait()


def test_inherited_descriptors_of_the_grader_are_closed(sandbox, course):
    with open(course["targets"]["gradebook"], "rb") as gradebook:
        fd = gradebook.fileno()
        argv = isolate.command([sys.executable, "-c", f"import os; print(os.read({fd}, 20))"],
                               workdir=course["workdir"])
        done = subprocess.run(argv, capture_output=True, text=True, pass_fds=(fd,), timeout=120)
    assert done.returncode != 0 and "Bad file descriptor" in done.stderr


def test_the_student_process_is_not_root(sandbox, tmp_path):
    argv = isolate.command([sys.executable, "-c", "import os; print(os.getuid(), os.getcwd())"], workdir=tmp_path)
    out = subprocess.run(argv, capture_output=True, text=True, timeout=120).stdout.split()
    expected_uid = isolate.NOBODY if os.geteuid() == 0 else os.geteuid()
    assert out == [str(expected_uid), isolate.WORKDIR]


def test_its_own_folder_is_writable_and_the_writes_land_there(sandbox, tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    (work / "given.txt").write_text("from the grader")
    argv = isolate.command([sys.executable, "-c", "open('made.txt', 'w').write(open('given.txt').read() + '!')"],
                           workdir=work)
    assert subprocess.run(argv, timeout=120).returncode == 0
    assert (work / "made.txt").read_text() == "from the grader!"
    isolate.give_back(work)   # and afterwards the grader's user owns it all again
    assert {p.stat().st_uid for p in [work, *work.iterdir()]} == {tmp_path.stat().st_uid}


# --- where bubblewrap is missing ---------------------------------------------------------------

def test_without_bwrap_available_says_so_and_the_refusal_says_how_to_install(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))   # no bwrap on it
    isolate.available.cache_clear()
    try:
        ok, reason = isolate.available()
    finally:
        monkeypatch.undo()
        isolate.available.cache_clear()
    assert not ok and "not installed" in reason
    message = isolate.refusal(reason)
    assert "apt-get install bubblewrap" in message and "dnf install bubblewrap" in message
    assert "user namespaces" in message


def test_setup_check_explains_how_to_install_bwrap_but_does_not_fail_students(tmp_path):
    env = {**os.environ, "PATH": str(tmp_path)}   # no bwrap on it
    done = subprocess.run([sys.executable, "-m", "optilab.isolate", "check"], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0 and "apt-get install bubblewrap" in done.stderr
    strict = subprocess.run([sys.executable, "-m", "optilab.isolate", "check", "--strict"], env=env,
                            capture_output=True, text=True, timeout=120)
    assert strict.returncode == 1


def test_check_still_grades_without_bwrap_and_says_it_is_not_sandboxed(tmp_path):
    (tmp_path / "mine.py").write_text("def sgd(param, grad, state, *, lr=1e-2):\n    return param - lr * grad, {}\n")
    env = {**os.environ, "PATH": str(Path(sys.executable).parent)}   # the venv's tools, no bwrap
    done = subprocess.run([sys.executable, "-m", "optilab", "check", "sgd", "mine.py", "--json"], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["score"] == 3   # sgd's three groups, one point each
    assert "not sandboxed" in done.stderr


def test_check_runs_the_students_file_in_the_sandbox(sandbox, tmp_path):
    secret = tmp_path / "next-to-it.txt"
    secret.write_text("x")
    (tmp_path / "mine.py").write_text(
        "import os\nSEEN = os.path.exists(%r)\n"
        "def sgd(param, grad, state, *, lr=1e-2):\n"
        "    if SEEN or os.getcwd() != '/submission':\n        return param, {}\n"
        "    return param - lr * grad, {}\n" % str(secret))
    done = subprocess.run([sys.executable, "-m", "optilab", "check", "sgd", "mine.py", "--json"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    assert json.loads(done.stdout)["score"] == 3, done.stderr   # it saw neither its folder nor the file beside it
    assert "not sandboxed" not in done.stderr


# --- the sandboxed kernel ----------------------------------------------------------------------

def test_the_kernelspec_is_installed_and_selects_the_provisioner(sandbox):
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.provisioning import KernelProvisionerFactory

    spec = KernelSpecManager().get_kernel_spec(isolate.KERNEL_NAME)
    assert spec.metadata["kernel_provisioner"]["provisioner_name"] == isolate.KERNEL_NAME
    assert spec.interrupt_mode == "message"
    assert KernelProvisionerFactory.instance().is_provisioner_available(spec)


def _run_notebook(sources: list[str], folder: Path, timeout: int = 5, kernel: str = isolate.KERNEL_NAME):
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    NotebookClient(nb, kernel_name=kernel, timeout=timeout, allow_errors=True, interrupt_on_timeout=True,
                   resources={"metadata": {"path": str(folder)}}).execute()
    return ["".join(o.get("text", "") or o.get("ename", "") for o in cell.outputs) for cell in nb.cells]


def test_the_kernel_runs_in_the_submissions_folder_without_the_graders_environment(sandbox, tmp_path, monkeypatch):
    monkeypatch.setenv("OPTILAB_TEST_SECRET", "the grader's token")
    (tmp_path / "data.txt").write_text("42")
    out = _run_notebook(["import os; print(os.getcwd(), open('data.txt').read())",
                         "print(os.environ.get('OPTILAB_TEST_SECRET'))",
                         "import optilab, numpy; print(optilab.__name__)"], tmp_path)
    assert out == ["/submission 42\n", "None\n", "optilab\n"]


def test_an_endless_loop_is_interrupted_and_the_next_cell_runs(sandbox, tmp_path):
    out = _run_notebook(["x = 1", "while True:\n    pass", "print('next', x)"], tmp_path, timeout=3)
    assert out[1] == "KeyboardInterrupt" and out[2] == "next 1\n"


def test_endless_output_is_cut_as_it_arrives_and_the_next_cell_runs(sandbox, tmp_path):
    import nbformat

    from optilab.isolate.output import BoundedExecute

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in ["while True:\n    print('spam ' * 100)", "print('next')"]]
    BoundedExecute(kernel_name=isolate.KERNEL_NAME, timeout=3, max_output_chars=100_000).preprocess(
        nb, {"metadata": {"path": str(tmp_path)}})
    spam = [o for o in nb.cells[0].outputs if o.get("name") == "stdout"]
    assert sum(len(o["text"]) for o in spam) == 100_000   # the first 100,000 characters, then nothing
    assert any("output cut" in o.get("text", "") for o in nb.cells[0].outputs if o.get("name") == "stderr")
    assert "KeyboardInterrupt" in [o.get("ename") for o in nb.cells[0].outputs]
    assert nb.cells[1].outputs[0]["text"] == "next\n"


def test_a_plain_grading_kernel_talks_over_unix_sockets_in_a_folder_removed_after_the_notebook(tmp_path, monkeypatch,
                                                                                             request):
    """``make grade --no-sandbox`` grades in a plain kernel. It talks to the grader over Unix sockets
    in a private folder, as the sandboxed kernel does, not over TCP ports: the manager chooses free
    ports and lets them go before the kernel binds them, and a kernel whose port another process
    took never answers (jupyter/jupyter_client#487; seen in a test run, where a correct submission
    graded --no-sandbox scored 0). Nothing of the connection is left afterwards."""
    import shutil
    import tempfile

    import nbformat

    from optilab.isolate.output import BoundedExecute

    # A short folder of the test's own (pytest's tmp_path can be too long for a socket's path), set
    # as the stdlib's folder for temporary files.
    scratch = Path(tempfile.mkdtemp(prefix="optilab-test-"))
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    request.addfinalizer(lambda: shutil.rmtree(scratch, ignore_errors=True))
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(
        "from ipykernel import get_connection_info\n"
        "info = get_connection_info(unpack=True)\n"
        "print(info['transport'], info['ip'])")]
    BoundedExecute(kernel_name="python3", timeout=30).preprocess(nb, {"metadata": {"path": str(tmp_path)}})
    transport, ip = nb.cells[0].outputs[0]["text"].split()
    assert transport == "ipc"
    assert Path(ip).parent.parent == scratch  # its own folder, in the temporary folder
    assert list(scratch.iterdir()) == []


# --- nbgrader autograde of lab 1 with the sandboxed kernel -----------------------------------

# Lab 1's points (see tests/test_grading_pipeline.py): sgd's three hidden groups, minibatches
# (2 + 1), the stability experiment (2); the written answer is graded by hand.
# Seconds per cell: the endless answer below runs this long, in the kernel and again in the grader.
# The slowest cell that must finish is the attempts: about 1.3 s, of which 1 s is the forked children's sleep.
TIMEOUT = 6


class Workspace:
    """An nbgrader workspace for lab 1 (the course's config, its own folders), graded with ``kernel``."""

    def __init__(self, folder: Path, kernel: str, bounded_output: bool = False):
        from nbgrader.converters import Autograde

        from optilab.autograde.course import load_config, make_api, new_gradebook
        from optilab.isolate.output import bounded

        preprocessors = Autograde.class_traits()["autograde_preprocessors"].default()

        self.folder = folder
        (folder / "exchange").mkdir(parents=True)
        config = load_config(ROOT, CourseDirectory={
            "release_directory": str(folder / "release"), "submitted_directory": str(folder / "submitted"),
            "autograded_directory": str(folder / "autograded"), "feedback_directory": str(folder / "feedback"),
            "db_url": "sqlite:///" + str(folder / "gradebook.db")},
            Exchange={"root": str(folder / "exchange")},
            Execute={"timeout": TIMEOUT, "kernel_name": kernel},
            BoundedExecute={"kernel_name": kernel},  # autograding's Execute, set apart in nbgrader_config.py
            Autograde={"autograde_preprocessors": bounded(preprocessors) if bounded_output else preprocessors})
        self.api = make_api(config)
        new_gradebook(folder / "gradebook.db", self.api.coursedir.course_id)  # as `make grade` makes it
        result = self.api.generate_assignment(LAB, force=True)
        assert result["success"], result["log"]

    def submit(self, student: str, nb: dict) -> Path:
        path = self.folder / "submitted" / student / LAB / f"{LAB}.ipynb"
        path.parent.mkdir(parents=True)
        path.write_text(json.dumps(nb), encoding="utf-8")
        return path

    def grade(self, student: str) -> tuple[bool, float | None, float]:
        start = time.perf_counter()
        result = self.api.autograde(LAB, student, force=True, create=True)
        seconds = time.perf_counter() - start
        return result["success"], self.score(student), seconds

    def score(self, student: str) -> float | None:
        from nbgrader.api import Gradebook, MissingEntry

        with Gradebook("sqlite:///" + str(self.folder / "gradebook.db")) as gb:
            try:
                return float(gb.find_submission(LAB, student).score)
            except MissingEntry:
                return None

    def rows(self, student: str) -> list[tuple]:
        """Every grade and comment of the student's notebook, as the gradebook stores them."""
        from nbgrader.api import Gradebook

        with Gradebook("sqlite:///" + str(self.folder / "gradebook.db")) as gb:
            nb = gb.find_submission_notebook(LAB, LAB, student)
            return sorted([(g.name, g.auto_score, g.manual_score, g.extra_credit, g.needs_manual_grade)
                           for g in nb.grades] + [(c.name, c.auto_comment, c.manual_comment) for c in nb.comments],
                          key=repr)

    def outputs(self, student: str, cell_id: str) -> str:
        nb = _load(self.folder / "autograded" / student / LAB / f"{LAB}.ipynb")
        cell = next(c for c in nb["cells"] if c["id"] == cell_id)
        texts = [o.get("text", "") for o in cell.get("outputs", []) if o.get("output_type") == "stream"]
        return "".join("".join(t) if isinstance(t, list) else t for t in texts)


@pytest.mark.slow
def test_honest_work_gets_the_same_grade_with_and_without_the_sandbox(sandbox, tmp_path):
    scores, seconds = {}, {}
    for kernel in ("python3", isolate.KERNEL_NAME):
        ws = Workspace(tmp_path / kernel, kernel)
        ws.submit("ada", _student())
        ok, scores[kernel], seconds[kernel] = ws.grade("ada")
        assert ok
    assert scores == {"python3": FULL, isolate.KERNEL_NAME: FULL}
    print(f"\nautograde of one lab 1 submission: {seconds['python3']:.2f} s plain, "
          f"{seconds[isolate.KERNEL_NAME]:.2f} s sandboxed")


def _class_targets(workspace: Path, home_secret: Path, port: int) -> dict:
    """What the hostile submission is told about a grading workspace (it could guess each)."""
    return {
        "gradebook": str(workspace / "gradebook.db"),
        "gradebook_relative": "../../../gradebook.db",
        "classmate": str(workspace / "submitted" / "classmate" / LAB / f"{LAB}.ipynb"),
        "classmate_relative": f"../../../submitted/classmate/{LAB}/{LAB}.ipynb",
        "solutions": str(ROOT / "solutions" / LAB / f"{LAB}.ipynb"),
        "home_secret": str(home_secret),
        "outside": str(workspace / "autograded" / "owned.txt"),
        "library": str(Path(isolate.__file__).parents[1]),
        "environment": sys.prefix,
        "grader_pid": os.getpid(),
        "port": port,
    }


def _hostile(targets: dict):
    """The attempts, then the student's own (correct) sgd; and output without end in another answer."""
    def edit(cells):
        cells["sgd-answer"]["source"] = _probes(targets) + "\n" + "".join(cells["sgd-answer"]["source"])
        cells["largest-stable-lr-answer"]["source"] = "while True:\n    print('spam ' * 100)\n"
    return edit


@pytest.mark.slow
def test_nbgrader_autograde_of_a_hostile_submission_fails_only_itself(sandbox, tmp_path):
    ws = Workspace(tmp_path / "grading", isolate.KERNEL_NAME, bounded_output=True)
    ws.submit("classmate", _student())
    assert ws.grade("classmate")[:2] == (True, FULL)
    classmate_rows = ws.rows("classmate")
    home_secret = Path.home() / f".optilab-test-secret-{os.getpid()}"
    home_secret.write_text("the instructor's private notes")
    listener = Listener()
    solutions = ROOT / "solutions" / LAB / f"{LAB}.ipynb"
    targets = _class_targets(ws.folder, home_secret, listener.port)
    ws.submit("mallory", _student(_hostile(targets)))
    around = [ws.folder / "submitted" / "classmate", ws.folder / "autograded" / "classmate", ws.folder / "release",
              ws.folder / "submitted" / "mallory", solutions.parent, Path(targets["library"])]
    before = _tree_digest(*around)
    try:
        ok, score, _ = ws.grade("mallory")
        verdicts = _verdicts(ws.outputs("mallory", "sgd-answer"))
        accepted = listener.accepted
    finally:
        listener.close()
        secret_after = home_secret.read_text()
        home_secret.unlink()
    assert ok
    # sgd (3) and minibatches (3) are the student's own correct work; the stability experiment
    # never finished (its answer printed until the cell's time limit), so its 2 points are lost.
    assert score == SGD + MINIBATCHES
    assert set(verdicts) == set(ATTEMPTS), ws.outputs("mallory", "sgd-answer")
    assert {name: v for name, v in verdicts.items() if not v.startswith("blocked")} == {}
    assert accepted == 0
    assert _tree_digest(*around) == before
    assert secret_after == "the instructor's private notes"
    assert not (Path(sys.prefix) / "owned.pth").exists()
    assert ws.rows("classmate") == classmate_rows     # the gradebook is intact
    graded_folder = ws.folder / "autograded" / "mallory" / LAB
    assert {p.stat().st_uid for p in [graded_folder, *graded_folder.rglob("*")]} == {os.geteuid()}  # given back
    # and the grader goes on: a kernel that dies fails its own notebook only, the next one is graded
    ws.submit("killer", _student(lambda cells: cells["sgd-answer"].update(source="import os\nos._exit(1)\n")))
    ws.submit("zoe", _student())
    assert ws.grade("killer")[0] is False
    assert ws.grade("zoe")[:2] == (True, FULL)


@pytest.mark.slow
def test_make_grade_of_a_hostile_class_fails_only_the_hostile_work(sandbox, tmp_path):
    """The same attempts through ``make grade`` (optilab.autograde.grade_lab), in a class."""
    import csv

    from optilab.autograde import grade_lab

    out = tmp_path / "course" / "grading"
    home_secret = Path.home() / f".optilab-test-secret-{os.getpid()}-grade"
    home_secret.write_text("the instructor's private notes")
    listener = Listener()
    solutions = ROOT / "solutions" / LAB / f"{LAB}.ipynb"
    targets = _class_targets(out, home_secret, listener.port)

    export = tmp_path / "export"
    class_work = {"classmate": _student(), "mallory": _student(_hostile(targets)), "zoe": _student(),
                  "killer": _student(lambda cells: cells["sgd-answer"].update(source="import os\nos._exit(1)\n"))}
    for name, nb in class_work.items():
        (export / name).mkdir(parents=True)
        (export / name / f"{LAB}.ipynb").write_text(json.dumps(nb), encoding="utf-8")
    around = [export, solutions.parent, Path(targets["library"])]
    before = _tree_digest(*around)
    try:
        grade_lab(LAB, export, out=out, timeout=TIMEOUT)
        accepted = listener.accepted
    finally:
        listener.close()
        secret_after = home_secret.read_text()
        home_secret.unlink()
    with open(out / "reports" / LAB / "grades.csv", newline="") as f:
        scores = {row["student_id"]: float(row["raw_score"]) for row in csv.DictReader(f)}
    # mallory: her own sgd (3) and minibatches (3); the stability answer printed until its time
    # limit (0 of 2). killer's kernel died in its first answer: that attempt scores 0.
    assert scores == {"classmate": FULL, "zoe": FULL, "mallory": SGD + MINIBATCHES, "killer": 0}
    graded = json.loads((out / "autograded" / "mallory" / LAB / f"{LAB}.ipynb").read_text(encoding="utf-8"))
    text = "".join("".join(o.get("text", "")) for c in graded["cells"] if c.get("id") == "sgd-answer"
                   for o in c.get("outputs", []))
    verdicts = _verdicts(text)
    assert set(verdicts) == set(ATTEMPTS), text
    assert {name: v for name, v in verdicts.items() if not v.startswith("blocked")} == {}
    assert accepted == 0 and secret_after == "the instructor's private notes"
    assert not (Path(sys.prefix) / "owned.pth").exists() and not Path(targets["outside"]).exists()
    assert _tree_digest(*around) == before            # what it read, the solutions and the library
    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{out / 'gradebook.db'}") as gb:  # every student has its row
        assert {sub.student.id for sub in gb.find_assignment(LAB).submissions} == set(class_work)


def test_graded_code_finds_no_compiled_copy_of_the_reference_rules(sandbox, tmp_path):
    """``make setup`` compiles the course library, so that every process loads it compiled, the
    sandboxed ones too. The compiled copies of the modules that hold reference rules are shown
    empty to graded code, as their source is shown without the rules: neither can be loaded."""
    import compileall
    import importlib.util

    import optilab
    from optilab import kernels
    from optilab.grading.notebook import StudentNotebook

    root = Path(optilab.__file__).resolve().parent
    modules = sorted({"kernels", *(f.__module__.rsplit(".", 1)[-1] for f in kernels.RULES.values())})
    assert {"kernels", "kernels_adaptive", "kernels_modern"} <= set(modules)
    for module in modules:  # as make setup leaves them
        assert compileall.compile_file(str(root / f"{module}.py"), quiet=1)
    compiled = {m: importlib.util.cache_from_source(str(root / f"{m}.py")) for m in modules}
    assert all(Path(path).stat().st_size > 16 for path in compiled.values())
    cell = ("import marshal\nsizes, rules = {}, {}\n"
            f"for name, path in {compiled!r}.items():\n"
            "    data = open(path, 'rb').read()\n"
            "    sizes[name] = len(data)\n"
            "    try:\n"
            "        namespace = {}\n"
            "        exec(marshal.loads(data[16:]), namespace)\n"
            "        rules[name] = sorted(k for k in namespace if not k.startswith('_'))\n"
            "    except Exception as exc:\n"
            "        rules[name] = type(exc).__name__\n")
    with StudentNotebook([(0, cell)], tmp_path, served=tuple(kernels.RULES)) as notebook:
        assert notebook.sandboxed and notebook.outcomes[0].get("error") is None, notebook.outcomes
        assert notebook.get("sizes") == {m: 0 for m in modules}
        assert notebook.get("rules") == {m: "EOFError" for m in modules}


def test_the_kernelspec_is_readable_by_every_user_of_a_shared_environment(tmp_path):
    """Found on a hub: installed from a 700 temporary folder, the kernelspec was 700 too, and the
    instructor's grading found "No such kernel named optilab-sandboxed" in the shared environment."""
    import stat

    from optilab.isolate.kernelspec import install

    folder = Path(install(str(tmp_path)))
    assert stat.S_IMODE(folder.stat().st_mode) == 0o755
    assert stat.S_IMODE((folder / "kernel.json").stat().st_mode) == 0o644


def test_numpys_blas_settings_reach_the_sandbox(sandbox, tmp_path, monkeypatch):
    """Found when grading lab 5 sandboxed: without the machine's OPENBLAS_CORETYPE, OpenBLAS chose
    other kernels inside the sandbox, and a correct sweep differed from the grader's past 1e-8."""
    monkeypatch.setenv("OPENBLAS_CORETYPE", "Haswell")
    argv = isolate.command([sys.executable, "-c", "import os; print(os.environ.get('OPENBLAS_CORETYPE'))"],
                           workdir=tmp_path)
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert done.stdout.strip() == "Haswell", done.stderr


def test_matplotlib_finds_its_font_list_in_the_home_and_the_graders_copy_stays_as_it_was(sandbox, tmp_path):
    """Every sandbox's home starts empty, so matplotlib searched the system's fonts again in every kernel and
    every student's process (0.4 s each, on a machine with 40 fonts): the home now starts with a copy of the
    grader's font list, which the student's code may change without changing the grader's."""
    fonts = isolate._font_list()
    assert fonts is not None
    before = Path(fonts).read_bytes()
    code = ("import glob, logging, os; logging.basicConfig(level=logging.INFO); import matplotlib.font_manager\n"
            "for path in glob.glob(os.path.expanduser('~/.cache/matplotlib/*')): open(path, 'a').write('changed')\n")

    def run(**env):
        argv = isolate.command([sys.executable, "-c", code], workdir=tmp_path, env=env)
        return subprocess.run(argv, capture_output=True, text=True, timeout=120)

    seeded = run()
    assert seeded.returncode == 0 and "generated new fontManager" not in seeded.stderr, seeded.stderr
    # where matplotlib does not look in the home, it makes the list again, as every sandbox did before
    elsewhere = run(XDG_CACHE_HOME="/tmp/cache")
    assert elsewhere.returncode == 0 and "generated new fontManager" in elsewhere.stderr, elsewhere.stderr
    assert Path(fonts).read_bytes() == before


def test_a_socket_folder_too_long_for_a_unix_socket_is_refused_with_what_to_do(tmp_path):
    from jupyter_client import KernelManager

    from optilab.isolate.provisioner import use_unix_sockets

    folder = tmp_path / ("x" * 120)
    manager = KernelManager(kernel_name="python3")
    with pytest.raises(RuntimeError, match="too long for a Unix socket.*set TMPDIR to a shorter folder"):
        use_unix_sockets(manager, str(folder))
    assert manager.transport == "tcp"  # left as it was
