"""The local stack as a subprocess, for tests over HTTP.

`local_stack` is one stack per test session (ephemeral, throttling off, a short
batching window); `start_local_stack(*args)` starts another with its own
options and stops it at the end of the test. Each listens on free ports (the
OS picks them: --port 0 --aws-port 0) and says where in `<data dir>/stack.json`.
"""

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from botocore.config import Config

REPO_ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_SECONDS = 60
STOP_TIMEOUT_SECONDS = 20
# What most tests want: a fresh table, no rate limit, stats visible quickly.
FAST_OPTIONS = ("--ephemeral", "--throttle-rate", "0")


@dataclass
class LocalStack:
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
            aws_secret_access_key="local",
            config=Config(account_id_endpoint_mode="disabled"),
        )

    def items(self, prefix: str) -> list[dict[str, Any]]:
        pages = self.dynamodb().get_paginator("scan").paginate(TableName=self.table_name)
        return [i for page in pages for i in page["Items"] if i["pk"]["S"].startswith(prefix)]

    def raw_histogram(self) -> Counter[int]:
        """Picked numbers of the raw submissions, straight from the table."""
        return Counter(int(item["number"]["N"]) for item in self.items("SUB#"))

    def rollup_histogram(self) -> Counter[int]:
        """Picked numbers as the rollups count them, every day together."""
        counts: Counter[int] = Counter()
        for item in self.items("ROLLUP#"):
            for number in range(1, 11):
                counts[number] += int(item.get(f"n{number}", {"N": "0"})["N"])
        return +counts

    def unaggregated(self) -> int:
        return sum(1 for item in self.items("SUB#") if "aggregated_at" not in item)

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


def start(data_dir: Path, *args: str) -> LocalStack:
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
    return LocalStack(
        process,
        data_dir,
        described["app_url"],
        described["endpoint_url"],
        described["table_name"],
        stdout,
        stderr,
    )


StartLocalStack = Callable[..., LocalStack]


@pytest.fixture(scope="session")
def local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    stack = start(tmp_path_factory.mktemp("local-stack"), *FAST_OPTIONS)
    yield stack
    stack.stop()


@pytest.fixture
def start_local_stack(tmp_path: Path) -> Iterator[StartLocalStack]:
    """start_local_stack(*args, data_dir=...) -> LocalStack, stopped after the test."""
    started: list[LocalStack] = []

    def start_one(*args: str, data_dir: Path | None = None) -> LocalStack:
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


def submit(
    session: requests.Session | Any,
    stack: LocalStack,
    body: Any,
    *,
    headers: dict[str, str] | None = None,
    timeout: float = 10,
) -> requests.Response:
    response: requests.Response = session.post(
        stack.url("/api/submit-number"), json=body, headers=headers, timeout=timeout
    )
    return response


def day_count(session: requests.Session, stack: LocalStack, day: str) -> Counter[int]:
    response = session.get(stack.url(f"/api/daily-stats?from={day}&to={day}"), timeout=10)
    response.raise_for_status()
    histogram = response.json()["days"][0]["histogram"]
    return +Counter({int(k): v for k, v in histogram.items()})
