"""DynamoDB's on-demand backup API, served by the local endpoint (DynamoDB Local
has none): CreateBackup, ListBackups, DescribeBackup, DeleteBackup and
RestoreTableFromBackup, with DynamoDB's request and response shapes and errors.

A backup is a consistent copy of a table (its description and every item, taken
while the endpoint holds writes back), written atomically to one JSON-lines
file under `<data dir>/backups/`, so backups survive restarts. A restore creates
a new table without a stream, as in AWS, and loads the items; until the load is
done, DescribeTable reports the table as CREATING.
"""

import contextlib
import json
import os
import secrets
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Final, Protocol

BACKUP_OPERATIONS: Final = frozenset(
    {
        "CreateBackup",
        "ListBackups",
        "DescribeBackup",
        "DeleteBackup",
        "RestoreTableFromBackup",
    }
)
FORMAT_VERSION: Final = 1
ERROR_PREFIX: Final = "com.amazonaws.dynamodb.v20120810#"
BATCH_WRITE_LIMIT: Final = 25
# A small restore finishes before RestoreTableFromBackup answers; a larger one
# goes on in the background while DescribeTable says CREATING, as in AWS.
SYNCHRONOUS_RESTORE_SECONDS: Final = 2.0
LIST_LIMIT: Final = 100
# Keys of DescribeTable's answer that a backup keeps as the source's details.
SOURCE_DETAILS: Final = ("TableName", "TableId", "TableArn", "KeySchema", "BillingModeSummary")


class Gate(Protocol):
    def closed(self) -> contextlib.AbstractContextManager[None]: ...


# The engine's JSON protocol: an operation and its request in, its answer out (or
# DynamoDBError): items stay in DynamoDB's own JSON, binary values base64 text.
Call = Callable[[str, dict[str, Any]], dict[str, Any]]


class DynamoDBError(Exception):
    """An error in DynamoDB's shape: HTTP 400 and `__type`."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status

    def body(self) -> dict[str, str]:
        return {"__type": ERROR_PREFIX + self.code, "message": self.message}


def _now() -> float:
    return time.time()


class BackupOperations:
    """The backups of every table of the endpoint, under `directory`
    (a temporary one, removed at `close`, when None)."""

    def __init__(
        self,
        directory: Path | None,
        call: Call,
        gate: Gate,
        clock: Callable[[], float] = _now,
    ) -> None:
        self._temporary = directory is None
        self.directory = directory or Path(tempfile.mkdtemp(prefix="pick-a-number-backups-"))
        self.directory.mkdir(parents=True, exist_ok=True)
        self._call = call
        self._gate = gate
        self._clock = clock
        self._lock = threading.Lock()
        self._restoring: set[str] = set()
        # Each restored table's RestoreSummary, as DescribeTable shows it in AWS (kept
        # in memory: a restart forgets it).
        self._restored: dict[str, dict[str, Any]] = {}

    def close(self) -> None:
        if self._temporary:
            shutil.rmtree(self.directory, ignore_errors=True)

    def handle(self, operation: str, request: dict[str, Any]) -> dict[str, Any]:
        handlers: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "CreateBackup": self.create_backup,
            "ListBackups": self.list_backups,
            "DescribeBackup": self.describe_backup,
            "DeleteBackup": self.delete_backup,
            "RestoreTableFromBackup": self.restore_table_from_backup,
        }
        return handlers[operation](request)

    # -- the operations ------------------------------------------------------------

    def create_backup(self, request: dict[str, Any]) -> dict[str, Any]:
        table_name, name = _required(request, "TableName"), _required(request, "BackupName")
        table = self._describe_table(table_name)
        created = round(self._clock(), 3)  # DynamoDB keeps milliseconds
        arn = f"{table['TableArn']}/backup/{int(created * 1000):013d}-{secrets.token_hex(4)}"
        with self._gate.closed():
            header = self._write_backup(arn, name, created, table)
        return {"BackupDetails": self._details(header)}

    def list_backups(self, request: dict[str, Any]) -> dict[str, Any]:
        kind = request.get("BackupType", "USER")
        if kind not in ("USER", "SYSTEM", "AWS_BACKUP", "ALL"):
            raise DynamoDBError("ValidationException", f"invalid BackupType {kind!r}")
        lower = float(request.get("TimeRangeLowerBound", float("-inf")))
        upper = float(request.get("TimeRangeUpperBound", float("inf")))
        limit = int(request.get("Limit", LIST_LIMIT))
        if not 1 <= limit <= LIST_LIMIT:
            raise DynamoDBError("ValidationException", "Limit must be between 1 and 100")
        table = request.get("TableName")
        summaries = [
            self._summary(header)
            for header in self._headers()
            if (table is None or header["source"]["TableName"] == table)
            and kind in ("ALL", "USER")
            and lower <= header["created"] < upper
        ]
        summaries.sort(key=lambda s: (s["BackupCreationDateTime"], s["BackupArn"]))
        start = request.get("ExclusiveStartBackupArn")
        if start is not None:
            arns = [s["BackupArn"] for s in summaries]
            summaries = summaries[arns.index(start) + 1 :] if start in arns else []
        page = summaries[:limit]
        answer: dict[str, Any] = {"BackupSummaries": page}
        if len(summaries) > limit:
            answer["LastEvaluatedBackupArn"] = page[-1]["BackupArn"]
        return answer

    def describe_backup(self, request: dict[str, Any]) -> dict[str, Any]:
        return {"BackupDescription": self._description(self._header_of(request))}

    def delete_backup(self, request: dict[str, Any]) -> dict[str, Any]:
        header = self._header_of(request)
        with self._lock:
            self._path(header["arn"]).unlink(missing_ok=True)
        description = self._description(header)
        description["BackupDetails"]["BackupStatus"] = "DELETED"
        return {"BackupDescription": description}

    def restore_table_from_backup(self, request: dict[str, Any]) -> dict[str, Any]:
        target = _required(request, "TargetTableName")
        header = self._header_of(request)
        source = header["source"]
        create: dict[str, Any] = {
            "TableName": target,
            "KeySchema": source["KeySchema"],
            "AttributeDefinitions": header["attribute_definitions"],
            "BillingMode": "PAY_PER_REQUEST",
        }
        try:
            self._call("CreateTable", create)
        except DynamoDBError as error:
            if error.code != "ResourceInUseException":
                raise
            message = f"Table already exists: {target}"
            raise DynamoDBError("TableAlreadyExistsException", message) from None
        with self._lock:
            self._restoring.add(target)
        loader = threading.Thread(
            target=self._load, args=(header["arn"], target), name=f"restore-{target}", daemon=True
        )
        loader.start()
        loader.join(SYNCHRONOUS_RESTORE_SECONDS)
        summary = {
            "SourceBackupArn": header["arn"],
            "SourceTableArn": source["TableArn"],
            "RestoreDateTime": header["created"],  # the backup's time, as in AWS
        }
        with self._lock:
            self._restored[target] = summary
        answer: dict[str, Any] = self._call("DescribeTable", {"TableName": target})["Table"]
        answer["TableStatus"] = "CREATING" if loader.is_alive() else "ACTIVE"
        answer["RestoreSummary"] = summary | {"RestoreInProgress": loader.is_alive()}
        return {"TableDescription": answer}

    def describe_table_during_restore(self, payload: bytes) -> bytes:
        """DescribeTable's answer, with a restored table's RestoreSummary, and one still
        being restored shown as CREATING."""
        with self._lock:
            if not self._restored:
                return payload
            restoring, restored = set(self._restoring), dict(self._restored)
        answer = json.loads(payload)
        name = answer.get("Table", {}).get("TableName")
        if name not in restored:
            return payload
        answer["Table"]["RestoreSummary"] = restored[name] | {
            "RestoreInProgress": name in restoring
        }
        if name in restoring:
            answer["Table"]["TableStatus"] = "CREATING"
        return json.dumps(answer).encode()

    # -- files ---------------------------------------------------------------------

    def _write_backup(
        self, arn: str, name: str, created: float, table: dict[str, Any]
    ) -> dict[str, Any]:
        """Copy every item of the table into the backup's file; its header."""
        path = self._path(arn)
        temporary = path.with_suffix(".tmp")
        lines = [json.dumps(item, separators=(",", ":")) for item in self._scan(table["TableName"])]
        size = sum(len(line) for line in lines)
        header = {
            "version": FORMAT_VERSION,
            "arn": arn,
            "name": name,
            "created": created,
            "size": size,
            "items": len(lines),
            "source": {key: table[key] for key in SOURCE_DETAILS if key in table}
            | {"TableCreationDateTime": table.get("CreationDateTime", created)},
            "attribute_definitions": table["AttributeDefinitions"],
        }
        with temporary.open("w", encoding="utf-8") as out:
            out.write(json.dumps(header) + "\n")
            for line in lines:
                out.write(line + "\n")
            out.flush()
            os.fsync(out.fileno())
        with self._lock:
            os.replace(temporary, path)
        _fsync_directory(self.directory)
        return header

    def _scan(self, table_name: str) -> Iterator[dict[str, Any]]:
        request: dict[str, Any] = {"TableName": table_name, "ConsistentRead": True}
        while True:
            page = self._call("Scan", request)
            yield from page.get("Items", [])
            if "LastEvaluatedKey" not in page:
                return
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _load(self, arn: str, target: str) -> None:
        try:
            batch: list[dict[str, Any]] = []
            for item in self._items(arn):
                batch.append({"PutRequest": {"Item": item}})
                if len(batch) == BATCH_WRITE_LIMIT:
                    self._put(target, batch)
                    batch = []
            if batch:
                self._put(target, batch)
        finally:
            with self._lock:
                self._restoring.discard(target)

    def _put(self, table: str, requests: list[dict[str, Any]]) -> None:
        pending: Any = {table: requests}
        while pending:
            pending = self._call("BatchWriteItem", {"RequestItems": pending}).get(
                "UnprocessedItems"
            )

    def _items(self, arn: str) -> Iterator[dict[str, Any]]:
        with self._path(arn).open(encoding="utf-8") as lines:
            next(lines)
            for line in lines:
                yield json.loads(line)

    def _path(self, arn: str) -> Path:
        return self.directory / (arn.rsplit("/", 1)[-1] + ".jsonl")

    def _headers(self) -> list[dict[str, Any]]:
        headers = []
        for path in sorted(self.directory.glob("*.jsonl")):
            with contextlib.suppress(OSError, ValueError, StopIteration), path.open() as lines:
                header = json.loads(next(lines))
                if header.get("version") == FORMAT_VERSION:
                    headers.append(header)
        return headers

    def _header(self, arn: str) -> dict[str, Any]:
        try:
            with self._path(arn).open(encoding="utf-8") as lines:
                header: dict[str, Any] = json.loads(next(lines))
        except (OSError, ValueError, StopIteration):
            raise DynamoDBError("BackupNotFoundException", f"Backup not found: {arn}") from None
        if header.get("arn") != arn:
            raise DynamoDBError("BackupNotFoundException", f"Backup not found: {arn}")
        return header

    def _header_of(self, request: dict[str, Any]) -> dict[str, Any]:
        return self._header(_required(request, "BackupArn"))

    # -- answers -------------------------------------------------------------------

    def _describe_table(self, table_name: str) -> dict[str, Any]:
        try:
            table: dict[str, Any] = self._call("DescribeTable", {"TableName": table_name})["Table"]
        except DynamoDBError as error:
            if error.code != "ResourceNotFoundException":
                raise
            message = f"Table not found: {table_name}"
            raise DynamoDBError("TableNotFoundException", message) from None
        return table

    @staticmethod
    def _details(header: dict[str, Any]) -> dict[str, Any]:
        return {
            "BackupArn": header["arn"],
            "BackupName": header["name"],
            "BackupSizeBytes": header["size"],
            "BackupStatus": "AVAILABLE",
            "BackupType": "USER",
            "BackupCreationDateTime": header["created"],
        }

    def _summary(self, header: dict[str, Any]) -> dict[str, Any]:
        source = header["source"]
        return {
            "TableName": source["TableName"],
            "TableId": source.get("TableId", ""),
            "TableArn": source["TableArn"],
            **self._details(header),
        }

    def _description(self, header: dict[str, Any]) -> dict[str, Any]:
        source = header["source"]
        billing = source.get("BillingModeSummary", {}).get("BillingMode", "PROVISIONED")
        return {
            "BackupDetails": self._details(header),
            "SourceTableDetails": {
                "TableName": source["TableName"],
                "TableId": source.get("TableId", ""),
                "TableArn": source["TableArn"],
                "TableSizeBytes": header["size"],
                "KeySchema": source["KeySchema"],
                "TableCreationDateTime": source["TableCreationDateTime"],
                "ProvisionedThroughput": {"ReadCapacityUnits": 0, "WriteCapacityUnits": 0},
                "ItemCount": header["items"],
                "BillingMode": billing,
            },
            "SourceTableFeatureDetails": {},
        }


def _required(request: dict[str, Any], key: str) -> str:
    value = request.get(key)
    if not isinstance(value, str) or not value:
        raise DynamoDBError("ValidationException", f"{key} is required")
    return value


def _fsync_directory(directory: Path) -> None:
    with contextlib.suppress(OSError):
        descriptor = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
