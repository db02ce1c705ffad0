"""Submitting: accepted, replayed, conflicting, and counted exactly once in the
statistics. These store picks: full mode only (the local stack and non-production
environments)."""

import uuid

import pytest

from tests.contract.client import Client, Settings, assert_problem, utc_today, wait_until

pytestmark = pytest.mark.writes


def fresh_key() -> str:
    return f"contract-{uuid.uuid4().hex}"


def test_a_pick_is_accepted_with_its_day(api: Client):
    body = {
        "number": 6,
        "timestamp": "2026-03-01T10:00:00.123+01:00",
        "location": {"latitude": 48.85, "longitude": 2.35},
    }

    response = api.submit(body, key=fresh_key())

    assert response.status_code == 201, response.text
    accepted = response.json()
    assert accepted["number"] == 6
    assert accepted["date"] == utc_today().isoformat()  # the server's day, not the client's
    assert accepted["id"]


def test_a_pick_without_key_or_location_is_accepted(api: Client):
    response = api.submit({"number": 2, "location": None})

    assert response.status_code == 201, response.text


def test_a_replay_gets_the_first_answer(api: Client):
    key = fresh_key()

    first = api.submit({"number": 8}, key=key)
    replay = api.submit({"number": 8}, key=key)

    assert (first.status_code, replay.status_code) == (201, 200), replay.text
    assert replay.json() == first.json()


def test_a_key_reused_with_another_body_is_a_conflict(api: Client):
    key = fresh_key()
    assert api.submit({"number": 2}, key=key).status_code == 201

    assert_problem(api.submit({"number": 3}, key=key), 409)


def test_picks_are_counted_exactly_once_in_the_statistics(api: Client, settings: Settings):
    # Given the picks accepted so far in this run
    today = utc_today()
    picks = [3, 3, 7, 10, 1]

    # When more picks are submitted, each one replayed once with its key
    for number in picks:
        key = fresh_key()
        assert api.submit({"number": number}, key=key).status_code == 201
        assert api.submit({"number": number}, key=key).status_code == 200

    # Then today's statistics grow by every accepted pick, once each: none lost,
    # no replay counted
    wait_until(
        lambda: api.histogram(today) == api.expected(today),
        settings.catch_up_seconds,
        "every accepted pick in today's statistics",
    )
    assert api.day(today)["count"] == api.expected(today).total()
