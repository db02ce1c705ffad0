"""`make drill-local`: the restore drill against the local stack, on the backup
`make backup-local` took: it passes on a true backup, reports exactly the day whose
live rollup was changed, and leaves no scratch table behind, also when it fails
midway."""

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from backup.drill_settings import scratch_prefix
from infra import REPO_ROOT
from shared.histogram import Histogram
from shared.rollups import add_to_rollup
from tools.launcher import LaunchedStack

pytestmark = pytest.mark.integration

DAYS = 5


def run(stack: LaunchedStack, module: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", module, "--data-dir", str(stack.data_dir), *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def drill(stack: LaunchedStack, *args: str) -> tuple[int, dict[str, Any]]:
    """The drill's exit code and its result (its output's last line)."""
    done = run(stack, "infra.local.drill", *args)
    return done.returncode, json.loads(done.stdout.strip().splitlines()[-1])


def scratch_tables(stack: LaunchedStack) -> list[str]:
    names = stack.dynamodb().list_tables()["TableNames"]
    return [name for name in names if name.startswith(scratch_prefix(stack.table_name))]


@pytest.fixture
def backed_up(start_local_stack: Any) -> LaunchedStack:
    """A stack with DAYS days of history (the last one today's, still open) and a backup."""
    stack: LaunchedStack = start_local_stack("--ephemeral", "--throttle-rate", "0")
    seeded = run(stack, "infra.local.demo", "--submissions", "300", "--days", str(DAYS))
    assert seeded.returncode == 0, seeded.stderr
    stack.wait_until_aggregated()
    backup = run(stack, "infra.local.backup")
    assert backup.returncode == 0, backup.stderr
    return stack


def test_the_drill_passes_then_reports_exactly_the_changed_day(backed_up: LaunchedStack) -> None:
    stack = backed_up
    code, result = drill(stack)

    assert (code, result["passed"], result["problems"]) == (0, True, [])
    # every closed day before the backup's (today) was checked
    assert result["days_checked"] == DAYS - 1
    assert result["days_drifted"] == []
    assert result["seconds_to_restore"] is not None
    assert scratch_tables(stack) == []

    # One past day's live rollup changed behind the aggregator's back
    changed = (datetime.now(UTC).date() - timedelta(days=2)).isoformat()
    stack.dynamodb().update_item(**add_to_rollup(stack.table_name, changed, 0, Histogram.of([7])))

    code, result = drill(stack)

    assert (code, result["passed"]) == (1, False)
    assert result["days_drifted"] == [changed]  # DrillFailed = 1: the alarm's metric
    assert result["days_checked"] == DAYS - 1
    assert scratch_tables(stack) == []


def test_a_drill_that_fails_midway_leaves_no_scratch_table(backed_up: LaunchedStack) -> None:
    stack = backed_up
    code, started = drill(stack, "--phase", "start")
    assert (code, started["passed"]) == (0, True)
    # the restored table says which backup it came from (RestoreSummary), as in AWS
    [scratch] = scratch_tables(stack)
    table = stack.dynamodb().describe_table(TableName=scratch)["Table"]
    assert table["RestoreSummary"]["SourceBackupArn"] == started["backup_arn"]

    # the backup vanishes between the phases: the verify phase cannot describe it
    stack.dynamodb().delete_backup(BackupArn=started["backup_arn"])
    code, verified = drill(stack, "--phase", "verify")

    assert (code, verified["passed"]) == (1, False)
    assert "the verify phase stopped" in verified["problems"][0]
    assert scratch_tables(stack) == []
