"""Benchmark 3: cold start of each handler beside the floor.

Each run is a fresh Python process (bench/cold_child.py) that imports a handler,
initialises it and serves one invocation against an embedded moto server; the
floor is a process that only imports boto3, creates a DynamoDB client and makes
one call. Runs interleave the targets, so a noisy neighbour hits every target
alike, and the figure is the median.

Two configurations:
- lambda: the environment Lambda gives a traced function (LAMBDA_TASK_ROOT,
  an X-Ray trace header, a daemon address): Powertools' tracer is on, loads the
  X-Ray SDK and patches what it is told to;
- untraced: the same with POWERTOOLS_TRACE_DISABLED=true.

Bytecode is cached (a private PYTHONPYCACHEPREFIX, warmed before measuring):
the Lambda runtime and the Powertools layer ship compiled bytecode, and
measuring the compiler would swamp everything else.
"""

import json
import logging
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.common import (
    FAKE_AWS,
    RESULTS,
    ROOT,
    SERVICES,
    app_environment,
    fake_aws,
    free_port,
    median,
    print_table,
    timed,
    write_results,
)

TABLE = "bench-cold-start"
TARGET_RATIO = 1.35
CHILD = Path(__file__).resolve().parent / "cold_child.py"
TRACE_HEADER = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"


def _targets() -> dict[str, tuple[str, str]]:
    """name -> (handler, POWERTOOLS_SERVICE_NAME); the floor has no handler."""
    from infra.topology import AGGREGATOR, DAILY_STATS, SUBMIT_NUMBER

    return {
        "floor": ("floor", "floor"),
        "ingest": (SUBMIT_NUMBER.handler, SUBMIT_NUMBER.service),
        "stats": (DAILY_STATS.handler, DAILY_STATS.service),
        "aggregator": (AGGREGATOR.handler, AGGREGATOR.service),
    }


def _event(name: str, run: int) -> dict[str, Any]:
    """One invocation's event; `run` makes the aggregator's submission unique."""
    from shared.submissions import submission_key
    from tools.events import api_event, submission_inserted

    if name == "floor":
        return {"TableName": TABLE, "Key": submission_key("floor")}
    if name == "ingest":
        return api_event("POST", "/api/submit-number", body={"number": 7})
    if name == "stats":
        return api_event(
            "GET", "/api/daily-stats", query={"from": "2026-01-01", "to": "2026-01-31"}
        )
    return {"Records": [submission_inserted(_submission(run), f"{run:021d}")]}


def _submission(run: int) -> Any:
    """The raw submission the aggregator's event of `run` counts."""
    from shared.submissions import Pick, Submission

    pick = Pick(f"cold{run:05d}", "2026-01-10", 3)
    return Submission(pick, received_at="2026-01-10T12:00:00.000+00:00", body_hash="0" * 64)


def _environment(endpoint: str, mode: str, service: str, pycache: Path) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AWS_", "POWERTOOLS_", "LAMBDA_", "_X_AMZN", "PYTHON"))
    }
    env.update(FAKE_AWS)
    env.update(app_environment(TABLE))
    env.update(
        {
            "AWS_ENDPOINT_URL": endpoint,
            "POWERTOOLS_SERVICE_NAME": service,
            "PYTHONPATH": str(SERVICES),  # the function package, as /var/task
            "PYTHONPYCACHEPREFIX": str(pycache),
            "AWS_LAMBDA_FUNCTION_NAME": f"bench-{service}",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
        }
    )
    # As in Lambda, which the X-Ray SDK and Powertools detect by LAMBDA_TASK_ROOT.
    env.update(
        {
            "LAMBDA_TASK_ROOT": str(SERVICES),
            "_X_AMZN_TRACE_ID": TRACE_HEADER,
            "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000",
            "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
        }
    )
    if mode == "lambda":
        env.pop("POWERTOOLS_TRACE_DISABLED")
    return env


def _child(handler: str, event_file: Path, out: str, env: dict[str, str], *options: str) -> str:
    """Run bench/cold_child.py in a fresh Python (with `options`); its stderr."""
    return subprocess.run(
        [sys.executable, *options, str(CHILD), handler, str(event_file), out],
        env=env,
        cwd=ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    ).stderr


def _run_child(handler: str, event_file: Path, env: dict[str, str]) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        wall, _ = timed(lambda: _child(handler, event_file, out.name, env))
        result: dict[str, Any] = json.loads(Path(out.name).read_text())
    result["process_seconds"] = wall
    outcome = result.pop("outcome")
    if handler != "floor":
        ok = outcome.get("statusCode") in (200, 201) or outcome.get("batchItemFailures") == []
        if not ok:
            raise RuntimeError(f"{handler} failed its invocation: {outcome}")
    return result


def import_profile(handler: str, env: dict[str, str], event_file: Path) -> dict[str, float]:
    """Milliseconds of import time (self) by top-level package, from -X importtime."""
    by_package: dict[str, float] = {}
    report = _child(handler, event_file, os.devnull, env, "-X", "importtime")
    for line in report.splitlines():
        fields = line.removeprefix("import time:").split("|")
        if len(fields) != 3 or not fields[0].strip().isdigit():
            continue
        package = fields[2].strip().split(".")[0]
        by_package[package] = by_package.get(package, 0.0) + int(fields[0]) / 1000
    top = sorted(by_package.items(), key=lambda kv: -kv[1])[:12]
    return {name: round(ms, 1) for name, ms in top}


def _write_events(folder: Path, names: list[str], count: int) -> dict[tuple[str, int], Path]:
    files = {}
    for name in names:
        for run in range(count):
            path = folder / f"{name}-{run}.json"
            path.write_text(json.dumps(_event(name, run)))
            files[name, run] = path
    return files


def _seed_raw_items(endpoint: str, count: int) -> None:
    """Raw submissions the aggregator's events refer to, one per run."""
    import boto3

    from infra.topology import TABLE as TOPOLOGY_TABLE
    from shared.submissions import submission_item

    client = boto3.client("dynamodb", endpoint_url=endpoint)
    client.create_table(**TOPOLOGY_TABLE.create_table_request(TABLE))
    for run in range(count):
        client.put_item(TableName=TABLE, Item=submission_item(_submission(run)))


def run(quick: bool = False, runs: int | None = None) -> dict[str, Any]:
    from moto.server import ThreadedMotoServer

    fake_aws(TABLE)
    runs = runs or (5 if quick else 15)
    targets = _targets()
    port = free_port()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    pycache = RESULTS / "pycache"
    figures: dict[str, Any] = {"runs": runs, "target_ratio": TARGET_RATIO, "modes": {}}
    modes = ("lambda", "untraced")
    # One event per child: warm-up, counted runs and the importtime run, per mode.
    per_mode = runs + 2
    try:
        _seed_raw_items(endpoint, per_mode * len(modes))
        with tempfile.TemporaryDirectory() as folder:
            events = _write_events(Path(folder), list(targets), per_mode * len(modes))
            envs = {
                (mode, name): _environment(endpoint, mode, service, pycache)
                for mode in modes
                for name, (_, service) in targets.items()
            }
            samples: dict[tuple[str, str], list[dict[str, Any]]] = {key: [] for key in envs}
            # Run 0 warms the bytecode cache and the server; it is not counted. Every
            # run goes through every mode and target, so noise falls on all alike.
            for run_number in range(runs + 1):
                for index, mode in enumerate(modes):
                    for name, (handler, _) in targets.items():
                        event = events[name, index * per_mode + run_number]
                        result = _run_child(handler, event, envs[mode, name])
                        if run_number:
                            samples[mode, name].append(result)
            for index, mode in enumerate(modes):
                figures["modes"][mode] = _summarise({name: samples[mode, name] for name in targets})
                figures["modes"][mode]["imports_ms"] = {
                    name: import_profile(
                        handler, envs[mode, name], events[name, index * per_mode + runs + 1]
                    )
                    for name, (handler, _) in targets.items()
                }
    finally:
        server.stop()
    _print(figures)
    write_results("cold_start", figures)
    return figures


def _summarise(samples: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    for name, results in samples.items():
        summary[name] = {
            key: median(r[key] for r in results)
            for key in (
                "init_seconds",
                "invoke_seconds",
                "total_seconds",
                "cpu_seconds",
                "process_seconds",
            )
        }
    floor = summary["floor"]
    for figures in summary.values():
        figures["ratio_to_floor"] = figures["total_seconds"] / floor["total_seconds"]
        figures["cpu_ratio_to_floor"] = figures["cpu_seconds"] / floor["cpu_seconds"]
        figures["process_ratio_to_floor"] = figures["process_seconds"] / floor["process_seconds"]
        figures["within_target"] = figures["ratio_to_floor"] <= TARGET_RATIO
    return {"targets": summary}


def _print(figures: dict[str, Any]) -> None:
    rows = []
    for mode, result in figures["modes"].items():
        for name, f in result["targets"].items():
            rows.append(
                (
                    mode,
                    name,
                    f["init_seconds"] * 1000,
                    f["invoke_seconds"] * 1000,
                    f["total_seconds"] * 1000,
                    f["ratio_to_floor"],
                    f["cpu_seconds"] * 1000,
                    f["cpu_ratio_to_floor"],
                    f["process_seconds"] * 1000,
                    f["process_ratio_to_floor"],
                    "yes" if f["within_target"] else "NO",
                )
            )
    print_table(
        f"3. cold start, median of {figures['runs']} fresh processes (ms; ratio to the floor)",
        (
            "mode",
            "target",
            "import+init",
            "1st invoke",
            "total",
            "ratio",
            "cpu",
            "ratio",
            "process",
            "ratio",
            f"<= {TARGET_RATIO}x",
        ),
        rows,
    )
    for mode, result in figures["modes"].items():
        print(f"  import time by package ({mode}, ms, self):")
        for name, packages in result["imports_ms"].items():
            top = ", ".join(f"{p} {ms:.0f}" for p, ms in list(packages.items())[:6])
            print(f"    {name:<10} {top}")
