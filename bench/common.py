"""What every benchmark shares: the fake AWS environment, timing, DynamoDB item
sizes and read units, the printed table and the JSON results."""

import contextlib
import json
import math
import os
import platform
import socket
import statistics
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

# Importing infra puts services/ (the functions' packages) on the path.
from infra import REPO_ROOT, SERVICES_ROOT
from infra.local.events import DEFAULT_REGION
from infra.local.runtime import FAKE_CREDENTIALS, use_aws_environment

ROOT = REPO_ROOT
SERVICES = SERVICES_ROOT
RESULTS = Path(__file__).resolve().parent / "results"

# DynamoDB bills an eventually consistent read at 0.5 unit per 4 KB (rounded up
# per request), a write at 1 unit per 1 KB and a transactional write at 2.
READ_UNIT_BYTES = 4096
EVENTUAL_READ_UNIT = 0.5

FAKE_AWS = {
    **FAKE_CREDENTIALS,
    "AWS_DEFAULT_REGION": DEFAULT_REGION,
    "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
}


def app_environment(table_name: str, *, metrics: bool = True) -> dict[str, str]:
    """The settings every function reads, from the topology, as a benchmark runs them:
    no X-Ray daemon, and (`metrics` False) no metric lines. The service name, which
    differs between functions, is left to the caller."""
    from infra.topology import RuntimeSettings, process_environment

    runtime = RuntimeSettings(
        log_level="WARNING", tracing=False, metrics=metrics, shared_process=True
    )
    return process_environment(table_name, runtime)


def fake_aws(table_name: str) -> None:
    """Point this process at a fake account before any handler is imported."""
    # In process, the EMF metric lines would interleave with the printed tables.
    use_aws_environment(None, region=DEFAULT_REGION)
    os.environ.update(app_environment(table_name, metrics=False))
    warnings.filterwarnings("ignore", message="No application metrics to publish")


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now (for a server the harness starts)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def timed(call: Callable[[], Any]) -> tuple[float, Any]:
    """(seconds, result) of one call."""
    start = time.perf_counter()
    result = call()
    return time.perf_counter() - start, result


def median(values: Iterable[float]) -> float:
    return statistics.median(list(values))


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100)."""
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def _number_size(text: str) -> int:
    """DynamoDB: about one byte per two significant digits, plus one."""
    digits = text.lstrip("-").replace(".", "").strip("0") or "0"
    return (len(digits) + 1) // 2 + 1


def attribute_size(value: Mapping[str, Any]) -> int:
    """Size of one attribute value by DynamoDB's published rules."""
    ((kind, inner),) = value.items()
    if kind == "S":
        return len(inner.encode())
    if kind == "N":
        return _number_size(inner)
    if kind == "B":
        return len(inner)
    if kind == "BOOL" or kind == "NULL":
        return 1
    if kind == "M":
        return 3 + sum(len(k.encode()) + attribute_size(v) + 1 for k, v in inner.items())
    if kind == "L":
        return 3 + sum(attribute_size(v) + 1 for v in inner)
    if kind == "SS":
        return sum(len(s.encode()) for s in inner)
    if kind == "NS":
        return sum(_number_size(n) for n in inner)
    raise ValueError(f"unknown attribute type {kind}")


def item_size(item: Mapping[str, Mapping[str, Any]]) -> int:
    """Size of an item as DynamoDB bills it: names plus values."""
    return sum(len(name.encode()) + attribute_size(value) for name, value in item.items())


def read_units(response_bytes: int) -> float:
    """Eventually consistent read units of one Query/Scan request: the bytes read,
    rounded up to 4 KB, and never less than one 4 KB step."""
    return max(1, math.ceil(response_bytes / READ_UNIT_BYTES)) * EVENTUAL_READ_UNIT


def machine() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "nproc": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average": os.getloadavg(),
    }


def print_table(title: str, headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    print(f"\n{title}")
    print("  ".join(h.rjust(w) for h, w in zip(headers, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for row in cells:
        print("  ".join(v.rjust(w) for v, w in zip(row, widths, strict=True)))


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.3f}" if value < 100 else f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return "-" if value is None else str(value)


def write_results(name: str, figures: Mapping[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    document = {"benchmark": name, "machine": machine(), "at": time.time(), **figures}
    path.write_text(json.dumps(document, indent=2, default=str) + "\n")
    print(f"  -> {path.relative_to(ROOT)}")
    return path


@contextlib.contextmanager
def partition_local_queries() -> Iterator[None]:
    """Make moto answer a table Query from the one partition it names.

    moto (5.2) sorts every item of the table for each Query, so its Query time
    grows with the table; DynamoDB reads only the partition asked for. Without
    this, wall times would measure the emulator's sort, not the read path.
    """
    from moto.dynamodb.models.table import Table

    original = Table.query

    def query(self: Any, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
        index_name = args[6] if len(args) > 6 else kwargs.get("index_name")
        if index_name is not None or hash_key is None or not self.range_key_attr:
            return original(self, hash_key, *args, **kwargs)
        partition = list(self.items.get(hash_key, {}).values())
        self.all_items = lambda: partition
        try:
            return original(self, hash_key, *args, **kwargs)
        finally:
            del self.all_items

    Table.query = query  # type: ignore[method-assign]
    try:
        yield
    finally:
        Table.query = original  # type: ignore[method-assign]
