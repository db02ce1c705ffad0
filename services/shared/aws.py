"""AWS clients, created once per process (at cold start), never per invocation.

`AWS_ENDPOINT_URL` (read by boto3 itself) points them at the local stack's
embedded DynamoDB, or any other compatible endpoint.
"""

from typing import TYPE_CHECKING

import boto3
from botocore.config import Config

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 3},
    connect_timeout=2,
    read_timeout=5,
    # Emulators answer only the plain regional endpoint.
    account_id_endpoint_mode="disabled",
    # One client serves every thread of the local stack; Lambda uses one at a time.
    max_pool_connections=32,
)


def dynamodb() -> "DynamoDBClient":
    return boto3.client("dynamodb", config=_CONFIG)
