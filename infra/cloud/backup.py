"""Nightly on-demand backups in place of PITR (which is not in the free tier):
an EventBridge Scheduler schedule from the topology invokes the backup function,
which creates a backup of the table and prunes the old ones."""

from typing import Final

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_scheduler_targets as targets
from aws_cdk import aws_sqs as sqs
from aws_cdk import triggers
from constructs import Construct

from infra.cloud.functions import FunctionFactory
from infra.cloud.queues import dead_letter_queue
from infra.environments import EnvironmentSettings
from infra.topology import Schedule

# Schedules of this app live in EventBridge Scheduler's default group.
SCHEDULE_GROUP: Final = "default"


def _ref(fn: lambda_.Function) -> str:
    """The logical ID cdk-nag shows for the function in its finding ids."""
    cfn = fn.node.default_child
    assert isinstance(cfn, cdk.CfnResource)
    return cdk.Stack.of(fn).get_logical_id(cfn)


class Backup(Construct):
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        settings: EnvironmentSettings,
        functions: FunctionFactory,
        schedule: Schedule,
    ) -> None:
        super().__init__(scope, id)
        spec = schedule
        self.function: lambda_.Function = functions.function(
            self,
            spec.function,
            wildcard_reason=" dynamodb:ListBackups supports no resource-level permissions; "
            "the function filters the list by its table ARN.",
        )
        self._acknowledge_backup_grants()
        self.dead_letters = self._dead_letters()
        self.schedule_role = self._schedule_role()
        self.schedule = scheduler.Schedule(
            self,
            "Nightly",
            description=spec.description,
            schedule=scheduler.ScheduleExpression.expression(spec.cron, cdk.TimeZone.ETC_UTC),
            target=targets.LambdaInvoke(
                self.function,
                retry_attempts=spec.retry_attempts,
                max_event_age=cdk.Duration.seconds(spec.max_event_age_seconds),
                dead_letter_queue=self.dead_letters,
                role=self.schedule_role,
            ),
        )

        # A new environment's first backup, taken while it is deployed: the
        # BackupMissing alarm (missing data breaching) then has a datapoint from the
        # start. Once, on creation: not again for every change of the function's code.
        self.first_backup = triggers.Trigger(
            self,
            "FirstBackup",
            handler=self.function,
            execute_on_handler_change=False,
            timeout=cdk.Duration.seconds(spec.function.timeout_seconds + 30),
        )

    def _acknowledge_backup_grants(self) -> None:
        """The function's grants are its declared table actions (infra/topology.py):
        create and delete this table's backups, list backups; nothing else."""
        assert self.function.role is not None
        cdk.Validations.of(self.function.role).acknowledge(
            cdk.Acknowledgment(
                id="AwsSolutions-IAM5[Resource::<SubmissionsTable.Arn>/backup/*]",
                reason="DeleteBackup on this table's backups only; DynamoDB names each "
                "backup ARN when it creates it (DescribeBackup is the operator's, not granted).",
            )
        )

    def _dead_letters(self) -> sqs.Queue:
        # The nights given up on, both ways: an invocation the schedule could not deliver
        # (its dead-letter queue), and one Lambda accepted but the function failed even
        # after Lambda's own retries. The schedule invokes asynchronously, so the second
        # never reaches the schedule: without the function's on-failure destination it
        # would vanish. One queue, one depth alarm (alarms `full`; BackupMissing, `slo`,
        # reports the missed backup either way within the free alarms, docs/COSTS.md).
        dead_letters = dead_letter_queue(
            self,
            "ScheduleDeadLetters",
            holds="the backup schedule and the backup function (its on-failure destination)",
        )
        self.function.configure_async_invoke(on_failure=destinations.SqsDestination(dead_letters))
        return dead_letters

    def _schedule_role(self) -> iam.Role:
        role = iam.Role(
            self,
            "ScheduleRole",
            # Confused deputy: only this account's schedules of this group may assume it.
            assumed_by=iam.ServicePrincipal(
                "scheduler.amazonaws.com",
                conditions={
                    "StringEquals": {"aws:SourceAccount": cdk.Aws.ACCOUNT_ID},
                    "ArnEquals": {
                        "aws:SourceArn": cdk.Stack.of(self).format_arn(
                            service="scheduler",
                            resource="schedule-group",
                            resource_name=SCHEDULE_GROUP,
                        )
                    },
                },
            ),
            description="EventBridge Scheduler: invoke the backup function, nothing else",
        )
        cdk.Validations.of(role).acknowledge(
            cdk.Acknowledgment(
                id=f"AwsSolutions-IAM5[Resource::<{_ref(self.function)}.Arn>:*]",
                reason="lambda:InvokeFunction on the backup function's versions and aliases "
                "(':*'), as the scheduler target grants it; no other function.",
            )
        )
        return role
