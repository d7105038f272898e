"""Binder and pip install the same runtime packages."""

import json
import re
import sys
from pathlib import Path

import jsonschema
import pytest

from scalekit import course

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib
CONDA_TO_PYPI = {"redis-py": "redis"}
NOT_PYTHON_PACKAGES = {"python", "pip", "redis-server"}
TEST_TOOLS_ON_BINDER = {"nbval"}


def _requirement_name(requirement: str) -> str:
    return re.split(r"[\[<>=!~; ]", requirement, maxsplit=1)[0].lower()


def test_environment_yml_names_the_runtime_packages_of_pyproject():
    project = tomllib.loads((course.ROOT / "pyproject.toml").read_text())["project"]
    runtime = {_requirement_name(r) for r in project["dependencies"]}
    runtime |= {"lupa"} if any("fakeredis[lua]" in r for r in project["dependencies"]) else set()
    conda = set()
    text = (course.ROOT / "environment.yml").read_text()
    for line in text.split("\ndependencies:\n", 1)[1].splitlines():
        match = re.match(r"^  - ([A-Za-z0-9_.-]+)=([\w.]+)\s+#\s*\S", line)
        if match:
            conda.add(CONDA_TO_PYPI.get(match[1], match[1]).lower())
        elif re.match(r"^  - [A-Za-z]", line) and not line.strip().startswith(("- pip", "- -e")):
            pytest.fail(f"environment.yml: pin the version and say why in a comment: {line.strip()}")
    assert runtime == conda - NOT_PYTHON_PACKAGES - TEST_TOOLS_ON_BINDER


def test_start_hook_hands_over_to_the_server():
    start = (course.ROOT / "start").read_text()
    assert start.rstrip().endswith('exec "$@"')
    assert "REDIS_URL" in start


def test_course_jupyterlab_settings_turn_off_the_news_popup():
    overrides = json.loads((course.ROOT / "jupyter/lab/settings/overrides.json").read_text())
    plugin = "@jupyterlab/apputils-extension:notification"
    assert overrides[plugin]["fetchNews"] == "false"
    schema_file = (
        Path(sys.prefix) / "share/jupyter/lab/schemas/@jupyterlab/apputils-extension/notification.json"
    )
    if schema_file.exists():
        jsonschema.validate(overrides[plugin], json.loads(schema_file.read_text()))


def test_make_lab_and_binder_install_the_same_settings_and_trust():
    makefile = (course.ROOT / "Makefile").read_text()
    post_build = (course.ROOT / "postBuild").read_text()
    for text in (makefile, post_build):
        assert "jupyter/lab/settings/overrides.json" in text
        assert "share/jupyter/lab/settings" in text
        assert "trust notebooks/*.ipynb" in text


def test_binder_pins_the_versions_that_made_the_outputs():
    """environment.yml and constraints.txt must pin the same versions, or Binder's outputs differ."""
    pinned = {}
    for line in (course.ROOT / "constraints.txt").read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.-]+)==([\w.]+)", line)
        if match:
            pinned[match[1].lower()] = match[2]
    text = (course.ROOT / "environment.yml").read_text().split("\ndependencies:\n", 1)[1]
    checked = 0
    for name, version in re.findall(r"^  - ([A-Za-z0-9_.-]+)=([\w.]+)", text, re.M):
        pypi = CONDA_TO_PYPI.get(name, name).lower()
        if pypi in NOT_PYTHON_PACKAGES:
            continue
        assert pypi in pinned, f"constraints.txt does not pin {pypi}, which environment.yml pins"
        assert pinned[pypi] == version, (
            f"{pypi}: environment.yml pins {version}, constraints.txt {pinned[pypi]}"
        )
        checked += 1
    assert checked >= 8
