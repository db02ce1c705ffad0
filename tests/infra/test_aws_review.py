"""What a second review of the templates against AWS's documented behaviour found.

Each test names the AWS behaviour it encodes; each failed before its fix.
"""

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest

from infra.cloud.account import STACK_NAME, AccountSettings, AccountStack
from tests.support.synth import Synth, cdk_json_context

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
        rate = synth.method_throttles()[("GET", "/api/daily-stats")]["ThrottlingRateLimit"]
        assert rate * worst <= capacity, (synth.stack.stack_name, rate, worst, capacity)


def test_synthesis_prices_a_stats_throttle_for_the_longest_range() -> None:
    """The same rule where the settings are checked: 1 request/s of the longest range
    reads more than a 5 RCU table sustains, so synthesis refuses it."""
    from infra.environments import EnvironmentSettings, SettingsError
    from infra.topology import DAILY_STATS_ROUTE, Throttle

    faster = {DAILY_STATS_ROUTE.key: Throttle(rate_per_second=1, burst=2)}
    with pytest.raises(SettingsError, match=r"GET /api/daily-stats 1/s x 6.5 .*read_capacity"):
        EnvironmentSettings(name="dev", read_capacity=5, route_throttles=faster)


# ---- 3. A nightly backup that fails after Lambda's retries is kept, and alarmed -----


def backup_function_id(synth: Synth) -> str:
    logical_id, _ = synth.one(
        "AWS::Lambda::Function", lambda p: p.get("Handler") == "backup.handler.lambda_handler"
    )
    return str(logical_id)


def test_a_failed_nightly_backup_lands_in_an_encrypted_alarmed_queue() -> None:
    """AWS: EventBridge Scheduler invokes a Lambda function asynchronously; once Lambda
    has queued the event, the schedule's dead-letter queue never hears of the function
    failing, and after Lambda's async retries (2 by default) the event is discarded
    unless the function's EventInvokeConfig names an on-failure destination. It must:
    an SQS queue, encrypted and SSL-only, with an alarm on its depth."""
    full = Synth(
        "prod",
        **{
            "pick-a-number:environments": {
                **cdk_json_context()["pick-a-number:environments"],
                "prod": {
                    **cdk_json_context()["pick-a-number:environments"]["prod"],
                    "alarms": "full",
                },
            }
        },
    )
    function_id = backup_function_id(full)
    _, schedule = full.one("AWS::Scheduler::Schedule")
    # The schedule calls the function unqualified: $LATEST, whose config applies.
    assert schedule["Properties"]["Target"]["Arn"] == {"Fn::GetAtt": [function_id, "Arn"]}
    _, config = full.one(
        "AWS::Lambda::EventInvokeConfig",
        lambda p: p["FunctionName"] == {"Ref": function_id},
    )
    assert config["Properties"]["Qualifier"] == "$LATEST"
    destination = config["Properties"]["DestinationConfig"]["OnFailure"]["Destination"]
    queue_id, attribute = destination["Fn::GetAtt"]
    assert (full.resources[queue_id]["Type"], attribute) == ("AWS::SQS::Queue", "Arn")
    assert full.resources[queue_id]["Properties"]["SqsManagedSseEnabled"] is True
    [policy] = [
        p["Properties"]["PolicyDocument"]
        for p in full.of_type("AWS::SQS::QueuePolicy").values()
        if {"Ref": queue_id} in p["Properties"]["Queues"]
    ]
    assert any(
        s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        for s in policy["Statement"]
    )
    # The function's own role sends the failed event (Lambda uses the execution role).
    role_id = full.resources[function_id]["Properties"]["Role"]["Fn::GetAtt"][0]
    sends = [
        s
        for p in full.of_type("AWS::IAM::Policy").values()
        if {"Ref": role_id} in p["Properties"]["Roles"]
        for s in p["Properties"]["PolicyDocument"]["Statement"]
        if "sqs:SendMessage" in s["Action"]
    ]
    assert [s["Resource"] for s in sends] == [destination]
    depth = [
        a["Properties"]
        for a in full.of_type("AWS::CloudWatch::Alarm").values()
        if a["Properties"].get("MetricName") == "ApproximateNumberOfMessagesVisible"
        and a["Properties"]["Dimensions"][0]["Value"] == {"Fn::GetAtt": [queue_id, "QueueName"]}
    ]
    [alarm] = depth
    assert alarm["Threshold"] == 1


FREE_ALARM_METRICS = 10  # standard-resolution alarm metrics per account, always free


def test_every_alarm_of_the_account_fits_the_free_tier(dev: Synth, prod: Synth) -> None:
    """AWS free tier: 10 standard alarm metrics per account, whatever stack made them:
    dev's and prod's SLO alarms, prod's release (canary) alarms and the account stack's
    (none) together, with the settings of cdk.json."""
    _, account = account_assembly()
    account_alarms = [
        r for r in account["Resources"].values() if r["Type"].startswith("AWS::CloudWatch::")
    ]
    assert dev.alarm_metrics() + prod.alarm_metrics() + len(account_alarms) <= FREE_ALARM_METRICS


# ---- 4. A wrong method answers 405 whatever the body's media type -----------------

# The media types clients send bodies in: JSON, what a browser form or fetch sends
# without a CORS preflight, XML, raw bytes.
COMMON_BODY_TYPES = (
    "application/json",
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data",
    "application/xml",
    "text/xml",
    "application/octet-stream",
)


def test_a_wrong_method_is_405_for_every_common_media_type(dev: Synth) -> None:
    """AWS (API Gateway mapping templates, passthrough behaviour): the integration request
    template is chosen by the request's Content-Type. For a type without one, NEVER (and
    WHEN_NO_TEMPLATES once any template exists) answers 415 before the integration runs;
    WHEN_NO_MATCH hands the raw body to the MOCK integration, which must read a statusCode
    from it and otherwise fails (500). So the fallback method maps every common body
    type to the 405 status, and does not pass an unmapped body to the mock."""
    for method in dev.of_type("AWS::ApiGateway::Method").values():
        props = method["Properties"]
        if props["HttpMethod"] != "ANY":
            continue
        integration = props["Integration"]
        assert integration["Type"] == "MOCK"
        templates = integration["RequestTemplates"]
        for media_type in COMMON_BODY_TYPES:
            assert json.loads(templates[media_type]) == {"statusCode": 405}, media_type
        assert integration["PassthroughBehavior"] != "WHEN_NO_MATCH"
        # One integration response, the default (no selection pattern): 405.
        [response] = integration["IntegrationResponses"]
        assert response["StatusCode"] == "405"
        assert "SelectionPattern" not in response


# ---- 5. Every function's logs expire, CDK's own helper functions' too ---------------


def test_every_function_of_every_template_logs_to_a_group_that_expires(
    dev: Synth, prod: Synth
) -> None:
    """AWS (Lambda, CloudWatch Logs): a function without a LoggingConfig log group writes
    to /aws/lambda/<name>, which Lambda creates on first use with no retention: kept,
    and billed, forever. CDK's custom-resource providers and BucketDeployment handler are
    such functions unless given one. So every function, in every template (dev, prod
    and the account stack), names a log group of its template with the environment's
    retention."""
    _, account = account_assembly()
    account_functions = [
        r for r in account["Resources"].values() if r["Type"] == "AWS::Lambda::Function"
    ]
    assert not account_functions  # the account stack has none (it may hold no asset)
    for synth, days in ((dev, 14), (prod, 90)):
        groups = synth.of_type("AWS::Logs::LogGroup")
        functions = synth.of_type("AWS::Lambda::Function")
        assert len(functions) > 4  # the app's 4 and CDK's helpers
        for logical_id, function in functions.items():
            config = function["Properties"].get("LoggingConfig", {})
            assert "LogGroup" in config, f"{logical_id} logs to a group that never expires"
            group = config["LogGroup"]["Ref"]
            assert groups[group]["Properties"]["RetentionInDays"] == days, logical_id


# ---- 6. The versioned site bucket does not keep every old version forever ----------


def test_replaced_site_versions_and_unfinished_uploads_expire(dev: Synth, prod: Synth) -> None:
    """AWS (S3 versioning, lifecycle): in a versioned bucket an overwritten or deleted
    object stays as a noncurrent version, stored and billed, until a lifecycle rule
    expires it; an incomplete multipart upload's parts likewise stay until aborted.
    Every deployment of web/ replaces the site's files, so without a rule the bucket
    only grows (past the free 5 GB in time). Replaced versions expire after 30 days,
    unfinished uploads after a day, leftover delete markers are removed."""
    for synth in (dev, prod):
        bucket = synth.resources["SiteBucket"]["Properties"]
        assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
        rules = [r for r in bucket["LifecycleConfiguration"]["Rules"] if r["Status"] == "Enabled"]
        assert any(
            r.get("NoncurrentVersionExpiration", {}).get("NoncurrentDays") == 30 for r in rules
        )
        assert any(
            r.get("AbortIncompleteMultipartUpload", {}).get("DaysAfterInitiation") == 1
            for r in rules
        )
        assert any(r.get("ExpiredObjectDeleteMarker") is True for r in rules)
        # No rule touches the current files: the site stays whole.
        assert not any("ExpirationInDays" in r or "ExpirationDate" in r for r in rules)
