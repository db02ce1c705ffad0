"""Nightly backup schedule, alarms, dashboard and budget."""

import json
from typing import Any

from infra.cloud.stack import COST_TAG_KEY
from infra.topology import BACKUP, BACKUP_SCHEDULE, FUNCTIONS
from tests.support.synth import ALARM_EMAIL, Synth, cdk_json_context


def _with(**overrides: dict[str, Any]) -> dict[str, Any]:
    """cdk.json's environments with some settings changed."""
    environments: dict[str, Any] = json.loads(
        json.dumps(cdk_json_context()["pick-a-number:environments"])
    )
    for name, values in overrides.items():
        environments[name] |= values
    return environments


def alarms(synth: Synth) -> dict[str, dict[str, Any]]:
    """The SLO alarms (a canary's release alarms: test_delivery.py)."""
    return {
        k: v["Properties"]
        for k, v in synth.of_type("AWS::CloudWatch::Alarm").items()
        if not k.startswith("Release")
    }


def test_nightly_schedule_invokes_the_backup_function(dev: Synth) -> None:
    _, schedule = dev.one("AWS::Scheduler::Schedule")
    props = schedule["Properties"]
    assert props["ScheduleExpression"] == BACKUP_SCHEDULE.cron
    assert props["ScheduleExpressionTimezone"] == "Etc/UTC"
    assert props["State"] == "ENABLED"
    target = props["Target"]
    function_id = target["Arn"]["Fn::GetAtt"][0]
    assert dev.resources[function_id]["Properties"]["Handler"] == BACKUP.handler
    assert target["RetryPolicy"] == {
        "MaximumEventAgeInSeconds": BACKUP_SCHEDULE.max_event_age_seconds,
        "MaximumRetryAttempts": BACKUP_SCHEDULE.retry_attempts,
    }
    dlq = target["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0]
    assert dev.resources[dlq]["Type"] == "AWS::SQS::Queue"
    role = target["RoleArn"]["Fn::GetAtt"][0]
    trust = dev.resources[role]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert [s["Principal"] for s in trust] == [{"Service": "scheduler.amazonaws.com"}]


def test_backup_function_settings(dev: Synth, prod: Synth) -> None:
    for synth, days, keep in ((dev, "7", "3"), (prod, "35", "7")):
        _, fn = synth.one("AWS::Lambda::Function", lambda p: p.get("Handler") == BACKUP.handler)
        env = fn["Properties"]["Environment"]["Variables"]
        assert env["TABLE_NAME"] == {"Ref": "SubmissionsTable"}
        assert env["BACKUP_RETENTION_DAYS"] == days
        assert env["BACKUP_MIN_KEEP"] == keep


def test_no_backup_in_28_hours_raises_an_alarm(prod: Synth) -> None:
    [backup] = [a for a in alarms(prod).values() if a.get("MetricName") == "BackupCreated"]
    assert backup["Namespace"] == "PickANumber/prod"
    assert backup["Dimensions"] == [{"Name": "service", "Value": "backup"}]
    assert backup["Statistic"] == "Sum"
    assert backup["ComparisonOperator"] == "LessThanThreshold"
    assert backup["Threshold"] == 1
    assert backup["Period"] * backup["EvaluationPeriods"] == 28 * 3600
    assert backup["DatapointsToAlarm"] == backup["EvaluationPeriods"]
    assert backup["TreatMissingData"] == "breaching"


def test_full_alarms_cover_api_functions_stream_queues_and_table() -> None:
    full = Synth("prod", **{"pick-a-number:environments": _with(prod={"alarms": "full"})})
    found = alarms(full)
    by_metric: dict[str, list[dict[str, Any]]] = {}
    for alarm in found.values():
        by_metric.setdefault(alarm.get("MetricName", ""), []).append(alarm)
    [api_5xx] = by_metric["5XXError"]
    assert api_5xx["Namespace"] == "AWS/ApiGateway"
    [latency] = by_metric["Latency"]
    assert latency["ExtendedStatistic"] == "p95"
    errors = by_metric["Errors"]
    assert len(errors) == len(FUNCTIONS)
    assert all(a["Namespace"] == "AWS/Lambda" for a in errors)
    [iterator_age] = by_metric["IteratorAge"]
    assert iterator_age["Statistic"] == "Maximum"
    assert len(by_metric["ApproximateNumberOfMessagesVisible"]) == 2
    assert {"ReadThrottleEvents", "WriteThrottleEvents"} <= set(by_metric)
    topic_id, _ = full.one("AWS::SNS::Topic")
    for alarm in found.values():
        assert alarm["AlarmActions"] == [{"Ref": topic_id}]
        assert alarm["OKActions"] == [{"Ref": topic_id}]


def test_alarm_levels_are_the_ones_docs_costs_prices(dev: Synth, prod: Synth) -> None:
    # docs/COSTS.md: dev "minimal" (2 alarms), prod "slo" (5), "full" 12 per environment;
    # $0.10 per alarm metric beyond the free 10 of the account.
    # Changing the alarms? Update the CloudWatch alarms line and the totals there too.
    assert len(alarms(dev)) == 2
    assert len(alarms(prod)) == 5
    by_metric = {a.get("MetricName") for a in alarms(prod).values()}
    assert by_metric == {
        "5XXError",
        "Latency",
        "IteratorAge",
        "ApproximateNumberOfMessagesVisible",
        "BackupCreated",
    }
    assert {a.get("MetricName") for a in alarms(dev).values()} == {
        "5XXError",
        "ApproximateNumberOfMessagesVisible",
    }
    # And the release alarms of a canary (infra/cloud/release.py): none for dev's
    # all-at-once release, 3 for prod's canary. 2 + 5 + 3 = the free 10.
    every = {
        env: len(s.of_type("AWS::CloudWatch::Alarm")) for env, s in (("dev", dev), ("prod", prod))
    }
    assert every == {"dev": 2, "prod": 5 + 3}
    assert sum(every.values()) <= 10


def test_alarm_topic_has_the_email_subscription(dev: Synth) -> None:
    topic_id, _ = dev.one("AWS::SNS::Topic")
    _, subscription = dev.one("AWS::SNS::Subscription")
    assert subscription["Properties"] == {
        "Protocol": "email",
        "TopicArn": {"Ref": topic_id},
        "Endpoint": ALARM_EMAIL,
    }


def test_dashboard_shows_the_alarms(dev: Synth) -> None:
    _, dashboard = dev.one("AWS::CloudWatch::Dashboard")
    body = json.dumps(dashboard["Properties"]["DashboardBody"])
    for text in ("IteratorAge", "BackupCreated", "5XXError", "WriteThrottleEvents", "alarms"):
        assert text in body


def test_budget_is_filtered_by_the_environment_cost_tag(dev: Synth) -> None:
    _, budget = dev.one("AWS::Budgets::Budget")
    props = budget["Properties"]
    assert props["Budget"]["BudgetLimit"] == {"Amount": 5, "Unit": "USD"}
    assert props["Budget"]["CostFilters"] == {"TagKeyValue": [f"user:{COST_TAG_KEY}$dev"]}
    assert props["Budget"]["TimeUnit"] == "MONTHLY"
    topic_id, _ = dev.one("AWS::SNS::Topic")
    for notification in props["NotificationsWithSubscribers"]:
        # Through the alarm topic, whose e-mail subscription forwards it (ALARM_EMAIL).
        assert notification["Subscribers"] == [
            {"SubscriptionType": "SNS", "Address": {"Ref": topic_id}}
        ]
    kinds = {n["Notification"]["NotificationType"] for n in props["NotificationsWithSubscribers"]}
    assert kinds == {"ACTUAL", "FORECASTED"}
