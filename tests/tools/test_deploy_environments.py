"""tools/deploy_environments.py: the environments a deploy run targets, from cdk.json,
and how each is smoke-tested (full on dev, read-only unless declared otherwise)."""

import json
import subprocess
from pathlib import Path

from infra.environments import EnvironmentSettings
from tools.deploy_environments import DEFAULT_SMOKE_MODE

ROOT = Path(__file__).resolve().parents[2]


def test_deploy_targets_the_environments_declared_in_cdk_json() -> None:
    result = subprocess.run(
        ["python3", "tools/deploy_environments.py"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    cdk_json = json.loads((ROOT / "cdk.json").read_text())
    declared = list(cdk_json["context"]["pick-a-number:environments"])
    assert result.stdout.strip() == f"environments={json.dumps(declared)}"
    refused = subprocess.run(
        ["python3", "tools/deploy_environments.py", "nope"], cwd=ROOT, capture_output=True
    )
    assert refused.returncode != 0


def smoke_mode(environment: str) -> str:
    result = subprocess.run(
        ["python3", "tools/deploy_environments.py", "--smoke-mode", environment],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().removeprefix("mode=")


def test_dev_is_smoke_tested_in_full_and_prod_read_only():
    assert smoke_mode("dev") == "full"
    assert smoke_mode("prod") == "read-only"


def test_an_environment_without_a_smoke_mode_is_never_written_to():
    assert DEFAULT_SMOKE_MODE == "read-only"
    assert EnvironmentSettings(name="new").smoke_mode == DEFAULT_SMOKE_MODE
