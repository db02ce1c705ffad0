"""The local commands the README shows work on a bare machine: no `AWS_*` variable,
no `~/.aws`, nothing but what `make setup` installs. The rest of the suite cannot
tell, since tests/conftest.py gives every test a fake AWS account."""

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests

from infra import REPO_ROOT
from tools.launcher import LaunchedStack

pytestmark = pytest.mark.integration

# What a fresh login shell has; everything else (AWS_*, the suite's function settings,
# MAKEFLAGS of an enclosing make) stays out.
KEPT_VARIABLES = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TERM", "TMPDIR", "USER", "LOGNAME")
START_TIMEOUT_SECONDS = 90


@pytest.fixture
def bare_environment(tmp_path: Path) -> dict[str, str]:
    home = tmp_path / "home"  # empty: no ~/.aws/config or credentials to fall back on
    home.mkdir()
    kept = {name: os.environ[name] for name in KEPT_VARIABLES if name in os.environ}
    assert not any(name.startswith("AWS_") for name in kept)
    return {**kept, "HOME": str(home)}


def make(environment: dict[str, str], *arguments: str, timeout: float = 120) -> str:
    """Run `make ...` in the repository as a newcomer would; its output if it succeeds."""
    result = subprocess.run(
        ["make", "--no-print-directory", *arguments],
        cwd=REPO_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, f"make {' '.join(arguments)}:\n{result.stdout}{result.stderr}"
    return result.stdout


@pytest.fixture
def make_dev(bare_environment: dict[str, str], tmp_path: Path) -> Iterator[LaunchedStack]:
    """`make dev` on free ports and its own data dir, stopped with Ctrl-C afterwards."""
    data_dir = tmp_path / "local"
    stdout, stderr = tmp_path / "dev.out", tmp_path / "dev.err"
    arguments = f"--port 0 --aws-port 0 --throttle-rate 0 --data-dir {data_dir}"
    process = subprocess.Popen(
        ["make", "--no-print-directory", "dev", f"ARGS={arguments}"],
        cwd=REPO_ROOT,
        env=bare_environment,
        stdout=stdout.open("w"),
        stderr=stderr.open("w"),
        start_new_session=True,  # its own process group, so Ctrl-C reaches make and the stack
    )
    state = data_dir / "stack.json"
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while not state.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            os.killpg(process.pid, signal.SIGKILL)
            pytest.fail(f"make dev did not start:\n{stdout.read_text()}{stderr.read_text()}")
        time.sleep(0.2)
    described = json.loads(state.read_text())
    yield LaunchedStack(
        process,
        data_dir,
        described["app_url"],
        described["endpoint_url"],
        described["table_name"],
        stdout,
        stderr,
    )
    os.killpg(process.pid, signal.SIGINT)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        raise


def test_make_dev_serves_the_app_and_says_where(make_dev: LaunchedStack) -> None:
    page = requests.get(make_dev.url("/"), timeout=10)
    stats = requests.get(make_dev.url("/api/daily-stats"), timeout=10)

    assert page.status_code == 200
    assert "Pick a Number" in page.text
    assert stats.status_code == 200
    assert stats.json()["total"]["count"] == 0
    assert f"app           {make_dev.base_url}" in make_dev.stdout.read_text()


def test_make_demo_seeds_a_history_the_stats_then_return(
    make_dev: LaunchedStack, bare_environment: dict[str, str]
) -> None:
    output = make(
        bare_environment, "demo", "N=300", "DAYS=7", f"ARGS=--data-dir {make_dev.data_dir}"
    )

    assert "seeded 300 submissions over 7 days" in output
    make_dev.wait_until_aggregated()
    today = datetime.now(UTC).date()
    week = requests.get(
        make_dev.url(f"/api/daily-stats?from={today - timedelta(days=6)}&to={today}"), timeout=10
    ).json()
    assert week["total"]["count"] == 300


def test_make_backup_local_prints_the_backup_it_took(
    make_dev: LaunchedStack, bare_environment: dict[str, str]
) -> None:
    output = make(bare_environment, "backup-local", f"ARGS=--data-dir {make_dev.data_dir}")

    printed = json.loads(output[output.index("{\n") :])  # after the function's log lines
    assert printed["created"] is True
    backups = make_dev.dynamodb().list_backups(TableName=make_dev.table_name)["BackupSummaries"]
    assert [b["BackupArn"] for b in backups] == [printed["backup_arn"]]


def test_make_synth_writes_the_templates(bare_environment: dict[str, str]) -> None:
    template_path = REPO_ROOT / "cdk.out" / "PickANumber-dev.template.json"
    template_path.unlink(missing_ok=True)

    make(bare_environment, "synth", timeout=300)

    template = json.loads(template_path.read_text())
    assert "AWS::DynamoDB::Table" in {r["Type"] for r in template["Resources"].values()}


def test_make_drill_local_ends_with_the_drills_result(
    make_dev: LaunchedStack, bare_environment: dict[str, str]
) -> None:
    make(bare_environment, "backup-local", f"ARGS=--data-dir {make_dev.data_dir}")

    output = make(bare_environment, "drill-local", f"ARGS=--data-dir {make_dev.data_dir}")

    result = json.loads(output.strip().splitlines()[-1])
    assert (result["passed"], result["days_drifted"]) == (True, [])
    assert isinstance(result["days_checked"], int)
