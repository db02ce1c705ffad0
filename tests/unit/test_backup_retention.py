"""The backup policy as plain functions: names, tonight's backup, what to prune."""

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backup.retention import (
    BackupRetention,
    BackupSettings,
    InvalidRetention,
    TableBackup,
    nightly_name,
    to_prune,
    tonights_backup,
)
from infra.local.stack import Options, local_functions
from infra.topology import BACKUP, BACKUP_RETENTION
from shared.config import MissingSetting

NOW = datetime(2026, 3, 10, 3, 30, tzinfo=UTC)


def nightly(days_ago: int, table: str = "t", status: str = "AVAILABLE") -> TableBackup:
    created = NOW - timedelta(days=days_ago)
    name = nightly_name(table, created.date())
    return TableBackup(arn=f"arn:{name}", name=name, created=created, status=status)


def test_the_name_holds_the_table_and_the_utc_night() -> None:
    assert nightly_name("pick-a-number", date(2026, 3, 10)) == "pick-a-number-nightly-2026-03-10"


def test_a_long_table_name_still_gives_a_valid_backup_name() -> None:
    name = nightly_name("t" * 255, date(2026, 3, 10))
    assert len(name) <= 255
    assert name.endswith("-nightly-2026-03-10")


def test_tonights_backup_is_found_by_name_prefix_and_utc_day() -> None:
    tonight = nightly(0)
    assert tonights_backup([nightly(1), tonight], "t", NOW) == tonight
    # Late the same UTC day (another time zone's "tomorrow") is still the same night.
    assert tonights_backup([tonight], "t", datetime(2026, 3, 10, 23, 59, tzinfo=UTC)) == tonight


def test_last_nights_or_another_tables_or_a_manual_backup_is_not_tonights() -> None:
    manual = TableBackup("arn:m", "before-migration", NOW, type="USER")
    other_table = nightly(0, table="other")
    aws_backup = TableBackup("arn:a", nightly_name("t", NOW.date()), NOW, type="AWS_BACKUP")
    assert tonights_backup([nightly(1), manual, other_table, aws_backup], "t", NOW) is None


def test_a_backup_still_being_created_tonight_counts_as_tonights() -> None:
    creating = nightly(0, status="CREATING")
    assert tonights_backup([creating], "t", NOW) == creating


def daily(days: int, min_keep: int) -> BackupRetention:
    """The retention of the days and the minimum only, as before weekly and monthly."""
    return BackupRetention(days=days, min_keep=min_keep, weekly=0, monthly=0)


def test_backups_past_retention_are_pruned_but_the_newest_are_kept() -> None:
    backups = [nightly(d) for d in range(10)]
    pruned = to_prune(backups, NOW, daily(3, min_keep=2))
    assert sorted(b.created for b in pruned) == sorted(nightly(d).created for d in range(4, 10))


def test_the_newest_min_keep_survive_whatever_their_age() -> None:
    # Given: the schedule stopped for two months
    backups = [nightly(60 + d) for d in range(5)]
    pruned = to_prune(backups, NOW, daily(35, min_keep=3))
    assert [b.created for b in pruned] == [nightly(63).created, nightly(64).created]


def test_only_available_user_backups_are_pruned_or_kept() -> None:
    creating = nightly(50, status="CREATING")
    system = TableBackup("arn:s", "system", NOW - timedelta(days=90), type="SYSTEM")
    old = nightly(40)
    assert to_prune([creating, system, old, nightly(0)], NOW, daily(35, 1)) == [old]


def nights(first: date, last: date) -> list[TableBackup]:
    """A nightly backup at 03:30 UTC on every day from `first` to `last`."""
    return [
        TableBackup(f"arn:{day}", nightly_name("t", day), datetime.combine(day, NIGHT, UTC))
        for day in (first + timedelta(days=n) for n in range((last - first).days + 1))
    ]


NIGHT = NOW.timetz().replace(tzinfo=None)


def kept_days(backups: list[TableBackup], now: datetime, retention: BackupRetention) -> list[date]:
    pruned = to_prune(backups, now, retention)
    return sorted(b.created.date() for b in backups if b not in pruned)


def test_the_newest_of_each_iso_week_is_kept_across_new_year_and_week_53() -> None:
    # Given: a backup every night since November; 2026 has 53 ISO weeks, its last
    # (28 December 2026 to 3 January 2027) spans New Year.
    now = datetime(2027, 1, 6, 3, 30, tzinfo=UTC)  # a Wednesday of 2027-W01
    backups = nights(date(2026, 11, 1), now.date())
    retention = BackupRetention(days=1, min_keep=1, weekly=4, monthly=0)

    # Then: the 2 daily ones, and the Sundays of W53, W52 and W51 (this week's newest
    # is tonight's)
    assert kept_days(backups, now, retention) == [
        date(2026, 12, 20),
        date(2026, 12, 27),
        date(2027, 1, 3),
        date(2027, 1, 5),
        date(2027, 1, 6),
    ]
    assert date(2027, 1, 3).isocalendar()[:2] == (2026, 53)


def test_the_newest_of_each_calendar_month_is_kept_across_new_year() -> None:
    now = datetime(2027, 1, 6, 3, 30, tzinfo=UTC)
    backups = nights(date(2026, 9, 15), now.date())
    retention = BackupRetention(days=1, min_keep=1, weekly=0, monthly=3)

    # December's newest is the 31st, though its ISO week (W53) ends in January.
    assert kept_days(backups, now, retention) == [
        date(2026, 11, 30),
        date(2026, 12, 31),
        date(2027, 1, 5),
        date(2027, 1, 6),
    ]


def test_a_year_of_nights_keeps_a_year_of_history_in_about_24_backups() -> None:
    # Given: prod's retention (cdk.json), applied every night for two years to 2027's end
    retention = BackupRetention(days=7, min_keep=7, weekly=5, monthly=12)
    start = date(2026, 1, 1)
    backups: list[TableBackup] = []
    most = 0
    for night in nights(start, date(2027, 12, 31)):
        backups.append(night)
        pruned = set(to_prune(backups, night.created, retention))
        backups = [b for b in backups if b not in pruned]
        most = max(most, len(backups))
    # Then: never more than 8 daily (the cutoff is inclusive) + 5 weekly + 12 monthly,
    # and the oldest kept is 11 months back (last December's newest)
    assert len(backups) <= most <= 8 + 5 + 12
    assert backups[0].created.date() == date(2027, 1, 31)
    assert backups[-1].created.date() == date(2027, 12, 31)


def test_a_period_without_a_backup_keeps_nothing_older_in_its_place() -> None:
    # Given: no backup for 5 weeks, then one tonight; weekly 4 looks back 4 weeks only
    now = datetime(2026, 3, 10, 3, 30, tzinfo=UTC)
    backups = [*nights(date(2026, 1, 1), date(2026, 2, 1)), nights(now.date(), now.date())[0]]
    retention = BackupRetention(days=1, min_keep=1, weekly=4, monthly=0)
    assert kept_days(backups, now, retention) == [now.date()]


# Backups at any minute of three years around New Year 2027 (2026 has an ISO week 53).
MOMENTS = st.datetimes(
    min_value=datetime(2025, 6, 1), max_value=datetime(2028, 6, 1), timezones=st.just(UTC)
)


@given(
    created=st.lists(MOMENTS, min_size=1, max_size=60, unique=True),
    now=MOMENTS,
    days=st.integers(1, 40),
    min_keep=st.integers(1, 10),
    weekly=st.integers(0, 60),
    monthly=st.integers(0, 30),
)
@settings(max_examples=300, deadline=None)
def test_pruning_keeps_exactly_what_one_tier_asks_for(
    created: list[datetime], now: datetime, days: int, min_keep: int, weekly: int, monthly: int
) -> None:
    backups = [TableBackup(f"arn:{c.isoformat()}", "b", c) for c in created]
    retention = BackupRetention(days, min_keep, weekly, monthly)

    kept = set(backups) - set(to_prune(backups, now, retention))

    # The oracle counts periods by ISO (year, week) and (year, month), not by date arithmetic.
    def iso_week(moment: datetime) -> tuple[int, int]:
        return moment.isocalendar()[:2]

    def month(moment: datetime) -> tuple[int, int]:
        return moment.year, moment.month

    weeks = {iso_week(now - timedelta(weeks=back)) for back in range(weekly)}
    months = set()
    year, number = now.year, now.month
    for _ in range(monthly):
        months.add((year, number))
        year, number = (year, number - 1) if number > 1 else (year - 1, 12)

    def newest_of_its(period: Callable[[datetime], tuple[int, int]], b: TableBackup) -> bool:
        return b.created == max(
            c.created for c in backups if period(c.created) == period(b.created)
        )

    newest_first = sorted(backups, key=lambda b: b.created, reverse=True)
    wanted = {
        b
        for b in backups
        if b in newest_first[:min_keep]
        or b.created >= now - timedelta(days=days)
        or (iso_week(b.created) in weeks and newest_of_its(iso_week, b))
        or (month(b.created) in months and newest_of_its(month, b))
    }
    assert kept == wanted
    assert newest_first[0] in kept
    assert len(kept) >= min(min_keep, len(backups))


def test_a_retention_that_could_prune_every_backup_is_refused() -> None:
    # The one rule, wherever it is checked: at least a day, at least one backup kept,
    # no negative tier.
    BackupRetention(1, 1, 0, 0)
    for days, keep, weekly, monthly in (
        (0, 1, 0, 0),
        (1, 0, 0, 0),
        (7, -1, 0, 0),
        (7, 3, -1, 0),
        (7, 3, 0, -1),
    ):
        with pytest.raises(InvalidRetention):
            BackupRetention(days, keep, weekly, monthly)


RETENTION_ENVIRONMENT = {
    "TABLE_NAME": "prod-table",
    "BACKUP_RETENTION_DAYS": "14",
    "BACKUP_MIN_KEEP": "5",
    "BACKUP_KEEP_WEEKLY": "4",
    "BACKUP_KEEP_MONTHLY": "12",
}


def test_settings_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in RETENTION_ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    assert BackupSettings.from_env() == BackupSettings(
        "prod-table", BackupRetention(days=14, min_keep=5, weekly=4, monthly=12)
    )
    monkeypatch.setenv("BACKUP_MIN_KEEP", "many")
    with pytest.raises(MissingSetting, match="BACKUP_MIN_KEEP must be an integer"):
        BackupSettings.from_env()
    monkeypatch.setenv("BACKUP_MIN_KEEP", "0")
    with pytest.raises(
        MissingSetting, match=r"BACKUP_RETENTION_DAYS=14, BACKUP_MIN_KEEP=0, .*at least 1"
    ):
        BackupSettings.from_env()
    monkeypatch.setenv("BACKUP_MIN_KEEP", "5")
    monkeypatch.setenv("BACKUP_KEEP_WEEKLY", "-1")
    with pytest.raises(MissingSetting, match=r"BACKUP_KEEP_WEEKLY=-1.*weekly must be at least 0"):
        BackupSettings.from_env()


@pytest.mark.parametrize("name", sorted(set(RETENTION_ENVIRONMENT) - {"TABLE_NAME"}))
def test_the_function_has_no_default_retention(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # The deployment always says how long to keep backups: a missing setting stops
    # the function at start-up instead of pruning by a default of its own.
    for variable, value in RETENTION_ENVIRONMENT.items():
        monkeypatch.setenv(variable, value)
    monkeypatch.delenv(name)
    with pytest.raises(MissingSetting, match=f"{name} must be set"):
        BackupSettings.from_env()


def test_the_local_stack_passes_the_environments_default_retention(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # infra/environments.py takes its defaults from BACKUP_RETENTION too.
    for name in RETENTION_ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)
    backup = local_functions(Options(table_name="local-table"))[BACKUP.name]
    for name, value in backup.environment.items():
        monkeypatch.setenv(name, value)
    assert BackupSettings.from_env() == BackupSettings("local-table", BACKUP_RETENTION)
