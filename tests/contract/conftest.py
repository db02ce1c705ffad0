"""The contract suite's target: a deployment's base URL, or the local stack.

With CONTRACT_URL set (`make smoke URL=…`) the suite talks to that URL only. Without
it, the suite starts the local stack (tools.launcher, on loopback) and, in
full mode, for the 429 check, a second one with a low rate limit; both start at
once.

Tests marked `writes` store submissions, and `burst` sends a bounded burst of
requests: neither runs in read-only mode (production).
"""

from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.contract.client import Client, Document, Mode, Settings
from tests.contract.targets import Throttled
from tools.launcher import FAST_OPTIONS, LaunchedStack, start

FULL_ONLY = ("writes", "burst")
# The throttled local stack: 2 requests at once, then 1 per second.
LOCAL_THROTTLE = ("--ephemeral", "--throttle-rate", "1", "--throttle-burst", "2")
LOCAL_BURST = 10


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if Settings.from_env().mode is Mode.FULL:
        return
    kept: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        in_suite = Path(__file__).parent in Path(item.path).parents
        full_only = any(item.get_closest_marker(name) for name in FULL_ONLY)
        (dropped if in_suite and full_only else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


@pytest.fixture(scope="session")
def settings() -> Settings:
    return Settings.from_env()


@pytest.fixture(scope="session")
def document() -> Document:
    return Document.load()


@dataclass(frozen=True)
class LocalStacks:
    main: LaunchedStack
    throttled: "Future[LaunchedStack] | None"


@pytest.fixture(scope="session")
def local_stacks(
    settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LocalStacks | None]:
    """The local stacks the suite needs when it has no URL, started side by side."""
    if settings.url:
        yield None
        return
    root = tmp_path_factory.mktemp("contract")
    with ThreadPoolExecutor(2) as pool:
        throttled = (
            pool.submit(start, root / "throttled-stack", *LOCAL_THROTTLE)
            if settings.mode is Mode.FULL
            else None
        )
        main = start(root / "stack", *FAST_OPTIONS)
        try:
            yield LocalStacks(main, throttled)
        finally:
            main.stop()
            if throttled is not None:
                throttled.result().stop()


@pytest.fixture(scope="session")
def target_url(settings: Settings, local_stacks: LocalStacks | None) -> str:
    return local_stacks.main.base_url if local_stacks else settings.url


@pytest.fixture(scope="session")
def api(target_url: str, document: Document) -> Iterator[Client]:
    client = Client(target_url, document)
    yield client
    client.close()


@pytest.fixture
def throttled(
    settings: Settings, api: Client, document: Document, local_stacks: LocalStacks | None
) -> Iterator[Throttled]:
    """A target whose rate limit a bounded burst exceeds: the deployment itself, or the
    local stack started with a low limit."""
    if local_stacks is None or local_stacks.throttled is None:
        yield Throttled(api, settings.burst)
        return
    client = Client(local_stacks.throttled.result().base_url, document)
    try:
        yield Throttled(client, LOCAL_BURST)
    finally:
        client.close()
