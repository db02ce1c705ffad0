"""DynamoDB backup data access: list, create, delete, describe and restore backups,
and the table checks a restore needs. Nothing else in `backup` calls DynamoDB's
backup API.
"""

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from botocore.exceptions import WaiterError

from backup.retention import USER, TableBackup
from shared.rollups import is_rollup_key
from shared.submissions import MARKER, is_submission_key

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# A restore of a large table can take hours; poll every 20 s for up to 4 h.
RESTORE_POLL_SECONDS: Final = 20
RESTORE_MAX_POLLS: Final = 720


class TargetTableExists(RuntimeError):
    """A restore never overwrites a table: the target name is taken."""


@dataclass(frozen=True)
class BackupDescription:
    arn: str
    name: str
    status: str
    created: datetime
    size_bytes: int
    source_table: str
    # DynamoDB refreshes a table's ItemCount about every six hours: approximate.
    source_item_count: int


@dataclass(frozen=True)
class ItemCounts:
    """What a table holds, by kind of item."""

    total: int = 0
    submissions: int = 0
    counted_submissions: int = 0  # carrying the aggregation marker
    rollups: int = 0
    # The ISO days the rollup items are for (a sort key's day, parts merged).
    rollup_days: frozenset[str] = frozenset()
    # The ISO days the submissions were received on.
    submission_days: frozenset[str] = frozenset()

    @property
    def other(self) -> int:
        return self.total - self.submissions - self.rollups


# DynamoDB enables a new table's backups shortly after the table turns ACTIVE; until
# then CreateBackup fails with ContinuousBackupsUnavailableException, and while the
# table is being updated with TableInUseException. The first backup runs as the stack
# is deployed, seconds after the table is created: wait and try again, 90 s in all,
# within the backup function's 120 s.
NOT_YET_WAITS: Final = (2.0, 4.0, 8.0, 16.0, 30.0, 30.0)


class BackupStore:
    """The on-demand backups of one table."""

    def __init__(
        self,
        client: "DynamoDBClient",
        table_name: str,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._client = client
        self._table = table_name
        self._sleep = sleep

    def list(self) -> list[TableBackup]:
        """Every USER backup of the table, all pages. The type and table are checked
        here too, not only by the service's filters (emulators ignore some)."""
        found = []
        pages = self._client.get_paginator("list_backups").paginate(
            TableName=self._table, BackupType=USER
        )
        for page in pages:
            for summary in page.get("BackupSummaries", []):
                if summary.get("TableName") == self._table and summary.get("BackupType") == USER:
                    found.append(_backup(summary))
        return found

    def create(self, name: str) -> TableBackup:
        """A new backup; retried while the table's backups are not available yet."""
        not_yet = (
            self._client.exceptions.ContinuousBackupsUnavailableException,
            self._client.exceptions.TableInUseException,
        )
        for wait in NOT_YET_WAITS:
            try:
                return self._create(name)
            except not_yet:
                self._sleep(wait)
        return self._create(name)

    def _create(self, name: str) -> TableBackup:
        details = self._client.create_backup(TableName=self._table, BackupName=name)
        return _backup(details["BackupDetails"])

    def delete(self, backup: TableBackup) -> None:
        self._client.delete_backup(BackupArn=backup.arn)


def describe_backup(client: "DynamoDBClient", backup_arn: str) -> BackupDescription:
    description = client.describe_backup(BackupArn=backup_arn)["BackupDescription"]
    details, source = description["BackupDetails"], description.get("SourceTableDetails", {})
    return BackupDescription(
        arn=details["BackupArn"],
        name=details["BackupName"],
        status=details["BackupStatus"],
        created=details["BackupCreationDateTime"],
        size_bytes=int(details.get("BackupSizeBytes", 0)),
        source_table=source.get("TableName", ""),
        source_item_count=int(source.get("ItemCount", 0)),
    )


def table_exists(client: "DynamoDBClient", table_name: str) -> bool:
    try:
        client.describe_table(TableName=table_name)
    except client.exceptions.ResourceNotFoundException:
        return False
    return True


def restore(client: "DynamoDBClient", backup_arn: str, target: str) -> None:
    """Restore a backup into a new table `target` and wait until it is ACTIVE."""
    start_restore(client, backup_arn, target)
    if not wait_until_active(client, target, RESTORE_MAX_POLLS):
        raise TimeoutError(f"{target} is not ACTIVE after {RESTORE_MAX_POLLS} polls")


def start_restore(
    client: "DynamoDBClient", backup_arn: str, target: str, *, on_demand: bool = False
) -> None:
    """Start restoring a backup into a new table `target` (CREATING until loaded);
    `on_demand` bills it per request whatever the source's billing mode."""
    if table_exists(client, target):
        raise TargetTableExists(target)
    try:
        if on_demand:
            client.restore_table_from_backup(
                TargetTableName=target,
                BackupArn=backup_arn,
                BillingModeOverride="PAY_PER_REQUEST",
            )
        else:
            client.restore_table_from_backup(TargetTableName=target, BackupArn=backup_arn)
    except client.exceptions.TableAlreadyExistsException:
        raise TargetTableExists(target) from None


def wait_until_active(client: "DynamoDBClient", table_name: str, polls: int) -> bool:
    """Whether the table is ACTIVE within `polls` looks (at least one, the first at
    once) RESTORE_POLL_SECONDS apart."""
    try:
        client.get_waiter("table_exists").wait(
            TableName=table_name,
            WaiterConfig={"Delay": RESTORE_POLL_SECONDS, "MaxAttempts": max(polls, 1)},
        )
    except WaiterError:
        return False
    return True


@dataclass(frozen=True)
class RestoredTable:
    """A table as DescribeTable shows it, with where it was restored from."""

    name: str
    status: str
    created: datetime
    source_backup_arn: str | None  # None: not restored from a backup


def describe_restored(client: "DynamoDBClient", table_name: str) -> RestoredTable:
    table = client.describe_table(TableName=table_name)["Table"]
    return RestoredTable(
        name=table_name,
        status=table.get("TableStatus", ""),
        created=table["CreationDateTime"],
        source_backup_arn=table.get("RestoreSummary", {}).get("SourceBackupArn"),
    )


def tables_named(client: "DynamoDBClient", prefix: str) -> list[str]:
    """The names of the account's tables that start with `prefix`, sorted."""
    pages = client.get_paginator("list_tables").paginate()
    return sorted(
        name for page in pages for name in page.get("TableNames", []) if name.startswith(prefix)
    )


def table_status(client: "DynamoDBClient", table_name: str) -> str:
    return client.describe_table(TableName=table_name)["Table"].get("TableStatus", "")


def count_items(client: "DynamoDBClient", table_name: str) -> ItemCounts:
    """Count a table's items by kind, and the days of the rollups: a paginated Scan
    of keys and markers only."""
    total = submissions = counted = rollups = 0
    rollup_days: set[str] = set()
    submission_days: set[str] = set()
    pages = client.get_paginator("scan").paginate(
        TableName=table_name,
        ProjectionExpression="pk, sk, #marker, #date",
        ExpressionAttributeNames={"#marker": MARKER, "#date": "date"},
    )
    for page in pages:
        for item in page.get("Items", []):
            total += 1
            if is_submission_key(item):
                submissions += 1
                counted += MARKER in item
                submission_days.add(item["date"]["S"])
            elif is_rollup_key(item):
                rollups += 1
                # YYYY-MM-DD[#part]: the day, as RollupStore reads it.
                rollup_days.add(item["sk"]["S"][:10])
    return ItemCounts(
        total, submissions, counted, rollups, frozenset(rollup_days), frozenset(submission_days)
    )


def _backup(summary: Mapping[str, Any]) -> TableBackup:
    return TableBackup(
        arn=summary["BackupArn"],
        name=summary["BackupName"],
        created=summary["BackupCreationDateTime"],
        status=summary.get("BackupStatus", ""),
        type=summary.get("BackupType", ""),
    )
