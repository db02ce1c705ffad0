"""The embedded AWS: moto's DynamoDB (with its stream) on a loopback port.

It is a real HTTP endpoint, so the handlers reach it through boto3 exactly as
they reach DynamoDB in AWS (AWS_ENDPOINT_URL), and so does anyone with the AWS
CLI: `aws --endpoint-url http://127.0.0.1:8001 dynamodb scan --table-name ...`.
"""

import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Final

import boto3
from botocore.config import Config
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


class _Serialized:
    """Runs one request at a time. moto is not thread-safe: a stream record's
    sequence number is the length of a list, so two concurrent writes could get
    the same one, and a transaction could interleave with another write."""

    def __init__(self, app: WsgiApp) -> None:
        self._app = app
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        with self._lock:
            # Materialise the body inside the lock: WSGI apps may be lazy.
            return list(self._app(environ, start_response))


class EmbeddedAws(ThreadedMotoServer):  # type: ignore[misc]
    """ThreadedMotoServer whose app serves one request at a time."""

    def __init__(self, host: str, port: int) -> None:
        super().__init__(ip_address=host, port=port, verbose=False)

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
