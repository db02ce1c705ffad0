"""The topology's schedule, run while the stack runs: EventBridge Scheduler's
`cron(minutes hours day-of-month month day-of-week year)` in UTC (computed by
croniter), and the target invoked with its retry policy."""

import logging
import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from croniter import croniter

from infra.topology import Schedule

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Cron:
    """An EventBridge `cron(...)` expression, as croniter's seven fields (seconds and
    year last): `?` is croniter's `*`, and weekdays count from 0 (Sunday), not 1."""

    expression: str

    @classmethod
    def parse(cls, expression: str) -> "Cron":
        found = re.fullmatch(r"cron\((.+)\)", expression.strip())
        fields = found.group(1).replace("?", "*").split() if found else []
        if len(fields) != 6:
            raise ValueError(f"expected cron(minutes hours day month weekday year): {expression}")
        minute, hour, day, month, weekday, year = fields
        weekday = re.sub(r"(?<![/#\d])\d+", lambda n: str(int(n.group()) - 1), weekday)
        translated = f"{minute} {hour} {day} {month} {weekday} 0 {year}"
        if not croniter.is_valid(translated):
            raise ValueError(f"unsupported cron expression {expression}")
        return cls(translated)

    def next_after(self, moment: datetime) -> datetime:
        """The first time strictly after `moment` (UTC) that the expression matches."""
        due: datetime = croniter(self.expression, moment.astimezone(UTC)).get_next(datetime)
        return due


def scheduled_event(schedule: Schedule, at: datetime) -> dict[str, Any]:
    """The event EventBridge Scheduler's Lambda target receives: the schedule's own
    payload, or else its templated event."""
    if schedule.payload:
        return dict(schedule.payload)
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.scheduler",
        "account": "123456789012",
        "time": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": "us-east-1",
        "resources": ["arn:aws:scheduler:us-east-1:123456789012:schedule/default/local"],
        "detail": {},
    }


class Scheduler(threading.Thread):
    def __init__(
        self,
        schedule: Schedule,
        invoke: Callable[[dict[str, Any]], Any],
        stop: threading.Event,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        retry_base_seconds: float = 1.0,
    ) -> None:
        super().__init__(name=f"schedule-{schedule.name}", daemon=True)
        self.schedule = schedule
        self.cron = Cron.parse(schedule.cron)
        self._invoke = invoke
        self._stopping = stop
        self._clock = clock
        self._retry_base = retry_base_seconds

    def run(self) -> None:
        due = self.cron.next_after(self._clock())
        while not self._stopping.is_set():
            # Wake at least once a minute, so a laptop's sleep or clock change is noticed.
            remaining = (due - self._clock()).total_seconds()
            if remaining > 0:
                self._stopping.wait(min(remaining, 60))
                continue
            self.fire(due)
            due = self.cron.next_after(self._clock())

    def fire(self, at: datetime) -> bool:
        """Invoke the target, retried as the schedule's retry policy says."""
        for attempt in range(1 + self.schedule.retry_attempts):
            try:
                result = self._invoke(scheduled_event(self.schedule, at))
            except Exception as error:
                _log.error(
                    "%s: attempt %d failed: %s", self.schedule.function.name, attempt + 1, error
                )
                if self._stopping.wait(min(60, self._retry_base * 2**attempt)):
                    return False
            else:
                _log.info("%s: %s", self.schedule.description, result)
                return True
        return False
