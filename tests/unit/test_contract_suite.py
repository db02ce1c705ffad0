"""The contract suite's own oracle (tests/contract): its settings, its check of every
answer against the document, and its independent statistics, on made-up answers."""

import json
from typing import Any

import pytest
import requests

from tests.contract.client import Document, Mode, Settings, expected_stats, names


def answer(method: str, path: str, status: int, body: Any, content_type: str) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response.headers["Content-Type"] = content_type
    response._content = json.dumps(body).encode()
    response.request = requests.Request(method, "https://example.test" + path).prepare()
    return response


ACCEPTED = {"id": "a1", "date": "2026-03-01", "number": 4}
PROBLEM = {"type": "about:blank", "title": "Conflict", "status": 409, "detail": "Reused key."}


def test_settings_default_to_the_local_stack_in_full_mode():
    settings = Settings.from_env({})

    assert (settings.url, settings.mode) == ("", Mode.FULL)


def test_settings_take_a_deployment_in_read_only_mode():
    settings = Settings.from_env(
        {"CONTRACT_URL": "https://d111.cloudfront.net/", "CONTRACT_MODE": "read-only"}
    )

    assert (settings.url, settings.mode) == ("https://d111.cloudfront.net", Mode.READ_ONLY)


@pytest.mark.parametrize(
    "env",
    [
        {"CONTRACT_MODE": "readonly"},
        {"CONTRACT_URL": "d111.cloudfront.net"},
        {"CONTRACT_SETTLE_SECONDS": "0"},
    ],
)
def test_settings_refuse_what_they_do_not_understand(env):
    with pytest.raises(ValueError, match="CONTRACT_"):
        Settings.from_env(env)


def test_a_declared_answer_passes_the_document():
    document = Document.load()

    document.check(answer("POST", "/api/submit-number", 201, ACCEPTED, "application/json"))
    document.check(answer("POST", "/api/submit-number", 409, PROBLEM, "application/problem+json"))


def test_an_undeclared_status_fails_the_document():
    with pytest.raises(AssertionError, match="201 is not in the document"):
        Document.load().check(
            answer("GET", "/api/daily-stats", 201, PROBLEM, "application/problem+json")
        )


def test_an_error_as_plain_json_fails_the_document():
    with pytest.raises(AssertionError, match="Content-Type"):
        Document.load().check(
            answer("POST", "/api/submit-number", 409, PROBLEM, "application/json")
        )


def test_a_body_off_its_schema_fails_the_document():
    with pytest.raises(AssertionError, match="does not match the document"):
        Document.load().check(
            answer("POST", "/api/submit-number", 201, {**ACCEPTED, "extra": 1}, "application/json")
        )


def test_a_field_is_named_by_errors_or_detail():
    by_function = {"detail": "Invalid.", "errors": [{"field": "number", "pointer": "#/number"}]}

    assert names(by_function, "number")
    assert not names(by_function, "timestamp")
    assert names({"detail": "'from' is after 'to'."}, "from")


@pytest.mark.parametrize(
    ("histogram", "expected"),
    [
        (
            {},
            {
                "count": 0,
                "sum": 0,
                "mean": None,
                "min": None,
                "max": None,
                "mode": None,
                "median": None,
            },
        ),
        (
            {1: 1, 2: 1},
            {"count": 2, "sum": 3, "mean": 1.5, "min": 1, "max": 2, "mode": 1, "median": 1.5},
        ),
        (
            {3: 2, 9: 2, 10: 3},
            {"count": 7, "sum": 54, "mean": 7.7143, "min": 3, "max": 10, "mode": 10, "median": 9},
        ),
    ],
)
def test_the_suite_computes_the_statistics_itself(histogram, expected):
    full = {str(n): histogram.get(n, 0) for n in range(1, 11)}

    assert expected_stats(full) == expected
