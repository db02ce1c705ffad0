"""The Node the CDK runs on: the project's own (package.json's `node`, from the npm
registry), a version the CDK supports, under `make`, a plain pytest and CI alike, with
nothing silencing jsii's warning about an unsupported Node."""

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]  # PyYAML ships no stubs

from tests.support.synth import ROOT

# The CDK dropped Node 20 on 2026-10-30 (aws/aws-cdk#37762); 22 and 24 are supported.
OLDEST_SUPPORTED_MAJOR = 22
PROJECT_NODE = ROOT / "node_modules" / ".bin" / "node"
# What jsii prints when the Node it runs on is end-of-life or untested.
JSII_NODE_WARNINGS = ("end-of-life", "not supported", "untested", "upgrade to a supported")


def pinned_node() -> str:
    version: str = json.loads((ROOT / "package.json").read_text())["devDependencies"]["node"]
    return version


def major(version: str) -> int:
    return int(version.lstrip("v").split(".")[0])


def test_the_project_pins_a_node_the_cdk_supports() -> None:
    version = pinned_node()
    assert version[0].isdigit(), "pin an exact version"
    assert major(version) >= OLDEST_SUPPORTED_MAJOR
    lock = json.loads((ROOT / "package-lock.json").read_text())
    assert lock["packages"]["node_modules/node"]["version"] == version


def test_make_runs_the_cdk_and_jsii_on_the_projects_node() -> None:
    """Whatever Node the machine has (20 on the reference machine), a recipe's `node`,
    hence the CDK CLI's and the one jsii starts for the CDK's Python package, is the
    pinned one; jsii then has nothing to warn about."""
    probe = 'probe: ; @node --version && $(PY) -c "import aws_cdk; aws_cdk.App()"'
    done = subprocess.run(
        ["make", "--no-print-directory", "--eval", probe, "probe"],
        cwd=ROOT,
        env={k: v for k, v in os.environ.items() if not k.startswith("JSII_")},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert done.stdout.split() == [f"v{pinned_node()}"]
    warned = [w for w in JSII_NODE_WARNINGS if w in done.stderr.lower()]
    assert not warned, done.stderr[-2000:]


def test_a_plain_pytest_runs_the_projects_node_too() -> None:
    """tests/conftest.py puts node_modules/.bin first, as the Makefile does."""
    found = shutil.which("node")
    assert found is not None
    assert Path(found) == PROJECT_NODE
    version = subprocess.run(
        [found, "--version"], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert version == f"v{pinned_node()}"


def setup_node_versions() -> list[Any]:
    versions = []
    for path in sorted((ROOT / ".github" / "workflows").glob("*.y*ml")):
        for job in yaml.safe_load(path.read_text())["jobs"].values():
            for step in job.get("steps", []):
                if str(step.get("uses", "")).startswith("actions/setup-node@"):
                    versions.append(step["with"]["node-version"])
    return versions


def test_ci_sets_up_the_pinned_node_major() -> None:
    versions = setup_node_versions()
    assert versions, "the workflows set up Node (npm ci, the CDK CLI)"
    assert set(versions) == {major(pinned_node())}


def test_nothing_silences_jsiis_node_warning() -> None:
    """The warning is how an unsupported Node shows; silencing it hid Node 20's end."""
    silencer = "JSII_SILENCE_WARNING"
    tracked = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split("\0")
    this_file = Path(__file__).resolve().relative_to(ROOT).as_posix()
    silencing = [
        name
        for name in tracked
        if name
        and name != this_file
        and (ROOT / name).is_file()
        and silencer in (ROOT / name).read_text(errors="ignore")
    ]
    assert not silencing
