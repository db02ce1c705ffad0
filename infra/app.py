"""The CDK app: `cdk.json` runs `.venv/bin/python -m infra.app`.

`-c env=<name>` picks the environment declared in cdk.json (default `dev`) and
synthesizes its stack, `PickANumber-<name>`. No Docker, no AWS account needed:
the account and region come from the CLI's profile at deploy time, if any.
"""

import os
import re

import aws_cdk as cdk

from infra.cloud.account import AccountSettings, AccountStack
from infra.cloud.isolation import protect
from infra.cloud.stack import PickANumberStack
from infra.environments import selected_environment
from infra.topology import TOPOLOGY, Topology


def deploy_environment(pinned_account: str | None = None) -> cdk.Environment | None:
    """The environment's own account when cdk.json names one (`aws_account`: the CLI
    then deploys with no other account's credentials); else the CLI's account and
    region when it has them; environment-agnostic otherwise."""
    account = pinned_account or os.environ.get("CDK_DEFAULT_ACCOUNT")
    region = os.environ.get("CDK_DEFAULT_REGION")
    if pinned_account and not re.fullmatch(r"\d{12}", pinned_account):
        raise ValueError(f"aws_account {pinned_account!r} is not a 12-digit account id")
    if pinned_account:
        return cdk.Environment(account=account, region=region)
    return cdk.Environment(account=account, region=region) if account and region else None


def build(app: cdk.App, topology: Topology = TOPOLOGY) -> PickANumberStack:
    """Add the selected environment's stack, built from `topology`, to `app`: every role
    it creates bounded, every resource named after it (infra/cloud/isolation.py)."""
    settings = selected_environment(app.node, topology)
    stack = PickANumberStack(app, settings=settings, env=deploy_environment(settings.aws_account))
    protect(stack, settings.name)
    return stack


def main() -> None:
    app = cdk.App()
    build(app)

    # ---- one-time account stack -------------------------------------------------
    # The GitHub OIDC deploy roles and the account-level API Gateway CloudWatch role
    # (infra/cloud/account.py), once per account: `-c account=true` adds the stack
    # `PickANumber-account` (see `make deploy-account`).
    if str(app.node.try_get_context("account")).lower() == "true":
        AccountStack(app, settings=AccountSettings.from_context(app.node), env=deploy_environment())

    app.synth()


if __name__ == "__main__":
    main()
