"""What a third review of the templates against AWS's documented behaviour found
(issue 13, after its fixes).

Each test names the AWS behaviour it encodes; each failed before its fix.
"""

import json

import pytest

from infra.settings import (
    READ_UNITS_PER_STATS_REQUEST,
    SECONDS_PER_MONTH,
    EnvironmentSettings,
    SettingsError,
    stats_calls_per_second,
)
from tests.support.synth import Synth

# The load docs/COSTS.md prices, a month: 1M picks and 3M page views.
DESIGN_PICKS = 1_000_000
DESIGN_PAGE_VIEWS = 3_000_000

# ---- 1. The daily-stats throttle admits the web app's own calls ---------------------


def test_prod_admits_the_web_apps_daily_stats_calls_at_the_design_load(prod: Synth) -> None:
    """AWS API Gateway: a method throttle answers 429 to every request above its rate
    (token bucket, burst for the peaks of a second). The web app reads daily-stats once
    per page view and up to WEB_STATS_CALLS_PER_PICK times per pick (the read before it,
    then its polls), so at the design load prod's rate must be at least that many calls
    a second, while rate x the costliest request's read units stays within the table's
    provisioned RCU (DynamoDB: beyond it, reads are throttled)."""
    _, table = prod.one("AWS::DynamoDB::Table")
    capacity = table["Properties"]["ProvisionedThroughput"]["ReadCapacityUnits"]
    throttle = prod.method_throttles()[("GET", "/api/daily-stats")]
    rate = throttle["ThrottlingRateLimit"]

    assert rate >= stats_calls_per_second(DESIGN_PICKS, DESIGN_PAGE_VIEWS)
    assert rate * READ_UNITS_PER_STATS_REQUEST <= capacity
    submit = prod.method_throttles()[("POST", "/api/submit-number")]["ThrottlingRateLimit"]
    assert submit >= DESIGN_PICKS / SECONDS_PER_MONTH


def test_synthesis_refuses_a_throttle_below_the_design_load() -> None:
    """The same rule at synthesis, for any environment that declares its design load."""

    def prod(stats: float, read: int, submit: float = 2) -> EnvironmentSettings:
        return EnvironmentSettings(
            name="prod",
            read_capacity=read,
            write_capacity=10,
            stats_rate_limit=stats,
            submit_rate_limit=submit,
            design_picks_per_month=DESIGN_PICKS,
            design_page_views_per_month=DESIGN_PAGE_VIEWS,
        )

    with pytest.raises(SettingsError, match=r"stats_rate_limit 1.5/s is below .* 2.70 calls/s"):
        prod(stats=1.5, read=10)
    with pytest.raises(SettingsError, match=r"submit_rate_limit 0.1/s is below"):
        prod(stats=2.75, read=18, submit=0.1)
    prod(stats=2.75, read=18)


# ---- 2. CloudFront never serves one viewer's error to another ---------------------

# AWS (CloudFront, "HTTP 4xx and 5xx status codes that CloudFront caches"): these it
# caches for the Error Caching Minimum TTL (10 s unless configured) whatever the cache
# policy, keyed on the URL; 400, 403, 405, 412 and 415 when the origin sends a max-age.
CLOUDFRONT_CACHES_ERRORS = {400, 403, 404, 405, 412, 414, 415, 500, 501, 502, 503, 504}
# The codes a distribution's CustomErrorResponses may name.
CONFIGURABLE_ERROR_CODES = {400, 403, 404, 405, 414, 416, 500, 501, 502, 503, 504}


def api_error_statuses() -> set[int]:
    """Every 4xx/5xx the published API document says the API can answer."""
    from tests.support.synth import ROOT

    document = json.loads((ROOT / "web" / "openapi.json").read_text())
    return {
        int(status)
        for path in document["paths"].values()
        for operation in path.values()
        if isinstance(operation, dict)
        for status in operation.get("responses", {})
        if status[0] in "45"
    }


def test_no_api_error_is_cached_at_cloudfront(dev: Synth, prod: Synth) -> None:
    """AWS CloudFront: an error answer of the API origin (a 400 for one viewer's bad
    body, a 503 while the table is throttled) is cached for 10 s by default even under
    CachingDisabled and served to everyone asking the same URL. A CustomErrorResponse
    with ErrorCachingMinTTL 0 and neither ResponsePagePath nor ResponseCode stops the
    caching and leaves the origin's answer (the problem+json body) as it is; error
    responses are per distribution, so the site's S3 answers pass through unchanged."""
    statuses = api_error_statuses()
    assert {400, 404, 405, 429, 502, 503} <= statuses  # the document is read
    for synth in (dev, prod):
        config = synth.resources["Distribution"]["Properties"]["DistributionConfig"]
        responses = {r["ErrorCode"]: r for r in config.get("CustomErrorResponses", [])}
        for status in statuses & CLOUDFRONT_CACHES_ERRORS & CONFIGURABLE_ERROR_CODES:
            assert responses.get(status, {}).get("ErrorCachingMinTTL") == 0, status
        for response in responses.values():
            assert response["ErrorCode"] in CONFIGURABLE_ERROR_CODES
            assert "ResponsePagePath" not in response
            assert "ResponseCode" not in response


# ---- 3. What one account's bootstrap does not isolate -----------------------------


def bootstrap_command(**variables: str) -> str:
    """What `make bootstrap` would run (make -n: nothing runs)."""
    import subprocess

    from tests.support.synth import ROOT

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
    assert "execution-policy-arn prod" in bootstrap_command(ENV="prod")


# ---- 4. Every method logs and counts like the stage ----------------------------------


def test_every_method_setting_keeps_the_stages_logging_and_metrics(dev: Synth, prod: Synth) -> None:
    """AWS API Gateway: a stage's MethodSettings entry for one method replaces the
    `/*/*` entry for that method; a field it leaves out takes its default (logging OFF,
    detailed CloudWatch metrics off, no data trace). The throttled methods (every
    route) would log nothing while the stage seemed to. Detailed metrics are off
    everywhere (billed; test_aws_fourth_review.py)."""
    for synth in (dev, prod):
        _, stage = synth.one("AWS::ApiGateway::Stage")
        settings = stage["Properties"]["MethodSettings"]
        [default] = [s for s in settings if s["ResourcePath"] == "/*"]
        assert default["LoggingLevel"] == "ERROR"
        assert default["MetricsEnabled"] is False
        methods = synth.method_throttles()
        assert ("GET", "/api/daily-stats") in methods
        for key, method in methods.items():
            for field in ("LoggingLevel", "MetricsEnabled", "DataTraceEnabled"):
                assert method.get(field) == default[field], (key, field)


# ---- 5. BackupMissing does not fire on a new environment's second day -------------


def test_backup_missing_spans_the_gap_after_a_first_backup_just_after_midnight(
    prod: Synth,
) -> None:
    """AWS CloudWatch (TreatMissingData=breaching, Sum per one-hour period): the alarm
    fires once EvaluationPeriods hours in a row hold no BackupCreated. A stack created
    at 00:00 UTC takes its first backup in hour 0 of that day, named after the UTC
    day, so the scheduled run of that day creates none (tonight's exists) and the next
    BackupCreated lands in the schedule's hour of the next day. The alarm must span
    that gap, and still report a stopped schedule within 28 hours."""
    from infra.topology import BACKUP_SCHEDULE

    minute, hour = (int(field) for field in BACKUP_SCHEDULE.cron[5:-1].split()[:2])
    assert minute < 60
    empty_hours = 24 + hour - 1  # hours 1 .. 24 + hour - 1 hold no BackupCreated
    [(_, alarm)] = [
        (k, v)
        for k, v in prod.of_type("AWS::CloudWatch::Alarm").items()
        if v["Properties"].get("MetricName") == "BackupCreated"
    ]
    props = alarm["Properties"]
    assert props["Period"] == 3600
    assert props["TreatMissingData"] == "breaching"
    assert empty_hours < props["EvaluationPeriods"] <= 28


# ---- 6. Alarm texts say what happened and what to do -----------------------------


def test_the_stream_dead_letter_alarm_does_not_promise_the_records(dev: Synth) -> None:
    """AWS Lambda: the on-failure record an SQS destination receives for a stream
    batch names the shard and the batch's sequence numbers (DDBStreamBatchInfo), not
    the records; those leave the stream after 24 hours. The alarm says so, and names
    the way back (the rollup rebuild)."""
    [(queue_id, _)] = [
        (k, v) for k, v in dev.of_type("AWS::SQS::Queue").items() if "StreamDeadLetters" in k
    ]
    [(_, alarm)] = [
        (k, v)
        for k, v in dev.of_type("AWS::CloudWatch::Alarm").items()
        if json.dumps(queue_id) in json.dumps(v["Properties"].get("Dimensions", []))
    ]
    description = alarm["Properties"]["AlarmDescription"]
    assert "not counted" in description
    assert "sequence numbers only" in description
    assert "make rebuild" in description


# ---- 7. The stage's execution logs expire ----------------------------------------


def test_the_stages_execution_log_group_is_the_stacks_and_expires(prod: Synth) -> None:
    """AWS API Gateway: with execution logging on, a stage writes to the log group
    `API-Gateway-Execution-Logs_<rest api id>/<stage name>`, creating it (no
    retention: never expires, outside the stack) unless it exists. The stack creates
    that very name with the environment's retention, before the stage."""
    rest_api_id, _ = prod.one("AWS::ApiGateway::RestApi")
    _, stage = prod.one("AWS::ApiGateway::Stage")
    stage_name = stage["Properties"]["StageName"]
    [(group_id, group)] = [
        (k, v)
        for k, v in prod.of_type("AWS::Logs::LogGroup").items()
        if "API-Gateway-Execution-Logs_" in json.dumps(v["Properties"].get("LogGroupName"))
    ]
    assert group["Properties"]["LogGroupName"] == {
        "Fn::Join": ["", ["API-Gateway-Execution-Logs_", {"Ref": rest_api_id}, f"/{stage_name}"]]
    }
    assert group["Properties"]["RetentionInDays"] == 90  # prod's log_retention_days
    assert group["DeletionPolicy"] == "Delete"
    assert group_id in stage.get("DependsOn", [])
