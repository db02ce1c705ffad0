"""Rebuild the rollups of a date range from the raw submissions.

    python -m backup.rebuild --table NAME --from YYYY-MM-DD --to YYYY-MM-DD

For after a restore, or after fixing a counting bug. It keeps the exactly-once
invariant (a day's rollup == the histogram of its *marked* submissions; unmarked
ones are still to be counted): each day's rollup is replaced by the histogram of
its marked submissions, then the unmarked ones are counted through
`RollupStore.count_once`, which marks them in the same transaction.

Run it while the aggregator's event source mapping is disabled (docs/RUNBOOK.md):
a replacement that races a count fails with RollupChanged rather than lose it,
but the rebuild then stops at that day. A day whose rollup is spread over parts
(ROLLUP_PARTS, the aggregator's setting; `make rebuild` passes the topology's)
is replaced by one item, on condition that no part absent from its snapshot
has appeared since. Reads the whole table (a Scan): an
operator command, never part of a request.
"""

import argparse
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from shared.aws import dynamodb
from shared.config import integer
from shared.histogram import Histogram
from shared.rollups import (
    MAX_PICKS_PER_TRANSACTION,
    PARTS_VARIABLE,
    RollupChanged,
    RollupSnapshot,
    RollupStore,
)
from shared.submissions import DayOfPicks, SubmissionStore, picks_by_day


@dataclass(frozen=True)
class DayRebuilt:
    day: str
    before: Histogram  # the rollup as it was
    counted: Histogram  # the marked submissions: the rollup after replacement
    newly_counted: int  # unmarked submissions counted by the rebuild

    @property
    def changed(self) -> bool:
        return self.before != self.counted or self.newly_counted > 0


def rebuild(
    submissions: SubmissionStore, rollups: RollupStore, first: date, last: date
) -> list[DayRebuilt]:
    if first > last:
        raise ValueError(f"--from ({first}) is after --to ({last})")
    # Snapshot the rollups before reading the submissions: a count that lands in
    # between changes the rollup, so its replacement fails instead of losing it.
    snapshots = rollups.snapshots(first, last)
    picks = picks_by_day(submissions.scan_picks(first.isoformat(), last.isoformat()))
    rebuilt = []
    for day in sorted(set(snapshots) | set(picks)):
        snapshot = snapshots.get(day, RollupSnapshot(day))
        day_picks = picks.get(day, DayOfPicks())
        histogram = Histogram.of(day_picks.counted_numbers)
        if snapshot.histogram != histogram or any(sk != day for sk, _ in snapshot.parts):
            rollups.replace_day(snapshot, histogram)
        pending = day_picks.uncounted
        newly = sum(
            rollups.count_once(day, pending[i : i + MAX_PICKS_PER_TRANSACTION])
            for i in range(0, len(pending), MAX_PICKS_PER_TRANSACTION)
        )
        rebuilt.append(DayRebuilt(day, snapshot.histogram, histogram, newly))
    return rebuilt


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m backup.rebuild", description="Rebuild the rollups of a date range."
    )
    parser.add_argument("--table", default=os.environ.get("TABLE_NAME"), help="default TABLE_NAME")
    parser.add_argument("--from", dest="first", type=date.fromisoformat, required=True)
    parser.add_argument("--to", dest="last", type=date.fromisoformat, required=True)
    args = parser.parse_args(argv)
    if not args.table:
        parser.error("--table (or TABLE_NAME) is required")
    client = dynamodb()
    try:
        days = rebuild(
            SubmissionStore(client, args.table),
            RollupStore(client, args.table, parts=integer(PARTS_VARIABLE, 1)),
            args.first,
            args.last,
        )
    except RollupChanged as error:
        print(
            f"STOPPED: {error}. The aggregator is counting: disable its event source "
            "mapping (docs/RUNBOOK.md) and run the rebuild again.",
            file=sys.stderr,
        )
        return 1
    except ValueError as error:
        parser.error(str(error))
    for day in days:
        print(
            f"{day.day}: rollup {day.before.count} -> {day.counted.count} picks"
            f", {day.newly_counted} uncounted submissions counted"
            + ("" if day.changed else " (unchanged)")
        )
    print(f"rebuilt {len(days)} day(s) of {args.table} from {args.first} to {args.last}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
