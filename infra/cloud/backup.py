"""Nightly on-demand backups in place of PITR (which is not in the free tier):
an EventBridge Scheduler schedule from the topology invokes the backup function,
which creates a backup of the table and prunes the old ones. A weekly restore
drill, on two schedules of its own, proves the newest backup restorable."""

from collections.abc import Sequence
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
from infra.topology import Schedule

# Schedules of this app live in EventBridge Scheduler's default group.
SCHEDULE_GROUP: Final = "default"


def _ref(fn: lambda_.Function) -> str:
    """The logical ID cdk-nag shows for the function in its finding ids."""
    cfn = fn.node.default_child
    assert isinstance(cfn, cdk.CfnResource)
    return cdk.Stack.of(fn).get_logical_id(cfn)


class ScheduledFunction(Construct):
    """A function of the topology and the EventBridge Scheduler schedules that invoke
    it, each retried and then given up on into one dead-letter queue."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        functions: FunctionFactory,
        schedules: Sequence[Schedule],
        wildcard_reason: str,
    ) -> None:
        super().__init__(scope, id)
        [spec] = {schedule.function for schedule in schedules}
        self.spec = spec
        self.function: lambda_.Function = functions.function(
            self, spec, wildcard_reason=wildcard_reason
        )
        self.dead_letters = self._dead_letters()
        self.schedule_role = self._schedule_role()
        self.schedules = {
            schedule.name: scheduler.Schedule(
                self,
                schedule.name,
                description=schedule.description,
                schedule=scheduler.ScheduleExpression.expression(
                    schedule.cron, cdk.TimeZone.ETC_UTC
                ),
                target=targets.LambdaInvoke(
                    self.function,
                    input=(
                        scheduler.ScheduleTargetInput.from_object(dict(schedule.payload))
                        if schedule.payload
                        else None
                    ),
                    retry_attempts=schedule.retry_attempts,
                    max_event_age=cdk.Duration.seconds(schedule.max_event_age_seconds),
                    dead_letter_queue=self.dead_letters,
                    role=self.schedule_role,
                ),
            )
            for schedule in schedules
        }

    def _dead_letters(self) -> sqs.Queue:
        # The runs given up on, both ways: an invocation the schedule could not deliver
        # (its dead-letter queue), and one Lambda accepted but the function failed even
        # after Lambda's own retries. The schedule invokes asynchronously, so the second
        # never reaches the schedule: without the function's on-failure destination it
        # would vanish.
        dead_letters = dead_letter_queue(
            self,
            "ScheduleDeadLetters",
            holds=f"the {self.spec.name} schedules and function (its on-failure destination)",
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
            description=f"EventBridge Scheduler: invoke the {self.spec.name} function, "
            "nothing else",
        )
        cdk.Validations.of(role).acknowledge(
            cdk.Acknowledgment(
                id=f"AwsSolutions-IAM5[Resource::<{_ref(self.function)}.Arn>:*]",
                reason=f"lambda:InvokeFunction on the {self.spec.name} function's versions "
                "and aliases (':*'), as the scheduler target grants it; no other function.",
            )
        )
        return role


class Backup(ScheduledFunction):
    """The nightly backup. Its dead-letter queue has a depth alarm (alarms `full`;
    BackupMissing, `slo`, reports the missed backup either way within the free
    alarms, docs/COSTS.md)."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        functions: FunctionFactory,
        schedule: Schedule,
    ) -> None:
        super().__init__(
            scope,
            id,
            functions=functions,
            schedules=(schedule,),
            wildcard_reason=" dynamodb:ListBackups supports no resource-level permissions; "
            "the function filters the list by its table ARN.",
        )
        self._acknowledge_backup_grants()
        self.schedule = self.schedules[schedule.name]

        # A new environment's first backup, taken while it is deployed: the
        # BackupMissing alarm (missing data breaching) then has a datapoint from the
        # start. Once, on creation: not again for every change of the function's code.
        self.first_backup = triggers.Trigger(
            self,
            "FirstBackup",
            handler=self.function,
            execute_on_handler_change=False,
            timeout=cdk.Duration.seconds(schedule.function.timeout_seconds + 30),
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


class RestoreDrill(ScheduledFunction):
    """The weekly restore drill (services/backup/drill.py): one function, its start and
    verify schedules. Its role is its declared table actions (infra/topology.py):
    restore this table's backups into `<table>-drill-*` tables and work on those only;
    on the live table, Query its rollups only."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        functions: FunctionFactory,
        schedules: Sequence[Schedule],
    ) -> None:
        super().__init__(
            scope,
            id,
            functions=functions,
            schedules=schedules,
            wildcard_reason=" dynamodb:ListBackups and dynamodb:ListTables support no "
            "resource-level permissions; the drill filters them by its table.",
        )
        assert self.function.role is not None
        cdk.Validations.of(self.function.role).acknowledge(
            cdk.Acknowledgment(
                id="AwsSolutions-IAM5[Resource::<SubmissionsTable.Arn>/backup/*]",
                reason="DescribeBackup and RestoreTableFromBackup on this table's backups "
                "only; DynamoDB names each backup ARN when it creates it.",
            ),
            cdk.Acknowledgment(
                id="AwsSolutions-IAM5[Resource::<SubmissionsTable.Arn>-drill-*]",
                reason="The drill's scratch tables only: each is named for the time of its "
                "restore under this table's own `-drill-` prefix.",
            ),
        )
