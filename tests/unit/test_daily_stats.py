"""The date range of a daily-stats request and the answer built from histograms."""

from datetime import date

import pytest

from shared.errors import InvalidRange
from shared.histogram import Histogram
from shared.http import Problem, domain_problem
from stats.daily_stats import DateRange, daily_stats, requested_range

TODAY = date(2026, 3, 4)


def _answer(refusal: InvalidRange) -> Problem:
    """The API's answer to a refused range."""
    problem = domain_problem(refusal)
    assert problem is not None
    return problem


def _fields(problem: Problem) -> list[str]:
    return [error.field for error in problem.errors]


def _details(problem: Problem) -> list[str]:
    """What the problem says about each offending field (the API's answer)."""
    return [error.detail for error in problem.errors]


def test_default_is_the_last_seven_days_ending_today() -> None:
    assert requested_range({}, today=TODAY) == DateRange(date(2026, 2, 26), TODAY)


def test_to_alone_ends_a_seven_day_range() -> None:
    assert requested_range({"to": "2026-01-03"}, today=TODAY) == DateRange(
        date(2025, 12, 28), date(2026, 1, 3)
    )


def test_from_alone_runs_to_today() -> None:
    assert requested_range({"from": "2026-03-01"}, today=TODAY) == DateRange(
        date(2026, 3, 1), TODAY
    )


def test_a_single_day_range() -> None:
    one_day = requested_range({"from": "2026-02-28", "to": "2026-02-28"}, today=TODAY)

    assert one_day.days() == [date(2026, 2, 28)]


def test_from_after_to_is_rejected_naming_from() -> None:
    with pytest.raises(InvalidRange) as raised:
        requested_range({"from": "2026-03-02", "to": "2026-03-01"}, today=TODAY)

    answer = _answer(raised.value)
    assert answer.status == 400
    assert _fields(answer) == ["from"]
    assert _details(answer) == ["after 'to'"]


def test_366_days_are_allowed() -> None:
    days = requested_range({"from": "2024-01-01", "to": "2024-12-31"}, today=TODAY)  # leap year

    assert len(days.days()) == 366


def test_367_days_are_rejected() -> None:
    with pytest.raises(InvalidRange) as raised:
        requested_range({"from": "2024-01-01", "to": "2025-01-01"}, today=TODAY)

    answer = _answer(raised.value)
    assert answer.status == 400
    assert _fields(answer) == ["from"]
    assert _details(answer) == ["more than 366 days before 'to'"]


@pytest.mark.parametrize("name", ["from", "to"])
@pytest.mark.parametrize("value", ["2026-02-30", "2026-13-01", "2026-00-10", "2025-02-29"])
def test_dates_that_are_not_in_the_calendar_are_rejected(name: str, value: str) -> None:
    with pytest.raises(InvalidRange) as raised:
        requested_range({name: value}, today=TODAY)

    answer = _answer(raised.value)
    assert answer.status == 400
    assert _fields(answer) == [name]
    assert _details(answer) == ["not a real date"]
    assert answer.detail == f"'{name}' ('{value}') is not a real date."


def test_days_cross_month_and_leap_day_boundaries() -> None:
    days = DateRange(date(2028, 2, 27), date(2028, 3, 1)).days()

    assert [d.isoformat() for d in days] == [
        "2028-02-27",
        "2028-02-28",
        "2028-02-29",
        "2028-03-01",
    ]


def test_every_day_is_listed_and_empty_days_carry_zero_and_nulls() -> None:
    # Given picks on the first and last day of a three-day range only
    histograms = {"2026-02-28": Histogram.of([1, 2]), "2026-03-02": Histogram.of([10])}

    # When the answer is built
    answer = daily_stats(DateRange(date(2026, 2, 28), date(2026, 3, 2)), histograms)

    # Then the empty day in between is present, counted as nothing
    assert answer["from"] == "2026-02-28"
    assert answer["to"] == "2026-03-02"
    assert [d["date"] for d in answer["days"]] == ["2026-02-28", "2026-03-01", "2026-03-02"]
    empty = answer["days"][1]
    assert empty["count"] == 0
    assert empty["mean"] is empty["median"] is empty["mode"] is None
    # And the total adds the days up
    assert answer["total"] == Histogram.of([1, 2, 10]).stats()


def test_histograms_outside_the_range_are_not_counted() -> None:
    histograms = {"2026-03-01": Histogram.of([4]), "2026-03-05": Histogram.of([9])}

    answer = daily_stats(DateRange(date(2026, 3, 1), date(2026, 3, 1)), histograms)

    assert answer["total"]["count"] == 1
