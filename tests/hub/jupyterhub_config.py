"""make test-hub's JupyterHub: the recipe of docs/hub/jupyterhub_config.py, unchanged, plus what a test needs.

Added here: loopback ports in one range, the hub's state in the run's folder, the proxy from
tests/hub/node_modules, the hub-wide nbgrader config from the run's folder (instead of /etc/jupyter),
and an admin service whose token the driver uses to hand each user a token of their own.
"""

import os

c = get_config()  # noqa: F821 (provided by traitlets when it loads this file)
here = os.path.dirname(os.path.abspath(__file__))
load_subconfig(os.path.join(here, "..", "..", "docs", "hub", "jupyterhub_config.py"))  # noqa: F821

work = os.environ["HUB_WORK"]
port = int(os.environ.get("HUB_PORT", "18000"))

c.JupyterHub.bind_url = f"http://127.0.0.1:{port}"
c.JupyterHub.hub_bind_url = f"http://127.0.0.1:{port + 1}"
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{port + 2}"
# (the course service listens on port + 3: OPTILAB_SERVICE_URL, set by run.sh)
c.ConfigurableHTTPProxy.command = [os.path.join(here, "node_modules", ".bin", "configurable-http-proxy")]
c.ConfigurableHTTPProxy.pid_file = os.path.join(work, "hub", "proxy.pid")
c.JupyterHub.db_url = "sqlite:///" + os.path.join(work, "hub", "jupyterhub.sqlite")
c.JupyterHub.cookie_secret_file = os.path.join(work, "hub", "cookie_secret")

# Users' servers on fixed ports of the range, not random ones.
names = [os.environ["OPTILAB_INSTRUCTOR"], *os.environ["OPTILAB_STUDENTS"].split()]
ports = {name: port + 10 + i for i, name in enumerate(names)}


def use_the_test_port(spawner):
    spawner.port = ports[spawner.user.name]


c.Spawner.pre_spawn_hook = use_the_test_port
# A loaded CI machine may take longer than JupyterHub's defaults (60 s, 30 s) to start a JupyterLab.
c.Spawner.start_timeout = 180
c.Spawner.http_timeout = 120

# /etc/jupyter of the recipe (nbgrader_config.py, optilab-students/) from the run's folder: a folder on
# JUPYTER_CONFIG_PATH is read as /etc/jupyter would be, only with a higher priority.
etc = os.path.join(work, "etc", "jupyter")
c.Spawner.environment["JUPYTER_CONFIG_PATH"] = os.pathsep.join([os.path.join(etc, "optilab-students"), etc])
for service in c.JupyterHub.services:
    service["environment"]["JUPYTER_CONFIG_PATH"] = etc

# The test's administrator: a service with a token, given JupyterHub's admin role.
c.JupyterHub.services.append({"name": "hub-test", "api_token": os.environ["HUB_TEST_TOKEN"]})
c.JupyterHub.load_roles.append({"name": "admin", "services": ["hub-test"]})
