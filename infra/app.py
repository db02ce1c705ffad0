"""The CDK app: `cdk.json` runs `.venv/bin/python -m infra.app`.

`-c env=<name>` picks the environment declared in cdk.json (default `dev`) and
synthesizes its stack, `PickANumber-<name>`. No Docker, no AWS account needed:
the account and region come from the CLI's profile at deploy time, if any.

An environment with `waf` on also gets `PickANumber-<name>-edge` in us-east-1 (its
web ACL, infra/cloud/edge.py); both stacks then need an explicit region.
"""

import os
import re

import aws_cdk as cdk

from infra.cloud.account import AccountSettings, AccountStack
from infra.cloud.edge import EDGE_REGION, EdgeStack
from infra.cloud.isolation import protect
from infra.cloud.stack import COST_TAG_KEY, PROJECT_TAG, PickANumberStack, stack_name
from infra.environments import EnvironmentSettings, SettingsError, selected_environment
from infra.topology import TOPOLOGY, Topology

# `-c region=<region>`: the app stack's region when it must be explicit (WAF on).
REGION_CONTEXT_KEY = "region"


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
    """Add the selected environment's stack, built from `topology`, to `app` (and its
    edge stack, when its WAF is on): every role they create bounded, every resource
    named after them (infra/cloud/isolation.py)."""
    settings = selected_environment(app.node, topology)
    if settings.waf is None:
        stack = PickANumberStack(
            app, settings=settings, env=deploy_environment(settings.aws_account)
        )
        protect(stack, settings.name)
        return stack
    region = _explicit_region(app, settings)
    account = settings.aws_account or os.environ.get("CDK_DEFAULT_ACCOUNT")
    # The distribution reads the ACL's ARN from the edge stack's output when it deploys
    # (a weak reference: infra/cloud/stack.py), in us-east-1 or across regions.
    edge = EdgeStack(
        app,
        f"{stack_name(settings.name)}-edge",
        settings=settings,
        env=cdk.Environment(account=account, region=EDGE_REGION),
    )
    # The environment's budget counts what carries its cost tag: the web ACL too.
    for key, value in (PROJECT_TAG, (COST_TAG_KEY, settings.name)):
        cdk.Tags.of(edge).add(key, value)
    stack = PickANumberStack(
        app,
        settings=settings,
        env=cdk.Environment(account=account, region=region),
        web_acl_arn=edge.web_acl.arn,
    )
    for built in (edge, stack):
        protect(built, settings.name)
    return stack


def _explicit_region(app: cdk.App, settings: EnvironmentSettings) -> str:
    region = app.node.try_get_context(REGION_CONTEXT_KEY) or os.environ.get("CDK_DEFAULT_REGION")
    if not region:
        raise SettingsError(
            f"environment '{settings.name}' has waf on: its web ACL lives in {EDGE_REGION} "
            "(CloudFront's scope), so the app stack needs an explicit region: configure "
            "the AWS CLI's region (the CDK CLI passes it on) or add -c region=<region>"
        )
    return str(region)


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
