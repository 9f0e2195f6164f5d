"""``python -m optilab.isolate check|install``: is student code sandboxed here; install the kernelspec.

- ``check``    says whether bubblewrap can sandbox student code on this machine, and if not,
               how to install it (exit status 0 either way unless ``--strict``: students do not need it).
- ``install``  installs the ``optilab-sandboxed`` kernelspec into this Python's environment.
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["install"]:
        from optilab.isolate.kernelspec import install

        print(f"installed the sandboxed kernel in {install()}")
        return 0
    if argv[:1] == ["check"]:
        from optilab.isolate import available, refusal

        ok, reason = available()
        if ok:
            print("bubblewrap works: student code is sandboxed when it is graded.")
            return 0
        print(refusal(reason) + "\n(Students do not need it: their own checks run without it.)",
              file=sys.stderr)
        return 1 if "--strict" in argv else 0
    print(__doc__.strip(), file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
