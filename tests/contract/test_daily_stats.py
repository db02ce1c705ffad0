"""GET /api/daily-stats: defaults, limits, and statistics that derive exactly from
each day's histogram. Reads only: both modes."""

from datetime import date, timedelta

import pytest

from tests.contract.client import NUMBERS, Client, assert_problem, expected_stats, utc_today

# Before any deployment: a day nobody can have picked on (the day is the server's).
EMPTY_DAY = "2001-01-01"


def days_between(first: str, last: str) -> list[str]:
    start, end = date.fromisoformat(first), date.fromisoformat(last)
    return [(start + timedelta(days=i)).isoformat() for i in range((end - start).days + 1)]


def test_the_default_is_the_last_7_days_ending_today(api: Client):
    before = utc_today()
    response = api.stats()
    after = utc_today()

    assert response.status_code == 200
    body = response.json()
    assert body["to"] in {before.isoformat(), after.isoformat()}
    assert [d["date"] for d in body["days"]] == days_between(body["from"], body["to"])
    assert len(body["days"]) == 7


def test_to_alone_ends_a_7_day_range(api: Client):
    body = api.stats(to="2026-03-01").json()

    assert (body["from"], body["to"]) == ("2026-02-23", "2026-03-01")


def test_from_alone_runs_until_today(api: Client):
    first = (utc_today() - timedelta(days=2)).isoformat()

    body = api.stats(**{"from": first}).json()

    assert body["from"] == first
    assert len(body["days"]) in {3, 4}  # 4 if the UTC day turned meanwhile


@pytest.mark.parametrize(
    ("first", "last"), [("2024-01-01", "2024-12-31"), ("2025-03-01", "2026-03-01")]
)
def test_366_days_is_the_longest_range(api: Client, first: str, last: str):
    response = api.stats(**{"from": first, "to": last})

    assert response.status_code == 200, response.text
    assert len(response.json()["days"]) == 366


def test_367_days_is_refused(api: Client):
    assert_problem(api.stats(**{"from": "2024-01-01", "to": "2025-01-01"}), 400)


def test_an_empty_day_has_zero_counts_and_no_statistics(api: Client):
    day = api.day(date.fromisoformat(EMPTY_DAY))

    assert day["histogram"] == {str(n): 0 for n in NUMBERS}
    assert {k: v for k, v in day.items() if k not in {"date", "histogram"}} == expected_stats(
        day["histogram"]
    )


def test_every_statistic_derives_exactly_from_the_histograms(api: Client):
    # Given the last 60 days, whatever was picked on them
    first = (utc_today() - timedelta(days=59)).isoformat()
    body = api.stats(**{"from": first}).json()

    # Then each day's statistics are its histogram's, and the total is the days' sum
    for day in body["days"]:
        derived = {k: v for k, v in day.items() if k not in {"date", "histogram"}}
        assert derived == expected_stats(day["histogram"]), day
    total_histogram = {
        str(n): sum(day["histogram"][str(n)] for day in body["days"]) for n in NUMBERS
    }
    assert body["total"]["histogram"] == total_histogram
    assert {k: v for k, v in body["total"].items() if k != "histogram"} == expected_stats(
        total_histogram
    )
