"""Every class of bad input is refused with a 4xx problem+json that names the
offending field, and nothing is stored: both modes (a refused request writes
nothing, so production gets it too).

The refusal's wording depends on the layer that refuses (differences.MODEL_VALIDATOR);
the status, the media type and the problem's shape do not.
"""

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pytest

from tests.contract.client import (
    NUMBERS,
    STATS,
    SUBMIT,
    Client,
    Mode,
    Settings,
    assert_problem,
    names,
    stays,
    utc_today,
    wait_until,
)

MAX_BODY_BYTES = 4096
VALID_KEY = "contract-a1b2c3d4e5f6a7b8"


@dataclass(frozen=True)
class Bad:
    id: str
    status: int
    offending: str  # the field the problem must name
    method: str = "POST"
    path: str = SUBMIT
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    query: list[tuple[str, str]] = field(default_factory=list)

    def send(self, api: Client) -> Any:
        headers = self.headers
        if self.method == "POST":
            headers = {"Content-Type": "application/json", **headers}
        return api.request(
            self.method, self.path, data=self.body, headers=headers, params=self.query or None
        )

    def stores_a_pick_if_accepted(self) -> bool:
        """Whether accepting it by mistake would add to the statistics."""
        try:
            body = json.loads(self.body or b"")
        except ValueError:
            return False
        number = body.get("number") if isinstance(body, dict) else None
        return self.method == "POST" and type(number) is int and number in NUMBERS


def body(value: Any) -> bytes:
    return json.dumps(value).encode()


def stats(id: str, offending: str, *query: tuple[str, str]) -> Bad:
    return Bad(id, 400, offending, method="GET", path=STATS, query=list(query))


CORPUS = [
    # the body is not a JSON object
    Bad("not-json", 400, "body", body=b"number=5"),
    Bad("truncated-json", 400, "body", body=b'{"number": 5'),
    Bad("empty-body", 400, "body", body=b""),
    Bad("json-array", 400, "#", body=body([{"number": 5}])),
    Bad("NaN", 400, "body", body=b'{"number": NaN}'),
    # the media type
    Bad(
        "text-plain",
        415,
        "Content-Type",
        body=body({"number": 5}),
        headers={"Content-Type": "text/plain"},
    ),
    # (a body that the schema accepts: one it rejects is a 400 in AWS, whatever its
    # media type: differences.NON_JSON_BODY)
    Bad(
        "form-urlencoded",
        415,
        "Content-Type",
        body=body({"number": 5}),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    ),
    # the number
    Bad("missing-number", 400, "number", body=body({})),
    Bad("number-as-string", 400, "number", body=body({"number": "5"})),
    Bad("float", 400, "number", body=body({"number": 5.5})),
    Bad("integral-float", 400, "number", body=b'{"number": 5.0}'),
    Bad("boolean", 400, "number", body=body({"number": True})),
    Bad("zero", 400, "number", body=body({"number": 0})),
    Bad("eleven", 400, "number", body=body({"number": 11})),
    Bad("null-number", 400, "number", body=body({"number": None})),
    # fields that are not in the schema
    Bad("extra-field", 400, "admin", body=body({"number": 5, "admin": True})),
    Bad("case-variant", 400, "number", body=body({"Number": 5})),
    # the location
    Bad("location-string", 400, "location", body=body({"number": 5, "location": "Paris"})),
    Bad(
        "latitude-91",
        400,
        "location.latitude",
        body=body({"number": 5, "location": {"latitude": 91, "longitude": 2}}),
    ),
    Bad(
        "location-extra",
        400,
        "location.accuracy",
        body=body({"number": 5, "location": {"latitude": 1, "longitude": 2, "accuracy": 3}}),
    ),
    # the client's timestamp
    Bad(
        "timestamp-2026-02-30",
        400,
        "timestamp",
        body=body({"number": 5, "timestamp": "2026-02-30T10:00:00Z"}),
    ),
    Bad(
        "timestamp-no-offset",
        400,
        "timestamp",
        body=body({"number": 5, "timestamp": "2026-01-01T10:00:00"}),
    ),
    Bad("timestamp-epoch", 400, "timestamp", body=body({"number": 5, "timestamp": 1767225600})),
    # the Idempotency-Key header
    Bad(
        "key-too-short",
        400,
        "Idempotency-Key",
        body=body({"number": 5}),
        headers={"Idempotency-Key": "abc"},
    ),
    Bad(
        "key-too-long",
        400,
        "Idempotency-Key",
        body=body({"number": 5}),
        headers={"Idempotency-Key": "k" * 129},
    ),
    Bad(
        "key-path",
        400,
        "Idempotency-Key",
        body=body({"number": 5}),
        headers={"Idempotency-Key": "../../../../etc/passwd"},
    ),
    Bad(
        "valid-key-bad-body",
        400,
        "number",
        body=body({"number": 0}),
        headers={"Idempotency-Key": VALID_KEY},
    ),
    # too large: valid JSON that fits the schema, padded past the limit with whitespace
    Bad(
        "just-over-the-limit",
        413,
        "body",
        body=b'{"number": 5}' + b" " * (MAX_BODY_BYTES - len(b'{"number": 5}') + 1),
    ),
    # GET /api/daily-stats
    stats("from-not-a-date", "from", ("from", "2026-02-30")),
    stats("to-not-a-date", "to", ("to", "2025-02-29")),
    stats("from-compact", "from", ("from", "20260101")),
    stats("from-after-to", "from", ("from", "2026-03-02"), ("to", "2026-03-01")),
    stats("367-days", "from", ("from", "2025-01-01"), ("to", "2026-01-02")),
    stats("from-twice", "from", ("from", "2026-01-01"), ("from", "2026-01-02")),
    stats("unknown-parameter", "foo", ("foo", "bar")),
    stats("injection", "from", ("from", "' OR '1'='1")),
]


@dataclass
class Refusals:
    """Today's statistics before the first bad request of this module, and which bad
    requests were sent since: each is sent once (production's throttle is shared with
    its users), and the last test checks that none of them was stored."""

    day: date
    before: Counter[int]
    sent: set[str] = field(default_factory=set)


@pytest.fixture(scope="module")
def refusals(api: Client) -> Refusals:
    today = utc_today()
    api.track(today)  # full mode: the books of this run's own picks start here at the latest
    return Refusals(today, api.histogram(today))


@pytest.mark.parametrize("bad", CORPUS, ids=[b.id for b in CORPUS])
def test_bad_input_is_a_4xx_problem_naming_the_field(api: Client, bad: Bad, refusals: Refusals):
    refusals.sent.add(bad.id)

    problem = assert_problem(bad.send(api), bad.status)

    assert names(problem, bad.offending), f"{bad.offending!r} is not named: {problem}"


def test_refused_requests_store_nothing(api: Client, settings: Settings, refusals: Refusals):
    # Given today's statistics before the bad requests
    today, before = refusals.day, refusals.before

    # When every bad request has been sent (by the tests above, or here) and refused
    for bad in CORPUS:
        if bad.id not in refusals.sent:
            assert 400 <= bad.send(api).status_code < 500, bad.id

    # Then the statistics do not grow by them
    if settings.mode is Mode.FULL:
        # A pick sent after them: once the stream has caught up past it, the
        # statistics hold exactly the picks this run had accepted, and keep holding them.
        assert api.submit({"number": 1}).status_code == 201
        wait_until(
            lambda: api.histogram(today) == api.expected(today),
            settings.catch_up_seconds,
            "the accepted picks in the statistics",
        )
        assert stays(lambda: api.histogram(today) == api.expected(today), settings.settle_seconds)
    else:
        # No write of our own to wait for: give the stream time, then compare. Real
        # traffic may add picks meanwhile, but fewer than all the refused ones would.
        storable = sum(bad.stores_a_pick_if_accepted() for bad in CORPUS)
        assert storable >= 10

        def grown() -> int:
            return (api.histogram(today) - before).total()

        assert stays(lambda: grown() < storable, settings.settle_seconds), grown()
