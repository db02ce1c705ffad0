"""The rollup store: one small item per UTC day holding the day's histogram.

Keys: pk = ROLLUP#YYYY-MM, sk = YYYY-MM-DD, so a date range is one Query per
month, never a Scan. The counts live in top-level attributes n1..n10 so that
atomic `ADD` works on a rollup that does not exist yet. A sort key may carry a
`#part` suffix (write sharding for a very hot day); readers merge the parts.

Exactly-once counting: a group of picks of one day is counted in one
transaction that marks every raw submission (only if not marked yet) and adds
the group's histogram to the rollup. A submission counted before makes the
transaction fail on its marker; it is dropped and the rest is retried. Retries,
replays and concurrent consumers therefore never count a submission twice.
"""

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Final

from shared.histogram import NUMBERS, Histogram
from shared.submissions import MARKER, submission_key

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef

KEY_PREFIX: Final = "ROLLUP#"
# TransactWriteItems takes at most 100 actions: 99 markers and the rollup.
MAX_PICKS_PER_TRANSACTION: Final = 99
_TRANSIENT_ATTEMPTS: Final = 4


def rollup_partition(day: date) -> str:
    return f"{KEY_PREFIX}{day:%Y-%m}"


def is_rollup_key(pk: str) -> bool:
    return pk.startswith(KEY_PREFIX)


def _attribute(number: int) -> str:
    return f"n{number}"


@dataclass(frozen=True)
class Pick:
    """One raw submission as the aggregator sees it."""

    submission_id: str
    number: int


class RollupContention(RuntimeError):
    """The rollup could not be written after several attempts (conflicts, throttling)."""


def _months(first: date, last: date) -> Iterator[tuple[date, date]]:
    """(start, end) of each calendar month's slice of [first, last]."""
    start = first
    while start <= last:
        next_month = (start.replace(day=1) + timedelta(days=32)).replace(day=1)
        end = min(last, next_month - timedelta(days=1))
        yield start, end
        start = next_month


class RollupStore:
    def __init__(self, client: "DynamoDBClient", table_name: str) -> None:
        self._client = client
        self._table = table_name

    def histograms(self, first: date, last: date) -> dict[str, Histogram]:
        """The histogram of every day in [first, last] that has one, by ISO day."""
        found: dict[str, Histogram] = {}
        paginator = self._client.get_paginator("query")
        for start, end in _months(first, last):
            pages = paginator.paginate(
                TableName=self._table,
                KeyConditionExpression="pk = :pk AND sk BETWEEN :first AND :last",
                ExpressionAttributeValues={
                    ":pk": {"S": rollup_partition(start)},
                    ":first": {"S": start.isoformat()},
                    # "~" sorts after "#", so parts of the last day are included.
                    ":last": {"S": end.isoformat() + "~"},
                },
            )
            for page in pages:
                for item in page.get("Items", []):
                    day = item["sk"]["S"][:10]
                    histogram = Histogram.from_mapping(
                        {n: int(item[_attribute(n)]["N"]) for n in NUMBERS if _attribute(n) in item}
                    )
                    found[day] = found.get(day, Histogram()) + histogram
        return found

    def count_once(self, day: str, picks: Iterable[Pick]) -> int:
        """Count each pick of `day` exactly once; returns how many were newly counted.

        At most MAX_PICKS_PER_TRANSACTION distinct submissions per call.
        """
        pending = list({pick.submission_id: pick for pick in picks}.values())
        if len(pending) > MAX_PICKS_PER_TRANSACTION:
            raise ValueError(f"at most {MAX_PICKS_PER_TRANSACTION} picks per transaction")
        transient_failures = 0
        while pending:
            try:
                self._client.transact_write_items(TransactItems=self._transaction(day, pending))
            except self._client.exceptions.TransactionCanceledException as error:
                reasons = error.response.get("CancellationReasons", [])
                counted = {
                    pick.submission_id
                    for pick, reason in zip(pending, reasons, strict=False)
                    if reason.get("Code") == "ConditionalCheckFailed"
                }
                if counted:
                    # Already counted (or gone): drop them and count the rest.
                    pending = [p for p in pending if p.submission_id not in counted]
                    continue
                transient_failures += 1
                if transient_failures >= _TRANSIENT_ATTEMPTS:
                    raise RollupContention(f"rollup of {day} not written: {reasons}") from error
                time.sleep(0.05 * 2**transient_failures)
            else:
                return len(pending)
        return 0

    def _transaction(self, day: str, picks: list[Pick]) -> list["TransactWriteItemTypeDef"]:
        histogram = Histogram.of(p.number for p in picks)
        added = [n for n, count in histogram.items() if count]
        marks: list[TransactWriteItemTypeDef] = [
            {
                "Update": {
                    "TableName": self._table,
                    "Key": submission_key(p.submission_id),
                    "UpdateExpression": "SET #marker = :now",
                    "ConditionExpression": "attribute_exists(pk) AND attribute_not_exists(#marker)",
                    "ExpressionAttributeNames": {"#marker": MARKER},
                    "ExpressionAttributeValues": {":now": {"S": _now()}},
                }
            }
            for p in picks
        ]
        rollup: TransactWriteItemTypeDef = {
            "Update": {
                "TableName": self._table,
                "Key": {
                    "pk": {"S": rollup_partition(date.fromisoformat(day))},
                    "sk": {"S": day},
                },
                "UpdateExpression": "ADD " + ", ".join(f"n{n} :n{n}" for n in added),
                "ExpressionAttributeValues": {f":n{n}": {"N": str(histogram[n])} for n in added},
            }
        }
        return [*marks, rollup]


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
