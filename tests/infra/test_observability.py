"""Observability: the SLO alarms and their topic, the dashboard, the budget, the
X-Ray sampling rule, and what all of it costs against CloudWatch's free tier.

A test that encodes a documented AWS behaviour names it in its docstring."""

import json
from collections.abc import Iterator
from typing import Any

import pytest

from backup.drill import (
    DAYS_CHECKED_METRIC,
    DAYS_DRIFTED_METRIC,
    FAILED_METRIC,
    PASSED_METRIC,
    SECONDS_TO_RESTORE_METRIC,
)
from infra.cloud.stack import COST_TAG_KEY
from infra.topology import DAILY_STATS_ROUTE, FUNCTIONS
from tests.support.synth import (
    ALARM_EMAIL,
    DESIGN_PAGE_VIEWS,
    DESIGN_PICKS,
    Synth,
    account_assembly,
    as_list,
    statements_of,
    synth_with,
)


def services_of(statement: dict[str, Any]) -> list[str]:
    principal = statement.get("Principal", {})
    return as_list(principal.get("Service", [])) if isinstance(principal, dict) else []


def alarms(synth: Synth) -> dict[str, dict[str, Any]]:
    """The SLO alarms (a canary's release alarms: test_release.py)."""
    return {
        k: v["Properties"]
        for k, v in synth.of_type("AWS::CloudWatch::Alarm").items()
        if not k.startswith("Release")
    }


def test_full_alarms_cover_api_functions_stream_queues_and_table() -> None:
    full = synth_with("prod", alarms="full")
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
    # docs/COSTS.md: dev "minimal" (3 alarms), prod "slo" (6), "full" 13 per environment;
    # $0.10 per alarm metric beyond the free 10 of the account.
    # Changing the alarms? Update the CloudWatch alarms line and the totals there too.
    assert len(alarms(dev)) == 3
    assert len(alarms(prod)) == 6
    by_metric = {a.get("MetricName") for a in alarms(prod).values()}
    assert by_metric == {
        "5XXError",
        "Latency",
        "IteratorAge",
        "ApproximateNumberOfMessagesVisible",
        "BackupCreated",
        "DrillFailed",
    }
    assert {a.get("MetricName") for a in alarms(dev).values()} == {
        "5XXError",
        "ApproximateNumberOfMessagesVisible",
        "DrillFailed",
    }
    # And the release alarms of a canary (infra/cloud/release.py): none for dev's
    # all-at-once release; prod's canary reads the API's SLO alarms and adds the
    # aggregator's RecordsFailed. 3 + 6 + 1 = the free 10.
    every = {
        env: len(s.of_type("AWS::CloudWatch::Alarm")) for env, s in (("dev", dev), ("prod", prod))
    }
    assert every == {"dev": 3, "prod": 6 + 1}


FREE_ALARM_METRICS = 10  # standard-resolution alarm metrics per account, always free


def test_every_alarm_of_the_account_fits_the_free_tier(dev: Synth, prod: Synth) -> None:
    """AWS free tier: 10 standard alarm metrics per account, whatever stack made them:
    dev's and prod's SLO alarms, prod's release (canary) alarms and the account stack's
    (none) together, with the settings of cdk.json; composite alarms are $0.50 each,
    never free."""
    assert not dev.of_type("AWS::CloudWatch::CompositeAlarm")
    assert not prod.of_type("AWS::CloudWatch::CompositeAlarm")
    _, account = account_assembly()
    account_alarms = [
        r for r in account["Resources"].values() if r["Type"].startswith("AWS::CloudWatch::")
    ]
    assert dev.alarm_metrics() + prod.alarm_metrics() + len(account_alarms) <= FREE_ALARM_METRICS


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


def test_backup_missing_spans_the_gap_after_a_first_backup_just_after_midnight(
    prod: Synth,
) -> None:
    """AWS CloudWatch (TreatMissingData=breaching, Sum per one-hour period): the alarm
    fires once EvaluationPeriods hours in a row hold no BackupCreated. A stack created
    at 00:00 UTC takes its first backup in hour 0 of that day, named after the UTC
    day, so the scheduled run of that day creates none (tonight's exists) and the next
    BackupCreated lands in the schedule's hour of the next day. The alarm must span
    that gap, and still report a stopped schedule within 28 hours (the test above)."""
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
    assert empty_hours < props["EvaluationPeriods"]


MAX_ALARM_WINDOW_SECONDS = 7 * 24 * 3600  # Period x EvaluationPeriods, period >= 1 hour


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_a_failed_or_drifting_restore_drill_raises_an_alarm_for_a_week(
    env: str, dev: Synth, prod: Synth
) -> None:
    """The drill runs weekly and emits DrillFailed (1: failed or drifted, 0: passed)
    through Powertools, as service `drill`. AWS CloudWatch (PutMetricAlarm): Period x
    EvaluationPeriods may not exceed 7 days (1 day for periods under an hour)."""
    synth = {"dev": dev, "prod": prod}[env]
    [drill] = [a for a in alarms(synth).values() if a.get("MetricName") == "DrillFailed"]
    assert drill["Namespace"] == f"PickANumber/{env}"
    assert drill["Dimensions"] == [{"Name": "service", "Value": "drill"}]
    assert (drill["Statistic"], drill["Threshold"]) == ("Maximum", 1)
    assert drill["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    # One failed hour keeps it in ALARM for the week, until about the next drill...
    assert drill["DatapointsToAlarm"] == 1
    assert drill["Period"] >= 3600
    assert drill["Period"] * drill["EvaluationPeriods"] == MAX_ALARM_WINDOW_SECONDS
    # ...and the six days without a drill are no reason to fire.
    assert drill["TreatMissingData"] == "notBreaching"
    assert "rebuild" in drill["AlarmDescription"]
    topic_id, _ = synth.one("AWS::SNS::Topic")
    assert drill["AlarmActions"] == [{"Ref": topic_id}]


def test_the_api_alarms_fire_on_three_bad_minutes_of_five(prod: Synth) -> None:
    """Short enough for a canary to read them (test_release.py), long enough that one
    bad minute of a quiet API (a cold start, a lone 5xx) pages no one."""
    found = [a for a in alarms(prod).values() if a.get("Namespace") == "AWS/ApiGateway"]
    assert {a["MetricName"] for a in found} == {"5XXError", "Latency"}
    for alarm in found:
        assert (alarm["Period"], alarm["EvaluationPeriods"], alarm["DatapointsToAlarm"]) == (
            60,
            5,
            3,
        )


def test_the_alarms_read_metrics_the_functions_emit(dev: Synth, prod: Synth) -> None:
    """A custom metric's alarm on a name no function sends would sit in OK forever
    (missing data is not breaching)."""
    names = emitted_metric_names() | {FAILED_METRIC}  # the drill names its by constant
    for synth in (dev, prod):
        for alarm in synth.of_type("AWS::CloudWatch::Alarm").values():
            props = alarm["Properties"]
            if props["Namespace"].startswith("PickANumber/"):
                assert props["MetricName"] in names


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


def test_alarm_topic_has_the_email_subscription(dev: Synth) -> None:
    topic_id, _ = dev.one("AWS::SNS::Topic")
    _, subscription = dev.one("AWS::SNS::Subscription")
    assert subscription["Properties"] == {
        "Protocol": "email",
        "TopicArn": {"Ref": topic_id},
        "Endpoint": ALARM_EMAIL,
    }


def topic_policy(synth: Synth, topic_id: str) -> list[dict[str, Any]]:
    [policy] = [
        p["Properties"]
        for p in synth.of_type("AWS::SNS::TopicPolicy").values()
        if {"Ref": topic_id} in p["Properties"]["Topics"]
    ]
    return statements_of(policy["PolicyDocument"])


def publishers_of(synth: Synth, topic_id: str) -> set[str]:
    """Every AWS service that this template makes publish to the topic."""
    principals = set()
    for alarm in synth.of_type("AWS::CloudWatch::Alarm").values():
        actions = alarm["Properties"].get("AlarmActions", []) + alarm["Properties"].get(
            "OKActions", []
        )
        if {"Ref": topic_id} in actions:
            principals.add("cloudwatch.amazonaws.com")
    for budget in synth.of_type("AWS::Budgets::Budget").values():
        for notification in budget["Properties"]["NotificationsWithSubscribers"]:
            for subscriber in notification["Subscribers"]:
                if subscriber["SubscriptionType"] == "SNS" and subscriber["Address"] == {
                    "Ref": topic_id
                }:
                    principals.add("budgets.amazonaws.com")
    return principals


def test_sns_topic_policy_replaces_the_default_so_it_must_allow_every_publisher(
    dev: Synth, prod: Synth
) -> None:
    """AWS: an AWS::SNS::TopicPolicy replaces the topic's default access policy (the one
    that lets the owner account's services publish). Every service that targets the
    topic (CloudWatch alarm actions, Budgets notifications) must then be allowed
    `SNS:Publish` by the topic policy, or its notifications fail with
    "not authorized to perform SNS:Publish"; each allow is scoped to this account
    (aws:SourceAccount) as AWS recommends against the confused deputy."""
    for synth in (dev, prod):
        topic_id, _ = synth.one("AWS::SNS::Topic")
        statements = topic_policy(synth, topic_id)
        publishers = publishers_of(synth, topic_id)
        assert publishers == {"cloudwatch.amazonaws.com", "budgets.amazonaws.com"}
        for service in publishers:
            allows = [
                s
                for s in statements
                if s["Effect"] == "Allow"
                and service in services_of(s)
                and "sns:Publish" in as_list(s["Action"])
            ]
            assert allows, f"{service} may not publish to the alarm topic"
            for allow in allows:
                assert allow["Resource"] == {"Ref": topic_id}
                conditions = allow["Condition"]
                assert conditions["StringEquals"]["aws:SourceAccount"] == {"Ref": "AWS::AccountId"}
        [cloudwatch] = [s for s in statements if "cloudwatch.amazonaws.com" in services_of(s)]
        source_arn = json.dumps(cloudwatch["Condition"]["ArnLike"]["aws:SourceArn"])
        assert ":cloudwatch:" in source_arn
        assert ":alarm:*" in source_arn
        # The SSL-only deny stays: it never denies a service's (TLS) publish.
        assert any(s["Effect"] == "Deny" for s in statements)


def metric_keys(synth: Synth) -> Iterator[tuple[str, str, str]]:
    """(namespace, metric, dimensions) of every alarm metric; a Ref or GetAtt is
    qualified by the stack, since it names a resource of that stack only."""
    stack = synth.stack.stack_name

    def resolve(value: Any) -> str:
        if isinstance(value, str):
            return value
        return f"{stack}:{json.dumps(value, sort_keys=True)}"

    def key(namespace: str, name: str, dimensions: list[dict[str, Any]]) -> tuple[str, str, str]:
        dims = sorted((d["Name"], resolve(d["Value"])) for d in dimensions)
        return namespace, name, json.dumps(dims)

    for alarm in synth.of_type("AWS::CloudWatch::Alarm").values():
        props = alarm["Properties"]
        if "MetricName" in props:
            yield key(props["Namespace"], props["MetricName"], props.get("Dimensions", []))
        for query in props.get("Metrics", []):
            stat = query.get("MetricStat")
            if stat:
                metric = stat["Metric"]
                yield key(metric["Namespace"], metric["MetricName"], metric.get("Dimensions", []))


def test_two_environments_never_alarm_on_the_same_metric(dev: Synth, prod: Synth) -> None:
    """AWS: a CloudWatch metric is identified by namespace, name and the full set of
    dimensions, and API Gateway publishes under `ApiName` (and `Stage`); two APIs of
    one name in an account and region, or custom metrics without an environment,
    share a metric. No metric of `dev` may be one of `prod`'s."""
    shared = set(metric_keys(dev)) & set(metric_keys(prod))
    assert not shared, f"dev and prod alarm on the same metrics: {sorted(shared)}"


def test_api_metrics_name_the_api_and_its_stage(dev: Synth, prod: Synth) -> None:
    """AWS: API Gateway's ApiName dimension is the RestApi's Name (CDK's default
    name is the construct id, `RestApi`, the same in every stack)."""
    for synth in (dev, prod):
        env = synth.stack.stack_name.split("-")[-1]
        _, api = synth.one("AWS::ApiGateway::RestApi")
        name = api["Properties"]["Name"]
        assert env in name
        stage_id, stage = synth.one("AWS::ApiGateway::Stage")
        assert stage["Properties"]["StageName"] == env
        stage_ref = f"{synth.stack.stack_name}:{json.dumps({'Ref': stage_id})}"
        api_metrics = [
            dims for namespace, _, dims in metric_keys(synth) if "ApiGateway" in namespace
        ]
        assert api_metrics
        for dims in api_metrics:
            # The Ref of a stage is its name; the release alarms (infra/cloud/release.py)
            # write the name itself, as a Ref there would be a dependency cycle.
            assert dict(json.loads(dims)) in (
                {"ApiName": name, "Stage": stage_ref},
                {"ApiName": name, "Stage": stage["Properties"]["StageName"]},
            )


API_NAMESPACE = "AWS/ApiGateway"


# The dimension sets API Gateway sends for a REST API without detailed metrics.
FREE_API_DIMENSIONS = ({"ApiName"}, {"ApiName", "Stage"})


def dashboard_metrics(synth: Synth) -> Iterator[list[Any]]:
    """Every metric line of the environment's dashboards, e.g.
    ["AWS/ApiGateway", "Count", "ApiName", "pick-a-number-dev", "Stage", "<ref>", {...}].
    The body is a Fn::Join of text and references: each reference becomes a placeholder."""
    for dashboard in synth.of_type("AWS::CloudWatch::Dashboard").values():
        body = dashboard["Properties"]["DashboardBody"]
        parts = body["Fn::Join"][1] if isinstance(body, dict) else [body]
        text = "".join(part if isinstance(part, str) else "REF" for part in parts)
        for widget in json.loads(text)["widgets"]:
            yield from widget.get("properties", {}).get("metrics", [])


def api_dimension_sets(synth: Synth) -> list[set[str]]:
    """The dimension names of every API Gateway metric an alarm or a dashboard reads."""
    found: list[set[str]] = []
    for line in dashboard_metrics(synth):
        if line[0] == API_NAMESPACE:
            names = [item for item in line[2:] if isinstance(item, str)]
            found.append(set(names[0::2]))
    for alarm in synth.of_type("AWS::CloudWatch::Alarm").values():
        props = alarm["Properties"]
        metrics = [props] + [
            q["MetricStat"]["Metric"] for q in props.get("Metrics", []) if "MetricStat" in q
        ]
        found += [
            {d["Name"] for d in metric.get("Dimensions", [])}
            for metric in metrics
            if metric.get("Namespace") == API_NAMESPACE
        ]
    return found


def test_no_method_level_api_metrics_are_billed(dev: Synth, prod: Synth) -> None:
    """AWS API Gateway (developer guide, "Set up a stage" and "Amazon API Gateway
    dimensions and metrics"): the ApiName and ApiName+Stage metrics are sent and free
    whatever the settings; the ApiName+Method+Resource+Stage ones are sent only with
    detailed CloudWatch metrics (a method setting's MetricsEnabled, on `/*/*` or on
    one method), and "your account is charged for accessing method-level CloudWatch
    metrics". Every alarm and the dashboard read ApiName(+Stage) only, so no method
    setting turns detailed metrics on (test_api.py checks the stage's settings)."""
    for synth in (dev, prod):
        dimension_sets = api_dimension_sets(synth)
        assert len(dimension_sets) >= 4  # the dashboard's and the alarms' are read
        for names in dimension_sets:
            assert names in FREE_API_DIMENSIONS, names


DRILL_METRICS = (PASSED_METRIC, DAYS_CHECKED_METRIC, DAYS_DRIFTED_METRIC, SECONDS_TO_RESTORE_METRIC)


def test_dashboard_shows_the_alarms(dev: Synth) -> None:
    _, dashboard = dev.one("AWS::CloudWatch::Dashboard")
    body = json.dumps(dashboard["Properties"]["DashboardBody"])
    for text in ("IteratorAge", "BackupCreated", "5XXError", "WriteThrottleEvents", "alarms"):
        assert text in body
    # The aggregator's failures it reported (the canary's signal; its Errors too) and
    # the restore drill's outcome
    for text in ("RecordsFailed", "Errors", *DRILL_METRICS):
        assert text in body


FREE_DASHBOARDS = 3  # of up to 50 metrics each


def test_dashboards_fit_the_free_dashboards(dev: Synth, prod: Synth) -> None:
    """AWS free tier: 3 dashboards of up to 50 metrics each per account."""
    dashboards = [*dev.of_type("AWS::CloudWatch::Dashboard").values()]
    dashboards += [*prod.of_type("AWS::CloudWatch::Dashboard").values()]
    assert len(dashboards) <= FREE_DASHBOARDS
    for dashboard in dashboards:
        body = json.dumps(dashboard["Properties"]["DashboardBody"])
        assert body.count('\\"metrics\\"') <= 50


def test_budget_is_filtered_by_the_environment_cost_tag(dev: Synth) -> None:
    _, budget = dev.one("AWS::Budgets::Budget")
    props = budget["Properties"]
    assert props["Budget"]["BudgetLimit"] == {"Amount": 5, "Unit": "USD"}
    assert props["Budget"]["CostFilters"] == {"TagKeyValue": [f"user:{COST_TAG_KEY}$dev"]}
    assert props["Budget"]["TimeUnit"] == "MONTHLY"
    kinds = {n["Notification"]["NotificationType"] for n in props["NotificationsWithSubscribers"]}
    assert kinds == {"ACTUAL", "FORECASTED"}


def test_budget_alerts_reach_each_address_once(dev: Synth) -> None:
    """AWS Budgets notifies every subscriber of a notification: with the alarm topic
    (whose e-mail subscription forwards it) and the same address as a direct EMAIL
    subscriber, every budget alert arrives twice. So the alerts go through the topic
    only."""
    topic_id, _ = dev.one("AWS::SNS::Topic")
    emails_via_topic = {
        s["Properties"]["Endpoint"]
        for s in dev.of_type("AWS::SNS::Subscription").values()
        if s["Properties"]["TopicArn"] == {"Ref": topic_id}
        and s["Properties"]["Protocol"] == "email"
    }
    assert emails_via_topic
    _, budget = dev.one("AWS::Budgets::Budget")
    for notification in budget["Properties"]["NotificationsWithSubscribers"]:
        assert notification["Subscribers"] == [
            {"SubscriptionType": "SNS", "Address": {"Ref": topic_id}}
        ]


FREE_CUSTOM_METRICS = 10
# Sent only in the hours the aggregator meets a transaction conflict or a throttled
# table, or reports records for retry (services/stats/aggregator.py); docs/COSTS.md
# prices them apart.
TROUBLE_METRICS = {"RollupConflicts", "RollupThrottles", "RollupRetries", "RecordsFailed"}


def emitted_metric_names() -> set[str]:
    """Every metric name the functions pass to Powertools' add_metric: literal names,
    and the names of the (name, value) pairs a loop passes on."""
    import ast

    from tests.support.synth import ROOT

    names: set[str] = set()
    for path in (ROOT / "services").rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.keyword) and node.arg == "capture_cold_start_metric":
                assert not (isinstance(node.value, ast.Constant) and node.value.value), path
            loop = isinstance(node, ast.For) and isinstance(node.iter, ast.Tuple)
            if loop and "add_metric" in ast.dump(node):
                names |= {
                    str(pair.elts[0].value)
                    for pair in node.iter.elts  # type: ignore[attr-defined]
                    if isinstance(pair, ast.Tuple) and isinstance(pair.elts[0], ast.Constant)
                }
            if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "add_metric":
                for keyword in node.keywords:
                    if keyword.arg == "name":
                        names |= {
                            n.value
                            for n in ast.walk(keyword.value)
                            if isinstance(n, ast.Constant) and isinstance(n.value, str)
                        }
    names |= {"SubmissionAccepted", "SubmissionReplayed"}  # services/ingest/handler.py
    return names


def test_the_functions_emit_few_enough_custom_metrics_for_two_environments() -> None:
    """AWS free tier: 10 custom metrics (namespace + name + dimensions) per account.
    Each environment has its own namespace, so dev + prod emit twice the names one
    environment emits; Powertools' ColdStart metric (one more per API function) is
    off, Lambda's own Init Duration (in the REPORT log line) tells the same. The
    aggregator's contention and failed-records metrics are sent only in the hours it
    meets contention or failures, and billed by the hour: they are counted apart
    (docs/COSTS.md)."""
    names = emitted_metric_names()
    assert names >= TROUBLE_METRICS, sorted(names)
    assert 2 * len(names - TROUBLE_METRICS) <= FREE_CUSTOM_METRICS, sorted(names)


MONTH_SECONDS = 30 * 24 * 3600
FREE_TRACES = 100_000  # X-Ray traces recorded per month, always free


# The design load (docs/COSTS.md), with the web app's daily-stats calls at their most:
# 1M submissions + 7M stats requests.
API_REQUESTS_AT_SCALE = DESIGN_PICKS + round(
    DAILY_STATS_ROUTE.web_calls.per_second(DESIGN_PICKS, DESIGN_PAGE_VIEWS) * MONTH_SECONDS
)
STREAM_INVOCATIONS_AT_SCALE = 960_000  # aggregator invocations a month (docs/COSTS.md)


def test_prod_traces_stay_in_the_free_tier_at_a_million_picks(prod: Synth) -> None:
    """AWS X-Ray: API Gateway samples by the account's sampling rules (service name
    `<api name>/<stage>`) and Lambda follows the caller's decision; without a rule,
    the default (1 request/s + 5 %) traces nearly every request at 1.5 requests/s.
    Lambda's own sampling of stream-invoked functions (1/s + 5 %) is not
    configurable, so the aggregator traces only where its tracing setting says so."""
    [rule] = [
        r["Properties"]["SamplingRule"] for r in prod.of_type("AWS::XRay::SamplingRule").values()
    ]
    _, api = prod.one("AWS::ApiGateway::RestApi")
    _, stage = prod.one("AWS::ApiGateway::Stage")
    assert rule["ServiceName"] == f"{api['Properties']['Name']}/{stage['Properties']['StageName']}"
    assert rule["ServiceType"] == "AWS::ApiGateway::Stage"
    assert rule["FixedRate"] > 0  # a steady trickle, errors included, keeps being traced
    aggregator = prod.one(
        "AWS::Lambda::Function", lambda p: p.get("Handler") == "stats.aggregator.lambda_handler"
    )[1]["Properties"]
    stream_traces = (
        STREAM_INVOCATIONS_AT_SCALE if aggregator["TracingConfig"]["Mode"] == "Active" else 0
    )
    # the reservoir is up to that many requests each second, before the fixed rate
    reservoir = rule["ReservoirSize"] * MONTH_SECONDS
    traces = reservoir + API_REQUESTS_AT_SCALE * rule["FixedRate"] + stream_traces
    assert traces <= FREE_TRACES


def test_each_environment_has_its_own_sampling_rule(dev: Synth, prod: Synth) -> None:
    """X-Ray sampling rules are per account and region, named uniquely."""
    names = {
        r["Properties"]["SamplingRule"]["RuleName"]
        for synth in (dev, prod)
        for r in synth.of_type("AWS::XRay::SamplingRule").values()
    }
    assert len(names) == 2
    assert all(len(name) <= 32 for name in names)
