"""The local stack as a subprocess, for tests over HTTP.

`local_stack` is one stack per test session (ephemeral, throttling off);
`start_local_stack(*args)` starts another with its own options and stops it at
the end of the test. The launcher itself is `infra.local.launcher`.
"""

from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from infra.local import REPO_ROOT
from infra.local.launcher import FAST_OPTIONS, RunningStack, start

# The name the tests use for a running stack.
LocalStack = RunningStack
__all__ = ["FAST_OPTIONS", "REPO_ROOT", "LocalStack", "start"]


StartLocalStack = Callable[..., LocalStack]


@pytest.fixture(scope="session")
def local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    stack = start(tmp_path_factory.mktemp("local-stack"), *FAST_OPTIONS)
    yield stack
    stack.stop()


@pytest.fixture
def start_local_stack(tmp_path: Path) -> Iterator[StartLocalStack]:
    """start_local_stack(*args, data_dir=...) -> LocalStack, stopped after the test."""
    started: list[LocalStack] = []

    def start_one(*args: str, data_dir: Path | None = None) -> LocalStack:
        stack = start(data_dir or tmp_path / f"stack-{len(started)}", *args)
        started.append(stack)
        return stack

    yield start_one
    for stack in started:
        if stack.process.poll() is None:
            stack.stop()


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


def submit(
    session: requests.Session | Any,
    stack: LocalStack,
    body: Any,
    *,
    headers: dict[str, str] | None = None,
    timeout: float = 10,
) -> requests.Response:
    response: requests.Response = session.post(
        stack.url("/api/submit-number"), json=body, headers=headers, timeout=timeout
    )
    return response


def day_count(session: requests.Session, stack: LocalStack, day: str) -> Counter[int]:
    response = session.get(stack.url(f"/api/daily-stats?from={day}&to={day}"), timeout=10)
    response.raise_for_status()
    histogram = response.json()["days"][0]["histogram"]
    return +Counter({int(k): v for k, v in histogram.items()})
