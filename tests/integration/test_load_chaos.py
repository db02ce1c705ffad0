"""Load with faults: 2,000 submissions from 16 concurrent clients against the local
stack under `--chaos` (the stream consumer's batches fail, time out after writing,
are redelivered and carry duplicates). No answer is a 5xx, and once the stream
is drained the rollups hold exactly the accepted submissions, per day and per
number.

The clients talk to 127.0.0.1 only; the number of requests, the request timeout
and the wait for the stream are all bounded. Throttling is lifted: the point is
the data path under load, not the rate limit.
"""

import random
import threading
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from tests.support.local_stack import StartLocalStack
from tools.launcher import LaunchedStack

pytestmark = pytest.mark.integration

SUBMISSIONS = 2_000
CLIENTS = 16
CHAOS_RATE = 0.3
SEED = 2026
REQUEST_TIMEOUT_SECONDS = 10
DRAIN_TIMEOUT_SECONDS = 120
INVALID_BODIES: list[dict[str, Any]] = [{"number": 0}, {"number": "7"}, {"number": 5.5}, {}]


@dataclass(frozen=True)
class Planned:
    body: dict[str, Any]
    key: str | None = None  # Idempotency-Key
    valid: bool = True


@dataclass
class Outcome:
    planned: Planned
    status: int
    body: dict[str, Any] = field(default_factory=dict)


def plan(rng: random.Random) -> list[Planned]:
    """Mostly plain picks; some with an Idempotency-Key and sent twice (a client
    retrying), some with a location, some invalid. Shuffled, so a retry may even
    arrive before its first attempt."""
    submissions: list[Planned] = []
    while len(submissions) < SUBMISSIONS:
        number = rng.randint(1, 10)
        roll = rng.random()
        if roll < 0.10:
            keyed = Planned({"number": number}, key=f"load-{uuid.UUID(int=rng.getrandbits(128))}")
            submissions += [keyed, keyed]
        elif roll < 0.20:
            location = {"latitude": rng.uniform(-90, 90), "longitude": rng.uniform(-180, 180)}
            submissions.append(Planned({"number": number, "location": location}))
        elif roll < 0.28:
            bad: dict[str, Any] = rng.choice(INVALID_BODIES)
            submissions.append(Planned(bad, valid=False))
        else:
            submissions.append(
                Planned({"number": number, "timestamp": "2026-01-01T12:00:00+01:00"})
            )
    submissions = submissions[:SUBMISSIONS]
    rng.shuffle(submissions)
    return submissions


def send_all(stack: LaunchedStack, submissions: list[Planned]) -> list[Outcome]:
    sessions = threading.local()

    def send(planned: Planned) -> Outcome:
        if not hasattr(sessions, "http"):
            sessions.http = requests.Session()
        headers = {"Idempotency-Key": planned.key} if planned.key else {}
        response = sessions.http.post(
            stack.url("/api/submit-number"),
            json=planned.body,
            headers=headers,
            timeout=REQUEST_TIMEOUT_SECONDS,
        )
        is_json = response.headers.get("Content-Type", "").endswith("json")
        return Outcome(planned, response.status_code, response.json() if is_json else {})

    with ThreadPoolExecutor(max_workers=CLIENTS) as clients:
        return list(clients.map(send, submissions))


def rollups_per_day(stack: LaunchedStack) -> dict[str, Counter[int]]:
    """The rollup items as the embedded table holds them, merged per day."""
    days: dict[str, Counter[int]] = {}
    for item in stack.items("ROLLUP#"):
        day = days.setdefault(item["sk"]["S"][:10], Counter())
        for number in range(1, 11):
            day[number] += int(item.get(f"n{number}", {"N": "0"})["N"])
    return {day: +counts for day, counts in days.items()}


@pytest.mark.timeout(420)
def test_under_chaos_no_5xx_and_the_rollups_equal_the_accepted_submissions(
    start_local_stack: StartLocalStack,
):
    # Given the local stack with stream faults injected and no rate limit, on loopback
    stack = start_local_stack(
        "--ephemeral",
        *("--chaos", str(CHAOS_RATE), "--chaos-seed", str(SEED)),
        *("--throttle-rate", "0", "--batching-window", "0.2"),
    )
    assert urlsplit(stack.base_url).hostname == "127.0.0.1"
    submissions = plan(random.Random(SEED))

    # When 16 clients send 2,000 submissions at once
    outcomes = send_all(stack, submissions)

    # Then no answer is a 5xx, and each answer is the one the contract promises
    statuses = Counter(o.status for o in outcomes)
    assert not [s for s in statuses if s >= 500], statuses
    assert all(o.status == 400 for o in outcomes if not o.planned.valid), statuses
    assert all(o.status in (200, 201) for o in outcomes if o.planned.valid), statuses
    accepted = [o.body for o in outcomes if o.status == 201]
    # And a retried key was accepted once; its retry got the first answer back
    by_key: dict[str, list[Outcome]] = {}
    for outcome in outcomes:
        if outcome.planned.key:
            by_key.setdefault(outcome.planned.key, []).append(outcome)
    for attempts in by_key.values():
        assert sorted(a.status for a in attempts) == [200, 201]
        assert attempts[0].body == attempts[1].body
    assert len(accepted) == sum(1 for p in submissions if p.valid) - len(by_key)

    # When the stream is drained (every raw submission marked as counted)
    stack.wait_until_aggregated(timeout=DRAIN_TIMEOUT_SECONDS)

    # Then the rollups equal the accepted submissions, per day and per number
    expected: dict[str, Counter[int]] = {}
    for body in accepted:
        expected.setdefault(body["date"], Counter())[body["number"]] += 1
    assert rollups_per_day(stack) == expected
    # And the raw submissions are exactly the accepted ones
    assert sorted(i["pk"]["S"] for i in stack.items("SUB#")) == sorted(
        "SUB#" + body["id"] for body in accepted
    )
    # And the faults did happen: chaos was not a no-op
    assert "chaos: " in stack.log()
    # And the API answers the same statistics
    with requests.Session() as http:
        for day, counts in expected.items():
            answer = http.get(
                stack.url(f"/api/daily-stats?from={day}&to={day}"),
                timeout=REQUEST_TIMEOUT_SECONDS,
            ).json()
            histogram = answer["days"][0]["histogram"]
            assert +Counter({int(n): c for n, c in histogram.items()}) == counts
