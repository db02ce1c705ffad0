"""POST /api/submit-number through the handler, as API Gateway invokes it."""

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest
from botocore.exceptions import ClientError
from freezegun import freeze_time

from shared.http import Handler
from shared.schemas import MAX_BODY_BYTES
from shared.submissions import SubmissionStore
from tests.support.dynamo import TABLE_NAME, scan_all
from tests.support.http import assert_problem, json_of
from tools.events import api_event

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

Submit = Callable[..., dict[str, Any]]

KEY = "client-key-0123456789"
RECEIVED = datetime(2026, 3, 1, 14, 30, tzinfo=UTC)


def test_first_acceptance_answers_201_and_stores_the_raw_submission(
    submit: Submit, table: "DynamoDBClient"
) -> None:
    # Given a valid submission with a client timestamp and a precise location
    body = {
        "number": 7,
        "timestamp": "2026-03-01T15:30:00+01:00",
        "location": {"latitude": 48.8566, "longitude": 2.3522},
    }

    # When it is posted
    response = submit(body=body, at=RECEIVED)

    # Then it is accepted with its id, day and number
    assert response["statusCode"] == 201
    assert response["headers"]["Content-Type"] == "application/json"
    answer = json_of(response)
    assert answer == {"id": answer["id"], "date": "2026-03-01", "number": 7}
    # And the raw submission is stored with the location coarsened
    stored = SubmissionStore(table, TABLE_NAME).get(answer["id"])
    assert stored is not None
    assert (stored.pick.number, stored.pick.date) == (7, "2026-03-01")
    assert stored.client_timestamp == "2026-03-01T15:30:00+01:00"
    assert (str(stored.latitude), str(stored.longitude)) == ("48.9", "2.4")
    assert stored.received_at == "2026-03-01T14:30:00.000+00:00"


def test_submissions_without_a_key_are_distinct(submit: Submit, table: "DynamoDBClient") -> None:
    first = json_of(submit(body={"number": 3}))
    second = json_of(submit(body={"number": 3}))

    assert first["id"] != second["id"]
    assert len(scan_all(table)) == 2


def test_a_replay_with_the_same_key_and_body_answers_200_with_the_first_answer(
    submit: Submit, table: "DynamoDBClient"
) -> None:
    # Given an accepted submission with an Idempotency-Key
    first = submit(body={"number": 4}, headers={"Idempotency-Key": KEY}, at=RECEIVED)
    stored = scan_all(table)

    # When the client retries it the next day
    replay = submit(
        body={"number": 4}, headers={"Idempotency-Key": KEY}, at=datetime(2026, 3, 2, tzinfo=UTC)
    )

    # Then it gets the first answer back, and nothing new is stored
    assert (first["statusCode"], replay["statusCode"]) == (201, 200)
    assert json_of(replay) == json_of(first)
    assert scan_all(table) == stored


def test_a_replay_is_recognised_whatever_the_key_order_and_whitespace(
    submit: Submit, table: "DynamoDBClient"
) -> None:
    headers = {"Idempotency-Key": KEY}
    first = submit(
        raw_body='{"number":2,"location":{"latitude":1.25,"longitude":3}}', headers=headers
    )

    replay = submit(
        raw_body='{\n  "location": { "longitude": 3, "latitude": 1.25 },\n  "number": 2\n}',
        headers=headers,
    )

    assert replay["statusCode"] == 200
    assert json_of(replay) == json_of(first)
    assert len(scan_all(table)) == 1


def test_the_same_key_with_another_body_is_a_409_conflict(
    submit: Submit, table: "DynamoDBClient"
) -> None:
    # Given an accepted submission with an Idempotency-Key
    submit(body={"number": 4}, headers={"Idempotency-Key": KEY})
    stored = scan_all(table)

    # When the key is reused for another number
    response = submit(body={"number": 5}, headers={"Idempotency-Key": KEY})

    # Then it is refused naming the key, and the first submission stands
    assert_problem(response, 409, "Idempotency-Key")
    assert scan_all(table) == stored


# ---- the day of a submission is the server's UTC day -------------------------------------


@pytest.mark.parametrize(
    ("received", "day"),
    [
        (datetime(2026, 2, 28, 23, 59, 59, 999000, tzinfo=UTC), "2026-02-28"),
        (datetime(2026, 3, 1, 0, 0, 0, tzinfo=UTC), "2026-03-01"),
        (datetime(2026, 12, 31, 23, 59, 59, 999000, tzinfo=UTC), "2026-12-31"),
        (datetime(2027, 1, 1, 0, 0, 0, tzinfo=UTC), "2027-01-01"),
    ],
)
def test_the_day_is_the_utc_day_of_api_gateways_receipt_time(
    submit: Submit, received: datetime, day: str
) -> None:
    # Given the function runs a while after API Gateway received the request
    with freeze_time("2027-06-15T12:00:00Z"):
        # When the request is handled
        response = submit(body={"number": 1}, at=received)

    # Then the day is the receipt's UTC day, not the function's
    assert json_of(response)["date"] == day


def test_a_client_clock_claiming_another_day_does_not_move_the_submission(
    submit: Submit,
) -> None:
    # Given a client whose clock says it is already tomorrow (UTC+14)
    body = {"number": 9, "timestamp": "2026-03-02T13:59:00+14:00"}

    # When it submits just before midnight UTC
    response = submit(body=body, at=datetime(2026, 3, 1, 23, 59, 59, tzinfo=UTC))

    # Then the submission counts for the server's day
    assert json_of(response)["date"] == "2026-03-01"


@freeze_time("2026-05-17T08:00:00Z")
def test_without_a_receipt_time_the_function_clock_decides(submit_number: Handler) -> None:
    def without_request_time(event: dict[str, Any]) -> dict[str, Any]:
        del event["requestContext"]["requestTimeEpoch"]
        return event

    event = without_request_time(api_event("POST", "/api/submit-number", body={"number": 2}))

    assert json_of(submit_number(event))["date"] == "2026-05-17"


# ---- bad input of every kind: a 4xx problem naming the field, and nothing written ---------


def _nested(depth: int) -> str:
    return '{"number": 1, "location": ' + "[" * depth + "]" * depth + "}"


def _body(document: Any, **event: Any) -> dict[str, Any]:
    return {"body": document, **event}


def _raw(text: str | bytes, **event: Any) -> dict[str, Any]:
    return {"raw_body": text, **event}


def _with(**fields: Any) -> dict[str, Any]:
    """A valid submission but for `fields`."""
    return _body({"number": 1, **fields})


def _at(latitude: Any, longitude: Any = 0, **more: Any) -> dict[str, Any]:
    return _with(location={"latitude": latitude, "longitude": longitude, **more})


def _key(key: str) -> dict[str, Any]:
    return _body({"number": 1}, headers={"Idempotency-Key": key})


TOO_LARGE = '{"number": 1}' + " " * MAX_BODY_BYTES
TYPE = "Content-Type"
KEY_HEADER = "Idempotency-Key"

# (case id, api_event arguments, status, named field; None where the body is not JSON)
BAD_INPUT: list[tuple[str, dict[str, Any], int, str | None]] = [
    ("not-json", _raw("number=5"), 400, None),
    ("truncated-json", _raw('{"number": 5'), 400, None),
    ("empty-body", _raw(""), 400, None),
    ("json-but-not-an-object", _raw("[5]"), 400, ""),
    ("text-plain", _body({"number": 5}, content_type="text/plain"), 415, TYPE),
    ("form", _raw("number=5", content_type="application/x-www-form-urlencoded"), 415, TYPE),
    ("json-lookalike-type", _body({"number": 5}, content_type="application/jsonp"), 415, TYPE),
    ("no-content-type", _body({"number": 5}, content_type=None), 415, TYPE),
    ("missing-number", _body({"timestamp": "2026-03-01T10:00:00Z"}), 400, "number"),
    ("extra-field", _with(name="x"), 400, "name"),
    ("extra-location-field", _at(1, 2, altitude=3), 400, "location.altitude"),
    ("missing-longitude", _with(location={"latitude": 1}), 400, "location.longitude"),
    ("zero", _with(number=0), 400, "number"),
    ("eleven", _with(number=11), 400, "number"),
    ("negative", _with(number=-3), 400, "number"),
    ("huge-integer", _raw('{"number": ' + "9" * 400 + "}"), 400, "number"),
    ("float-whole", _raw('{"number": 5.0}'), 400, "number"),
    ("float-exponent", _raw('{"number": 5e0}'), 400, "number"),
    ("float-fraction", _raw('{"number": 5.5}'), 400, "number"),
    ("boolean-true", _with(number=True), 400, "number"),
    ("boolean-false", _with(number=False), 400, "number"),
    ("string-number", _with(number="5"), 400, "number"),
    ("null-number", _with(number=None), 400, "number"),
    ("array-number", _with(number=[5]), 400, "number"),
    ("nan", _raw('{"number": NaN}'), 400, None),
    ("infinity", _raw('{"number": -Infinity}'), 400, None),
    ("overflowing-float", _raw('{"number": 1e309}'), 400, None),
    ("overflowing-latitude", _raw('{"number": 1, "location": {"latitude": 1e400}}'), 400, None),
    ("latitude-out-of-range", _at(90.5), 400, "location.latitude"),
    ("boolean-latitude", _at(True), 400, "location.latitude"),
    ("string-longitude", _at(0, "2.35"), 400, "location.longitude"),
    ("duplicate-keys", _raw('{"number": 1, "number": 2}'), 400, None),
    ("deep-nesting", _raw(_nested(1500)), 400, None),
    ("shallow-nesting", _raw(_nested(50)), 400, "location"),
    ("too-large", _raw(TOO_LARGE), 413, None),
    ("too-large-base64", _raw(TOO_LARGE.encode()), 413, None),
    ("base64-of-non-json", _raw(b"\x00\x01\x02"), 400, None),
    ("not-utf8", _raw(b'{"number": "\xff"}'), 400, None),
    ("timestamp-not-a-date", _with(timestamp="yesterday"), 400, "timestamp"),
    ("timestamp-without-offset", _with(timestamp="2026-03-01T10:00:00"), 400, "timestamp"),
    ("timestamp-february-30", _with(timestamp="2026-02-30T10:00:00Z"), 400, "timestamp"),
    ("timestamp-hour-25", _with(timestamp="2026-03-01T25:00:00Z"), 400, "timestamp"),
    ("timestamp-offset-25h", _with(timestamp="2026-03-01T10:00:00+25:00"), 400, "timestamp"),
    ("timestamp-number", _with(timestamp=1772359200), 400, "timestamp"),
    (
        "timestamp-too-long",
        _with(timestamp="2026-03-01T10:00:00." + "1" * 40 + "Z"),
        400,
        "timestamp",
    ),
    ("key-too-short", _key("short"), 400, KEY_HEADER),
    ("key-too-long", _key("k" * 129), 400, KEY_HEADER),
    ("key-bad-characters", _key("key with spaces 0123"), 400, KEY_HEADER),
    ("key-empty", _key(""), 400, KEY_HEADER),
]


@pytest.mark.parametrize(
    ("event_args", "status", "field"),
    [pytest.param(args, status, field, id=case) for case, args, status, field in BAD_INPUT],
)
def test_bad_input_is_a_client_problem_and_writes_nothing(
    submit: Submit,
    table: "DynamoDBClient",
    event_args: dict[str, Any],
    status: int,
    field: str | None,
) -> None:
    # Given a table that already holds an accepted submission
    submit(body={"number": 5}, headers={"Idempotency-Key": KEY})
    before = scan_all(table)

    # When a bad request arrives
    response = submit(**event_args)

    # Then it is answered with a problem naming what is wrong
    problem = assert_problem(response, status, field)
    assert problem["status"] < 500
    # And the table is exactly as it was
    assert scan_all(table) == before


def test_a_corrupt_base64_body_is_a_client_problem(
    submit_number: Handler, table: "DynamoDBClient"
) -> None:
    event = api_event("POST", "/api/submit-number", raw_body="not base64!")
    event["isBase64Encoded"] = True

    assert_problem(submit_number(event), 400)
    assert scan_all(table) == []


def test_a_body_of_exactly_the_limit_is_accepted(submit: Submit) -> None:
    body = '{"number": 1}'
    padded = body + " " * (MAX_BODY_BYTES - len(body))

    assert submit(raw_body=padded)["statusCode"] == 201


def test_a_base64_encoded_json_body_is_accepted(submit: Submit) -> None:
    response = submit(raw_body=json.dumps({"number": 8}).encode())

    assert response["statusCode"] == 201
    assert json_of(response)["number"] == 8


def test_a_charset_parameter_on_the_content_type_is_fine(submit: Submit) -> None:
    response = submit(body={"number": 8}, content_type="Application/JSON; charset=utf-8")

    assert response["statusCode"] == 201


def test_a_storage_failure_is_a_500_problem_without_details(
    submit: Submit, submission_store: SubmissionStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: Any, **__: Any) -> bool:
        raise RuntimeError("table is gone")

    monkeypatch.setattr(submission_store, "add", broken)

    problem = assert_problem(submit(body={"number": 1}), 500)
    assert "table" not in problem["detail"]


def test_a_table_over_capacity_is_a_retryable_503_not_a_500(
    submit: Submit, table: "DynamoDBClient", monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a table that refuses writes for lack of provisioned capacity
    def throttled(**_: Any) -> None:
        raise ClientError(
            {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}},
            "PutItem",
        )

    monkeypatch.setattr(table, "put_item", throttled)

    # When a valid pick arrives
    response = submit(body={"number": 4}, headers={"Idempotency-Key": "k" * 20})

    # Then the client is told to retry (with the same key), not that the server broke
    problem = assert_problem(response, 503)
    assert response["headers"]["Retry-After"] == "1"
    assert problem["title"] == "Service Unavailable"
