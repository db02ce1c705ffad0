"""The Makefile's targets, read with `make -n` (nothing runs): what deploying from a
laptop runs and installs."""

import subprocess

import pytest

from tests.support.synth import ROOT


def bootstrap_command(**variables: str) -> str:
    """What `make bootstrap` would run (make -n: nothing runs)."""
    assigned = [f"{name}={value}" for name, value in variables.items()]
    done = subprocess.run(
        ["make", "-n", "--no-print-directory", "bootstrap", *assigned],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    [command] = [
        line for line in done.stdout.replace("\\\n", " ").splitlines() if "cdk bootstrap" in line
    ]
    return command


def test_bootstrap_can_scope_the_execution_role() -> None:
    """AWS CDK: `cdk bootstrap` without --cloudformation-execution-policies gives the
    CloudFormation execution role cdk-<qualifier>-cfn-exec-role AdministratorAccess,
    and the stock deploy role may act on any stack of the account: in one account a
    qualifier per environment does not stop dev's roles from changing prod. `make
    bootstrap EXECUTION_POLICIES=…` passes the operator's scoped policies through."""
    policy = "arn:aws:iam::123456789012:policy/pick-a-number-dev"
    scoped = bootstrap_command(ENV="dev", EXECUTION_POLICIES=policy)
    assert "--qualifier pandev" in scoped
    assert f'policies="{policy}"' in scoped
    assert '--cloudformation-execution-policies "$policies"' in scoped
    # without EXECUTION_POLICIES: the environment's own (tests/infra/test_execution_policy.py)
    assert "execution-policy-arns prod" in bootstrap_command(ENV="prod")


@pytest.mark.parametrize("target", ["deploy", "diff", "destroy", "bootstrap", "deploy-account"])
def test_deploying_needs_no_browser(target: str) -> None:
    """`make deploy` (CI's deploy job too) needs the CDK app and CLI, not Chromium:
    no recipe it would run installs a browser."""
    result = subprocess.run(
        ["make", "--dry-run", "--always-make", target, "ENV=dev", "GITHUB=o/r"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "chromium" not in result.stdout.lower()
    assert "apt-get" not in result.stdout
