"""The deploy workflow ends each environment with its smoke run and a summary, in
cdk.json's order, and a failed smoke run stops the environments after it."""

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]  # PyYAML ships no stubs

from infra.settings import EnvironmentSettings, SettingsError
from tools.deploy_environments import DEFAULT_SMOKE_MODE

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def deploy_job() -> dict[str, Any]:
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "deploy.yml").read_text())
    job: dict[str, Any] = workflow["jobs"]["deploy"]
    return job


def step(job: dict[str, Any], name: str) -> tuple[int, dict[str, Any]]:
    [found] = [(i, s) for i, s in enumerate(job["steps"]) if s.get("name") == name]
    return found


def test_one_environment_at_a_time_and_a_failure_stops_the_rest(deploy_job):
    assert deploy_job["strategy"]["max-parallel"] == 1
    assert deploy_job["strategy"]["fail-fast"] is True


def test_the_smoke_run_follows_the_deploy_against_its_url(deploy_job):
    deployed_at, deploy = step(deploy_job, "make deploy")
    smoke_at, smoke = step(deploy_job, "make smoke")

    assert smoke_at == deployed_at + 1
    assert "if" not in smoke  # never skipped after a deployment that succeeded
    assert smoke["env"]["URL"] == "${{ steps.deploy.outputs.url }}"
    assert smoke["env"]["ENVIRONMENT"] == "${{ matrix.environment }}"
    assert 'make smoke URL="$URL" MODE="$mode"' in smoke["run"]
    assert "tools/deploy_environments.py --smoke-mode" in smoke["run"]
    assert "set -o pipefail" in smoke["run"]  # the tee never hides a failure
    assert deploy["id"] == "deploy"


def test_every_environment_ends_with_a_summary_of_url_version_and_smoke(deploy_job):
    last_at, summary = step(deploy_job, "Summary")

    assert last_at == len(deploy_job["steps"]) - 1
    assert summary["if"] == "always()"  # also when the deploy or the smoke run failed
    assert summary["env"]["URL"] == "${{ steps.deploy.outputs.url }}"
    assert summary["env"]["VERSION"] == "${{ github.sha }}"
    assert summary["env"]["SMOKE"] == "${{ steps.smoke.outcome }}"
    assert '>> "$GITHUB_STEP_SUMMARY"' in summary["run"]


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
    cdk_json = json.loads((ROOT / "cdk.json").read_text())
    for values in cdk_json["context"]["pick-a-number:environments"].values():
        assert "smoke_mode" in values  # declared, so the default below is a safety net
    assert DEFAULT_SMOKE_MODE == "read-only"
    assert EnvironmentSettings(name="new").smoke_mode == DEFAULT_SMOKE_MODE


def test_an_unknown_smoke_mode_stops_synthesis():
    with pytest.raises(SettingsError, match="smoke_mode"):
        EnvironmentSettings.from_mapping("dev", {"smoke_mode": "writes"})


def test_each_environment_deploys_with_its_own_role_and_so_its_own_account(deploy_job):
    """The role (and the account its ARN names) and the region are variables of the
    GitHub environment the job runs in: prod may live in an account of its own."""
    assert deploy_job["environment"]["name"] == "${{ matrix.environment }}"
    [credentials] = [
        s for s in deploy_job["steps"] if "configure-aws-credentials" in s.get("uses", "")
    ]
    assert credentials["with"]["role-to-assume"] == "${{ vars.AWS_DEPLOY_ROLE_ARN }}"
    assert credentials["with"]["aws-region"] == "${{ vars.AWS_REGION }}"
