"""The one way this app builds a dead-letter queue."""

from typing import Final

import aws_cdk as cdk
from aws_cdk import aws_sqs as sqs
from constructs import Construct

DLQ_RETENTION: Final = cdk.Duration.days(14)


def dead_letter_queue(scope: Construct, id: str, *, holds: str) -> sqs.Queue:
    """An encrypted, SSL-only queue that keeps what `holds` names for 14 days;
    the observability construct alarms on its depth."""
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
            reason=f"This queue is itself the dead-letter queue of {holds}; "
            "its depth raises an alarm.",
        )
    )
    return queue
