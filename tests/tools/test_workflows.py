"""The project's GitHub workflows: every action pinned, CI runs `make test` read-only,
and the deploy workflow assumes a role per environment (OIDC, no stored keys), one
environment at a time in cdk.json's order, each ending with its smoke run and a
summary; a failed smoke run stops the environments after it. (actionlint and
yamllint on them: test_lint.py.)"""

import re
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]  # PyYAML ships no stubs

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"


@pytest.fixture(scope="module")
def deploy_job() -> dict[str, Any]:
    job: dict[str, Any] = workflow("deploy.yml")["jobs"]["deploy"]
    return job


def step(job: dict[str, Any], name: str) -> tuple[int, dict[str, Any]]:
    [found] = [(i, s) for i, s in enumerate(job["steps"]) if s.get("name") == name]
    return found


def test_one_environment_at_a_time_and_a_failure_stops_the_rest(deploy_job):
    assert deploy_job["strategy"]["max-parallel"] == 1
    assert deploy_job["strategy"]["fail-fast"] is True


def test_the_smoke_run_follows_the_deploy_against_its_url(deploy_job):
    deployed_at, _ = step(deploy_job, "make deploy")
    smoke_at, smoke = step(deploy_job, "make smoke")

    assert smoke_at == deployed_at + 1
    assert "if" not in smoke  # never skipped after a deployment that succeeded
    assert smoke["env"]["URL"] == "${{ steps.deploy.outputs.url }}"
    assert smoke["env"]["ENVIRONMENT"] == "${{ matrix.environment }}"
    assert 'make smoke URL="$URL" MODE="$mode"' in smoke["run"]
    assert "tools/deploy_environments.py --smoke-mode" in smoke["run"]
    assert "set -o pipefail" in smoke["run"]  # the tee never hides a failure


def test_every_environment_ends_with_a_summary_of_url_version_and_smoke(deploy_job):
    last_at, summary = step(deploy_job, "Summary")

    assert last_at == len(deploy_job["steps"]) - 1
    assert summary["if"] == "always()"  # also when the deploy or the smoke run failed
    assert summary["env"]["URL"] == "${{ steps.deploy.outputs.url }}"
    assert summary["env"]["VERSION"] == "${{ github.sha }}"
    assert summary["env"]["SMOKE"] == "${{ steps.smoke.outcome }}"
    assert '>> "$GITHUB_STEP_SUMMARY"' in summary["run"]


def workflow(name: str) -> dict[Any, Any]:
    loaded: dict[Any, Any] = yaml.safe_load((WORKFLOWS / name).read_text())
    return loaded


def all_steps(wf: dict[Any, Any]) -> list[dict[str, Any]]:
    return [step for job in wf["jobs"].values() for step in job.get("steps", [])]


def test_every_action_is_pinned_by_commit_sha() -> None:
    for path in WORKFLOWS.glob("*.y*ml"):
        for step in all_steps(yaml.safe_load(path.read_text())):
            uses = step.get("uses")
            if uses and not uses.startswith("./"):
                assert re.fullmatch(r"[\w.-]+/[\w./-]+@[0-9a-f]{40}", uses), (path.name, uses)


def test_ci_runs_make_test_with_read_only_permissions() -> None:
    ci = workflow("ci.yml")
    triggers = ci[True]  # YAML 1.1 reads the key `on` as a boolean
    assert "pull_request" in triggers
    assert "push" in triggers
    assert "workflow_call" in triggers  # deploy.yml gates on it
    assert ci["permissions"] == {"contents": "read"}
    runs = [step.get("run", "") for step in all_steps(ci)]
    assert any(run in {"make test", "./.ci/run"} for run in runs)
    assert Path(ROOT / ".ci" / "run").read_text().rstrip().endswith("make test")


def test_deploy_uses_oidc_per_environment_and_no_stored_keys() -> None:
    deploy = workflow("deploy.yml")
    triggers = deploy[True]
    assert triggers["push"] == {"branches": ["main"]}
    assert "workflow_dispatch" in triggers
    assert deploy["permissions"] == {}  # nothing by default; each job asks for its own
    job = deploy["jobs"]["deploy"]
    assert job["permissions"] == {"id-token": "write", "contents": "read"}
    assert set(job["needs"]) >= {"test"}
    assert job["environment"]["name"] == "${{ matrix.environment }}"
    assert job["environment"]["url"] == "${{ steps.deploy.outputs.url }}"
    [credentials] = [
        s for s in job["steps"] if s.get("uses", "").startswith("aws-actions/configure-aws-")
    ]
    assert set(credentials["with"]) == {
        "role-to-assume",
        "aws-region",
        "role-session-name",
        "role-duration-seconds",
    }
    assert credentials["with"]["role-to-assume"] == "${{ vars.AWS_DEPLOY_ROLE_ARN }}"
    [make_deploy] = [s for s in job["steps"] if "make deploy" in s.get("run", "")]
    assert 'ENV="$ENVIRONMENT"' in make_deploy["run"]
    assert make_deploy["id"] == "deploy"
    for path in WORKFLOWS.glob("*.y*ml"):
        text = path.read_text()
        for forbidden in ("aws-access-key-id", "aws-secret-access-key", "AWS_SECRET_ACCESS_KEY"):
            assert forbidden not in text, (path.name, forbidden)


def test_each_environment_deploys_with_its_own_role_and_so_its_own_account(deploy_job):
    """The role (and the account its ARN names) and the region are variables of the
    GitHub environment the job runs in: prod may live in an account of its own."""
    assert deploy_job["environment"]["name"] == "${{ matrix.environment }}"
    [credentials] = [
        s for s in deploy_job["steps"] if "configure-aws-credentials" in s.get("uses", "")
    ]
    assert credentials["with"]["role-to-assume"] == "${{ vars.AWS_DEPLOY_ROLE_ARN }}"
    assert credentials["with"]["aws-region"] == "${{ vars.AWS_REGION }}"
