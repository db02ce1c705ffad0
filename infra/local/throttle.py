"""The API's throttles as API Gateway applies them: token buckets, one for the stage
(every route together, the usage plan's) and one per route (its method setting)."""

import math
import threading
import time
from collections.abc import Callable, Iterable

from infra.topology import Route, Throttle


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
