"""Benchmark: the local stack at a realistic volume.

One workload, run against the local stack on DynamoDB Local and, in the same
run, against the same stack pointed (`--endpoint-url`) at a plain moto server
(the engine it used before). Per side:

1. start the stack; time until it serves (start-up);
2. on the empty store: submit p50/p95, 7- and 30-day daily-stats p50/p95;
3. import N submissions spread over 30 days straight into the table, as an
   operator's batch-write-item would (`make demo`'s seeding): the import rate;
4. wait until the stream has counted them: submissions counted per second
   (bounded: a side that cannot catch up in time reports how far it got);
5. the same latencies again on the full store; the RSS of the stack + engine;
6. Ctrl-C and start again: restart-to-ready (serving) and restart-to-consistent
   (the statistics hold every import).

Sizes: 10k on both sides, then 100k on DynamoDB Local alone (`--long`: 1M too).
Traffic goes to 127.0.0.1 only; every wait is bounded.
"""

import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.common import ROOT, free_port, percentile, print_table, write_results

SAMPLES = 200
QUICK_SAMPLES = 40
COUNT_TIMEOUT_SECONDS = 600
# moto imports ~170 items/s and counts ~20/s at volume: its import and its count each
# get this long, and the table says how far it got.
MOTO_BUDGET_SECONDS = 180
READY_TIMEOUT_SECONDS = 120
LATENCY_BUDGET_SECONDS = 60
# The moto server keeps everything (the stream too) in memory: one run grew it past
# 20 GiB. Past this it is stopped, and the table says so.
MOTO_MEMORY_LIMIT_BYTES = 4 * 2**30
ENGINE = "DynamoDB Local"


def _rss_bytes(pid: int) -> int:
    """Resident memory of a process and everything below it (Linux /proc)."""
    total = 0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1]) * 1024
        for task in Path(f"/proc/{current}/task").glob("*/children"):
            pending += [int(child) for child in task.read_text().split()]
    return total


def _latencies(call: Callable[[], Any], samples: int) -> dict[str, float]:
    """p50/p95 in ms; a request that fails or times out counts as an error and as
    the time it took (a slow engine's time-outs are part of its figures)."""
    import requests

    times, errors = [], 0
    began = time.perf_counter()
    for _ in range(samples):
        if time.perf_counter() - began > LATENCY_BUDGET_SECONDS:
            break  # a slow engine: fewer samples, counted in "samples"
        start = time.perf_counter()
        try:
            call()
        except requests.RequestException:
            errors += 1
        times.append((time.perf_counter() - start) * 1000)
    return {
        "p50_ms": percentile(times, 50),
        "p95_ms": percentile(times, 95),
        "errors": errors,
        "samples": len(times),
    }


class _Side:
    """One stack under test, and the workload's steps against it."""

    def __init__(self, name: str, data_dir: Path, extra: tuple[str, ...]) -> None:
        self.name = name
        self.data_dir = data_dir
        self.extra = extra
        self.stack: Any = None
        self.expected = 0
        self.count_timeout = MOTO_BUDGET_SECONDS if "moto" in name else COUNT_TIMEOUT_SECONDS
        today = datetime.now(UTC).date()
        self.week = {"from": str(today - timedelta(days=6)), "to": str(today)}
        self.month = {"from": str(today - timedelta(days=29)), "to": str(today)}

    def start(self) -> float:
        """Seconds from launch until the app answers."""
        import requests

        from tools.launcher import start

        began = time.perf_counter()
        self.stack = start(self.data_dir, "--throttle-rate", "0", *self.extra)
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            try:
                if requests.get(self.stack.url("/api/daily-stats"), timeout=5).ok:
                    return time.perf_counter() - began
            except requests.RequestException:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"{self.name}: not serving after {READY_TIMEOUT_SECONDS} s")

    def counted(self, session: Any) -> int:
        import requests

        try:
            response = session.get(
                self.stack.url("/api/daily-stats"), params=self.month, timeout=30
            )
        except requests.RequestException:
            return -1
        return int(response.json()["total"]["count"]) if response.ok else -1

    def latencies(self, samples: int) -> dict[str, dict[str, float]]:
        import requests

        with requests.Session() as session:

            def submit() -> None:
                url = self.stack.url("/api/submit-number")
                session.post(url, json={"number": 7}, timeout=30).raise_for_status()

            def stats(params: dict[str, str]) -> Callable[[], None]:
                def get() -> None:
                    url = self.stack.url("/api/daily-stats")
                    session.get(url, params=params, timeout=30).raise_for_status()

                return get

            figures = {
                "submit": _latencies(submit, samples),
                "stats_7_days": _latencies(stats(self.week), samples),
                "stats_30_days": _latencies(stats(self.month), samples),
            }
        self.expected += samples
        return figures

    def wait_counted(self, timeout: float) -> tuple[int, float]:
        """(submissions counted, seconds) once all are counted or the time is up."""
        import requests

        began = time.perf_counter()
        with requests.Session() as session:
            while (counted := self.counted(session)) < self.expected:
                if time.perf_counter() - began > timeout:
                    break
                time.sleep(0.5)
        return counted, time.perf_counter() - began

    def import_history(self, count: int) -> dict[str, float]:
        from infra.local.aws_endpoint import dynamodb
        from infra.local.demo import history, seed

        client = dynamodb(self.stack.endpoint_url)
        submissions = list(history(count, 30, datetime.now(UTC).date()))
        began = time.perf_counter()
        budget = MOTO_BUDGET_SECONDS if "moto" in self.name else None
        seeded = seed(client, self.stack.table_name, submissions, budget_seconds=budget)
        self.expected += seeded.submissions
        counted, _ = self.wait_counted(self.count_timeout)
        elapsed = time.perf_counter() - began
        return {
            "imported": seeded.submissions,
            "import_per_second": seeded.per_second,
            "counted": counted,
            "all_counted": counted >= self.expected,
            "counted_per_second": (counted - (self.expected - seeded.submissions)) / elapsed,
        }

    def drain_backlog(self, count: int) -> dict[str, float]:
        """The aggregator's own rate: a backlog written while the stack is stopped
        (straight into its engine), counted after a start, as fast as it can."""
        from infra.local.aws_endpoint import LocalAwsEndpoint, dynamodb
        from infra.local.demo import history, seed

        self._stop()
        with LocalAwsEndpoint(self.data_dir) as engine:
            submissions = list(history(count, 30, datetime.now(UTC).date()))
            seeded = seed(dynamodb(engine.endpoint_url), self.stack.table_name, submissions)
        self.expected += seeded.submissions
        ready = self.start()
        counted, waited = self.wait_counted(self.count_timeout)
        return {
            "backlog": seeded.submissions,
            "drained": counted >= self.expected,
            "ready_s": ready,
            # the aggregator's rate once the stack serves (it starts counting a little
            # earlier, so this is a lower bound) ...
            "drained_per_second": seeded.submissions / waited,
            # ... and from the launch, start-up included
            "drained_from_launch_per_second": seeded.submissions / (ready + waited),
        }

    def restart(self) -> dict[str, float]:
        forced = self._stop()
        ready = self.start()
        began = time.perf_counter()
        counted, waited = self.wait_counted(self.count_timeout)
        return {
            "stop_forced": forced,
            "restart_to_ready_s": ready,
            "restart_to_consistent_s": ready + waited,
            "consistent": counted >= self.expected,
            "checked_in_s": time.perf_counter() - began,
        }

    def _stop(self) -> bool:
        """Ctrl-C; True if the stack did not stop in time and was killed."""
        try:
            self.stack.stop(signal.SIGINT)
        except subprocess.TimeoutExpired:
            return True
        return False

    def stop(self) -> None:
        if self.stack is not None and self.stack.process.poll() is None:
            self._stop()


def _moto_server() -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 0.5).close()
            return process, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("moto server did not start")


class _MemoryGuard(threading.Thread):
    """Stops a process whose memory passes a limit; remembers its peak."""

    def __init__(self, process: subprocess.Popen[bytes], limit: int) -> None:
        super().__init__(daemon=True)
        self.process, self.limit = process, limit
        self.peak = 0
        self.tripped = False

    def run(self) -> None:
        while self.process.poll() is None:
            self.peak = max(self.peak, _rss_bytes(self.process.pid))
            if self.peak > self.limit:
                self.tripped = True
                self.process.kill()
            time.sleep(0.5)


def _measure_moto(count: int, samples: int) -> dict[str, Any]:
    """The same workload against a plain moto server, bounded in memory and time."""
    moto, url = _moto_server()
    guard = _MemoryGuard(moto, MOTO_MEMORY_LIMIT_BYTES)
    guard.start()
    try:
        figures = _measure("moto server", count, samples, ("--endpoint-url", url))
    except Exception as error:  # e.g. the guard stopped it: the table says so
        traceback.print_exc()
        figures = {"engine": "moto server", "submissions": count, "failed": repr(error)}
    finally:
        moto.kill()  # its data is not needed; a graceful stop can take long
        moto.wait(10)
    stopped = f"stopped past {MOTO_MEMORY_LIMIT_BYTES / 2**30:g} GiB" if guard.tripped else None
    return figures | {"moto_peak_rss_bytes": guard.peak, "moto_stopped": stopped}


def _measure(name: str, count: int, samples: int, extra: tuple[str, ...] = ()) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        side = _Side(name, Path(folder) / "data", extra)
        try:
            figures: dict[str, Any] = {"engine": name, "submissions": count}
            _progress(f"{name}, {count:,}: starting")
            figures["startup_s"] = side.start()
            figures["empty"] = side.latencies(samples)
            _progress(f"{name}, {count:,}: importing")
            figures["import"] = side.import_history(count)
            _progress(f"{name}, {count:,}: {figures['import']}")
            figures["full"] = side.latencies(samples)
            figures["rss_bytes"] = _rss_bytes(side.stack.process.pid)
            _progress(f"{name}, {count:,}: full store {figures['full']}")
            if name == ENGINE:
                _progress(f"{name}, {count:,}: backlog")
                try:
                    figures["backlog"] = side.drain_backlog(max(1_000, count // 5))
                except Exception:  # keep the other figures; say what failed
                    traceback.print_exc()
                    if side.stack.process.poll() is not None:
                        side.start()
            try:
                figures |= side.restart()
            except Exception as error:  # a side that does not come back says so in the table
                traceback.print_exc()
                figures |= {"restart_failed": f"{type(error).__name__}: {error}"}
            _progress(f"{name}, {count:,}: {figures}")
        finally:
            side.stop()
    return figures


def _progress(message: str) -> None:
    print(f"  [{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _all_counted(imported: dict[str, Any]) -> str:
    if imported["all_counted"]:
        return "yes"
    if imported["counted"] < 0:
        return "no (daily-stats did not answer)"
    return f"no ({imported['counted']:,})"


def _backlog(result: dict[str, Any]) -> Any:
    """Counted per second once serving (and from the launch, start-up included)."""
    if "backlog" not in result:
        return None
    rates = result["backlog"]
    return f"{rates['drained_per_second']:,.0f} ({rates['drained_from_launch_per_second']:,.0f})"


def _consistent(result: dict[str, Any]) -> Any:
    if "restart_failed" in result:
        return "-"
    return result["restart_to_consistent_s"] if result["consistent"] else "not consistent"


def _latency(figures: dict[str, Any]) -> str:
    """p50/p95, and how many requests failed (their time counts in the figures)."""
    if figures["errors"] == figures["samples"]:
        return "no answer"
    cell = f"{figures['p50_ms']:.1f}/{figures['p95_ms']:.1f}"
    return cell + (f" ({figures['errors']} failed)" if figures["errors"] else "")


def _rows(results: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = []
    for r in results:
        if "failed" in r:
            rows.append((r["engine"], r["submissions"], f"failed: {r['failed']}", *["-"] * 12))
            continue
        imported = r["import"]
        rows.append(
            (
                r["engine"],
                r["import"]["imported"],
                imported["import_per_second"],
                imported["counted_per_second"] if imported["counted"] >= 0 else "-",
                _backlog(r),
                _all_counted(imported),
                _latency(r["empty"]["submit"]),
                _latency(r["full"]["submit"]),
                _latency(r["full"]["stats_7_days"]),
                _latency(r["empty"]["stats_30_days"]),
                _latency(r["full"]["stats_30_days"]),
                r["startup_s"],
                r.get("restart_to_ready_s", "did not serve again"),
                _consistent(r),
                f"{r['rss_bytes'] / 2**20:,.0f}",
            )
        )
    return rows


def run(quick: bool = False, long: bool = False) -> dict[str, Any]:
    samples = QUICK_SAMPLES if quick else SAMPLES
    compared = 2_000 if quick else 10_000
    volumes = [10_000] if quick else [100_000, *([1_000_000] if long else [])]
    # Local engines only: any credentials do, never real ones.
    from infra.local.events import DEFAULT_REGION
    from infra.local.runtime import use_aws_environment

    use_aws_environment(None, region=DEFAULT_REGION)
    results = [_measure(ENGINE, compared, samples)]
    write_results("local_volume", {"samples": samples, "results": results})
    for volume in volumes:
        results.append(_measure(ENGINE, volume, samples))
        write_results("local_volume", {"samples": samples, "results": results})
    results.append(_measure_moto(compared, samples))
    print_table(
        f"local stack at volume (latencies p50/p95 ms, {samples} sequential requests each)",
        (
            "engine",
            "stored",
            "import/s",
            "counted/s",
            "backlog counted/s (from launch)",
            "all counted",
            "submit empty",
            "submit full",
            "7-day full",
            "30-day empty",
            "30-day full",
            "start s",
            "restart ready s",
            "restart consistent s",
            "RSS MiB",
        ),
        _rows(results),
    )
    for r in results:
        if "moto_peak_rss_bytes" in r:
            print(
                f"  (the moto server itself: {r['moto_peak_rss_bytes'] / 2**20:,.0f} MiB more at"
                f" its peak{'; ' + r['moto_stopped'] if r['moto_stopped'] else ''})"
            )
    figures = {"samples": samples, "results": results}
    write_results("local_volume", figures)
    return figures
