"""The shared schemas, compiled, and strict JSON parsing: every rejection names
what is wrong, so a client can fix its request."""

import json
from typing import Any

import pytest

from shared.http import FieldError, Problem, json_body
from shared.schemas import DAILY_STATS_QUERY_SCHEMA, SUBMISSION_SCHEMA
from shared.validation import compile_schema
from tools.events import api_event

validate_submission = compile_schema(SUBMISSION_SCHEMA)
validate_query = compile_schema(DAILY_STATS_QUERY_SCHEMA)


def _rejection(validate: Any, document: Any) -> Problem:
    with pytest.raises(Problem) as raised:
        validate(document)
    assert raised.value.status == 400
    return raised.value


@pytest.mark.parametrize(
    "document",
    [
        {"number": 1},
        {"number": 10, "timestamp": "2026-03-01T10:00:00Z", "location": None},
        {"number": 5, "timestamp": "2026-03-01T10:00+01:00"},
        {"number": 5, "location": {"latitude": -90, "longitude": 180}},
    ],
)
def test_valid_submissions_pass_unchanged(document: dict[str, Any]) -> None:
    assert validate_submission(document) == document


@pytest.mark.parametrize(
    ("document", "field"),
    [
        ({}, "number"),
        ({"number": 0}, "number"),
        ({"number": 11}, "number"),
        ({"number": "5"}, "number"),
        ({"number": True}, "number"),
        ({"number": None}, "number"),
        ({"number": 1, "extra": 1}, "extra"),
        ({"number": 1, "timestamp": "yesterday"}, "timestamp"),
        ({"number": 1, "timestamp": "2026-03-01T10:00:00"}, "timestamp"),  # no offset
        ({"number": 1, "timestamp": 1700000000}, "timestamp"),
        ({"number": 1, "location": {"latitude": 91, "longitude": 0}}, "location.latitude"),
        ({"number": 1, "location": {"latitude": 0, "longitude": -181}}, "location.longitude"),
        ({"number": 1, "location": {"latitude": 0}}, "location.longitude"),
        ({"number": 1, "location": {"latitude": 0, "longitude": 0, "x": 0}}, "location.x"),
        ({"number": 1, "location": "Paris"}, "location"),
    ],
)
def test_invalid_submissions_name_the_offending_field(document: Any, field: str) -> None:
    problem = _rejection(validate_submission, document)

    assert [error.field for error in problem.errors] == [field]
    assert problem.as_json()["errors"][0]["pointer"] == "#/" + field.replace(".", "/")


def test_a_document_that_is_not_an_object_is_named_as_a_whole() -> None:
    problem = _rejection(validate_submission, [1])

    assert problem.errors == (FieldError("", "The document must be object."),)
    assert problem.as_json()["errors"][0]["pointer"] == "#"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"from": "2026-3-1"}, "from"),
        ({"to": "tomorrow"}, "to"),
        ({"to": "2026-03-01T00:00:00Z"}, "to"),
        ({"day": "2026-03-01"}, "day"),
    ],
)
def test_invalid_queries_name_the_offending_parameter(query: dict[str, str], field: str) -> None:
    assert [e.field for e in _rejection(validate_query, query).errors] == [field]


def _parse(raw: str) -> Any:
    return json_body(api_event("POST", "/", raw_body=raw))


def test_floats_keep_draft_4_meaning_so_five_point_zero_is_no_integer() -> None:
    # Given a number written with a fraction, as JSON draft 4 sees it
    document = _parse('{"number": 5.0}')

    # Then the schema rejects it although 5.0 == 5 in Python
    assert document == {"number": 5.0}
    assert [e.field for e in _rejection(validate_submission, document).errors] == ["number"]


@pytest.mark.parametrize(
    ("raw", "hint"),
    [
        ('{"number": NaN}', "NaN"),
        ('{"number": Infinity}', "Infinity"),
        ('{"number": 1e309}', "1e309"),
        ('{"number": 1, "number": 2}', "'number'"),
        ('{"number": 1', "JSON"),
        ("number=1", "JSON"),
    ],
)
def test_text_that_is_not_strict_json_is_rejected_saying_why(raw: str, hint: str) -> None:
    with pytest.raises(Problem) as raised:
        _parse(raw)

    assert raised.value.status == 400
    assert hint in raised.value.detail


def test_a_deeply_nested_body_is_a_client_error_not_a_crash() -> None:
    with pytest.raises(Problem) as raised:
        _parse("[" * 2000 + "]" * 2000)

    assert raised.value.status == 400


def test_key_order_and_whitespace_do_not_change_the_parsed_document() -> None:
    a = _parse('{"number": 3, "location": {"latitude": 1.5, "longitude": 2}}')
    b = _parse('{ "location":{"longitude":2,"latitude":1.5},\n"number":3 }')

    assert json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)
