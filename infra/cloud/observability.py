"""SLO alarms to an e-mail topic, a dashboard, and the environment's budget.

The API's SLO alarms are also the API functions' release alarms: a canary release's
deployment groups read them (infra/cloud/release.py), so they look at one-minute
periods, short enough to fire within a canary. Sharing them keeps dev + prod within
CloudWatch's 10 free alarm metrics (docs/COSTS.md): dev 3 (API 5xx, stream records
given up on, restore drill), prod 6 (+ latency, stream lag, missing backup) plus the
aggregator's release alarm, 10 in all, so the account must hold no other alarm.
"""

from collections.abc import Mapping, Sequence
from typing import Any, Final

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_budgets as budgets
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_xray as xray
from constructs import Construct

from backup.drill import (
    DAYS_CHECKED_METRIC,
    DAYS_DRIFTED_METRIC,
    FAILED_METRIC,
    PASSED_METRIC,
    SECONDS_TO_RESTORE_METRIC,
)
from infra.cloud.alarms import alarm
from infra.cloud.api import api_name
from infra.environments import AlarmLevel, EnvironmentSettings
from infra.topology import AGGREGATOR, BACKUP
from shared.observability import environment_namespace

FIVE_MINUTES: Final = cdk.Duration.minutes(5)
ONE_MINUTE: Final = cdk.Duration.minutes(1)
API_5XX_RATE_THRESHOLD: Final = 0.01  # more than 1 % of requests
API_P95_LATENCY_MS: Final = 1000
# The API alarms fire on 3 breaching minutes of the last 5: one bad minute (a cold
# start, a lone 5xx on a quiet API) is no page, and 3 minutes (plus CloudWatch's
# delay) fit within a 10-minute canary (infra/cloud/release.py checks it).
API_BREACHING_MINUTES: Final = 3
API_WINDOW_MINUTES: Final = 5
ITERATOR_AGE_MS: Final = 60_000  # rollups more than a minute behind the submissions
# The nightly backup emits BackupCreated (EMF) when it creates one; none for this long
# means a night was missed. Not 26: an environment created between 00:00 and 01:00 UTC
# takes its first backup then, named after that UTC day, so the 03:30 run that day
# creates none and the next BackupCreated comes 26 to 27.5 hours later; 28 one-hour
# periods leave a margin for a late or retried run.
BACKUP_METRIC: Final = "BackupCreated"
BACKUP_WINDOW_HOURS: Final = 28
BUDGET_ALERT_PERCENT: Final = 80
# The aggregator's records reported for retry (services/stats/aggregator.py): Lambda
# counts those invocations as successes, so this is what a canary release watches.
RECORDS_FAILED_METRIC: Final = "RecordsFailed"
# The restore drill's outcome (services/backup/drill.py `publish`), weekly; its
# function runs as service "drill". DrillFailed is 1 for a failed or drifting phase.
DRILL_SERVICE: Final = "drill"
# A failed drill keeps the alarm in ALARM for a week (1 breaching hour of the last
# 168), until about the next drill: CloudWatch's longest window (period x evaluation
# periods <= 7 days for periods of an hour or more).
DRILL_WINDOW_HOURS: Final = 7 * 24
# What a message in each dead-letter queue means. Lambda's on-failure record of a stream
# batch names the shard and its sequence numbers, not the records, which the stream
# keeps 24 hours: the counts are lost until a rollup rebuild (docs/RUNBOOK.md).
_DEAD_LETTERS_MEANING: Final = (
    "A stream batch was given up on: its picks are not counted. The message names the "
    "shard and sequence numbers only; run `make rebuild` over the days (RUNBOOK).",
    "A nightly backup was given up on: the schedule could not invoke the function, or "
    "the function failed after Lambda's retries (RUNBOOK).",
)
# Before the account's default rule (10000); other rules of the account may come first.
SAMPLING_RULE_PRIORITY: Final = 100


class Observability(Construct):
    """What watches one environment, each part built by its own method: the alarm
    topic, the SLO alarms on it, the X-Ray sampling rule, the dashboard and the budget.
    What it builds, it exposes (topic, alarms, api_alarms for a canary release,
    backup_alarm, drill_alarm, sampling_rule, dashboard, budget)."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        settings: EnvironmentSettings,
        cost_tag: tuple[str, str],
        stage: apigw.Stage,
        functions: Sequence[lambda_.Function],
        aggregator: lambda_.Function,
        table: dynamodb.Table,
        dead_letter_queues: Mapping[str, sqs.Queue],
        waf_metrics: Sequence[cw.IMetric] = (),
    ) -> None:
        """`waf_metrics`: the web ACL's blocked requests, when the environment has one."""
        super().__init__(scope, id)
        self.settings = settings
        self.topic = self._alarm_topic()
        self.alarms: list[cw.Alarm] = []
        self.api_alarms: list[cw.Alarm] = []
        signals = Signals(stage, functions, aggregator, table, settings.name)
        self.backup_alarm = self._slo_alarms(signals, dead_letter_queues)
        self.drill_alarm = self._drill_alarm(signals)
        self.sampling_rule = self._sampling_rule()
        self.dashboard = self._dashboard(signals)
        if waf_metrics:
            self.dashboard.add_widgets(
                cw.GraphWidget(
                    title="WAF blocked requests by rule (us-east-1)",
                    left=list(waf_metrics),
                    width=12,
                )
            )
        self.budget = self._budget(cost_tag)

    def _alarm_topic(self) -> sns.Topic:
        topic = sns.Topic(self, "Alarms", display_name="Pick a Number alarms", enforce_ssl=True)
        cdk.Validations.of(topic).acknowledge(
            cdk.Acknowledgment(
                id="AwsSolutions-SNS2",
                reason="Alarm notifications hold no data; CloudWatch and Budgets cannot publish "
                "to a topic under the AWS-managed SNS key, and a customer key costs $1/month.",
            )
        )
        # The topic policy (enforce_ssl makes one) replaces SNS's default policy, which is
        # what let the account's services publish: allow each publisher explicitly.
        account = {"StringEquals": {"aws:SourceAccount": cdk.Aws.ACCOUNT_ID}}
        alarm_arns = cdk.Stack.of(self).format_arn(
            service="cloudwatch",
            resource="alarm",
            resource_name="*",
            arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
        )
        for sid, service, conditions in (
            (
                "CloudWatchAlarmsPublish",
                "cloudwatch.amazonaws.com",
                {**account, "ArnLike": {"aws:SourceArn": alarm_arns}},
            ),
            ("BudgetsPublish", "budgets.amazonaws.com", account),
        ):
            topic.add_to_resource_policy(
                iam.PolicyStatement(
                    sid=sid,
                    principals=[iam.ServicePrincipal(service)],
                    actions=["sns:Publish"],
                    resources=[topic.topic_arn],
                    conditions=conditions,
                )
            )
        if self.settings.alarm_email:
            topic.add_subscription(subscriptions.EmailSubscription(self.settings.alarm_email))
        return topic

    def _slo_alarms(
        self, signals: "Signals", dead_letter_queues: Mapping[str, sqs.Queue]
    ) -> cw.Alarm | None:
        """One alarm per signal that matters, within CloudWatch's 10 free alarm metrics
        for dev + prod: "minimal" (API 5xx, records given up on, a failed restore
        drill) and "slo" (+ latency, stream lag, missing backups) cover every failure;
        "full" adds the causes
        (per-function errors, throttles, the backup's DLQ) at $0.10 per alarm-month.
        Returns the BackupMissing alarm, if any."""
        self._api_alarms(signals)
        self._cause_alarms(signals, dead_letter_queues)
        return self._alarm(
            "slo",
            "BackupMissing",
            signals.backups,
            1,
            f"No successful backup in {BACKUP_WINDOW_HOURS} hours.",
            comparison=cw.ComparisonOperator.LESS_THAN_THRESHOLD,
            periods=BACKUP_WINDOW_HOURS,
            # No datapoint at all is what a stopped schedule looks like; a new
            # environment takes its first backup while it is deployed (Backup).
            missing=cw.TreatMissingData.BREACHING,
        )

    def _api_alarms(self, signals: "Signals") -> None:
        """API 5xx rate and p95 latency, 3 minutes of the last 5 (also the API
        functions' release alarms). A failing API function, a throttled table: every
        one of them answers 5xx (502 on a crash or time-out, 500 on an error)."""
        window = f"{API_BREACHING_MINUTES} of the last {API_WINDOW_MINUTES} minutes"
        for level, id, metric, threshold, description in (
            (
                "minimal",
                "Api5xx",
                signals.api_5xx,
                API_5XX_RATE_THRESHOLD,
                f"More than 1% of API requests failed with a 5xx in {window}.",
            ),
            (
                "slo",
                "ApiLatencyP95",
                signals.api_latency,
                API_P95_LATENCY_MS,
                f"API p95 latency above {API_P95_LATENCY_MS} ms in {window}.",
            ),
        ):
            found = self._alarm(
                level,  # type: ignore[arg-type]
                id,
                metric,
                threshold,
                description,
                periods=API_WINDOW_MINUTES,
                breaching=API_BREACHING_MINUTES,
            )
            if found is not None:
                self.api_alarms.append(found)

    def _drill_alarm(self, signals: "Signals") -> cw.Alarm | None:
        """A restore drill that failed or found drifted rollups (DrillFailed = 1) in the
        last week. No data is not breaching: the drill runs weekly, and a verify phase
        that runs short of time reports a failure before Lambda's timeout (drill.py),
        so silence means no drill ran (its schedule's failures: dashboard, RUNBOOK)."""
        return self._alarm(
            "minimal",
            "DrillFailed",
            signals.drill_failed,
            1,
            "The restore drill failed, or a restored day's rollup differs from its raw "
            "submissions or the live table: rebuild those days (RUNBOOK, Restore drill).",
            comparison=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            periods=DRILL_WINDOW_HOURS,
            breaching=1,
        )

    def _cause_alarms(
        self, signals: "Signals", dead_letter_queues: Mapping[str, sqs.Queue]
    ) -> None:
        """Function errors, the aggregator's lag, dead letters, table throttles."""
        at_least = cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD
        for fn in signals.functions:
            name = fn.node.id
            self._alarm(
                "full",
                f"{name}Errors",
                fn.metric_errors(period=FIVE_MINUTES, statistic="Sum"),
                1,
                f"The {name} function failed.",
                comparison=at_least,
            )
        # A failing or throttled aggregator falls behind the stream.
        self._alarm(
            "slo",
            "AggregatorIteratorAge",
            signals.iterator_age,
            ITERATOR_AGE_MS,
            "The aggregator is more than a minute behind the table's stream.",
            periods=3,
        )
        self._queue_alarms(dead_letter_queues)
        for event in ("ReadThrottleEvents", "WriteThrottleEvents"):
            self._alarm(
                "full",
                f"Table{event}",
                signals.table.metric(event, period=FIVE_MINUTES, statistic="Sum"),
                1,
                f"DynamoDB {event}: the capacity setting is too low for the traffic.",
                comparison=at_least,
            )

    def _queue_alarms(self, dead_letter_queues: Mapping[str, sqs.Queue]) -> None:
        """One depth alarm per queue, named `<label><queue id>Depth`."""
        for index, (label, queue) in enumerate(dead_letter_queues.items()):
            # The first queue holds the stream batches given up on (lost counts); the
            # others' loss (a missed backup) has its own alarm.
            self._alarm(
                "minimal" if index == 0 else "full",
                f"{label}{queue.node.id}Depth",
                queue.metric_approximate_number_of_messages_visible(
                    period=FIVE_MINUTES, statistic="Maximum"
                ),
                1,
                _DEAD_LETTERS_MEANING[0 if index == 0 else 1],
                comparison=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            )

    def _sampling_rule(self) -> xray.CfnSamplingRule:
        """X-Ray: API Gateway samples by the account's rules; this environment's API gets
        its own, a fixed share of requests (errors included) and no reservoir, which
        at 1 request/s would alone trace 2.6M requests a month."""
        name = self.settings.name
        return xray.CfnSamplingRule(
            self,
            "TraceSampling",
            sampling_rule=xray.CfnSamplingRule.SamplingRuleProperty(
                rule_name=f"pick-a-number-{name}"[:32],
                priority=SAMPLING_RULE_PRIORITY,
                fixed_rate=self.settings.xray_sampling_rate,
                reservoir_size=0,
                service_name=f"{api_name(name)}/{name}",
                service_type="AWS::ApiGateway::Stage",
                host="*",
                http_method="*",
                url_path="*",
                resource_arn="*",
                version=1,
            ),
        )

    def _dashboard(self, signals: "Signals") -> cw.Dashboard:
        functions, table = signals.functions, signals.table
        dashboard = cw.Dashboard(self, "Dashboard", period_override=cw.PeriodOverride.AUTO)
        dashboard.add_widgets(
            cw.GraphWidget(
                title="API requests and 5xx",
                left=[signals.stage.metric_count(period=FIVE_MINUTES)],
                right=[signals.stage.metric_server_error(period=FIVE_MINUTES)],
                width=12,
            ),
            cw.GraphWidget(title="API latency p95", left=[signals.api_latency], width=12),
            cw.GraphWidget(
                title="Function errors",
                left=[fn.metric_errors(period=FIVE_MINUTES) for fn in functions],
                width=12,
            ),
            cw.GraphWidget(
                title="Function duration p95",
                left=[fn.metric_duration(period=FIVE_MINUTES, statistic="p95") for fn in functions],
                width=12,
            ),
            cw.GraphWidget(
                title="Aggregator iterator age, records reported for retry",
                left=[signals.iterator_age],
                right=[signals.records_failed],
                width=12,
            ),
            cw.GraphWidget(
                title="DynamoDB throttles and consumed capacity",
                left=[
                    table.metric("ReadThrottleEvents", period=FIVE_MINUTES, statistic="Sum"),
                    table.metric("WriteThrottleEvents", period=FIVE_MINUTES, statistic="Sum"),
                ],
                right=[
                    table.metric_consumed_read_capacity_units(period=FIVE_MINUTES),
                    table.metric_consumed_write_capacity_units(period=FIVE_MINUTES),
                ],
                width=12,
            ),
            cw.GraphWidget(title="Backups created", left=[signals.backups], width=12),
            cw.GraphWidget(
                title="Restore drill (weekly)",
                left=[
                    signals.drill_metric(name)
                    for name in (PASSED_METRIC, DAYS_CHECKED_METRIC, DAYS_DRIFTED_METRIC)
                ],
                right=[signals.drill_metric(SECONDS_TO_RESTORE_METRIC)],
                width=12,
            ),
            cw.AlarmStatusWidget(title="Alarms", alarms=list(self.alarms), width=12),
        )
        return dashboard

    def _budget(self, cost_tag: tuple[str, str]) -> budgets.CfnBudget:
        tag_key, tag_value = cost_tag
        # Through the topic only: its e-mail subscription forwards the alert (a direct
        # EMAIL subscriber as well would deliver every alert twice).
        subscribers = [
            budgets.CfnBudget.SubscriberProperty(
                subscription_type="SNS", address=self.topic.topic_arn
            )
        ]
        return budgets.CfnBudget(
            self,
            "Budget",
            budget=budgets.CfnBudget.BudgetDataProperty(
                budget_type="COST",
                time_unit="MONTHLY",
                budget_limit=budgets.CfnBudget.SpendProperty(
                    amount=self.settings.budget_usd, unit="USD"
                ),
                cost_filters={"TagKeyValue": [f"user:{tag_key}${tag_value}"]},
            ),
            notifications_with_subscribers=[
                budgets.CfnBudget.NotificationWithSubscribersProperty(
                    notification=budgets.CfnBudget.NotificationProperty(
                        notification_type=kind,
                        comparison_operator="GREATER_THAN",
                        threshold=threshold,
                        threshold_type="PERCENTAGE",
                    ),
                    subscribers=subscribers,
                )
                for kind, threshold in (("ACTUAL", BUDGET_ALERT_PERCENT), ("FORECASTED", 100))
            ],
        )

    def _alarm(
        self,
        level: AlarmLevel,
        id: str,
        metric: cw.IMetric,
        threshold: float,
        description: str,
        **options: Any,
    ) -> cw.Alarm | None:
        """An alarm of `level` (none below the environment's level) to the topic."""
        if not self.settings.has_alarms(level):
            return None
        found = alarm(self, id, metric, threshold, description, **options)
        action = cw_actions.SnsAction(self.topic)
        found.add_alarm_action(action)
        found.add_ok_action(action)
        self.alarms.append(found)
        return found


class Signals:
    """The metrics the alarms and the dashboard both read."""

    def __init__(
        self,
        stage: apigw.Stage,
        functions: Sequence[lambda_.Function],
        aggregator: lambda_.Function,
        table: dynamodb.Table,
        environment: str,
    ) -> None:
        self.stage = stage
        self.functions = functions
        self.table = table
        # Stage metrics: dimensions ApiName (the environment's API name) and Stage. The
        # stage's name as a literal (it is the environment's, infra/cloud/api.py): the
        # deployment groups read these alarms, and a Ref to the stage would be a cycle
        # (stage -> deployment -> method -> alias -> deployment group -> alarm -> stage).
        api = {"ApiName": api_name(environment), "Stage": environment}
        self.api_5xx = cw.Metric(
            namespace="AWS/ApiGateway",
            metric_name="5XXError",
            dimensions_map=api,
            period=ONE_MINUTE,
            statistic="Average",
        )
        self.api_latency = cw.Metric(
            namespace="AWS/ApiGateway",
            metric_name="Latency",
            dimensions_map=api,
            period=ONE_MINUTE,
            statistic="p95",
        )
        self.iterator_age = aggregator.metric(
            "IteratorAge", period=FIVE_MINUTES, statistic="Maximum"
        )
        self.records_failed = records_failed(environment, FIVE_MINUTES)
        self.backups = custom_metric(
            environment, BACKUP.service, BACKUP_METRIC, cdk.Duration.hours(1), "Sum"
        )
        self.environment = environment
        self.drill_failed = self.drill_metric(FAILED_METRIC, cdk.Duration.hours(1))

    def drill_metric(self, name: str, period: cdk.Duration | None = None) -> cw.Metric:
        """One of the restore drill's metrics, its largest value in each `period`
        (a day by default)."""
        period = period or cdk.Duration.days(1)
        return custom_metric(self.environment, DRILL_SERVICE, name, period, "Maximum")


def custom_metric(
    environment: str, service: str, name: str, period: cdk.Duration, statistic: str
) -> cw.Metric:
    """A metric a function emits through Powertools: in the environment's namespace,
    with the function's service as its `service` dimension."""
    return cw.Metric(
        namespace=environment_namespace(environment),
        metric_name=name,
        dimensions_map={"service": service},
        period=period,
        statistic=statistic,
    )


def records_failed(environment: str, period: cdk.Duration) -> cw.Metric:
    """The aggregator's records reported for retry, summed over `period`."""
    return custom_metric(environment, AGGREGATOR.service, RECORDS_FAILED_METRIC, period, "Sum")
