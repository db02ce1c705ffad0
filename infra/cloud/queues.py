"""The one way this app builds a dead-letter queue."""

from typing import Final

import aws_cdk as cdk
from aws_cdk import aws_sqs as sqs
from constructs import Construct

DLQ_RETENTION: Final = cdk.Duration.days(14)


def dead_letter_queue(scope: Construct, id: str, *, holds: str) -> sqs.Queue:
    """An encrypted, SSL-only queue that keeps what `holds` names for 14 days. Its
    depth alarm depends on the queue and the alarm level (infra/cloud/observability.py:
    the stream's at every level, the backup's at `full` only), so the acknowledgement
    below claims none."""
    queue = sqs.Queue(
        scope,
        id,
        retention_period=DLQ_RETENTION,
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
    )
    cdk.Validations.of(queue).acknowledge(
        cdk.Acknowledgment(
            id="AwsSolutions-SQS3",
            reason=f"This queue is itself the dead-letter queue of {holds}; no "
            "function consumes it (an operator reads it, RUNBOOK), so no message can "
            "fail processing and need a dead-letter queue of its own.",
        )
    )
    return queue
