"""The local stack's scheduler (infra/local/scheduler.py): the backup schedule's cron
and its retries, as EventBridge Scheduler runs them."""

import threading
from datetime import UTC, datetime

import pytest

from infra.local.scheduler import Cron, Scheduler
from infra.topology import BACKUP_SCHEDULE


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("expression", "now", "due"),
    [
        (BACKUP_SCHEDULE.cron, "2026-03-01T03:29:59", "2026-03-01T03:30"),
        (BACKUP_SCHEDULE.cron, "2026-03-01T03:30", "2026-03-02T03:30"),
        (BACKUP_SCHEDULE.cron, "2026-12-31T23:00", "2027-01-01T03:30"),
        ("cron(0 12 ? * MON-FRI *)", "2026-03-07T13:00", "2026-03-09T12:00"),  # Sat -> Mon
        ("cron(0/15 * * * ? *)", "2026-03-01T10:07", "2026-03-01T10:15"),
        ("cron(0 0 1 JAN,JUL ? *)", "2026-02-01T00:00", "2026-07-01T00:00"),
        ("cron(0 0 L * ? *)", "2026-02-10T00:00", "2026-02-28T00:00"),  # the month's last day
        ("cron(0 9 ? * 2#1 *)", "2026-02-10T00:00", "2026-03-02T09:00"),  # first Monday
        ("cron(0 9 * * ? 2027)", "2026-02-10T00:00", "2027-01-01T09:00"),
    ],
)
def test_the_next_run_of_a_cron_expression(expression, now, due):
    assert Cron.parse(expression).next_after(at(now)) == at(due)


@pytest.mark.parametrize(
    "expression", ["rate(1 day)", "cron(0 0 ? * 6L *)", "cron(0 0 * * ?)", "cron(0 0 32 * ? *)"]
)
def test_an_unsupported_expression_is_refused(expression):
    with pytest.raises(ValueError, match="cron"):
        Cron.parse(expression)


def test_a_failed_scheduled_run_is_retried_as_the_schedule_says():
    calls = []

    def backup(event):
        calls.append(event)
        if len(calls) <= BACKUP_SCHEDULE.retry_attempts - 1:
            raise RuntimeError("throttled")
        return {"created": True}

    scheduler = Scheduler(BACKUP_SCHEDULE, backup, threading.Event(), retry_base_seconds=0)

    assert scheduler.fire(at("2026-03-01T03:30")) is True
    assert len(calls) == BACKUP_SCHEDULE.retry_attempts
    assert calls[0]["detail-type"] == "Scheduled Event"


def test_a_run_that_keeps_failing_gives_up_after_the_retries():
    calls = []

    def backup(event):
        calls.append(event)
        raise RuntimeError("down")

    scheduler = Scheduler(BACKUP_SCHEDULE, backup, threading.Event(), retry_base_seconds=0)

    assert scheduler.fire(at("2026-03-01T03:30")) is False
    assert len(calls) == 1 + BACKUP_SCHEDULE.retry_attempts
