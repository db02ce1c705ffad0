"""The DynamoDB stream consumer: folds raw submissions into per-day rollups.

Lambda delivers stream records at least once. Counting goes through
`RollupStore.count_once`, which marks each raw submission in the same
transaction that adds it to the rollup, so a retried, replayed or duplicated
record is never counted twice. Failures are reported per record
(ReportBatchItemFailures): Lambda resumes from the first failed one.

With ROLLUP_PARTS > 1 each transaction adds to one of that many parts of the
day's rollup, so concurrent invocations (several shards, or a parallelization
factor above 1) rarely conflict. A transaction cancelled by a conflict or
throttling is retried with jittered back-off while the invocation has time
left, then its records are reported; the RollupConflicts, RollupThrottles and
RollupRetries metrics say how often.
"""

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.aws import dynamodb
from shared.histogram import NUMBERS
from shared.observability import logger, metrics, tracer
from shared.rollups import (
    MAX_PICKS_PER_TRANSACTION,
    PARTS_VARIABLE,
    Contention,
    Pick,
    RollupStore,
    unlimited,
)
from shared.settings import TableSettings, integer
from shared.submissions import KEY_PREFIX, is_submission_key

settings = TableSettings.from_env()
rollups = RollupStore(dynamodb(), settings.table_name, parts=integer(PARTS_VARIABLE, 1))


@dataclass
class DayGroup:
    """Picks of one day, at most one transaction's worth, with their records."""

    day: str
    picks: list[Pick] = field(default_factory=list)
    sequence_numbers: list[str] = field(default_factory=list)


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return aggregate(
        event.get("Records") or [],
        seconds_left=lambda: context.get_remaining_time_in_millis() / 1000,
    )


def aggregate(
    records: Sequence[Mapping[str, Any]], seconds_left: Callable[[], float] = unlimited
) -> dict[str, Any]:
    """Count a batch; `seconds_left` bounds the retries of contended writes."""
    failed: list[str] = []
    counted = 0
    contention = Contention()
    for group in day_groups(records):
        try:
            counted += rollups.count_once(
                group.day, group.picks, seconds_left=seconds_left, contention=contention
            )
        except Exception:
            logger.exception(
                "rollup not written; records will be retried", extra={"day": group.day}
            )
            failed.extend(group.sequence_numbers)
    for name, value in (
        ("SubmissionsCounted", counted),
        ("RollupConflicts", contention.conflicts),
        ("RollupThrottles", contention.throttles),
        ("RollupRetries", contention.retries),
    ):
        if value:
            metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
    return {"batchItemFailures": [{"itemIdentifier": seq} for seq in failed]}


def day_groups(records: Iterable[Mapping[str, Any]]) -> Iterator[DayGroup]:
    """Raw-submission INSERTs grouped by day, in order of first appearance, each
    group small enough for one transaction. Anything else is ignored: the event
    source filter should never let it through, but a handler does not trust that."""
    open_groups: dict[str, DayGroup] = {}
    for record in records:
        parsed = _pick(record)
        if parsed is None:
            continue
        day, pick, sequence_number = parsed
        group = open_groups.setdefault(day, DayGroup(day))
        group.picks.append(pick)
        group.sequence_numbers.append(sequence_number)
        if len(group.picks) == MAX_PICKS_PER_TRANSACTION:
            yield open_groups.pop(day)
    yield from open_groups.values()


def _pick(record: Mapping[str, Any]) -> tuple[str, Pick, str] | None:
    """(day, pick, sequence number) of a raw submission's INSERT; None for any
    other record, and for a malformed one, whatever its shape."""
    try:
        if record.get("eventName") != "INSERT":
            return None
        change = record.get("dynamodb") or {}
        pk = change["Keys"]["pk"]["S"]
        if not is_submission_key(pk):
            return None
        image = change["NewImage"]
        day, number = image["date"]["S"], int(image["number"]["N"])
        sequence_number = change["SequenceNumber"]
        well_formed = number in NUMBERS and date.fromisoformat(day).isoformat() == day
    except (AttributeError, KeyError, TypeError, ValueError):
        well_formed = False
    if not well_formed:
        # A malformed record can never succeed: skip it rather than block the shard.
        logger.error("malformed stream record skipped")
        return None
    return day, Pick(pk.removeprefix(KEY_PREFIX), number), sequence_number
