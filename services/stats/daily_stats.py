"""Daily statistics: the date range of a request and the answer, from histograms.

Pure functions over plain values: the rollup store supplies the histograms, and
a range that cannot be read is an InvalidRange (the HTTP edge answers it).
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from shared.errors import InvalidRange
from shared.histogram import Histogram
from shared.schemas import DEFAULT_RANGE_DAYS, MAX_RANGE_DAYS


@dataclass(frozen=True)
class DateRange:
    first: date
    last: date

    def days(self) -> list[date]:
        return [self.first + timedelta(days=i) for i in range((self.last - self.first).days + 1)]


def requested_range(params: Mapping[str, str], today: date) -> DateRange:
    """The range asked for; by default the DEFAULT_RANGE_DAYS days ending today (UTC)."""
    last = _day(params, "to") or today
    first = _day(params, "from") or last - timedelta(days=DEFAULT_RANGE_DAYS - 1)
    if first > last:
        raise InvalidRange(f"'from' ({first}) is after 'to' ({last}).", "from", "after 'to'")
    if (last - first).days + 1 > MAX_RANGE_DAYS:
        raise InvalidRange(
            f"The range spans more than {MAX_RANGE_DAYS} days.",
            "from",
            f"more than {MAX_RANGE_DAYS} days before 'to'",
        )
    return DateRange(first, last)


def daily_stats(days: DateRange, histograms: Mapping[str, Histogram]) -> dict[str, Any]:
    """One entry per day of the range (empty days included) and the total."""
    total = Histogram()
    entries = []
    for day in days.days():
        histogram = histograms.get(day.isoformat(), Histogram())
        total += histogram
        entries.append({"date": day.isoformat(), **histogram.stats()})
    return {
        "from": days.first.isoformat(),
        "to": days.last.isoformat(),
        "days": entries,
        "total": total.stats(),
    }


def _day(params: Mapping[str, str], name: str) -> date | None:
    value = params.get(name)
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidRange(
            f"'{name}' ({value!r}) is not a real date.", name, "not a real date"
        ) from None
