"""Schema-valid is accepted: the published formats say exactly what the functions take.

Found by fuzzing the OpenAPI document (issue 13, "the contract at the edges"):
`to=1000-00-00` and `timestamp: "4750-50-28T55:68:98Z"` matched the old patterns
and were answered 400 by the functions' calendar checks. The patterns now encode
the calendar (month lengths, leap years, hours, minutes, seconds, offsets) in
plain ECMA-262 syntax, inside API Gateway's JSON Schema draft-4 subset, so a
request that the schema admits is never refused for its format.
"""

from datetime import date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.accept import new_submission
from shared.http import Problem
from shared.schemas import (
    DAILY_STATS_QUERY_SCHEMA,
    ISO_DATE_PATTERN,
    ISO_DATETIME_PATTERN,
    SUBMISSION_SCHEMA,
)
from shared.validation import compile_schema
from stats.daily_stats import requested_range

validate_submission = compile_schema(SUBMISSION_SCHEMA)
validate_query = compile_schema(DAILY_STATS_QUERY_SCHEMA)
NOW = datetime(2026, 3, 1, 12, 0)


@pytest.mark.parametrize("day", ["1000-00-00", "2026-02-29", "2026-04-31", "1900-02-29"])
def test_impossible_days_are_refused_by_the_schema(day: str) -> None:
    with pytest.raises(Problem):
        validate_query({"to": day})


@pytest.mark.parametrize(
    "timestamp",
    ["4750-50-28T55:68:98Z", "2026-02-30T10:00Z", "2026-01-01T24:00Z", "0000-01-01T00:00Z"],
)
def test_impossible_timestamps_are_refused_by_the_schema(timestamp: str) -> None:
    with pytest.raises(Problem):
        validate_submission({"number": 1, "timestamp": timestamp})


@pytest.mark.parametrize("day", ["2000-02-29", "2024-02-29", "2026-12-31", "1600-02-29"])
def test_real_days_pass_the_schema(day: str) -> None:
    assert validate_query({"to": day}) == {"to": day}


@settings(max_examples=300, deadline=None)
@given(st.from_regex(ISO_DATE_PATTERN, fullmatch=True))
def test_every_schema_valid_day_is_accepted_by_the_stats_function(day: str) -> None:
    assert validate_query({"from": day, "to": day}) == {"from": day, "to": day}
    assert requested_range({"from": day, "to": day}, date(2026, 3, 1)).first.isoformat() == day


@settings(max_examples=300, deadline=None)
@given(st.from_regex(ISO_DATETIME_PATTERN, fullmatch=True))
def test_every_schema_valid_timestamp_is_accepted_by_the_ingest_function(timestamp: str) -> None:
    payload = validate_submission({"number": 3, "timestamp": timestamp})
    submission = new_submission(payload, None, NOW)
    assert submission.public()["number"] == 3


def test_an_answer_may_start_before_the_first_day_a_request_names() -> None:
    """Found by schemathesis: `to=1000-01-01` answers from 0999-12-26 (the default
    7-day range), which the response schema must describe."""
    import re

    from shared.schemas import DAILY_STATS_RESPONSE_SCHEMA

    days = requested_range({"to": "1000-01-01"}, date(2026, 3, 1))
    pattern = DAILY_STATS_RESPONSE_SCHEMA["properties"]["from"]["pattern"]
    assert re.match(pattern, days.first.isoformat())
