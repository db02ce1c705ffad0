"""Local data that survives a restart: snapshots of the embedded table.

moto keeps the table in memory. Every few seconds (when the table changed) and
at a clean shutdown, every item is written to `<data dir>/table.jsonl`
(atomically: a temporary file, then a rename). At start the items are written
back into the fresh table.

No stream position is stored: the restored items come through the new stream
like any other write, and the aggregator's exactly-once counting skips every
raw submission whose marker is set, counting only those it had not counted
yet. The snapshot is taken while no aggregator invocation runs, so a marker and
its rollup are always saved together. A crash loses at most the writes since
the last snapshot.
"""

import json
import os
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

FORMAT_VERSION: Final = 1
BATCH_WRITE_LIMIT: Final = 25


class TableSnapshots:
    def __init__(self, client: "DynamoDBClient", table_name: str, data_dir: Path) -> None:
        self._client = client
        self._table = table_name
        self.path = data_dir / "table.jsonl"

    def save(self) -> int:
        """Write every item to the snapshot file; the number of items."""
        temporary = self.path.with_suffix(".jsonl.tmp")
        count = 0
        with temporary.open("w", encoding="utf-8") as out:
            header = {"version": FORMAT_VERSION, "table": self._table, "saved_at": _now()}
            out.write(json.dumps(header) + "\n")
            for item in self._items():
                out.write(json.dumps(item, separators=(",", ":")) + "\n")
                count += 1
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, self.path)
        return count

    def restore(self) -> int:
        """Put the snapshot's items into the (empty) table; the number of items."""
        if not self.path.exists():
            return 0
        with self.path.open(encoding="utf-8") as lines:
            header = json.loads(next(lines, "{}"))
            if header.get("version") != FORMAT_VERSION:
                raise RuntimeError(f"{self.path}: unknown snapshot format {header!r}")
            batch: list[dict[str, Any]] = []
            count = 0
            for line in lines:
                batch.append(json.loads(line))
                if len(batch) == BATCH_WRITE_LIMIT:
                    count += self._put(batch)
                    batch = []
            return count + (self._put(batch) if batch else 0)

    def _items(self) -> Iterator[dict[str, Any]]:
        for page in self._client.get_paginator("scan").paginate(
            TableName=self._table, ConsistentRead=True
        ):
            yield from page.get("Items", [])

    def _put(self, items: list[dict[str, Any]]) -> int:
        requests: Any = {self._table: [{"PutRequest": {"Item": item}} for item in items]}
        while requests:
            requests = self._client.batch_write_item(RequestItems=requests).get("UnprocessedItems")
        return len(items)


class Snapshotter(threading.Thread):
    """Saves a snapshot whenever `version()` moved since the last one."""

    def __init__(
        self,
        snapshots: TableSnapshots,
        version: Callable[[], int],
        lock: threading.Lock,
        interval_seconds: float,
        stop: threading.Event,
    ) -> None:
        super().__init__(name="snapshotter", daemon=True)
        self._snapshots = snapshots
        self._version = version
        self._lock = lock
        self._interval = interval_seconds
        self._stopping = stop
        self._saved_version = version()

    def run(self) -> None:
        while not self._stopping.wait(self._interval):
            if self._version() != self._saved_version:
                self.save()

    def save(self) -> int:
        with self._lock:
            version = self._version()
            count = self._snapshots.save()
        self._saved_version = version
        return count


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
