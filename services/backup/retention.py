"""The backup policy: tonight's backup name, whether it exists, which backups to prune,
and the retention settings the backup function reads at start-up.

Plain functions over plain values (no AWS): the backup store lists and deletes.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Final

from shared.config import MissingSetting, integer, require

# DynamoDB backup names: 3 to 255 characters of [a-zA-Z0-9_.-].
MAX_NAME_LENGTH: Final = 255
NIGHTLY_TAG: Final = "-nightly-"
AVAILABLE: Final = "AVAILABLE"
USER: Final = "USER"
# The one rule on retention settings (the function's start-up and the CDK app's
# synthesis check it too): pruning always leaves at least one backup.
LEAST_RETENTION_DAYS: Final = 1
LEAST_MIN_KEEP: Final = 1
# The backup function's settings. Every one is required: the deployment passes them
# (the CDK app from the environment's settings, the local stack from their defaults,
# both in infra/), so the function holds no defaults that could differ from those.
RETENTION_DAYS_VARIABLE: Final = "BACKUP_RETENTION_DAYS"
MIN_KEEP_VARIABLE: Final = "BACKUP_MIN_KEEP"


class InvalidRetention(ValueError):
    """Retention settings that could prune every backup."""


def check_retention(retention_days: int, min_keep: int) -> None:
    """Refuse settings under which pruning could leave the table without a backup."""
    problems = []
    if retention_days < LEAST_RETENTION_DAYS:
        problems.append(
            f"retention_days must be at least {LEAST_RETENTION_DAYS}, not {retention_days}"
        )
    if min_keep < LEAST_MIN_KEEP:
        problems.append(
            f"min_keep must be at least {LEAST_MIN_KEEP}, not {min_keep}: "
            "pruning must always leave a backup"
        )
    if problems:
        raise InvalidRetention("; ".join(problems))


@dataclass(frozen=True)
class BackupSettings:
    """The backup function's settings, read from the environment once at start-up."""

    table_name: str
    retention_days: int  # prune USER backups older than this many days
    min_keep: int  # but always keep this many of the newest

    def __post_init__(self) -> None:
        try:
            check_retention(self.retention_days, self.min_keep)
        except InvalidRetention as error:
            raise MissingSetting(
                f"{RETENTION_DAYS_VARIABLE}={self.retention_days}, "
                f"{MIN_KEEP_VARIABLE}={self.min_keep}: {error}"
            ) from None

    @classmethod
    def from_env(cls) -> "BackupSettings":
        return cls(
            table_name=require("TABLE_NAME"),
            retention_days=integer(RETENTION_DAYS_VARIABLE),
            min_keep=integer(MIN_KEEP_VARIABLE),
        )


@dataclass(frozen=True)
class TableBackup:
    """One on-demand backup of the table, as DynamoDB lists it."""

    arn: str
    name: str
    created: datetime  # timezone-aware
    status: str = AVAILABLE  # CREATING | AVAILABLE | DELETED
    type: str = USER  # USER | SYSTEM | AWS_BACKUP


def nightly_prefix(table_name: str) -> str:
    """The start of every nightly backup's name, e.g. `pick-a-number-nightly-`."""
    return table_name[: MAX_NAME_LENGTH - len(NIGHTLY_TAG) - len("YYYY-MM-DD")] + NIGHTLY_TAG


def nightly_name(table_name: str, night: date) -> str:
    """Tonight's backup name: the table and the UTC day, so one name per night."""
    return f"{nightly_prefix(table_name)}{night.isoformat()}"


def tonights_backup(
    backups: Iterable[TableBackup], table_name: str, now: datetime
) -> TableBackup | None:
    """The nightly USER backup already taken (or being taken) on `now`'s UTC day, if any:
    a retried schedule must not take a second one."""
    night = now.astimezone(UTC).date()
    prefix = nightly_prefix(table_name)
    for backup in backups:
        if (
            backup.type == USER
            and backup.status != "DELETED"
            and backup.name.startswith(prefix)
            and backup.created.astimezone(UTC).date() == night
        ):
            return backup
    return None


def to_prune(
    backups: Iterable[TableBackup], now: datetime, retention_days: int, min_keep: int
) -> list[TableBackup]:
    """USER backups older than `retention_days`, except the newest `min_keep` available
    ones, which are kept whatever their age. Backups still being created are never
    pruned (nor counted as kept: they may yet fail). InvalidRetention for settings
    `check_retention` refuses."""
    check_retention(retention_days, min_keep)
    cutoff = now - timedelta(days=retention_days)
    return [b for b in available_newest_first(backups)[min_keep:] if b.created < cutoff]


def available_newest_first(backups: Iterable[TableBackup]) -> list[TableBackup]:
    """The USER backups that can be restored (not being created, not deleted), newest first."""
    return sorted(
        (b for b in backups if b.type == USER and b.status == AVAILABLE),
        key=lambda b: b.created,
        reverse=True,
    )
