"""The API's throttles as API Gateway applies them: token buckets, one for the stage
(every route together, the usage plan's) and one per route (its method setting);
and, with `--waf`, AWS WAF's per-IP rate rule in front of them."""

import json
import math
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterable

from infra.local.proxy import HttpResponse
from infra.topology import Route, Throttle
from infra.waf import RATE_LIMITED_STATUS, rate_limited_problem


class TokenBucket:
    """`rate` tokens a second, at most `burst` at once; a rate of 0 never throttles."""

    def __init__(
        self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = rate
        self.burst = max(1, burst)
        self._clock = clock
        self._tokens = float(self.burst)
        self._updated = clock()
        self._lock = threading.Lock()

    def take(self) -> float:
        """0 if the request may pass, else the seconds until a token is available."""
        if self.rate <= 0:
            return 0.0
        with self._lock:
            now = self._clock()
            self._tokens = min(self.burst, self._tokens + (now - self._updated) * self.rate)
            self._updated = now
            if self._tokens >= 1:
                self._tokens -= 1
                return 0.0
            return (1 - self._tokens) / self.rate


class ApiThrottle:
    """The stage's bucket and each route's: a request passes when its route's bucket
    and then the stage's have a token. A stage rate of 0 turns every bucket off."""

    def __init__(
        self, stage: Throttle, routes: Iterable[Route], clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.stage = TokenBucket(stage.rate_per_second, stage.burst, clock)
        off = stage.rate_per_second <= 0
        self.routes = {
            route.key: TokenBucket(
                0 if off else route.throttle.rate_per_second, route.throttle.burst, clock
            )
            for route in routes
        }

    def take(self, route: Route) -> float:
        """0 if a request of `route` may pass, else the seconds until it may."""
        return self.routes[route.key].take() or self.stage.take()

    def describe(self) -> str:
        if self.stage.rate <= 0:
            return "off"
        return "; ".join(
            f"{name} {bucket.rate:g} requests/s, burst {bucket.burst}"
            for name, bucket in {"stage": self.stage, **self.routes}.items()
        )


def retry_after(wait_seconds: float) -> str:
    """A Retry-After header value: whole seconds, at least 1."""
    return str(max(1, math.ceil(wait_seconds)))


class WafRateRule:
    """The web ACL's rate-based rule (infra/cloud/edge.py) at the local edge: requests
    of `route`'s method whose decoded path starts with its path, counted per TCP peer
    address (no forwarded header is trusted), blocked ones included, over a trailing
    window; an address that already has `limit` in the window is blocked."""

    def __init__(
        self,
        route: Route,
        limit: int,
        window_seconds: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.route = route
        self.limit = limit
        self.window_seconds = window_seconds
        self._clock = clock
        self._counted: defaultdict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def blocks(self, method: str, path: str, address: str) -> bool:
        if method != self.route.method or not path.startswith(self.route.path):
            return False
        with self._lock:
            now = self._clock()
            counted = self._counted[address]
            while counted and counted[0] <= now - self.window_seconds:
                counted.popleft()
            blocked = len(counted) >= self.limit
            counted.append(now)
            return blocked

    def answer(self) -> HttpResponse:
        """The web ACL's custom response: WAF cannot name problem+json (edge.py)."""
        problem = rate_limited_problem(self.window_seconds)
        headers = [
            ("Content-Type", "application/json"),
            ("Retry-After", str(self.window_seconds)),
            ("Cache-Control", "no-store"),
        ]
        body = json.dumps(problem, separators=(",", ":")).encode()
        return HttpResponse(RATE_LIMITED_STATUS, headers, body)

    def describe(self) -> str:
        return f"{self.route.key}: {self.limit} per address per {self.window_seconds} s"
