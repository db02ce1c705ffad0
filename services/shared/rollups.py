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

import calendar
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any, Final

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


class RollupChanged(RuntimeError):
    """A day's rollup changed between its snapshot and its replacement."""


@dataclass(frozen=True)
class RollupSnapshot:
    """A day's rollup items as read: the base of an optimistic replacement."""

    day: str
    parts: tuple[tuple[str, Histogram], ...] = ()  # (sort key, histogram) of each item

    @property
    def histogram(self) -> Histogram:
        return sum((h for _, h in self.parts), Histogram())


def _months(first: date, last: date) -> Iterator[tuple[date, date]]:
    """(start, end) of each calendar month's slice of [first, last]."""
    if first > last:
        return
    start = first
    while True:
        month_end = start.replace(day=calendar.monthrange(start.year, start.month)[1])
        if month_end >= last:
            yield start, last
            return
        yield start, month_end
        start = month_end + timedelta(days=1)


class RollupStore:
    def __init__(self, client: "DynamoDBClient", table_name: str) -> None:
        self._client = client
        self._table = table_name

    def histograms(self, first: date, last: date) -> dict[str, Histogram]:
        """The histogram of every day in [first, last] that has one, by ISO day."""
        found: dict[str, Histogram] = {}
        for sort_key, histogram in self._items(first, last, consistent=False):
            day = sort_key[:10]
            found[day] = found.get(day, Histogram()) + histogram
        return found

    def snapshots(self, first: date, last: date) -> dict[str, RollupSnapshot]:
        """The rollup items of every day in [first, last] that has any, by ISO day,
        read consistently: the base of an optimistic replacement."""
        parts: dict[str, list[tuple[str, Histogram]]] = {}
        for sort_key, histogram in self._items(first, last, consistent=True):
            parts.setdefault(sort_key[:10], []).append((sort_key, histogram))
        return {day: RollupSnapshot(day, tuple(found)) for day, found in parts.items()}

    def _items(
        self, first: date, last: date, *, consistent: bool
    ) -> Iterator[tuple[str, Histogram]]:
        """(sort key, histogram) of each rollup item in [first, last]: one Query per month."""
        paginator = self._client.get_paginator("query")
        for start, end in _months(first, last):
            pages = paginator.paginate(
                TableName=self._table,
                ConsistentRead=consistent,
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
                    yield (
                        item["sk"]["S"],
                        Histogram.from_mapping(
                            {
                                n: int(item[_attribute(n)]["N"])
                                for n in NUMBERS
                                if _attribute(n) in item
                            }
                        ),
                    )

    def replace_day(self, snapshot: RollupSnapshot, histogram: Histogram) -> None:
        """Make `histogram` the whole rollup of the snapshot's day, in one transaction
        that holds only if every rollup item of the day is still as in the snapshot
        (otherwise RollupChanged: a concurrent count would be lost)."""
        day = snapshot.day
        partition = rollup_partition(date.fromisoformat(day))
        actions: list[TransactWriteItemTypeDef] = []
        before = dict(snapshot.parts)
        for sort_key, counts in before.items():
            if sort_key != day or not histogram.count:
                delete: Any = {
                    "TableName": self._table,
                    "Key": _key(partition, sort_key),
                    **_unchanged(counts),
                }
                actions.append({"Delete": delete})
        if histogram.count:
            put: Any = {
                "TableName": self._table,
                "Item": {
                    **_key(partition, day),
                    **{_attribute(n): {"N": str(c)} for n, c in histogram.items() if c},
                },
            }
            if day in before:
                put.update(_unchanged(before[day]))
            else:
                put["ConditionExpression"] = "attribute_not_exists(pk)"
            actions.append({"Put": put})
        if not actions:
            return
        try:
            self._client.transact_write_items(TransactItems=actions)
        except self._client.exceptions.TransactionCanceledException as error:
            reasons = error.response.get("CancellationReasons", [])
            if any(r.get("Code") == "ConditionalCheckFailed" for r in reasons):
                raise RollupChanged(f"the rollup of {day} changed while it was rebuilt") from error
            raise

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
                "UpdateExpression": "ADD "
                + ", ".join(f"{_attribute(n)} :{_attribute(n)}" for n in added),
                "ExpressionAttributeValues": {
                    f":{_attribute(n)}": {"N": str(histogram[n])} for n in added
                },
            }
        }
        return [*marks, rollup]


def _key(partition: str, sort_key: str) -> dict[str, Any]:
    return {"pk": {"S": partition}, "sk": {"S": sort_key}}


def _unchanged(histogram: Histogram) -> dict[str, Any]:
    """Condition arguments that hold only while a rollup item has these counts."""
    conditions = ["attribute_exists(pk)"]
    values: dict[str, Any] = {}
    for n, count in histogram.items():
        # A count of zero is stored as a missing attribute or as 0.
        conditions.append(
            f"{_attribute(n)} = :{_attribute(n)}"
            if count
            else f"(attribute_not_exists({_attribute(n)}) OR {_attribute(n)} = :zero)"
        )
        if count:
            values[f":{_attribute(n)}"] = {"N": str(count)}
        else:
            values[":zero"] = {"N": "0"}
    return {"ConditionExpression": " AND ".join(conditions), "ExpressionAttributeValues": values}


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
