"""JupyterHub configuration for one optilab class on one machine (nbgrader's "one class" layout).

- Students and the instructor are Linux users; each gets a Jupyter server running as themselves
  (JupyterHub's default LocalProcessSpawner), from the course's shared Python environment.
- The course has a JupyterHub *service*, a Jupyter server running as the instructor in the course
  folder, where formgrader lives: ``/services/optilab/formgrader``. Members of the group
  ``formgrade-optilab`` may open it; nobody else can.
- nbgrader's exchange and the course id come from ``/etc/jupyter/nbgrader_config.py``
  (``global_nbgrader_config.py`` beside this file).
- The users' own servers read ``/etc/jupyter/optilab-students/`` (``students/`` beside this file)
  first: no formgrader, no Create Assignment. The course service does not read it.

See README.md beside this file for the whole recipe. Set the values below here or in the hub's
environment; ``make test-hub`` runs a hub with this very file.
"""

import os

c = get_config()  # noqa: F821 (provided by traitlets when it loads this file)

COURSE = "optilab"  # the course_id of nbgrader_config.py and of the hub-wide nbgrader config
INSTRUCTOR = os.environ.get("OPTILAB_INSTRUCTOR", "instructor")           # a Linux user
STUDENTS = os.environ.get("OPTILAB_STUDENTS", "").split()                  # Linux users
COURSE_DIR = os.environ.get("OPTILAB_COURSE_DIR", f"/home/{INSTRUCTOR}/optilab")  # the instructor's clone
ENV = os.environ.get("OPTILAB_ENV", "/opt/optilab")                        # the course's Python environment
EXCHANGE = os.environ.get("OPTILAB_EXCHANGE", "/srv/nbgrader/exchange")    # as in /etc/jupyter/nbgrader_config.py
SERVICE_URL = os.environ.get("OPTILAB_SERVICE_URL", "http://127.0.0.1:9999")  # where the course service listens
STUDENT_CONFIG = os.environ.get("OPTILAB_STUDENT_CONFIG", "/etc/jupyter/optilab-students")  # students/ beside this file

# Who may log in (PAM, JupyterHub's default: Linux users and their passwords).
c.Authenticator.allowed_users = {INSTRUCTOR, *STUDENTS}

# Every server runs the course's environment: the course library, JupyterLab and nbgrader.
PATH = f"{ENV}/bin:/usr/local/bin:/usr/bin:/bin"
c.Spawner.cmd = [f"{ENV}/bin/jupyterhub-singleuser"]
c.Spawner.default_url = "/lab"
# JUPYTER_CONFIG_PATH comes before every other configuration folder: the students' servers load
# nbgrader's Assignments tab but neither formgrader nor Create Assignment.
c.Spawner.environment = {"PATH": PATH, "OPTILAB_EXCHANGE": EXCHANGE, "JUPYTER_CONFIG_PATH": STUDENT_CONFIG}

# The course service: formgrader and a JupyterLab in the course folder, running as the instructor.
c.JupyterHub.services = [
    {
        "name": COURSE,
        "url": SERVICE_URL,
        "command": [f"{ENV}/bin/jupyterhub-singleuser"],
        "user": INSTRUCTOR,
        "cwd": COURSE_DIR,
        "environment": {
            "PATH": PATH,
            "OPTILAB_EXCHANGE": EXCHANGE,
            "JUPYTERHUB_DEFAULT_URL": "/formgrader",
        },
        "oauth_no_confirm": True,
    },
]

# Who may open the course service: the instructor, and any teaching assistant added to this group
# (they then grade in the service, as the instructor's Linux user). Students are not in it.
c.JupyterHub.load_groups = {f"formgrade-{COURSE}": {"users": [INSTRUCTOR]}}
c.JupyterHub.load_roles = [
    {
        "name": f"formgrade-{COURSE}",
        "groups": [f"formgrade-{COURSE}"],
        "scopes": [f"access:services!service={COURSE}"],
    },
]
