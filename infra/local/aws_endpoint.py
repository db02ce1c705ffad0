"""The local stack's AWS endpoint: DynamoDB Local, plus the backup API it lacks.

One HTTP endpoint on loopback speaks DynamoDB's JSON protocol. The backup
operations (CreateBackup, ListBackups, DescribeBackup, DeleteBackup,
RestoreTableFromBackup) are answered here, from copies kept under the data dir
(`backup_operations`); every other request goes unchanged to the engine over
its Unix socket. Handlers reach it through boto3 exactly as they reach DynamoDB
in AWS (AWS_ENDPOINT_URL), and so does the AWS CLI:
`aws --endpoint-url http://127.0.0.1:8001 dynamodb scan --table-name ...`.

Every write passes a gate that a backup closes while it copies a table, so a
backup is one consistent point in time, as DynamoDB's are. A function's request
that its declaration does not grant is refused first, as IAM would
(`infra.local.access`).
"""

import contextlib
import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import boto3
from botocore.config import Config
from urllib3 import HTTPConnectionPool
from urllib3.connection import HTTPConnection

from infra.local.access import AccessPolicy, caller
from infra.local.backup_operations import (
    BACKUP_OPERATIONS,
    BackupOperations,
    DynamoDBError,
)
from infra.local.engine import DynamoDBLocal
from infra.topology import TABLE

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodbstreams import DynamoDBStreamsClient

TARGET_PREFIX: Final = "DynamoDB_20120810."
JSON_CONTENT_TYPE: Final = "application/x-amz-json-1.0"
# Requests that change items: they wait while a backup copies the table.
WRITE_OPERATIONS: Final = frozenset(
    {
        "PutItem",
        "UpdateItem",
        "DeleteItem",
        "BatchWriteItem",
        "TransactWriteItems",
        "ExecuteStatement",
        "BatchExecuteStatement",
        "ExecuteTransaction",
    }
)
HOP_BY_HOP: Final = frozenset({"connection", "keep-alive", "transfer-encoding", "content-length"})
ENGINE_TIMEOUT_SECONDS: Final = 120
# The engine checks a request's signature for form only.
ENGINE_HEADERS: Final = {
    "Content-Type": JSON_CONTENT_TYPE,
    "Authorization": "AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/dynamodb/"
    "aws4_request, SignedHeaders=host, Signature=0",
}

# Emulators answer only the plain regional endpoint, not account-based ones.
CLIENT_CONFIG: Final = Config(
    account_id_endpoint_mode="disabled",
    retries={"mode": "standard", "max_attempts": 3},
    connect_timeout=2,
    read_timeout=30,
    max_pool_connections=16,
)


class WriteGate:
    """Many writers at once, or one backup alone."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._writers = 0
        self._closed = False

    @contextmanager
    def write(self) -> Iterator[None]:
        with self._condition:
            self._condition.wait_for(lambda: not self._closed)
            self._writers += 1
        try:
            yield
        finally:
            with self._condition:
                self._writers -= 1
                self._condition.notify_all()

    @contextmanager
    def closed(self) -> Iterator[None]:
        with self._condition:
            self._condition.wait_for(lambda: not self._closed)
            self._closed = True
            self._condition.wait_for(lambda: self._writers == 0)
        try:
            yield
        finally:
            with self._condition:
                self._closed = False
                self._condition.notify_all()


class _UnixConnection(HTTPConnection):
    """urllib3's HTTP connection, over the engine's Unix socket instead of TCP."""

    def __init__(self, *args: Any, socket_path: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.socket_path = socket_path

    def _new_conn(self) -> socket.socket:
        connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        connection.settimeout(ENGINE_TIMEOUT_SECONDS)
        connection.connect(self.socket_path)
        return connection


class EngineConnections(HTTPConnectionPool):
    """Keep-alive connections to the engine's socket, reused across requests (urllib3
    drops one the engine closed while it was idle, and opens another)."""

    ConnectionCls = _UnixConnection

    def __init__(self, socket_path: Path) -> None:
        super().__init__("localhost", maxsize=64, retries=False, socket_path=str(socket_path))

    def forward(
        self, method: str, path: str, body: bytes, headers: dict[str, str]
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        response = self.urlopen(method, path, body=body, headers=headers, redirect=False)
        return response.status, list(response.headers.items()), response.data


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body are written apart: with Nagle's algorithm the body would
    # wait for the client's delayed ACK of the headers (40 ms a request).
    disable_nagle_algorithm = True
    server: "_Server"

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        target = self.headers.get("X-Amz-Target", "")
        operation = target.removeprefix(TARGET_PREFIX) if target.startswith(TARGET_PREFIX) else ""
        endpoint = self.server.endpoint
        key = caller(self.headers.get("Authorization"))
        denial = endpoint.policy and endpoint.policy.denial(key, operation, body)
        if denial:
            error = DynamoDBError("AccessDeniedException", denial)
            self._reply(
                400, [("Content-Type", JSON_CONTENT_TYPE)], json.dumps(error.body()).encode()
            )
            return
        if operation in BACKUP_OPERATIONS:
            self._answer_backup_operation(endpoint.backups, operation, body)
            return
        if operation in WRITE_OPERATIONS:
            with endpoint.gate.write():
                status, headers, payload = self._forward(body)
        else:
            status, headers, payload = self._forward(body)
        if operation == "DescribeTable" and status == 200:
            payload = endpoint.backups.describe_table_during_restore(payload)
        self._reply(status, headers, payload)

    do_GET = do_POST

    def _forward(self, body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        return self.server.endpoint.engine_connections.forward(
            self.command, self.path, body, headers
        )

    def _answer_backup_operation(
        self, backups: BackupOperations, operation: str, body: bytes
    ) -> None:
        try:
            request = json.loads(body or b"{}")
            result: dict[str, Any] = backups.handle(operation, request)
            status = 200
        except DynamoDBError as error:
            result, status = error.body(), error.status
        except (ValueError, TypeError, KeyError) as error:
            result = DynamoDBError("ValidationException", f"invalid request: {error}").body()
            status = 400
        payload = json.dumps(result).encode()
        self._reply(status, [("Content-Type", JSON_CONTENT_TYPE)], payload)

    def _reply(self, status: int, headers: list[tuple[str, str]], payload: bytes) -> None:
        self.send_response(status)
        for name, value in headers:
            if name.lower() not in HOP_BY_HOP and name.lower() not in ("server", "date"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the app's access log is the gateway's."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128
    endpoint: "LocalAwsEndpoint"


class LocalAwsEndpoint:
    """DynamoDB Local (a child process) behind a loopback HTTP endpoint that adds
    the backup API. `data_dir=None`: tables and backups last as long as the process;
    `policy`: the functions' grants it enforces (None: every caller may do anything)."""

    def __init__(
        self,
        data_dir: Path | None,
        host: str = "127.0.0.1",
        port: int = 0,
        policy: AccessPolicy | None = None,
    ) -> None:
        self.policy = policy
        self.engine = DynamoDBLocal(data_dir / "dynamodb" if data_dir else None)
        self.gate = WriteGate()
        self._server = _Server((host, port), _Handler)
        self._server.endpoint = self
        self.engine_connections = EngineConnections(self.engine.socket_path)
        self.backups = BackupOperations(
            data_dir / "backups" if data_dir else None, self.engine_call, self.gate
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="aws-endpoint", daemon=True
        )

    @property
    def endpoint_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def client(self) -> "DynamoDBClient":
        return dynamodb(self.endpoint_url)

    def engine_call(self, operation: str, request: dict[str, Any]) -> dict[str, Any]:
        """One operation on the engine itself, a write through the gate like any other."""
        headers = {**ENGINE_HEADERS, "X-Amz-Target": TARGET_PREFIX + operation}
        body = json.dumps(request).encode()
        with self.gate.write() if operation in WRITE_OPERATIONS else contextlib.nullcontext():
            status, _, payload = self.engine_connections.forward("POST", "/", body, headers)
        answer: dict[str, Any] = json.loads(payload)
        if status != 200:
            code = str(answer.get("__type", "")).rpartition("#")[2]
            raise DynamoDBError(code, answer.get("message") or answer.get("Message", ""), status)
        return answer

    def start(self) -> None:
        self.engine.start()
        self._thread.start()

    def stop(self) -> None:
        if self._thread.is_alive():  # shutdown() waits for a loop that never ran
            self._server.shutdown()
        self._server.server_close()
        self.engine_connections.close()
        self.engine.stop()
        self.backups.close()

    def __enter__(self) -> "LocalAwsEndpoint":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


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
