"""AWS clients, created once per process (at cold start), never per invocation.

`AWS_ENDPOINT_URL` (read by boto3 itself) points them at the local stack's
embedded DynamoDB, or any other compatible endpoint.

A call must give up while the function can still answer: Lambda kills a function
at its timeout and API Gateway then answers its own 502, where a function still
running answers a retryable 503 problem. The CDK app passes each function's
timeout (from the topology) as FUNCTION_TIMEOUT_SECONDS; botocore's worst case,
every try timing out plus the standard mode's backoff between tries, stays a
second below it.
"""

import os
from typing import TYPE_CHECKING, Final

import boto3
from botocore.config import Config

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

TIMEOUT_VARIABLE: Final = "FUNCTION_TIMEOUT_SECONDS"
# Time kept to answer (and flush logs and metrics) after the last try gave up.
ANSWER_SECONDS: Final = 1.0
# Tries of one call, the first included (botocore's default 3 retries); the least
# time one try gets before a try is dropped; and the per-try limits of a long-running
# function (the aggregator, the backup job, the local stack).
TRIES: Final = 4
MIN_TRY_SECONDS: Final = 1.0
CONNECT_SECONDS: Final = 2.0
READ_SECONDS: Final = 5.0


def worst_backoff_seconds(tries: int) -> float:
    """botocore's standard mode waits up to 2**(n-1) s before try n+1."""
    return float(sum(2 ** (n - 1) for n in range(1, tries)))


def timeouts(function_timeout: float | None) -> tuple[int, float, float]:
    """(tries, connect timeout, read timeout) whose worst case fits the function's."""
    if function_timeout is None:
        return TRIES, CONNECT_SECONDS, READ_SECONDS
    for tries in range(TRIES, 0, -1):
        per_try = (function_timeout - ANSWER_SECONDS - worst_backoff_seconds(tries)) / tries
        if per_try >= MIN_TRY_SECONDS or tries == 1:
            break
    per_try = max(per_try, 0.2)
    connect = min(CONNECT_SECONDS, per_try / 4)
    return tries, connect, min(READ_SECONDS, per_try - connect)


def _function_timeout() -> float | None:
    raw = os.environ.get(TIMEOUT_VARIABLE, "").strip()
    return float(raw) if raw else None


def client_config(function_timeout: float | None) -> Config:
    tries, connect, read = timeouts(function_timeout)
    return Config(
        # botocore counts `max_attempts` as retries: the first try is not one of them.
        retries={"mode": "standard", "max_attempts": tries - 1},
        connect_timeout=connect,
        read_timeout=read,
        # Emulators answer only the plain regional endpoint.
        account_id_endpoint_mode="disabled",
        # One client serves every thread of the local stack; Lambda uses one at a time.
        max_pool_connections=32,
    )


_CONFIG = client_config(_function_timeout())


def dynamodb() -> "DynamoDBClient":
    return boto3.client("dynamodb", config=_CONFIG)
