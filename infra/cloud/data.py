"""Data and aggregation: the table, its stream, and the aggregator that folds raw
submissions into daily rollups (exactly once, see services/stats/aggregator.py)."""

from typing import Final

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.cloud.functions import FunctionFactory
from infra.cloud.queues import dead_letter_queue
from infra.environments import EnvironmentSettings
from infra.topology import TABLE

# Frozen: CloudFormation replaces a resource whose logical ID changes, and this
# one holds every submission.
TABLE_LOGICAL_ID: Final = "SubmissionsTable"


class Data(Construct):
    """The table (stream NEW_IMAGE), and the stream consumer declared in the topology."""

    def __init__(self, scope: Construct, id: str, *, settings: EnvironmentSettings) -> None:
        super().__init__(scope, id)
        provisioned = settings.billing_mode == "PROVISIONED"
        self.table = dynamodb.Table(
            self,
            "Table",
            partition_key=dynamodb.Attribute(
                name=TABLE.partition_key, type=dynamodb.AttributeType.STRING
            ),
            sort_key=dynamodb.Attribute(name=TABLE.sort_key, type=dynamodb.AttributeType.STRING),
            billing_mode=(
                dynamodb.BillingMode.PROVISIONED
                if provisioned
                else dynamodb.BillingMode.PAY_PER_REQUEST
            ),
            read_capacity=settings.read_capacity if provisioned else None,
            write_capacity=settings.write_capacity if provisioned else None,
            stream=dynamodb.StreamViewType(TABLE.stream_view),
            # Encrypted at rest with the AWS-owned key, DynamoDB's default: no KMS
            # request charges and no KMS in the path of a request. The AWS-managed key
            # (aws/dynamodb) would add KMS requests and a CloudTrail record of key use,
            # but no control: its key policy, which no one can change, admits every
            # principal of the account that IAM lets use the table (docs/SECURITY.md).
            encryption=dynamodb.TableEncryption.DEFAULT,
            deletion_protection=settings.retain_data,
            removal_policy=settings.removal_policy,
            point_in_time_recovery_specification=_point_in_time_recovery(settings),
        )
        table_resource = self.table.node.default_child
        assert isinstance(table_resource, dynamodb.CfnTable)
        table_resource.override_logical_id(TABLE_LOGICAL_ID)
        if settings.point_in_time_recovery is None:
            cdk.Validations.of(self.table).acknowledge(
                cdk.Acknowledgment(
                    id="AwsSolutions-DDB3",
                    reason="PITR is off in this environment (its point_in_time_recovery "
                    "setting): the Backup construct's scheduled on-demand backups, kept "
                    "daily, weekly and monthly, recover it instead, at the price "
                    "docs/COSTS.md compares with PITR's.",
                )
            )

    def add_aggregator(
        self, functions: FunctionFactory, settings: EnvironmentSettings
    ) -> "Aggregation":
        """The table's stream consumer (its function, alias and dead-letter queue)."""
        self.aggregation = Aggregation(
            # "Default": a construct CDK leaves out of its children's logical IDs, so the
            # consumer's resources keep the IDs they had as the table's siblings.
            self,
            "Default",
            table=self.table,
            functions=functions,
            settings=settings,
        )
        return self.aggregation

    @property
    def stream_dlq(self) -> sqs.Queue:
        return self.aggregation.dead_letters


def _point_in_time_recovery(
    settings: EnvironmentSettings,
) -> dynamodb.PointInTimeRecoverySpecification | None:
    """PITR with the environment's recovery period, or nothing (off) when it has none."""
    if settings.point_in_time_recovery is None:
        return None
    return dynamodb.PointInTimeRecoverySpecification(
        point_in_time_recovery_enabled=True,
        recovery_period_in_days=settings.point_in_time_recovery,
    )


class Aggregation(Construct):
    """The topology's stream consumer built: the aggregator and its dead-letter queue.
    Only INSERTs of raw submissions reach it, through its `live` alias; batches it
    gives up on go to the queue."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        table: dynamodb.Table,
        functions: FunctionFactory,
        settings: EnvironmentSettings,
    ) -> None:
        super().__init__(scope, id)
        # The environment's parallelization applied (one resolution, as the local stack's).
        consumer = settings.stream_consumer
        self.dead_letters = dead_letter_queue(
            self, "StreamDeadLetters", holds="the stream consumer (its on-failure destination)"
        )
        self.function = functions.function(
            self,
            consumer.function,
            wildcard_reason=" dynamodb:ListStreams (added by the stream event source) "
            "supports no resource-level permissions either.",
            # Nothing upstream decides for a stream batch: PassThrough traces none.
            tracing=lambda_.Tracing.ACTIVE
            if settings.trace_stream_consumer
            else lambda_.Tracing.PASS_THROUGH,
        )
        # The mapping calls the `live` alias, which a release moves (infra/cloud/release.py).
        self.alias = functions.live_alias(self.function)
        self.alias.add_event_source(
            sources.DynamoEventSource(
                table,
                starting_position=lambda_.StartingPosition(consumer.starting_position),
                batch_size=consumer.batch_size,
                max_batching_window=cdk.Duration.seconds(consumer.batching_window_seconds),
                retry_attempts=consumer.max_retry_attempts,
                max_record_age=cdk.Duration.seconds(consumer.max_record_age_seconds),
                bisect_batch_on_error=consumer.bisect_on_error,
                parallelization_factor=consumer.parallelization_factor,
                report_batch_item_failures=True,
                on_failure=sources.SqsDlq(self.dead_letters),
                filters=[lambda_.FilterCriteria.filter(consumer.filter_pattern)],
            )
        )
