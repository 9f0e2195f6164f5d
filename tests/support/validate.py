"""nbgrader's Validate, as the students' button runs it: a script for ``python -c`` that prints its result as JSON.

The configuration is loaded as the button loads it: Jupyter's config paths, with the served
folder's ``nbgrader_config.py`` (the working directory) first.
"""

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
