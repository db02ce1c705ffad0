"""The local stack, composed from the topology: start, describe, stop."""

import fcntl
import json
import os
import sys
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Final

from infra import REPO_ROOT
from infra.local.access import AccessPolicy
from infra.local.aws_endpoint import LocalAwsEndpoint, dynamodb, dynamodb_streams, ensure_table
from infra.local.chaos import Chaos
from infra.local.gateway import Gateway, Router, json_lines
from infra.local.http_server import LocalHttpServer
from infra.local.runtime import IDENTITY, LocalFunction, use_aws_environment
from infra.local.scheduler import Scheduler
from infra.local.stream_poller import (
    DeadLetters,
    EventSourceMapping,
    StreamPoller,
    StreamPositions,
)
from infra.local.throttle import ApiThrottle, WafRateRule
from infra.topology import (
    API_THROTTLE,
    FUNCTIONS,
    STREAM_CONSUMER,
    TOPOLOGY,
    Function,
    RuntimeSettings,
    Throttle,
    Topology,
    runtime_environment,
)
from infra.waf import DEFAULT_RATE_LIMIT, DEFAULT_WINDOW_SECONDS, submit_route

STATE_FILE: Final = "stack.json"  # where a running stack says where it is
REAL_AWS: Final = "aws"  # --endpoint-url aws: the real AWS endpoints, the usual credentials


@dataclass(frozen=True)
class Options:
    host: str = "127.0.0.1"
    port: int = 8000
    aws_port: int = 8001
    data_dir: Path = REPO_ROOT / ".local"
    ephemeral: bool = False
    endpoint_url: str | None = None
    table_name: str = "pick-a-number-local"
    web_dir: Path = REPO_ROOT / "web"
    chaos: float = 0.0
    chaos_seed: int | None = None
    # The stage's throttle; each route has its own, the topology's (0: all off).
    throttle_rate: float = API_THROTTLE.rate_per_second
    throttle_burst: int = API_THROTTLE.burst
    batching_window: float = STREAM_CONSUMER.batching_window_seconds
    parallelization_factor: int = STREAM_CONSUMER.parallelization_factor
    function_log_level: str = "WARNING"
    # AWS WAF's per-IP rate rule on submissions at the local edge, as in the cloud.
    waf: bool = False
    waf_rate_limit: int = DEFAULT_RATE_LIMIT
    waf_window: int = DEFAULT_WINDOW_SECONDS

    @property
    def embedded(self) -> bool:
        return self.endpoint_url is None

    @property
    def persistent(self) -> bool:
        return self.embedded and not self.ephemeral

    @property
    def runtime(self) -> RuntimeSettings:
        """The functions run in this one process: no X-Ray daemon, and CloudWatch metric
        lines (EMF) would only add noise to a local console. Retention and rollup
        layout are every environment's defaults."""
        return RuntimeSettings(
            log_level=self.function_log_level, tracing=False, metrics=False, shared_process=True
        )


def read_state(data_dir: Path) -> dict[str, Any]:
    """What a running stack wrote about itself (URLs, table), for other commands."""
    path = data_dir / STATE_FILE
    if not path.exists():
        raise SystemExit(f"no local stack is running with data dir {data_dir} (start: make dev)")
    state: dict[str, Any] = json.loads(path.read_text())
    return state


def use_running_stack(state: dict[str, Any]) -> None:
    """Point this process's boto3 at a running stack's endpoint and region (a bare
    machine configures neither); the local endpoint takes any credentials."""
    endpoint_url = state["endpoint_url"]
    use_aws_environment(endpoint_url, fake=bool(endpoint_url), region=state["region"])


def local_functions(
    options: Options, functions: Iterable[Function] = FUNCTIONS
) -> dict[str, LocalFunction]:
    """The topology's functions by name, each with the environment it runs with here:
    against the embedded endpoint, an identity of its own (its name as access key id)."""
    return {
        fn.name: LocalFunction(
            fn,
            runtime_environment(fn, options.table_name, options.runtime)
            | ({IDENTITY: fn.name} if options.embedded else {}),
        )
        for fn in functions
    }


class EmulatedStack:
    """The app's AWS topology emulated in this process: the AWS endpoint, the
    functions, the gateway, the stream poller and the scheduler, started and stopped
    together. (`tools.launcher` runs one as a subprocess.)"""

    def __init__(
        self, options: Options, out: IO[str] = sys.stdout, topology: Topology = TOPOLOGY
    ) -> None:
        self.options = options
        self.topology = topology
        self.out = out
        self.stop_event = threading.Event()
        self.embedded: LocalAwsEndpoint | None = None
        self.http: LocalHttpServer | None = None
        self.threads: list[threading.Thread] = []
        self._lock_file: IO[str] | None = None
        self._chaos = Chaos(options.chaos, options.chaos_seed)
        self.throttle = ApiThrottle(
            Throttle(options.throttle_rate, options.throttle_burst), topology.routes
        )
        self.waf = (
            WafRateRule(submit_route(topology), options.waf_rate_limit, options.waf_window)
            if options.waf
            else None
        )

    # -- start -------------------------------------------------------------------------

    def start(self) -> None:
        options = self.options
        options.data_dir.mkdir(parents=True, exist_ok=True)
        if options.persistent:
            self._lock_data_dir()
        endpoint_url = self._start_aws()
        stream_arn, _ = ensure_table(dynamodb(endpoint_url), options.table_name)

        consumer = self.topology.stream_consumer.with_parallelization(
            options.parallelization_factor
        )
        functions = local_functions(options, self.topology.functions)
        for route in (
            self.topology.routes
        ):  # cold starts now: the first request is not slow, errors show early
            functions[route.function.name].handler()
        functions[consumer.function.name].handler()

        mapping = EventSourceMapping(
            consumer,
            self._chaos.wrap(functions[consumer.function.name].invoke),
            DeadLetters(self.dead_letters_path),
            self.stop_event,
        )
        region = os.environ["AWS_DEFAULT_REGION"]
        positions = StreamPositions(self.stream_positions_path, stream_arn)
        poller = StreamPoller(
            dynamodb_streams(endpoint_url),
            positions,
            region,
            mapping,
            options.batching_window,
            self.stop_event,
            consumer.parallelization_factor,
        )
        self.threads.append(poller)
        self.threads += [
            Scheduler(schedule, functions[schedule.function.name].invoke, self.stop_event)
            for schedule in self.topology.schedules
        ]

        gateway = Gateway(
            Router(self.topology.routes),
            functions,
            self.throttle,
            options.web_dir,
            json_lines(self.out),
            self.waf,
        )
        self.http = LocalHttpServer((options.host, options.port), gateway.handle)
        self.threads.append(
            threading.Thread(target=self.http.serve_forever, name="http", daemon=True)
        )
        for thread in self.threads:
            thread.start()
        self._write_state(endpoint_url)

    def _start_aws(self) -> str | None:
        """The DynamoDB endpoint URL (None: real AWS), with the process environment
        the handlers and boto3 read."""
        if self.options.embedded:
            use_aws_environment(None)  # fake credentials before the engine inherits them
            data_dir = self.options.data_dir if self.options.persistent else None
            policy = AccessPolicy(self.topology.functions, self.options.table_name)
            self.embedded = LocalAwsEndpoint(data_dir, "127.0.0.1", self.options.aws_port, policy)
            self.embedded.start()
            endpoint_url: str | None = self.embedded.endpoint_url
        elif self.options.endpoint_url == REAL_AWS:
            endpoint_url = None
        else:
            endpoint_url = self.options.endpoint_url
        use_aws_environment(endpoint_url, fake=self.options.embedded)
        return endpoint_url

    def _lock_data_dir(self) -> None:
        self._lock_file = (self.options.data_dir / ".lock").open("w")
        try:
            fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise SystemExit(
                f"another local stack uses {self.options.data_dir}; stop it or pass --data-dir"
            ) from None

    @property
    def dead_letters_path(self) -> Path:
        return self.options.data_dir / "dead-letters.jsonl"

    @property
    def stream_positions_path(self) -> Path | None:
        """None for an ephemeral stack, whose stream is gone when it stops."""
        return self.options.data_dir / "stream-positions.json" if self.options.persistent else None

    @property
    def state_path(self) -> Path:
        return self.options.data_dir / STATE_FILE

    def _write_state(self, endpoint_url: str | None) -> None:
        assert self.http is not None
        state = {
            "app_url": self.http.url,
            "endpoint_url": endpoint_url,
            "table_name": self.options.table_name,
            "region": os.environ["AWS_DEFAULT_REGION"],
            "pid": os.getpid(),
            "engine_pid": self.embedded.engine.pid if self.embedded else None,
            "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        temporary = self.state_path.with_suffix(".tmp")
        temporary.write_text(json.dumps(state, indent=2))
        os.replace(temporary, self.state_path)

    # -- describe ----------------------------------------------------------------------

    def banner(self) -> str:
        assert self.http is not None
        options = self.options
        endpoint = self.embedded.endpoint_url if self.embedded else (options.endpoint_url or "")
        if not options.embedded:
            data = f"table {options.table_name} at {endpoint or 'AWS'} (not managed here)"
        elif options.persistent:
            data = (
                f"{options.data_dir} (DynamoDB Local, SQLite under dynamodb/: every answered "
                "write is on disk; backups under backups/)"
            )
        else:
            data = "in memory (ephemeral: the data dir is not read; nothing is kept)"
        consumer = self.topology.stream_consumer
        schedules = {schedule.name: schedule for schedule in self.topology.schedules}
        next_runs = {
            name: Scheduler(schedule, lambda e: None, self.stop_event).cron.next_after(
                datetime.now(UTC)
            )
            for name, schedule in schedules.items()
        }
        lines = [
            "Pick a Number: local stack",
            f"  app           {self.http.url}",
            f"  AWS endpoint  {endpoint}  (table {options.table_name})",
            f"  data          {data}",
            *self._engine_lines(),
            f"  stream        {consumer.function.name}: batch {consumer.batch_size}, "
            f"window {options.batching_window:g} s, "
            f"parallelization {options.parallelization_factor}, "
            f"{consumer.max_retry_attempts} retries, "
            f"dead letters to {self.dead_letters_path}",
            f"  throttle      {self.throttle.describe()}",
            f"  waf           {self.waf.describe() if self.waf else 'off'}",
            *(
                f"  {name:<13} {schedules[name].cron} UTC, next {due:%Y-%m-%d %H:%M}"
                for name, due in next_runs.items()
            ),
            "  now           make backup-local, make drill-local",
            f"  chaos         {options.chaos:g}" if options.chaos else "  chaos         off",
            "Ctrl-C stops it. Access log (JSON lines) follows.",
        ]
        return "\n".join(lines)

    def _engine_lines(self) -> list[str]:
        if self.embedded is None:
            return []
        engine = self.embedded.engine
        if engine.isolated:
            reach = "in its own network namespace: only this stack can reach it"
        else:
            reach = (
                "WARNING: listening on every interface of this machine (no network "
                "namespaces here); any host that can reach this machine can reach it"
            )
        return [f"  engine        DynamoDB Local, pid {engine.pid}, {reach}"]

    # -- stop --------------------------------------------------------------------------

    def stop(self) -> None:
        self.stop_event.set()
        if self.http is not None:
            self.http.shutdown()
            self.http.server_close()
        for thread in self.threads:
            thread.join(timeout=15)
        if self.embedded is not None:
            self.embedded.stop()
        self.state_path.unlink(missing_ok=True)
        if self._lock_file is not None:
            self._lock_file.close()
