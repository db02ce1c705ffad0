"""The restore drill: restore the newest backup into a scratch table and prove it.

    python -m backup.drill --phase start|verify|both [--table NAME] [--window-days N]

`start` deletes any scratch table a previous drill left behind, then restores the
table's newest AVAILABLE backup into `<table>-drill-<UTC time>`, billed per
request (nothing taken from the provisioned free tier) and without a stream (a
restored table has none; the drill enables none). `verify` finds that table by
its prefix (ListTables) and its backup by the table's RestoreSummary, waits until
it is ACTIVE, and checks
  (a) its item count (scanned) against the backup's;
  (b) every closed day (the `window_days` days before the backup's UTC day; the
      backup's own day was still open): its rollup equals the histogram recounted
      from its restored submissions, and equals the live table's rollup;
and then always deletes the scratch table. A table still being created cannot be
deleted: the verify says so, and the next `start` deletes it. `both` runs the two
in one process (the local stack restores in seconds) and prints the result as
one JSON object on its last line.

Why two phases on two schedules: a restore can take longer than a Lambda may run
(15 minutes). Two EventBridge Scheduler schedules invoking one function with
{"phase": "start"} and {"phase": "verify"} cost nothing and need nothing new to
emulate locally (the local scheduler already runs schedules). A Step Functions
state machine (start, wait, poll, verify) would be free at weekly scale too, but
would add a state machine and its role to deploy, and a state-machine engine to
the local stack. Nothing is recorded between the phases: DynamoDB itself holds
the state (the scratch table, and its RestoreSummary).

A drill that cannot run is a failed drill: with no AVAILABLE backup it reports
passed=false (DrillFailed=1). A new environment takes its first backup as it
deploys (backup.handler), so a drill that finds none means the backups are not
being taken or were all deleted: that must reach a human, not be skipped.

seconds_to_restore runs from the scratch table's CreationDateTime (when the
restore began; RestoreSummary.RestoreDateTime is the backup's time, not the
restore's) to the moment `verify` saw the table ACTIVE: exact (to a poll) when
verify had to wait, else an upper bound (restore_time_exact=false).

What it calls, for the least-privilege role the wiring gives it (see the
`*_ACTIONS` constants of
backup.drill_settings): on the live table, ListBackups (no resource-level
permission: Resource "*"), DescribeBackup and RestoreTableFromBackup on the
table's backups (`table/<table>/backup/*`), Query on its ROLLUP# items only
(condition dynamodb:LeadingKeys ROLLUP#*); on the scratch tables
(`table/<table>-drill-*`), the read and write actions AWS documents that
RestoreTableFromBackup needs on its target, plus DescribeTable, Scan, Query and
DeleteTable; ListTables (Resource "*").
"""

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Final

from aws_lambda_powertools.metrics import MetricUnit

from backup.backups import (
    RESTORE_MAX_POLLS,
    RESTORE_POLL_SECONDS,
    BackupStore,
    count_items,
    describe_backup,
    describe_restored,
    start_restore,
    table_status,
    tables_named,
    wait_until_active,
)
from backup.drill_settings import (
    DEFAULT_WINDOW_DAYS,
    STAMP_FORMAT,
    START,
    VERIFY,
    WINDOW_DAYS_VARIABLE,
    DrillSettings,
)
from backup.retention import available_newest_first
from backup.verification import DayRecount, check_item_count, recount
from shared.aws import dynamodb
from shared.config import MissingSetting, integer
from shared.histogram import NUMBERS, Histogram
from shared.observability import logger, metrics
from shared.rollups import RollupStore, unlimited

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

BOTH: Final = "both"
PHASES: Final = (START, VERIFY)

# The metrics: DrillFailed (1 when a phase did not pass: failure or drift) is the one
# an alarm watches; the others are for the dashboard, from `verify` only.
FAILED_METRIC: Final = "DrillFailed"
PASSED_METRIC: Final = "DrillPassed"
DAYS_CHECKED_METRIC: Final = "DrillDaysChecked"
DAYS_DRIFTED_METRIC: Final = "DrillDaysDrifted"
SECONDS_TO_RESTORE_METRIC: Final = "DrillSecondsToRestore"

# `verify` stops waiting for ACTIVE this long before its time runs out, to check the
# table and delete it: run it with Lambda's longest timeout (900 s).
VERIFY_RESERVE_SECONDS: Final = 300

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class DrillResult:
    phase: str
    table: str
    passed: bool = False
    backup_arn: str = ""
    backup_created: str = ""  # ISO time
    scratch_table: str = ""
    days_checked: int = 0
    days_drifted: list[str] = field(default_factory=list)  # ISO days
    seconds_to_restore: float | None = None
    restore_time_exact: bool = False  # False: an upper bound (ACTIVE before verify looked)
    problems: list[str] = field(default_factory=list)  # each one fails the drill
    warnings: list[str] = field(default_factory=list)

    def stopped_by(self, error: Exception) -> None:
        logger.exception("restore drill stopped", extra={"phase": self.phase})
        self.problems.append(f"the {self.phase} phase stopped: {type(error).__name__}: {error}")

    def finished(self) -> "DrillResult":
        self.passed = not self.problems
        return self


def start(client: "DynamoDBClient", settings: DrillSettings, now: datetime) -> DrillResult:
    """Delete what a previous drill left behind, then restore the newest backup."""
    result = DrillResult(START, settings.table_name)
    try:
        if _delete_scratch_tables(client, settings, result):
            _restore_newest(client, settings, now, result)
    except Exception as error:  # any failure is the drill's outcome, reported and alarmed
        result.stopped_by(error)
    return result.finished()


def _restore_newest(
    client: "DynamoDBClient", settings: DrillSettings, now: datetime, result: DrillResult
) -> None:
    newest = available_newest_first(BackupStore(client, settings.table_name).list())
    if not newest:
        result.problems.append(
            f"no AVAILABLE backup of {settings.table_name} to restore: the nightly "
            "backup is not being taken (a new environment takes its first as it deploys)"
        )
        return
    backup = newest[0]
    scratch = settings.scratch_prefix + now.astimezone(UTC).strftime(STAMP_FORMAT)
    start_restore(client, backup.arn, scratch, on_demand=True)
    result.backup_arn, result.backup_created = backup.arn, backup.created.isoformat()
    result.scratch_table = scratch
    logger.info("restore drill started", extra={"backup": backup.name, "scratch_table": scratch})


def verify(
    client: "DynamoDBClient",
    settings: DrillSettings,
    seconds_left: Callable[[], float] = unlimited,
    clock: Clock = utc_now,
    started: DrillResult | None = None,
) -> DrillResult:
    """Check the newest scratch table (with `started`, the one that start restored)
    and delete every scratch table, whatever happens."""
    result = DrillResult(VERIFY, settings.table_name)
    scratch_tables: list[str] = []
    try:
        scratch_tables = tables_named(client, settings.scratch_prefix)
        if not scratch_tables:
            result.problems.append(
                f"no scratch table {settings.scratch_prefix}*: the start phase restored "
                "nothing (see its result)"
            )
        else:
            result.scratch_table = started.scratch_table if started else scratch_tables[-1]
            _verify_scratch(client, settings, seconds_left, clock, started, result)
    except Exception as error:  # any failure is the drill's outcome, reported and alarmed
        result.stopped_by(error)
    finally:
        _delete_scratch_tables(client, settings, result, scratch_tables)
    return result.finished()


def _verify_scratch(
    client: "DynamoDBClient",
    settings: DrillSettings,
    seconds_left: Callable[[], float],
    clock: Clock,
    started: DrillResult | None,
    result: DrillResult,
) -> None:
    scratch = describe_restored(client, result.scratch_table)
    backup_arn = started.backup_arn if started else scratch.source_backup_arn
    if not backup_arn:
        result.problems.append(f"{scratch.name} has no RestoreSummary: not a restored table")
        return
    backup = describe_backup(client, backup_arn)
    result.backup_arn, result.backup_created = backup.arn, backup.created.isoformat()

    polls = min(
        RESTORE_MAX_POLLS, (seconds_left() - VERIFY_RESERVE_SECONDS) // RESTORE_POLL_SECONDS
    )
    if not wait_until_active(client, scratch.name, int(polls)):
        result.problems.append(
            f"{scratch.name} is still {table_status(client, scratch.name)} "
            f"{(clock() - scratch.created).total_seconds():.0f} s after the restore began"
        )
        return
    result.seconds_to_restore = (clock() - scratch.created).total_seconds()
    result.restore_time_exact = scratch.status != "ACTIVE"

    found = check_item_count(count_items(client, scratch.name).total, backup)
    result.problems += found.problems
    result.warnings += found.warnings
    _check_closed_days(
        client, settings, scratch.name, backup.created.astimezone(UTC).date(), result
    )


def _check_closed_days(
    client: "DynamoDBClient",
    settings: DrillSettings,
    scratch: str,
    backup_day: date,
    result: DrillResult,
) -> None:
    """Each closed day of the window: restored rollup == recount == live rollup."""
    first, last = backup_day - timedelta(days=settings.window_days), backup_day - timedelta(days=1)
    restored = recount(client, scratch, first, last)
    # A read-only Query per month of the live table's rollups.
    live = RollupStore(client, settings.table_name).histograms(first, last)
    days = sorted(set(restored) | set(live))
    for day in days:
        backed_up = restored.get(day, DayRecount(day))
        live_rollup = live.get(day, Histogram())
        found = []
        if not backed_up.consistent:
            found.append(
                f"the backup's rollup holds {backed_up.rollup.count} picks, its counted "
                f"submissions {backed_up.counted.count}"
            )
        if not _explained_by_later_counts(backed_up, live_rollup):
            found.append(
                f"the live rollup holds {live_rollup.count} picks, the backup's "
                f"{backed_up.rollup.count}"
            )
        if found:
            result.days_drifted.append(day)
            result.problems.append(
                f"{day}: {'; '.join(found)}: rebuild it with `python -m backup.rebuild "
                f"--table {settings.table_name} --from {day} --to {day}`"
            )
    result.days_checked = len(days)


def _explained_by_later_counts(backed_up: DayRecount, live_rollup: Histogram) -> bool:
    """Whether the live rollup is the backed-up one plus some of the submissions the
    backup held uncounted (the aggregator counted them after the backup): equal,
    when there were none."""
    return all(0 <= live_rollup[n] - backed_up.rollup[n] <= backed_up.uncounted[n] for n in NUMBERS)


def _delete_scratch_tables(
    client: "DynamoDBClient",
    settings: DrillSettings,
    result: DrillResult,
    names: Sequence[str] | None = None,
) -> bool:
    """Delete the scratch tables `names` (by default every one there is); whether none
    is left that a drill could mistake for its own."""
    all_gone = True
    for name in tables_named(client, settings.scratch_prefix) if names is None else names:
        try:
            status = table_status(client, name)
            if status != "DELETING":
                client.delete_table(TableName=name)
        except client.exceptions.ResourceNotFoundException:
            continue
        except client.exceptions.ResourceInUseException:
            all_gone = False
            result.problems.append(
                f"scratch table {name} is still being created and cannot be deleted yet: "
                "the next start phase deletes it"
            )
        else:
            logger.info("scratch table deleted", extra={"scratch_table": name})
    return all_gone


def run_phase(
    client: "DynamoDBClient",
    settings: DrillSettings,
    phase: str,
    seconds_left: Callable[[], float] = unlimited,
    clock: Clock = utc_now,
) -> DrillResult:
    if phase == START:
        return start(client, settings, clock())
    if phase == VERIFY:
        return verify(client, settings, seconds_left, clock)
    raise ValueError(f"unknown drill phase {phase!r}: {' or '.join(PHASES)}")


def publish(result: DrillResult) -> None:
    """The outcome as metrics (DrillFailed from every phase, the rest from verify) and
    one structured log line."""
    metrics.add_metric(name=FAILED_METRIC, unit=MetricUnit.Count, value=int(not result.passed))
    if result.phase == VERIFY:
        metrics.add_metric(name=PASSED_METRIC, unit=MetricUnit.Count, value=int(result.passed))
        metrics.add_metric(
            name=DAYS_CHECKED_METRIC, unit=MetricUnit.Count, value=result.days_checked
        )
        metrics.add_metric(
            name=DAYS_DRIFTED_METRIC, unit=MetricUnit.Count, value=len(result.days_drifted)
        )
        if result.seconds_to_restore is not None:
            metrics.add_metric(
                name=SECONDS_TO_RESTORE_METRIC,
                unit=MetricUnit.Seconds,
                value=result.seconds_to_restore,
            )
    log = logger.info if result.passed else logger.error
    log(f"restore drill {result.phase}", extra={"drill": asdict(result)})


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m backup.drill", description="Restore the newest backup and prove it."
    )
    parser.add_argument("--phase", choices=(*PHASES, BOTH), default=BOTH)
    parser.add_argument("--table", default=os.environ.get("TABLE_NAME"), help="default TABLE_NAME")
    parser.add_argument(
        "--window-days",
        type=int,
        help=f"closed days to check (default {WINDOW_DAYS_VARIABLE} or {DEFAULT_WINDOW_DAYS})",
    )
    args = parser.parse_args(argv)
    if not args.table:
        parser.error("--table (or TABLE_NAME) is required")
    try:
        window = integer(WINDOW_DAYS_VARIABLE, DEFAULT_WINDOW_DAYS)
        settings = DrillSettings(args.table, args.window_days or window)
    except MissingSetting as error:
        parser.error(str(error))
    client = dynamodb()

    if args.phase == BOTH:
        started = start(client, settings, utc_now())
        print(f"start: {json.dumps(asdict(started))}")
        result = verify(client, settings, started=started) if started.passed else started
    else:
        result = run_phase(client, settings, args.phase)
    for problem in result.problems:
        print(f"PROBLEM: {problem}", file=sys.stderr)
    print(json.dumps(asdict(result)))
    return 0 if result.passed else 1


if __name__ == "__main__":
    sys.exit(main())
