"""Binder's files agree with pyproject.toml, checked without conda.

Binder (repo2docker) builds the course from ``environment.yml`` and ``postBuild``; ``make setup`` builds it
from ``pyproject.toml``. These tests keep the two the same: conda-forge and Python 3.11, the same pinned
packages, and a pip that resolves the environment's pins to the set installed here.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

import pytest
import yaml  # PyYAML: installed with JupyterLab (jupyter-events requires it)
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]


def _environment() -> dict:
    return yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _conda_dependencies() -> list[str]:
    return [d for d in _environment()["dependencies"] if isinstance(d, str)]


def _pip_section() -> list[str]:
    sections = [d["pip"] for d in _environment()["dependencies"] if isinstance(d, dict) and "pip" in d]
    assert len(sections) == 1, f"environment.yml should have one pip section, found {len(sections)}"
    return sections[0]


def _pins(requirements: list[str]) -> dict[str, str]:
    """name -> version for requirements of the form ``name==version`` (fails on any other form)."""
    pins = {}
    for line in requirements:
        requirement = Requirement(line)
        specifiers = list(requirement.specifier)
        assert len(specifiers) == 1 and specifiers[0].operator == "==", (
            f"{line!r} is not pinned to one version; write name==version")
        pins[canonicalize_name(requirement.name)] = specifiers[0].version
    return pins


def _pyproject_requirements() -> list[str]:
    project = _pyproject()["project"]
    return project["dependencies"] + project["optional-dependencies"]["test"]


def test_environment_yml_uses_conda_forge_only() -> None:
    environment = _environment()
    assert environment["name"] == "optilab"
    assert environment["channels"] == ["conda-forge"]


def test_environment_yml_pins_python_3_11_which_pyproject_accepts() -> None:
    pythons = [d for d in _conda_dependencies() if re.match(r"python\b", d)]
    assert pythons == ["python=3.11"], f"environment.yml should pin python=3.11, found {pythons}"
    requires_python = SpecifierSet(_pyproject()["project"]["requires-python"])
    assert Version("3.11.0") in requires_python


def test_environment_yml_installs_pip_from_conda_for_its_pip_section() -> None:
    assert "pip" in _conda_dependencies()


def test_environment_pip_section_pins_the_same_packages_and_versions_as_pyproject() -> None:
    environment = _pins(_pip_section())
    pyproject = _pins(_pyproject_requirements())
    only_environment = {n: v for n, v in environment.items() if pyproject.get(n) != v}
    only_pyproject = {n: v for n, v in pyproject.items() if environment.get(n) != v}
    assert environment == pyproject, (
        f"environment.yml and pyproject.toml disagree.\n  only in environment.yml: {only_environment}\n"
        f"  only in pyproject.toml (dependencies + test extra): {only_pyproject}"
    )


def test_environment_does_not_install_the_course_itself() -> None:
    # repo2docker installs environment.yml before it copies the repository: `-e .` would fail there.
    for line in _pip_section():
        assert not line.startswith(("-e", ".", "file:")), f"{line!r}: install the course in postBuild instead"


def test_postbuild_is_valid_bash_that_stops_on_the_first_error() -> None:
    post_build = ROOT / "postBuild"
    subprocess.run(["bash", "-n", str(post_build)], check=True)
    assert re.search(r"^set -e", post_build.read_text(encoding="utf-8"), re.MULTILINE)


def test_pip_resolves_the_environment_to_the_set_installed_here() -> None:
    """Offline: with no index, pip must find every pin and every dependency of a pin already installed.

    The venv was installed from pyproject.toml by ``make setup``; if environment.yml asked for anything
    else (another version, a package or a dependency the venv lacks), pip would need an index and fail.
    """
    result = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--dry-run", "--no-index", "--quiet", "--report", "-",
         "--disable-pip-version-check", *_pip_section()],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, f"pip could not resolve environment.yml offline:\n{result.stderr}"
    would_install = [item["metadata"]["name"] for item in json.loads(result.stdout)["install"]]
    assert would_install == [], f"pip would install {would_install}: the venv differs from environment.yml"


def _installed_closure(requirements: list[str]) -> set[str]:
    """Names of the installed distributions that ``requirements`` need, transitively (markers evaluated)."""
    from importlib import metadata

    seen: set[str] = set()
    todo = [(Requirement(r), "") for r in requirements]
    while todo:
        requirement, extra = todo.pop()
        if requirement.marker and not requirement.marker.evaluate({"extra": extra}):
            continue
        name = canonicalize_name(requirement.name)
        wanted_extras = {canonicalize_name(e) for e in requirement.extras}
        if name in seen and not wanted_extras:
            continue
        seen.add(name)
        for line in metadata.requires(requirement.name) or []:
            dependency = Requirement(line)
            for extra_name in wanted_extras or {""}:
                todo.append((dependency, extra_name))
    return seen


@pytest.mark.skipif(os.environ.get("OPTILAB_RESOLVE_ONLINE") != "1",
                    reason="resolving against the package index takes about a minute and needs the network; "
                           "set OPTILAB_RESOLVE_ONLINE=1 to run it")
def test_pip_resolves_the_environment_from_the_index_to_the_same_packages() -> None:
    """Online, as Binder does: a fresh resolution of environment.yml brings exactly the venv's packages."""
    result = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet", "--report", "-",
         "--disable-pip-version-check", *_pip_section()],
        capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, f"pip could not resolve environment.yml:\n{result.stderr[-3000:]}"
    resolved = {canonicalize_name(item["metadata"]["name"]) for item in json.loads(result.stdout)["install"]}
    installed = _installed_closure(_pyproject_requirements())
    assert resolved == installed, (
        f"only in a fresh resolution of environment.yml: {sorted(resolved - installed)}\n"
        f"only in the venv installed from pyproject.toml: {sorted(installed - resolved)}"
    )


def test_readme_binder_badge_opens_the_start_page() -> None:
    readme = ROOT / "README.md"
    if not readme.exists():
        pytest.skip("README.md does not exist yet")
    links = re.findall(r"https://mybinder\.org/v2/[^)\s\"']+", readme.read_text(encoding="utf-8"))
    assert links, "README.md has no Binder badge (a https://mybinder.org/v2/... link)"
    for link in links:
        labpath = parse_qs(urlparse(link).query).get("labpath")
        assert labpath, f"the Binder link {link} has no labpath: it would not open the start page"
        assert unquote(labpath[0]) == "lessons/00_start_here.ipynb", f"{link} opens {labpath[0]}"
        assert (ROOT / unquote(labpath[0])).is_file(), f"{link} opens {labpath[0]}, which does not exist"


_IMPORT_EVERY_MODULE = """
import importlib, pkgutil, sys
for name in ("pytest", "_pytest", "pytest_timeout", "xdist"):
    sys.modules[name] = None  # `import pytest` now fails, as where the test extra is not installed
import optilab
failed = []
for module in pkgutil.walk_packages(optilab.__path__, "optilab."):
    if module.name.endswith("__main__"):
        continue
    try:
        importlib.import_module(module.name)
    except ImportError as error:
        failed.append(f"{module.name}: {error}")
print("\\n".join(failed))
"""


def test_the_library_imports_without_the_test_extra() -> None:
    """pytest and the other test tools are the `test` extra's: no module of the library may need them."""
    done = subprocess.run([sys.executable, "-c", _IMPORT_EVERY_MODULE], capture_output=True, text=True,
                          env={**os.environ, "MPLBACKEND": "Agg"}, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == "", f"modules that need a test-only package:\n{done.stdout}"
    runtime = {canonicalize_name(Requirement(r).name) for r in _pyproject()["project"]["dependencies"]}
    assert not runtime & {"pytest", "pytest-timeout", "pytest-xdist"}, "test tools belong in the `test` extra"


def test_reading_a_notebook_builds_no_iri_parsers() -> None:
    """jsonschema stays below 4.25: its later format checkers import rfc3987-syntax, whose 35 Lark parsers take
    0.8 s to build in each process that imports nbformat (python-jsonschema/jsonschema#1428)."""
    probe = ("import sys, nbformat, jsonschema, nbgrader.apps\n"
             "print(sorted(m for m in sys.modules if m.split('.')[0] in {'rfc3987_syntax', 'lark'}))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "MPLBACKEND": "Agg"})
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == "[]", (
        f"importing nbformat and nbgrader loaded {done.stdout.strip()}: keep jsonschema at the pin of "
        "pyproject.toml (4.24.1), or move on only to a release that no longer imports rfc3987-syntax")


def _imported_packages(folder: Path, own: set[str]) -> dict[str, set[str]]:
    """Top-level modules that the code under ``folder`` imports, other than the standard library's and
    the project's ``own``: module -> the files that import it."""
    import ast

    found: dict[str, set[str]] = {}
    for path in sorted(folder.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top not in own | {"__future__"}:
                    found.setdefault(top, set()).add(str(path.relative_to(ROOT)))
    return found


def _unpinned(folders: list[Path], own: set[str], pinned: set[str]) -> dict[str, list[str]]:
    """The packages the code under ``folders`` imports whose distributions are not among ``pinned``
    (canonical names): module -> the files that import it."""
    from importlib.metadata import packages_distributions

    distributions = packages_distributions()
    missing: dict[str, set[str]] = {}
    for folder in folders:
        for module, files in _imported_packages(folder, own).items():
            if not {canonicalize_name(d) for d in distributions.get(module, [module])} & pinned:
                missing.setdefault(module, set()).update(files)
    return {module: sorted(files) for module, files in missing.items()}


def test_every_package_the_library_imports_is_a_pinned_runtime_dependency() -> None:
    """The library subclasses jupyter_client's provisioner and nbgrader's preprocessors, and reads
    traitlets' config: a package it imports only through another's dependencies would float to
    whatever release comes next, untested."""
    runtime = {canonicalize_name(Requirement(r).name) for r in _pyproject()["project"]["dependencies"]}
    missing = _unpinned([ROOT / "lib" / "optilab"], {"optilab"}, runtime)
    assert not missing, f"imported by the library but not pinned in pyproject.toml's dependencies: {missing}"


def test_every_package_the_tests_import_is_pinned_for_them() -> None:
    """The tests' own imports (of ``tests/`` and ``bench/``) are pinned too: in the runtime dependencies,
    the ``test`` extra, or tests/reference-requirements.txt (the implementations the rules are compared with)."""
    reference = [line.split("#")[0].strip() for line in
                 (ROOT / "tests" / "reference-requirements.txt").read_text(encoding="utf-8").splitlines()]
    pinned = set(_pins(_pyproject_requirements()) | _pins([line for line in reference if line]))
    folders = [ROOT / "tests", ROOT / "bench"]
    own = {"optilab", "tests", "bench"} | {path.stem for folder in folders for path in folder.rglob("*.py")}
    own.add("fenced")  # a module tests/test_show.py writes and imports
    missing = _unpinned(folders, own, pinned)
    assert not missing, f"imported by the tests but pinned nowhere: {missing}"
