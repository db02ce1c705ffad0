"""For tests that talk to a launched local stack (`tools.launcher`) over HTTP:
the `start_local_stack` fixture's type and the two API calls most of them make."""

from collections import Counter
from collections.abc import Callable
from typing import Any

import requests

from tools.launcher import LaunchedStack

# start_local_stack(*args, data_dir=...) -> LaunchedStack, stopped after the test.
StartLocalStack = Callable[..., LaunchedStack]


def submit(
    session: requests.Session | Any,
    stack: LaunchedStack,
    body: Any,
    *,
    headers: dict[str, str] | None = None,
    timeout: float = 10,
) -> requests.Response:
    response: requests.Response = session.post(
        stack.url("/api/submit-number"), json=body, headers=headers, timeout=timeout
    )
    return response


def day_count(session: requests.Session, stack: LaunchedStack, day: str) -> Counter[int]:
    response = session.get(stack.url(f"/api/daily-stats?from={day}&to={day}"), timeout=10)
    response.raise_for_status()
    histogram = response.json()["days"][0]["histogram"]
    return +Counter({int(k): v for k, v in histogram.items()})
