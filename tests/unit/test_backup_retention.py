"""The backup policy as plain functions: names, tonight's backup, what to prune."""

from datetime import UTC, date, datetime, timedelta

import pytest

from backup.retention import (
    BackupSettings,
    InvalidRetention,
    TableBackup,
    check_retention,
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


def test_backups_past_retention_are_pruned_but_the_newest_are_kept() -> None:
    backups = [nightly(d) for d in range(10)]
    pruned = to_prune(backups, NOW, retention_days=3, min_keep=2)
    assert sorted(b.created for b in pruned) == sorted(nightly(d).created for d in range(4, 10))


def test_the_newest_min_keep_survive_whatever_their_age() -> None:
    # Given: the schedule stopped for two months
    backups = [nightly(60 + d) for d in range(5)]
    pruned = to_prune(backups, NOW, retention_days=35, min_keep=3)
    assert [b.created for b in pruned] == [nightly(63).created, nightly(64).created]


def test_only_available_user_backups_are_pruned_or_kept() -> None:
    creating = nightly(50, status="CREATING")
    system = TableBackup("arn:s", "system", NOW - timedelta(days=90), type="SYSTEM")
    old = nightly(40)
    assert to_prune([creating, system, old, nightly(0)], NOW, 35, 1) == [old]


def test_a_retention_that_could_prune_every_backup_is_refused() -> None:
    # The one rule, wherever it is checked: at least a day, and at least one backup kept.
    check_retention(1, 1)
    for days, keep in ((0, 1), (1, 0), (7, -1)):
        with pytest.raises(InvalidRetention):
            check_retention(days, keep)
        with pytest.raises(InvalidRetention):
            to_prune([nightly(40)], NOW, days, keep)
        with pytest.raises(MissingSetting, match=r"BACKUP_RETENTION_DAYS=.*BACKUP_MIN_KEEP="):
            BackupSettings("t", days, keep)


def test_settings_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TABLE_NAME", "prod-table")
    monkeypatch.setenv("BACKUP_RETENTION_DAYS", "14")
    monkeypatch.setenv("BACKUP_MIN_KEEP", "5")
    assert BackupSettings.from_env() == BackupSettings("prod-table", 14, 5)
    monkeypatch.setenv("BACKUP_MIN_KEEP", "many")
    with pytest.raises(MissingSetting, match="BACKUP_MIN_KEEP must be an integer"):
        BackupSettings.from_env()
    monkeypatch.setenv("BACKUP_MIN_KEEP", "0")
    with pytest.raises(MissingSetting, match="min_keep must be at least 1"):
        BackupSettings.from_env()


@pytest.mark.parametrize("name", ["BACKUP_RETENTION_DAYS", "BACKUP_MIN_KEEP"])
def test_the_function_has_no_default_retention(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # The deployment always says how long to keep backups: a missing setting stops
    # the function at start-up instead of pruning by a default of its own.
    monkeypatch.setenv("TABLE_NAME", "t")
    monkeypatch.setenv("BACKUP_RETENTION_DAYS", "7")
    monkeypatch.setenv("BACKUP_MIN_KEEP", "3")
    monkeypatch.delenv(name)
    with pytest.raises(MissingSetting, match=f"{name} must be set"):
        BackupSettings.from_env()


def test_the_local_stack_passes_the_environments_default_retention(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # infra/environments.py takes its defaults from BACKUP_RETENTION too.
    for name in ("BACKUP_RETENTION_DAYS", "BACKUP_MIN_KEEP"):
        monkeypatch.delenv(name, raising=False)
    backup = local_functions(Options(table_name="local-table"))[BACKUP.name]
    for name, value in backup.environment.items():
        monkeypatch.setenv(name, value)
    assert BackupSettings.from_env() == BackupSettings(
        "local-table", BACKUP_RETENTION.days, BACKUP_RETENTION.min_keep
    )
