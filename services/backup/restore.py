"""Restore a backup into a new table and prove it whole.

    python -m backup.restore --backup-arn ARN --target NAME [--env ENV]

Never overwrites: an existing target table is refused. After the restore it
waits until the table is ACTIVE, counts its items against the backup, checks
that every day's rollup equals the histogram of its counted submissions, and
prints how to point the app at the restored table. Exit status: 0 restored and
verified, 1 restored but not verified, 2 refused (nothing restored).
"""

import argparse
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

from backup.backups import (
    BackupDescription,
    ItemCounts,
    TargetTableExists,
    count_items,
    describe_backup,
    restore,
    table_status,
)
from shared.aws import dynamodb
from shared.histogram import Histogram
from shared.rollups import RollupStore
from shared.submissions import SubmissionStore, picks_by_day

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


@dataclass
class Verification:
    counts: ItemCounts
    problems: list[str] = field(default_factory=list)  # the restore is not trustworthy
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(client: "DynamoDBClient", table: str, backup: BackupDescription) -> Verification:
    counts = count_items(client, table)
    result = Verification(counts)
    status = table_status(client, table)
    if status != "ACTIVE":
        result.problems.append(f"table {table} is {status}, not ACTIVE")
    if counts.total != backup.source_item_count:
        # The backup records the source table's ItemCount, which DynamoDB refreshes
        # about every six hours: a difference is worth a look, not proof of loss.
        result.warnings.append(
            f"{counts.total} items restored; the source table reported "
            f"{backup.source_item_count} (approximate, refreshed about every 6 hours)"
        )
    if backup.source_item_count and not counts.total:
        result.problems.append("the backup's table had items; the restored table has none")
    for day, rollup, counted in _mismatched_days(client, table, counts.rollup_days):
        result.problems.append(
            f"{day}: the rollup holds {rollup.count} picks, the counted submissions "
            f"{counted.count}: run `python -m backup.rebuild --table {table} "
            f"--from {day} --to {day}`"
        )
    return result


def _mismatched_days(
    client: "DynamoDBClient", table: str, rollup_days: Iterable[str]
) -> list[tuple[str, Histogram, Histogram]]:
    """Days whose rollup differs from the histogram of their counted submissions.

    Every day that has a rollup item or a submission is compared, so a rollup of a
    day without counted submissions (which daily-stats would report) is one too."""
    picks = picks_by_day(SubmissionStore(client, table).scan_picks("0000-01-01", "9999-12-31"))
    days = [d for text in set(picks) | set(rollup_days) if (d := _day(text)) is not None]
    if not days:
        return []
    found = RollupStore(client, table).histograms(min(days), max(days))
    mismatched = []
    for day in sorted(set(found) | set(picks)):
        rollup = found.get(day, Histogram())
        counted = Histogram.of(picks[day].counted_numbers if day in picks else [])
        if rollup != counted:
            mismatched.append((day, rollup, counted))
    return mismatched


def _day(text: str) -> date | None:
    """The day a rollup sort key or submission names; None for one that names none
    (daily-stats never reads such a rollup)."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def pointing_instructions(target: str, env: str) -> str:
    return f"""
To serve the app from {target} ({env}):
  1. Turn on its stream (a restore does not copy stream, TTL, tags, alarms,
     auto scaling or deletion protection):
       aws dynamodb update-table --table-name {target} \\
         --stream-specification StreamEnabled=true,StreamViewType=NEW_IMAGE
       aws dynamodb update-table --table-name {target} --deletion-protection-enabled
  2. Point every function of the environment at it (TABLE_NAME), e.g. for the
     local stack:  TABLE_NAME={target} make dev
     in AWS: deploy with the table name set for ENV={env}, or, in an emergency,
       aws lambda update-function-configuration --function-name <fn> \\
         --environment "Variables={{...,TABLE_NAME={target}}}"
     (this replaces all variables: copy the others from get-function-configuration;
     the next `cdk deploy` resets it).
  3. Map the new stream to the aggregator (aws lambda create-event-source-mapping,
     same filter and settings as infra/topology.py STREAM_CONSUMER) and disable the
     old mapping.
  4. Check: GET /api/daily-stats answers as before the incident.
See docs/RUNBOOK.md, "Restore step by step"."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m backup.restore", description="Restore a backup into a new table."
    )
    parser.add_argument("--backup-arn", required=True)
    parser.add_argument("--target", required=True, help="name of the new table")
    parser.add_argument("--env", default="dev", help="environment, for the instructions")
    args = parser.parse_args(argv)
    client = dynamodb()

    backup = describe_backup(client, args.backup_arn)
    if backup.status != "AVAILABLE":
        print(f"REFUSED: backup {backup.name} is {backup.status}", file=sys.stderr)
        return 2
    print(f"restoring {backup.name} ({backup.source_table}, {backup.created}) into {args.target}")
    try:
        restore(client, backup.arn, args.target)
    except TargetTableExists:
        print(f"REFUSED: table {args.target} exists; a restore never overwrites", file=sys.stderr)
        return 2

    result = verify(client, args.target, backup)
    c = result.counts
    print(
        f"{args.target} is ACTIVE: {c.total} items = {c.submissions} submissions "
        f"({c.counted_submissions} counted) + {c.rollups} rollups + {c.other} other"
    )
    for warning in result.warnings:
        print(f"WARNING: {warning}")
    for problem in result.problems:
        print(f"PROBLEM: {problem}", file=sys.stderr)
    if not result.ok:
        return 1
    if c.counted_submissions < c.submissions:
        print(
            f"{c.submissions - c.counted_submissions} submissions are not counted yet and a "
            "new stream will never carry them: run backup.rebuild over their days."
        )
    print(pointing_instructions(args.target, args.env))
    return 0


if __name__ == "__main__":
    sys.exit(main())
