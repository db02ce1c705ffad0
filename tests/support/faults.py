"""Fault injection around a DynamoDB client, for the aggregator's write path.

`FaultyClient` wraps a real (moto) client and lets a test script what happens
to each `TransactWriteItems` call, in order: nothing, a failure before the
request reaches DynamoDB, a failure after DynamoDB applied it (the client sees
an error although the write happened), a cancelled transaction (conflict or throttling), or
the invocation dying on the spot (a Lambda timeout: no handler code runs).
"""

import enum
from collections import deque
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, cast

from botocore.exceptions import EndpointConnectionError, ReadTimeoutError

from shared.rollups import Backoff

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


class Fault(enum.Enum):
    NONE = "none"
    BEFORE_WRITE = "before-write"
    AFTER_WRITE = "after-write"
    CONFLICT = "conflict"
    THROTTLED = "throttled"
    REJECTED = "rejected"  # cancelled for a reason that waiting does not clear
    TIMEOUT = "timeout"


def skipped_waits(waits: list[float] | None = None) -> Backoff:
    """count_once's back-off with its waits recorded in `waits`, never slept."""
    record = waits if waits is not None else []
    return Backoff(sleep=record.append)


class InvocationTimedOut(BaseException):
    """The Lambda invocation was killed: nothing catches it, the batch is retried whole."""


class FaultyClient:
    """A DynamoDB client whose next TransactWriteItems calls fail as scripted."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self._script: deque[Fault] = deque()
        self.transactions_applied = 0
        # every TransactWriteItems request, refused or not, in order
        self.transactions_attempted: list[list[Any]] = []

    def inject(self, faults: Iterable[Fault]) -> None:
        self._script.extend(faults)

    def as_dynamodb(self) -> "DynamoDBClient":
        """This wrapper, typed as the client it stands in for."""
        return cast("DynamoDBClient", self)

    @property
    def pending_faults(self) -> int:
        return len(self._script)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def transact_write_items(self, **request: Any) -> Any:
        self.transactions_attempted.append(request["TransactItems"])
        fault = self._script.popleft() if self._script else Fault.NONE
        if fault is Fault.TIMEOUT:
            raise InvocationTimedOut
        if fault is Fault.BEFORE_WRITE:
            raise EndpointConnectionError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com")
        if fault is Fault.CONFLICT:
            raise self._cancelled(len(request["TransactItems"]), "TransactionConflict")
        if fault is Fault.THROTTLED:
            raise self._cancelled(len(request["TransactItems"]), "ThrottlingError")
        if fault is Fault.REJECTED:
            raise self._cancelled(len(request["TransactItems"]), "ValidationError")
        response = self._client.transact_write_items(**request)
        self.transactions_applied += 1
        if fault is Fault.AFTER_WRITE:
            raise ReadTimeoutError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com")
        return response

    def _cancelled(self, actions: int, code: str) -> Exception:
        """What DynamoDB answers when another transaction holds the rollup item
        (TransactionConflict) or the item's partition is over its throughput
        (ThrottlingError)."""
        reasons = [{"Code": "None"}] * (actions - 1) + [{"Code": code, "Message": code}]
        error: Exception = self._client.exceptions.TransactionCanceledException(
            {
                "Error": {"Code": "TransactionCanceledException", "Message": "cancelled"},
                "CancellationReasons": reasons,
            },
            "TransactWriteItems",
        )
        return error
