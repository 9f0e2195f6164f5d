"""nbgrader's Validate, as the students' button runs it.

The configuration is loaded as the button loads it: Jupyter's config paths, with the served
folder's ``nbgrader_config.py`` (the working directory) first. :data:`VALIDATE` does that in a
script for ``python -c`` that prints its result as JSON; :func:`validate` does the same in the
test's own process (as the button does in the Jupyter server's), with the configuration loaded
once per process: nbgrader's import and configuration cost about 2 s of CPU a notebook in a new
process. The notebook still runs in a kernel of its own, as the button runs it.
"""

import functools

VALIDATE = """
import json, os, sys
from jupyter_core.paths import jupyter_config_path
from nbgrader.apps import NbGrader
from nbgrader.validator import Validator
paths = jupyter_config_path()
paths.insert(0, os.getcwd())
app = NbGrader()
app.config_file_paths.append(paths)
app.load_config_file()
print(json.dumps(Validator(config=app.config).validate(sys.argv[1])))
"""


@functools.lru_cache(maxsize=None)
def _button_config(served: str):
    """The configuration the Validate button loads in a server whose folder is ``served``: the lines of
    :data:`VALIDATE`, with ``served`` for the working directory."""
    from jupyter_core.paths import jupyter_config_path
    from nbgrader.apps import NbGrader

    paths = jupyter_config_path()
    paths.insert(0, served)
    app = NbGrader()
    app.config_file_paths.append(paths)
    app.load_config_file()
    return app.config


def validate(nb: dict, folder, lab: str) -> dict:
    """Validate a student's notebook ``nb`` (a dict) as the button does, its written answers answered
    (graded by hand, they are not what Validate is about); the Validator's result as a dict."""
    import copy
    import json
    import os
    import sys
    from pathlib import Path

    from nbgrader.validator import Validator

    root = Path(__file__).resolve().parents[2]
    notebook = Path(folder) / f"{lab}.ipynb"
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown" and cell["metadata"].get("nbgrader", {}).get("solution"):
            cell["source"] = "My answer, with the numbers above."
    notebook.write_text(json.dumps(nb, indent=1, ensure_ascii=False), encoding="utf-8")
    # The kernel is found as the script's was: the environment's own bin first on PATH.
    path = os.environ.get("PATH", "")
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{path}"
    try:
        result = Validator(config=copy.deepcopy(_button_config(str(root)))).validate(str(notebook))
    finally:
        os.environ["PATH"] = path
    return json.loads(json.dumps(result))  # plain data, as the script printed it
