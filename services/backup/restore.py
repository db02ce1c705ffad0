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
from collections.abc import Sequence
from dataclasses import dataclass, field
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
from backup.verification import check_item_count, days_named, recount
from shared.aws import dynamodb

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
    found = check_item_count(counts.total, backup)
    result = Verification(counts, found.problems, found.warnings)
    status = table_status(client, table)
    if status != "ACTIVE":
        result.problems.append(f"table {table} is {status}, not ACTIVE")
    # Every day that has a rollup item or a submission is compared, so a rollup of a
    # day without counted submissions (which daily-stats would report) is one too.
    days = days_named(counts.rollup_days | counts.submission_days)
    recounted = recount(client, table, min(days), max(days)) if days else {}
    for day in (d for d in recounted.values() if not d.consistent):
        result.problems.append(
            f"{day.day}: the rollup holds {day.rollup.count} picks, the counted submissions "
            f"{day.counted.count}: run `python -m backup.rebuild --table {table} "
            f"--from {day.day} --to {day.day}`"
        )
    return result


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
