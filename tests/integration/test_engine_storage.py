"""How DynamoDB Local's SQLite file is kept: its write-ahead log stays bounded
while the stack runs, and a clean stop leaves nothing to read back at start."""

import time
from collections.abc import Callable
from pathlib import Path

from infra.local.aws_endpoint import LocalAwsEndpoint, dynamodb, ensure_table

TABLE = "storage-test"
LIMIT = 1024 * 1024  # a small log limit, so a few hundred items pass it
ROUND = 200  # items per round of writes: several times the limit's worth of log


def write(client, first: int, count: int) -> None:
    for start in range(first, first + count, 25):
        items = [
            {
                "PutRequest": {
                    "Item": {"pk": {"S": f"ITEM#{n}"}, "sk": {"S": "x"}, "pad": {"S": "p" * 1000}}
                }
            }
            for n in range(start, min(start + 25, first + count))
        ]
        unprocessed = {TABLE: items}
        while unprocessed:
            unprocessed = client.batch_write_item(RequestItems=unprocessed)["UnprocessedItems"]


def stored(client) -> int:
    pages = client.get_paginator("scan").paginate(TableName=TABLE, Select="COUNT")
    return sum(page["Count"] for page in pages)


def log_size(data_dir: Path) -> int:
    log = data_dir / "dynamodb" / "shared-local-instance.db-wal"
    return log.stat().st_size if log.exists() else 0


def wait_for(condition: Callable[[], bool], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "gave up waiting"
        time.sleep(0.2)


def checkpointed_after(local: LocalAwsEndpoint, done: int) -> Callable[[], bool]:
    return lambda: local.engine.checkpoints > done


def test_the_log_stays_bounded_while_the_engine_runs(tmp_path):
    local = LocalAwsEndpoint(tmp_path)
    local.engine.wal_limit_bytes = LIMIT
    with local:
        client = dynamodb(local.endpoint_url)
        ensure_table(client, TABLE)
        write(client, 0, ROUND)
        one_round = log_size(tmp_path)
        assert one_round > 2 * LIMIT  # else this test proves nothing
        for n in range(1, 6):
            wait_for(checkpointed_after(local, local.engine.checkpoints))
            write(client, n * ROUND, ROUND)

        # Without checkpoints the log would hold all six rounds.
        assert log_size(tmp_path) < 3 * one_round
        assert stored(client) == 6 * ROUND


def test_a_clean_stop_leaves_no_log_and_every_item(tmp_path):
    with LocalAwsEndpoint(tmp_path) as local:
        client = dynamodb(local.endpoint_url)
        ensure_table(client, TABLE)
        write(client, 0, ROUND)
        assert log_size(tmp_path) > 0

    assert log_size(tmp_path) == 0
    with LocalAwsEndpoint(tmp_path) as local:
        assert stored(dynamodb(local.endpoint_url)) == ROUND
