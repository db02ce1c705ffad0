"""What a second review of the templates against AWS's documented behaviour found.

Each test names the AWS behaviour it encodes; each failed before its fix.
"""

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest

from infra.cloud.account import STACK_NAME, AccountSettings, AccountStack
from tests.infra.conftest import Synth, cdk_json_context
from tests.infra.test_aws_behaviour import method_throttles

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


# ---- 2. The daily-stats throttle is priced for the longest range the API allows ----

# A day's count of one number can be no larger than what a free-tier table writes in a
# day: 25 WCU / 5 units per pick x 86,400 s.
LARGEST_DAILY_COUNT = 25 // 5 * 86_400


def dynamodb_item_size(item: dict[str, dict[str, str]]) -> int:
    """AWS (DynamoDB item sizes): names plus values; a string is its UTF-8 bytes, a
    number 1 byte plus 1 per two significant digits."""
    size = 0
    for name, value in item.items():
        ((kind, text),) = value.items()
        digits = len(text.strip("-").lstrip("0").replace(".", "")) or 1
        size += len(name.encode()) + (len(text.encode()) if kind == "S" else 1 + -(-digits // 2))
    return size


class LargestRollups:
    """A DynamoDB client whose every rollup Query finds each day of its key range,
    every number counted LARGEST_DAILY_COUNT times; it notes what each Query read."""

    def __init__(self) -> None:
        self.queries: list[list[dict[str, dict[str, str]]]] = []

    def get_paginator(self, operation: str) -> "LargestRollups":
        assert operation == "query"
        return self

    def paginate(self, **request: Any) -> list[dict[str, Any]]:
        from datetime import date, timedelta

        values = request["ExpressionAttributeValues"]
        first = date.fromisoformat(values[":first"]["S"])
        last = date.fromisoformat(values[":last"]["S"][:10])
        items = [
            {
                "pk": values[":pk"],
                "sk": {"S": (first + timedelta(days=i)).isoformat()},
                **{f"n{n}": {"N": str(LARGEST_DAILY_COUNT)} for n in range(1, 11)},
            }
            for i in range((last - first).days + 1)
        ]
        self.queries.append(items)
        return [{"Items": items}]


def read_units_of(queries: list[list[dict[str, dict[str, str]]]]) -> float:
    """AWS (DynamoDB read consumption): a Query is billed on the summed size of the items
    it reads, rounded up to 4 KB, half a unit per 4 KB eventually consistent, and at
    least one 4 KB step even when it finds nothing."""
    units = 0.0
    for items in queries:
        size = sum(dynamodb_item_size(item) for item in items)
        units += max(1, -(-size // 4096)) * 0.5
    return units


def test_the_stats_throttle_holds_for_the_longest_range_the_api_allows(
    dev: Synth, prod: Synth
) -> None:
    """AWS: a provisioned table sustains its RCU per second, past the burst credit
    reads fail (our 503). GET /api/daily-stats accepts ranges of up to 366 days, one
    Query per calendar month: 2024-01-31..2025-01-30 touches 13 months. API Gateway's
    rate for the method times what that request reads must stay within read_capacity."""
    from datetime import date

    from shared.rollups import RollupStore
    from shared.schemas import MAX_RANGE_DAYS
    from stats.daily_stats import requested_range

    longest = requested_range({"from": "2024-01-31", "to": "2025-01-30"}, date(2025, 1, 30))
    assert len(longest.days()) == MAX_RANGE_DAYS
    client = LargestRollups()
    RollupStore(client, "table").histograms(longest.first, longest.last)  # type: ignore[arg-type]
    assert len(client.queries) == 13
    worst = read_units_of(client.queries)
    for synth in (dev, prod):
        _, table = synth.one("AWS::DynamoDB::Table")
        capacity = table["Properties"]["ProvisionedThroughput"]["ReadCapacityUnits"]
        rate = method_throttles(synth)[("GET", "/api/daily-stats")]["ThrottlingRateLimit"]
        assert rate * worst <= capacity, (synth.stack.stack_name, rate, worst, capacity)


def test_synthesis_prices_a_stats_throttle_for_the_longest_range() -> None:
    """The same rule where the settings are checked: 1 request/s of the longest range
    reads more than a 5 RCU table sustains, so synthesis refuses it."""
    from infra.settings import EnvironmentSettings, SettingsError

    with pytest.raises(SettingsError, match=r"stats_rate_limit.*read_capacity"):
        EnvironmentSettings(name="dev", read_capacity=5, stats_rate_limit=1)
