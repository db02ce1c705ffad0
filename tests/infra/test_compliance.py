"""cdk-nag (AwsSolutions), cfn-lint, checkov and the pinned CDK CLI, on the real templates."""

import copy
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
import yaml  # type: ignore[import-untyped]  # PyYAML ships no stubs
from cfnlint.api import ManualArgs, lint  # type: ignore[import-untyped]

from infra.app import REGION_CONTEXT_KEY
from infra.environments import ENVIRONMENTS_CONTEXT_KEY
from tests.support.synth import (
    ALARM_EMAIL,
    IGNORED_CFN_LINT_RULES,
    ROOT,
    Synth,
    account_assembly,
    cdk_json_context,
    make_app,
)

# Regions the app is meant for: AWS::Budgets::Budget exists only in some regions
# (CloudFormation's Budgets endpoint), so deploy to one of those.
LINT_REGIONS = ["us-east-1", "us-west-2", "eu-west-1", "eu-central-1"]
GENERIC_REASONS = {"", "ok", "needed", "required", "false positive", "not applicable"}
# checkov in its own venv (`make setup`: the Makefile's $(CHECKOV)), its skips in CHECKOV_CONFIG.
CHECKOV = ROOT / ".tools" / "checkov" / "bin" / "checkov"
CHECKOV_CONFIG = ROOT / ".checkov.yaml"
CHECKOV_COMMAND = (str(CHECKOV), "--config-file", str(CHECKOV_CONFIG), "--skip-download")


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


def synthesized_templates() -> dict[str, dict[str, Any]]:
    """Every template the project deploys: dev, prod, the account stack, and prod with
    WAF on (its app stack and its us-east-1 edge stack)."""
    templates = {env: Synth(env).json for env in ("dev", "prod")}
    templates["account"] = account_assembly()[1]
    environments = copy.deepcopy(cdk_json_context()[ENVIRONMENTS_CONTEXT_KEY])
    environments["prod"]["waf"] = True
    app, stack = make_app(
        "prod",
        email=ALARM_EMAIL,
        **{ENVIRONMENTS_CONTEXT_KEY: environments, REGION_CONTEXT_KEY: "eu-west-1"},
    )
    assembly = app.synth()
    for name in (stack.stack_name, f"{stack.stack_name}-edge"):
        templates[f"waf-{name}"] = assembly.get_stack_by_name(name).template
    return templates


def test_checkov_finds_nothing_outside_its_explained_skips(tmp_path: Path) -> None:
    for name, template in synthesized_templates().items():
        (tmp_path / f"{name}.template.json").write_text(json.dumps(template))
    # Offline: without these checkov downloads its mappings and waits on the network.
    env = os.environ | {"BC_SKIP_MAPPING": "TRUE"}
    done = subprocess.run(
        [*CHECKOV_COMMAND, "-d", str(tmp_path), "-o", "json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    reports = json.loads(done.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    [report] = [r for r in reports if r["check_type"] == "cloudformation"]
    assert report["summary"]["parsing_errors"] == 0
    assert report["summary"]["passed"] > 0
    failed = [
        f"{f['check_id']} {f['resource']} ({Path(f['file_path']).name}): {f['check_name']}"
        for f in report["results"]["failed_checks"]
    ]
    assert not failed, "\n".join(failed)


def skipped_checks_with_reasons() -> dict[str, str]:
    """The config's skipped checks, each with the comment above it (its reason)."""
    reasons: dict[str, str] = {}
    comment: list[str] = []
    for line in CHECKOV_CONFIG.read_text().splitlines():
        stripped = line.strip()
        if stripped.startswith("#"):
            comment.append(stripped.lstrip("# "))
        elif stripped.startswith("- CKV"):
            reasons[stripped[2:]] = " ".join(comment)
            comment = []
        else:
            comment = []
    return reasons


def test_every_checkov_skip_gives_a_specific_reason() -> None:
    reasons = skipped_checks_with_reasons()
    config = yaml.safe_load(CHECKOV_CONFIG.read_text())
    assert sorted(reasons) == sorted(config["skip-check"]), "one comment above each skip"
    for check, reason in reasons.items():
        assert reason.strip().lower() not in GENERIC_REASONS, check
        assert len(reason.split()) >= 12, f"{check}: say why it does not apply here"
