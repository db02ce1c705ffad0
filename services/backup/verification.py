"""What proves a restored table whole, whichever command restored it: its item
count against the backup's, and each day's rollup against the histogram recounted
from the day's raw submissions.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

from backup.backups import BackupDescription
from shared.histogram import Histogram
from shared.rollups import RollupStore
from shared.submissions import DayOfPicks, SubmissionStore, picks_by_day

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


@dataclass
class Findings:
    problems: list[str] = field(default_factory=list)  # the table is not trustworthy
    warnings: list[str] = field(default_factory=list)  # worth a look, not proof of loss


def check_item_count(restored_items: int, backup: BackupDescription) -> Findings:
    """The restored table's (scan-counted) items against the backup's ItemCount.

    The backup records its source table's ItemCount, which DynamoDB refreshes about
    every six hours: a difference is only a warning. An empty restore of a table
    that had items is a problem whatever the refresh."""
    found = Findings()
    if restored_items != backup.source_item_count:
        found.warnings.append(
            f"{restored_items} items restored; the source table reported "
            f"{backup.source_item_count} (approximate, refreshed about every 6 hours)"
        )
    if backup.source_item_count and not restored_items:
        found.problems.append("the backup's table had items; the restored table has none")
    return found


@dataclass(frozen=True)
class DayRecount:
    """One day of a table: its rollup as stored, and its submissions recounted."""

    day: str
    rollup: Histogram = field(default_factory=Histogram)
    # the submissions carrying the aggregation marker, and the others (still to count)
    counted: Histogram = field(default_factory=Histogram)
    uncounted: Histogram = field(default_factory=Histogram)

    @property
    def consistent(self) -> bool:
        """The exactly-once invariant: the rollup is the histogram of the marked ones."""
        return self.rollup == self.counted


def recount(client: "DynamoDBClient", table: str, first: date, last: date) -> dict[str, DayRecount]:
    """Every day in [first, last] that has a rollup or a submission, by ISO day.
    Scans the whole table (nothing indexes submissions by day): for restored
    tables and operator commands, never for requests."""
    picks = picks_by_day(
        SubmissionStore(client, table).scan_picks(first.isoformat(), last.isoformat())
    )
    rollups = RollupStore(client, table).histograms(first, last)
    recounted = {}
    for day in sorted(set(rollups) | set(picks)):
        day_picks = picks.get(day, DayOfPicks())
        recounted[day] = DayRecount(
            day,
            rollups.get(day, Histogram()),
            Histogram.of(day_picks.counted_numbers),
            Histogram.of(day_picks.uncounted_numbers),
        )
    return recounted


def days_named(texts: Iterable[str]) -> list[date]:
    """The days that rollup sort keys or submissions name; text that names none is
    left out (daily-stats never reads such a rollup)."""
    days = []
    for text in texts:
        try:
            days.append(date.fromisoformat(text))
        except ValueError:
            continue
    return days
