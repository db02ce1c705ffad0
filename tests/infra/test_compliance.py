"""cdk-nag (AwsSolutions), cfn-lint and the pinned CDK CLI, on the real templates."""

import json
import os
import subprocess
from pathlib import Path

import aws_cdk as cdk
import pytest
from cfnlint.api import ManualArgs, lint  # type: ignore[import-untyped]

from tests.support.synth import IGNORED_CFN_LINT_RULES, ROOT, make_app

# Regions the app is meant for: AWS::Budgets::Budget exists only in some regions
# (CloudFormation's Budgets endpoint), so deploy to one of those.
LINT_REGIONS = ["us-east-1", "us-west-2", "eu-west-1", "eu-central-1"]
GENERIC_REASONS = {"", "ok", "needed", "required", "false positive", "not applicable"}


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_cdk_nag_aws_solutions_has_no_unacknowledged_finding(env: str) -> None:
    app, _ = make_app(env, nag=True)
    try:
        app.synth()
    except Exception as error:  # the report lists every finding
        pytest.fail(f"cdk-nag findings in {env}:\n{error}")


def test_every_acknowledgement_gives_a_specific_reason() -> None:
    app, stack = make_app("dev")
    reasons: dict[str, str] = {}
    for construct in stack.node.find_all():
        for entry in construct.node.metadata:
            if entry.type == "aws:cdk:acknowledged-rules":
                for rule, reason in dict(entry.data).items():
                    reasons[f"{construct.node.path} {rule}"] = reason
    assert reasons
    for where, reason in reasons.items():
        assert reason.strip().lower() not in GENERIC_REASONS, where
        assert len(reason.split()) >= 8, f"{where}: say why in one specific sentence"
    assert app


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_cfn_lint_is_clean(env: str) -> None:
    app, stack = make_app(env)
    template = app.synth().get_stack_by_name(stack.stack_name).template
    config = ManualArgs(regions=LINT_REGIONS, ignore_checks=sorted(IGNORED_CFN_LINT_RULES))
    findings = lint(json.dumps(template), config=config)
    assert not findings, "\n".join(str(m) for m in findings)


def test_the_cdk_cli_is_pinned() -> None:
    package = json.loads((ROOT / "package.json").read_text())
    version = package["devDependencies"]["aws-cdk"]
    assert version[0].isdigit(), "pin an exact version"
    lock = json.loads((ROOT / "package-lock.json").read_text())
    assert lock["packages"]["node_modules/aws-cdk"]["version"] == version


def test_npx_cdk_synth_works_without_docker_or_account(tmp_path: Path) -> None:
    if not (ROOT / "node_modules" / ".bin" / "cdk").exists():
        pytest.skip("node tools are not installed (make setup)")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CDK_DEFAULT_"))} | {
        "CDK_DISABLE_VERSION_CHECK": "1",
    }
    result = subprocess.run(
        ["npx", "--no-install", "cdk", "synth", "-c", "env=dev", "--quiet", "-o", str(tmp_path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    template = json.loads((tmp_path / "PickANumber-dev.template.json").read_text())
    assert "SubmissionsTable" in template["Resources"]
    assert cdk  # the CLI ran this same app (cdk.json)
