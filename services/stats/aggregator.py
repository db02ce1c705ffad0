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

Lambda counts an invocation that reports batch item failures as a success, so its
`Errors` never see a handled failure: RecordsFailed (the records reported for
retry) does, and a canary release rolls back on it (infra/cloud/release.py).
"""

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.aws import dynamodb
from shared.config import TableSettings, integer
from shared.histogram import NUMBERS
from shared.observability import LambdaHandler, Log, instrumented, logger, metrics
from shared.rollups import (
    MAX_PICKS_PER_TRANSACTION,
    PARTS_VARIABLE,
    Contention,
    RollupStore,
    unlimited,
)
from shared.submissions import Pick, is_submission_key, pick_from_item


@dataclass
class DayGroup:
    """Picks of one day, at most one transaction's worth, with their records."""

    day: str
    picks: list[Pick] = field(default_factory=list)
    sequence_numbers: list[str] = field(default_factory=list)


def make_handler(rollups: RollupStore, log: Log = logger) -> LambdaHandler:
    """The stream consumer's Lambda handler, counting into `rollups` while the
    invocation has time left."""

    def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        return aggregate(
            rollups,
            event.get("Records") or [],
            seconds_left=lambda: context.get_remaining_time_in_millis() / 1000,
            log=log,
        )

    return instrumented(lambda_handler)


def aggregate(
    rollups: RollupStore,
    records: Sequence[Mapping[str, Any]],
    seconds_left: Callable[[], float] = unlimited,
    log: Log = logger,
) -> dict[str, Any]:
    """Count a batch into `rollups`; `seconds_left` bounds the retries of contended
    writes. Returns the records to deliver again, as ReportBatchItemFailures."""
    failed: list[str] = []
    counted = 0
    contention = Contention()
    for group in day_groups(records, log):
        try:
            counted += rollups.count_once(
                group.day, group.picks, seconds_left=seconds_left, contention=contention
            )
        except Exception:
            log.exception("rollup not written; records will be retried", extra={"day": group.day})
            failed.extend(group.sequence_numbers)
    for name, value in (
        ("SubmissionsCounted", counted),
        ("RollupConflicts", contention.conflicts),
        ("RollupThrottles", contention.throttles),
        ("RollupRetries", contention.retries),
        # Sent only when a record failed, as the contention metrics: a clean batch
        # sends nothing (the alarm reads no data as not breaching) and bills nothing.
        ("RecordsFailed", len(failed)),
    ):
        if value:
            metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
    return {"batchItemFailures": [{"itemIdentifier": seq} for seq in failed]}


def day_groups(records: Iterable[Mapping[str, Any]], log: Log = logger) -> Iterator[DayGroup]:
    """Raw-submission INSERTs grouped by day, in order of first appearance, each
    group small enough for one transaction. Anything else is ignored: the event
    source filter should never let it through, but a handler does not trust that."""
    open_groups: dict[str, DayGroup] = {}
    for record in records:
        parsed = _pick(record, log)
        if parsed is None:
            continue
        pick, sequence_number = parsed
        day = pick.date
        group = open_groups.setdefault(day, DayGroup(day))
        group.picks.append(pick)
        group.sequence_numbers.append(sequence_number)
        if len(group.picks) == MAX_PICKS_PER_TRANSACTION:
            yield open_groups.pop(day)
    yield from open_groups.values()


def _pick(record: Mapping[str, Any], log: Log) -> tuple[Pick, str] | None:
    """(pick, sequence number) of a raw submission's INSERT; None for any other
    record, and for a malformed one, whatever its shape."""
    try:
        if record.get("eventName") != "INSERT":
            return None
        change = record.get("dynamodb") or {}
        if not is_submission_key(change["Keys"]):
            return None
        # The key from Keys, as the event filter matched it, whatever the image holds.
        pick = pick_from_item({**change["NewImage"], "pk": change["Keys"]["pk"]})
        sequence_number = change["SequenceNumber"]
        well_formed = (
            pick.number in NUMBERS and date.fromisoformat(pick.date).isoformat() == pick.date
        )
    except (AttributeError, KeyError, TypeError, ValueError):
        well_formed = False
    if not well_formed:
        # A malformed record can never succeed: skip it rather than block the shard.
        log.error("malformed stream record skipped")
        return None
    return pick, sequence_number


def _handler_from_environment() -> LambdaHandler:
    """The deployed handler: the table and rollup layout the environment names.

    Not mutated (`make mutation`): it runs once, at import, before a mutant is chosen;
    the integration suite runs it as deployed (the local stack counts into its table)."""
    table_name = TableSettings.from_env().table_name  # pragma: no mutate
    parts = integer(PARTS_VARIABLE, 1)  # pragma: no mutate
    store = RollupStore(dynamodb(), table_name, parts=parts)  # pragma: no mutate
    return make_handler(store)  # pragma: no mutate


# Built at import, as at a cold start: a client is made, no AWS call.
lambda_handler = _handler_from_environment()
