"""Fixtures for the unit suites: no connection off the machine, a moto table, the
handlers wired to it; and, for the data-access tests, the table on both engines."""

import socket
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

from infra.local.aws_endpoint import LocalAwsEndpoint
from ingest.handler import make_submit_number
from shared.http import Handler
from shared.observability import LambdaHandler, Log, logger
from shared.rollups import RollupStore
from shared.submissions import SubmissionStore
from stats.aggregator import aggregate as aggregate_into
from stats.aggregator import make_handler as make_aggregator
from stats.api import make_daily_stats
from tests.support.dynamo import TABLE_NAME, emulated_table
from tests.support.engines import MOTO, fresh_table, store_engines
from tests.support.faults import FaultyClient, skipped_waits
from tests.support.stream import Record, store_submissions
from tools.events import api_event

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

ProxyResult = dict[str, Any]
Aggregate = Callable[[list[Record]], dict[str, Any]]


_connect = socket.socket.connect


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Unit tests never leave the machine: moto answers in memory, DynamoDB Local
    (the data-access tests' second engine) on loopback; nothing else may."""

    def loopback_only(sock: socket.socket, address: Any) -> None:
        local = sock.family == socket.AF_UNIX or (
            isinstance(address, tuple) and address[0] in ("127.0.0.1", "::1", "localhost")
        )
        if not local:
            raise RuntimeError("unit tests must not open network connections")
        _connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", loopback_only)


@pytest.fixture(scope="session")
def dynamodb_local() -> Iterator[LocalAwsEndpoint]:
    """DynamoDB Local in memory (with the local stack's backup API), for the session."""
    with LocalAwsEndpoint(None) as endpoint:
        yield endpoint


@pytest.fixture(params=store_engines())
def store_table(request: pytest.FixtureRequest) -> Iterator["DynamoDBClient"]:
    """The app's table (no stream) on each engine: moto, then DynamoDB Local."""
    if request.param == MOTO:
        with emulated_table(stream=False) as client:
            yield client
        return
    endpoint: LocalAwsEndpoint = request.getfixturevalue("dynamodb_local")
    with fresh_table(endpoint.client(), TABLE_NAME) as client:
        yield client


@pytest.fixture
def table() -> Iterator["DynamoDBClient"]:
    """The app's table in moto, without its stream (see `streamed_table`)."""
    with emulated_table(stream=False) as client:
        yield client


@pytest.fixture
def streamed_table() -> Iterator["DynamoDBClient"]:
    """The app's table in moto with its stream, as the topology declares it."""
    with emulated_table() as client:
        yield client


@pytest.fixture
def submission_store(table: "DynamoDBClient") -> SubmissionStore:
    return SubmissionStore(table, TABLE_NAME)


@pytest.fixture
def submit_number(submission_store: SubmissionStore) -> Handler:
    """The POST /api/submit-number route, storing into the moto table."""
    return make_submit_number(submission_store)


@pytest.fixture
def submit(submit_number: Handler) -> Callable[..., ProxyResult]:
    """POST /api/submit-number through the handler, against the moto table."""

    def post(**event: Any) -> ProxyResult:
        return submit_number(api_event("POST", "/api/submit-number", **event))

    return post


@pytest.fixture
def get_daily_stats(table: "DynamoDBClient") -> Callable[..., ProxyResult]:
    """GET /api/daily-stats through the handler, against the moto table."""
    daily_stats = make_daily_stats(RollupStore(table, TABLE_NAME))

    def get(**event: Any) -> ProxyResult:
        return daily_stats(api_event("GET", "/api/daily-stats", **event))

    return get


@pytest.fixture
def faulty_client(table: "DynamoDBClient") -> FaultyClient:
    return FaultyClient(table)


@pytest.fixture
def waits() -> list[float]:
    """The back-off waits of the aggregator's rollup writes, recorded, never slept."""
    return []


@pytest.fixture
def faulty_rollups(faulty_client: FaultyClient, waits: list[float]) -> RollupStore:
    """The rollups, written through the fault-injecting client (the back-off between
    contended attempts recorded in `waits`)."""
    return RollupStore(faulty_client.as_dynamodb(), TABLE_NAME, backoff=skipped_waits(waits))


@pytest.fixture
def log() -> Log:
    """Where the aggregator reports errors: the functions' logger (a test module may
    record them instead)."""
    return logger


@pytest.fixture
def aggregate(faulty_rollups: RollupStore, log: Log) -> Aggregate:
    """The aggregator's batch entry point, counting into `faulty_rollups`."""
    return lambda records: aggregate_into(faulty_rollups, records, log=log)


@pytest.fixture
def aggregator_handler(faulty_rollups: RollupStore, log: Log) -> LambdaHandler:
    """The aggregator's Lambda handler, counting into `faulty_rollups`."""
    return make_aggregator(faulty_rollups, log)


@pytest.fixture
def given_submissions(table: "DynamoDBClient") -> Callable[..., list[Record]]:
    """Raw submissions (day, number) stored in the table, returned as the INSERT
    records the stream would carry, in order."""
    store = SubmissionStore(table, TABLE_NAME)
    return lambda *picks: store_submissions(store, picks)
