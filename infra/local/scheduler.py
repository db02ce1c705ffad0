"""The topology's schedule, run while the stack runs: EventBridge Scheduler's
`cron(minutes hours day-of-month month day-of-week year)` in UTC, and the
target invoked with its retry policy."""

import logging
import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from infra.topology import Schedule

_log = logging.getLogger(__name__)

_MONTHS: Final = (
    "JAN",
    "FEB",
    "MAR",
    "APR",
    "MAY",
    "JUN",
    "JUL",
    "AUG",
    "SEP",
    "OCT",
    "NOV",
    "DEC",
)
_WEEKDAYS: Final = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")  # EventBridge: 1 = SUN


def _field(text: str, low: int, high: int, names: tuple[str, ...] = ()) -> frozenset[int]:
    """The values of one cron field: *, ?, numbers, names, ranges, lists and steps."""
    values: set[int] = set()
    for part in text.upper().split(","):
        if names:
            for index, name in enumerate(names):
                part = re.sub(rf"\b{name}\b", str(index + low), part)
        base, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if base in ("*", "?"):
            first, last = low, high
        elif "-" in base:
            first, last = (int(v) for v in base.split("-"))
        elif base.isdigit():
            first = int(base)
            last = high if step_text else first
        else:
            raise ValueError(f"unsupported cron field {text!r} (L, W and # are not emulated)")
        if not low <= first <= last <= high:
            raise ValueError(f"cron field {text!r} is out of range {low}-{high}")
        values.update(range(first, last + 1, step))
    return frozenset(values)


@dataclass(frozen=True)
class Cron:
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int] | None  # None: '?'
    months: frozenset[int]
    weekdays: frozenset[int] | None  # None: '?'; 1 = Sunday
    years: frozenset[int]

    @classmethod
    def parse(cls, expression: str) -> "Cron":
        found = re.fullmatch(r"cron\((.+)\)", expression.strip())
        fields = found.group(1).split() if found else []
        if len(fields) != 6:
            raise ValueError(f"expected cron(minutes hours day month weekday year): {expression}")
        minute, hour, day, month, weekday, year = fields
        return cls(
            minutes=_field(minute, 0, 59),
            hours=_field(hour, 0, 23),
            days=None if day == "?" else _field(day, 1, 31),
            months=_field(month, 1, 12, _MONTHS),
            weekdays=None if weekday == "?" else _field(weekday, 1, 7, _WEEKDAYS),
            years=_field(year, 1970, 2199),
        )

    def next_after(self, moment: datetime) -> datetime:
        """The first time strictly after `moment` (UTC) that the expression matches."""
        start = moment.astimezone(UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)
        day = start.replace(hour=0, minute=0)
        for _ in range(366 * 5):
            if self._matches_day(day):
                for hour in sorted(self.hours):
                    for minute in sorted(self.minutes):
                        candidate = day.replace(hour=hour, minute=minute)
                        if candidate >= start:
                            return candidate
            day += timedelta(days=1)
        raise ValueError("the expression does not match within five years")

    def _matches_day(self, day: datetime) -> bool:
        weekday = (day.isoweekday() % 7) + 1  # Monday=1..Sunday=7 -> Sunday=1..Saturday=7
        return (
            day.year in self.years
            and day.month in self.months
            and (self.days is None or day.day in self.days)
            and (self.weekdays is None or weekday in self.weekdays)
        )


def scheduled_event(schedule: Schedule, at: datetime) -> dict[str, Any]:
    """The event EventBridge Scheduler's templated Lambda target receives."""
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
        super().__init__(name=f"schedule-{schedule.function.name}", daemon=True)
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
