"""The local stack as a subprocess, for tests over HTTP.

`local_stack` is one stack per test session (ephemeral, throttling off);
`start_local_stack(*args)` starts another with its own options and stops it at
the end of the test. The launcher itself is `tools.launcher`; the helpers
the tests share are in `tests.support.local_stack`.
"""

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.support.local_stack import StartLocalStack
from tools.launcher import FAST_OPTIONS, LaunchedStack, start


@pytest.fixture(scope="session")
def local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LaunchedStack]:
    stack = start(tmp_path_factory.mktemp("local-stack"), *FAST_OPTIONS)
    yield stack
    stack.stop()


@pytest.fixture
def start_local_stack(tmp_path: Path) -> Iterator[StartLocalStack]:
    """start_local_stack(*args, data_dir=...) -> LaunchedStack, stopped after the test."""
    started: list[LaunchedStack] = []

    def start_one(*args: str, data_dir: Path | None = None) -> LaunchedStack:
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
