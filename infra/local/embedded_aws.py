"""The embedded AWS: moto's DynamoDB (with its stream) on a loopback port.

It is a real HTTP endpoint, so the handlers reach it through boto3 exactly as
they reach DynamoDB in AWS (AWS_ENDPOINT_URL), and so does anyone with the AWS
CLI: `aws --endpoint-url http://127.0.0.1:8001 dynamodb scan --table-name ...`.
"""

import copy
import threading
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Final

import boto3
from botocore.config import Config
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.table import Table
from moto.dynamodbstreams.models import dynamodbstreams_backends
from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import make_server

from infra.topology import TABLE

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodbstreams import DynamoDBStreamsClient

# Emulators answer only the plain regional endpoint, not account-based ones.
CLIENT_CONFIG: Final = Config(
    account_id_endpoint_mode="disabled",
    retries={"mode": "standard", "max_attempts": 3},
    connect_timeout=2,
    read_timeout=10,
)

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

# DynamoDB Streams' shard iterators expire after 15 minutes; moto keeps every
# one it hands out (one per GetRecords), so the embedded server expires them.
SHARD_ITERATOR_LIFETIME_SECONDS: Final = 15 * 60


def expire_shard_iterators() -> None:
    for account in list(dynamodbstreams_backends.values()):
        for backend in list(account.values()):
            backend.shard_iterators.clear()


class _Serialized:
    """Runs one request at a time. moto is not thread-safe: a stream record's
    sequence number is the length of a list, so two concurrent writes could get
    the same one, and a transaction could interleave with another write."""

    def __init__(self, app: WsgiApp) -> None:
        self._app = app
        self._lock = threading.Lock()
        self._iterators_expired = time.monotonic()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        with self._lock:
            if time.monotonic() - self._iterators_expired > SHARD_ITERATOR_LIFETIME_SECONDS:
                expire_shard_iterators()
                self._iterators_expired = time.monotonic()
            # Materialise the body inside the lock: WSGI apps may be lazy.
            return list(self._app(environ, start_response))


# moto's classes, patched below; typed as Any so the patches read plainly.
_Backend: Any = DynamoDBBackend
_Table: Any = Table
_moto_transact_write_items = _Backend.transact_write_items


def _transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
    """moto's TransactWriteItems, rolled back item by item.

    moto saves a deep copy of the whole table (its items and stream) for each
    action and, when a transaction is cancelled, puts a copy in the table's
    place. That costs O(table) per action, and the stream's shard is replaced,
    so a reader's shard iterator stops seeing new records. Here only the items
    the transaction touches are saved, the table object stays, and the stream
    records of a cancelled transaction are taken back. Runs inside the
    server's one-request-at-a-time lock, so no other request sees the swap.
    """
    saved = [_saved_item(self, action) for entry in transact_items for action in entry.values()]
    touched = {id(t): t for t, *_ in filter(None, saved)}.values()
    stream_lengths = [(t, len(t.stream_shard.items)) for t in touched if t.stream_shard]
    tables = dict(self.tables)
    _Table.__deepcopy__ = lambda table, memo: table  # moto's whole-table copies: not needed
    try:
        _moto_transact_write_items(self, transact_items)
    except Exception:
        self.tables.update(tables)
        for table, hash_key, range_key, item in reversed([s for s in saved if s]):
            _put_back(table, hash_key, range_key, item)
        for table, length in stream_lengths:
            del table.stream_shard.items[length:]
        raise
    finally:
        del _Table.__deepcopy__


def _saved_item(backend: Any, action: dict[str, Any]) -> tuple[Any, Any, Any, Any] | None:
    table = backend.tables.get(action.get("TableName"))
    if table is None:
        return None
    key = action.get("Key") or action.get("Item") or {}
    try:
        hash_key = DynamoType(key[table.hash_key_attr])
        range_key = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
        return table, hash_key, range_key, copy.deepcopy(table.get_item(hash_key, range_key))
    except Exception:  # a malformed action: moto rejects it before writing anything
        return None


def _put_back(table: Any, hash_key: Any, range_key: Any, item: Any) -> None:
    items = table.items[hash_key] if range_key is not None else table.items
    position = range_key if range_key is not None else hash_key
    if item is None:
        items.pop(position, None)
    else:
        items[position] = item


class EmbeddedAws(ThreadedMotoServer):
    """ThreadedMotoServer whose app serves one request at a time, with
    transactions that roll back without replacing the table."""

    def __init__(self, host: str, port: int) -> None:
        super().__init__(ip_address=host, port=port, verbose=False)
        _Backend.transact_write_items = _transact_write_items

    def _server_entry(self) -> None:
        app = _Serialized(DomainDispatcherApplication(create_backend_app))
        self._server = make_server(
            self._ip_address, self._port, app, True, request_handler=MotoRequestHandler
        )
        self._server_ready_event.set()
        self._server.serve_forever()

    @property
    def endpoint_url(self) -> str:
        host, port = self.get_host_and_port()
        return f"http://{host}:{port}"


def dynamodb(endpoint_url: str | None) -> "DynamoDBClient":
    return boto3.client("dynamodb", endpoint_url=endpoint_url, config=CLIENT_CONFIG)


def dynamodb_streams(endpoint_url: str | None) -> "DynamoDBStreamsClient":
    return boto3.client("dynamodbstreams", endpoint_url=endpoint_url, config=CLIENT_CONFIG)


def ensure_table(client: "DynamoDBClient", table_name: str) -> tuple[str, bool]:
    """The table's stream ARN, creating the table from the topology's definition
    if it does not exist; and whether it was created."""
    try:
        table = client.describe_table(TableName=table_name)["Table"]
        created = False
    except client.exceptions.ResourceNotFoundException:
        client.create_table(**TABLE.create_table_request(table_name))
        client.get_waiter("table_exists").wait(
            TableName=table_name, WaiterConfig={"Delay": 1, "MaxAttempts": 60}
        )
        table = client.describe_table(TableName=table_name)["Table"]
        created = True
    stream_arn = table.get("LatestStreamArn")
    if not stream_arn:
        raise RuntimeError(f"table {table_name} has no stream; the aggregator needs one")
    return stream_arn, created
