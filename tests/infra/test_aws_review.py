"""What a second review of the templates against AWS's documented behaviour found.

Each test names the AWS behaviour it encodes; each failed before its fix.
"""

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk

from infra.cloud.account import STACK_NAME, AccountSettings, AccountStack
from tests.infra.conftest import cdk_json_context

# ---- 1. The account stack is deployed before any bootstrap exists ------------------

# CloudFormation takes a template inline (TemplateBody) up to this size; above it, the
# CDK CLI first uploads the template to a bootstrap bucket.
TEMPLATE_BODY_LIMIT = 51_200
# The qualifier of `cdk bootstrap` without --qualifier, which this project never runs.
DEFAULT_QUALIFIER = "hnb659fds"


def account_assembly() -> tuple[dict[str, Any], dict[str, Any]]:
    """(the cloud assembly's artifacts, the account stack's template), from cdk.json."""
    app = cdk.App(
        context={
            **cdk_json_context(),
            "aws:cdk:bundling-stacks": [],
            "pick-a-number:github": {"owner": "example-org", "repo": "pick-a-number"},
        }
    )
    AccountStack(app, settings=AccountSettings.from_context(app.node))
    assembly = app.synth()
    manifest = json.loads(Path(assembly.directory, "manifest.json").read_text())
    artifacts: dict[str, Any] = manifest["artifacts"]
    template: dict[str, Any] = assembly.get_stack_by_name(STACK_NAME).template
    return artifacts, template


def test_the_account_stack_deploys_without_any_cdk_bootstrap() -> None:
    """CDK: a stack of the default or the CLI-credentials synthesizer is deployed through
    a bootstrap (its template is an asset the CLI uploads to
    cdk-<qualifier>-assets-<account>-<region>, roles cdk-<qualifier>-*, and
    CloudFormation checks the BootstrapVersion parameter); without a qualifier that is
    `hnb659fds`, which this project never bootstraps (one qualifier per environment,
    each made after this stack). So the account stack goes inline, with nothing to
    publish, no bootstrap role, bucket or version check, under the TemplateBody limit."""
    artifacts, template = account_assembly()
    stack = artifacts[STACK_NAME]
    assert stack["type"] == "aws:cloudformation:stack"
    # Nothing to publish: no asset manifest, no template uploaded to a bucket.
    assert not stack.get("dependencies"), stack.get("dependencies")
    assert not any(a["type"] == "cdk:asset-manifest" for a in artifacts.values())
    for key in (
        "stackTemplateAssetObjectUrl",
        "assumeRoleArn",
        "cloudFormationExecutionRoleArn",
        "lookupRole",
        "requiresBootstrapStackVersion",
        "bootstrapStackVersionSsmParameter",
    ):
        assert key not in stack["properties"], key
    assert DEFAULT_QUALIFIER not in json.dumps(stack)
    # No BootstrapVersion parameter, no CheckBootstrapVersion rule, no asset parameter.
    assert "Parameters" not in template, template.get("Parameters")
    assert "Rules" not in template
    assert len(json.dumps(template)) < TEMPLATE_BODY_LIMIT
