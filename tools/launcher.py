"""Start the local stack as a subprocess and reach it: for tests and benchmarks.

`start(data_dir, *args)` runs `python -m infra.local` on free ports (the OS picks
them: --port 0 --aws-port 0), waits until it says where it is in
`<data dir>/stack.json`, and returns a `LaunchedStack`: its URLs, a DynamoDB
client on its AWS endpoint, what its table holds, and how to stop it.
"""

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from infra import REPO_ROOT
from shared import rollups, submissions
from shared.histogram import Histogram
from shared.rollups import histogram_of
from shared.submissions import Pick, pick_from_item

START_TIMEOUT_SECONDS = 60
STOP_TIMEOUT_SECONDS = 20
# What most tests and benchmarks want: a fresh in-memory table, no rate limit.
FAST_OPTIONS = ("--ephemeral", "--throttle-rate", "0")


@dataclass
class LaunchedStack:
    """A local stack running as a child process (started by `start`), seen from
    outside: its URLs, its table, its logs, how to stop it."""

    process: subprocess.Popen[bytes]
    data_dir: Path
    base_url: str
    endpoint_url: str
    table_name: str
    stdout: Path
    stderr: Path

    def url(self, path: str) -> str:
        return self.base_url + path

    def dynamodb(self) -> Any:
        return boto3.client(
            "dynamodb",
            endpoint_url=self.endpoint_url,
            region_name="us-east-1",
            aws_access_key_id="local",
            aws_secret_access_key="local",  # noqa: S106 - the local engine's, not a secret
            config=Config(account_id_endpoint_mode="disabled"),
        )

    def items(self, prefix: str) -> list[dict[str, Any]]:
        """The items whose partition key starts with `prefix` (e.g. `submissions.KEY_PREFIX`)."""
        pages = self.dynamodb().get_paginator("scan").paginate(TableName=self.table_name)
        return [i for page in pages for i in page["Items"] if i["pk"]["S"].startswith(prefix)]

    def picks(self) -> list[Pick]:
        return [pick_from_item(item) for item in self.items(submissions.KEY_PREFIX)]

    def raw_histogram(self) -> Counter[int]:
        """Picked numbers of the raw submissions, straight from the table."""
        return Counter(pick.number for pick in self.picks())

    def rollup_histogram(self) -> Counter[int]:
        """Picked numbers as the rollups count them, every day together."""
        items = self.items(rollups.KEY_PREFIX)
        total = sum(map(histogram_of, items), Histogram())
        return +Counter(dict(total.items()))

    def unaggregated(self) -> int:
        return sum(1 for pick in self.picks() if not pick.counted)

    def wait_until_aggregated(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while self.unaggregated():
            assert time.monotonic() < deadline, "the stream consumer did not catch up"
            time.sleep(0.2)

    def stop(self, sig: int = signal.SIGINT) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            return self.process.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise

    def log(self) -> str:
        return self.stdout.read_text() + self.stderr.read_text()


def start(data_dir: Path, *args: str) -> LaunchedStack:
    data_dir.mkdir(parents=True, exist_ok=True)
    state = data_dir / "stack.json"
    state.unlink(missing_ok=True)  # left over by a stack that was killed
    stdout, stderr = data_dir / "stdout.log", data_dir / "stderr.log"
    environment = {k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT_URL")}
    command = [sys.executable, "-m", "infra.local", "--port", "0", "--aws-port", "0"]
    process = subprocess.Popen(
        [*command, "--data-dir", str(data_dir), *args],
        cwd=REPO_ROOT,
        env=environment,
        stdout=stdout.open("ab"),
        stderr=stderr.open("ab"),
    )
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while not state.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"the local stack did not start:\n{stderr.read_text()}")
        time.sleep(0.1)
    described = json.loads(state.read_text())
    return LaunchedStack(
        process,
        data_dir,
        described["app_url"],
        described["endpoint_url"],
        described["table_name"],
        stdout,
        stderr,
    )
