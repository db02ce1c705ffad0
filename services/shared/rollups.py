"""The rollup store: one small item per UTC day holding the day's histogram.

Keys: pk = ROLLUP#YYYY-MM, sk = YYYY-MM-DD, so a date range is one Query per
month, never a Scan. The counts live in top-level attributes n1..n10 so that
atomic `ADD` works on a rollup that does not exist yet. A sort key may carry a
`#part` suffix (write sharding): with `parts` > 1 the aggregator spreads a day's
counts over the items `day`, `day#1` … `day#<parts-1>`, a part chosen at random
per transaction, so concurrent writers rarely meet on one item; readers merge
the parts.

Exactly-once counting: a group of picks of one day is counted in one
transaction that marks every raw submission (only if not marked yet) and adds
the group's histogram to the rollup. A submission counted before makes the
transaction fail on its marker; it is dropped and the rest is retried. Retries,
replays and concurrent consumers therefore never count a submission twice.

Contention: a transaction cancelled for a conflict with another transaction or
for throttling is retried (on another part when there are several) after a
capped, fully jittered exponential wait, while attempts and the caller's time
last; then RollupContention, and the caller reports its records for retry.
"""

import calendar
import math
import random
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any, Final

from shared.histogram import NUMBERS, Histogram
from shared.submissions import MARKER, Pick, submission_key

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef

KEY_PREFIX: Final = "ROLLUP#"
# The aggregator's setting: over how many items each day's counts are spread.
PARTS_VARIABLE: Final = "ROLLUP_PARTS"
# TransactWriteItems takes at most 100 actions: 99 markers and the rollup.
MAX_PICKS_PER_TRANSACTION: Final = 99
# A rebuild replaces a day in one transaction of at most 100 actions: one per part,
# deleted or written if present, checked still absent if not.
MAX_PARTS: Final = 100
# Cancellation reasons that clear by themselves: retried after a wait.
_CONFLICT: Final = "TransactionConflict"
_THROTTLED: Final = frozenset({"ProvisionedThroughputExceeded", "ThrottlingError"})


def rollup_partition(day: date) -> str:
    return f"{KEY_PREFIX}{day:%Y-%m}"


def is_rollup_key(pk: str) -> bool:
    return pk.startswith(KEY_PREFIX)


def part_key(day: str, part: int) -> str:
    """The sort key of a day's rollup part: part 0 is the day itself."""
    return f"{day}#{part}" if part else day


def unlimited() -> float:
    """The time left of a caller without a deadline."""
    return math.inf


def _attribute(number: int) -> str:
    return f"n{number}"


def rollup_histogram(item: Mapping[str, Any]) -> Histogram:
    """The counts a rollup item (one day, or one part of a day) holds."""
    return Histogram.from_mapping(
        {n: int(item[_attribute(n)]["N"]) for n in NUMBERS if _attribute(n) in item}
    )


class RollupContention(RuntimeError):
    """The rollup could not be written after several attempts (conflicts, throttling)."""


@dataclass(frozen=True)
class Backoff:
    """How long count_once waits before attempt n+1 at a contended transaction:
    a uniformly random time up to min(cap, first * 2**n) seconds ("full jitter"),
    for at most `attempts` attempts, and never past `reserve` seconds before the
    caller's time runs out."""

    attempts: int = 8
    first: float = 0.025
    cap: float = 1.0
    reserve: float = 2.0
    sleep: Callable[[float], None] = time.sleep

    def ceiling(self, failures: int) -> float:
        return min(self.cap, self.first * 2.0**failures)


@dataclass
class Contention:
    """What one caller's rollup writes met: cancellations by cause, and retries."""

    conflicts: int = 0
    throttles: int = 0
    retries: int = 0


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
    def __init__(
        self,
        client: "DynamoDBClient",
        table_name: str,
        *,
        parts: int = 1,
        backoff: Backoff = Backoff(),
        rng: random.Random | None = None,
    ) -> None:
        if not 1 <= parts <= MAX_PARTS:
            raise ValueError(f"rollup parts must be from 1 to {MAX_PARTS}, not {parts}")
        self._client = client
        self._table = table_name
        self._parts = parts
        self._backoff = backoff
        self._rng = rng or random.Random()  # noqa: S311 (spreading load, not secrets)

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
                    yield item["sk"]["S"], rollup_histogram(item)

    def replace_day(self, snapshot: RollupSnapshot, histogram: Histogram) -> None:
        """Make `histogram` the whole rollup of the snapshot's day (one item, the day's
        part 0), in one transaction that holds only if every rollup item of the day
        is still as in the snapshot and no part absent from it has appeared
        (otherwise RollupChanged: a concurrent count would be lost or kept twice)."""
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
                put["ConditionExpression"] = _ABSENT
            actions.append({"Put": put})
        if not actions:
            return
        for sort_key in (part_key(day, part) for part in range(self._parts)):
            if sort_key not in before and not (sort_key == day and histogram.count):
                check: Any = {
                    "TableName": self._table,
                    "Key": _key(partition, sort_key),
                    "ConditionExpression": _ABSENT,
                }
                actions.append({"ConditionCheck": check})
        try:
            self._client.transact_write_items(TransactItems=actions)
        except self._client.exceptions.TransactionCanceledException as error:
            reasons = error.response.get("CancellationReasons", [])
            if any(r.get("Code") == "ConditionalCheckFailed" for r in reasons):
                raise RollupChanged(f"the rollup of {day} changed while it was rebuilt") from error
            raise

    def count_once(
        self,
        day: str,
        picks: Iterable[Pick],
        *,
        seconds_left: Callable[[], float] = unlimited,
        contention: Contention | None = None,
    ) -> int:
        """Count each pick of `day` exactly once; returns how many were newly counted.

        At most MAX_PICKS_PER_TRANSACTION distinct submissions per call. A transaction
        cancelled by a conflict or throttling is retried after a jittered wait while
        the back-off allows it and `seconds_left()` leaves its reserve; then
        RollupContention. What was met is added to `contention`.
        """
        pending = list({pick.submission_id: pick for pick in picks}.values())
        if len(pending) > MAX_PICKS_PER_TRANSACTION:
            raise ValueError(f"at most {MAX_PICKS_PER_TRANSACTION} picks per transaction")
        met = contention or Contention()
        transient_failures = 0
        part = self._rng.randrange(self._parts)
        while pending:
            try:
                self._client.transact_write_items(
                    TransactItems=self._transaction(day, pending, part)
                )
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
                codes = {reason.get("Code") for reason in reasons}
                if _CONFLICT in codes:
                    met.conflicts += 1
                elif codes & _THROTTLED:
                    met.throttles += 1
                else:
                    raise  # a validation error or the like: waiting will not help
                transient_failures += 1
                wait = self._rng.uniform(0, self._backoff.ceiling(transient_failures))
                if (
                    transient_failures >= self._backoff.attempts
                    or wait + self._backoff.reserve > seconds_left()
                ):
                    raise RollupContention(f"rollup of {day} not written: {reasons}") from error
                met.retries += 1
                self._backoff.sleep(wait)
                part = self._other_part(part)
            else:
                return len(pending)
        return 0

    def _other_part(self, part: int) -> int:
        """Another part than the contended one, at random; the only one if one."""
        if self._parts == 1:
            return part
        return (part + 1 + self._rng.randrange(self._parts - 1)) % self._parts

    def _transaction(
        self, day: str, picks: list[Pick], part: int
    ) -> list["TransactWriteItemTypeDef"]:
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
                "Key": _key(rollup_partition(date.fromisoformat(day)), part_key(day, part)),
                "UpdateExpression": "ADD "
                + ", ".join(f"{_attribute(n)} :{_attribute(n)}" for n in added),
                "ExpressionAttributeValues": {
                    f":{_attribute(n)}": {"N": str(histogram[n])} for n in added
                },
            }
        }
        return [*marks, rollup]


_ABSENT: Final = "attribute_not_exists(pk)"


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
