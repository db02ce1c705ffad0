"""What the contract suite knows about its target: a base URL, a mode, and HTTP.

The target is read once from the environment (`make smoke` sets it):

- CONTRACT_URL: the deployment's base URL (CloudFront's https://…); empty: the
  suite starts the local stack itself.
- CONTRACT_MODE: `full` (default; writes submissions) or `read-only` (no write at
  all: for production).
- CONTRACT_SETTLE_SECONDS: how long a refused request has to show up in the
  statistics before "nothing was stored" holds (default 3).
- CONTRACT_CATCH_UP_SECONDS: how long accepted submissions may take to reach the
  statistics (default 30; the stream consumer's lag).
- CONTRACT_BURST: the most requests the 429 check may send (default 60).

Every answer is also checked against the published document (web/openapi.json):
a declared status, its content type, its schema.
"""

import json
import os
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

import requests
from openapi_schema_validator import OAS30Validator

from tests.contract.differences import MODEL_VALIDATOR_DETAIL_PREFIX

DOCUMENT_PATH: Final = Path(__file__).resolve().parents[2] / "web" / "openapi.json"
SUBMIT: Final = "/api/submit-number"
STATS: Final = "/api/daily-stats"
PROBLEM: Final = "application/problem+json"
JSON: Final = "application/json"
REQUEST_TIMEOUT_SECONDS: Final = 15
POLL_SECONDS: Final = 0.2
THROTTLED_RETRIES: Final = 5
MAX_RETRY_AFTER: Final = 5.0
NUMBERS: Final = range(1, 11)


class Mode(StrEnum):
    FULL = "full"
    READ_ONLY = "read-only"


@dataclass(frozen=True)
class Settings:
    url: str
    mode: Mode
    settle_seconds: float
    catch_up_seconds: float
    burst: int

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> "Settings":
        url = env.get("CONTRACT_URL", "").strip().rstrip("/")
        if url and urlsplit(url).scheme not in {"http", "https"}:
            raise ValueError(f"CONTRACT_URL must be an http(s) URL, not {url!r}")
        mode = env.get("CONTRACT_MODE", "").strip() or Mode.FULL
        if mode not in set(Mode):
            raise ValueError(
                f"CONTRACT_MODE must be one of {[m.value for m in Mode]}, not {mode!r}"
            )
        return cls(
            url=url,
            mode=Mode(mode),
            settle_seconds=_positive(env, "CONTRACT_SETTLE_SECONDS", 3),
            catch_up_seconds=_positive(env, "CONTRACT_CATCH_UP_SECONDS", 30),
            burst=int(_positive(env, "CONTRACT_BURST", 60)),
        )


def _positive(env: Mapping[str, str], name: str, default: float) -> float:
    value = float(env.get(name, "") or default)
    if value <= 0:
        raise ValueError(f"{name} must be positive, not {value}")
    return value


def utc_today() -> date:
    return datetime.now(UTC).date()


class Document:
    """The published OpenAPI document as the oracle of every answer."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.raw = document
        self._components = document["components"]

    @classmethod
    def load(cls) -> "Document":
        return cls(json.loads(DOCUMENT_PATH.read_text(encoding="utf-8")))

    def check(self, response: requests.Response) -> None:
        """The answer is one the document declares for its operation, with that schema."""
        request = response.request
        path = urlsplit(str(request.url)).path
        operation = self.raw["paths"].get(path, {}).get(str(request.method).lower())
        if operation is None:
            return  # not an operation of the document (unknown route, wrong method)
        responses = operation["responses"]
        status = str(response.status_code)
        declared = responses.get(status) or responses.get(status[0] + "XX")
        assert declared is not None, f"{request.method} {path}: {status} is not in the document"
        content_type = response.headers.get("Content-Type", "").split(";")[0].strip()
        assert content_type in declared["content"], (
            f"{request.method} {path} {status}: Content-Type {content_type!r}, "
            f"the document says {sorted(declared['content'])}"
        )
        schema = declared["content"][content_type]["schema"]
        self.validate(response.json(), schema)
        for name, header in declared.get("headers", {}).items():
            assert name in response.headers, f"{status} without its {name} header"
            if header["schema"].get("type") == "integer":
                assert response.headers[name].isdigit(), (name, response.headers[name])

    def validate(self, instance: Any, schema: Mapping[str, Any]) -> None:
        validator = OAS30Validator({**schema, "components": self._components})
        errors = [f"{e.json_path}: {e.message}" for e in validator.iter_errors(instance)]
        assert not errors, f"the body does not match the document: {errors}"


class Client:
    """HTTP to one deployment; every answer is checked against the document.

    It keeps the books of its own picks: each day's statistics as they were before
    its first submission, and every pick accepted since, so that `expected(day)` is
    what the statistics show once the stream consumer has caught up."""

    def __init__(self, base_url: str, document: Document) -> None:
        self.base_url = base_url
        self.document = document
        self.session = requests.Session()
        self.session.headers["User-Agent"] = "pick-a-number-contract-suite"
        self._before: dict[date, Counter[int]] = {}
        self._accepted: dict[date, Counter[int]] = {}

    def close(self) -> None:
        self.session.close()

    def url(self, path: str) -> str:
        return self.base_url + path

    def request(
        self, method: str, path: str, *, retry_throttled: bool = True, **kwargs: Any
    ) -> requests.Response:
        """One request; a throttled one (429: it reached no function) is sent again
        after its Retry-After, as a well-behaved client does, at most a few times."""
        kwargs.setdefault("timeout", REQUEST_TIMEOUT_SECONDS)
        kwargs.setdefault("allow_redirects", False)
        retries = THROTTLED_RETRIES if retry_throttled else 0
        response = self.session.request(method, self.url(path), **kwargs)
        while response.status_code == 429 and retries:
            retries -= 1
            time.sleep(min(float(response.headers.get("Retry-After", "1")), MAX_RETRY_AFTER))
            response = self.session.request(method, self.url(path), **kwargs)
        if response.headers.get("Content-Type", "").startswith((JSON, PROBLEM)):
            self.document.check(response)
        return response

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def submit(self, body: Any, *, key: str | None = None) -> requests.Response:
        """Submit a pick, and count it when it is accepted (201)."""
        self.track(utc_today())
        headers = {"Idempotency-Key": key} if key else None
        response = self.request("POST", SUBMIT, json=body, headers=headers)
        if response.status_code == 201:
            accepted = response.json()
            day = date.fromisoformat(accepted["date"])
            assert day in self._before, f"the UTC day turned during the run ({day}); run again"
            self._accepted.setdefault(day, Counter())[accepted["number"]] += 1
        return response

    def track(self, day: date) -> None:
        """Take the day's statistics as the baseline, unless the books already have it."""
        if day not in self._before:
            self._before[day] = self.histogram(day)

    def expected(self, day: date) -> Counter[int]:
        """The day's statistics once every pick this client had accepted is counted."""
        assert day in self._before, f"nothing was submitted on {day}"
        return self._before[day] + self._accepted.get(day, Counter())

    def stats(self, **query: str) -> requests.Response:
        return self.get(STATS, params=query)

    def day(self, day: date) -> dict[str, Any]:
        response = self.stats(**{"from": day.isoformat(), "to": day.isoformat()})
        assert response.status_code == 200, response.text
        entry: dict[str, Any] = response.json()["days"][0]
        return entry

    def histogram(self, day: date) -> Counter[int]:
        """The day's picks as the statistics count them."""
        counts = self.day(day)["histogram"]
        return +Counter({int(number): count for number, count in counts.items()})


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what}: not within {timeout:g} s"
        time.sleep(POLL_SECONDS)


def stays(condition: Callable[[], bool], seconds: float) -> bool:
    """The condition holds at every poll for `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not condition():
            return False
        time.sleep(POLL_SECONDS)
    return condition()


def expected_stats(histogram: dict[str, int]) -> dict[str, Any]:
    """The statistics of a histogram, computed here, independently of the service."""
    picks = [n for n in NUMBERS for _ in range(histogram[str(n)])]
    if not picks:
        return dict.fromkeys(("mean", "min", "max", "mode", "median")) | {"count": 0, "sum": 0}
    middle = (picks[(len(picks) - 1) // 2] + picks[len(picks) // 2]) / 2
    return {
        "count": len(picks),
        "sum": sum(picks),
        "mean": round(sum(picks) / len(picks), 4),
        "min": picks[0],
        "max": picks[-1],
        "mode": min(NUMBERS, key=lambda n: (-histogram[str(n)], n)),
        "median": middle,
    }


def assert_problem(response: requests.Response, status: int) -> dict[str, Any]:
    """An RFC 9457 problem of this status, whichever layer answered."""
    assert response.status_code == status, f"{response.status_code}: {response.text[:500]}"
    assert response.headers["Content-Type"] == PROBLEM, response.headers["Content-Type"]
    body: dict[str, Any] = response.json()
    assert body["status"] == status, body
    assert body["title"], body
    assert isinstance(body.get("detail"), str), body
    assert body["detail"], body
    return body


def names(problem: Mapping[str, Any], field: str) -> bool:
    """The problem names the offending field: in `errors` (the function), or the
    refusal is API Gateway's model validator (differences.MODEL_VALIDATOR)."""
    errors = problem.get("errors", [])
    named = {e.get("field") for e in errors} | {e.get("pointer") for e in errors}
    if field in named or field in str(problem.get("detail", "")):
        return True
    return not errors and str(problem.get("detail", "")).startswith(MODEL_VALIDATOR_DETAIL_PREFIX)
