"""The backup policy: tonight's backup name, whether it exists, which backups to prune,
and the retention settings the backup function reads at start-up.

Plain functions over plain values (no AWS): the backup store lists and deletes.
"""

from collections.abc import Callable, Iterable
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
KEEP_WEEKLY_VARIABLE: Final = "BACKUP_KEEP_WEEKLY"
KEEP_MONTHLY_VARIABLE: Final = "BACKUP_KEEP_MONTHLY"


class InvalidRetention(ValueError):
    """Retention settings that could prune every backup, or make no sense."""


@dataclass(frozen=True)
class BackupRetention:
    """Which backups pruning keeps (grandfather-father-son): any one kept for one reason
    is kept. Weeks are ISO weeks and months calendar months, in UTC, counted back from
    (and including) the current one; a period without a backup keeps nothing older."""

    days: int  # every backup younger than this many days: the daily ones
    min_keep: int  # the newest this many, whatever their age (a stopped schedule)
    weekly: int  # the newest backup of each of the last `weekly` ISO weeks
    monthly: int  # the newest backup of each of the last `monthly` calendar months

    def __post_init__(self) -> None:
        problems = []
        if self.days < LEAST_RETENTION_DAYS:
            problems.append(f"days must be at least {LEAST_RETENTION_DAYS}, not {self.days}")
        if self.min_keep < LEAST_MIN_KEEP:
            problems.append(
                f"min_keep must be at least {LEAST_MIN_KEEP}, not {self.min_keep}: "
                "pruning must always leave a backup"
            )
        for tier, count in (("weekly", self.weekly), ("monthly", self.monthly)):
            if count < 0:
                problems.append(f"{tier} must be at least 0, not {count}")
        if problems:
            raise InvalidRetention("; ".join(problems))


@dataclass(frozen=True)
class BackupSettings:
    """The backup function's settings, read from the environment once at start-up."""

    table_name: str
    retention: BackupRetention

    @classmethod
    def from_env(cls) -> "BackupSettings":
        values = {
            variable: integer(variable)
            for variable in (
                RETENTION_DAYS_VARIABLE,
                MIN_KEEP_VARIABLE,
                KEEP_WEEKLY_VARIABLE,
                KEEP_MONTHLY_VARIABLE,
            )
        }
        try:
            retention = BackupRetention(*values.values())
        except InvalidRetention as error:
            given = ", ".join(f"{variable}={value}" for variable, value in values.items())
            raise MissingSetting(f"{given}: {error}") from None
        return cls(table_name=require("TABLE_NAME"), retention=retention)


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
    backups: Iterable[TableBackup], now: datetime, retention: BackupRetention
) -> list[TableBackup]:
    """The available USER backups `retention` keeps for no reason, newest first. Backups
    still being created are never pruned (nor count as kept: they may yet fail)."""
    available = available_newest_first(backups)
    kept = set(available[: retention.min_keep])
    cutoff = now - timedelta(days=retention.days)
    kept.update(b for b in available if b.created >= cutoff)
    kept.update(_newest_of_each(available, _iso_week, _last_weeks(now, retention.weekly)))
    kept.update(_newest_of_each(available, _month, _last_months(now, retention.monthly)))
    return [b for b in available if b not in kept]


def _iso_week(moment: datetime) -> date:
    """The ISO week of `moment` (UTC), as its Monday: a week 53 and a week that spans
    New Year are one week, whichever ISO year they belong to."""
    day = moment.astimezone(UTC).date()
    return day - timedelta(days=day.weekday())


def _month(moment: datetime) -> date:
    """The calendar month of `moment` (UTC), as its first day."""
    return moment.astimezone(UTC).date().replace(day=1)


def _last_weeks(now: datetime, count: int) -> set[date]:
    this_week = _iso_week(now)
    return {this_week - timedelta(weeks=back) for back in range(count)}


def _last_months(now: datetime, count: int) -> set[date]:
    this_month = _month(now)
    months = this_month.year * 12 + this_month.month - 1
    return {date(m // 12, m % 12 + 1, 1) for m in range(months - count + 1, months + 1)}


def _newest_of_each(
    newest_first: list[TableBackup], period: Callable[[datetime], date], periods: set[date]
) -> set[TableBackup]:
    """The newest backup of each of `periods` that has one."""
    newest: dict[date, TableBackup] = {}
    for backup in newest_first:
        newest.setdefault(period(backup.created), backup)
    return {backup for start, backup in newest.items() if start in periods}


def available_newest_first(backups: Iterable[TableBackup]) -> list[TableBackup]:
    """The USER backups that can be restored (not being created, not deleted), newest first."""
    return sorted(
        (b for b in backups if b.type == USER and b.status == AVAILABLE),
        key=lambda b: b.created,
        reverse=True,
    )
