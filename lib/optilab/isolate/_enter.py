"""The first program inside the sandbox: set the limits, close inherited descriptors, run the command.

Not imported: :func:`optilab.isolate.command` runs this file with ``python -I -S`` as the last
step before the student's process, so it uses nothing but the standard library and starts in
milliseconds::

    python -I -S _enter.py [--home FOLDER] [--seed FOLDER] MEMORY PROCESSES FILE_SIZE CPU_SECONDS -- COMMAND [ARGS...]

With ``--home``, it first copies FOLDER (read-only: matplotlib's font list) into the home folder,
where the process may change it. With ``--seed``, it copies FOLDER (the submission's folder,
read-only) into the current folder (a size-limited tmpfs), so that the process works in a copy
in memory.

The limits are set here, inside the sandbox's own user namespace, and not before it: Linux
counts processes per user *and* user namespace, so a fork loop in one sandbox uses up its own
allowance and not that of the submissions graded beside it.
"""

import os
import resource
import sys


def _copy_into(source: str, target: str) -> None:
    """Copy every entry of the folder ``source`` into the folder ``target``, whose own owner and mode stay."""
    import shutil

    for entry in os.scandir(source):
        if entry.is_dir(follow_symlinks=False):
            shutil.copytree(entry.path, os.path.join(target, entry.name), symlinks=True, dirs_exist_ok=True)
        else:
            shutil.copy2(entry.path, os.path.join(target, entry.name), follow_symlinks=False)


def main(args: list[str]) -> None:
    if args[0] == "--home":
        try:  # only a head start: matplotlib makes its font list again without it
            _copy_into(args[1], os.environ["HOME"])
        except (OSError, KeyError):
            pass
        args = args[2:]
    if args[0] == "--seed":
        _copy_into(args[1], ".")  # "." itself is the tmpfs
        args = args[2:]
    split = args.index("--")
    memory, processes, file_size, cpu_seconds = (int(a) for a in args[:split])
    command = args[split + 1:]
    limits = [
        (resource.RLIMIT_AS, memory, memory),            # a 10 GB allocation raises MemoryError
        (resource.RLIMIT_NPROC, processes, processes),   # processes and threads: fork loops stop
        (resource.RLIMIT_FSIZE, file_size, file_size),   # no file grows past this (EFBIG)
        (resource.RLIMIT_CPU, cpu_seconds, cpu_seconds + 5),  # SIGXCPU, then SIGKILL
        (resource.RLIMIT_CORE, 0, 0),                    # a crash leaves no core file behind
    ]
    for which, soft, hard in limits:
        resource.setrlimit(which, (soft, hard))
    # The grader's open files (its gradebook, its logs) are inherited through bwrap: not past here.
    os.closerange(3, 1 << 16)
    os.execvp(command[0], command)


if __name__ == "__main__":
    main(sys.argv[1:])
