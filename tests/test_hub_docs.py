"""The JupyterHub recipe's files agree with each other and with the course (docs/hub/).

`make test-hub` runs the one-machine recipe for real; these checks keep the Kubernetes values, which it
cannot run, in step with the files it does use.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from traitlets.config.loader import PyFileConfigLoader

ROOT = Path(__file__).resolve().parents[1]
HUB = ROOT / "docs" / "hub"


def _values() -> dict:
    return yaml.safe_load((HUB / "z2jh-values.yaml").read_text(encoding="utf-8"))


def test_the_hub_wide_config_names_the_course_of_nbgrader_config(monkeypatch) -> None:
    monkeypatch.delenv("OPTILAB_EXCHANGE", raising=False)
    hub_wide = PyFileConfigLoader("global_nbgrader_config.py", path=str(HUB)).load_config()
    course = PyFileConfigLoader("nbgrader_config.py", path=str(ROOT)).load_config()
    assert hub_wide.CourseDirectory.course_id == course.CourseDirectory.course_id == "optilab"
    assert hub_wide.Exchange.root == "/srv/nbgrader/exchange"


def test_students_get_no_formgrader_and_no_create_assignment() -> None:
    server = json.loads((HUB / "students" / "jupyter_server_config.json").read_text(encoding="utf-8"))
    assert server["ServerApp"]["jpserver_extensions"] == {"nbgrader.server_extensions.formgrader": False}
    page = json.loads((HUB / "students" / "labconfig" / "page_config.json").read_text(encoding="utf-8"))
    assert page["disabledExtensions"] == {"@jupyter/nbgrader:formgrader": True,
                                          "@jupyter/nbgrader:create-assignment": True}


def test_the_kubernetes_values_give_students_the_same_switches() -> None:
    files = _values()["singleuser"]["extraFiles"]
    by_path = {f["mountPath"]: f for f in files.values()}
    server = by_path["/etc/jupyter/optilab-students/jupyter_server_config.json"]["data"]
    page = by_path["/etc/jupyter/optilab-students/labconfig/page_config.json"]["data"]
    assert server == json.loads((HUB / "students" / "jupyter_server_config.json").read_text(encoding="utf-8"))
    assert page == json.loads((HUB / "students" / "labconfig" / "page_config.json").read_text(encoding="utf-8"))
    assert _values()["singleuser"]["extraEnv"]["JUPYTER_CONFIG_PATH"] == "/etc/jupyter/optilab-students"
    assert 'c.CourseDirectory.course_id = "optilab"' in by_path["/etc/jupyter/nbgrader_config.py"]["stringData"]


def test_the_kubernetes_values_lift_the_students_switches_for_graders_only() -> None:
    values = _values()
    overrides = values["hub"]["config"]["Spawner"]["group_overrides"]
    assert [o["groups"] for o in overrides.values()] == [["formgrade-optilab"]]
    environment = next(iter(overrides.values()))["spawner_override"]["environment"]
    assert environment["JUPYTER_CONFIG_PATH"] is None  # removed: formgrader and Create Assignment come back
    groups = values["hub"]["config"]["JupyterHub"]["load_groups"]
    assert not set(groups["formgrade-optilab"]["users"]) & set(groups["nbgrader-optilab"]["users"])


def test_the_hub_config_opens_the_course_service_to_its_graders_only(monkeypatch) -> None:
    for name in ("OPTILAB_INSTRUCTOR", "OPTILAB_STUDENTS", "OPTILAB_COURSE_DIR", "OPTILAB_ENV",
                 "OPTILAB_EXCHANGE", "OPTILAB_SERVICE_URL", "OPTILAB_STUDENT_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    config = PyFileConfigLoader("jupyterhub_config.py", path=str(HUB)).load_config()
    (service,) = config.JupyterHub.services
    assert (service["name"], service["user"], service["cwd"]) == ("optilab", "instructor", "/home/instructor/optilab")
    assert "JUPYTER_CONFIG_PATH" not in service["environment"]
    assert config.Spawner.environment["JUPYTER_CONFIG_PATH"] == "/etc/jupyter/optilab-students"
    assert config.JupyterHub.load_groups == {"formgrade-optilab": {"users": ["instructor"]}}
    assert config.JupyterHub.load_roles == [{"name": "formgrade-optilab", "groups": ["formgrade-optilab"],
                                             "scopes": ["access:services!service=optilab"]}]
