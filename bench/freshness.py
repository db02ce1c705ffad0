"""Benchmark 4: freshness, submit -> visible in daily-stats, through the local stack.

The local stack (`python -m infra.local`, ephemeral) runs as a subprocess: the
HTTP front, the API Gateway adapter, the functions, the embedded DynamoDB and
the stream poller, with the topology's stream settings. Submissions go in at a
steady rate over HTTP while a poller reads today's daily-stats; the n-th
submission is visible when the day's count first reaches n (the count only
grows, and records are counted in about the order they were written).
Throttling is off: the poller alone would exceed the API's rate.

With the topology's batching window; when it has one, also without, in the
same run, which shows how much of the delay is the window itself.
"""

import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from bench.common import median, percentile, print_table, write_results

SUBMISSIONS = 200
RATE_PER_SECOND = 5.0
POLL_SECONDS = 0.05
TARGET_P95_SECONDS = 1.0


def _measure(stack: Any, count: int) -> dict[str, Any]:
    import requests

    submitted: dict[int, float] = {}
    visible: dict[int, float] = {}
    done = threading.Event()
    day: list[str] = []

    def poll() -> None:
        with requests.Session() as session:
            while not done.is_set():
                if day:
                    response = session.get(
                        stack.url("/api/daily-stats"),
                        params={"from": day[0], "to": day[0]},
                        timeout=10,
                    )
                    seen = time.monotonic()
                    total = response.json()["total"]["count"] if response.ok else 0
                    for n in range(len(visible) + 1, total + 1):
                        visible[n] = seen
                    if len(visible) >= count:
                        return
                time.sleep(POLL_SECONDS)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    with requests.Session() as session:
        next_at = time.monotonic()
        for n in range(1, count + 1):
            time.sleep(max(0.0, next_at - time.monotonic()))
            submitted[n] = time.monotonic()
            response = session.post(
                stack.url("/api/submit-number"), json={"number": n % 10 + 1}, timeout=10
            )
            response.raise_for_status()
            if not day:
                day.append(response.json()["date"])
            next_at += 1 / RATE_PER_SECOND
    poller.join(timeout=60)
    done.set()
    delays = [visible[n] - submitted[n] for n in range(1, count + 1) if n in visible]
    if len(delays) < count:
        raise RuntimeError(f"only {len(delays)} of {count} submissions became visible")
    return {
        "submissions": count,
        "p50_seconds": median(delays),
        "p95_seconds": percentile(delays, 95),
        "max_seconds": max(delays),
        "within_target": percentile(delays, 95) < TARGET_P95_SECONDS,
    }


def run(quick: bool = False) -> dict[str, Any]:
    from infra.topology import STREAM_CONSUMER
    from tools.launcher import start

    count = 50 if quick else SUBMISSIONS
    windows: dict[str, str | None] = {
        f"batching window {STREAM_CONSUMER.batching_window_seconds:g} s": None
    }
    if STREAM_CONSUMER.batching_window_seconds:
        windows["no batching window"] = "0"
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        for index, (label, window) in enumerate(windows.items()):
            options = ["--ephemeral", "--throttle-rate", "0"]
            if window is not None:
                options += ["--batching-window", window]
            stack = start(Path(folder) / f"stack-{index}", *options)
            try:
                results[label] = _measure(stack, count)
            finally:
                stack.stop()
    print_table(
        f"4. freshness: submit -> visible in daily-stats, {count} submissions at"
        f" {RATE_PER_SECOND:g}/s, local stack (poll every {POLL_SECONDS * 1000:.0f} ms)",
        ("stream", "p50 ms", "p95 ms", "max ms", f"p95 < {TARGET_P95_SECONDS:g} s"),
        [
            (
                label,
                r["p50_seconds"] * 1000,
                r["p95_seconds"] * 1000,
                r["max_seconds"] * 1000,
                "yes" if r["within_target"] else "NO",
            )
            for label, r in results.items()
        ],
    )
    figures = {
        "rate_per_second": RATE_PER_SECOND,
        "poll_seconds": POLL_SECONDS,
        "target_p95_seconds": TARGET_P95_SECONDS,
        "configurations": results,
    }
    write_results("freshness", figures)
    return figures
